package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// The NCHS width rules of a Proportion need the Clopper–Pearson width only to compare it
// with 0.30, 0.05 and 1.30·p. Inverting the incomplete beta function twice costs ≈ 10 µs;
// a couple of evaluations of the function itself bound the width tightly enough to decide
// the rules for almost every proportion. The bounds are certified by monotonicity, not
// approximated: the lower bound L is the α/2 quantile of Beta(x, n−x+1), so a point t with
// I_t(x, n−x+1) < α/2 lies below L, and one with I_t > α/2 above it; likewise for the
// upper bound U and Beta(x+1, n−x). In order: Hoeffding's inequality bounds the width of
// large cells without any evaluation; two evaluations near the Wilson interval bound
// most others; Newton steps on both bounds the ones near a threshold. Only when all
// these leave a threshold inside the bounds (34 of the 84,113 proportions of the tests'
// grid) do the rules fall back to the exact interval, so the flags are always those the
// exact interval gives.

const (
	// cpProbSlack is how far an evaluation of the incomplete beta function must be
	// from α/2 (or 1−α/2) to certify the side of the quantile its point lies on: far
	// above the ≈ 10⁻¹⁵ error of the evaluation.
	cpProbSlack = 1e-10
	// cpWidthSlack is how far a certified width bound must be from a threshold to
	// decide the rule without the exact interval: far above the error of the exact
	// quantiles (≈ 10⁻¹³) the rules compare.
	cpWidthSlack = 1e-9
)

// cpWidthRules returns the NCHS width rules of x/n — the Clopper–Pearson width is 0.30
// or more (wide), the width exceeds 0.05 and 130 % of p (relWide) — exactly as
// [NCHSProportion] decides them from [ClopperPearson] at (p·n, n). x and n must be a
// valid binomial pair.
func cpWidthRules(x, n float64) (wide, relWide bool) {
	if wide, relWide, ok := cpRulesFromTable(x, n); ok {
		return wide, relWide
	}
	wide, relWide, _ = cpWidthRulesHow(x, n)
	return wide, relWide
}

// cpWidthRulesHow is cpWidthRules without the table of small n (tables.go), and whether
// it needed the exact interval.
func cpWidthRulesHow(x, n float64) (wide, relWide, exact bool) {
	p := x / n
	xe := p * n // as NCHSProportion computes it (n_eff = n)
	// Hoeffding's bound decides most proportions of large cells without evaluating
	// anything; the bracket's upper bound most of the others (narrow intervals); a
	// Newton step on each bound those near a threshold.
	if wide, relWide, ok := decideWidth(0, hoeffdingWidth(p, n), p); ok {
		return wide, relWide, false
	}
	b := newCPBracket(xe, n)
	hi, ok := b.widthAtMost()
	if ok {
		if wide, relWide, ok := decideWidth(0, hi, p); ok {
			return wide, relWide, false
		}
	}
	// Near a threshold: both bounds bracketed closely by Newton steps.
	if lo, hi, ok := b.newtonWidth(); ok {
		if wide, relWide, ok := decideWidth(lo, hi, p); ok {
			return wide, relWide, false
		}
	}
	wide, relWide = exactWidthRules(x, n)
	return wide, relWide, true
}

// exactWidthRules decides the rules from the exact interval at (p·n, n), as
// NCHSProportion does.
func exactWidthRules(x, n float64) (wide, relWide bool) {
	p := x / n
	ci, _ := ClopperPearson(p*n, n)
	return widthRules(ci.Width(), p)
}

// newtonWidth returns certified bounds lo ≤ width ≤ hi from Newton steps on each of the
// Clopper–Pearson bounds, taken from the Wilson interval with continuity correction:
// each step lands within about the square of its start's error of the bound, and two
// evaluations a little either side of the last one certify a bracket. ok is false when
// an evaluation lands too close to a quantile to tell its side.
func (b cpBracket) newtonWidth() (lo, hi float64, ok bool) {
	lLo, lHi := 0.0, 0.0
	if b.x > 0 {
		if lLo, lHi, ok = newtonBracket(b.x, b.n-b.x+1, alpha/2, b.lw); !ok {
			return 0, 0, false
		}
	}
	uLo, uHi := 1.0, 1.0
	if b.x < b.n {
		if uLo, uHi, ok = newtonBracket(b.x+1, b.n-b.x, 1-alpha/2, b.uw); !ok {
			return 0, 0, false
		}
	}
	return uLo - lHi, uHi - lLo, true
}

// newtonSteps Newton steps from the Wilson estimate, then a bracket of newtonMargin times
// the last step either side: on the grid of TestProportionFlagsMatchExactInterval (every
// n to 400, then up to 10⁶) the exact interval is left for 34 proportions in 84,113,
// where one step and a margin of a thousandth of it left 2,722.
const (
	newtonSteps  = 2
	newtonMargin = 0.2
)

// newtonBracket returns lo ≤ t* ≤ hi for the q quantile t* of Beta(a, bb), certified by
// the monotonicity of I_t(a, bb) in t, from Newton steps taken from est.
func newtonBracket(a, bb, q, est float64) (lo, hi float64, ok bool) {
	lnB := lbeta(a, bb)
	t, step := est, 0.0
	for range newtonSteps {
		if !(t > 0 && t < 1) {
			return 0, 0, false
		}
		pdf := math.Exp((a-1)*math.Log(t) + (bb-1)*math.Log1p(-t) - lnB)
		if !(pdf > 0) || math.IsInf(pdf, 0) {
			return 0, 0, false
		}
		step = (mathext.RegIncBeta(a, bb, t) - q) / pdf
		t -= step
	}
	d := math.Abs(step)*newtonMargin + 1e-12
	lo, hi = math.Max(t-d, 0), math.Min(t+d, 1)
	if lo > 0 && !(mathext.RegIncBeta(a, bb, lo) < q-cpProbSlack) {
		return 0, 0, false
	}
	if hi < 1 && !(mathext.RegIncBeta(a, bb, hi) > q+cpProbSlack) {
		return 0, 0, false
	}
	return lo, hi, true
}

