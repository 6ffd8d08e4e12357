package aggregate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/backbone-dev/backbone/internal/pipeline/filter"
	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// source is one snapshot and the operands that read it, grouped by codes of a cube over
// every dimension its indicators use.
type source struct {
	name string
	man  *store.SnapshotManifest
	cols map[string]int // engine column index by name

	dims    []string // cube dimensions, vocabulary order
	dimCols []int    // their engine columns
	sizes   []int    // groups per dimension, unknown included
	strides []int
	size    int // cube cells

	ops       []*operandState
	timelines []*timeline
}

func (s *source) column(name string) (store.SnapshotColumn, int, error) {
	i, ok := s.cols[name]
	if !ok {
		return store.SnapshotColumn{}, -1, fmt.Errorf("snapshot %s of source %q has no column %q", s.man.ID, s.name, name)
	}
	return s.man.Columns[i], i, nil
}

// operandState accumulates one operand at one grain over the source's cube.
type operandState struct {
	key   string
	op    spec.Operand
	grain period.Grain
	src   *source

	valueCol int  // -1 for Count
	integer  bool // value column is Integer
	perUnit  bool // value column is PerUnit (weighted by the frequency)
	distinct bool
	// subset: a Proportion's numerator summing a RowTotal column counts a subset of people.
	subset  bool
	filters []boundFilter

	// states[ordinal][cube cell], by the timeline's ordinals.
	states [][]State
	// sets[ordinal][cube cell]: distinct values (DistinctCount).
	sets [][]map[string]struct{}
	// tl assigns rows to periods; operands reading the same time column at the same grain
	// share it, so each row's period is found once per batch.
	tl *timeline
	// seen says whether any row passed the operand's filters in a period (a denominator is
	// only available in such a period).
	seen []bool
	// noPeriod counts units whose time value is null: they belong to no period.
	noPeriod int64

	// Per-batch scratch: filter result of every row.
	mask []bool
}

// timeline assigns the rows of one source to the periods of one grain by one time column.
// A period is created for every row's day, whatever the operands' filters (the published
// span uses them all).
type timeline struct {
	grain    period.Grain
	timeCol  int
	timeYear bool // an Integer year column
	name     string

	starts  []int32 // first day of each period, by ordinal
	ordinal map[int32]int32

	// ords is the period ordinal of every row of the current batch (-1: null time value).
	ords []int32
	// Day lookup: lut[day-lutMin] indexes lutStarts (period first days) and lutOrd (their
	// ordinals, -1 until a row lands there).
	lut       []int32
	lutMin    int32
	lutStarts []int32
	lutOrd    []int32
}

type boundFilter struct {
	col     int
	typ     string
	unknown uint16
	pred    *filter.Pred
}

func (t *timeline) slot(start int32) int32 {
	if ord, ok := t.ordinal[start]; ok {
		return ord
	}
	ord := int32(len(t.starts))
	t.starts = append(t.starts, start)
	t.ordinal[start] = ord
	return ord
}

// grow gives the operand a state for every period of its timeline.
func (o *operandState) grow() {
	for len(o.states) < len(o.tl.starts) {
		o.states = append(o.states, make([]State, o.src.size))
		o.seen = append(o.seen, false)
		if o.distinct {
			o.sets = append(o.sets, make([]map[string]struct{}, o.src.size))
		}
	}
}

