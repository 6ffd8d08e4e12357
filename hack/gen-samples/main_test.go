package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
)

// committed is the folder the example's manifests read their data from.
var committed = filepath.Join("..", "..", "config", "samples", "data")

// generated is a folder the generator wrote with the default seed, shared by the tests.
var generated string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gen-samples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := generate(dir, defaultSeed); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	generated = dir
	return m.Run()
}

// TestCommittedDataIsGenerated holds config/samples/data to the generator: the folder has
// exactly the generator's files, byte for byte.
func TestCommittedDataIsGenerated(t *testing.T) {
	entries, err := os.ReadDir(committed)
	if err != nil {
		t.Fatal(err)
	}
	var have, want []string
	for _, e := range entries {
		have = append(have, e.Name())
	}
	for _, f := range files {
		want = append(want, f.name)
	}
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("%s holds %v, the generator writes %v", committed, have, want)
	}
	for _, f := range files {
		got := readFile(t, filepath.Join(generated, f.name))
		old, err := os.ReadFile(filepath.Join(committed, f.name))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(got, old) {
			t.Errorf("%s differs from the generator's output: run `go run ./hack/gen-samples -out config/samples/data`",
				filepath.Join(committed, f.name))
		}
	}
}

// TestDeterministic generates again and expects the same bytes.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir, defaultSeed); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !bytes.Equal(readFile(t, filepath.Join(dir, f.name)), readFile(t, filepath.Join(generated, f.name))) {
			t.Errorf("%s differs between two runs with the same seed", f.name)
		}
	}
	other := t.TempDir()
	if err := generate(other, defaultSeed+1); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if bytes.Equal(readFile(t, filepath.Join(other, f.name)), readFile(t, filepath.Join(generated, f.name))) {
			t.Errorf("%s does not depend on the seed", f.name)
		}
	}
}

func TestSmall(t *testing.T) {
	var total int64
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(generated, f.name))
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if total >= 3<<20 {
		t.Errorf("the data files take %d bytes, want less than 3 MB", total)
	}
}

func TestKindergarten(t *testing.T) {
	rows := readCSV(t, filepath.Join(generated, "ncusd-kindergarten.csv"))
	header := rows[0]
	if want := []string{"student_id", "assessed_on", "school_district", "school", "race", "frl", "ready", "score"}; !slices.Equal(header, want) {
		t.Fatalf("header %v, want %v", header, want)
	}
	rows = rows[1:]

	codeRace := map[string]int{}
	for i, c := range raceCodes {
		codeRace[c] = i
	}
	type cell struct{ year, district, race int }
	var (
		perYear      = map[int]int{}
		readyPerYear = map[int]int{}
		cells        = map[cell]int{}
		raceCount    [nRaces]int
		raceReady    [nRaces]int
		known        int
		badRace      int
		badDate      int
		blankScore   int
		ids          = map[string]bool{}
	)
	for _, row := range rows {
		if ids[row[0]] {
			t.Errorf("student %s assessed twice", row[0])
		}
		ids[row[0]] = true
		date, err := time.Parse(time.DateOnly, row[1])
		if err != nil {
			badDate++
			continue
		}
		race, ok := codeRace[row[4]]
		switch {
		case row[4] == "9":
			race = -1
		case !ok:
			badRace++
			continue
		}
		if date.Month() < time.August || date.Month() > time.October {
			t.Errorf("student %s assessed on %s, outside the fall window", row[0], row[1])
		}
		d := slices.Index(districtNames[:], row[2])
		if d < 0 {
			t.Fatalf("student %s in unknown district %q", row[0], row[2])
		}
		year := date.Year()
		perYear[year]++
		ready := row[6] == "true"
		if ready {
			readyPerYear[year]++
		}
		if row[7] == "" || row[7] == "NA" {
			blankScore++
		} else if s, err := strconv.ParseFloat(row[7], 64); err != nil || s < 0 || s > 100 {
			t.Errorf("student %s has score %q", row[0], row[7])
		}
		if race >= 0 {
			known++
			raceCount[race]++
			if ready {
				raceReady[race]++
			}
			cells[cell{year, d, race}]++
		}
	}
	if badRace != 3 || badDate != 2 {
		t.Errorf("%d rows with an unmapped race code and %d with a bad date, want 3 and 2", badRace, badDate)
	}
	if blankScore == 0 {
		t.Error("no kindergartener without a score")
	}
	if len(rows) < 11500 || len(rows) > 13500 {
		t.Errorf("%d kindergarteners, want about 2,500 a year for 5 years", len(rows))
	}

	// Race and ethnicity shares of a Californian county.
	shares := map[int][2]float64{
		hispanic: {0.40, 0.50}, white: {0.26, 0.36}, asian: {0.09, 0.15}, black: {0.03, 0.07},
		multiracial: {0.03, 0.07}, aian: {0.005, 0.02}, pacific: {0.002, 0.01},
	}
	for race, bounds := range shares {
		share := float64(raceCount[race]) / float64(known)
		if share < bounds[0] || share > bounds[1] {
			t.Errorf("%s: share %.3f, want %.3f–%.3f", raceNames[race], share, bounds[0], bounds[1])
		}
	}

	for _, ky := range kindergartenYears {
		n := perYear[ky.year]
		if n < 2300 || n > 2600 {
			t.Errorf("%d: %d kindergarteners, want about 2,500", ky.year, n)
		}
		p := float64(readyPerYear[ky.year]) / float64(n)
		if p < 0.55 || p > 0.70 {
			t.Errorf("%d: %.3f ready, want 0.55–0.70", ky.year, p)
		}
		t.Logf("%d: %d assessed, %.3f ready", ky.year, n, p)
		// Small groups must exist, or the example would never show suppression.
		small := 0
		for d := range nDistricts {
			for race := range nRaces {
				if n := cells[cell{ky.year, d, race}]; n > 0 && n < 11 {
					small++
				}
			}
		}
		if small == 0 {
			t.Errorf("%d: no district × race cell with fewer than 11 kindergarteners", ky.year)
		}
	}
	first := float64(readyPerYear[2021]) / float64(perYear[2021])
	last := float64(readyPerYear[2025]) / float64(perYear[2025])
	if last <= first {
		t.Errorf("readiness went from %.3f to %.3f, want a slight improvement", first, last)
	}
	readiness := func(race int) float64 { return float64(raceReady[race]) / float64(raceCount[race]) }
	if gap := readiness(white) - readiness(hispanic); gap < 0.08 {
		t.Errorf("White − Hispanic or Latino readiness gap %.3f, want at least 0.08", gap)
	}
	if gap := readiness(white) - readiness(black); gap < 0.08 {
		t.Errorf("White − Black readiness gap %.3f, want at least 0.08", gap)
	}
}

