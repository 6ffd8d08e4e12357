package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// Z95 is the standard normal quantile for a two-sided 95 % interval,
// Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// alpha is the two-sided error rate of every interval in this package.
const alpha = 0.05

// Interval is a two-sided 95 % confidence interval.
type Interval struct {
	Lower float64
	Upper float64
}

// Width returns Upper − Lower.
func (ci Interval) Width() float64 { return ci.Upper - ci.Lower }

// Contains reports whether v lies in the closed interval.
func (ci Interval) Contains(v float64) bool { return ci.Lower <= v && v <= ci.Upper }

// Scale returns the interval multiplied by a non-negative factor.
func (ci Interval) Scale(f float64) Interval { return Interval{ci.Lower * f, ci.Upper * f} }

// SEFromInterval returns the standard error implied by a symmetric normal
// 95 % interval, (Upper − Lower) / (2·Z95). For an asymmetric interval
// (Garwood, Wilson) it is an approximation, good enough to compare periods.
func SEFromInterval(ci Interval) float64 { return ci.Width() / (2 * Z95) }

// finite reports whether every argument is a finite number.
func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Garwood returns the exact Poisson interval for an observed count x
// (Garwood 1936):
//
//	lower = ½ χ²(α/2; 2x)      = Gamma(shape x).Quantile(α/2),   0 when x = 0
//	upper = ½ χ²(1−α/2; 2x+2)  = Gamma(shape x+1).Quantile(1−α/2)
//
// ok is false when x is negative or not finite.
//
// The intervals of the integral counts below garwoodTableSize come from a table of the
// same values (tables.go).
func Garwood(x float64) (ci Interval, ok bool) {
	if !finite(x) || x < 0 {
		return Interval{}, false
	}
	if ci, ok := garwoodFromTable(x); ok {
		return ci, true
	}
	return garwood(x), true
}

func garwood(x float64) (ci Interval) {
	if x > 0 {
		ci.Lower = gammaQuantile(x, alpha/2, -Z95)
	}
	ci.Upper = gammaQuantile(x+1, 1-alpha/2, Z95)
	return ci
}

// gammaQuantile is the p quantile of the Gamma(a, 1) distribution, z the standard normal
// quantile at p. From a = 5 on, Newton's method on the regularised incomplete gamma
// function from the Wilson–Hilferty approximation converges in a few steps (it agrees
// with distuv.Gamma's quantile to 1e-15 relative, twenty times faster); below that, and if
// Newton's method ever fails to converge, distuv.Gamma decides.
func gammaQuantile(a, p, z float64) float64 {
	if a >= 5 {
		h := 1 / (9 * a)
		q := a * math.Pow(1-h+z*math.Sqrt(h), 3)
		lg, _ := math.Lgamma(a)
		for range 30 {
			step := (mathext.GammaIncReg(a, q) - p) / math.Exp((a-1)*math.Log(q)-q-lg)
			q -= step
			if !(q > 0) || math.IsInf(q, 0) {
				break
			}
			if math.Abs(step) <= 1e-15*q {
				return q
			}
		}
	}
	return distuv.Gamma{Alpha: a, Beta: 1}.Quantile(p)
}

// validBinomial reports whether x successes out of n trials make sense.
func validBinomial(x, n float64) bool {
	return finite(x, n) && n > 0 && x >= 0 && x <= n
}

// Wilson returns the Wilson score interval for the proportion x/n
// (Wilson 1927). It is defined at x = 0 (lower bound exactly 0) and at
// x = n (upper bound exactly 1). ok is false when n ≤ 0 or x is outside
// [0, n].
func Wilson(x, n float64) (ci Interval, ok bool) {
	if !validBinomial(x, n) {
		return Interval{}, false
	}
	const z2 = Z95 * Z95
	p := x / n
	d := 1 + z2/n
	centre := (p + z2/(2*n)) / d
	half := Z95 / d * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	ci = Interval{Lower: centre - half, Upper: centre + half}
	// At the edges the exact bound is 0 or 1; rounding must not move it.
	if x == 0 {
		ci.Lower = 0
	}
	if x == n {
		ci.Upper = 1
	}
	ci.Lower = math.Max(0, ci.Lower)
	ci.Upper = math.Min(1, ci.Upper)
	return ci, true
}

// ClopperPearson returns the exact (Clopper–Pearson 1934) interval for the
// proportion x/n from beta quantiles:
//
//	lower = Beta(x, n−x+1).Quantile(α/2),    0 when x = 0
//	upper = Beta(x+1, n−x).Quantile(1−α/2),  1 when x = n
//
// Non-integer x and n are accepted, which is how the Korn–Graubard interval
// for an effective sample size is computed (x = p·n_eff, n = n_eff). ok is
// false when n ≤ 0 or x is outside [0, n].
func ClopperPearson(x, n float64) (ci Interval, ok bool) {
	if !validBinomial(x, n) {
		return Interval{}, false
	}
	ci.Upper = 1
	if x > 0 {
		ci.Lower = distuv.Beta{Alpha: x, Beta: n - x + 1}.Quantile(alpha / 2)
	}
	if x < n {
		ci.Upper = distuv.Beta{Alpha: x + 1, Beta: n - x}.Quantile(1 - alpha/2)
	}
	return ci, true
}

// TQuantile95 returns the Student t quantile t(0.975; df) used by 95 %
// t intervals. df must be positive.
//
// From 300 degrees of freedom on it is Fisher's asymptotic expansion in 1/df around the
// normal quantile (Abramowitz and Stegun 26.7.5, four terms), whose truncation error there
// is below 10⁻¹³ relative and falls with df, where the inverse incomplete beta costs
// microseconds per call and loses digits as df grows (8·10⁻¹⁰ relative at 10⁷).
func TQuantile95(df float64) float64 {
	if df >= 300 {
		return tExpansion95(df)
	}
	// Below 300, integral degrees of freedom (every cell's n − 1) come from a table.
	if df == math.Trunc(df) && df >= 1 {
		return tTable95[int(df)-1]
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - alpha/2)
}

// Coefficients g₁…g₄ of Abramowitz and Stegun 26.7.5 at x = z(0.975).
var tg1, tg2, tg3, tg4 = func() (g1, g2, g3, g4 float64) {
	x := Z95
	p := func(k int) float64 { return math.Pow(x, float64(k)) }
	g1 = (p(3) + x) / 4
	g2 = (5*p(5) + 16*p(3) + 3*x) / 96
	g3 = (3*p(7) + 19*p(5) + 17*p(3) - 15*x) / 384
	g4 = (79*p(9) + 776*p(7) + 1482*p(5) - 1920*p(3) - 945*x) / 92160
	return
}()

func tExpansion95(df float64) float64 {
	v := 1 / df
	return Z95 + v*(tg1+v*(tg2+v*(tg3+v*tg4)))
}

// normalInterval returns value ± Z95·se.
func normalInterval(value, se float64) Interval {
	return Interval{Lower: value - Z95*se, Upper: value + Z95*se}
}
