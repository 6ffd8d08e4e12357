package ingest

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	pqfile "github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

var race = spec.Dimension{Name: "race_ethnicity", Values: []string{"Asian", "Black", "Hispanic or Latino", "White"}, Unknown: "Unknown"}

func plan(t *testing.T, data string) *spec.Ingest {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return &spec.Ingest{
		Namespace: "ns", Initiative: "ini", Source: "src", Partner: "p",
		Format: "CSV", Header: true, Path: path, TimeZone: "America/Los_Angeles",
		Dimensions: []spec.Dimension{race},
		Columns: []spec.Column{
			{Name: "day", Type: spec.TypeDate, Required: true},
			{Name: "race", Type: spec.TypeString, Dimension: "race_ethnicity", ValueMap: map[string]string{"1": "Asian", "9": "Unknown"}},
			{Name: "score", Type: spec.TypeNumber},
			{Name: "ready", Type: spec.TypeBoolean},
			{Name: "at", Type: spec.TypeTimestamp},
		},
		MissingValues:    []string{"*", "N/A"},
		MaxRejectPercent: 60,
	}
}

func run(t *testing.T, p *spec.Ingest) (*Result, *store.Store, error) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	res, err := Run(ctx, p, Options{Store: st, TempDir: t.TempDir(), BatchRows: 2, Now: func() time.Time { return time.Unix(0, 0) }})
	return res, st, err
}

// engine reads back the engine layout of a snapshot.
func engine(t *testing.T, st *store.Store, m store.SnapshotManifest) map[string][]string {
	t.Helper()
	file, _, err := st.Fetch(context.Background(), m.Engine, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ipc.NewMappedFileReader(data)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string][]string{}
	for b := 0; b < r.NumRecords(); b++ {
		rec, err := r.RecordBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range rec.Schema().Fields() {
			col := rec.Column(i)
			for j := 0; j < col.Len(); j++ {
				v := col.ValueStr(j)
				if d, ok := col.(*array.Date32); ok && col.IsValid(j) {
					v = period.Format(int32(d.Value(j)))
				}
				out[f.Name] = append(out[f.Name], v)
			}
		}
		rec.Release()
	}
	return out
}

