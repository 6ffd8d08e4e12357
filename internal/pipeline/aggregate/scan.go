package aggregate

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/backbone-dev/backbone/internal/pipeline/filter"
	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

// Slots. Every row of a batch is given one slot of an operand's accumulators: a cube cell
// of a period (slotCells + ordinal×cube size + cell), or one of two slots that collect what
// no cell gets, so the accumulation loops have no branch.
const (
	// slotNoPeriod collects the units whose time value is null (reported, never published).
	slotNoPeriod = 0
	// slotDropped collects rows failing the operand's filters, and values that are null.
	slotDropped = 1
	slotCells   = 2
)

// source is one snapshot and the operands that read it, grouped by codes of a cube over
// every dimension its indicators use.
type source struct {
	name  string
	man   *layout.SnapshotManifest
	cols  map[string]int // manifest column index by name
	reads map[int]bool   // manifest columns some operand reads

	dims    []string // cube dimensions, vocabulary order
	dimCols []int    // their manifest columns
	sizes   []int    // groups per dimension, unknown included
	strides []int
	size    int // cube cells

	ops       []*operandState
	timelines []*timeline

	// scr holds the per-batch buffers of the worker scanning into this source.
	scr *scratch
}

// scratch is one worker's per-batch buffers, shared by the partials it fills in turn.
type scratch struct {
	cell   []int32     // the cube cell of every row
	slots  [][]int32   // by timeline: every row's slot before filters
	mask   []byte      // an operand's filter result, a bit per row
	fslots []int32     // an operand's slots after its filters
	vslots []int32     // an operand's slots without null values
	prod   []float64   // a cross operand's products
	bounds []slotBound // an operand's filters in integer form
}

func (s *source) column(name string) (layout.SnapshotColumn, int, error) {
	i, ok := s.cols[name]
	if !ok {
		return layout.SnapshotColumn{}, -1, fmt.Errorf("snapshot %s of source %q has no column %q", s.man.ID, s.name, name)
	}
	return s.man.Columns[i], i, nil
}

// read returns a column an operand reads, by manifest index.
func (s *source) read(name string) (layout.SnapshotColumn, int, error) {
	c, i, err := s.column(name)
	if err == nil {
		s.reads[i] = true
	}
	return c, i, err
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
	// cross: the operand sums, per unit, its value column × the pair column (a Ratio of two
	// columns of the same rows needs Σ num·den); pairPerUnit is the pair column's kind.
	cross       bool
	pairCol     int
	pairPerUnit bool

	// tl assigns rows to periods; operands reading the same time column at the same grain
	// share it, so each row's period is found once per batch.
	tl *timeline
	// unitsOf is the operand whose units count is this one's too (nil: its own).
	unitsOf *operandState
	// acc holds the running sums by slot.
	acc accumulators
	// noPeriod counts units whose time value is null: they belong to no period.
	noPeriod int64
	// seen says, by period ordinal, whether any row passed the operand's filters there (a
	// denominator is only available in such a period); set once the scan is done.
	seen []bool
}

// accumulators are an operand's sums by slot, one array per field (State's fields), so a
// row touches only the fields its measure needs.
type accumulators struct {
	slots int // slots allocated
	// units and rows stay nil when the operand shares another's (operandState.unitsOf).
	units, n, sumInt []int64
	// rows counts rows (not units) by slot when the source has a frequency column: a
	// period where rows pass the filters is available even if their frequencies are 0.
	rows []int64
	// Number sums: value sums compensated row by row (sum and its error term sumC); sums
	// of squares, which only feed intervals, compensated across blocks of rows and plain
	// within one (psq), so the per-row work there is one addition.
	sum, sumC, sq, sqC []float64
	psq                []float64
	pending            int // rows summed into psq since the last flush
	// sets holds the distinct values by slot (DistinctCount).
	sets []map[string]struct{}
	// mag is Σ|x|·w over the Integer values summed so far, a 128-bit bound on the magnitude
	// of every exact sum of them (any cell, any margin, any merge): while it fits an int64,
	// no sum of sumInt can overflow.
	mag magnitude
}

// magnitude is an unsigned 128-bit sum.
type magnitude struct{ hi, lo uint64 }

func (m *magnitude) add(hi, lo uint64) {
	var c uint64
	m.lo, c = bits.Add64(m.lo, lo, 0)
	m.hi += hi + c
}

