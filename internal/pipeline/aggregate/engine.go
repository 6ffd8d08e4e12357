// Package aggregate computes every indicator of one initiative in one pass over its
// sources' snapshots: rows are grouped by vocabulary codes into dense arrays (a cube over
// the dimensions the indicators use, per period), rolled up into the published cells (the
// total, each dimension's groups, each intersection), measured (value, n, interval,
// reliability), protected by primary and secondary cell suppression across every indicator
// that shares a count base, and annotated with equity statistics and progress to target.
package aggregate

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

// Input is one source's snapshot: its manifest, its engine layout and, when the plan
// reads text (NeedsParquet), its Parquet file. The files are read in record batches into
// recycled buffers, so memory stays flat whatever the snapshot's size.
type Input struct {
	Manifest *layout.SnapshotManifest
	Engine   ReadAtSeeker
	Parquet  ReadAtSeeker
}

// ReadAtSeeker is how a snapshot's files are read: an *os.File, or a *bytes.Reader.
type ReadAtSeeker interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// Options are the settings of one run.
type Options struct {
	// AsOf decides which periods are complete when the plan names no AsOf date: a period
	// is complete once its last day is before AsOf's calendar date. The date is AsOf's
	// year, month and day as written (in AsOf's own location), taken as a date in the
	// Initiative's time zone: 2026-01-01 is 2026-01-01 there, whatever zone it was parsed
	// in. Zero means today in the Initiative's zone.
	AsOf time.Time
	// Workers is the number of goroutines scanning a snapshot; default GOMAXPROCS. The
	// result does not depend on it.
	Workers int
}

// Result is everything one run publishes.
type Result struct {
	Cells      []Cell            `json:"cells"`
	Indicators []IndicatorResult `json:"indicators"`
	// Inputs maps each source to the snapshot id computed from.
	Inputs map[string]string `json:"inputs"`
	// WithheldRowCounts lists the sources whose snapshot row counts must not be published:
	// with the cells published, they would disclose a suppressed one.
	WithheldRowCounts []string `json:"withheldRowCounts,omitempty"`
}

// Run computes every indicator of p from the inputs (by source name).
func Run(ctx context.Context, p *spec.Aggregate, inputs map[string]Input, opts Options) (*Result, error) {
	if opts.Workers < 1 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", p.TimeZone, err)
	}
	asOfDay := asOfDay(opts.AsOf, loc)
	if p.AsOf != "" {
		if asOfDay, err = period.Parse(p.AsOf); err != nil {
			return nil, fmt.Errorf("asOf %q is not a date (YYYY-MM-DD): %w", p.AsOf, err)
		}
	}
	dims := map[string]spec.Dimension{}
	for _, d := range p.Dimensions {
		dims[d.Name] = d
	}
	e := &engine{plan: p, dims: dims, sources: map[string]*source{}, ops: map[string]*operandState{}, asOfDay: asOfDay}
	res := &Result{Inputs: map[string]string{}}
	if err := e.prepare(inputs); err != nil {
		return nil, err
	}
	for name, s := range e.sources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.scanFile(ctx, inputs[name], opts.Workers); err != nil {
			return nil, err
		}
		res.Inputs[name] = s.man.ID
	}
	for _, ir := range e.runs {
		if err := ir.measure(e); err != nil {
			return nil, fmt.Errorf("indicator %q: %w", ir.ind.Name, err)
		}
	}
	if err := e.protect(); err != nil {
		return nil, err
	}
	slices.Sort(e.withheldRowCounts)
	res.WithheldRowCounts = e.withheldRowCounts
	cells := 0
	for _, ir := range e.runs {
		cells += len(ir.cells)
	}
	res.Cells = make([]Cell, 0, cells)
	for _, ir := range e.runs {
		ir.finish(e)
		res.Cells = ir.output(p, res.Cells)
		res.Indicators = append(res.Indicators, ir.result)
	}
	return res, nil
}

// asOfDay is the as-of date: AsOf's calendar date, never shifted into loc (an instant
// parsed as midnight UTC would otherwise fall on the day before west of Greenwich), or
// today in loc.
func asOfDay(asOf time.Time, loc *time.Location) int32 {
	if asOf.IsZero() {
		return period.DayOf(time.Now().In(loc))
	}
	return period.DayOf(asOf)
}