func TestBirths(t *testing.T) {
	data := readFile(t, filepath.Join(generated, "county-births.jsonl"))
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	var (
		perYear         = map[int]int{}
		early, withCare int
		variants        int
		markers         int
	)
	for i, line := range lines {
		var row struct {
			BirthDate string `json:"birth_date"`
			District  string `json:"district"`
			Race      any    `json:"mother_race"`
			Prenatal  any    `json:"prenatal_first_trimester"`
			Births    int    `json:"births"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		date, err := time.Parse(time.DateOnly, row.BirthDate)
		if err != nil || date.Day() != 1 {
			t.Fatalf("line %d: birth_date %q is not the first day of a month", i+1, row.BirthDate)
		}
		if row.Births < 1 {
			t.Errorf("line %d: %d births", i+1, row.Births)
		}
		perYear[date.Year()] += row.Births
		switch race := row.Race.(type) {
		case string:
			if race == "*" || race == "N/A" {
				markers++
			} else if !slices.Contains(raceNames[:], race) {
				variants++
				if !slices.ContainsFunc(raceNames[:], func(n string) bool { return strings.EqualFold(n, strings.TrimSpace(race)) }) {
					t.Errorf("line %d: mother_race %q matches no group", i+1, race)
				}
			}
		case nil:
		default:
			t.Errorf("line %d: mother_race %v", i+1, race)
		}
		if care, ok := row.Prenatal.(bool); ok {
			withCare += row.Births
			if care {
				early += row.Births
			}
		}
	}
	if variants == 0 || markers == 0 {
		t.Errorf("%d race values with other case or spaces and %d missing-value markers, want some of each", variants, markers)
	}
	for year := 2021; year <= 2025; year++ {
		if n := perYear[year]; n < 4300 || n > 5400 {
			t.Errorf("%d: %d births, want about 5,000", year, n)
		}
	}
	if p := float64(early) / float64(withCare); p < 0.70 || p > 0.90 {
		t.Errorf("prenatal care in the first trimester %.3f, want 0.70–0.90", p)
	} else {
		t.Logf("%d rows, prenatal care in the first trimester %.3f", len(lines), p)
	}
}

func TestCensus(t *testing.T) {
	f, err := file.OpenParquetFile(filepath.Join(generated, "census-population.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if n := tbl.NumRows(); n != 5*(nDistricts+1)*nRaces {
		t.Fatalf("%d rows, want %d", n, 5*(nDistricts+1)*nRaces)
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	type key struct {
		year int64
		race string
	}
	subtotal, sum := map[key]int64{}, map[key]int64{}
	perYear := map[int64]int64{}
	for tr.Next() {
		rec := tr.RecordBatch()
		years := rec.Column(0).(*array.Int64)
		districts := rec.Column(1).(*array.String)
		races := rec.Column(2).(*array.String)
		children := rec.Column(3).(*array.Int64)
		for i := range int(rec.NumRows()) {
			k := key{years.Value(i), races.Value(i)}
			if districts.Value(i) == censusSubtotal {
				subtotal[k] += children.Value(i)
				continue
			}
			sum[k] += children.Value(i)
			perYear[k.year] += children.Value(i)
		}
	}
	for k, v := range subtotal {
		if sum[k] != v {
			t.Errorf("%d %s: subtotal %d, districts sum to %d", k.year, k.race, v, sum[k])
		}
	}
	for year := int64(2020); year <= 2024; year++ {
		if n := perYear[year]; n < 23000 || n > 27000 {
			t.Errorf("%d: %d children under 5, want about 25,000", year, n)
		}
	}
}

func TestAsthma(t *testing.T) {
	f, err := excelize.OpenFile(filepath.Join(generated, "children-hospital-asthma.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"About", asthmaSheet}) {
		t.Fatalf("sheets %v", got)
	}
	rows, err := f.GetRows(asthmaSheet)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"encounter_id", "visit_date", "age_years", "race", "district", "primary_dx"}; !slices.Equal(rows[asthmaHeaderRow-1], want) {
		t.Fatalf("row %d is %v, want the header %v", asthmaHeaderRow, rows[asthmaHeaderRow-1], want)
	}
	var (
		perYear     = map[int]int{}
		perDistrict [nDistricts]int
		badDate     int
		badRace     int
	)
	for _, row := range rows[asthmaHeaderRow:] {
		date, err := time.Parse(time.DateOnly, row[1])
		if err != nil {
			badDate++
			continue
		}
		if row[3] == "Other" {
			badRace++
			continue
		}
		if row[2] == "5" {
			continue
		}
		perYear[date.Year()]++
		d := slices.IndexFunc(districtNames[:], func(n string) bool { return strings.EqualFold(n, row[4]) })
		if d < 0 {
			t.Fatalf("visit %s in unknown district %q", row[0], row[4])
		}
		perDistrict[d]++
	}
	if badDate != 1 || badRace != 2 {
		t.Errorf("%d rows with a bad date and %d with an unmapped race, want 1 and 2", badDate, badRace)
	}
	for year := 2021; year <= 2025; year++ {
		rate := 1000 * float64(perYear[year]) / (childrenUnder5 * 0.95)
		if rate < 8 || rate > 20 {
			t.Errorf("%d: %.1f visits per 1,000 children under 5, want 8–20", year, rate)
		}
	}
	rate := func(d int) float64 { return float64(perDistrict[d]) / districtShare[d] }
	if rate(riverside) < 1.5*rate(hillcrest) {
		t.Errorf("Riverside's asthma rate is not well above Hillcrest's: %v", perDistrict)
	}
	t.Logf("%d visits; under 5 by year %v, by district %v", len(rows)-asthmaHeaderRow, perYear, perDistrict)
}

func TestHomeVisits(t *testing.T) {
	r, err := ipc.NewFileReader(bytes.NewReader(readFile(t, filepath.Join(generated, "family-resource-network.arrow"))))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var (
		rows     int
		visits   int64
		families = map[string]bool{}
		nulls    int
	)
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		ids := rec.Column(0).(*array.String)
		income := rec.Column(2).(*array.String)
		v := rec.Column(4).(*array.Int64)
		for j := range int(rec.NumRows()) {
			rows++
			families[ids.Value(j)] = true
			if income.IsNull(j) {
				nulls++
			}
			if n := v.Value(j); n < 1 || n > 4 {
				t.Errorf("%s: %d visits in a month", ids.Value(j), n)
			}
			visits += v.Value(j)
		}
	}
	if rows < 5000 || rows > 15000 {
		t.Errorf("%d family-months, want 5,000–15,000", rows)
	}
	if nulls == 0 {
		t.Error("no family without a reported income")
	}
	t.Logf("%d family-months, %d families, %.2f visits a month", rows, len(families), float64(visits)/float64(rows))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(readFile(t, path))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