// fits says the bound fits an int64.
func (m magnitude) fits() bool { return m.hi == 0 && m.lo <= math.MaxInt64 }

// overflowError names the column whose exact sum would not fit.
func (o *operandState) overflowError() error {
	return fmt.Errorf("column %q of source %q: the values summed exceed %d in magnitude, beyond an exact Integer sum; "+
		"check the column for sentinel or corrupt values, or declare it as type Number", o.op.Column, o.src.name, int64(math.MaxInt64))
}

// timeline assigns the rows of one source to the periods of one grain by one time column.
// A period is created for every row's day, whatever the operands' filters (the published
// span uses them all).
type timeline struct {
	grain    period.Grain
	timeCol  int
	timeYear bool // an Integer year column
	name     string
	size     int // cube cells of the source
	idx      int // index in the source's timelines
	// span is the snapshot's first and last day (of all its date columns), for messages.
	span [2]int32

	starts  []int32 // first day of each period, by ordinal
	ordinal map[int32]int32

	// Day lookup over the snapshot's day range: lutPeriod[day-lutMin] indexes lutStarts
	// (the periods' first days); lutBase[day-lutMin] is the period's first slot once a row
	// has landed in it, -1 before.
	lutMin    int32
	lutPeriod []int32
	lutStarts []int32
	lutBase   []int32
	// A year column: the last year seen and its first slot.
	lastYear int64
	lastBase int32
}

type boundFilter struct {
	col     int
	typ     string
	unknown uint16
	pred    *filter.Pred
}

// addPeriod returns the ordinal of the period starting at start, adding the period when
// it is new.
func (t *timeline) addPeriod(start int32) (int32, error) {
	if ord, ok := t.ordinal[start]; ok {
		return ord, nil
	}
	ord := int32(len(t.starts))
	if int(ord) >= maxPeriods {
		return 0, t.tooManyPeriods(start)
	}
	if int64(slotCells)+int64(ord+1)*int64(t.size) > math.MaxInt32 {
		return 0, fmt.Errorf("time column %q: more than %d periods of %d cube cells; use a coarser grain or fewer dimensions", t.name, ord, t.size)
	}
	t.starts = append(t.starts, start)
	t.ordinal[start] = ord
	return ord, nil
}

// maxPeriods bounds the periods of one timeline: 100,000 days are 273 years, far more than
// any plausible range of dates yields at a useful grain, while a sentinel date declared
// plausible (or an old snapshot written before ranges were checked) cannot make the
// engine build periods without end.
var maxPeriods = 100_000

// tooManyPeriods names the earliest and latest periods met, so the partner can find the
// rows that stretch the time column.
func (t *timeline) tooManyPeriods(start int32) error {
	lo, hi := start, start
	for _, s := range t.starts {
		lo, hi = min(lo, s), max(hi, s)
	}
	span := ""
	if !t.timeYear {
		span = fmt.Sprintf(" (the snapshot's dates run from %s to %s)", period.Format(t.span[0]), period.Format(t.span[1]))
	}
	return fmt.Errorf("time column %q: more than %d %s periods, from %s to %s%s: look for sentinel dates (e.g. 9999-12-31) or mistyped years in the rows with these values, "+
		"narrow the column's plausible range (earliest, latest), or use a coarser grain", t.name, maxPeriods, t.grain.Name, period.Format(lo), period.Format(hi), span)
}

// base returns the first slot of a period ordinal.
func (t *timeline) base(ord int32) int32 { return slotCells + ord*int32(t.size) }

// slotCount returns the number of slots of the timeline's periods so far.
func (t *timeline) slotCount() int { return slotCells + len(t.starts)*t.size }

