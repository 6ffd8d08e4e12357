package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// This file holds a deliberately naive reference implementation of the measures of
// STATISTICS.md, computed row by row with maps and exact rationals, sharing no code with
// the engine, and worked edge cases checked against hand-computed values.

// refCell is one cell as the reference computes it.
type refCell struct {
	Key       string
	Indicator string
	Measure   string
	Period    civil
	Groups    map[string]string
	// Value is nil when the cell has no value (no units with a value, no denominator).
	Value       *big.Rat
	Numerator   *big.Rat
	Denominator *big.Rat
	N           int64
	// Primary: the contract's primary rule says the cell must be withheld.
	Primary   bool
	Singleton bool
	Partial   bool
	// Exact: every operand is an integer, so the engine's float64 must be the correctly
	// rounded value; otherwise values are compared with a relative tolerance.
	Exact bool
	// Scale bounds the magnitude of the terms summed, for the tolerance of float sums.
	Scale float64
}

// refAcc accumulates one operand in one cell.
type refAcc struct {
	units    *big.Rat // Σ frequency (or rows)
	n        *big.Rat // units with a non-null value
	sum      *big.Rat // Σ value (RowTotal as is, PerUnit × frequency)
	scale    float64
	distinct map[string]bool
}

func newAcc() *refAcc {
	return &refAcc{units: new(big.Rat), n: new(big.Rat), sum: new(big.Rat), distinct: map[string]bool{}}
}

// refOperand is one operand evaluated over its table at one grain: the accumulators by
// period and cell, and the periods in which at least one row falls.
type refOperand struct {
	accs     map[civil]map[string]*refAcc
	periods  map[civil]bool
	noPeriod int64
	integer  bool // the operand's value is integral (a count, or an Integer column)
}

func (o *refOperand) get(start civil, key string) *refAcc {
	if m := o.accs[start]; m != nil {
		if a := m[key]; a != nil {
			return a
		}
	}
	return newAcc()
}

// refPeriodStart is the first day of the period containing d, written from the calendar
// rules independently of the engine: ISO weeks from time.ISOWeek, fiscal quarters and
// years from the fiscal start month.
func refPeriodStart(d civil, grain string, fiscalStart int) civil {
	if fiscalStart < 1 {
		fiscalStart = 1
	}
	t := d.noon()
	switch grain {
	case spec.GrainDay:
		return d
	case spec.GrainWeek:
		y, w := t.ISOWeek()
		// ISO week 1 is the week holding January 4th.
		jan4 := time.Date(y, 1, 4, 12, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		return civilOf(monday.AddDate(0, 0, 7*(w-1)))
	case spec.GrainMonth:
		return civil{d.Y, d.M, 1}
	case spec.GrainQuarter, spec.GrainYear:
		fyStartYear := d.Y
		if int(d.M) < fiscalStart {
			fyStartYear--
		}
		if grain == spec.GrainYear {
			return civil{fyStartYear, time.Month(fiscalStart), 1}
		}
		monthsIn := (int(d.M) - fiscalStart + 12) % 12
		q := monthsIn / 3
		return civilOf(time.Date(fyStartYear, time.Month(fiscalStart+3*q), 1, 12, 0, 0, 0, time.UTC))
	}
	panic("unknown grain " + grain)
}

// refNext is the first day of the period after the one starting at start.
func refNext(start civil, grain string) civil {
	switch grain {
	case spec.GrainDay:
		return start.addDays(1)
	case spec.GrainWeek:
		return start.addDays(7)
	case spec.GrainMonth:
		return start.addMonths(1)
	case spec.GrainQuarter:
		return start.addMonths(3)
	case spec.GrainYear:
		return start.addMonths(12)
	}
	panic("unknown grain " + grain)
}

// refLocalDate is the Initiative-local calendar date of a time value.
func refLocalDate(v any, loc *time.Location) (civil, bool) {
	switch x := v.(type) {
	case nil:
		return civil{}, false
	case civil:
		return x, true // a date is never shifted
	case time.Time:
		return civilOf(x.In(loc)), true
	case int64: // an Integer year column: the year's first day
		return civil{int(x), 1, 1}, true
	}
	panic(fmt.Sprintf("time value %T", v))
}

type reference struct {
	plan   *spec.Aggregate
	tables map[string]*table
	loc    *time.Location
	asOf   civil
	dims   map[string]spec.Dimension
}

func newReference(p *spec.Aggregate, loc *time.Location, asOf civil, tables ...*table) *reference {
	r := &reference{plan: p, tables: map[string]*table{}, loc: loc, asOf: asOf, dims: map[string]spec.Dimension{}}
	for _, tb := range tables {
		r.tables[tb.Source] = tb
	}
	for _, d := range p.Dimensions {
		r.dims[d.Name] = d
	}
	return r
}

// group is the group a row is in for dimension d: its value, or the unknown group.
func (r *reference) group(tb *table, row map[string]any, d string) string {
	for _, c := range tb.Cols {
		if c.Dimension == d {
			if v, ok := row[c.Name].(string); ok {
				return v
			}
			return r.dims[d].Unknown
		}
	}
	panic("table " + tb.Source + " has no column for dimension " + d)
}

func containsFold(values []string, s string) bool {
	for _, v := range values {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return true
		}
	}
	return false
}

// match is a filter's meaning, as the API documents it: In keeps non-null values in the
// set, NotIn keeps nulls and values outside it, Exists and DoesNotExist test for a value
// (the unknown group counts as no value), Gt and Lt compare non-null numbers.
func (r *reference) match(tb *table, row map[string]any, f spec.Filter) bool {
	c := tb.col(f.Column)
	v := row[f.Column]
	if c.Dimension != "" {
		g := r.group(tb, row, c.Dimension)
		known := g != r.dims[c.Dimension].Unknown
		switch f.Operator {
		case spec.OpExists:
			return known
		case spec.OpDoesNotExist:
			return !known
		case spec.OpIn:
			return containsFold(f.Values, g)
		case spec.OpNotIn:
			return !containsFold(f.Values, g)
		}
		panic("operator " + f.Operator)
	}
	in := func() bool {
		for _, s := range f.Values {
			switch x := v.(type) {
			case int64:
				if b, err := strconv.ParseFloat(s, 64); err == nil && float64(x) == b {
					return true
				}
			case float64:
				if b, err := strconv.ParseFloat(s, 64); err == nil && x == b {
					return true
				}
			case bool:
				if strings.EqualFold(s, strconv.FormatBool(x)) {
					return true
				}
			case string:
				if s == x {
					return true
				}
			}
		}
		return false
	}
	num := func() float64 {
		switch x := v.(type) {
		case int64:
			return float64(x)
		case float64:
			return x
		}
		panic(fmt.Sprintf("%s compares numbers, not %T", f.Operator, v))
	}
	switch f.Operator {
	case spec.OpExists:
		return v != nil
	case spec.OpDoesNotExist:
		return v == nil
	case spec.OpIn:
		return v != nil && in()
	case spec.OpNotIn:
		return v == nil || !in()
	case spec.OpGt, spec.OpLt:
		if v == nil {
			return false
		}
		b, _ := strconv.ParseFloat(f.Values[0], 64)
		if f.Operator == spec.OpGt {
			return num() > b
		}
		return num() < b
	}
	panic("operator " + f.Operator)
}

