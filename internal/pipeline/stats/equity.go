package stats

import (
	"fmt"
	"math"
	"sort"
)

// Polarity says which direction of an indicator is better.
type Polarity int

const (
	// HigherIsBetter: a favourable outcome, e.g. kindergarten readiness.
	HigherIsBetter Polarity = iota + 1
	// LowerIsBetter: an adverse outcome, e.g. chronic absence.
	LowerIsBetter
)

func (p Polarity) valid() bool { return p == HigherIsBetter || p == LowerIsBetter }

// String returns the polarity's API spelling.
func (p Polarity) String() string {
	switch p {
	case HigherIsBetter:
		return "HigherIsBetter"
	case LowerIsBetter:
		return "LowerIsBetter"
	}
	return fmt.Sprintf("Polarity(%d)", int(p))
}

// better reports whether a is strictly better than b.
func (p Polarity) better(a, b float64) bool {
	if p == LowerIsBetter {
		return a < b
	}
	return a > b
}

// meets reports whether a is at least as good as b.
func (p Polarity) meets(a, b float64) bool { return a == b || p.better(a, b) }

// Stat is a summary value that may be unavailable; Reason says why when OK
// is false (withheld because of suppression, undefined for the data, …).
type Stat struct {
	Value  float64
	OK     bool
	Reason string
}

func stat(v float64) Stat { return Stat{Value: v, OK: true} }

func noStat(format string, args ...any) Stat {
	return Stat{Value: math.NaN(), Reason: fmt.Sprintf(format, args...)}
}

// Group is one published group of a dimension in one period.
type Group struct {
	Name string
	// Value is the group's indicator value (rate, proportion, mean, …).
	// NaN means the group has no value (for instance no denominator).
	Value float64
	// Weight is the group's population weight: the denominator, the
	// population or the number of units. 0 or NaN when absent; the
	// population-weighted summaries need it for every group.
	Weight float64
	// Reliable is the group's reliability flag. Unreliable groups take part
	// in the summaries but are never named best or worst.
	Reliable bool
	// Unknown marks the dimension's unknown group, which is left out of every
	// equity statistic (it stays in the total).
	Unknown bool
}

// EquityInput is one dimension in one period.
type EquityInput struct {
	// Groups are the published groups. Suppressed groups must not be passed;
	// count them in Suppressed instead.
	Groups []Group
	// Suppressed is the number of the dimension's groups, other than the
	// unknown group, withheld by suppression in this period.
	Suppressed int
	// ReferenceGroup names the reference group (the Initiative's fixed
	// choice for the dimension). Empty: the reference is Total.
	ReferenceGroup string
	// Total is the dimension's total value, the reference when no reference
	// group is set. NaN when the total is not published.
	Total float64
	// Polarity of the indicator; it orders best and worst and sets the
	// direction of the adverse terms.
	Polarity Polarity
	// Bound is the top of the value's scale when it has one: 1 for a
	// proportion, 100 for a percentage; 0 when the scale is unbounded
	// (rates, means, counts). For a HigherIsBetter indicator with a Bound the
	// relative measures are computed on the shortfall Bound − value.
	Bound float64
}

// GroupEquity compares one group with the reference.
type GroupEquity struct {
	Name     string
	Value    float64
	Reliable bool
	// Difference is Value − reference value, on the indicator's own scale.
	Difference Stat
	// Ratio is the group's value over the reference value in adverse terms
	// (see [EquityResult.RelativeBasis]): above 1 means worse than the
	// reference when AdverseTerms is true.
	Ratio Stat
}

// Relative bases for [EquityResult.RelativeBasis].
const (
	// BasisValue: relative measures use the values as they are; for a
	// LowerIsBetter indicator these are already adverse terms.
	BasisValue = "value"
	// BasisShortfall: relative measures use Bound − value, the adverse
	// outcome of a bounded HigherIsBetter indicator (e.g. not ready).
	BasisShortfall = "shortfall"
	// BasisFavourable: a HigherIsBetter indicator without a bound; no
	// adverse outcome can be stated and relative measures use the values
	// as they are, so a ratio above 1 is better than the reference.
	BasisFavourable = "favourable"
)