// bind resolves an operand's columns against its source's snapshot.
func (o *operandState) bind(dims map[string]spec.Dimension) error {
	s := o.src
	tc, ti, err := s.read(o.op.TimeColumn)
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
		vc, vi, err := s.read(o.op.Column)
		if err != nil {
			return err
		}
		o.valueCol = vi
		o.integer = vc.Type == spec.TypeInteger
		o.perUnit = vc.ValueKind != spec.RowTotal
	}
	for _, f := range o.op.Filters {
		fc, fi, err := s.read(f.Column)
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

// scanBatch accumulates one batch of rows; cols holds its columns by manifest index (nil
// for columns no operand reads).
func (s *source) scanBatch(cols []arrow.Array, n int, freq *array.Int64) error {
	scr := s.scr
	if len(s.dimCols) == 1 && len(s.timelines) == 1 {
		// One dimension, one timeline (an indicator by one dimension per period): the
		// slots straight from the codes and the days, without the cells in between.
		t := s.timelines[0]
		if tcol, ok := cols[t.timeCol].(*array.Date32); ok && tcol.NullN() == 0 {
			codes := cols[s.dimCols[0]].(*array.Uint16).Uint16Values()[:n]
			var err error
			if scr.slots[0], err = t.fillCodes(tcol.Date32Values()[:n], codes, int32(s.strides[0]), s.man, scr.slots[0]); err != nil {
				return err
			}
			return s.scanOps(cols, n, freq)
		}
	}
	scr.cell = slices.Grow(scr.cell[:0], n)[:n]
	cell := scr.cell
	if len(s.dimCols) == 0 {
		clear(cell)
	}
	for d, ci := range s.dimCols {
		codes := cols[ci].(*array.Uint16).Uint16Values()[:n]
		stride := int32(s.strides[d])
		if d == 0 {
			for i, c := range codes {
				cell[i] = int32(c) * stride
			}
			continue
		}
		for i, c := range codes {
			cell[i] += int32(c) * stride
		}
	}
	for i, t := range s.timelines {
		var err error
		if scr.slots[i], err = t.fill(cols, cell, s.man, scr.slots[i]); err != nil {
			return err
		}
	}
	return s.scanOps(cols, n, freq)
}

// scanOps adds a batch whose slots are filled into every operand.
func (s *source) scanOps(cols []arrow.Array, n int, freq *array.Int64) error {
	var weights []int64
	if freq != nil {
		weights = freq.Int64Values()[:n]
	}
	for _, o := range s.ops {
		if err := o.scan(cols, n, weights); err != nil {
			return err
		}
	}
	return nil
}

// finish flushes the running sums once every batch is scanned.
func (s *source) finish() {
	for _, o := range s.ops {
		o.acc.grow(o)
		o.acc.flush()
	}
	for _, o := range s.ops {
		units, rows := o.counts()
		o.noPeriod = units[slotNoPeriod]
		o.seen = make([]bool, len(o.tl.starts))
		for ord := range o.seen {
			k := int(o.tl.base(int32(ord)))
			o.seen[ord] = slices.ContainsFunc(units[k:k+s.size], nonZero) ||
				(rows != nil && slices.ContainsFunc(rows[k:k+s.size], nonZero))
		}
	}
}

// shareUnits makes operands that count the same units (same timeline, same filters) share
// one count: a Mean's units are its Count's, and are counted once.
func (s *source) shareUnits() {
	first := map[string]*operandState{}
	for _, o := range s.ops {
		b, _ := json.Marshal(o.op.Filters) // canonical already
		key := fmt.Sprintf("%d\x00%s", o.tl.idx, b)
		if leader, ok := first[key]; ok {
			o.unitsOf = leader
		} else {
			first[key] = o
		}
	}
}

// counts returns the units and rows (nil without a frequency column) the operand counts.
func (o *operandState) counts() (units, rows []int64) {
	if o.unitsOf != nil {
		return o.unitsOf.acc.units, o.unitsOf.acc.rows
	}
	return o.acc.units, o.acc.rows
}

func nonZero(x int64) bool { return x != 0 }

// timeline returns the source's timeline for a time column and grain, creating it once.
func (s *source) timeline(col int, year bool, name string, g period.Grain) *timeline {
	for _, t := range s.timelines {
		if t.timeCol == col && t.grain == g {
			return t
		}
	}
	t := &timeline{grain: g, timeCol: col, timeYear: year, name: name, size: s.size, idx: len(s.timelines), ordinal: map[int32]int32{}, lastBase: -1,
		span: [2]int32{s.man.MinDay, s.man.MaxDay}}
	s.timelines = append(s.timelines, t)
	return t
}

// fill returns, in dst, the slot of every row: its period's first slot plus its cube cell.
// Day numbers go through a lookup table of the snapshot's day range, built once, so the
// calendar arithmetic runs per period, not per row.
func (t *timeline) fill(cols []arrow.Array, cell []int32, man *layout.SnapshotManifest, dst []int32) ([]int32, error) {
	n := len(cell)
	slots := slices.Grow(dst[:0], n)[:n]
	tcol := cols[t.timeCol]
	nulls := tcol.NullN() > 0
	if t.timeYear {
		years := tcol.(*array.Int64)
		for i := 0; i < n; i++ {
			if nulls && years.IsNull(i) {
				slots[i] = slotNoPeriod
				continue
			}
			b, err := t.yearBase(years.Value(i))
			if err != nil {
				return nil, err
			}
			slots[i] = b + cell[i]
		}
		return slots, nil
	}
	days := tcol.(*array.Date32).Date32Values()[:n]
	if t.lutPeriod == nil {
		t.buildLUT(man)
	}
	for i, d := range days {
		if nulls && tcol.IsNull(i) {
			slots[i] = slotNoPeriod
			continue
		}
		j := uint(int32(d) - t.lutMin)
		if j < uint(len(t.lutBase)) {
			if b := t.lutBase[j]; b >= 0 {
				slots[i] = b + cell[i]
				continue
			}
		}
		b, err := t.dayBase(int32(d))
		if err != nil {
			return nil, err
		}
		slots[i] = b + cell[i]
	}
	return slots, nil
}

// fillCodes is fill for a batch of days without nulls and one dimension's codes: the
// cube cell of a row is its code × stride.
func (t *timeline) fillCodes(days []arrow.Date32, codes []uint16, stride int32, man *layout.SnapshotManifest, dst []int32) ([]int32, error) {
	n := len(days)
	slots := slices.Grow(dst[:0], n)[:n]
	codes = codes[:n]
	if t.lutPeriod == nil {
		t.buildLUT(man)
	}
	lut := t.lutBase
	for i, d := range days {
		cell := int32(codes[i]) * stride
		if j := uint(int32(d) - t.lutMin); j < uint(len(lut)) {
			if b := lut[j]; b >= 0 {
				slots[i] = b + cell
				continue
			}
		}
		b, err := t.dayBase(int32(d))
		if err != nil {
			return nil, err
		}
		slots[i] = b + cell
	}
	return slots, nil
}

func (t *timeline) buildLUT(man *layout.SnapshotManifest) {
	t.lutMin = man.MinDay
	span := int(man.MaxDay) - int(man.MinDay) + 1
	if span < 1 || span > 1<<20 {
		span = 0
	}
	t.lutPeriod = make([]int32, span)
	t.lutBase = make([]int32, span)
	for d := 0; d < span; d++ {
		st := t.grain.Start(t.lutMin + int32(d))
		if len(t.lutStarts) == 0 || t.lutStarts[len(t.lutStarts)-1] != st {
			t.lutStarts = append(t.lutStarts, st)
		}
		t.lutPeriod[d] = int32(len(t.lutStarts) - 1)
		t.lutBase[d] = -1
	}
}

// dayBase returns the first slot of a day's period, creating the period; within the
// lookup table's range it fills the table for every day of the period.
func (t *timeline) dayBase(day int32) (int32, error) {
	j := int(day - t.lutMin)
	if j < 0 || j >= len(t.lutPeriod) {
		// Outside the manifest's range (an older manifest): computed directly.
		ord, err := t.addPeriod(t.grain.Start(day))
		return t.base(ord), err
	}
	p := t.lutPeriod[j]
	ord, err := t.addPeriod(t.lutStarts[p])
	if err != nil {
		return 0, err
	}
	b := t.base(ord)
	for k := j; k >= 0 && t.lutPeriod[k] == p; k-- {
		t.lutBase[k] = b
	}
	for k := j + 1; k < len(t.lutPeriod) && t.lutPeriod[k] == p; k++ {
		t.lutBase[k] = b
	}
	return b, nil
}

// yearBase returns the first slot of the period of an Integer year column's value.
func (t *timeline) yearBase(y int64) (int32, error) {
	if y == t.lastYear && t.lastBase >= 0 {
		return t.lastBase, nil
	}
	if y < -9999 || y > 9999 {
		return 0, fmt.Errorf("time column %q: %d is not a year", t.name, y)
	}
	fs := 1
	if t.grain.Name == period.Year || t.grain.Name == period.Quarter {
		fs = t.grain.FiscalStart
	}
	ord, err := t.addPeriod(t.grain.Start(period.DaysFromCivil(int(y), fs, 1)))
	if err != nil {
		return 0, err
	}
	t.lastYear, t.lastBase = y, t.base(ord)
	return t.lastBase, nil
}

// filterSlots returns, in dst, slots with every row failing a filter sent to slotDropped.
// When every filter bounds an Integer column (Gt, Lt: an on-time share, an age band) the
// slots are selected straight from the values, without a bitmap in between.
func (o *operandState) filterSlots(dst, slots []int32, cols []arrow.Array, n int) []int32 {
	bounds := o.src.scr.bounds[:0]
	for _, f := range o.filters {
		a, ok := cols[f.col].(*array.Int64)
		if !ok {
			return keepSlots(dst, slots, o.filterBits(cols, n), 0)
		}
		c, gt, ok := intBound(f.pred)
		if !ok {
			return keepSlots(dst, slots, o.filterBits(cols, n), 0)
		}
		bounds = append(bounds, slotBound{a: a, c: c, gt: gt})
	}
	o.src.scr.bounds = bounds
	dst = slices.Grow(dst[:0], n)[:n]
	src := slots[:n]
	for _, b := range bounds {
		boundSlots(dst, src, b.a.Int64Values()[:n], b.gt, b.c)
		src = dst
		if b.a.NullN() > 0 { // null rows dropped, in place
			dst = keepSlots(dst, dst, b.a.NullBitmapBytes(), b.a.Data().Offset())
		}
	}
	return dst
}

// slotBound is a Gt or Lt filter of an Integer column in integer form (intBound).
type slotBound struct {
	a  *array.Int64
	c  int64
	gt bool
}

// exactInt is 2^53: every integer of smaller magnitude is a float64 exactly.
const exactInt = 1 << 53

// intBound returns a Gt or Lt filter as a comparison of integers: float64(x) > b is
// x > floor(b), float64(x) < b is x < ceil(b). That holds for every int64 x when
// |b| < 2^53: below 2^53 the conversion is exact, and beyond it float64(x) lies beyond b
// on the same side as x. ok is false for another operator or bound.
func intBound(p *filter.Pred) (c int64, gt, ok bool) {
	b := p.Bound()
	if math.IsNaN(b) || math.Abs(b) >= exactInt {
		return 0, false, false
	}
	switch p.Op() {
	case spec.OpGt:
		return int64(math.Floor(b)), true, true
	case spec.OpLt:
		return int64(math.Ceil(b)), false, true
	}
	return 0, false, false
}

// boundSlots sets dst[i] to slots[i] when xs[i] > c (gt) or xs[i] < c, else to
// slotDropped; dst may be slots. The selection compiles to a conditional move: no branch
// on the values.
func boundSlots(dst, slots []int32, xs []int64, gt bool, c int64) {
	dst, xs = dst[:len(slots)], xs[:len(slots)]
	if gt {
		for i, k := range slots {
			if xs[i] <= c {
				k = slotDropped
			}
			dst[i] = k
		}
		return
	}
	for i, k := range slots {
		if xs[i] >= c {
			k = slotDropped
		}
		dst[i] = k
	}
}

// filterBits returns a bitmap of the rows passing every filter: bit i%8 of byte i/8.
func (o *operandState) filterBits(cols []arrow.Array, n int) []byte {
	scr := o.src.scr
	scr.mask = slices.Grow(scr.mask[:0], (n+7)/8)[:(n+7)/8]
	bits := scr.mask
	for i := range bits {
		bits[i] = 0xFF
	}
	for _, f := range o.filters {
		col := cols[f.col]
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
					bits[i>>3] &^= 1 << (i & 7)
				}
			}
		case *array.Boolean:
			booleanBits(bits, a, f.pred)
		case *array.Int64:
			if op := f.pred.Op(); op == spec.OpGt || op == spec.OpLt {
				boundBits(bits, a.Int64Values()[:n], op == spec.OpGt, f.pred.Bound())
				nullBits(bits, a, n)
				continue
			}
			rowBits(bits, col, f, n)
		default:
			rowBits(bits, col, f, n)
		}
	}
	return bits
}