// sets lists an indicator's breakdowns: the total, each dimension, each intersection.
func refSets(ind *spec.Indicator) [][]string {
	sets := [][]string{nil}
	for _, d := range ind.Dimensions {
		sets = append(sets, []string{d})
	}
	return append(sets, ind.Intersections...)
}

// evaluate runs one operand over its table, row by row.
func (r *reference) evaluate(op spec.Operand, ind *spec.Indicator) *refOperand {
	tb := r.tables[op.Source]
	if tb == nil {
		panic("no table " + op.Source)
	}
	out := &refOperand{accs: map[civil]map[string]*refAcc{}, periods: map[civil]bool{}, integer: true}
	var vc colDef
	if op.Column != "" {
		vc = tb.col(op.Column)
		out.integer = vc.Type == spec.TypeInteger || op.Aggregate == spec.Count
	}
	perUnit := vc.ValueKind != spec.RowTotal
	sets := refSets(ind)
	for _, row := range tb.Rows {
		keep := true
		for _, f := range op.Filters {
			if !r.match(tb, row, f) {
				keep = false
				break
			}
		}
		if !keep {
			continue
		}
		w := int64(1)
		if tb.Frequency != "" {
			w = row[tb.Frequency].(int64)
		}
		day, ok := refLocalDate(row[op.TimeColumn], r.loc)
		if !ok {
			out.noPeriod += w
			continue
		}
		start := refPeriodStart(day, ind.Grain, ind.FiscalYearStartMonth)
		out.periods[start] = true
		if out.accs[start] == nil {
			out.accs[start] = map[string]*refAcc{}
		}
		for _, set := range sets {
			groups := map[string]string{}
			for _, d := range set {
				groups[d] = r.group(tb, row, d)
			}
			key := dimsKey(groups)
			a := out.accs[start][key]
			if a == nil {
				a = newAcc()
				out.accs[start][key] = a
			}
			a.units.Add(a.units, new(big.Rat).SetInt64(w))
			if op.Column == "" {
				continue
			}
			v := row[op.Column]
			if v == nil {
				continue
			}
			a.n.Add(a.n, new(big.Rat).SetInt64(w))
			var x *big.Rat
			switch val := v.(type) {
			case int64:
				x = new(big.Rat).SetInt64(val)
				a.distinct[strconv.FormatInt(val, 10)] = true
			case float64:
				x = new(big.Rat).SetFloat64(val)
				a.distinct[strconv.FormatFloat(val, 'g', -1, 64)] = true
			case string:
				a.distinct[val] = true
			case bool:
				a.distinct[strconv.FormatBool(val)] = true
			case civil:
				a.distinct[val.String()] = true
			}
			if x != nil {
				if perUnit {
					x.Mul(x, new(big.Rat).SetInt64(w))
				}
				a.sum.Add(a.sum, x)
				f, _ := x.Float64()
				a.scale += math.Abs(f)
			}
		}
	}
	return out
}

// value is what an operand contributes to a ratio: its units, or its column's sum.
func opValue(op spec.Operand, a *refAcc) *big.Rat {
	if op.Aggregate == spec.Sum {
		return new(big.Rat).Set(a.sum)
	}
	return new(big.Rat).Set(a.units)
}

func ratInt(r *big.Rat) int64 {
	if !r.IsInt() {
		panic("not an integer: " + r.String())
	}
	return r.Num().Int64()
}

// groupCombos lists every combination of groups (the unknown group included) of the dims.
func (r *reference) groupCombos(set []string) []map[string]string {
	combos := []map[string]string{{}}
	for _, d := range set {
		var next []map[string]string
		for _, c := range combos {
			for _, g := range r.dims[d].Groups() {
				m := map[string]string{}
				for k, v := range c {
					m[k] = v
				}
				m[d] = g
				next = append(next, m)
			}
		}
		combos = next
	}
	return combos
}

// periodsWithRows lists, in order, the periods of the indicator's grain holding a row of
// the table's time column.
func (r *reference) periodsWithRows(source, col string, ind *spec.Indicator) []civil {
	seen := map[civil]bool{}
	var out []civil
	for _, row := range r.tables[source].Rows {
		d, ok := refLocalDate(row[col], r.loc)
		if !ok {
			continue
		}
		if s := refPeriodStart(d, ind.Grain, ind.FiscalYearStartMonth); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].before(out[j]) })
	return out
}