// EquityResult holds the equity statistics of one dimension in one period.
type EquityResult struct {
	// Groups compares each published group (unknown excluded) with the
	// reference, in input order.
	Groups []GroupEquity

	// Reference is the reference group's name; empty when the reference is
	// the total.
	Reference string
	// ReferenceValue is the reference value on the indicator's scale.
	ReferenceValue Stat
	// ReferenceUnreliable: the reference group is flagged unreliable.
	ReferenceUnreliable bool

	// AdverseTerms is true when the relative measures (Ratio, IDisp,
	// IDispWeighted, Theil, MLD) are in adverse terms, as HD*Calc recommends;
	// RelativeBasis says on what scale they were computed.
	AdverseTerms  bool
	RelativeBasis string

	// Published and Expected count the groups other than unknown: k
	// published with a value, of m in the dimension (published, without a
	// value, or suppressed). Coverage is "k of m groups".
	Published, Expected int
	Coverage            string

	// Best and Worst name the best and worst reliable groups by polarity;
	// empty, with BestWorstNote, when they cannot be named.
	Best, Worst   string
	BestWorstNote string

	// IDisp is the unweighted index of disparity (Pearcy & Keppel 2002, as
	// HD*Calc's IDisp), in percent.
	IDisp Stat
	// IDispWeighted is the population-weighted index of disparity, in percent.
	IDispWeighted Stat
	// PopulationAverage is μ = Σ pⱼ·rⱼ, pⱼ the population shares of the
	// published groups, on the indicator's scale.
	PopulationAverage Stat
	// BGV is the between-group variance Σ pⱼ (rⱼ − μ)² (HD*Calc).
	BGV Stat
	// Theil is the Theil index Σ pⱼ (aⱼ/μₐ) ln(aⱼ/μₐ) on the relative basis
	// (HD*Calc, WHO HEAT; not multiplied by 1000).
	Theil Stat
	// MLD is the mean log deviation Σ pⱼ ln(μₐ/aⱼ) on the relative basis.
	MLD Stat
	// PAR is the population attributable risk r_best − μ (WHO HEAT), on the
	// indicator's scale: ≥ 0 for HigherIsBetter, ≤ 0 for LowerIsBetter.
	PAR Stat
	// PARPercent is PAR/μ × 100 (WHO HEAT's population attributable
	// fraction).
	PARPercent Stat
}