// rowBits clears the bits of the rows of col failing f, one row at a time.
func rowBits(bits []byte, col arrow.Array, f boundFilter, n int) {
	for i := 0; i < n; i++ {
		if bits[i>>3]&(1<<(i&7)) != 0 && !matchRow(col, f, i) {
			bits[i>>3] &^= 1 << (i & 7)
		}
	}
}

// boundBits clears the bits of the values not above (gt) or below bound, compared as
// MatchNumber compares them, eight rows at a time without a branch on the values.
func boundBits(bits []byte, xs []int64, gt bool, bound float64) {
	for k := range bits {
		row := xs[8*k : min(8*k+8, len(xs))]
		var b byte
		for j, x := range row {
			keep := float64(x) < bound
			if gt {
				keep = float64(x) > bound
			}
			b |= b2u(keep) << j
		}
		bits[k] &= b
	}
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// nullBits clears the bits of the null rows of a: eight rows at a time from its validity
// bitmap when that starts on a byte boundary.
func nullBits(bits []byte, a arrow.Array, n int) {
	if a.NullN() == 0 {
		return
	}
	if off := a.Data().Offset(); off&7 == 0 {
		if valid := a.NullBitmapBytes(); len(valid) > 0 {
			valid = valid[off>>3:]
			for k := range bits {
				bits[k] &= valid[k]
			}
			return
		}
	}
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			bits[i>>3] &^= 1 << (i & 7)
		}
	}
}