// cells computes every cell of every indicator, and per indicator the units left out for
// a null time value.
func (r *reference) cells() (map[string]*refCell, map[string]int64) {
	out := map[string]*refCell{}
	noPeriod := map[string]int64{}
	// The periods of an indicator's grain in which the source has at least one row with a
	// time value (filters aside: they choose the units, not the calendar). A period without
	// any row is no data: it is not published at all.
	for i := range r.plan.Indicators {
		ind := &r.plan.Indicators[i]
		k := int64(ind.MinCellSize)
		num := r.evaluate(ind.Numerator, ind)
		noPeriod[ind.Name] = num.noPeriod
		var den *refOperand
		if ind.Denominator != nil {
			den = r.evaluate(*ind.Denominator, ind)
		}
		baseOp := ind.Numerator
		if ind.Measure == spec.Proportion {
			baseOp = *ind.Denominator
		}
		starts := r.periodsWithRows(baseOp.Source, baseOp.TimeColumn, ind)
		for _, start := range starts {
			// The denominator's period: the same one, or with LatestAvailable the latest at
			// or before the numerator's.
			var denStart civil
			haveDen := false
			if den != nil {
				if ind.Denominator.Alignment == spec.AlignLatestAvailable {
					for s := range den.periods {
						if !start.before(s) && (!haveDen || denStart.before(s)) {
							denStart, haveDen = s, true
						}
					}
				} else {
					denStart, haveDen = start, den.periods[start]
				}
			}
			for _, set := range refSets(ind) {
				for _, groups := range r.groupCombos(set) {
					key := dimsKey(groups)
					a := num.get(start, key)
					c := &refCell{
						Key: cellKey(ind.Name, start.String(), groups), Indicator: ind.Name, Measure: ind.Measure,
						Period: start, Groups: groups, Exact: num.integer,
						Partial: r.asOf.before(refNext(start, ind.Grain)),
					}
					switch ind.Measure {
					case spec.Count:
						c.N = ratInt(a.units)
						c.Value, c.Numerator = new(big.Rat).Set(a.units), new(big.Rat).Set(a.units)
					case spec.Sum:
						c.N = ratInt(a.n)
						c.Value, c.Numerator = new(big.Rat).Set(a.sum), new(big.Rat).Set(a.sum)
						c.Scale = a.scale
					case spec.Mean:
						c.N = ratInt(a.n)
						if c.N > 0 {
							c.Value = new(big.Rat).Quo(a.sum, a.n)
							c.Numerator, c.Denominator = new(big.Rat).Set(a.sum), new(big.Rat).Set(a.n)
							c.Scale = a.scale / float64(c.N)
						}
					case spec.DistinctCount:
						c.N = int64(len(a.distinct))
						c.Value = new(big.Rat).SetInt64(c.N)
						c.Numerator = new(big.Rat).SetInt64(c.N)
					case spec.Proportion:
						x := opValue(ind.Numerator, a)
						d := opValue(*ind.Denominator, den.get(start, key))
						c.Exact = num.integer && den.integer
						c.N = ratInt(d)
						if d.Sign() > 0 {
							c.Value = new(big.Rat).Quo(x, d)
							c.Numerator, c.Denominator = x, d
						}
						if c.N > 0 {
							xi := ratInt(x)
							c.Primary = c.N < k || xi < k || c.N-xi < k
							c.Singleton = c.N == 1 || xi == 1 || c.N-xi == 1
						}
					case spec.Ratio, spec.Rate:
						x := opValue(ind.Numerator, a)
						c.N = ratInt(a.units)
						if ind.Numerator.Aggregate == spec.Sum {
							c.N = ratInt(a.n)
							c.Scale = a.scale
						}
						c.Exact = num.integer && den.integer && ind.Measure == spec.Ratio
						if haveDen {
							d := opValue(*ind.Denominator, den.get(denStart, key))
							if d.Sign() > 0 {
								c.Numerator, c.Denominator = x, d
								c.Value = new(big.Rat).Quo(x, d)
								if ind.Measure == spec.Rate {
									per := new(big.Rat).SetFloat64(ind.Per)
									c.Value.Mul(c.Value, per)
								}
								df, _ := d.Float64()
								c.Scale /= df
							}
						}
					default:
						panic("measure " + ind.Measure)
					}
					if ind.Measure != spec.Proportion && c.N > 0 {
						c.Primary = c.N < k
						c.Singleton = c.N == 1
					}
					if _, dup := out[c.Key]; dup {
						panic("duplicate reference cell " + c.Key)
					}
					out[c.Key] = c
				}
			}
		}
	}
	return out, noPeriod
}

// closeTo compares an engine value with the reference's exact one: equal to the
// correctly rounded value when exact, else within 1e-9 relative (of the value, or of
// the terms summed when they cancel).
func closeTo(got float64, want *big.Rat, exact bool, scale float64) bool {
	w, _ := want.Float64()
	if exact {
		return got == w
	}
	tol := 1e-9 * math.Max(math.Abs(w), scale)
	return math.Abs(got-w) <= tol || got == w
}

// report collects mismatches, keeping the output short.
type report struct {
	t      testing.TB
	errors int
	limit  int
	label  string
}

func (r *report) errorf(format string, args ...any) {
	r.t.Helper()
	r.errors++
	if r.errors <= r.limit {
		r.t.Errorf(r.label+format, args...)
	} else if r.errors == r.limit+1 {
		r.t.Errorf("%s… more mismatches left out", r.label)
	}
}

