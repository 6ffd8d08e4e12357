package aggregate

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/pipeline/stats"
)

// cellSet is one way of breaking an indicator down: the total (no dimensions), one
// dimension, or an intersection; dims are in vocabulary order.
type cellSet struct {
	dims  []string
	sizes []int
	size  int
	// proj maps a source cube cell to the set's group index, per source.
	proj map[*source][]int32
}

func (cs *cellSet) key() string { return strings.Join(cs.dims, "×") }

// codes splits a group index into the set's dimension codes.
func (cs *cellSet) codes(gi int) []int {
	out := make([]int, len(cs.dims))
	for i := len(cs.dims) - 1; i >= 0; i-- {
		out[i] = gi % cs.sizes[i]
		gi /= cs.sizes[i]
	}
	return out
}

func (cs *cellSet) projection(s *source) []int32 {
	if p, ok := cs.proj[s]; ok {
		return p
	}
	p := make([]int32, s.size)
	pos := make([]int, len(cs.dims))
	for i, d := range cs.dims {
		pos[i] = slices.Index(s.dims, d)
	}
	for c := 0; c < s.size; c++ {
		gi := 0
		for i, sd := range pos {
			code := (c / s.strides[sd]) % s.sizes[sd]
			gi = gi*cs.sizes[i] + code
		}
		p[c] = int32(gi)
	}
	cs.proj[s] = p
	return p
}

// cell is one published cell of one indicator, with everything needed to publish,
// protect and compare it.
type cell struct {
	start int32
	set   int
	gi    int

	num, den State
	// xy is Σ numerator × denominator over the cell's units, for a Ratio of two columns of
	// the same rows (indicatorRun.cross).
	xy       float64
	distinct int64
	// Values of the measure.
	numerator, denominator float64
	hasDen                 bool
	n                      int64
	est                    stats.Estimate
	reliable               bool
	// flags say why the cell is unreliable (stats.Flag…); none when it is reliable.
	flags []string

	primary, singleton, suppressed bool
	partial                        bool
}

// indicatorRun is one indicator being computed.
type indicatorRun struct {
	ind   *spec.Indicator
	grain period.Grain
	num   *operandState
	den   *operandState
	// pairs: a Ratio whose operands read the same rows (sameRows), so each unit carries a
	// numerator and a denominator value; cross then accumulates Σ numerator × denominator
	// when both are Sum columns (nil otherwise).
	pairs bool
	cross *operandState

	sets   []*cellSet
	starts []int32
	cells  []*cell // by start, set, group index
	result IndicatorResult
}

func (ir *indicatorRun) buildSets(e *engine) {
	sets := [][]string{nil}
	for _, d := range ir.ind.Dimensions {
		sets = append(sets, []string{d})
	}
	sets = append(sets, ir.ind.Intersections...)
	order := map[string]int{}
	for i, d := range e.plan.Dimensions {
		order[d.Name] = i
	}
	for _, ds := range sets {
		ds = slices.Clone(ds)
		sort.Slice(ds, func(a, b int) bool { return order[ds[a]] < order[ds[b]] })
		cs := &cellSet{dims: ds, size: 1, proj: map[*source][]int32{}}
		for _, d := range ds {
			n := len(e.dims[d].Values) + 1
			cs.sizes = append(cs.sizes, n)
			cs.size *= n
		}
		ir.sets = append(ir.sets, cs)
	}
}

// rollup sums an operand's states at period ordinal ord into the set's groups.
func rollup(o *operandState, ord int32, cs *cellSet) []State {
	out := make([]State, cs.size)
	if ord < 0 {
		return out
	}
	proj := cs.projection(o.src)
	for c := range proj {
		st := o.state(ord, c)
		if st == (State{}) {
			continue
		}
		out[proj[c]].Merge(&st)
	}
	return out
}

func rollupDistinct(o *operandState, ord int32, cs *cellSet) []int64 {
	out := make([]int64, cs.size)
	if ord < 0 {
		return out
	}
	proj := cs.projection(o.src)
	groups := make([]map[string]struct{}, cs.size)
	for c := range proj {
		set := o.set(ord, c)
		if len(set) == 0 {
			continue
		}
		g := proj[c]
		if groups[g] == nil {
			groups[g] = map[string]struct{}{}
		}
		for v := range set {
			groups[g][v] = struct{}{}
		}
	}
	for g, set := range groups {
		out[g] = int64(len(set))
	}
	return out
}