// Equity computes the equity statistics of one dimension in one period,
// following NCI HD*Calc and WHO HEAT.
//
// Which groups. The unknown group is left out of everything. Groups without
// a value count as not published. Unreliable groups take part in every
// statistic (they are published and marked) but are never named best or
// worst.
//
// Reference. The reference value is the named reference group's value, or
// the dimension's total when no reference group is set; never the best group
// by default.
//
// Adverse terms (HD*Calc). Relative measures compare adverse outcomes: for a
// LowerIsBetter indicator the value itself; for a HigherIsBetter indicator
// with a Bound the shortfall aⱼ = Bound − rⱼ (readiness 0.90 → 0.10 not
// ready), so that a ratio above 1 always means worse than the reference. A
// HigherIsBetter indicator without a bound (a mean score) has no adverse
// outcome; its relative measures use the values and RelativeBasis says so.
// Differences, BGV and PAR are absolute and stay on the indicator's scale
// (BGV is the same on either scale).
//
// Index of disparity. IDisp = (1/J) Σ |aⱼ − a_ref| / a_ref × 100 over the J
// groups compared with the reference: every published group when the
// reference is the total, every group but the reference group otherwise
// (Pearcy & Keppel 2002). IDispWeighted replaces 1/J by the population shares
// of those same groups.
//
// Population-weighted summaries (BGV, Theil, MLD, PAR, PARPercent,
// IDispWeighted) use the population shares pⱼ = wⱼ/Σw of the published
// groups and μ = Σ pⱼ rⱼ, the population average of those groups — not the
// total, which also holds the unknown group. They need every group: when any
// group is suppressed (or has no value) they are withheld with the reason
// "k of m groups published"; they are not defined when a group has no
// population weight. A group at 0 stays in: its Theil term is 0 (the limit of
// x ln x), while the MLD, which needs ln(μ/0), is reported as not defined,
// naming the group.
//
// PAR (WHO HEAT): the best reliable group's value minus μ, clamped at 0 when
// the best reliable group is not better than μ; PARPercent = PAR/μ × 100.
func Equity(in EquityInput) EquityResult {
	res := EquityResult{RelativeBasis: BasisValue, AdverseTerms: true}
	if in.Polarity == HigherIsBetter {
		if in.Bound > 0 && finite(in.Bound) {
			res.RelativeBasis = BasisShortfall
		} else {
			res.RelativeBasis, res.AdverseTerms = BasisFavourable, false
		}
	}
	adverse := func(v float64) float64 {
		if res.RelativeBasis == BasisShortfall {
			return in.Bound - v
		}
		return v
	}

	// Published groups with a value, unknown left out.
	var groups []Group
	missing := 0
	for _, g := range in.Groups {
		if g.Unknown {
			continue
		}
		if !finite(g.Value) {
			missing++
			continue
		}
		groups = append(groups, g)
	}
	suppressed := max(in.Suppressed, 0)
	res.Published = len(groups)
	res.Expected = len(groups) + missing + suppressed
	res.Coverage = fmt.Sprintf("%d of %d groups", res.Published, res.Expected)

	if !in.Polarity.valid() {
		res.BestWorstNote = "polarity not set"
	}

	// Reference.
	refIdx := -1
	if in.ReferenceGroup == "" {
		if finite(in.Total) {
			res.ReferenceValue = stat(in.Total)
		} else {
			res.ReferenceValue = noStat("total not published")
		}
	} else {
		res.Reference = in.ReferenceGroup
		for i, g := range groups {
			if g.Name == in.ReferenceGroup {
				refIdx = i
				break
			}
		}
		if refIdx >= 0 {
			res.ReferenceValue = stat(groups[refIdx].Value)
			res.ReferenceUnreliable = !groups[refIdx].Reliable
		} else {
			res.ReferenceValue = noStat("reference group %q not published", in.ReferenceGroup)
		}
	}

	// Pairwise comparisons.
	ref := res.ReferenceValue
	aRef := adverse(ref.Value)
	res.Groups = make([]GroupEquity, len(groups))
	for i, g := range groups {
		ge := GroupEquity{Name: g.Name, Value: g.Value, Reliable: g.Reliable}
		switch {
		case !ref.OK:
			ge.Difference = noStat("%s", ref.Reason)
			ge.Ratio = noStat("%s", ref.Reason)
		default:
			ge.Difference = stat(g.Value - ref.Value)
			if aRef > 0 {
				ge.Ratio = stat(adverse(g.Value) / aRef)
			} else {
				ge.Ratio = noStat("reference is %g in %s terms: ratio undefined", aRef, res.RelativeBasis)
			}
		}
		res.Groups[i] = ge
	}

	// Groups compared with the reference for the index of disparity.
	var compared []Group
	for i, g := range groups {
		if i != refIdx {
			compared = append(compared, g)
		}
	}
	res.IDisp, res.IDispWeighted = indexOfDisparity(compared, ref, aRef, adverse)

	res.Best, res.Worst, res.BestWorstNote = bestWorst(groups, in.Polarity, res.BestWorstNote)

	// Population-weighted summaries need every group.
	withheld := func() (Stat, bool) {
		if res.Published < res.Expected {
			return noStat("withheld: %s published", res.Coverage), true
		}
		if len(groups) < 2 {
			return noStat("needs at least 2 groups"), true
		}
		for _, g := range groups {
			if !(g.Weight > 0) || !finite(g.Weight) {
				return noStat("no population weight for group %q", g.Name), true
			}
		}
		return Stat{}, false
	}
	if s, stop := withheld(); stop {
		res.PopulationAverage, res.BGV, res.Theil, res.MLD, res.PAR, res.PARPercent = s, s, s, s, s, s
		if res.Published < res.Expected {
			res.IDispWeighted = s
		}
		return res
	}

	shares := populationShares(groups)
	var mu Neumaier
	for i, g := range groups {
		mu.Add(shares[i] * g.Value)
	}
	mean := mu.Sum()
	res.PopulationAverage = stat(mean)

	var bgv Neumaier
	for i, g := range groups {
		d := g.Value - mean
		bgv.Add(shares[i] * d * d)
	}
	res.BGV = stat(bgv.Sum())

	res.Theil, res.MLD = theilMLD(groups, shares, adverse)
	res.PAR, res.PARPercent = populationAttributableRisk(groups, in.Polarity, res.Best, res.BestWorstNote, mean)
	return res
}

// populationShares returns wⱼ/Σw.
func populationShares(groups []Group) []float64 {
	var total Neumaier
	for _, g := range groups {
		total.Add(g.Weight)
	}
	t := total.Sum()
	shares := make([]float64, len(groups))
	for i, g := range groups {
		shares[i] = g.Weight / t
	}
	return shares
}