// compareWithReference checks every cell Run returned against the reference: the same
// cells (none lost, none extra); every published cell's value, numerator, denominator and
// n; no published cell the primary rule withholds; nothing published for a suppressed
// cell. It returns the numbers of published and suppressed cells.
func compareWithReference(t testing.TB, label string, res *aggregate.Result, ref map[string]*refCell) (published, suppressed int) {
	t.Helper()
	rep := &report{t: t, limit: 25, label: label}
	got := cellsByKey(t, res)
	var missing []string
	for k := range ref {
		if got[k] == nil {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		rep.errorf("cell %s (n=%d) is missing from the result", k, ref[k].N)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := got[k]
		rc := ref[k]
		if rc == nil {
			rep.errorf("cell %s (n=%s) is not a cell of the reference", k, fmtPtr(c.N))
			continue
		}
		if c.Partial != rc.Partial {
			rep.errorf("cell %s: partial %v, want %v", k, c.Partial, rc.Partial)
		}
		if c.Suppressed {
			suppressed++
			if c.Value != nil || c.Numerator != nil || c.Denominator != nil || c.N != nil || c.CILower != nil || c.CIUpper != nil || c.Flags != nil {
				rep.errorf("suppressed cell %s publishes value %s, numerator %s, denominator %s, n %s, interval [%s, %s]",
					k, fmtPtr(c.Value), fmtPtr(c.Numerator), fmtPtr(c.Denominator), fmtPtr(c.N), fmtPtr(c.CILower), fmtPtr(c.CIUpper))
			}
			continue
		}
		published++
		if rc.Primary {
			rep.errorf("cell %s (%s) is published with n=%d, numerator %s, denominator %s: the primary rule (k=%d) withholds it",
				k, rc.Measure, rc.N, ratStr(rc.Numerator), ratStr(rc.Denominator), kOf(res, rc.Indicator))
		}
		if c.N == nil || *c.N != rc.N {
			rep.errorf("cell %s (%s): n %s, want %d", k, rc.Measure, fmtPtr(c.N), rc.N)
		}
		if rc.Value == nil {
			if c.Value != nil || c.Numerator != nil || c.Denominator != nil {
				rep.errorf("cell %s (%s): value %s, numerator %s, denominator %s; want no value", k, rc.Measure, fmtPtr(c.Value), fmtPtr(c.Numerator), fmtPtr(c.Denominator))
			}
			if c.Note == "" {
				rep.errorf("cell %s (%s) has no value and no note saying why", k, rc.Measure)
			}
			continue
		}
		if c.Value == nil || !closeTo(*c.Value, rc.Value, rc.Exact, rc.Scale) {
			rep.errorf("cell %s (%s): value %s, want %s (%s)", k, rc.Measure, fmtPtr(c.Value), ratFloat(rc.Value), rc.Value.RatString())
		}
		if c.Numerator == nil || !closeTo(*c.Numerator, rc.Numerator, rc.Exact, rc.Scale*ratFloatV(rc.Denominator, 1)) {
			rep.errorf("cell %s (%s): numerator %s, want %s", k, rc.Measure, fmtPtr(c.Numerator), ratFloat(rc.Numerator))
		}
		switch {
		case rc.Denominator == nil && c.Denominator != nil:
			rep.errorf("cell %s (%s): denominator %s, want none", k, rc.Measure, fmtPtr(c.Denominator))
		case rc.Denominator != nil && (c.Denominator == nil || !closeTo(*c.Denominator, rc.Denominator, true, 0)):
			rep.errorf("cell %s (%s): denominator %s, want %s", k, rc.Measure, fmtPtr(c.Denominator), ratFloat(rc.Denominator))
		}
		checkFlags(rep, k, c, rc)
		if c.CILower != nil && c.CIUpper != nil && c.Value != nil {
			lo, hi, v := *c.CILower, *c.CIUpper, *c.Value
			slack := 1e-9 * math.Max(1, math.Abs(v))
			if lo > v+slack || hi < v-slack || lo > hi {
				rep.errorf("cell %s (%s): interval [%g, %g] does not hold the value %g", k, rc.Measure, lo, hi, v)
			}
		}
	}
	return published, suppressed
}

// checkFlags checks a published value's reliability flags: reliable exactly when it has
// none, and the flags on n as the reference counts it (20 events for counts and rates, 30
// units for the others).
func checkFlags(rep *report, k string, c *aggregate.Cell, rc *refCell) {
	if c.Flags == nil {
		rep.errorf("cell %s (%s) publishes a value without its reliability flags", k, rc.Measure)
		return
	}
	if c.Reliable != (len(c.Flags) == 0) {
		rep.errorf("cell %s (%s): reliable %v with flags %q", k, rc.Measure, c.Reliable, c.Flags)
	}
	flag, min := "n<30", int64(30)
	switch rc.Measure {
	case spec.Count, spec.Rate, spec.DistinctCount:
		flag, min = "events<20", 20
	}
	events := rc.N
	if rc.Measure == spec.Rate {
		events = ratInt(rc.Numerator)
	}
	if has := slices.Contains(c.Flags, flag); has != (events < min) {
		rep.errorf("cell %s (%s) of n %d: flags %q, want %q exactly when below %d", k, rc.Measure, events, c.Flags, flag, min)
	}
}

func kOf(res *aggregate.Result, ind string) int {
	for _, ir := range res.Indicators {
		if ir.Name == ind {
			return ir.MinCellSize
		}
	}
	return 0
}

func ratStr(r *big.Rat) string {
	if r == nil {
		return "none"
	}
	return r.RatString()
}

func ratFloat(r *big.Rat) string {
	if r == nil {
		return "none"
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func ratFloatV(r *big.Rat, def float64) float64 {
	if r == nil {
		return def
	}
	f, _ := r.Float64()
	return f
}

// ---------------------------------------------------------------------------------------
// The reference's own calendar, checked against hand-written values.

func TestReferencePeriods(t *testing.T) {
	for _, tc := range []struct {
		day, grain string
		fiscal     int
		want, next string
	}{
		{"2021-01-01", spec.GrainWeek, 1, "2020-12-28", "2021-01-04"},
		{"2020-12-31", spec.GrainWeek, 1, "2020-12-28", "2021-01-04"},
		{"2021-01-04", spec.GrainWeek, 1, "2021-01-04", "2021-01-11"},
		{"2021-01-03", spec.GrainWeek, 1, "2020-12-28", "2021-01-04"},
		{"2026-12-31", spec.GrainWeek, 1, "2026-12-28", "2027-01-04"},
		{"2024-02-29", spec.GrainMonth, 1, "2024-02-01", "2024-03-01"},
		{"2021-07-31", spec.GrainYear, 8, "2020-08-01", "2021-08-01"},
		{"2021-08-01", spec.GrainYear, 8, "2021-08-01", "2022-08-01"},
		{"2021-10-31", spec.GrainQuarter, 8, "2021-08-01", "2021-11-01"},
		{"2022-01-31", spec.GrainQuarter, 8, "2021-11-01", "2022-02-01"},
		{"2022-07-15", spec.GrainQuarter, 8, "2022-05-01", "2022-08-01"},
		{"2021-06-30", spec.GrainYear, 7, "2020-07-01", "2021-07-01"},
		{"2021-12-31", spec.GrainQuarter, 1, "2021-10-01", "2022-01-01"},
		{"2021-03-05", spec.GrainDay, 1, "2021-03-05", "2021-03-06"},
	} {
		got := refPeriodStart(mustCivil(tc.day), tc.grain, tc.fiscal)
		if got.String() != tc.want {
			t.Errorf("%s %s (fiscal %d): start %s, want %s", tc.day, tc.grain, tc.fiscal, got, tc.want)
		}
		if n := refNext(got, tc.grain); n.String() != tc.next {
			t.Errorf("%s %s (fiscal %d): next %s, want %s", tc.day, tc.grain, tc.fiscal, n, tc.next)
		}
	}
}

// ---------------------------------------------------------------------------------------
// Worked edge cases.

var sexDim = dim("sex", "Unknown", "Female", "Male")

func smallPlan(tz string, dims []spec.Dimension, inds ...spec.Indicator) *spec.Aggregate {
	for i := range inds {
		if inds[i].Polarity == "" {
			inds[i].Polarity = spec.HigherIsBetter
		}
		if inds[i].FiscalYearStartMonth == 0 {
			inds[i].FiscalYearStartMonth = 1
		}
	}
	return &spec.Aggregate{Namespace: "ns", Initiative: "ini", TimeZone: tz, Dimensions: dims, Indicators: inds}
}

// rowsOf builds n rows that differ only in the given values.
func rowsOf(n int, values map[string]any) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{}
		for k, v := range values {
			out[i][k] = v
		}
	}
	return out
}

var farFuture = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

func TestWorkedProportionZeroAndAllAreSuppressed(t *testing.T) {
	// Year 2021, k = 5: Female 10 people none of them ready (0 %), Male 12 all ready
	// (100 %), Unknown 20 of whom 8 are ready. Both 0 % and 100 % groups disclose everyone
	// in them, so they are withheld although their n is above k.
	tb := &table{Source: "k", Cols: []colDef{
		{Name: "date", Type: spec.TypeDate},
		{Name: "sex", Dimension: "sex"},
		{Name: "ready", Type: spec.TypeBoolean},
	}}
	d := mustCivil("2021-09-01")
	tb.Rows = append(tb.Rows, rowsOf(10, map[string]any{"date": d, "sex": "Female", "ready": false})...)
	tb.Rows = append(tb.Rows, rowsOf(12, map[string]any{"date": d, "sex": "Male", "ready": true})...)
	tb.Rows = append(tb.Rows, rowsOf(8, map[string]any{"date": d, "ready": true})...)
	tb.Rows = append(tb.Rows, rowsOf(12, map[string]any{"date": d, "ready": false})...)
	ind := spec.Indicator{
		Name: "ready", Measure: spec.Proportion, Grain: spec.GrainYear, Dimensions: []string{"sex"}, MinCellSize: 5,
		Numerator:   spec.Operand{Source: "k", Aggregate: spec.Count, TimeColumn: "date", Filters: []spec.Filter{{Column: "ready", Operator: spec.OpIn, Values: []string{"true"}}}},
		Denominator: &spec.Operand{Source: "k", Aggregate: spec.Count, TimeColumn: "date", Alignment: spec.AlignExact},
	}
	p := smallPlan("UTC", []spec.Dimension{sexDim}, ind)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	for _, g := range []string{"Female", "Male"} {
		c := cells[cellKey("ready", "2021-01-01", map[string]string{"sex": g})]
		if c == nil {
			t.Fatalf("no cell for %s", g)
		}
		if !c.Suppressed {
			t.Errorf("%s: a %s%% group of n=%s is published (value %s): it discloses everyone in it", g, map[string]string{"Female": "0", "Male": "100"}[g], fmtPtr(c.N), fmtPtr(c.Value))
		}
	}
	// Whatever else is published must match the reference, and the two withheld groups
	// must not be recoverable from the published ones: total − Unknown gives only their sum.
	ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
	compareWithReference(t, "", res, ref)
	hidden := 0
	for _, g := range sexDim.Groups() {
		if cells[cellKey("ready", "2021-01-01", map[string]string{"sex": g})].Suppressed {
			hidden++
		}
	}
	if tot := cells[cellKey("ready", "2021-01-01", nil)]; !tot.Suppressed && hidden < 2 {
		t.Errorf("only one group of the sex breakdown is withheld while the total is published")
	}
}

func TestWorkedSingletonCell(t *testing.T) {
	// One Female visit among 30 in March 2022, k = 3: the Female cell (n = 1) is
	// withheld, and so is a second cell of the sex breakdown, else total − Male −
	// Unknown gives it back.
	tb := &table{Source: "v", Cols: []colDef{
		{Name: "date", Type: spec.TypeDate},
		{Name: "sex", Dimension: "sex"},
	}}
	d := mustCivil("2022-03-14")
	tb.Rows = append(tb.Rows, rowsOf(1, map[string]any{"date": d, "sex": "Female"})...)
	tb.Rows = append(tb.Rows, rowsOf(25, map[string]any{"date": d, "sex": "Male"})...)
	tb.Rows = append(tb.Rows, rowsOf(4, map[string]any{"date": d})...)
	ind := spec.Indicator{
		Name: "visits", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{"sex"}, MinCellSize: 3,
		Numerator: spec.Operand{Source: "v", Aggregate: spec.Count, TimeColumn: "date"},
	}
	p := smallPlan("UTC", []spec.Dimension{sexDim}, ind)
	e := newEnv(t, "UTC", p.Dimensions, true)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	f := cells[cellKey("visits", "2022-03-01", map[string]string{"sex": "Female"})]
	if f == nil || !f.Suppressed {
		t.Fatalf("the Female cell of n = 1 is not suppressed: %+v", f)
	}
	hidden := 0
	for _, g := range sexDim.Groups() {
		if cells[cellKey("visits", "2022-03-01", map[string]string{"sex": g})].Suppressed {
			hidden++
		}
	}
	if tot := cells[cellKey("visits", "2022-03-01", nil)]; !tot.Suppressed && hidden < 2 {
		t.Errorf("only the Female cell is withheld: total − Male − Unknown discloses it")
	}
	if tot := cells[cellKey("visits", "2022-03-01", nil)]; tot.Suppressed || *tot.Value != 30 || *tot.N != 30 {
		t.Errorf("total: %+v, want 30 published", tot)
	}
	ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
	compareWithReference(t, "", res, ref)
}

func TestWorkedISOWeekAcrossYearBoundary(t *testing.T) {
	// 2020-12-28 (Monday) to 2021-01-03 (Sunday) is ISO week 53 of 2020; 2021-01-04 starts
	// week 1 of 2021.
	tb := &table{Source: "w", Cols: []colDef{{Name: "date", Type: spec.TypeDate}}}
	for _, d := range []string{"2020-12-27", "2020-12-28", "2020-12-31", "2021-01-01", "2021-01-03", "2021-01-04"} {
		tb.Rows = append(tb.Rows, map[string]any{"date": mustCivil(d)})
	}
	ind := spec.Indicator{
		Name: "weekly", Measure: spec.Count, Grain: spec.GrainWeek, MinCellSize: 1,
		Numerator: spec.Operand{Source: "w", Aggregate: spec.Count, TimeColumn: "date"},
	}
	p := smallPlan("UTC", nil, ind)
	e := newEnv(t, "UTC", nil, false)
	res := e.run(p, farFuture, tb)
	want := map[string]float64{"2020-12-21": 1, "2020-12-28": 4, "2021-01-04": 1}
	got := map[string]float64{}
	for _, c := range res.Cells {
		if c.Value != nil { // a period without rows is not published at all
			got[c.Period] = *c.Value
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("weekly counts %v, want %v (2021-01-01 belongs to the week starting 2020-12-28)", got, want)
	}
	ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
	compareWithReference(t, "", res, ref)
}

func TestWorkedFiscalYearStartingInAugust(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "amount", Type: spec.TypeInteger}}}
	for _, r := range []struct {
		d string
		x int64
	}{{"2020-07-31", 1}, {"2020-08-01", 10}, {"2021-01-15", 100}, {"2021-07-31", 1000}, {"2021-08-01", 10000}, {"2021-10-31", 100000}, {"2021-11-01", 1000000}} {
		tb.Rows = append(tb.Rows, map[string]any{"date": mustCivil(r.d), "amount": r.x})
	}
	op := spec.Operand{Source: "s", Aggregate: spec.Sum, Column: "amount", TimeColumn: "date"}
	p := smallPlan("UTC", nil,
		spec.Indicator{Name: "fy", Measure: spec.Sum, Grain: spec.GrainYear, FiscalYearStartMonth: 8, MinCellSize: 1, Numerator: op},
		spec.Indicator{Name: "fq", Measure: spec.Sum, Grain: spec.GrainQuarter, FiscalYearStartMonth: 8, MinCellSize: 1, Numerator: op},
	)
	e := newEnv(t, "UTC", nil, false)
	res := e.run(p, farFuture, tb)
	want := map[string]float64{
		"fy|2019-08-01": 1, "fy|2020-08-01": 1110, "fy|2021-08-01": 1110000,
		"fq|2020-05-01": 1, "fq|2020-08-01": 10, "fq|2020-11-01": 100, "fq|2021-05-01": 1000, "fq|2021-08-01": 110000, "fq|2021-11-01": 1000000,
	}
	got := map[string]float64{}
	for _, c := range res.Cells {
		if c.Value != nil { // a period without rows is not published at all
			got[c.Indicator+"|"+c.Period] = *c.Value
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fiscal sums\n got %v\nwant %v", got, want)
	}
	ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
	compareWithReference(t, "", res, ref)
}

