package aggregate

import (
	"fmt"
	"math"
	"slices"
	"strconv"

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

	ops []*operandState
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

	timeCol  int
	timeYear bool // an Integer year column
	valueCol int  // -1 for Count
	integer  bool // value column is Integer
	perUnit  bool // value column is PerUnit (weighted by the frequency)
	distinct bool
	filters  []boundFilter

	// Periods found, by first day, and their ordinals.
	starts  []int32
	ordinal map[int32]int32
	// states[ordinal][cube cell]
	states [][]State
	// sets[ordinal][cube cell]: distinct values (DistinctCount).
	sets [][]map[string]struct{}
	// noPeriod counts units whose time value is null: they belong to no period.
	noPeriod int64
}

type boundFilter struct {
	col     int
	typ     string
	unknown uint16
	pred    *filter.Pred
}

func (o *operandState) slot(start int32) int32 {
	if ord, ok := o.ordinal[start]; ok {
		return ord
	}
	ord := int32(len(o.starts))
	o.starts = append(o.starts, start)
	o.ordinal[start] = ord
	o.states = append(o.states, make([]State, o.src.size))
	if o.distinct {
		o.sets = append(o.sets, make([]map[string]struct{}, o.src.size))
	}
	return ord
}

// bind resolves an operand's columns against its source's snapshot.
func (o *operandState) bind(dims map[string]spec.Dimension) error {
	s := o.src
	tc, ti, err := s.column(o.op.TimeColumn)
	if err != nil {
		return err
	}
	o.timeCol = ti
	switch tc.Type {
	case spec.TypeDate, spec.TypeTimestamp:
	case spec.TypeInteger:
		o.timeYear = true
	default:
		return fmt.Errorf("time column %q of source %q has type %s", tc.Name, s.name, tc.Type)
	}
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
	for _, o := range s.ops {
		if err := o.scan(rec, cell[:n], freq); err != nil {
			return err
		}
	}
	return nil
}

func (o *operandState) scan(rec arrow.RecordBatch, cell []int32, freq *array.Int64) error {
	n := len(cell)
	var weights []int64
	if freq != nil {
		weights = freq.Int64Values()
	}
	weight := func(i int) int64 {
		if weights != nil {
			return weights[i]
		}
		return 1
	}
	keep := func(i int) bool {
		for _, f := range o.filters {
			if !matchRow(rec.Column(f.col), f, i) {
				return false
			}
		}
		return true
	}
	// Period of each row.
	var days []arrow.Date32
	var years *array.Int64
	tcol := rec.Column(o.timeCol)
	if o.timeYear {
		years = tcol.(*array.Int64)
	} else {
		days = tcol.(*array.Date32).Date32Values()
	}
	var ints *array.Int64
	var nums *array.Float64
	var strs arrow.Array
	if o.valueCol >= 0 {
		switch a := rec.Column(o.valueCol).(type) {
		case *array.Int64:
			ints = a
		case *array.Float64:
			nums = a
		default:
			strs = a
		}
	}
	lastStart, lastOrd := int32(math.MinInt32), int32(-1)
	for i := 0; i < n; i++ {
		if len(o.filters) > 0 && !keep(i) {
			continue
		}
		if tcol.IsNull(i) {
			o.noPeriod += weight(i)
			continue
		}
		var day int32
		if o.timeYear {
			y := years.Value(i)
			if y < -9999 || y > 9999 {
				return fmt.Errorf("time column %q: %d is not a year", o.op.TimeColumn, y)
			}
			fs := 1
			if o.grain.Name == period.Year || o.grain.Name == period.Quarter {
				fs = o.grain.FiscalStart
			}
			day = period.DaysFromCivil(int(y), fs, 1)
		} else {
			day = int32(days[i])
		}
		start := o.grain.Start(day)
		if start != lastStart {
			lastStart, lastOrd = start, o.slot(start)
		}
		st := &o.states[lastOrd][cell[i]]
		w := weight(i)
		st.Units += w
		if o.valueCol < 0 {
			continue
		}
		switch {
		case ints != nil:
			if ints.IsNull(i) {
				continue
			}
			x := ints.Value(i)
			st.N += w
			if o.perUnit {
				st.SumInt += x * w
				add(&st.Sq, &st.SqC, float64(x)*float64(x)*float64(w))
			} else {
				// A row total: each of the row's w people holds x/w on average.
				st.SumInt += x
				if w > 0 {
					add(&st.Sq, &st.SqC, float64(x)*float64(x)/float64(w))
				}
			}
		case nums != nil:
			if nums.IsNull(i) {
				continue
			}
			x := nums.Value(i)
			st.N += w
			if o.perUnit {
				add(&st.Sum, &st.SumC, x*float64(w))
				add(&st.Sq, &st.SqC, x*x*float64(w))
			} else {
				add(&st.Sum, &st.SumC, x)
				if w > 0 {
					add(&st.Sq, &st.SqC, x*x/float64(w))
				}
			}
		default:
			if strs.IsNull(i) {
				continue
			}
			st.N += w
			if o.distinct {
				set := o.sets[lastOrd][cell[i]]
				if set == nil {
					set = map[string]struct{}{}
					o.sets[lastOrd][cell[i]] = set
				}
				v := valueString(strs, i)
				if _, ok := set[v]; !ok {
					set[v] = struct{}{}
				}
			}
		}
	}
	if o.distinct && strs == nil && o.valueCol >= 0 {
		// Distinct numbers: a second pass keeps the loop above free of string work.
		for i := 0; i < n; i++ {
			if (len(o.filters) > 0 && !keep(i)) || tcol.IsNull(i) || rec.Column(o.valueCol).IsNull(i) {
				continue
			}
			var day int32
			if o.timeYear {
				fs := 1
				if o.grain.Name == period.Year || o.grain.Name == period.Quarter {
					fs = o.grain.FiscalStart
				}
				day = period.DaysFromCivil(int(years.Value(i)), fs, 1)
			} else {
				day = int32(days[i])
			}
			ord := o.ordinal[o.grain.Start(day)]
			set := o.sets[ord][cell[i]]
			if set == nil {
				set = map[string]struct{}{}
				o.sets[ord][cell[i]] = set
			}
			set[valueString(rec.Column(o.valueCol), i)] = struct{}{}
		}
	}
	return nil
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

func matchRow(a arrow.Array, f boundFilter, i int) bool {
	valid := !a.IsNull(i)
	switch a := a.(type) {
	case *array.Uint16:
		return f.pred.MatchCode(a.Value(i), f.unknown)
	case *array.Int64:
		return f.pred.MatchNumber(float64(a.Value(i)), valid)
	case *array.Float64:
		return f.pred.MatchNumber(a.Value(i), valid)
	case *array.Boolean:
		return f.pred.MatchBool(valid && a.Value(i), valid)
	case *array.String:
		return f.pred.MatchString(a.Value(i), valid)
	case *array.Date32:
		return f.pred.MatchNumber(float64(a.Value(i)), valid)
	}
	return false
}

// scanFile reads the engine layout of a snapshot (memory-mapped) and accumulates every operand.
func (s *source) scanFile(data []byte) error {
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
	}
	return nil
}
