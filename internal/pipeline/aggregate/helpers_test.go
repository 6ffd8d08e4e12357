package aggregate_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/mapped"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// civil is a calendar date without a time zone: the value of a Date column.
type civil struct {
	Y int
	M time.Month
	D int
}

func civilOf(t time.Time) civil {
	y, m, d := t.Date()
	return civil{y, m, d}
}

func mustCivil(s string) civil {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return civilOf(t)
}

// noon is the date at noon UTC, so adding days never crosses a clock change.
func (c civil) noon() time.Time { return time.Date(c.Y, c.M, c.D, 12, 0, 0, 0, time.UTC) }

func (c civil) addDays(n int) civil { return civilOf(c.noon().AddDate(0, 0, n)) }
func (c civil) addMonths(n int) civil {
	return civilOf(time.Date(c.Y, c.M+time.Month(n), c.D, 12, 0, 0, 0, time.UTC))
}
func (c civil) before(o civil) bool  { return c.noon().Before(o.noon()) }
func (c civil) String() string       { return fmt.Sprintf("%04d-%02d-%02d", c.Y, int(c.M), c.D) }
func daysBetween(from, to civil) int { return int(to.noon().Sub(from.noon()).Hours() / 24) }
func (c civil) monthIndex() int      { return c.Y*12 + int(c.M) - 1 }
func civilFromMonthIndex(i int) civil {
	return civil{floorDiv(i, 12), time.Month(i - floorDiv(i, 12)*12 + 1), 1}
}
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// colDef declares one column of a test table.
type colDef struct {
	Name      string
	Type      string
	Dimension string
	ValueKind string
	// Codes are extra raw codes of a dimension column, sent to groups by the valueMap.
	Codes map[string]string
}

// table is a source as rows of Go values: group names (nil for the unknown group) for
// dimension columns, civil for Date, time.Time for Timestamp, int64, float64, bool,
// string, or nil.
type table struct {
	Source string
	Cols   []colDef
	Rows   []map[string]any
	// Frequency names the column saying how many people a row stands for.
	Frequency string
	// Missing are the partner's missing-value markers.
	Missing []string
	// NaiveTimestamps writes timestamps without an offset (local time), else with one.
	NaiveTimestamps bool
}

func (tb *table) col(name string) colDef {
	for _, c := range tb.Cols {
		if c.Name == name {
			return c
		}
	}
	panic("no column " + name)
}

// encoder writes Go values the way partners write them: group names in any case and
// spacing, valueMap codes, missing markers, the spellings of booleans.
type encoder struct {
	rng   *rand.Rand
	loc   *time.Location
	plain bool // canonical spellings only
}

func (e *encoder) pick(opts ...string) string {
	if e.plain || e.rng == nil {
		return opts[0]
	}
	return opts[e.rng.IntN(len(opts))]
}

func (e *encoder) encode(tb *table, c colDef, dim *spec.Dimension, v any) string {
	if v == nil {
		if c.Name == tb.Frequency {
			panic("a frequency is never missing")
		}
		opts := []string{""}
		opts = append(opts, tb.Missing...)
		if c.Dimension != "" {
			for code, g := range c.Codes {
				if g == dim.Unknown {
					opts = append(opts, code)
				}
			}
			sort.Strings(opts[1:])
		}
		return e.pick(opts...)
	}
	switch x := v.(type) {
	case string:
		if c.Dimension == "" {
			return x
		}
		opts := []string{x, strings.ToLower(x), " " + strings.ToUpper(x) + " "}
		var codes []string
		for code, g := range c.Codes {
			if g == x {
				codes = append(codes, code)
			}
		}
		sort.Strings(codes)
		return e.pick(append(opts, codes...)...)
	case civil:
		return x.String()
	case time.Time:
		if tb.NaiveTimestamps {
			return x.In(e.loc).Format("2006-01-02 15:04:05")
		}
		return e.pick(x.Format(time.RFC3339), x.UTC().Format(time.RFC3339), x.In(e.loc).Format(time.RFC3339))
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return e.pick("true", "yes", "1", "True")
		}
		return e.pick("false", "no", "0", "FALSE")
	}
	panic(fmt.Sprintf("unexpected value %T %v", v, v))
}