func TestWorkedTimestampWithoutOffsetIsLocal(t *testing.T) {
	// In America/Los_Angeles, 2021-03-31 23:30 local (06:30 UTC on April 1st) is in March;
	// 2021-04-01 00:15 local is in April; an explicit offset is converted to local time.
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	tb := &table{Source: "ts", NaiveTimestamps: true, Cols: []colDef{{Name: "at", Type: spec.TypeTimestamp}}}
	for _, s := range []string{"2021-03-31 23:30:00", "2021-03-31 23:59:59", "2021-04-01 00:15:00", "2020-12-31 23:45:00"} {
		ts, err := time.ParseInLocation("2006-01-02 15:04:05", s, la)
		if err != nil {
			t.Fatal(err)
		}
		tb.Rows = append(tb.Rows, map[string]any{"at": ts})
	}
	p := smallPlan("America/Los_Angeles", nil,
		spec.Indicator{Name: "monthly", Measure: spec.Count, Grain: spec.GrainMonth, MinCellSize: 1,
			Numerator: spec.Operand{Source: "ts", Aggregate: spec.Count, TimeColumn: "at"}},
		spec.Indicator{Name: "daily", Measure: spec.Count, Grain: spec.GrainDay, MinCellSize: 1,
			Numerator: spec.Operand{Source: "ts", Aggregate: spec.Count, TimeColumn: "at"}},
	)
	e := newEnv(t, "America/Los_Angeles", nil, false)
	res := e.run(p, farFuture, tb)
	want := map[string]float64{
		"monthly|2020-12-01": 1, "monthly|2021-03-01": 2, "monthly|2021-04-01": 1,
		"daily|2020-12-31": 1, "daily|2021-03-31": 2, "daily|2021-04-01": 1,
	}
	got := map[string]float64{}
	for _, c := range res.Cells {
		if c.Value != nil { // a period without rows is not published at all
			got[c.Indicator+"|"+c.Period] = *c.Value
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("naive timestamps\n got %v\nwant %v", got, want)
	}
	ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
	compareWithReference(t, "", res, ref)

	// The same instants written with an offset (UTC) land on the same local dates.
	tb.NaiveTimestamps = false
	e2 := newEnv(t, "America/Los_Angeles", nil, false)
	res2 := e2.runEncoded(p, farFuture, &encoder{rng: nil, plain: false}, tb)
	got2 := map[string]float64{}
	for _, c := range res2.Cells {
		if c.Value != nil && *c.Value != 0 {
			got2[c.Indicator+"|"+c.Period] = *c.Value
		}
	}
	if fmt.Sprint(got2) != fmt.Sprint(want) {
		t.Errorf("timestamps with an offset\n got %v\nwant %v", got2, want)
	}
}

// The headline and equity summaries never carry a suppressed cell's value or n: here the
// unknown group (2 people) is withheld while the total (40) is published, so an unknown
// share of 2/40 would give the withheld n back.
func TestWorkedUnknownShareDoesNotDiscloseSuppressedGroup(t *testing.T) {
	tb := &table{Source: "v", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "ready", Type: spec.TypeBoolean}}}
	d := mustCivil("2023-05-02")
	for _, g := range []struct {
		sex        any
		ready, not int
	}{{"Female", 10, 10}, {"Male", 9, 9}, {nil, 1, 1}} {
		tb.Rows = append(tb.Rows, rowsOf(g.ready, map[string]any{"date": d, "sex": g.sex, "ready": true})...)
		tb.Rows = append(tb.Rows, rowsOf(g.not, map[string]any{"date": d, "sex": g.sex, "ready": false})...)
	}
	ind := spec.Indicator{Name: "p", Measure: spec.Proportion, Grain: spec.GrainYear, Dimensions: []string{"sex"}, MinCellSize: 5,
		Numerator:   spec.Operand{Source: "v", Aggregate: spec.Count, TimeColumn: "date", Filters: []spec.Filter{{Column: "ready", Operator: spec.OpIn, Values: []string{"true"}}}},
		Denominator: &spec.Operand{Source: "v", Aggregate: spec.Count, TimeColumn: "date", Alignment: spec.AlignExact}}
	p := smallPlan("UTC", []spec.Dimension{sexDim}, ind)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	tot := cells[cellKey("p", "2023-01-01", nil)]
	unk := cells[cellKey("p", "2023-01-01", map[string]string{"sex": "Unknown"})]
	if !unk.Suppressed {
		t.Fatalf("the unknown group of n = 2 is published")
	}
	if tot.Suppressed {
		t.Fatalf("the total of n = 40 is withheld: nothing to check")
	}
	ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
	compareWithReference(t, "", res, ref)
	checkNoLeak(t, res)
}