// lbeta is ln B(a, b).
func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// hoeffdingWidth returns a certified upper bound on the Clopper–Pearson width of the
// proportion p of n trials. By Hoeffding's inequality, P_q(X ≤ np) ≤ exp(−2n(q−p)²) for
// every q above p: at q = p + t with exp(−2nt²) = α/2 the tail is at most α/2, so the
// upper bound U, where the tail is exactly α/2, lies at or below p + t (the tail falls as
// q grows). Likewise the lower bound L lies at or above p − t. The width is then at most
// 2t = 2·√(ln(2/α)/2n), clipped to [0, 1]: below 0.05 from n = 2,951, below 0.30 from
// n = 82.
func hoeffdingWidth(p, n float64) float64 {
	t := math.Sqrt(math.Log(2/alpha) / (2 * n))
	return math.Min(p+t, 1) - math.Max(p-t, 0)
}

// widthRules applies the NCHS width rules to an exact width, as NCHSProportion does.
func widthRules(w, p float64) (wide, relWide bool) {
	rel := math.NaN()
	if p > 0 {
		rel = w / p
	}
	return w >= NCHSMaxWidth, w > NCHSRelativeMinWidth && rel > NCHSMaxRelativeWidth
}

// decideWidth decides both rules from certified bounds lo ≤ width ≤ hi when every
// threshold lies clearly outside [lo, hi]; ok is false otherwise.
func decideWidth(lo, hi, p float64) (wide, relWide, ok bool) {
	switch {
	case hi < NCHSMaxWidth-cpWidthSlack:
		wide = false
	case lo >= NCHSMaxWidth+cpWidthSlack:
		wide = true
	default:
		return false, false, false
	}
	switch {
	case p <= 0, hi < NCHSRelativeMinWidth-cpWidthSlack, hi < p*(NCHSMaxRelativeWidth-cpWidthSlack):
		relWide = false
	case lo > NCHSRelativeMinWidth+cpWidthSlack && lo > p*(NCHSMaxRelativeWidth+cpWidthSlack):
		relWide = true
	default:
		return false, false, false
	}
	return wide, relWide, true
}

// cpBracket brackets the Clopper–Pearson bounds at (x, n) around the Wilson interval
// with continuity correction, widened by d on each side: L ∈ [lw−d, lw+d] and
// U ∈ [uw−d, uw+d] once certified.
type cpBracket struct {
	x, n, lw, uw, d float64
}

func newCPBracket(x, n float64) cpBracket {
	lw, uw := wilsonCC(x, n)
	return cpBracket{x: x, n: n, lw: lw, uw: uw, d: 0.02*(uw-lw) + 1e-4}
}

// cpWiden lists the multiples of d tried in turn to certify a side: the Wilson interval
// with continuity correction misses the exact bounds by more than d only for a few small n.
var cpWiden = [...]float64{1, 8}

// widthAtMost returns a certified upper bound on the width: a point below L (0 when
// x = 0) and one above U (1 when x = n). ok is false when no point certifies.
func (b cpBracket) widthAtMost() (hi float64, ok bool) {
	l, u := 0.0, 1.0
	if b.x > 0 {
		if l, ok = b.certify(b.lw, -1, b.x, b.n-b.x+1, alpha/2); !ok {
			return 0, false
		}
	}
	if b.x < b.n {
		if u, ok = b.certify(b.uw, +1, b.x+1, b.n-b.x, 1-alpha/2); !ok {
			return 0, false
		}
	}
	return u - l, true
}

// certify returns a point on the given side of the q quantile of Beta(a, bb) (side −1:
// below it, +1: above it), moving from the estimate est by multiples of d, clipped to
// [0, 1], where 0 and 1 hold without evaluation.
func (b cpBracket) certify(est, side, a, bb, q float64) (float64, bool) {
	for _, k := range cpWiden {
		t := math.Min(math.Max(est+side*k*b.d, 0), 1)
		if side < 0 && (t == 0 || mathext.RegIncBeta(a, bb, t) < q-cpProbSlack) {
			return t, true
		}
		if side > 0 && (t == 1 || mathext.RegIncBeta(a, bb, t) > q+cpProbSlack) {
			return t, true
		}
	}
	return 0, false
}

// wilsonCC returns the Wilson score interval with continuity correction (Newcombe 1998,
// method 4), close to the Clopper–Pearson interval: the starting points of
// cpWidthBounds.
func wilsonCC(x, n float64) (lower, upper float64) {
	const z2 = Z95 * Z95
	p := x / n
	q := 1 - p
	den := 2 * (n + z2)
	lower, upper = 0, 1
	if x > 0 {
		lower = (2*n*p + z2 - 1 - Z95*math.Sqrt(math.Max(z2-2-1/n+4*p*(n*q+1), 0))) / den
	}
	if x < n {
		upper = (2*n*p + z2 + 1 + Z95*math.Sqrt(math.Max(z2+2-1/n+4*p*(n*q-1), 0))) / den
	}
	return math.Max(lower, 0), math.Min(upper, 1)
}
