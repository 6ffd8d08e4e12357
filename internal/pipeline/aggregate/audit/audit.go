// Package audit attacks a published result the way an outsider would: it takes every
// published number, and every additive relation between them that holds exactly in the
// data, and finds the suppressed cells those determine by exact linear algebra. It
// shares nothing with the protection model of package aggregate: it knows the plan, the
// published result, and the true values of every cell (the same plan run without
// suppression, with probes that count each quantity by month and every combination of
// groups), and it decides from those values which relations hold.
//
// The relations it knows:
//   - the same units, counted by any indicator, at any grain (a Count, a Mean's n, a
//     Proportion's denominator, a Ratio's) are one quantity; a column's non-null count is
//     the rows' count wherever they are equal;
//   - every count and sum adds up across groups and periods (months to quarters and
//     years, fiscal or not);
//   - a distinct count adds up across groups, and across periods, wherever the true values
//     say so (no key in two of the parts), and equals the count of its rows wherever the
//     true values say so (one row per key);
//   - a source's row count (the snapshot's rows_ok, less the rows without a time value)
//     is the total of its unfiltered count over every period;
//   - a Proportion's complement is its denominator less its numerator.
//
// It does not use that counts are never negative, nor intervals. A Proportion's numerator
// of 0 that published counts of 0 alone give (with the relations) is not counted as
// recovered: zero cells are published and never withheld for another's sake, so no
// pattern could hide it (the Proportion is withheld by its own rule all the same).
package audit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

const probePrefix = "audit-probe-"

// TruthPlan returns p with nothing suppressed (every minimum cell size 0) and the probes
// Attack needs: per count base and per summed column, a Month (or Year) indicator over
// every combination of the groups of the dimensions its source is broken down by.
func TruthPlan(p *spec.Aggregate) *spec.Aggregate {
	q := *p
	q.Indicators = nil
	for _, ind := range p.Indicators {
		ind.MinCellSize = 0
		q.Indicators = append(q.Indicators, ind)
	}
	for _, pr := range probes(p) {
		q.Indicators = append(q.Indicators, pr.ind)
	}
	return &q
}

type probe struct {
	ind  spec.Indicator
	tc   string // source and time column
	qk   string // the quantity key of its units (Count) or column (Sum)
	dims []string
}

// timeKey names the inner cells' time axis: a source and time column.
func timeKey(op spec.Operand) string { return op.Source + "|" + op.TimeColumn }

// baseKey names the units of an operand: source, time column and filters in canonical order.
func baseKey(op spec.Operand) string {
	var fs []string
	for _, f := range op.Filters {
		vals := slices.Clone(f.Values)
		for i := range vals {
			vals[i] = strings.ToLower(strings.TrimSpace(vals[i]))
		}
		sort.Strings(vals)
		fs = append(fs, f.Column+" "+f.Operator+" "+strings.Join(vals, ","))
	}
	sort.Strings(fs)
	return timeKey(op) + "|" + strings.Join(fs, "&")
}

func unitsKey(op spec.Operand) string    { return baseKey(op) + "#units" }
func nKey(op spec.Operand) string        { return baseKey(op) + "#n:" + op.Column }
func sumKey(op spec.Operand) string      { return baseKey(op) + "#sum:" + op.Column }
func distinctKey(op spec.Operand) string { return baseKey(op) + "#distinct:" + op.Column }

