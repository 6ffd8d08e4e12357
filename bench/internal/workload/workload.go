// Package workload is the benchmark's data set and the work both engines do on it: a
// seeded generator of a kindergarten-readiness microdata table written as CSV, the Backbone
// plans that ingest and aggregate it, and the DuckDB statements that do the same.
package workload

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// Names of the initiative, the source and the columns.
const (
	Namespace  = "bench"
	Initiative = "kindergarten-readiness"
	Source     = "assessments"

	ColID       = "student_id"
	ColDate     = "assessed_on"
	ColRace     = "race"
	ColDistrict = "district"
	ColScore    = "score"
	ColReady    = "ready"

	DimRace     = "race_ethnicity"
	DimDistrict = "district"
	Unknown     = "Unknown"

	// MinCellSize is the cell floor k of every indicator.
	MinCellSize = 11
)

// Indicator names.
const (
	IndCount      = "assessed"
	IndMean       = "mean_score"
	IndProportion = "ready_share"
)

// RaceCodes are the partner's codes; code i+1 is RaceLabels[i]. RaceUnknownCode, an empty
// field or a null are the unknown group.
var (
	RaceCodes  = []string{"1", "2", "3", "4", "5", "6", "7"}
	RaceLabels = []string{
		"Hispanic or Latino", "White", "Asian", "Black or African American",
		"Two or more races", "American Indian or Alaska Native", "Native Hawaiian or Pacific Islander",
	}
	RaceUnknownCode = "9"
	// raceWeights: skewed so that the two smallest groups fall under the cell floor in
	// some months (secondary suppression then has work to do).
	raceWeights = []float64{0.40, 0.25, 0.17, 0.08, 0.04, 0.002, 0.0001}
	// raceUnknownWeight is coded 9; the rest of the mass is an empty field.
	raceUnknownWeight = 0.04

	Districts       = []string{"North", "South", "East", "West", "Central"}
	districtWeights = []float64{0.30, 0.25, 0.20, 0.15, 0.0995} // the rest: empty
)

// First day of the data and the number of days it spans (three years).
var (
	FirstDay = period.DaysFromCivil(2022, 1, 1)
	Days     = int(period.DaysFromCivil(2025, 1, 1) - FirstDay)
	// AsOf makes every period complete.
	AsOf = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
)

// RaceLabel returns the vocabulary group of a partner code.
func RaceLabel(code int) string {
	if code >= 1 && code <= len(RaceLabels) {
		return RaceLabels[code-1]
	}
	return Unknown
}

// CacheDir is ${XDG_CACHE_HOME:-$HOME/.cache}/backbone/bench.
func CacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "backbone", "bench"), nil
}

// CSVPath is the cached CSV of rows rows generated with seed.
func CSVPath(cache string, rows int64, seed uint64) string {
	return filepath.Join(cache, "data", fmt.Sprintf("assessments-%d-rows-seed-%d.csv", rows, seed))
}

// Generate writes rows rows generated from seed to path, unless path already exists. The
// file appears only when complete.
func Generate(path string, rows int64, seed uint64) (created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gen-*.csv")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(w, rows, seed); err != nil {
		tmp.Close()
		return false, err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), path)
}

func cumulative(ws []float64) []float64 {
	out := make([]float64, len(ws))
	s := 0.0
	for i, w := range ws {
		s += w
		out[i] = s
	}
	return out
}

func pick(cum []float64, u float64) int {
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum)
}

