// Package stats holds the statistics Backbone publishes next to every
// indicator value: 95 % confidence intervals for each measure type,
// reliability flags (NCHS data presentation standards for proportions,
// CDC WONDER conventions for counts and rates), equity summaries across the
// groups of a dimension (NCI HD*Calc, WHO HEAT) and the statistical
// judgement of whether an indicator is on track to meet its target.
//
// The package is pure Go (gonum for distribution quantiles). It works on the
// per-cell state the aggregation engine produces — unit counts, sums, sums of
// squares and cross products — so it runs once, after partial states have been
// merged, and never sees individual rows. Suppression is decided elsewhere:
// callers pass only published cells, and tell the equity functions how many
// groups were withheld so that summaries needing every group are withheld too.
//
// Conventions:
//   - Every interval is two-sided at 95 % (see [Z95]).
//   - A quantity that cannot be computed is reported as not defined, with a
//     reason, rather than as 0, NaN or infinity in a field that looks valid.
//   - Counts such as x and n are float64 so that frequency-weighted units and
//     effective sample sizes need no conversion; they must be finite and
//     non-negative.
//
// The rules implemented here are documented for users in STATISTICS.md.
package stats