// probes lists one probe per count base and per summed column, in a fixed order.
func probes(p *spec.Aggregate) []probe {
	dimsOf := map[string]map[string]bool{}
	yearOnly := map[string]bool{}
	var ops []spec.Operand
	summed := map[string]bool{} // operands with a column summed (or averaged)
	for _, ind := range p.Indicators {
		if ind.Measure != spec.DistinctCount && ind.Numerator.Column != "" {
			summed[sumKey(ind.Numerator)] = true
		}
		if d := ind.Denominator; d != nil && d.Column != "" {
			summed[sumKey(*d)] = true
		}
		for _, op := range operands(ind) {
			tk := timeKey(op)
			if dimsOf[tk] == nil {
				dimsOf[tk] = map[string]bool{}
				yearOnly[tk] = true
			}
			for _, d := range ind.Dimensions {
				dimsOf[tk][d] = true
			}
			if ind.Grain != spec.GrainYear || ind.FiscalYearStartMonth > 1 {
				yearOnly[tk] = false
			}
			ops = append(ops, op)
		}
	}
	seen := map[string]bool{}
	var out []probe
	add := func(op spec.Operand, measure, qk string) {
		if seen[qk] {
			return
		}
		seen[qk] = true
		tk := timeKey(op)
		var dims []string
		for _, d := range p.Dimensions {
			if dimsOf[tk][d.Name] {
				dims = append(dims, d.Name)
			}
		}
		grain := spec.GrainMonth
		if yearOnly[tk] {
			grain = spec.GrainYear
		}
		ind := spec.Indicator{Name: fmt.Sprintf("%s%d", probePrefix, len(out)), Measure: measure, Grain: grain, Dimensions: dims, Numerator: op}
		ind.Numerator.Alignment = ""
		if len(dims) > 1 {
			ind.Intersections = [][]string{dims}
		}
		out = append(out, probe{ind: ind, tc: tk, qk: qk, dims: dims})
	}
	for _, op := range ops {
		units := op
		units.Aggregate, units.Column = spec.Count, ""
		add(units, spec.Count, unitsKey(op))
		if summed[sumKey(op)] {
			op.Aggregate = spec.Sum
			add(op, spec.Sum, sumKey(op))
		}
	}
	return out
}

func operands(ind spec.Indicator) []spec.Operand {
	ops := []spec.Operand{ind.Numerator}
	if ind.Denominator != nil {
		ops = append(ops, *ind.Denominator)
	}
	return ops
}

// Report is what the attack found.
type Report struct {
	// Recovered lists the suppressed cells the published ones determine, with how.
	Recovered []string
	// Suppressed and SuppressedAtLeastK count, per indicator, the suppressed cells and
	// those of them with n ≥ k (true n).
	Suppressed, SuppressedAtLeastK map[string]int
	// Avoidable counts, per indicator, the suppressed cells that are not sensitive and could
	// each be published alone without making a sensitive cell recoverable.
	Avoidable map[string]int
	// Relations counts the relations used, by kind.
	Relations map[string]int
}

// axis is the inner cells of one source and time column: atoms (the probes' periods) ×
// combinations of groups.
type axis struct {
	starts []int32 // atom starts, ascending
	ends   []int32
	dims   []string
	sizes  []int
	cube   int
}

type attack struct {
	p        *spec.Aggregate
	inds     map[string]*spec.Indicator
	truth    map[string]*aggregate.Cell
	axes     map[string]*axis
	offset   map[string]int       // quantity key → first variable of its inner cells
	axisOf   map[string]string    // quantity key → its axis
	canon    []int                // variable → the variable it is known to equal
	innerVal map[string][]int64   // counts: quantity key → true value by inner cell
	innerF   map[string][]float64 // sums: quantity key → true value by inner cell
	dvars    map[string]int       // distinct cell key → variable
	dtruth   []int64
	nvars    int
	span     *span
	// zeros is the span of what is known to be 0 without any number withheld: the
	// published counts of 0 and the relations (a distinct count equal to its rows).
	zeros *span
	rel   map[string]int
	match map[string][]int // see matching
	// known, when set, replaces span.contains (published cells and one more).
	known func([]term) bool
}

