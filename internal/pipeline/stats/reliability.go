package stats

import (
	"fmt"
	"math"
)

// Reliability thresholds.
const (
	// MinReliableEvents: counts and rates based on fewer events are flagged
	// unreliable (CDC WONDER; the Poisson RSE 1/√x is 23 % or more below 20).
	MinReliableEvents = 20
	// MinReliableMeanN: means, sums and ratios of fewer units are flagged unreliable.
	MinReliableMeanN = 30
	// MaxReliableRSE: means, sums and ratios whose relative standard error
	// SE/|value| reaches this are flagged unreliable (NCHS convention).
	MaxReliableRSE = 0.30

	// NCHS Data Presentation Standards for Proportions (Parker et al. 2017).
	NCHSMinEffectiveN    = 30   // minimum effective sample size
	NCHSMaxWidth         = 0.30 // absolute CI width at or above which p is suppressed
	NCHSRelativeMinWidth = 0.05 // relative width is considered only above this absolute width
	NCHSMaxRelativeWidth = 1.30 // relative CI width (width/p) above which p is suppressed
)

// CountReliable applies the CDC WONDER rule to a count: fewer than 20
// events is unreliable (RSE 23 % or more). A count of 0 is unreliable too: its
// RSE is undefined and it says nothing precise about the underlying rate.
func CountReliable(events float64) (reliable bool, reason string) {
	if !finite(events) || events < 0 {
		return false, "invalid count"
	}
	if events < MinReliableEvents {
		return false, fmt.Sprintf("fewer than %d events (%g): RSE 23%% or more", MinReliableEvents, events)
	}
	return true, ""
}

// RateReliable applies the CDC WONDER rule to a rate: it is unreliable when
// based on fewer than 20 numerator events, whatever the population.
func RateReliable(events float64) (reliable bool, reason string) {
	return CountReliable(events)
}

// ProportionCheck is the full NCHS assessment of a proportion.
type ProportionCheck struct {
	Reliable bool
	// Reason says why the proportion is unreliable; empty when reliable.
	Reason string

	P    float64  // the proportion x/n
	NEff float64  // effective sample size used
	CI   Interval // Clopper–Pearson (Korn–Graubard for n_eff ≠ n) interval
	// Width is CI.Upper − CI.Lower.
	Width float64
	// RelativeWidth is Width/p (1.30 = 130 %); NaN when p = 0.
	RelativeWidth float64
	// ComplementRelativeWidth is Width/(1−p); NaN when p = 1.
	ComplementRelativeWidth float64

	// ComplementUnreliable: the proportion is presentable but its complement
	// 1−p would not be (relative width of 1−p above 130 %). NCHS presents p
	// with a footnote that its complement may be unreliable.
	ComplementUnreliable bool
	// Review: NCHS recommends statistical review before publication: the
	// proportion is 0 or 1, or its complement is unreliable. Review does not
	// make the proportion unreliable.
	Review       bool
	ReviewReason string
}

// ProportionReliable applies the NCHS standard to x/n from a simple random
// sample (n_eff = n). See [NCHSProportion].
func ProportionReliable(x, n float64) (reliable bool, reason string) {
	c := NCHSProportion(x, n, n)
	return c.Reliable, c.Reason
}