// bind resolves an operand's columns against its source's snapshot.
func (o *operandState) bind(dims map[string]spec.Dimension) error {
	s := o.src
	tc, ti, err := s.column(o.op.TimeColumn)
	if err != nil {
		return err
	}
	switch tc.Type {
	case spec.TypeDate, spec.TypeTimestamp, spec.TypeInteger:
	default:
		return fmt.Errorf("time column %q of source %q has type %s", tc.Name, s.name, tc.Type)
	}
	o.tl = s.timeline(ti, tc.Type == spec.TypeInteger, tc.Name, o.grain)
	o.valueCol = -1
	if o.op.Column != "" {
		vc, vi, err := s.column(o.op.Column)
		if err != nil {
			return err
		}
		o.valueCol = vi
		o.integer = vc.Type == spec.TypeInteger
		o.perUnit = vc.ValueKind != spec.RowTotal
	}
	for _, f := range o.op.Filters {
		fc, fi, err := s.column(f.Column)
		if err != nil {
			return err
		}
		var groups []string
		var unknown uint16
		if fc.Dimension != "" {
			groups = fc.Groups
			unknown = uint16(len(groups) - 1)
		}
		p, err := filter.Compile(f, fc.Type, groups)
		if err != nil {
			return fmt.Errorf("filter on column %q: %w", f.Column, err)
		}
		o.filters = append(o.filters, boundFilter{col: fi, typ: fc.Type, unknown: unknown, pred: p})
	}
	return nil
}

// scanBatch accumulates one record batch of the engine layout.
func (s *source) scanBatch(rec arrow.RecordBatch, cell []int32, freq *array.Int64) error {
	n := int(rec.NumRows())
	for i := range cell[:n] {
		cell[i] = 0
	}
	for d, ci := range s.dimCols {
		codes := rec.Column(ci).(*array.Uint16).Uint16Values()
		stride := int32(s.strides[d])
		for i, c := range codes[:n] {
			cell[i] += int32(c) * stride
		}
	}
	for _, t := range s.timelines {
		if err := t.ordinals(rec, n, s.man); err != nil {
			return err
		}
	}
	for _, o := range s.ops {
		o.scan(rec, cell[:n], freq)
	}
	return nil
}

// timeline returns the source's timeline for a time column and grain, creating it once.
func (s *source) timeline(col int, year bool, name string, g period.Grain) *timeline {
	for _, t := range s.timelines {
		if t.timeCol == col && t.grain == g {
			return t
		}
	}
	t := &timeline{grain: g, timeCol: col, timeYear: year, name: name, ordinal: map[int32]int32{}}
	s.timelines = append(s.timelines, t)
	return t
}

// ordinals fills t.ords with the period ordinal of every row (-1: null time value).
// Day numbers go through a lookup table of the snapshot's day range, built once, so the
// calendar arithmetic runs per day, not per row.
func (o *timeline) ordinals(rec arrow.RecordBatch, n int, man *store.SnapshotManifest) error {
	o.ords = slices.Grow(o.ords[:0], n)[:n]
	tcol := rec.Column(o.timeCol)
	if o.timeYear {
		years := tcol.(*array.Int64)
		fs := 1
		if o.grain.Name == period.Year || o.grain.Name == period.Quarter {
			fs = o.grain.FiscalStart
		}
		for i := 0; i < n; i++ {
			if years.IsNull(i) {
				o.ords[i] = -1
				continue
			}
			y := years.Value(i)
			if y < -9999 || y > 9999 {
				return fmt.Errorf("time column %q: %d is not a year", o.name, y)
			}
			o.ords[i] = o.slot(o.grain.Start(period.DaysFromCivil(int(y), fs, 1)))
		}
		return nil
	}
	days := tcol.(*array.Date32).Date32Values()
	if o.lut == nil {
		m := man
		o.lutMin = m.MinDay
		span := int(m.MaxDay) - int(m.MinDay) + 1
		if span < 1 || span > 1<<22 {
			span = 0
		}
		o.lut = make([]int32, span)
		var starts []int32
		for d := 0; d < span; d++ {
			st := o.grain.Start(o.lutMin + int32(d))
			if len(starts) == 0 || starts[len(starts)-1] != st {
				starts = append(starts, st)
			}
			o.lut[d] = int32(len(starts) - 1)
		}
		o.lutStarts = starts
		o.lutOrd = make([]int32, len(starts))
		for k := range o.lutOrd {
			o.lutOrd[k] = -1
		}
	}
	nulls := tcol.NullN() > 0
	for i := 0; i < n; i++ {
		if nulls && tcol.IsNull(i) {
			o.ords[i] = -1
			continue
		}
		d := int(int32(days[i]) - o.lutMin)
		if d < 0 || d >= len(o.lut) {
			// Outside the manifest's range (an older manifest): compute directly.
			o.ords[i] = o.slot(o.grain.Start(int32(days[i])))
			continue
		}
		p := o.lut[d]
		ord := o.lutOrd[p]
		if ord < 0 {
			ord = o.slot(o.lutStarts[p])
			o.lutOrd[p] = ord
		}
		o.ords[i] = ord
	}
	return nil
}