// Attack finds the suppressed cells of published that the published cells determine.
// truth is TruthPlan(p) run on the same inputs; rowTotals holds each source's published
// row count (rows_ok).
func Attack(p *spec.Aggregate, published, truth *aggregate.Result, rowTotals map[string]int64) (*Report, error) {
	a := &attack{p: p, inds: map[string]*spec.Indicator{}, truth: map[string]*aggregate.Cell{}, axes: map[string]*axis{},
		offset: map[string]int{}, axisOf: map[string]string{}, innerVal: map[string][]int64{}, innerF: map[string][]float64{}, dvars: map[string]int{}, rel: map[string]int{}, match: map[string][]int{}}
	for i := range p.Indicators {
		a.inds[p.Indicators[i].Name] = &p.Indicators[i]
	}
	for i := range truth.Cells {
		c := &truth.Cells[i]
		a.truth[key(c.Indicator, c.Period, c.Dimensions)] = c
	}
	if err := a.layout(truth); err != nil {
		return nil, err
	}
	a.span, a.zeros = newSpan(a.nvars), newSpan(a.nvars)
	rep := &Report{Suppressed: map[string]int{}, SuppressedAtLeastK: map[string]int{}, Relations: a.rel}
	if err := a.relations(truth, rowTotals); err != nil {
		return nil, err
	}
	// Published cells.
	for i := range published.Cells {
		c := &published.Cells[i]
		if c.Suppressed {
			continue
		}
		for _, q := range a.quantities(c) {
			if q.published(c) {
				a.span.add(q.vec)
				if q.zero != nil && q.zero(c) {
					a.zeros.add(q.vec)
				}
			}
		}
	}
	// Suppressed cells.
	for i := range published.Cells {
		c := &published.Cells[i]
		if !c.Suppressed {
			continue
		}
		ind := a.inds[c.Indicator]
		tc := a.truth[key(c.Indicator, c.Period, c.Dimensions)]
		if tc == nil {
			return nil, fmt.Errorf("no true value of %s", key(c.Indicator, c.Period, c.Dimensions))
		}
		n := int64(0)
		if tc.N != nil {
			n = *tc.N
		}
		rep.Suppressed[c.Indicator]++
		if n >= int64(ind.MinCellSize) {
			rep.SuppressedAtLeastK[c.Indicator]++
		}
		if how := a.recovered(ind, c, tc); how != "" {
			rep.Recovered = append(rep.Recovered, fmt.Sprintf("%s (true n = %d): %s", key(c.Indicator, c.Period, c.Dimensions), n, how))
		}
	}
	a.avoidable(published, rep)
	return rep, nil
}

// sensitive reports whether a cell is withheld for its own sake: 0 < n < k, or a
// Proportion's numerator or complement below k.
func sensitive(ind *spec.Indicator, tc *aggregate.Cell) bool {
	k := float64(ind.MinCellSize)
	n := float64(0)
	if tc.N != nil {
		n = float64(*tc.N)
	}
	if n == 0 {
		return false
	}
	if ind.Measure == spec.Proportion {
		x, d := val(tc.Numerator), val(tc.Denominator)
		return x < k || d-x < k || d < k
	}
	return n < k
}

// avoidable counts, per indicator, the suppressed cells that are not sensitive and could
// each be published alone without any sensitive cell becoming recoverable: a cell is
// recoverable with one more published when its residual against the published cells is
// in the span of that cell's residuals.
func (a *attack) avoidable(published *aggregate.Result, rep *Report) {
	rep.Avoidable = map[string]int{}
	main := a.span
	residuals := map[string][]term{}
	residual := func(v []term) []term {
		var b strings.Builder
		for _, t := range v {
			fmt.Fprintf(&b, "%d:%d,", t.v, t.c)
		}
		k := b.String()
		if r, ok := residuals[k]; ok {
			return r
		}
		r := main.residual(v)
		residuals[k] = r
		return r
	}
	var targets, candidates []*aggregate.Cell
	for i := range published.Cells {
		c := &published.Cells[i]
		if !c.Suppressed {
			continue
		}
		ind, tc := a.inds[c.Indicator], a.truth[key(c.Indicator, c.Period, c.Dimensions)]
		if sensitive(ind, tc) {
			if a.recovered(ind, c, tc) == "" { // already recovered: reported, not counted here
				targets = append(targets, c)
			}
		} else {
			candidates = append(candidates, c)
		}
	}
	extra := newSpan(a.nvars)
	a.known = func(v []term) bool {
		r := residual(v)
		return len(r) == 0 || extra.contains(r)
	}
	defer func() { a.known = nil }()
	for _, x := range candidates {
		tx := a.truth[key(x.Indicator, x.Period, x.Dimensions)]
		extra.reset()
		for _, q := range a.quantities(x) {
			if q.published(tx) {
				extra.add(residual(q.vec))
			}
		}
		safe := true
		for _, t := range targets {
			if a.recovered(a.inds[t.Indicator], t, a.truth[key(t.Indicator, t.Period, t.Dimensions)]) != "" {
				safe = false
				break
			}
		}
		if safe {
			rep.Avoidable[x.Indicator]++
		}
	}
}