// ordinalOf returns the ordinal of the period starting at start, or -1 when no row of the
// operand falls in it.
func ordinalOf(o *operandState, start int32) int32 {
	if ord, ok := o.tl.ordinal[start]; ok && o.hasData(ord) {
		return ord
	}
	return -1
}

// hasData reports whether any row passed the operand's filters in period ord.
func (o *operandState) hasData(ord int32) bool { return o.seen[ord] }

// latestAtOrBefore returns the latest period of o with data starting at or before start, or -1.
func latestAtOrBefore(o *operandState, start int32) int32 {
	best, ord := int32(math.MinInt32), int32(-1)
	for i, s := range o.tl.starts {
		if s <= start && s > best && o.hasData(int32(i)) {
			best, ord = s, int32(i)
		}
	}
	return ord
}

// measure computes every cell of the indicator: value, n, interval and reliability.
func (ir *indicatorRun) measure(e *engine) error {
	ir.buildSets(e)
	ind := ir.ind
	// The periods published: those of the grain in which the source has rows in this time
	// column, whatever the filters. A period without any row is no data, not a zero: it
	// is left out, which tells everyone it is empty (protection takes it as known empty).
	base := ir.num
	if ind.Measure == spec.Proportion {
		base = ir.den
	}
	ir.starts = slices.Sorted(slices.Values(base.tl.starts))
	for _, start := range ir.starts {
		numOrd := ordinalOf(ir.num, start)
		denOrd := int32(-1)
		if ir.den != nil {
			if ind.Denominator.Alignment == spec.AlignLatestAvailable {
				denOrd = latestAtOrBefore(ir.den, start)
			} else {
				denOrd = ordinalOf(ir.den, start)
			}
		}
		partial := ir.grain.Next(start) > e.asOfDay
		paired := ir.pairs && numOrd == denOrd // the same rows of the same period
		for si, cs := range ir.sets {
			nums := rollup(ir.num, numOrd, cs)
			var dens []State
			if ir.den != nil {
				dens = rollup(ir.den, denOrd, cs)
			}
			var distinct []int64
			if ind.Measure == spec.DistinctCount {
				distinct = rollupDistinct(ir.num, numOrd, cs)
			}
			var xy []State
			if ir.cross != nil {
				xy = rollup(ir.cross, numOrd, cs)
			}
			for gi := 0; gi < cs.size; gi++ {
				c := &cell{start: start, set: si, gi: gi, num: nums[gi], partial: partial}
				if dens != nil {
					c.den = dens[gi]
				}
				if distinct != nil {
					c.distinct = distinct[gi]
				}
				if xy != nil {
					c.xy = xy[gi].Total(false)
				}
				if err := ir.value(c, denOrd >= 0, paired); err != nil {
					return fmt.Errorf("cell %s: %w", ir.describe(c), err)
				}
				ir.cells = append(ir.cells, c)
			}
		}
	}
	return nil
}

// operandValue is what an operand contributes: units for Count, the column's sum for Sum.
func operandValue(op spec.Operand, st State, integer bool) float64 {
	if op.Aggregate == spec.Sum {
		return st.Total(integer)
	}
	return float64(st.Units)
}