func write(w *bufio.Writer, rows int64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dates := make([]string, Days)
	for d := range dates {
		dates[d] = period.Format(FirstDay + int32(d))
	}
	raceCum := cumulative(append(append([]float64(nil), raceWeights...), raceUnknownWeight))
	distCum := cumulative(districtWeights)
	// Group effects on the score and on readiness, so groups differ as they do in practice.
	raceScore := []float64{-3, 4, 6, -5, 1, -7, -2}
	distScore := []float64{2, -1, 0, 3, -4}
	raceReady := []float64{-0.06, 0.07, 0.09, -0.08, 0.01, -0.12, -0.03}

	if _, err := w.WriteString(ColID + "," + ColDate + "," + ColRace + "," + ColDistrict + "," + ColScore + "," + ColReady + "\n"); err != nil {
		return err
	}
	const hexDigits = "0123456789abcdef"
	line := make([]byte, 0, 128)
	for i := int64(0); i < rows; i++ {
		line = line[:0]
		// A pseudonymised student id: 32 hex digits.
		for _, v := range [2]uint64{rng.Uint64(), rng.Uint64()} {
			for s := 60; s >= 0; s -= 4 {
				line = append(line, hexDigits[(v>>uint(s))&15])
			}
		}
		line = append(line, ',')
		line = append(line, dates[rng.IntN(Days)]...)
		line = append(line, ',')
		race := pick(raceCum, rng.Float64()) // 0..6 groups, 7 coded unknown, 8 empty
		switch {
		case race < len(RaceCodes):
			line = append(line, RaceCodes[race]...)
		case race == len(RaceCodes):
			line = append(line, RaceUnknownCode...)
		}
		line = append(line, ',')
		dist := pick(distCum, rng.Float64())
		if dist < len(Districts) {
			line = append(line, Districts[dist]...)
		}
		line = append(line, ',')
		if rng.Float64() >= 0.06 { // 6% of scores are missing
			s := 50 + 12*rng.NormFloat64()
			if race < len(raceScore) {
				s += raceScore[race]
			}
			if dist < len(distScore) {
				s += distScore[dist]
			}
			s = math.Round(min(max(s, 0), 100)*10) / 10
			line = strconv.AppendFloat(line, s, 'f', 1, 64)
		}
		line = append(line, ',')
		if rng.Float64() >= 0.005 { // 0.5% of readiness flags are missing
			p := 0.58
			if race < len(raceReady) {
				p += raceReady[race]
			}
			line = strconv.AppendBool(line, rng.Float64() < p)
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// Dimensions is the vocabulary.
func Dimensions() []spec.Dimension {
	return []spec.Dimension{
		{Name: DimRace, Values: RaceLabels, Unknown: Unknown},
		{Name: DimDistrict, Values: Districts, Unknown: Unknown},
	}
}

// IngestPlan is Backbone's plan for ingesting the CSV at path.
func IngestPlan(path string) *spec.Ingest {
	raceMap := map[string]string{RaceUnknownCode: Unknown}
	for i, c := range RaceCodes {
		raceMap[c] = RaceLabels[i]
	}
	return &spec.Ingest{
		Namespace: Namespace, Initiative: Initiative, Source: Source, Partner: "county-schools",
		Format: "CSV", Header: true, Path: path, TimeZone: "America/Los_Angeles",
		Dimensions: Dimensions(),
		Columns: []spec.Column{
			{Name: ColID, Type: spec.TypeString, Required: true},
			{Name: ColDate, Type: spec.TypeDate, Required: true},
			{Name: ColRace, Type: spec.TypeString, Dimension: DimRace, ValueMap: raceMap},
			{Name: ColDistrict, Type: spec.TypeString, Dimension: DimDistrict},
			{Name: ColScore, Type: spec.TypeNumber},
			{Name: ColReady, Type: spec.TypeBoolean},
		},
		MaxRejectPercent: 5,
	}
}

// AggregatePlan is Backbone's plan: the number assessed, the mean score and the share
// ready, by race and by district, per month, with cell floor MinCellSize.
func AggregatePlan() *spec.Aggregate {
	dims := []string{DimRace, DimDistrict}
	all := spec.Operand{Source: Source, Aggregate: spec.Count, TimeColumn: ColDate}
	ready := all
	ready.Filters = []spec.Filter{{Column: ColReady, Operator: spec.OpIn, Values: []string{"true"}}}
	ind := func(name, measure string, num spec.Operand, den *spec.Operand) spec.Indicator {
		return spec.Indicator{
			Name: name, Polarity: spec.HigherIsBetter, Measure: measure,
			Numerator: num, Denominator: den, Grain: spec.GrainMonth, FiscalYearStartMonth: 1,
			Dimensions: dims, MinCellSize: MinCellSize, SpecHash: "sha256:" + name,
		}
	}
	return &spec.Aggregate{
		Namespace: Namespace, Initiative: Initiative, TimeZone: "America/Los_Angeles",
		Dimensions: Dimensions(),
		Indicators: []spec.Indicator{
			ind(IndCount, spec.Count, all, nil),
			ind(IndMean, spec.Mean, spec.Operand{Source: Source, Column: ColScore, TimeColumn: ColDate}, nil),
			ind(IndProportion, spec.Proportion, ready, &all),
		},
	}
}