type engine struct {
	plan    *spec.Aggregate
	dims    map[string]spec.Dimension
	sources map[string]*source
	ops     map[string]*operandState
	runs    []*indicatorRun
	asOfDay int32
	// withheldRowCounts lists the sources whose row count would disclose a suppressed cell.
	withheldRowCounts []string
}

// prepare builds the sources' cubes and the operand states the indicators need.
func (e *engine) prepare(inputs map[string]Input) error {
	// Cube dimensions of each source: every dimension an indicator reading it uses.
	want := map[string]map[string]bool{}
	for _, ind := range e.plan.Indicators {
		for _, op := range operands(ind) {
			if want[op.Source] == nil {
				want[op.Source] = map[string]bool{}
			}
			for _, d := range ind.Dimensions {
				want[op.Source][d] = true
			}
		}
	}
	for name, ds := range want {
		in, ok := inputs[name]
		if !ok || in.Manifest == nil {
			return fmt.Errorf("no snapshot of source %q", name)
		}
		if id, pinned := e.plan.Snapshot(name); pinned && in.Manifest.ID != id {
			return fmt.Errorf("source %q: the plan pins snapshot %s, the input is snapshot %s", name, id, in.Manifest.ID)
		}
		s := &source{name: name, man: in.Manifest, cols: map[string]int{}, reads: map[int]bool{}}
		for i, c := range in.Manifest.Columns {
			s.cols[c.Name] = i
		}
		for _, d := range e.plan.Dimensions { // vocabulary order
			if !ds[d.Name] {
				continue
			}
			col := -1
			for i, c := range in.Manifest.Columns {
				if c.Dimension == d.Name {
					col = i
				}
			}
			if col < 0 {
				return fmt.Errorf("snapshot %s of source %q has no column for dimension %q", in.Manifest.ID, name, d.Name)
			}
			if got, want := len(in.Manifest.Columns[col].Groups), len(d.Values)+1; got != want {
				return fmt.Errorf("snapshot %s of source %q was ingested with %d groups of dimension %q, the vocabulary now has %d: ingest it again", in.Manifest.ID, name, got, d.Name, want)
			}
			s.dims = append(s.dims, d.Name)
			s.dimCols = append(s.dimCols, col)
			s.sizes = append(s.sizes, len(d.Values)+1)
		}
		s.size = 1
		s.strides = make([]int, len(s.sizes))
		for i := len(s.sizes) - 1; i >= 0; i-- {
			s.strides[i] = s.size
			s.size *= s.sizes[i]
		}
		if s.size > 1<<22 {
			return fmt.Errorf("source %q: the cube over dimensions %v has %d cells; use fewer dimensions", name, s.dims, s.size)
		}
		e.sources[name] = s
	}
	for i := range e.plan.Indicators {
		ind := &e.plan.Indicators[i]
		grain := period.Grain{Name: ind.Grain, FiscalStart: ind.FiscalYearStartMonth}
		ir := &indicatorRun{ind: ind, grain: grain}
		var err error
		if ir.num, err = e.operand(ind.Numerator, grain, ind.Measure == spec.DistinctCount); err != nil {
			return fmt.Errorf("indicator %q: numerator: %w", ind.Name, err)
		}
		if ind.Measure == spec.Proportion && ind.Numerator.Aggregate == spec.Sum {
			ir.num.subset = true
		}
		if ind.Denominator != nil {
			if ir.den, err = e.operand(*ind.Denominator, grain, false); err != nil {
				return fmt.Errorf("indicator %q: denominator: %w", ind.Name, err)
			}
		}
		ir.pairs = ind.Measure == spec.Ratio && ir.den != nil && sameRows(ir.num, ir.den)
		if ir.pairs && ind.Numerator.Aggregate == spec.Sum && ind.Denominator.Aggregate == spec.Sum {
			if ir.cross, err = e.crossOperand(ir.num, ir.den); err != nil {
				return fmt.Errorf("indicator %q: %w", ind.Name, err)
			}
		}
		e.runs = append(e.runs, ir)
	}
	for _, s := range e.sources {
		s.shareUnits()
	}
	return nil
}