// booleanBits clears the bits of the rows of a that fail pred. The three cases (true,
// false, null) are decided once; then eight rows at a time are combined from the value
// and validity bytes, without a branch on random values.
func booleanBits(bits []byte, a *array.Boolean, pred *filter.Pred) {
	if a.Len() == 0 {
		return
	}
	rule := func(keep bool) byte {
		if keep {
			return 0xFF
		}
		return 0
	}
	kTrue, kFalse, kNull := rule(pred.MatchBool(true, true)), rule(pred.MatchBool(false, true)), rule(pred.MatchBool(false, false))
	bufs := a.Data().Buffers()
	off := a.Data().Offset()
	values := bufs[1].Bytes()
	var validity []byte
	if a.NullN() > 0 && bufs[0] != nil {
		validity = bufs[0].Bytes()
	}
	at := func(b []byte, j int) byte { // the eight bits from bit j on
		if b == nil {
			return 0xFF
		}
		if j&7 == 0 {
			return b[j>>3]
		}
		v := b[j>>3] >> (j & 7)
		if j>>3+1 < len(b) {
			v |= b[j>>3+1] << (8 - j&7)
		}
		return v
	}
	for k := range bits {
		v, m := at(values, off+8*k), at(validity, off+8*k)
		bits[k] &= m&v&kTrue | m&^v&kFalse | ^m&kNull
	}
}

