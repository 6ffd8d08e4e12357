package metrics

// family is one metric family: its name, help and the labels its series carry (besides
// region, which every series carries last).
type family struct {
	name, help string
	labels     labelSet
}

// labelSet names the labels of a family's series, in the order they are written.
type labelSet int

const (
	indicatorLabels   labelSet = iota // namespace, initiative, indicator
	headlineLabels                    // namespace, initiative, indicator, period
	cellLabels                        // namespace, initiative, indicator, period, dimension, group
	equityLabels                      // namespace, initiative, indicator, period, dimension
	equityGroupLabels                 // namespace, initiative, indicator, period, dimension, group
	sourceLabels                      // namespace, initiative, source, partner
)

// labelNames are the label names of each set, region last.
var labelNames = map[labelSet][]string{
	indicatorLabels:   {"namespace", "initiative", "indicator", "region"},
	headlineLabels:    {"namespace", "initiative", "indicator", "period", "region"},
	cellLabels:        {"namespace", "initiative", "indicator", "period", "dimension", "group", "region"},
	equityLabels:      {"namespace", "initiative", "indicator", "period", "dimension", "region"},
	equityGroupLabels: {"namespace", "initiative", "indicator", "period", "dimension", "group", "region"},
	sourceLabels:      {"namespace", "initiative", "source", "partner", "region"},
}

// Family indexes, in the order of the exposition.
const (
	fLastComputed = iota
	fTarget
	fTargetRatio
	fBaseline
	fBaselineRatio
	fOnTrack
	fProgress
	fCells
	fSuppressedCells
	fSeries
	fSeriesCapped

	fValue
	fValueRatio
	fCILower
	fCILowerRatio
	fCIUpper
	fCIUpperRatio
	fNumerator
	fDenominator
	fN
	fReliable
	fSuppressed
	fPartial

	fIDisp
	fIDispWeighted
	fBGV
	fTheil
	fMLD
	fPAR
	fPARRatio
	fGroups
	fSuppressedGroups
	fUnknownShare
	fDifference
	fRatioToReference
	fReference
	fBest
	fWorst

	fSourceLastIngest
	fSourcePromoted
	fSourceInputRows
	fSourceAcceptedRows
	fSourceRejectedRows
	fSourceExcludedRows
	fSourceRejectRatio
	fSourceSnapshotBytes
	fSourceEngineBytes

	numFamilies
)