// recovered says how the published cells determine a suppressed one, or "".
func (a *attack) recovered(ind *spec.Indicator, c, tc *aggregate.Cell) string {
	k := float64(ind.MinCellSize)
	qs := a.quantities(c)
	contains := a.span.contains
	if a.known != nil {
		contains = a.known
	}
	known := func(q quantity) bool { return contains(q.vec) }
	if ind.Measure == spec.Proportion {
		num, den := qs[0], qs[1]
		x, d := val(tc.Numerator), val(tc.Denominator)
		if d == 0 {
			return ""
		}
		kn, kd := known(num), known(den)
		comp := sub(den.vec, num.vec)
		switch {
		case kn && x == 0 && a.zeros.contains(num.vec):
			// A numerator of 0 that published counts of 0 give (the group's Count of 0
			// in each month of the quarter): zero cells are published and never withheld
			// for another's sake, so no suppression pattern hides it; the Proportion is
			// withheld by its own rule, and tells nothing more.
			return ""
		case kn && kd:
			return fmt.Sprintf("numerator %g and denominator %g", x, d)
		case kn && x > 0 && x < k:
			return fmt.Sprintf("numerator %g < k", x)
		case kd && d < k:
			return fmt.Sprintf("denominator %g < k", d)
		case d-x < k && len(comp) > 0 && contains(comp):
			return fmt.Sprintf("complement %g < k", d-x)
		}
		return ""
	}
	if tc.N != nil && *tc.N == 0 {
		return "" // an empty cell discloses no one
	}
	// Recovered: every number it publishes, or its n when below k.
	all := true
	for _, q := range qs {
		if len(q.vec) == 0 {
			return q.name + ": the attacker has no model of it"
		}
		if !q.published(tc) {
			continue
		}
		if !known(q) {
			all = false
			continue
		}
		if q.isN && float64(*tc.N) < k {
			return fmt.Sprintf("%s %d < k", q.name, *tc.N)
		}
	}
	if all {
		return "every number it publishes"
	}
	return ""
}