// filterMask fills o.mask with the rows passing every filter; nil without filters.
func (o *operandState) filterMask(rec arrow.RecordBatch, n int) []bool {
	if len(o.filters) == 0 {
		return nil
	}
	o.mask = slices.Grow(o.mask[:0], n)[:n]
	for i := range o.mask {
		o.mask[i] = true
	}
	for _, f := range o.filters {
		col := rec.Column(f.col)
		nulls := col.NullN() > 0
		switch a := col.(type) {
		case *array.Uint16:
			// A dimension: decide once per code.
			codes := a.Uint16Values()
			var keep [1 << 16]bool
			var known [1 << 16]bool
			for i, c := range codes[:n] {
				if !known[c] {
					keep[c], known[c] = f.pred.MatchCode(c, f.unknown), true
				}
				if !keep[c] {
					o.mask[i] = false
				}
			}
		case *array.Boolean:
			// Decide the three cases once; then index by the value and validity bits,
			// without a branch on random values.
			var keep [4]bool // [valid<<1 | value]
			keep[0], keep[1] = f.pred.MatchBool(false, false), f.pred.MatchBool(false, false)
			keep[2], keep[3] = f.pred.MatchBool(false, true), f.pred.MatchBool(true, true)
			bufs := a.Data().Buffers()
			off := a.Data().Offset()
			values := bufs[1].Bytes()
			var validity []byte
			if nulls && bufs[0] != nil {
				validity = bufs[0].Bytes()
			}
			for i := 0; i < n; i++ {
				j := off + i
				idx := (values[j>>3] >> (j & 7)) & 1
				if validity == nil {
					idx |= 2
				} else {
					idx |= ((validity[j>>3] >> (j & 7)) & 1) << 1
				}
				o.mask[i] = o.mask[i] && keep[idx]
			}
		default:
			for i := 0; i < n; i++ {
				if o.mask[i] && !matchRow(col, f, i) {
					o.mask[i] = false
				}
			}
		}
	}
	return o.mask
}