// grow gives the accumulators a slot for every period of the operand's timeline.
func (a *accumulators) grow(o *operandState) {
	n := o.tl.slotCount()
	if a.slots >= n {
		return
	}
	a.slots = n
	grow := func(xs []int64) []int64 { return append(xs, make([]int64, n-len(xs))...) }
	growF := func(xs []float64) []float64 { return append(xs, make([]float64, n-len(xs))...) }
	if o.unitsOf == nil {
		a.units = grow(a.units)
		if o.src.weighted() {
			a.rows = grow(a.rows)
		}
	}
	if o.valueCol < 0 {
		return
	}
	a.n = grow(a.n)
	if o.integer {
		a.sumInt = grow(a.sumInt)
	} else {
		a.sum, a.sumC = growF(a.sum), growF(a.sumC)
	}
	a.sq, a.sqC, a.psq = growF(a.sq), growF(a.sqC), growF(a.psq)
	if o.distinct {
		a.sets = append(a.sets, make([]map[string]struct{}, n-len(a.sets))...)
	}
}

// flush adds the plain block sums into the compensated sums.
func (a *accumulators) flush() {
	for k, x := range a.psq {
		if x != 0 {
			add(&a.sq[k], &a.sqC[k], x)
			a.psq[k] = 0
		}
	}
	a.pending = 0
}

// state returns the accumulated state of one cube cell of a period.
func (o *operandState) state(ord int32, cell int) State {
	a := &o.acc
	k := int(o.tl.base(ord)) + cell
	units, _ := o.counts()
	st := State{Units: units[k]}
	if o.valueCol < 0 {
		return st
	}
	st.N = a.n[k]
	if o.integer {
		st.SumInt = a.sumInt[k]
	} else {
		st.Sum, st.SumC = a.sum[k], a.sumC[k]
	}
	st.Sq, st.SqC = a.sq[k], a.sqC[k]
	return st
}