// indexOfDisparity returns the unweighted and population-weighted index of
// disparity of the compared groups against the reference, in percent. The
// weighted index is returned without a reason when it cannot be computed
// because of missing weights; the caller decides about suppression.
func indexOfDisparity(compared []Group, ref Stat, aRef float64, adverse func(float64) float64) (unweighted, weighted Stat) {
	switch {
	case !ref.OK:
		s := noStat("%s", ref.Reason)
		return s, s
	case !(aRef > 0):
		s := noStat("reference is %g in adverse terms: index of disparity undefined", aRef)
		return s, s
	case len(compared) == 0:
		s := noStat("no group to compare with the reference")
		return s, s
	}
	var sum Neumaier
	for _, g := range compared {
		sum.Add(math.Abs(adverse(g.Value) - aRef))
	}
	unweighted = stat(sum.Sum() / float64(len(compared)) / aRef * 100)

	for _, g := range compared {
		if !(g.Weight > 0) || !finite(g.Weight) {
			return unweighted, noStat("no population weight for group %q", g.Name)
		}
	}
	shares := populationShares(compared)
	var wsum Neumaier
	for i, g := range compared {
		wsum.Add(shares[i] * math.Abs(adverse(g.Value)-aRef))
	}
	return unweighted, stat(wsum.Sum() / aRef * 100)
}

// theilMLD returns the Theil index and the mean log deviation on the
// relative basis.
func theilMLD(groups []Group, shares []float64, adverse func(float64) float64) (theil, mld Stat) {
	a := make([]float64, len(groups))
	var mu Neumaier
	for i, g := range groups {
		a[i] = adverse(g.Value)
		if a[i] < 0 {
			s := noStat("group %q is negative in adverse terms: Theil index and MLD undefined", g.Name)
			return s, s
		}
		mu.Add(shares[i] * a[i])
	}
	m := mu.Sum()
	if !(m > 0) {
		s := noStat("population average is 0: Theil index and MLD undefined")
		return s, s
	}
	var t, l Neumaier
	zero := ""
	for i, g := range groups {
		r := a[i] / m
		if r > 0 {
			t.Add(shares[i] * r * math.Log(r))
			l.Add(-shares[i] * math.Log(r))
		} else if zero == "" {
			// Theil term: lim x→0 x·ln x = 0. MLD term: ln(μ/0) is infinite.
			zero = g.Name
		}
	}
	theil = stat(t.Sum())
	if zero != "" {
		return theil, noStat("group %q is 0: mean log deviation undefined", zero)
	}
	return theil, stat(l.Sum())
}

// populationAttributableRisk returns WHO HEAT's PAR and PAF.
func populationAttributableRisk(groups []Group, pol Polarity, best, note string, mean float64) (par, paf Stat) {
	if !pol.valid() {
		s := noStat("polarity not set")
		return s, s
	}
	if best == "" {
		s := noStat("no best group: %s", note)
		return s, s
	}
	var bestValue float64
	for _, g := range groups {
		if g.Name == best {
			bestValue = g.Value
			break
		}
	}
	v := bestValue - mean
	if pol.better(mean, bestValue) {
		v = 0 // the best reliable group is not better than the average
	}
	par = stat(v)
	if mean == 0 {
		return par, noStat("population average is 0: attributable fraction undefined")
	}
	return par, stat(v / mean * 100)
}

// bestWorst names the best and worst reliable groups; ties go to the first
// name in sort order, so the choice is deterministic.
func bestWorst(groups []Group, pol Polarity, note string) (best, worst, why string) {
	if note != "" {
		return "", "", note
	}
	var rel []Group
	for _, g := range groups {
		if g.Reliable {
			rel = append(rel, g)
		}
	}
	if len(rel) < 2 {
		return "", "", "fewer than 2 reliable groups"
	}
	sort.SliceStable(rel, func(i, j int) bool { return rel[i].Name < rel[j].Name })
	b, w := rel[0], rel[0]
	for _, g := range rel[1:] {
		if pol.better(g.Value, b.Value) {
			b = g
		}
		if pol.better(w.Value, g.Value) {
			w = g
		}
	}
	if b.Value == w.Value {
		return "", "", "all reliable groups have the same value"
	}
	return b.Name, w.Name, ""
}