func (o *operandState) scan(rec arrow.RecordBatch, cell []int32, freq *array.Int64) {
	n := len(cell)
	var weights []int64
	if freq != nil {
		weights = freq.Int64Values()
	}
	o.grow()
	mask := o.filterMask(rec, n)
	ords := o.tl.ords

	// Units, the path every operand takes; the common case (no filter, no frequency) alone.
	switch {
	case mask == nil && weights == nil:
		for i, ord := range ords[:n] {
			if ord < 0 {
				o.noPeriod++
				continue
			}
			o.states[ord][cell[i]].Units++
		}
	default:
		for i := 0; i < n; i++ {
			if mask != nil && !mask[i] {
				continue
			}
			w := int64(1)
			if weights != nil {
				w = weights[i]
			}
			ord := ords[i]
			if ord < 0 {
				o.noPeriod += w
				continue
			}
			o.seen[ord] = true
			o.states[ord][cell[i]].Units += w
		}
	}
	if o.valueCol < 0 {
		return
	}
	vcol := rec.Column(o.valueCol)
	nulls := vcol.NullN() > 0
	switch a := vcol.(type) {
	case *array.Int64:
		xs := a.Int64Values()
		for i := 0; i < n; i++ {
			if (mask != nil && !mask[i]) || ords[i] < 0 || (nulls && a.IsNull(i)) {
				continue
			}
			w := int64(1)
			if weights != nil {
				w = weights[i]
			}
			st := &o.states[ords[i]][cell[i]]
			x := xs[i]
			st.N += w
			if o.perUnit {
				st.SumInt += x * w
				add(&st.Sq, &st.SqC, float64(x)*float64(x)*float64(w))
			} else if w > 0 {
				// A row total: each of the row's w people holds x/w on average.
				st.SumInt += x
				add(&st.Sq, &st.SqC, float64(x)*float64(x)/float64(w))
			} else {
				st.SumInt += x
			}
		}
	case *array.Float64:
		xs := a.Float64Values()
		for i := 0; i < n; i++ {
			if (mask != nil && !mask[i]) || ords[i] < 0 || (nulls && a.IsNull(i)) {
				continue
			}
			w := int64(1)
			if weights != nil {
				w = weights[i]
			}
			st := &o.states[ords[i]][cell[i]]
			x := xs[i]
			st.N += w
			if o.perUnit {
				add(&st.Sum, &st.SumC, x*float64(w))
				add(&st.Sq, &st.SqC, x*x*float64(w))
			} else if w > 0 {
				add(&st.Sum, &st.SumC, x)
				add(&st.Sq, &st.SqC, x*x/float64(w))
			} else {
				add(&st.Sum, &st.SumC, x)
			}
		}
	default:
		for i := 0; i < n; i++ {
			if (mask != nil && !mask[i]) || ords[i] < 0 || vcol.IsNull(i) {
				continue
			}
			w := int64(1)
			if weights != nil {
				w = weights[i]
			}
			o.states[ords[i]][cell[i]].N += w
		}
	}
	if !o.distinct {
		return
	}
	for i := 0; i < n; i++ {
		if (mask != nil && !mask[i]) || ords[i] < 0 || vcol.IsNull(i) {
			continue
		}
		set := o.sets[ords[i]][cell[i]]
		if set == nil {
			set = map[string]struct{}{}
			o.sets[ords[i]][cell[i]] = set
		}
		v := valueString(vcol, i)
		if _, ok := set[v]; !ok {
			set[strings.Clone(v)] = struct{}{}
		}
	}
}

func valueString(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Uint16:
		return strconv.Itoa(int(a.Value(i)))
	}
	return a.ValueStr(i)
}

// matchRow tests one row of the column types filterMask does not handle in bulk.
func matchRow(a arrow.Array, f boundFilter, i int) bool {
	valid := !a.IsNull(i)
	switch a := a.(type) {
	case *array.Int64:
		return f.pred.MatchNumber(float64(a.Value(i)), valid)
	case *array.Float64:
		return f.pred.MatchNumber(a.Value(i), valid)
	case *array.String:
		return f.pred.MatchString(a.Value(i), valid)
	case *array.Date32:
		return f.pred.MatchNumber(float64(a.Value(i)), valid)
	}
	return false
}

// scanFile reads the engine layout of a snapshot (memory-mapped) and accumulates every operand.
func (s *source) scanFile(data []byte, mapped bool) error {
	r, err := ipc.NewMappedFileReader(data)
	if err != nil {
		return fmt.Errorf("opening engine layout of %s: %w", s.man.ID, err)
	}
	defer r.Close()
	freqCol := -1
	for i, c := range s.man.Columns {
		if c.Frequency {
			freqCol = i
		}
	}
	var cell []int32
	for b := 0; b < r.NumRecords(); b++ {
		rec, err := r.RecordBatch(b)
		if err != nil {
			return fmt.Errorf("reading batch %d of %s: %w", b, s.man.ID, err)
		}
		cell = slices.Grow(cell[:0], int(rec.NumRows()))[:rec.NumRows()]
		var freq *array.Int64
		if freqCol >= 0 {
			freq = rec.Column(freqCol).(*array.Int64)
		}
		err = s.scanBatch(rec, cell, freq)
		rec.Release()
		if err != nil {
			return err
		}
		// Every 16 batches (about a million rows), drop the pages scanned so far: often
		// enough to keep memory flat, rarely enough that the system call costs nothing.
		if mapped && (b%16 == 15 || b == r.NumRecords()-1) {
			if err := store.Evict(data); err != nil {
				return fmt.Errorf("releasing scanned pages of %s: %w", s.man.ID, err)
			}
		}
	}
	return nil
}