// set returns the distinct values of one cube cell of a period.
func (o *operandState) set(ord int32, cell int) map[string]struct{} {
	return o.acc.sets[int(o.tl.base(ord))+cell]
}

// scan accumulates the operand over one batch: its units, then its value. It fails when an
// Integer sum could overflow.
func (o *operandState) scan(cols []arrow.Array, n int, weights []int64) error {
	a := &o.acc
	a.grow(o)
	scr := o.src.scr
	slots := scr.slots[o.tl.idx][:n]
	if len(o.filters) > 0 {
		scr.fslots = o.filterSlots(scr.fslots, slots, cols, n)
		slots = scr.fslots
	}
	switch units := a.units; {
	case o.unitsOf != nil: // counted by the operand it shares them with
	case weights == nil:
		for _, k := range slots {
			units[k]++
		}
	default:
		for i, k := range slots {
			units[k] += weights[i]
			a.rows[k]++
		}
	}
	if o.valueCol < 0 {
		return nil
	}
	if o.cross {
		o.scanCross(cols, slots, weights)
		return nil
	}
	vcol := cols[o.valueCol]
	if vcol.NullN() > 0 {
		scr.vslots = keepSlots(scr.vslots, slots, vcol.NullBitmapBytes(), vcol.Data().Offset())
		slots = scr.vslots
	}
	switch v := vcol.(type) {
	case *array.Int64:
		xs := v.Int64Values()[:n]
		a.mag.add(magnitudeOf(xs, slots, weights, o.perUnit))
		if !a.mag.fits() {
			return o.overflowError()
		}
		accumulate(xs, slots, weights, o.perUnit, a.n, a.sumInt, a.psq)
	case *array.Float64:
		xs := v.Float64Values()[:n]
		accumulate(xs, slots, weights, o.perUnit, a.n, nil, a.psq)
		addCompensated(xs, slots, weights, o.perUnit, a.sum, a.sumC)
	default:
		if weights == nil {
			for _, k := range slots {
				a.n[k]++
			}
		} else {
			for i, k := range slots {
				a.n[k] += weights[i]
			}
		}
	}
	a.pending += n
	if a.pending >= a.slots {
		a.flush()
	}
	if o.distinct {
		for i, k := range slots {
			if k < slotCells {
				continue
			}
			set := a.sets[k]
			if set == nil {
				set = map[string]struct{}{}
				a.sets[k] = set
			}
			s := valueString(vcol, i)
			if _, ok := set[s]; !ok {
				set[strings.Clone(s)] = struct{}{}
			}
		}
	}
	return nil
}

// scanCross adds, by slot, the product of the value and pair columns of every row (0 when
// either is null), per unit: with a frequency w, a row of PerUnit values stands for w units
// of x·y, a row of RowTotals for w units of (x/w)·(y/w), a mixed row for x·y in all.
func (o *operandState) scanCross(cols []arrow.Array, slots []int32, weights []int64) {
	scr := o.src.scr
	n := len(slots)
	scr.prod = slices.Grow(scr.prod[:0], n)[:n]
	prod := scr.prod
	xs, ys := cols[o.valueCol], cols[o.pairCol]
	for i := range prod {
		prod[i] = 0
		if xs.IsValid(i) && ys.IsValid(i) {
			prod[i] = floatAt(xs, i) * floatAt(ys, i)
		}
	}
	if weights != nil {
		switch {
		case o.perUnit && o.pairPerUnit:
			for i, w := range weights[:n] {
				prod[i] *= float64(w)
			}
		case !o.perUnit && !o.pairPerUnit:
			for i, w := range weights[:n] {
				if w > 0 {
					prod[i] /= float64(w)
				} else {
					prod[i] = 0
				}
			}
		}
	}
	addCompensated(prod, slots, nil, false, o.acc.sum, o.acc.sumC)
}

// floatAt is row i of an Integer or Number column.
func floatAt(a arrow.Array, i int) float64 {
	switch a := a.(type) {
	case *array.Int64:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	}
	return 0
}