func val(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// quantity is one number a cell publishes, as a vector over the variables.
type quantity struct {
	name      string
	vec       []term
	isN       bool // it is the cell's n
	published func(*aggregate.Cell) bool
	// zero reports whether the number is a count of 0 in a published cell; nil for a sum.
	zero func(*aggregate.Cell) bool
}

// known0 adds a relation: a combination of the variables that is 0 in the data.
func (a *attack) known0(v []term) {
	a.span.add(v)
	a.zeros.add(v)
}

// quantities lists the numbers a cell of its indicator publishes (a Proportion: numerator
// first, then denominator).
func (a *attack) quantities(c *aggregate.Cell) []quantity {
	ind := a.inds[c.Indicator]
	if ind == nil {
		return nil
	}
	hasNum := func(c *aggregate.Cell) bool { return c.Numerator != nil }
	// A Ratio whose denominator is 0 says so in its note.
	hasDen := func(c *aggregate.Cell) bool {
		return c.Denominator != nil || strings.Contains(c.Note, "no denominator for this period and group")
	}
	hasN := func(c *aggregate.Cell) bool { return c.N != nil }
	units := func(op spec.Operand) string {
		if op.Aggregate == spec.Sum {
			return sumKey(op)
		}
		return unitsKey(op)
	}
	count := func(op spec.Operand) string {
		if op.Aggregate == spec.Sum {
			return nKey(op)
		}
		return unitsKey(op)
	}
	// Counts of 0 (a sum of 0 is not an empty cell).
	nZero := func(c *aggregate.Cell) bool { return c.N != nil && *c.N == 0 }
	zeroOf := func(op spec.Operand, x func(*aggregate.Cell) *float64) func(*aggregate.Cell) bool {
		if op.Aggregate == spec.Sum {
			return nil
		}
		return func(c *aggregate.Cell) bool { return x(c) != nil && *x(c) == 0 }
	}
	numerator := func(c *aggregate.Cell) *float64 { return c.Numerator }
	denominator := func(c *aggregate.Cell) *float64 {
		if c.Denominator == nil && hasDen(c) {
			zero := 0.0
			return &zero
		}
		return c.Denominator
	}
	num := ind.Numerator
	from, to := a.period(ind, c.Period)
	v := func(qk string) []term { return a.additive(qk, from, to, c.Dimensions) }
	switch ind.Measure {
	case spec.Count:
		return []quantity{{"count", v(unitsKey(num)), true, hasN, nZero}}
	case spec.Sum, spec.Mean:
		return []quantity{{"n", v(nKey(num)), true, hasN, nZero}, {"sum", v(sumKey(num)), false, hasNum, nil}}
	case spec.Proportion:
		den := *ind.Denominator
		return []quantity{{"numerator", v(units(num)), true, hasNum, zeroOf(num, numerator)},
			{"denominator", v(units(den)), true, hasDen, zeroOf(den, denominator)}}
	case spec.Ratio, spec.Rate:
		den := *ind.Denominator
		dfrom, dto := from, to
		if den.Alignment == spec.AlignLatestAvailable {
			// The denominator's period is not the cell's: it is published, not attacked.
			return []quantity{{"numerator", v(units(num)), false, hasNum, zeroOf(num, numerator)}, {"n", v(count(num)), true, hasN, nZero}}
		}
		return []quantity{{"numerator", v(units(num)), false, hasNum, zeroOf(num, numerator)}, {"n", v(count(num)), true, hasN, nZero},
			{"denominator", a.additive(units(den), dfrom, dto, c.Dimensions), false, hasDen, zeroOf(den, denominator)}}
	case spec.DistinctCount:
		return []quantity{{"distinct count", []term{{a.dvars[key(c.Indicator, c.Period, c.Dimensions)], 1}}, true, hasN, nZero}}
	}
	return nil
}

// period returns the days [from, to) of an indicator's period.
func (a *attack) period(ind *spec.Indicator, start string) (int32, int32) {
	s, err := period.Parse(start)
	if err != nil {
		panic(err)
	}
	g := period.Grain{Name: ind.Grain, FiscalStart: max(ind.FiscalYearStartMonth, 1)}
	return s, g.Next(s)
}

type term struct {
	v int
	c int64
}

// additive returns the inner cells of quantity qk over [from, to) and the groups.
func (a *attack) additive(qk string, from, to int32, groups map[string]string) []term {
	off, ok := a.offset[qk]
	if !ok {
		return nil
	}
	ax := a.axes[a.axisOf[qk]]
	match := a.matching(ax, groups)
	var out []term
	for i, s := range ax.starts {
		if s < from || ax.ends[i] > to {
			continue
		}
		for _, ci := range match {
			out = append(out, term{a.canon[off+i*ax.cube+ci], 1})
		}
	}
	return out
}

// matching lists the cube cells of an axis in the groups, once per axis and groups.
func (a *attack) matching(ax *axis, groups map[string]string) []int {
	k := fmt.Sprintf("%p %s", ax, key("", "", groups))
	if m, ok := a.match[k]; ok {
		return m
	}
	var m []int
	for ci := 0; ci < ax.cube; ci++ {
		if a.matches(ax, ci, groups) {
			m = append(m, ci)
		}
	}
	a.match[k] = m
	return m
}

func (a *attack) matches(ax *axis, ci int, groups map[string]string) bool {
	for d, g := range groups {
		i := slices.Index(ax.dims, d)
		if i < 0 {
			panic("dimension " + d + " is not on the axis")
		}
		stride := 1
		for j := i + 1; j < len(ax.sizes); j++ {
			stride *= ax.sizes[j]
		}
		code := (ci / stride) % ax.sizes[i]
		if a.group(d, code) != g {
			return false
		}
	}
	return true
}

func (a *attack) group(d string, code int) string {
	for _, dim := range a.p.Dimensions {
		if dim.Name == d {
			return dim.Groups()[code]
		}
	}
	panic("no dimension " + d)
}

func (a *attack) cubeIndex(ax *axis, groups map[string]string) int {
	ci := 0
	for i, d := range ax.dims {
		code := -1
		for _, dim := range a.p.Dimensions {
			if dim.Name == d {
				code = slices.Index(dim.Groups(), groups[d])
			}
		}
		if code < 0 {
			panic("no group " + groups[d] + " of " + d)
		}
		ci = ci*ax.sizes[i] + code
	}
	return ci
}

// layout allocates the variables: the inner cells of every quantity, and one per distinct
// cell; and reads their true values from the probes.
func (a *attack) layout(truth *aggregate.Result) error {
	pr := probes(a.p)
	byName := map[string]probe{}
	for _, q := range pr {
		byName[q.ind.Name] = q
	}
	// Axes: the probes' periods.
	for _, q := range pr {
		if a.axes[q.tc] != nil {
			continue
		}
		ax := &axis{dims: q.dims, cube: 1}
		for _, d := range q.dims {
			for _, dim := range a.p.Dimensions {
				if dim.Name == d {
					ax.sizes = append(ax.sizes, len(dim.Groups()))
					ax.cube *= len(dim.Groups())
				}
			}
		}
		for _, c := range truth.Cells {
			if c.Indicator == q.ind.Name && len(c.Dimensions) == 0 {
				from, to := a.periodOf(q.ind, c.Period)
				ax.starts, ax.ends = append(ax.starts, from), append(ax.ends, to)
			}
		}
		a.axes[q.tc] = ax
	}
	for _, q := range pr {
		ax := a.axes[q.tc]
		size := len(ax.starts) * ax.cube
		vals := make([]int64, size)
		fvals := make([]float64, size)
		nvals := make([]int64, size)
		for _, c := range truth.Cells {
			if c.Indicator != q.ind.Name || len(c.Dimensions) != len(q.dims) {
				continue
			}
			from, _ := a.periodOf(q.ind, c.Period)
			i := sort.Search(len(ax.starts), func(i int) bool { return ax.starts[i] >= from })
			j := i*ax.cube + a.cubeIndex(ax, c.Dimensions)
			if c.N != nil {
				nvals[j] = *c.N
			}
			fvals[j] = val(c.Numerator)
			vals[j] = nvals[j]
		}
		if q.ind.Measure == spec.Count {
			a.alloc(q.qk, q.tc, vals, nil)
		} else {
			a.alloc(q.qk, q.tc, nil, fvals)
			nk := strings.Replace(q.qk, "#sum:", "#n:", 1)
			a.alloc(nk, q.tc, nvals, nil)
			// A column's non-null count is its rows' count wherever they are equal.
			uk := nk[:strings.Index(nk, "#n:")] + "#units"
			if uv, ok := a.innerVal[uk]; ok {
				for j, x := range nvals {
					if x == uv[j] {
						a.canon[a.offset[nk]+j] = a.offset[uk] + j
						a.rel["non-null count = rows"]++
					}
				}
			}
		}
	}
	// Distinct cells.
	var keys []string
	for _, c := range truth.Cells {
		if ind := a.inds[c.Indicator]; ind != nil && ind.Measure == spec.DistinctCount {
			keys = append(keys, key(c.Indicator, c.Period, c.Dimensions))
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		a.dvars[k] = a.nvars
		a.canon = append(a.canon, a.nvars)
		a.nvars++
		a.dtruth = append(a.dtruth, *a.truth[k].N)
	}
	return nil
}

func (a *attack) periodOf(ind spec.Indicator, start string) (int32, int32) {
	return a.period(&ind, start)
}

func (a *attack) alloc(qk, tc string, vals []int64, fvals []float64) {
	if _, ok := a.offset[qk]; ok {
		return
	}
	a.offset[qk] = a.nvars
	a.axisOf[qk] = tc
	n := len(vals)
	if vals != nil {
		a.innerVal[qk] = vals
	} else {
		a.innerF[qk] = fvals
		n = len(fvals)
	}
	for range n {
		a.canon = append(a.canon, a.nvars)
		a.nvars++
	}
}

// truthOf sums the true units of a base over [from, to) and the groups.
func (a *attack) truthOf(uk string, from, to int32, groups map[string]string) int64 {
	ax := a.axes[a.axisOf[uk]]
	var s int64
	for i, st := range ax.starts {
		if st < from || ax.ends[i] > to {
			continue
		}
		for _, ci := range a.matching(ax, groups) {
			s += a.innerVal[uk][i*ax.cube+ci]
		}
	}
	return s
}

// relations adds every relation that holds in the data.
func (a *attack) relations(truth *aggregate.Result, rowTotals map[string]int64) error {
	// Source totals.
	for _, qk := range sortedKeys(a.offset) {
		if !strings.HasSuffix(qk, "|#units") {
			continue // filtered, or not units
		}
		src := qk[:strings.Index(qk, "|")]
		total, ok := rowTotals[src]
		if !ok {
			continue
		}
		var vec []term
		var sum int64
		for j, v := range a.innerVal[qk] {
			vec = append(vec, term{a.canon[a.offset[qk]+j], 1})
			sum += v
		}
		noPeriod := int64(0)
		for _, ir := range truth.Indicators {
			if ind := a.inds[ir.Name]; ind != nil && strings.HasPrefix(baseKey(ind.Numerator), src+"|") {
				noPeriod = max(noPeriod, ir.NoPeriod)
			}
		}
		if sum == total || sum == total-noPeriod {
			a.span.add(vec)
			a.rel["source row total"]++
		}
	}
	// Distinct counts.
	type dcell struct {
		c        *aggregate.Cell
		ind      *spec.Indicator
		from, to int32
	}
	byQuantity := map[string][]dcell{}
	for i := range truth.Cells {
		c := &truth.Cells[i]
		ind := a.inds[c.Indicator]
		if ind == nil || ind.Measure != spec.DistinctCount {
			continue
		}
		from, to := a.period(ind, c.Period)
		dk := distinctKey(ind.Numerator)
		byQuantity[dk] = append(byQuantity[dk], dcell{c, ind, from, to})
	}
	for _, dk := range sortedKeys(byQuantity) {
		cells := byQuantity[dk]
		for _, parent := range cells {
			pk := key(parent.c.Indicator, parent.c.Period, parent.c.Dimensions)
			pv := a.dvars[pk]
			pn := *parent.c.N
			// Equal to the count of its rows.
			uk := unitsKey(parent.ind.Numerator)
			if vec := a.additive(uk, parent.from, parent.to, parent.c.Dimensions); vec != nil {
				if a.truthOf(uk, parent.from, parent.to, parent.c.Dimensions) == pn {
					a.known0(append([]term{{pv, -1}}, vec...))
					a.rel["distinct count = rows"]++
				}
			}
			// Sums of children: across the groups of one more dimension, or across periods.
			for _, d := range parent.ind.Dimensions {
				if _, in := parent.c.Dimensions[d]; in {
					continue
				}
				var kids []term
				complete := true
				for _, g := range a.dimension(d).Groups() {
					groups := map[string]string{d: g}
					for k, v := range parent.c.Dimensions {
						groups[k] = v
					}
					kv, ok := a.dvars[key(parent.c.Indicator, parent.c.Period, groups)]
					if !ok {
						complete = false
						break
					}
					kids = append(kids, term{kv, 1})
				}
				if !complete {
					continue
				}
				var s int64
				for _, t := range kids {
					s += a.dtrue(t.v)
				}
				if s == pn {
					a.known0(append([]term{{pv, -1}}, kids...))
					a.rel["distinct count across groups"]++
				}
			}
			// Across periods: cells of the same groups in another indicator of the same
			// column whose periods tile the parent's.
			byInd := map[string][]dcell{}
			for _, c := range cells {
				if c.ind != parent.ind && c.from >= parent.from && c.to <= parent.to && sameGroups(c.c.Dimensions, parent.c.Dimensions) {
					byInd[c.ind.Name] = append(byInd[c.ind.Name], c)
				}
			}
			for _, name := range sortedKeys(byInd) {
				kids := byInd[name]
				var days int32
				var s int64
				var vec []term
				for _, k := range kids {
					days += k.to - k.from
					s += *k.c.N
					vec = append(vec, term{a.dvars[key(k.c.Indicator, k.c.Period, k.c.Dimensions)], 1})
				}
				if days == parent.to-parent.from && s == pn {
					a.known0(append([]term{{pv, -1}}, vec...))
					a.rel["distinct count across periods"]++
				}
			}
		}
	}
	return nil
}

func (a *attack) dtrue(v int) int64 {
	lo := a.nvars - len(a.dtruth)
	return a.dtruth[v-lo]
}

func (a *attack) dimension(d string) spec.Dimension {
	for _, dim := range a.p.Dimensions {
		if dim.Name == d {
			return dim
		}
	}
	panic("no dimension " + d)
}

func sameGroups(x, y map[string]string) bool {
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if y[k] != v {
			return false
		}
	}
	return true
}

func key(ind, period string, groups map[string]string) string {
	b, _ := json.Marshal(groups) // sorted keys
	return ind + "|" + period + "|" + string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sub(x, y []term) []term {
	m := map[int]int64{}
	for _, t := range x {
		m[t.v] += t.c
	}
	for _, t := range y {
		m[t.v] -= t.c
	}
	var out []term
	for v, c := range m {
		if c != 0 {
			out = append(out, term{v, c})
		}
	}
	slices.SortFunc(out, func(a, b term) int { return cmp.Compare(a.v, b.v) })
	return out
}
