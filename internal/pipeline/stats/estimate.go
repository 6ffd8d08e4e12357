package stats

import (
	"fmt"
	"math"
)

// Estimate is a measure's value with its standard error and 95 % interval.
//
// Defined is false when the value itself cannot be computed (no units, no
// denominator); HasCI is false when the value exists but its standard error
// and interval do not (for instance a mean of one unit). Note says why,
// whenever either is false.
type Estimate struct {
	Value   float64
	SE      float64
	CI      Interval
	Defined bool
	HasCI   bool
	Note    string
}

func undefined(note string) Estimate {
	return Estimate{Value: math.NaN(), SE: math.NaN(), Note: note}
}

func valueOnly(v float64, note string) Estimate {
	return Estimate{Value: v, SE: math.NaN(), Defined: true, Note: note}
}

// centredSS returns Σx² − (Σx)²/n, the centred sum of squares, computed with
// a fused multiply-add so the subtraction loses as little as possible, and
// clamped at 0: rounding can make a true zero (all values equal) slightly
// negative, and a variance is never negative.
func centredSS(n, sum, sumSq float64) float64 {
	if n <= 0 {
		return 0
	}
	ss := math.FMA(-sum/n, sum, sumSq)
	if !(ss > 0) { // also catches NaN
		return 0
	}
	return ss
}

// sampleVariance returns s² = (Σx² − (Σx)²/n)/(n−1); n must be at least 2.
func sampleVariance(n, sum, sumSq float64) float64 {
	return centredSS(n, sum, sumSq) / (n - 1)
}

// Count returns a count x (Σ units) with its exact Poisson (Garwood)
// interval and Poisson standard error √x.
func Count(x float64) Estimate {
	ci, ok := Garwood(x)
	if !ok {
		return undefined("count must be a non-negative number")
	}
	return Estimate{Value: x, SE: math.Sqrt(x), CI: ci, Defined: true, HasCI: true}
}

// Proportion returns x/n with the Wilson score interval and the binomial
// standard error √(p(1−p)/n). x is the numerator units (a subset of the
// denominator), n the denominator units.
func Proportion(x, n float64) Estimate {
	if !finite(x, n) || n <= 0 {
		return undefined("no denominator units")
	}
	if x < 0 || x > n {
		return undefined(fmt.Sprintf("numerator %g outside [0, denominator %g]", x, n))
	}
	ci, _ := Wilson(x, n)
	p := x / n
	return Estimate{Value: p, SE: math.Sqrt(p * (1 - p) / n), CI: ci, Defined: true, HasCI: true}
}

// Mean returns Σx/n for n units with a value, with the t interval
// mean ± t(0.975; n−1)·s/√n, s² = (Σx² − (Σx)²/n)/(n−1). The interval needs
// n ≥ 2.
func Mean(n, sum, sumSq float64) Estimate {
	if !finite(n, sum, sumSq) || n <= 0 {
		return undefined("no units with a value")
	}
	m := sum / n
	if n < 2 {
		return valueOnly(m, "t interval needs at least 2 units")
	}
	se := math.Sqrt(sampleVariance(n, sum, sumSq) / n)
	t := TQuantile95(n - 1)
	return Estimate{
		Value: m, SE: se, Defined: true, HasCI: true,
		CI: Interval{Lower: m - t*se, Upper: m + t*se},
	}
}

// Sum returns Σx over n contributing units with the normal interval Σx ± Z95·SE and the
// compound-Poisson standard error SE = √Σx²: the number of units is as random as the
// values they carry (a count of events, each with its amount), so the variance of the
// sum, Var(Σx) = E[N]·E[x²], is estimated by Σx². A sum of ones is then a count, with
// the count's SE √n; an interval conditional on n (√n·s) would give it SE 0. A cell
// without units has the value 0 and no interval (nothing says how large its units'
// values are).
func Sum(n, sum, sumSq float64) Estimate {
	if !finite(n, sum, sumSq) || n < 0 || sumSq < 0 {
		return undefined("invalid sums")
	}
	if n == 0 {
		return valueOnly(sum, "no units in this cell")
	}
	se := math.Sqrt(sumSq)
	return Estimate{Value: sum, SE: se, CI: normalInterval(sum, se), Defined: true, HasCI: true}
}