// checkNoLeak checks that the indicator summaries carry nothing of a suppressed cell: the
// headline is a published total; equity differences and ratios name published groups
// only; the unknown share is only given when the unknown group and the total are
// published (share × total = the unknown group's n).
func checkNoLeak(t testing.TB, res *aggregate.Result) {
	t.Helper()
	cells := cellsByKey(t, res)
	for _, ir := range res.Indicators {
		if h := ir.Headline; h != nil {
			tot := cells[cellKey(ir.Name, h.Period, nil)]
			switch {
			case tot == nil:
				t.Errorf("%s: the headline names period %s, which has no total cell", ir.Name, h.Period)
			case tot.Suppressed:
				// Reliability is a function of n (e.g. a count is reliable from 20 events):
				// for a suppressed total it would bound the withheld n.
				if h.Value != nil || h.N != nil || h.Change != nil || h.Gap != nil || h.Progress != nil || h.Reliable {
					t.Errorf("%s: the headline of %s carries value %s, n %s, change %s, gap %s, progress %s, reliable %v of a suppressed total",
						ir.Name, h.Period, fmtPtr(h.Value), fmtPtr(h.N), fmtPtr(h.Change), fmtPtr(h.Gap), fmtPtr(h.Progress), h.Reliable)
				}
			case h.Value != nil && (tot.Value == nil || *h.Value != *tot.Value):
				t.Errorf("%s: headline %s, total cell %s", ir.Name, fmtPtr(h.Value), fmtPtr(tot.Value))
			}
		}
		for _, eq := range ir.Equity {
			for g := range eq.Differences {
				c := cells[cellKey(ir.Name, eq.Period, map[string]string{eq.Dimension: g})]
				if c == nil || c.Suppressed {
					t.Errorf("%s %s %s: equity names suppressed group %q (difference %g)", ir.Name, eq.Period, eq.Dimension, g, eq.Differences[g])
				}
			}
			for _, who := range []string{eq.Best, eq.Worst} {
				if who == "" {
					continue
				}
				if c := cells[cellKey(ir.Name, eq.Period, map[string]string{eq.Dimension: who})]; c == nil || c.Suppressed {
					t.Errorf("%s %s %s: best/worst group %q is suppressed", ir.Name, eq.Period, eq.Dimension, who)
				}
			}
			if eq.UnknownShare == nil {
				continue
			}
			for _, c := range res.Cells {
				if c.Indicator != ir.Name || c.Period != eq.Period || len(c.Dimensions) != 1 {
					continue
				}
				g, ok := c.Dimensions[eq.Dimension]
				if !ok || !isUnknownGroup(g) {
					continue
				}
				if c.Suppressed {
					tot := cells[cellKey(ir.Name, eq.Period, nil)]
					derived := "?"
					if tot != nil && tot.N != nil {
						derived = strconv.FormatFloat(*eq.UnknownShare*float64(*tot.N), 'g', 6, 64)
					}
					t.Errorf("%s %s %s: the unknown group %q is suppressed but the equity summary publishes unknownShare %g (× the published total n %s = %s, the withheld n)",
						ir.Name, eq.Period, eq.Dimension, g, *eq.UnknownShare, fmtPtr(tot.N), derived)
				}
			}
		}
	}
}