func operands(ind spec.Indicator) []spec.Operand {
	ops := []spec.Operand{ind.Numerator}
	if ind.Denominator != nil {
		ops = append(ops, *ind.Denominator)
	}
	return ops
}

// operand returns the shared state of an operand at a grain, creating it once.
func (e *engine) operand(op spec.Operand, g period.Grain, distinct bool) (*operandState, error) {
	s := e.sources[op.Source]
	keyOp := op
	keyOp.Alignment = ""
	keyOp.Filters = canonicalFilters(s, op.Filters)
	b, _ := json.Marshal(struct {
		Op       spec.Operand
		Grain    period.Grain
		Distinct bool
	}{keyOp, g, distinct})
	key := string(b)
	if o, ok := e.ops[key]; ok {
		return o, nil
	}
	o := &operandState{key: key, op: keyOp, grain: g, src: s, distinct: distinct}
	if err := o.bind(e.dims); err != nil {
		return nil, err
	}
	s.ops = append(s.ops, o)
	e.ops[key] = o
	return o, nil
}

// crossOperand returns the operand summing num's column × den's column over their common
// rows, creating it once. Only a Ratio of two columns of the same rows reads one, so the
// scan of every other plan is unchanged.
func (e *engine) crossOperand(num, den *operandState) (*operandState, error) {
	key := "cross\x00" + num.key + "\x00" + den.key
	if o, ok := e.ops[key]; ok {
		return o, nil
	}
	o := &operandState{key: key, op: num.op, grain: num.grain, src: num.src}
	if err := o.bind(e.dims); err != nil {
		return nil, err
	}
	pc, pi, err := o.src.read(den.op.Column)
	if err != nil {
		return nil, err
	}
	o.cross, o.pairCol, o.pairPerUnit = true, pi, pc.ValueKind != spec.RowTotal
	o.integer = false // products are summed as floats
	o.src.ops = append(o.src.ops, o)
	e.ops[key] = o
	return o, nil
}

// baseKey identifies a count base: the units an operand counts (source, filters, time).
// A Sum operand counts units too, except as a Proportion's numerator, where its RowTotal
// column counts a subset of the people (ready_students of students): that subset is a base
// of its own, as a filter would make it.
func baseKey(o *operandState) string {
	column := ""
	if o.subset {
		column = o.op.Column
	}
	b, _ := json.Marshal(struct {
		Source, Time, Column string
		Filters              []spec.Filter
	}{o.op.Source, o.op.TimeColumn, column, o.op.Filters})
	return string(b)
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// canonicalFilters writes filters so that equal selections compare equal: sorted by column
// and operator, values trimmed, deduplicated and sorted, group names and booleans in their
// canonical spelling (they match case-insensitively), numbers formatted one way. Plain
// strings match exactly, so they are kept as written.
func canonicalFilters(s *source, fs []spec.Filter) []spec.Filter {
	out := make([]spec.Filter, 0, len(fs))
	for _, f := range fs {
		c := spec.Filter{Column: f.Column, Operator: f.Operator}
		col, _, err := s.column(f.Column)
		for _, v := range f.Values {
			v = strings.TrimSpace(v)
			switch {
			case err != nil:
			case col.Dimension != "":
				for _, g := range col.Groups {
					if strings.EqualFold(g, v) {
						v = g
					}
				}
			case col.Type == spec.TypeBoolean:
				v = strings.ToLower(v)
			case col.Type == spec.TypeInteger || col.Type == spec.TypeNumber || f.Operator == spec.OpGt || f.Operator == spec.OpLt:
				if x, perr := strconv.ParseFloat(v, 64); perr == nil {
					v = strconv.FormatFloat(x, 'g', -1, 64)
				}
			}
			c.Values = append(c.Values, v)
		}
		slices.Sort(c.Values)
		c.Values = slices.Compact(c.Values)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b spec.Filter) int {
		return cmp.Or(cmp.Compare(a.Column, b.Column), cmp.Compare(a.Operator, b.Operator), slices.Compare(a.Values, b.Values))
	})
	return slices.CompactFunc(out, func(a, b spec.Filter) bool {
		return a.Column == b.Column && a.Operator == b.Operator && slices.Equal(a.Values, b.Values)
	})
}