// keepSlots returns, in dst, slots with every row whose bit (off+i of bits) is clear sent
// to slotDropped; no bitmap keeps every row. dst may be slots. Eight rows at a time: a full
// byte is copied, an empty one dropped, only mixed ones are looked at row by row.
func keepSlots(dst, slots []int32, bits []byte, off int) []int32 {
	n := len(slots)
	dst = slices.Grow(dst[:0], n)[:n]
	if len(bits) == 0 {
		copy(dst, slots)
		return dst
	}
	i := 0
	for ; i < n && (off+i)&7 != 0; i++ { // up to a byte boundary
		dst[i] = keepSlot(slots[i], bits, off+i)
	}
	for ; i+8 <= n; i += 8 {
		switch b := bits[(off+i)>>3]; b {
		case 0xFF:
			copy(dst[i:i+8], slots[i:i+8])
		case 0:
			for k := i; k < i+8; k++ {
				dst[k] = slotDropped
			}
		default:
			for k := 0; k < 8; k++ {
				// valid is 1 or 0: the slot or slotDropped without a branch.
				valid := int32(b>>k) & 1
				dst[i+k] = slots[i+k]*valid + slotDropped*(1-valid)
			}
		}
	}
	for ; i < n; i++ {
		dst[i] = keepSlot(slots[i], bits, off+i)
	}
	return dst
}

func keepSlot(slot int32, bits []byte, j int) int32 {
	if bits[j>>3]&(1<<(j&7)) != 0 {
		return slot
	}
	return slotDropped
}

// accumulate adds a value column into n, sum and the plain sum of squares, by slot: an
// Integer column into exact int64 sums (one instantiation each, so the loops stay typed).
// Number columns pass a nil sum: their sums are compensated by addCompensated.
func accumulate[T int64 | float64](xs []T, slots []int32, weights []int64, perUnit bool, cnt []int64, sum []T, sq []float64) {
	switch {
	case weights == nil:
		for i, k := range slots {
			x := xs[i]
			cnt[k]++
			if sum != nil {
				sum[k] += x
			}
			sq[k] += float64(x) * float64(x)
		}
	case perUnit:
		for i, k := range slots {
			x, w := xs[i], weights[i]
			cnt[k] += w
			if sum != nil {
				sum[k] += x * T(w)
			}
			sq[k] += float64(x) * float64(x) * float64(w)
		}
	default:
		// A row total: each of the row's w people holds x/w on average.
		for i, k := range slots {
			x, w := xs[i], weights[i]
			cnt[k] += w
			if sum != nil {
				sum[k] += x
			}
			if w > 0 {
				sq[k] += float64(x) * float64(x) / float64(w)
			}
		}
	}
}

// magnitudeOf returns Σ|x|·w (w: the row's frequency for PerUnit values, else 1) over the
// rows whose slot is a cell, as a 128-bit (hi, lo). One pass of additions with carry: the
// check that makes the exact sums safe costs little beside the scattered accumulation.
func magnitudeOf(xs []int64, slots []int32, weights []int64, perUnit bool) (hi, lo uint64) {
	var c uint64
	if weights == nil || !perUnit {
		for i, k := range slots {
			if k < slotCells {
				continue
			}
			x := xs[i]
			m := uint64(x >> 63) // all ones for a negative x
			lo, c = bits.Add64(lo, (uint64(x)^m)-m, 0)
			hi += c
		}
		return hi, lo
	}
	for i, k := range slots {
		if k < slotCells {
			continue
		}
		x := xs[i]
		m := uint64(x >> 63)
		ph, pl := bits.Mul64((uint64(x)^m)-m, uint64(weights[i])) // frequencies are never negative
		lo, c = bits.Add64(lo, pl, 0)
		hi += ph + c
	}
	return hi, lo
}

// addCompensated adds a Number column into the compensated sums (sum, sumC) by slot, row
// by row: the error of every addition (Knuth's TwoSum, without branches) is kept, so a
// sum of values written with a few decimals comes out as written.
func addCompensated(xs []float64, slots []int32, weights []int64, perUnit bool, sum, sumC []float64) {
	for i, k := range slots {
		x := xs[i]
		if weights != nil && perUnit {
			x *= float64(weights[i])
		}
		s := sum[k]
		t := s + x
		z := t - s
		sumC[k] += (s - (t - z)) + (x - z)
		sum[k] = t
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

// weighted says the source has a frequency column.
func (s *source) weighted() bool {
	for _, c := range s.man.Columns {
		if c.Frequency {
			return true
		}
	}
	return false
}
