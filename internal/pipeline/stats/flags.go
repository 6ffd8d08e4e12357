package stats

import "math"

// Flags say why an estimate is flagged unreliable, in every output, so a reader can tell
// a Proportion flagged by the Clopper–Pearson width (while its interval shown is Wilson's)
// from one flagged for its n. An estimate is reliable when it has none.
const (
	// FlagFewUnits: fewer than 30 units (a Proportion's effective n, a Mean's, a Sum's
	// or a Ratio's numerator units).
	FlagFewUnits = "n<30"
	// FlagFewEvents: a Count or Rate of fewer than 20 events (RSE 23 % or more).
	FlagFewEvents = "events<20"
	// FlagCPWidth: a Proportion's Clopper–Pearson interval is 0.30 wide or more (NCHS).
	FlagCPWidth = "cp-width"
	// FlagCPRelativeWidth: a Proportion's Clopper–Pearson interval is wider than 0.05 and
	// than 130 % of the proportion (NCHS).
	FlagCPRelativeWidth = "cp-relative-width"
	// FlagRSE: the relative standard error is 30 % or more, or undefined (no standard
	// error, or a value of 0 with a positive one).
	FlagRSE = "rse"
)

// CountFlags flags a Count or Rate of fewer than 20 events, 0 included.
func CountFlags(events float64) []string {
	if !finite(events) || events < MinReliableEvents {
		return []string{FlagFewEvents}
	}
	return nil
}

// ProportionFlags lists every NCHS rule x/n fails (see [NCHSProportion]). The width
// rules are decided from certified bounds on the Clopper–Pearson width where they
// suffice, from the exact interval otherwise (see cpWidthRules): the flags are those of
// NCHSProportion.
func ProportionFlags(x, n float64) []string {
	var wide, relWide bool
	if validBinomial(x, n) {
		wide, relWide = cpWidthRules(x, n)
	} else {
		// No interval: NCHSProportion's width is NaN, so only the n rule can apply.
		wide, relWide = false, false
	}
	var out []string
	if !(n >= NCHSMinEffectiveN) {
		out = append(out, FlagFewUnits)
	}
	if wide {
		out = append(out, FlagCPWidth)
	}
	if relWide {
		out = append(out, FlagCPRelativeWidth)
	}
	return out
}

// UnitsFlags flags an estimate over n units (a Mean, a Sum, a Ratio) with fewer than 30
// units or a relative standard error of 30 % or more.
func UnitsFlags(n, value, se float64) []string {
	var out []string
	if !finite(n) || n < MinReliableMeanN {
		out = append(out, FlagFewUnits)
	}
	if rse, ok := RSE(value, se); !ok || math.IsInf(rse, 1) || rse >= MaxReliableRSE {
		out = append(out, FlagRSE)
	}
	return out
}