// Ratio returns R = Σnum/Σden over n units that each contribute a numerator
// and a denominator value, with the delta-method (Taylor linearisation)
// variance of a ratio estimator (Cochran 1977, §6.3):
//
//	Var(R) ≈ n/(n−1) · Σ(numᵢ − R·denᵢ)² / (Σden)²
//	Σ(numᵢ − R·denᵢ)² = Σnum² − 2R·Σnum·den + R²·Σden²
//
// and the normal interval R ± Z95·SE. The interval needs n ≥ 2. Use
// [RatioIndependent] when numerator and denominator come from different
// units (different sources), so no cross products exist.
func Ratio(n, sumNum, sumDen, sumNum2, sumDen2, sumNumDen float64) Estimate {
	if !finite(n, sumNum, sumDen, sumNum2, sumDen2, sumNumDen) || n <= 0 {
		return undefined("no units")
	}
	if sumDen == 0 {
		return undefined("denominator sums to 0")
	}
	r := sumNum / sumDen
	if n < 2 {
		return valueOnly(r, "delta-method interval needs at least 2 units")
	}
	// Residual sum of squares, evaluated with fused multiply-adds.
	q := math.FMA(-2*r, sumNumDen, math.FMA(r*r, sumDen2, sumNum2))
	if !(q > 0) {
		q = 0
	}
	v := n / (n - 1) * q / (sumDen * sumDen)
	se := math.Sqrt(v)
	return Estimate{Value: r, SE: se, CI: normalInterval(r, se), Defined: true, HasCI: true}
}

// RatioIndependent returns R = Σnum/Σden where the numerator sum comes from
// nNum units and the denominator sum from nDen other, independent units
// (a cross-source ratio). Each sum has variance V = n·s² as in [Sum], and
// the delta method gives
//
//	Var(R) ≈ (V_num + R²·V_den) / (Σden)².
//
// The interval needs at least 2 units on each side.
func RatioIndependent(nNum, sumNum, sumSqNum, nDen, sumDen, sumSqDen float64) Estimate {
	if !finite(nNum, sumNum, sumSqNum, nDen, sumDen, sumSqDen) || nNum < 0 || nDen < 0 {
		return undefined("invalid sums")
	}
	if sumDen == 0 {
		return undefined("denominator sums to 0")
	}
	r := sumNum / sumDen
	if nNum < 2 || nDen < 2 {
		return valueOnly(r, "delta-method interval needs at least 2 units in numerator and denominator")
	}
	vNum := nNum * sampleVariance(nNum, sumNum, sumSqNum)
	vDen := nDen * sampleVariance(nDen, sumDen, sumSqDen)
	se := math.Sqrt(vNum+r*r*vDen) / math.Abs(sumDen)
	return Estimate{Value: r, SE: se, CI: normalInterval(r, se), Defined: true, HasCI: true}
}

// RatioCompoundPoisson returns R = Σnum/Σden where numerator and denominator come from
// different units (different sources, or the same source with other filters), each sum
// with the compound-Poisson variance of [Sum] (Σx²; a count's units contribute 1 each,
// so a count gets its Poisson variance), and the delta method
//
//	Var(R) ≈ (Σnum² + R²·Σden²) / (Σden)².
//
// Unlike [RatioIndependent], a count operand is not taken as fixed: a ratio of two
// independent counts x/y has Var ≈ R²(1/x + 1/y).
func RatioCompoundPoisson(sumNum, sumSqNum, sumDen, sumSqDen float64) Estimate {
	if !finite(sumNum, sumSqNum, sumDen, sumSqDen) || sumSqNum < 0 || sumSqDen < 0 {
		return undefined("invalid sums")
	}
	if sumDen == 0 {
		return undefined("denominator sums to 0")
	}
	r := sumNum / sumDen
	se := math.Sqrt(math.FMA(r*r, sumSqDen, sumSqNum)) / math.Abs(sumDen)
	return Estimate{Value: r, SE: se, CI: normalInterval(r, se), Defined: true, HasCI: true}
}

// Rate returns per × events/population. The events are Poisson with the
// Garwood interval; the population (a census count) is treated as fixed, so
// the interval is per/population times the Garwood interval and
// SE = per·√events/population.
func Rate(events, population, per float64) Estimate {
	if !finite(events, population, per) || per <= 0 {
		return undefined("invalid rate inputs")
	}
	if population <= 0 {
		return undefined("no population for this cell")
	}
	ci, ok := Garwood(events)
	if !ok {
		return undefined("events must be a non-negative number")
	}
	f := per / population
	return Estimate{
		Value: f * events, SE: f * math.Sqrt(events), CI: ci.Scale(f),
		Defined: true, HasCI: true,
	}
}