// writeCSV writes the table as a CSV file with a header into dir.
func writeCSV(t testing.TB, dir string, tb *table, dims []spec.Dimension, enc *encoder) string {
	t.Helper()
	path := filepath.Join(dir, tb.Source+".csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	var header []string
	for _, c := range tb.Cols {
		header = append(header, c.Name)
	}
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	dimOf := map[string]*spec.Dimension{}
	for i := range dims {
		dimOf[dims[i].Name] = &dims[i]
	}
	rec := make([]string, len(tb.Cols))
	for _, r := range tb.Rows {
		for i, c := range tb.Cols {
			rec[i] = enc.encode(tb, c, dimOf[c.Dimension], r[c.Name])
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return path
}

var anyShrink = 100

// ingestPlan is the plan of one table, built by hand as internal/plan would.
func ingestPlan(tb *table, path, tz string, dims []spec.Dimension) *spec.Ingest {
	p := &spec.Ingest{
		Namespace: "ns", Initiative: "ini", Source: tb.Source, Partner: "partner",
		Format: "CSV", Header: true, Path: path, TimeZone: tz, Dimensions: dims,
		FrequencyColumn: tb.Frequency, MissingValues: tb.Missing,
		// The engine's tests promote every table they ingest, empty ones too.
		MaxShrinkPercent: &anyShrink,
	}
	for _, c := range tb.Cols {
		sc := spec.Column{Name: c.Name, Type: c.Type, Dimension: c.Dimension, ValueKind: c.ValueKind}
		if c.Dimension != "" {
			sc.Type = spec.TypeString
			if len(c.Codes) > 0 {
				sc.ValueMap = c.Codes
			}
		}
		p.Columns = append(p.Columns, sc)
	}
	return p
}

// env is a store and a folder for one test.
type env struct {
	t     testing.TB
	ctx   context.Context
	st    *store.Store
	dir   string
	tz    string
	loc   *time.Location
	dims  []spec.Dimension
	batch int
	// workers scanning each snapshot; 0 for the default.
	workers int
	// copyEngine reads the engine layout through a file into buffers, instead of in
	// place from a mapping as the backbone command does.
	copyEngine bool
}

func newEnv(t testing.TB, tz string, dims []spec.Dimension, fileStore bool) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	url := "mem://"
	if fileStore {
		u, err := store.FileURL(filepath.Join(dir, "store"))
		if err != nil {
			t.Fatal(err)
		}
		url = u
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, st: st, dir: dir, tz: tz, loc: loc, dims: dims}
}

// ingest writes the table as CSV, ingests it and maps its engine layout.
func (e *env) ingest(tb *table, enc *encoder) aggregate.Input {
	t := e.t
	t.Helper()
	if enc == nil {
		enc = &encoder{plain: true}
	}
	enc.loc = e.loc
	path := writeCSV(t, e.dir, tb, e.dims, enc)
	p := ingestPlan(tb, path, e.tz, e.dims)
	tmp := filepath.Join(e.dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := ingest.Run(e.ctx, p, ingest.Options{Store: e.st, TempDir: tmp, BatchRows: e.batch,
		Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatalf("ingesting %s: %v", tb.Source, err)
	}
	m := res.Manifest
	if m.RowsRejected != 0 || m.RowsExcluded != 0 || m.RowsOK != int64(len(tb.Rows)) || m.RowsIn != m.RowsOK+m.RowsRejected+m.RowsExcluded {
		t.Fatalf("ingesting %s: rows in %d, ok %d, rejected %d (see %s), excluded %d; want all %d ok",
			tb.Source, m.RowsIn, m.RowsOK, m.RowsRejected, m.Rejects, m.RowsExcluded, len(tb.Rows))
	}
	in := aggregate.Input{Manifest: &m}
	for _, f := range []struct {
		key string
		to  *aggregate.ReadAtSeeker
	}{{m.Engine, &in.Engine}, {m.Parquet, &in.Parquet}} {
		name, fetched, err := e.st.Fetch(e.ctx, f.key, tmp)
		if err != nil {
			t.Fatal(err)
		}
		var file interface {
			aggregate.ReadAtSeeker
			Close() error
		}
		if f.key == m.Engine && !e.copyEngine {
			file, err = mapped.Open(name)
		} else {
			file, err = os.Open(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			file.Close()
			if fetched {
				os.Remove(name)
			}
		})
		*f.to = file
	}
	return in
}

// run ingests the tables and aggregates the plan.
func (e *env) run(p *spec.Aggregate, asOf time.Time, tables ...*table) *aggregate.Result {
	e.t.Helper()
	return e.runEncoded(p, asOf, nil, tables...)
}

func (e *env) runEncoded(p *spec.Aggregate, asOf time.Time, enc *encoder, tables ...*table) *aggregate.Result {
	t := e.t
	t.Helper()
	inputs := map[string]aggregate.Input{}
	for _, tb := range tables {
		inputs[tb.Source] = e.ingest(tb, enc)
	}
	res, err := aggregate.Run(e.ctx, p, inputs, aggregate.Options{AsOf: asOf, Workers: e.workers})
	if err != nil {
		t.Fatalf("aggregate.Run: %v", err)
	}
	return res
}

// dimsKey names a cell's groups: "dim=group" pairs sorted by dimension.
func dimsKey(groups map[string]string) string {
	names := make([]string, 0, len(groups))
	for d := range groups {
		names = append(names, d)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, d := range names {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(d + "=" + groups[d])
	}
	return b.String()
}

func cellKey(indicator, period string, groups map[string]string) string {
	return indicator + "|" + period + "|" + dimsKey(groups)
}

// cellsByKey indexes the cells Run returned, failing on duplicates.
func cellsByKey(t testing.TB, res *aggregate.Result) map[string]*aggregate.Cell {
	t.Helper()
	out := map[string]*aggregate.Cell{}
	for i := range res.Cells {
		c := &res.Cells[i]
		k := cellKey(c.Indicator, c.Period, c.Dimensions)
		if _, dup := out[k]; dup {
			t.Errorf("cell %s is published twice", k)
		}
		out[k] = c
	}
	return out
}

// dim builds a vocabulary dimension.
func dim(name, unknown string, values ...string) spec.Dimension {
	return spec.Dimension{Name: name, Values: values, Unknown: unknown}
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