func (ir *indicatorRun) value(c *cell, haveDen, paired bool) error {
	ind := ir.ind
	k := int64(ind.MinCellSize)
	switch ind.Measure {
	case spec.Count:
		c.n = c.num.Units
		c.numerator = float64(c.n)
		c.est = stats.Count(c.numerator)
		c.flags = stats.CountFlags(c.numerator)
	case spec.Sum:
		c.n = c.num.N
		c.numerator = c.num.Total(ir.num.integer)
		c.est = stats.Sum(float64(c.n), c.numerator, c.num.SumSquares())
		c.flags = stats.UnitsFlags(float64(c.n), c.est.Value, c.est.SE)
	case spec.Mean:
		c.n = c.num.N
		c.numerator = c.num.Total(ir.num.integer)
		c.denominator, c.hasDen = float64(c.n), true
		c.est = stats.Mean(float64(c.n), c.numerator, c.num.SumSquares())
		c.flags = stats.UnitsFlags(float64(c.n), c.est.Value, c.est.SE)
	case spec.DistinctCount:
		c.n = c.distinct
		c.numerator = float64(c.n)
		c.est = stats.Estimate{Value: c.numerator, Defined: true, Note: ""}
		c.flags = stats.CountFlags(c.numerator)
	case spec.Proportion:
		num := operandValue(ind.Numerator, c.num, ir.num.integer)
		den := operandValue(*ind.Denominator, c.den, ir.den.integer)
		if num > den {
			return fmt.Errorf("the numerator (%g) is larger than the denominator (%g): a Proportion's numerator must count a subset of the denominator's units", num, den)
		}
		c.numerator, c.denominator, c.hasDen = num, den, true
		c.n = int64(den)
		c.est = stats.Proportion(num, den)
		c.flags = stats.ProportionFlags(num, den)
		if c.n > 0 {
			c.primary = c.n < k || num < float64(k) || den-num < float64(k)
			c.singleton = c.n == 1 || num == 1 || den-num == 1
		}
	case spec.Ratio, spec.Rate:
		c.numerator = operandValue(ind.Numerator, c.num, ir.num.integer)
		c.n = c.num.Units
		if ind.Numerator.Aggregate == spec.Sum {
			c.n = c.num.N
		}
		if !haveDen {
			c.est = stats.Estimate{Note: "no denominator for this period"}
			break
		}
		c.denominator, c.hasDen = operandValue(*ind.Denominator, c.den, ir.den.integer), true
		if ind.Measure == spec.Rate {
			c.est = stats.Rate(c.numerator, c.denominator, ind.Per)
			c.flags = stats.CountFlags(c.numerator)
		} else {
			c.est = ratio(ind, c, paired)
			c.flags = stats.UnitsFlags(float64(c.n), c.est.Value, c.est.SE)
		}
		if c.denominator <= 0 {
			c.est = stats.Estimate{Note: "no denominator for this period and group"}
		}
	}
	if !c.est.Defined {
		c.flags = nil
	}
	c.reliable = c.est.Defined && len(c.flags) == 0
	if ind.Measure != spec.Proportion && c.n > 0 {
		c.primary = c.n < k
		c.singleton = c.n == 1
	}
	if !c.est.Defined && c.est.Note == "" {
		c.est.Note = "no units in this cell"
	}
	return nil
}

// sameRows reports whether a Ratio's operands read the same rows: one source, time column
// and grain, and the same filters (canonical, so their order does not matter). Each unit
// then carries a numerator and a denominator value, which covary.
func sameRows(num, den *operandState) bool {
	if num.src != den.src || num.tl != den.tl {
		return false
	}
	a, _ := json.Marshal(num.op.Filters)
	b, _ := json.Marshal(den.op.Filters)
	return string(a) == string(b)
}

// unitSums returns, for one operand of a Ratio, Σ value and Σ value² over its units: a
// Count's units each contribute 1.
func unitSums(op spec.Operand, st State, value float64) (sum, sumSq float64) {
	if op.Aggregate == spec.Sum {
		return value, st.SumSquares()
	}
	return value, float64(st.Units)
}

// ratio is Σnumerator / Σdenominator by the delta method. When both operands are columns
// of the same rows (paired), each unit contributes a pair and the estimator's variance
// uses their covariance (Cochran 1977, §6.3): Σ(numᵢ − R·denᵢ)² over the units. Else the
// operands are independent (other sources, or other filters), each sum with the
// compound-Poisson variance of a Sum (a count's, its Poisson variance).
func ratio(ind *spec.Indicator, c *cell, paired bool) stats.Estimate {
	sumNum, sqNum := unitSums(ind.Numerator, c.num, c.numerator)
	sumDen, sqDen := unitSums(*ind.Denominator, c.den, c.denominator)
	if paired {
		var xy float64
		switch numSum, denSum := ind.Numerator.Aggregate == spec.Sum, ind.Denominator.Aggregate == spec.Sum; {
		case numSum && denSum:
			xy = c.xy
		case numSum: // × 1 per unit
			xy = sumNum
		case denSum:
			xy = sumDen
		default:
			xy = float64(c.num.Units)
		}
		return stats.Ratio(float64(c.num.Units), sumNum, sumDen, sqNum, sqDen, xy)
	}
	return stats.RatioCompoundPoisson(sumNum, sqNum, sumDen, sqDen)
}

func (ir *indicatorRun) describe(c *cell) string {
	cs := ir.sets[c.set]
	var parts []string
	for i, code := range cs.codes(c.gi) {
		parts = append(parts, fmt.Sprintf("%s=%d", cs.dims[i], code))
	}
	if len(parts) == 0 {
		parts = []string{"total"}
	}
	return fmt.Sprintf("period %s, %s", period.Format(c.start), strings.Join(parts, ", "))
}