// families are every family of the exposition, by index. The help texts hold no double
// quote, so their HELP lines are the same in both formats.
var families = [numFamilies]family{
	fLastComputed:    {"backbone_indicator_last_computed_timestamp_seconds", "When the result the series come from was computed (Unix time).", indicatorLabels},
	fTarget:          {"backbone_indicator_target", "The Indicator's target, in the unit of its value (measures other than Proportion).", indicatorLabels},
	fTargetRatio:     {"backbone_indicator_target_ratio", "The target of a Proportion, as a fraction (0-1).", indicatorLabels},
	fBaseline:        {"backbone_indicator_baseline", "The target's stated baseline value (measures other than Proportion).", indicatorLabels},
	fBaselineRatio:   {"backbone_indicator_baseline_ratio", "The stated baseline of a Proportion's target, as a fraction (0-1).", indicatorLabels},
	fOnTrack:         {"backbone_indicator_on_track", "1 when the Indicator is judged on track to its target at the headline period, 0 when off track; absent when no judgement could be made.", headlineLabels},
	fProgress:        {"backbone_indicator_progress_ratio", "Progress from baseline to target at the headline period: 0 at the baseline, 1 at the target.", headlineLabels},
	fCells:           {"backbone_indicator_cells", "Cells the result holds for the Indicator, published or suppressed.", indicatorLabels},
	fSuppressedCells: {"backbone_indicator_suppressed_cells", "Cells of the Indicator that small-cell suppression withholds.", indicatorLabels},
	fSeries:          {"backbone_indicator_series", "Series the exposition publishes for the Indicator, these included.", indicatorLabels},
	fSeriesCapped:    {"backbone_indicator_series_capped", "1 when the Indicator exceeds its series cap (or the global cap) and only its totals are published.", indicatorLabels},

	fValue:        {"backbone_indicator_value", "Value of a cell, in the Indicator's unit (measures other than Proportion). Absent for a suppressed cell.", cellLabels},
	fValueRatio:   {"backbone_indicator_value_ratio", "Value of a Proportion's cell, as a fraction (0-1). Absent for a suppressed cell.", cellLabels},
	fCILower:      {"backbone_indicator_ci_lower", "Lower bound of the 95 percent interval of a cell's value (measures other than Proportion).", cellLabels},
	fCILowerRatio: {"backbone_indicator_ci_lower_ratio", "Lower bound of the 95 percent interval of a Proportion's cell.", cellLabels},
	fCIUpper:      {"backbone_indicator_ci_upper", "Upper bound of the 95 percent interval of a cell's value (measures other than Proportion).", cellLabels},
	fCIUpperRatio: {"backbone_indicator_ci_upper_ratio", "Upper bound of the 95 percent interval of a Proportion's cell.", cellLabels},
	fNumerator:    {"backbone_indicator_numerator", "Numerator of a cell (for a Count or Sum, the value itself). Absent for a suppressed cell.", cellLabels},
	fDenominator:  {"backbone_indicator_denominator", "Denominator of a cell, for measures that have one. Absent for a suppressed cell.", cellLabels},
	fN:            {"backbone_indicator_n", "Units the cell counts (the n suppression protects). Absent for a suppressed cell.", cellLabels},
	fReliable:     {"backbone_indicator_reliable", "1 when a published value meets the reliability standards, 0 when flagged unreliable. Only for cells with a value.", cellLabels},
	fSuppressed:   {"backbone_indicator_suppressed", "1 when the cell is withheld by small-cell suppression, else 0.", cellLabels},
	fPartial:      {"backbone_indicator_partial", "1 when the cell's period is not complete yet, else 0.", cellLabels},

	fIDisp:            {"backbone_equity_index_of_disparity_ratio", "Index of disparity of a dimension's published groups against the reference, as a fraction (HD*Calc's percent / 100).", equityLabels},
	fIDispWeighted:    {"backbone_equity_weighted_index_of_disparity_ratio", "Population-weighted index of disparity, as a fraction.", equityLabels},
	fBGV:              {"backbone_equity_between_group_variance", "Between-group variance of a dimension's published groups (population-weighted).", equityLabels},
	fTheil:            {"backbone_equity_theil", "Theil index of a dimension's published groups (population-weighted).", equityLabels},
	fMLD:              {"backbone_equity_mean_log_deviation", "Mean log deviation of a dimension's published groups (population-weighted).", equityLabels},
	fPAR:              {"backbone_equity_population_attributable_risk", "Population attributable risk, in the unit of the value.", equityLabels},
	fPARRatio:         {"backbone_equity_population_attributable_risk_ratio", "Population attributable risk relative to the population average, as a fraction.", equityLabels},
	fGroups:           {"backbone_equity_groups", "Groups of the dimension in the period, the unknown group left out.", equityLabels},
	fSuppressedGroups: {"backbone_equity_suppressed_groups", "Groups of the dimension in the period that suppression withholds.", equityLabels},
	fUnknownShare:     {"backbone_equity_unknown_share_ratio", "Share of units in the unknown group of the dimension, when publishing it discloses nothing.", equityLabels},
	fDifference:       {"backbone_equity_difference", "A published group's value minus the reference's.", equityGroupLabels},
	fRatioToReference: {"backbone_equity_ratio_to_reference", "A published group's value divided by the reference's (in adverse terms where the result says so).", equityGroupLabels},
	fReference:        {"backbone_equity_reference", "1 for the dimension's reference group (group is empty when the reference is the total).", equityGroupLabels},
	fBest:             {"backbone_equity_best", "1 for the best reliable published group of the dimension in the period.", equityGroupLabels},
	fWorst:            {"backbone_equity_worst", "1 for the worst reliable published group of the dimension in the period.", equityGroupLabels},

	fSourceLastIngest:    {"backbone_source_last_ingest_timestamp_seconds", "When the latest promoted snapshot of the DataSource was written (Unix time).", sourceLabels},
	fSourcePromoted:      {"backbone_source_promoted", "1 when the latest snapshot was promoted, 0 when its reject share exceeded maxRejectPercent.", sourceLabels},
	fSourceInputRows:     {"backbone_source_input_rows", "Rows read from the input by the latest ingestion (the snapshot manifest's rowsIn).", sourceLabels},
	fSourceAcceptedRows:  {"backbone_source_accepted_rows", "Rows accepted into the latest snapshot (rowsOk).", sourceLabels},
	fSourceRejectedRows:  {"backbone_source_rejected_rows", "Rows rejected by the latest ingestion (rowsRejected).", sourceLabels},
	fSourceExcludedRows:  {"backbone_source_excluded_rows", "Rows excluded by the DataSource's excludeRows (rowsExcluded).", sourceLabels},
	fSourceRejectRatio:   {"backbone_source_reject_ratio", "Rejected rows over rows read by the latest ingestion.", sourceLabels},
	fSourceSnapshotBytes: {"backbone_source_snapshot_bytes", "Size of the latest snapshot's Parquet file.", sourceLabels},
	fSourceEngineBytes:   {"backbone_source_engine_layout_bytes", "Size of the latest snapshot's engine layout (Arrow IPC).", sourceLabels},
}

// headers are each family's HELP and TYPE lines.
var headers = func() [numFamilies][]byte {
	var out [numFamilies][]byte
	for i, f := range families {
		out[i] = []byte("# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " gauge\n")
	}
	return out
}()