// unknownNames are the unknown groups the tests' vocabularies use.
var unknownNames = map[string]bool{"Unknown": true, "Not reported": true, "Unstated": true}

func isUnknownGroup(g string) bool { return unknownNames[g] }

// A row standing for no one (frequency 0) with a RowTotal value: the sum is the column's
// sum, whatever other indicators read the source. The engine's value must not depend on
// which dimensions another indicator adds to the source's cube.
func TestWorkedRowTotalOfARowOfNoOne(t *testing.T) {
	tb := &table{Source: "agg", Frequency: "people", Cols: []colDef{
		{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"},
		{Name: "people", Type: spec.TypeInteger}, {Name: "visits", Type: spec.TypeInteger, ValueKind: spec.RowTotal},
	}}
	d := mustCivil("2024-02-01")
	tb.Rows = []map[string]any{
		{"date": d, "sex": "Female", "people": int64(5), "visits": int64(7)},
		{"date": d, "sex": "Male", "people": int64(4), "visits": int64(3)},
		{"date": d, "sex": nil, "people": int64(0), "visits": int64(9)},
	}
	sumInd := spec.Indicator{Name: "visits", Measure: spec.Sum, Grain: spec.GrainYear, MinCellSize: 1,
		Numerator: spec.Operand{Source: "agg", Aggregate: spec.Sum, Column: "visits", TimeColumn: "date"}}
	bySex := spec.Indicator{Name: "people", Measure: spec.Count, Grain: spec.GrainYear, MinCellSize: 1, Dimensions: []string{"sex"},
		Numerator: spec.Operand{Source: "agg", Aggregate: spec.Count, TimeColumn: "date"}}
	values := map[string]string{}
	for _, p := range []*spec.Aggregate{
		smallPlan("UTC", []spec.Dimension{sexDim}, sumInd),
		smallPlan("UTC", []spec.Dimension{sexDim}, sumInd, bySex),
	} {
		e := newEnv(t, "UTC", p.Dimensions, false)
		res := e.run(p, farFuture, tb)
		c := cellsByKey(t, res)[cellKey("visits", "2024-01-01", nil)]
		values[fmt.Sprint(len(p.Indicators))] = fmtPtr(c.Value)
		ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
		compareWithReference(t, fmt.Sprintf("with %d indicators: ", len(p.Indicators)), res, ref)
	}
	if values["1"] != values["2"] {
		t.Errorf("the visits total is %s alone and %s when another indicator breaks the source down by sex", values["1"], values["2"])
	}
}

// LatestAvailable takes the latest period in which the denominator has data: here the
// women's population estimate for 2021 is not out yet (the census table has 2021 rows for
// men only), so the 2021 rate for women uses the 2020 estimate.
func TestWorkedLatestAvailableDenominatorWithFilters(t *testing.T) {
	pop := &table{Source: "pop", Cols: []colDef{{Name: "year_start", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "population", Type: spec.TypeInteger}}}
	pop.Rows = []map[string]any{
		{"year_start": mustCivil("2020-01-01"), "sex": "Female", "population": int64(1000)},
		{"year_start": mustCivil("2020-01-01"), "sex": "Male", "population": int64(900)},
		{"year_start": mustCivil("2021-01-01"), "sex": "Male", "population": int64(950)},
	}
	ev := &table{Source: "ev", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}}}
	ev.Rows = append(rowsOf(30, map[string]any{"date": mustCivil("2021-06-01"), "sex": "Female"}),
		rowsOf(40, map[string]any{"date": mustCivil("2021-06-01"), "sex": "Male"})...)
	female := []spec.Filter{{Column: "sex", Operator: spec.OpIn, Values: []string{"Female"}}}
	p := smallPlan("UTC", []spec.Dimension{sexDim}, spec.Indicator{
		Name: "rate", Measure: spec.Rate, Per: 1000, Grain: spec.GrainYear, MinCellSize: 5,
		Numerator:   spec.Operand{Source: "ev", Aggregate: spec.Count, TimeColumn: "date", Filters: female},
		Denominator: &spec.Operand{Source: "pop", Aggregate: spec.Sum, Column: "population", TimeColumn: "year_start", Filters: female, Alignment: spec.AlignLatestAvailable},
	})
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, ev, pop)
	c := cellsByKey(t, res)[cellKey("rate", "2021-01-01", nil)]
	if c == nil || c.Value == nil || *c.Value != 30 || c.Denominator == nil || *c.Denominator != 1000 {
		t.Errorf("2021 rate for women: %+v (value %s, denominator %s); want 30 per 1000 over the 2020 estimate of 1000", c, fmtPtr(c.Value), fmtPtr(c.Denominator))
	}
	ref, _ := newReference(p, e.loc, civilOf(farFuture), ev, pop).cells()
	compareWithReference(t, "", res, ref)
}

