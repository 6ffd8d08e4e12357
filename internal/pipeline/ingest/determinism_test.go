package ingest

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/xuri/excelize/v2"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// determinismRows is the size of the inputs TestIngestDeterministic ingests. make test runs
// it small; `make test-ingest-determinism` runs it at 3M rows.
var determinismRows = flag.Int("ingest.rows", 100_000, "rows of each input of TestIngestDeterministic")

// maxXLSXRows is the most data rows a worksheet holds (1,048,576 rows, one of them the header).
const maxXLSXRows = 1<<20 - 1

// flightsGroups are the 229 origin codes of the flights-like inputs.
var flightsGroups = func() []string {
	g := make([]string, 229)
	for i := range g {
		g[i] = fmt.Sprintf("A%03d", i)
	}
	return g
}()

// flightRow is row i of a flights-like table: a timestamp without offset over six months,
// two integers, a dimension of 229 groups of skewed sizes and an unused text column.
type flightRow struct {
	at                 time.Time
	delay, distance    int64
	origin, destinaton int
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func flight(i int) flightRow {
	h := splitmix(uint64(i))
	u := float64(h>>11) / (1 << 53)
	return flightRow{
		at:         time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((i*7919)%15552000) * time.Second),
		delay:      int64((i*31)%200 - 20),
		distance:   int64((i * 17) % 2000),
		origin:     int(229 * u * u), // group 0 holds ~7 % of the rows, group 228 ~0.2 %
		destinaton: int(splitmix(uint64(i)*3) % 229),
	}
}

func flightsPlan(format, path string) *spec.Ingest {
	return &spec.Ingest{
		Namespace: "ns", Initiative: "ini", Source: "flights", Partner: "p",
		Format: format, Header: true, Path: path, TimeZone: "America/Los_Angeles",
		Dimensions: []spec.Dimension{{Name: "origin", Values: flightsGroups, Unknown: "Unknown"}},
		Columns: []spec.Column{
			{Name: "date", Type: spec.TypeTimestamp, Required: true},
			{Name: "delay", Type: spec.TypeInteger},
			{Name: "distance", Type: spec.TypeInteger},
			{Name: "origin", Type: spec.TypeString, Dimension: "origin"},
			{Name: "destination", Type: spec.TypeString},
		},
		MaxRejectPercent: 0,
	}
}

const flightsTimeLayout = "2006-01-02 15:04:05"