// NCHSProportion applies the National Center for Health Statistics Data
// Presentation Standards for Proportions (Parker JD, Talih M, Malec DJ, et al.
// Vital Health Stat 2(175), 2017) to the proportion p = x/n.
//
// The standard, in order:
//
//  1. Effective sample size n_eff < 30: suppress (unreliable).
//  2. Absolute width of the Korn–Graubard 95 % interval ≥ 0.30: suppress.
//  3. Absolute width > 0.05 and relative width, width/p, > 130 %: suppress.
//     For p = 0 the relative width is undefined and the rule does not apply.
//  4. Otherwise the proportion is presented.
//
// The complementary proportion 1−p does not enter the suppression rules:
// the standard presents p, with a footnote that its complement may be
// unreliable, when width > 0.05 and width/(1−p) > 130 % (so a proportion close
// to 1 is not suppressed because its small complement is imprecise). Such
// proportions, and proportions of exactly 0 or 1, are flagged for statistical
// review ([ProportionCheck.Review]); the flag does not change Reliable. This
// is how NCHS's own SAS and R implementations of the standard apply it.
//
// nEff is the effective sample size n/deff; for a simple random sample, or
// when nEff is not positive, n_eff = n. n_eff is capped at n. When
// n_eff < n the interval is the Korn–Graubard one, Clopper–Pearson at
// (p·n_eff, n_eff); the standard's degrees-of-freedom adjustment and review
// (df < 8) apply to complex survey designs and are not modelled here.
func NCHSProportion(x, n, nEff float64) ProportionCheck {
	c := ProportionCheck{
		P: math.NaN(), NEff: nEff,
		Width: math.NaN(), RelativeWidth: math.NaN(), ComplementRelativeWidth: math.NaN(),
	}
	if !validBinomial(x, n) {
		c.Reason = "no valid proportion (denominator 0 or numerator outside [0, denominator])"
		return c
	}
	if !finite(nEff) || nEff <= 0 || nEff > n {
		nEff = n
	}
	c.NEff = nEff
	p := x / n
	c.P = p
	c.CI, _ = ClopperPearson(p*nEff, nEff)
	c.Width = c.CI.Width()
	if p > 0 {
		c.RelativeWidth = c.Width / p
	}
	if p < 1 {
		c.ComplementRelativeWidth = c.Width / (1 - p)
	}

	switch {
	case nEff < NCHSMinEffectiveN:
		c.Reason = fmt.Sprintf("effective sample size %g is below %d (NCHS)", nEff, NCHSMinEffectiveN)
	case c.Width >= NCHSMaxWidth:
		c.Reason = fmt.Sprintf("confidence interval width %.3f is %.2f or more (NCHS)", c.Width, NCHSMaxWidth)
	case c.Width > NCHSRelativeMinWidth && c.RelativeWidth > NCHSMaxRelativeWidth:
		c.Reason = fmt.Sprintf("confidence interval width %.3f exceeds %.2f and relative width %.0f%% exceeds %.0f%% (NCHS)",
			c.Width, NCHSRelativeMinWidth, 100*c.RelativeWidth, 100*NCHSMaxRelativeWidth)
	default:
		c.Reliable = true
	}
	if !c.Reliable {
		return c
	}

	c.ComplementUnreliable = c.Width > NCHSRelativeMinWidth && c.ComplementRelativeWidth > NCHSMaxRelativeWidth
	switch {
	case p == 0:
		c.Review, c.ReviewReason = true, "proportion is 0 (NCHS: statistical review)"
	case p == 1:
		c.Review, c.ReviewReason = true, "proportion is 1 (NCHS: statistical review)"
	case c.ComplementUnreliable:
		c.Review, c.ReviewReason = true, fmt.Sprintf(
			"complement 1-p may be unreliable: relative width %.0f%% exceeds %.0f%% (NCHS: footnote)",
			100*c.ComplementRelativeWidth, 100*NCHSMaxRelativeWidth)
	}
	return c
}

// MeanReliable flags a mean of n units unreliable when n < 30 or its
// relative standard error se/|mean| is 30 % or more.
func MeanReliable(n, mean, se float64) (reliable bool, reason string) {
	if !finite(n) || n < MinReliableMeanN {
		return false, fmt.Sprintf("fewer than %d units (%g)", MinReliableMeanN, n)
	}
	return rseReliable(mean, se)
}

// SumReliable flags a sum of n units unreliable when n < 30 or its RSE se/|sum| is 30 %
// or more.
func SumReliable(n, sum, se float64) (reliable bool, reason string) {
	return MeanReliable(n, sum, se)
}

// RatioReliable flags a ratio over n numerator units unreliable when n < 30 or its RSE
// se/|ratio| is 30 % or more.
func RatioReliable(n, ratio, se float64) (reliable bool, reason string) {
	return MeanReliable(n, ratio, se)
}

// RSE returns the relative standard error se/|value|. It is 0 when se is 0
// (no sampling variability, even at value 0) and +Inf when value is 0 and se
// is positive; ok is false when either input is missing or se is negative.
func RSE(value, se float64) (rse float64, ok bool) {
	if !finite(value, se) || se < 0 {
		return math.NaN(), false
	}
	if se == 0 {
		return 0, true
	}
	if value == 0 {
		return math.Inf(1), true
	}
	return se / math.Abs(value), true
}

func rseReliable(value, se float64) (bool, string) {
	rse, ok := RSE(value, se)
	switch {
	case !ok:
		return false, "no standard error (needs at least 2 units)"
	case math.IsInf(rse, 1):
		return false, "estimate is 0 with a positive standard error: RSE undefined"
	case rse >= MaxReliableRSE:
		return false, fmt.Sprintf("relative standard error %.0f%% is %.0f%% or more", 100*rse, 100*MaxReliableRSE)
	}
	return true, ""
}