// A withheld total says nothing in the headline either: not its value, n or change, nor
// whether it is reliable (a proportion of 50 is reliable by NCHS rules, which would say the
// withheld group has at least 30 people).
func TestWorkedHeadlineOfASuppressedTotal(t *testing.T) {
	tb := &table{Source: "k", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "ready", Type: spec.TypeBoolean}}}
	tb.Rows = append(rowsOf(40, map[string]any{"date": mustCivil("2021-09-01"), "ready": true}),
		rowsOf(50, map[string]any{"date": mustCivil("2022-09-01"), "ready": true})...)
	tb.Rows = append(tb.Rows, rowsOf(10, map[string]any{"date": mustCivil("2021-09-01"), "ready": false})...)
	p := smallPlan("UTC", nil, spec.Indicator{
		Name: "ready", Measure: spec.Proportion, Grain: spec.GrainYear, MinCellSize: 5,
		Target:      &spec.Target{Value: 0.9},
		Numerator:   spec.Operand{Source: "k", Aggregate: spec.Count, TimeColumn: "date", Filters: []spec.Filter{{Column: "ready", Operator: spec.OpIn, Values: []string{"true"}}}},
		Denominator: &spec.Operand{Source: "k", Aggregate: spec.Count, TimeColumn: "date", Alignment: spec.AlignExact},
	})
	e := newEnv(t, "UTC", nil, false)
	res := e.run(p, farFuture, tb)
	if c := cellsByKey(t, res)[cellKey("ready", "2022-01-01", nil)]; c == nil || !c.Suppressed {
		t.Fatalf("2022: 50 of 50 ready (100 %%) is published: %+v", c)
	}
	ref, _ := newReference(p, e.loc, civilOf(farFuture), tb).cells()
	compareWithReference(t, "", res, ref)
	checkNoLeak(t, res)
}

// A value that cannot be aggregated, deep into a snapshot scanned by several workers,
// stops the scan with an error naming it, without leaving a worker or the reader behind.
func TestScanErrorStopsEveryWorker(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "year", Type: spec.TypeInteger}, {Name: "amount", Type: spec.TypeInteger}}}
	for i := 0; i < 400; i++ {
		year := int64(2020 + i%3)
		if i == 300 {
			year = 20000
		}
		tb.Rows = append(tb.Rows, map[string]any{"year": year, "amount": int64(i)})
	}
	op := spec.Operand{Source: "s", Aggregate: spec.Sum, Column: "amount", TimeColumn: "year"}
	p := smallPlan("UTC", nil, spec.Indicator{Name: "total", Measure: spec.Sum, Grain: spec.GrainYear, MinCellSize: 1, Numerator: op})
	for _, workers := range []int{1, 2, 3} {
		e := newEnv(t, "UTC", nil, false)
		e.batch = 5 // 80 batches, 20 chunks
		in := e.ingest(tb, nil)
		err := runWithin(t, context.Background(), p, map[string]aggregate.Input{"s": in}, workers)
		if err == nil || !strings.Contains(err.Error(), "20000 is not a year") {
			t.Errorf("%d workers: error %v, want one naming the year 20000", workers, err)
		}
	}
}

// runWithin aggregates, and fails the test if the run has not ended within a minute (a
// worker or reader left waiting).
func runWithin(t *testing.T, ctx context.Context, p *spec.Aggregate, inputs map[string]aggregate.Input, workers int) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := aggregate.Run(ctx, p, inputs, aggregate.Options{AsOf: farFuture, Workers: workers})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%d workers: the run did not end", workers)
		return nil
	}
}

// A Parquet snapshot that does not match its engine layout (fewer rows) is an error, not a
// hang or a short count, whatever the workers.
func TestScanTextShorterThanEngine(t *testing.T) {
	rows := func(n int) *table {
		tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "id", Type: spec.TypeString}}}
		for i := 0; i < n; i++ {
			tb.Rows = append(tb.Rows, map[string]any{"date": mustCivil("2024-03-01"), "id": fmt.Sprintf("c%d", i%7)})
		}
		return tb
	}
	op := spec.Operand{Source: "s", Aggregate: spec.Count, Column: "id", TimeColumn: "date"}
	p := smallPlan("UTC", nil, spec.Indicator{Name: "children", Measure: spec.DistinctCount, Grain: spec.GrainMonth, MinCellSize: 1, Numerator: op})
	for _, workers := range []int{1, 2} {
		e := newEnv(t, "UTC", nil, false)
		e.batch = 3
		long, short := e.ingest(rows(200), nil), e.ingest(rows(150), nil)
		long.Parquet = short.Parquet
		err := runWithin(t, context.Background(), p, map[string]aggregate.Input{"s": long}, workers)
		if err == nil || !strings.Contains(err.Error(), "fewer rows than its engine layout") {
			t.Errorf("%d workers: error %v, want the Parquet file to be too short", workers, err)
		}
	}
}

// A snapshot without rows (every row excluded at ingest, say) aggregates to no periods,
// whatever the workers.
func TestEmptySnapshot(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "amount", Type: spec.TypeInteger}}}
	op := spec.Operand{Source: "s", Aggregate: spec.Sum, Column: "amount", TimeColumn: "date"}
	p := smallPlan("UTC", nil, spec.Indicator{Name: "total", Measure: spec.Sum, Grain: spec.GrainMonth, MinCellSize: 1, Numerator: op})
	for _, workers := range []int{1, 4} {
		e := newEnv(t, "UTC", nil, false)
		e.workers = workers
		res := e.run(p, farFuture, tb)
		if len(res.Cells) != 0 || len(res.Indicators) != 1 || res.Indicators[0].NoPeriod != 0 {
			t.Errorf("%d workers: %d cells, indicators %+v; want none", workers, len(res.Cells), res.Indicators)
		}
	}
}

// countdown is a context that reports itself cancelled after its Err has said nil n times.
type countdown struct {
	context.Context
	n atomic.Int32
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// A context cancelled while a snapshot is being scanned stops the scan with its error.
func TestScanStopsWhenCancelled(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "amount", Type: spec.TypeInteger}}}
	for i := 0; i < 300; i++ {
		tb.Rows = append(tb.Rows, map[string]any{"date": mustCivil("2024-03-01"), "amount": int64(i)})
	}
	op := spec.Operand{Source: "s", Aggregate: spec.Sum, Column: "amount", TimeColumn: "date"}
	p := smallPlan("UTC", nil, spec.Indicator{Name: "total", Measure: spec.Sum, Grain: spec.GrainMonth, MinCellSize: 1, Numerator: op})
	e := newEnv(t, "UTC", nil, false)
	e.batch = 2
	in := e.ingest(tb, nil)
	ctx := &countdown{Context: context.Background()}
	ctx.n.Store(20) // 150 batches: cancelled a few batches in
	if err := runWithin(t, ctx, p, map[string]aggregate.Input{"s": in}, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