func TestIngestValidatesMapsAndRejects(t *testing.T) {
	p := plan(t, strings.Join([]string{
		"day,race,score,ready,at",
		"2024-08-15,1,10.5,true,2024-08-15T23:30:00",         // ok: code 1 → Asian; 23:30 local stays on the 15th
		"2024-08-16, black ,,false,2024-08-16T07:30:00Z",     // ok: canonical match ignoring case and spaces; 07:30Z is the 16th 00:30 local
		"2024-08-17,*,3,yes,",                                // ok: missing marker → Unknown
		"2024-08-18,,4,0,",                                   // ok: empty → Unknown
		"2024-13-01,2,5,true,",                               // rejected: month 13
		"2024-08-19,Purple,6,true,",                          // rejected: not a group
		"2024-08-20,9,x,maybe,",                              // rejected twice: number and boolean
		",1,7,true,",                                         // rejected: required date missing
		"2024-08-21,Hispanic or Latino,N/A,false,2024-08-21", // rejected: timestamp without time
	}, "\n")+"\n")
	res, st, err := run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if m.RowsIn != 9 || m.RowsOK != 4 || m.RowsRejected != 5 || m.RowsExcluded != 0 {
		t.Fatalf("ledger: in %d ok %d rejected %d excluded %d", m.RowsIn, m.RowsOK, m.RowsRejected, m.RowsExcluded)
	}
	cols := engine(t, st, m)
	if got := strings.Join(cols["race"], ","); got != "0,1,4,4" {
		t.Errorf("race codes = %s, want 0,1,4,4 (Asian, Black, Unknown, Unknown)", got)
	}
	if got := strings.Join(cols["at"], ","); got != "2024-08-15,2024-08-16,(null),(null)" {
		t.Errorf("timestamp days = %s", got)
	}
	if got := m.UnknownShare["race"]; got != 0.5 {
		t.Errorf("unknown share = %v, want 0.5", got)
	}
	// The rejects file names row, column, value and reason.
	b, err := readAll(st, m.Rejects)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"row", "column", "value", "reason"},
		{"5", "day", "2024-13-01", `"2024-13-01" is not a date (YYYY-MM-DD)`},
		{"5", "race", "2", `"2" is not a group of dimension "race_ethnicity" and is not in valueMap`},
		{"6", "race", "Purple", `"Purple" is not a group of dimension "race_ethnicity" and is not in valueMap`},
		{"7", "score", "x", `"x" is not a number`},
		{"7", "ready", "maybe", `"maybe" is not a boolean (true/false, yes/no, 1/0)`},
		{"8", "day", "", "required value is missing"},
		{"9", "at", "2024-08-21", `"2024-08-21" is not a timestamp (RFC 3339, e.g. 2025-03-01T08:30:00-08:00, or without an offset in the Initiative's time zone)`},
	}
	if len(rows) != len(want) {
		t.Fatalf("rejects:\n%v", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("rejects row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}

func readAll(st *store.Store, key string) (string, error) {
	file, _, err := st.Fetch(context.Background(), key, os.TempDir())
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(file)
	os.Remove(file)
	return string(b), err
}

func TestIngestNotPromoted(t *testing.T) {
	p := plan(t, "day,race,score,ready,at\n2024-01-01,1,1,true,\nbad,1,1,true,\nbad,1,1,true,\n")
	p.MaxRejectPercent = 50
	res, st, err := run(t, p)
	var np *NotPromotedError
	if !errors.As(err, &np) {
		t.Fatalf("want NotPromotedError, got %v", err)
	}
	if !strings.Contains(err.Error(), "2 of 3 rows (66.7%) were rejected, above maxRejectPercent 50") {
		t.Errorf("message: %v", err)
	}
	if res.Manifest.Promoted {
		t.Error("manifest says promoted")
	}
	if ok, _ := st.Exists(context.Background(), store.SourcePrefix("ns", "ini", "src")+"/latest.json"); ok {
		t.Error("latest.json written for a snapshot that was not promoted")
	}
}

func TestIngestExcludesAndFrequency(t *testing.T) {
	p := plan(t, "day,race,n\n2024-01-01,1,5\n2024-01-01,ALL,12\n2024-01-02,9,-1\n2024-01-02,Black,\n2024-01-03,White,7\n")
	p.Columns = []spec.Column{
		{Name: "day", Type: spec.TypeDate},
		{Name: "race", Type: spec.TypeString, Dimension: "race_ethnicity", ValueMap: map[string]string{"1": "Asian", "9": "Unknown"}},
		{Name: "n", Type: spec.TypeInteger},
	}
	p.FrequencyColumn = "n"
	p.ExcludeRows = []spec.Filter{{Column: "race", Operator: spec.OpIn, Values: []string{"ALL"}}}
	p.MaxRejectPercent = 100
	res, _, err := run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	// "ALL" is a subtotal: excluded, not rejected; a negative and a missing frequency are rejected.
	if m.RowsIn != 5 || m.RowsOK != 2 || m.RowsExcluded != 1 || m.RowsRejected != 2 {
		t.Fatalf("ledger: in %d ok %d rejected %d excluded %d", m.RowsIn, m.RowsOK, m.RowsRejected, m.RowsExcluded)
	}
	if m.Units != 12 {
		t.Errorf("units = %d, want 12 (5 + 7)", m.Units)
	}
}

// The snapshot is content-addressed: the same rows give the same id.
func TestIngestContentAddressed(t *testing.T) {
	data := "day,race,score,ready,at\n2024-01-01,1,1,true,\n2024-01-02,9,2,false,\n"
	a, _, err := run(t, plan(t, data))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := run(t, plan(t, data))
	if err != nil {
		t.Fatal(err)
	}
	if a.Manifest.ID != b.Manifest.ID || !strings.HasPrefix(a.Manifest.ID, "sha256:") {
		t.Errorf("ids differ or are malformed: %s vs %s", a.Manifest.ID, b.Manifest.ID)
	}
	c, _, err := run(t, plan(t, data+"2024-01-03,1,3,true,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Manifest.ID == a.Manifest.ID {
		t.Error("different rows, same id")
	}
}

// excludeRows expressions are ANDed: a row is excluded when it matches every one.
func TestIngestExcludeRowsMatchEveryExpression(t *testing.T) {
	p := plan(t, "day,race,n\n2024-01-01,ALL,12\n2024-01-02,ALL,3\n2024-01-02,1,5\n")
	p.Columns = []spec.Column{
		{Name: "day", Type: spec.TypeDate},
		{Name: "race", Type: spec.TypeString, Dimension: "race_ethnicity", ValueMap: map[string]string{"1": "Asian"}},
		{Name: "n", Type: spec.TypeInteger},
	}
	p.ExcludeRows = []spec.Filter{
		{Column: "race", Operator: spec.OpIn, Values: []string{"ALL"}},
		{Column: "n", Operator: spec.OpGt, Values: []string{"10"}},
	}
	p.MaxRejectPercent = 100
	res, _, err := run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	// Only the first row matches both; the second "ALL" row is not excluded, so it is
	// rejected ("ALL" is not a group); the third is accepted.
	if m.RowsIn != 3 || m.RowsExcluded != 1 || m.RowsRejected != 1 || m.RowsOK != 1 {
		t.Fatalf("ledger: in %d ok %d rejected %d excluded %d", m.RowsIn, m.RowsOK, m.RowsRejected, m.RowsExcluded)
	}
}

// parquetColumns reads back the Parquet snapshot, every value as text ("(null)" for null).
func parquetColumns(t *testing.T, st *store.Store, m store.SnapshotManifest) map[string][]string {
	t.Helper()
	file, _, err := st.Fetch(context.Background(), m.Parquet, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := pqfile.OpenParquetFile(file, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: 1 << 10}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := r.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	out := map[string][]string{}
	for i := 0; i < int(tbl.NumCols()); i++ {
		name := tbl.Schema().Field(i).Name
		for _, chunk := range tbl.Column(i).Data().Chunks() {
			for j := 0; j < chunk.Len(); j++ {
				out[name] = append(out[name], chunk.ValueStr(j))
			}
		}
	}
	return out
}

// Text columns keep their input's text, with missing markers null, whether every row of a
// batch is kept (the input's buffers are reused) or some are rejected.
func TestIngestTextColumns(t *testing.T) {
	p := plan(t, "day,name\n2024-01-01,ana\n2024-01-02,N/A\n2024-01-03, bo \nbad,cy\n2024-01-04,\n2024-01-05,*\n")
	p.Columns = []spec.Column{
		{Name: "day", Type: spec.TypeDate, Required: true},
		{Name: "name", Type: spec.TypeString},
	}
	p.MaxRejectPercent = 100
	res, st, err := run(t, p) // batches of 2 rows: the second batch has a rejected row
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Manifest; m.RowsOK != 5 || m.RowsRejected != 1 {
		t.Fatalf("ledger: ok %d rejected %d", m.RowsOK, m.RowsRejected)
	}
	got := parquetColumns(t, st, res.Manifest)["name"]
	want := []string{"ana", "(null)", " bo ", "(null)", "(null)"} // an empty field is null
	if !slices.Equal(got, want) {
		t.Errorf("name = %q, want %q", got, want)
	}
}

// The Parquet snapshot's layout: dimension columns dictionary-encoded without statistics
// (every row group holds every group, so their minimum and maximum prune nothing, and
// computing them costs a hash pass over every batch); dates dictionary-encoded with
// statistics (a reader skips row groups by date); other text columns plain without
// statistics, numbers, Booleans and timestamps plain with them.
func TestSnapshotParquetEncodingsAndStatistics(t *testing.T) {
	p := plan(t, "day,race,score,ready,at,name\n2024-01-01,1,10,true,2024-01-01 08:00:00,a\n2024-01-02,9,20,false,2024-01-02 09:00:00,b\n2024-01-03,1,30,true,2024-01-03 10:00:00,c\n")
	p.Columns = append(p.Columns, spec.Column{Name: "name", Type: spec.TypeString})
	res, st, err := run(t, p)
	if err != nil {
		t.Fatal(err)
	}
	file, _, err := st.Fetch(context.Background(), res.Manifest.Parquet, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := pqfile.OpenParquetFile(file, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.NumRowGroups() < 2 {
		t.Fatalf("%d row groups; the test wants several batches", f.NumRowGroups())
	}
	for g := 0; g < f.NumRowGroups(); g++ {
		rg := f.MetaData().RowGroup(g)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			name := cc.PathInSchema().String()
			stats, err := cc.StatsSet()
			if err != nil {
				t.Fatal(err)
			}
			wantStats := name != "race" && name != "name"
			wantDict := name == "race" || name == "day"
			if stats != wantStats {
				t.Errorf("row group %d, column %s: statistics %v, want %v", g, name, stats, wantStats)
			}
			if dict := cc.HasDictionaryPage(); dict != wantDict {
				t.Errorf("row group %d, column %s: dictionary page %v, want %v", g, name, dict, wantDict)
			}
		}
	}
}

// An Integer column with nulls, read as text (CSV) and as int64 (Parquet), in batches of
// two rows: the same engine layout, zeros under its nulls whatever the batch before held.
func TestIntegerNullsSameLayoutWhateverTheFormat(t *testing.T) {
	rows := []*int64{ptrTo[int64](7), nil, ptrTo[int64](-3), ptrTo[int64](12), nil, nil, ptrTo[int64](5)}
	var csvText strings.Builder
	csvText.WriteString("day,n\n")
	for i, v := range rows {
		csvText.WriteString("2024-01-0" + string(rune('1'+i)) + ",")
		if v != nil {
			csvText.WriteString(strconv.FormatInt(*v, 10))
		}
		csvText.WriteString("\n")
	}
	columns := []spec.Column{{Name: "day", Type: spec.TypeDate}, {Name: "n", Type: spec.TypeInteger}}
	fromCSV := plan(t, csvText.String())
	fromCSV.Columns = columns

	days := array.NewDate32Builder(memory.DefaultAllocator)
	ns := array.NewInt64Builder(memory.DefaultAllocator)
	for i, v := range rows {
		days.Append(arrow.Date32(period.DaysFromCivil(2024, 1, 1+i)))
		if v != nil {
			ns.Append(*v)
		} else {
			ns.Append(99) // a value under the null, as writers may leave one
			ns.SetNull(ns.Len() - 1)
		}
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{days.NewArray(), ns.NewArray()}, int64(len(rows)))
	path := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fromParquet := plan(t, "")
	fromParquet.Format, fromParquet.Path, fromParquet.Header, fromParquet.Columns = "Parquet", path, false, columns

	var engines []string
	for _, p := range []*spec.Ingest{fromCSV, fromParquet} {
		res, st, err := run(t, p)
		if err != nil {
			t.Fatalf("%s: %v", p.Format, err)
		}
		if res.Manifest.RowsOK != int64(len(rows)) {
			t.Fatalf("%s: %d rows accepted, want %d", p.Format, res.Manifest.RowsOK, len(rows))
		}
		engines = append(engines, filepath.Base(res.Manifest.Engine))
		got := engine(t, st, res.Manifest)["n"]
		want := []string{"7", "(null)", "-3", "12", "(null)", "(null)", "5"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: n = %v, want %v", p.Format, got, want)
		}
		file, _, err := st.Fetch(context.Background(), res.Manifest.Engine, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ipc.NewMappedFileReader(data)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0; b < r.NumRecords(); b++ {
			batch, err := r.RecordBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			col := batch.Column(int(batch.Schema().FieldIndices("n")[0])).(*array.Int64)
			for i, v := range col.Int64Values() {
				if col.IsNull(i) && v != 0 {
					t.Errorf("%s: batch %d row %d holds %d under its null", p.Format, b, i, v)
				}
			}
			batch.Release()
		}
		r.Close()
	}
	if engines[0] != engines[1] {
		t.Errorf("engine layout %s from CSV, %s from Parquet", engines[0], engines[1])
	}
}

func ptrTo[T any](v T) *T { return &v }