// writeFlightsText writes rows [0, n) as CSV or JSON Lines.
func writeFlightsText(t testing.TB, format, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if format == "CSV" {
		fmt.Fprintln(w, "date,delay,distance,origin,destination")
	}
	for i := range n {
		r := flight(i)
		at := r.at.Format(flightsTimeLayout)
		o, d := flightsGroups[r.origin], "D"+flightsGroups[r.destinaton][1:]
		if format == "CSV" {
			fmt.Fprintf(w, "%s,%d,%d,%s,%s\n", at, r.delay, r.distance, o, d)
		} else {
			fmt.Fprintf(w, `{"date":%q,"delay":%d,"distance":%d,"origin":%q,"destination":%q}`+"\n", at, r.delay, r.distance, o, d)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// flightsBatches calls emit with rows [0, n) as typed record batches: a timestamp without
// zone, two int64 columns and dictionary-encoded strings.
func flightsBatches(n, batch int, emit func(arrow.RecordBatch) error) error {
	mem := memory.NewGoAllocator()
	strDict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "date", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "delay", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "distance", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "origin", Type: strDict, Nullable: true},
		{Name: "destination", Type: strDict, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for lo := 0; lo < n; lo += batch {
		for i := lo; i < min(lo+batch, n); i++ {
			r := flight(i)
			naive := time.Date(r.at.Year(), r.at.Month(), r.at.Day(), r.at.Hour(), r.at.Minute(), r.at.Second(), 0, time.UTC)
			b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(naive.UnixMicro()))
			b.Field(1).(*array.Int64Builder).Append(r.delay)
			b.Field(2).(*array.Int64Builder).Append(r.distance)
			if err := b.Field(3).(*array.BinaryDictionaryBuilder).AppendString(flightsGroups[r.origin]); err != nil {
				return err
			}
			if err := b.Field(4).(*array.BinaryDictionaryBuilder).AppendString("D" + flightsGroups[r.destinaton][1:]); err != nil {
				return err
			}
		}
		rec := b.NewRecordBatch()
		err := emit(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// writeFlightsParquet writes rows [0, n) as Parquet with dictionary-encoded strings, in row
// groups of n/5 rows.
func writeFlightsParquet(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var w *pqarrow.FileWriter
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(true), parquet.WithMaxRowGroupLength(int64(max(n/5, 1))))
	err = flightsBatches(n, 1<<15, func(rec arrow.RecordBatch) error {
		if w == nil {
			if w, err = pqarrow.NewFileWriter(rec.Schema(), f, props, pqarrow.DefaultWriterProps()); err != nil {
				return err
			}
		}
		return w.WriteBuffered(rec)
	})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// writeFlightsArrow writes rows [0, n) as an Arrow IPC file of several record batches.
func writeFlightsArrow(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var w *ipc.FileWriter
	err = flightsBatches(n, 1<<15, func(rec arrow.RecordBatch) error {
		// An IPC file holds one dictionary per column: write the codes as plain strings.
		plain := plainStrings(rec)
		defer plain.Release()
		if w == nil {
			if w, err = ipc.NewFileWriter(f, ipc.WithSchema(plain.Schema())); err != nil {
				return err
			}
		}
		return w.Write(plain)
	})
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// plainStrings casts the dictionary columns of rec to strings.
func plainStrings(rec arrow.RecordBatch) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	fields := make([]arrow.Field, rec.NumCols())
	for i, c := range rec.Columns() {
		fields[i] = rec.Schema().Field(i)
		if d, ok := c.(*array.Dictionary); ok {
			b := array.NewStringBuilder(memory.NewGoAllocator())
			dict := d.Dictionary().(*array.String)
			for j := range d.Len() {
				b.Append(dict.Value(d.GetValueIndex(j)))
			}
			cols[i] = b.NewArray()
			b.Release()
			fields[i].Type = arrow.BinaryTypes.String
			continue
		}
		c.Retain()
		cols[i] = c
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

// writeFlightsXLSX writes rows [0, n) to the first worksheet with excelize's stream writer.
func writeFlightsXLSX(t testing.TB, path string, n int) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sw.SetRow("A1", []any{"date", "delay", "distance", "origin", "destination"}))
	for i := range n {
		r := flight(i)
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		must(err)
		must(sw.SetRow(cell, []any{r.at.Format(flightsTimeLayout), r.delay, r.distance,
			flightsGroups[r.origin], "D" + flightsGroups[r.destinaton][1:]}))
	}
	must(sw.Flush())
	must(f.SaveAs(path))
}

// TestIngestDeterministic ingests a flights-like table (timestamps without offset, a
// dimension of 229 groups of skewed sizes, an unused text column) in every format several
// times, in batches much smaller than the input, with the recycling allocator: every run
// must give the same snapshot id, and every group must hold exactly its input rows.
// Dictionary-encoded Parquet strings in several row groups once let a cache of recent
// group lookups keep strings that pointed into recycled buffers, so a few rows took
// another group's code and the id changed from run to run.
func TestIngestDeterministic(t *testing.T) {
	n := *determinismRows
	want := make([]int64, len(flightsGroups))
	for i := range n {
		want[flight(i).origin]++
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		format string
		write  func(testing.TB, string, int)
		rows   int
	}{
		{"CSV", func(t testing.TB, p string, n int) { writeFlightsText(t, "CSV", p, n) }, n},
		{"JSONLines", func(t testing.TB, p string, n int) { writeFlightsText(t, "JSONLines", p, n) }, n},
		{"Parquet", writeFlightsParquet, n},
		{"ArrowIPC", writeFlightsArrow, n},
		// XLSX is slow to write and read, and a sheet holds at most 1,048,575 data rows.
		{"XLSX", writeFlightsXLSX, min(n/8, maxXLSXRows)},
	} {
		t.Run(tc.format, func(t *testing.T) {
			path := filepath.Join(dir, "flights."+tc.format)
			tc.write(t, path, tc.rows)
			want := want
			if tc.rows != n {
				want = make([]int64, len(flightsGroups))
				for i := range tc.rows {
					want[flight(i).origin]++
				}
			}
			var first string
			for run := range 3 {
				m := ingestFlights(t, tc.format, path)
				if m.RowsIn != int64(tc.rows) || m.RowsOK != int64(tc.rows) {
					t.Fatalf("run %d: rows in %d, ok %d, want %d (rejected %d)", run, m.RowsIn, m.RowsOK, tc.rows, m.RowsRejected)
				}
				if run == 0 {
					first = m.ID
				} else if m.ID != first {
					t.Errorf("run %d: snapshot %s, run 0 gave %s", run, m.ID, first)
				}
				got := originCounts(t, m)
				for g := range want {
					if got[g] != want[g] {
						t.Errorf("run %d: group %s holds %d rows, the input %d", run, flightsGroups[g], got[g], want[g])
					}
				}
			}
		})
	}
}

// ingestFlights ingests path into a fresh file:// store, in batches of 4,096 rows.
func ingestFlights(t *testing.T, format, path string) store.SnapshotManifest {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := Run(ctx, flightsPlan(format, path), Options{Store: st, TempDir: dir, BatchRows: 4096,
		Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	m.Engine = filepath.Join(dir, m.Engine)
	return m
}

// originCounts counts the rows of each origin code in the engine layout at m.Engine.
func originCounts(t *testing.T, m store.SnapshotManifest) []int64 {
	t.Helper()
	f, err := os.Open(m.Engine)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	col := r.Schema().FieldIndices("origin")
	if len(col) != 1 {
		t.Fatalf("engine layout has no origin column: %s", r.Schema())
	}
	counts := make([]int64, len(flightsGroups)+1)
	for b := 0; b < r.NumRecords(); b++ {
		rec, err := r.RecordBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rec.Column(col[0]).(*array.Uint16).Uint16Values() {
			counts[c]++
		}
	}
	if counts[len(flightsGroups)] != 0 {
		t.Errorf("%d rows in the unknown group", counts[len(flightsGroups)])
	}
	return counts[:len(flightsGroups)]
}
