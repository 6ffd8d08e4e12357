package dashboard

import (
	"fmt"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

// about is the first row: what the dashboard shows and how suppression reads.
func (b *builder) about() {
	var s strings.Builder
	if a := b.ini.Spec.Agenda; a != "" {
		fmt.Fprintf(&s, "**%s**\n\n", a)
	}
	s.WriteString("Every number is the latest result Backbone computed from the partners' data. ")
	s.WriteString("Pick an indicator, a dimension and a period above; the headlines show every indicator at its latest complete period.\n\n")
	s.WriteString("**Suppressed cells.** A group with fewer units than the indicator's minimum cell size is withheld, ")
	s.WriteString("together with any cell that would let it be recomputed. Its number is never published; the dashboard says *withheld* instead. ")
	s.WriteString("Minimum cell size: ")
	var ks []string
	for _, ind := range b.inds {
		if ind.res != nil {
			ks = append(ks, fmt.Sprintf("%s %d", ind.title, ind.res.MinCellSize))
		}
	}
	if len(ks) == 0 {
		s.WriteString("no result yet.")
	} else {
		s.WriteString(strings.Join(ks, "; ") + ".")
	}
	b.add(Panel{Type: "text", Title: "About", GridPos: GridPos{H: 5, W: 24, Y: b.y}, Options: markdown(s.String())})
	b.y += 5
}

// headlines is one stat panel per Indicator: its latest complete period's total, target,
// progress, reliability and on-track judgement.
func (b *builder) headlines() {
	b.row("Headlines")
	const w, h = 6, 6
	for i, ind := range b.inds {
		pos := GridPos{H: h, W: w, X: (i % 4) * w, Y: b.y + (i/4)*h}
		hl := (*aggregate.Headline)(nil)
		if ind.res != nil {
			hl = ind.res.Headline
		}
		if hl == nil || hl.Value == nil {
			why := "No complete period yet."
			if hl != nil {
				why = fmt.Sprintf("The total of %s is withheld or undefined. %s", hl.Period, hl.Note)
			}
			b.add(Panel{Type: "text", Title: ind.title, Description: ind.description, GridPos: pos, Options: markdown(strings.TrimSpace(why))})
			continue
		}
		p := Panel{
			Type: "stat", Title: ind.title, GridPos: pos, Datasource: ds,
			Description: strings.TrimSpace(ind.description + "\n\nLatest complete period: " + hl.Period + "."),
			Options: StatOptions{
				ReduceOptions: ReduceOptions{Calcs: []string{"lastNotNull"}, Fields: ""},
				ColorMode:     "none", GraphMode: "none", JustifyMode: "auto", TextMode: "value_and_name", Orientation: "auto",
			},
			FieldConfig: &FieldConfig{Defaults: FieldDefaults{Unit: ind.unit, Mappings: []ValueMapping{}}, Overrides: []Override{}},
		}
		at := []string{"indicator", "=", ind.name, "period", "=", hl.Period}
		p.Targets = append(p.Targets, instant("value", b.sel(ind.family("backbone_indicator_value"), append(at, "dimension", "=", "")...), "time_series"))
		p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, byRefID("value", prop("displayName", hl.Period), prop("unit", ind.unit)))
		if ind.hasTarget {
			p.Targets = append(p.Targets, instant("target", b.sel(ind.family("backbone_indicator_target"), "indicator", "=", ind.name), "time_series"))
			p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, byRefID("target", prop("displayName", "Target"), prop("unit", ind.unit)))
		}
		if hl.Progress != nil {
			p.Targets = append(p.Targets, instant("progress", b.sel("backbone_indicator_progress_ratio", at...), "time_series"))
			p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, byRefID("progress", prop("displayName", "Progress"), prop("unit", "percentunit")))
		}
		p.Targets = append(p.Targets, instant("reliable", b.sel("backbone_indicator_reliable", append(at, "dimension", "=", "")...), "time_series"))
		p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, byRefID("reliable", prop("displayName", "Reliability"), prop("unit", "none"), prop("mappings", []ValueMapping{reliableMapping})))
		if tr := ind.res.OnTrack; tr != nil && tr.Judged {
			p.Targets = append(p.Targets, instant("on_track", b.sel("backbone_indicator_on_track", at...), "time_series"))
			p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, byRefID("on_track", prop("displayName", "Target"), prop("unit", "none"), prop("mappings", []ValueMapping{onTrackMapping})))
		}
		b.add(p)
	}
	b.y += ((len(b.inds) + 3) / 4) * h
}

// perIndicator returns one query per Indicator: each matches its own name and the
// $indicator variable, so only the selected Indicator's returns data, and an override
// by its refId gives it its unit.
func (b *builder) perIndicator(prefix string, has func(*indicator) bool, family func(*indicator) string, matchers []string, props func(*indicator) []Property) ([]Target, []Override) {
	var ts []Target
	var os []Override
	for _, ind := range b.inds {
		if !has(ind) {
			continue // the result holds no such series for it
		}
		ref := prefix + ind.name
		m := append([]string{"indicator", "=", ind.name, "indicator", "=~", "$" + VarIndicator}, matchers...)
		ts = append(ts, instant(ref, b.sel(family(ind), m...), "table"))
		os = append(os, byName("Value #"+ref, props(ind)...))
	}
	return ts, os
}

// groups is the row of the selected Indicator's groups: value per group and period, and
// the suppressed cells.
func (b *builder) groups() {
	b.row("${" + VarIndicator + ":text} by $" + VarDimension)
	dimOrTotal := []string{"dimension", "=~", "$" + VarDimension + "|"}
	values, overrides := b.perIndicator("value-", func(*indicator) bool { return true }, func(ind *indicator) string { return ind.family("backbone_indicator_value") }, dimOrTotal,
		func(ind *indicator) []Property {
			return []Property{prop("displayName", "Value"), prop("unit", ind.unit)}
		})
	lower, lo := b.perIndicator("lower-", func(ind *indicator) bool { return ind.hasCI }, func(ind *indicator) string { return ind.family("backbone_indicator_ci_lower") }, dimOrTotal,
		func(ind *indicator) []Property {
			return []Property{prop("displayName", "95% CI lower"), prop("unit", ind.unit)}
		})
	upper, uo := b.perIndicator("upper-", func(ind *indicator) bool { return ind.hasCI }, func(ind *indicator) string { return ind.family("backbone_indicator_ci_upper") }, dimOrTotal,
		func(ind *indicator) []Property {
			return []Property{prop("displayName", "95% CI upper"), prop("unit", ind.unit)}
		})
	targets := append(append(values, lower...), upper...)
	targets = append(targets,
		instant("reliable", b.sel("backbone_indicator_reliable", "indicator", "=", "$"+VarIndicator, dimOrTotal[0], dimOrTotal[1], dimOrTotal[2]), "table"),
		instant("partial", b.sel("backbone_indicator_partial", "indicator", "=", "$"+VarIndicator, dimOrTotal[0], dimOrTotal[1], dimOrTotal[2]), "table"),
		instant("suppressed", b.sel("backbone_indicator_suppressed", "indicator", "=", "$"+VarIndicator, dimOrTotal[0], dimOrTotal[1], dimOrTotal[2]), "table"),
	)
	overrides = append(append(overrides, lo...), uo...)
	overrides = append(overrides,
		byName("group", prop("displayName", "Group"), prop("mappings", []ValueMapping{totalMapping})),
		byName("period", prop("displayName", "Period")),
		byName("Value #reliable", prop("displayName", "Reliability"), prop("unit", "none"), prop("mappings", []ValueMapping{reliableMapping})),
		byName("Value #partial", prop("displayName", "Period incomplete"), prop("unit", "none"), prop("mappings", []ValueMapping{flagMapping})),
		byName("Value #suppressed", prop("displayName", "Published"), prop("unit", "none"), prop("mappings", []ValueMapping{suppressedMapping})),
	)
	b.add(Panel{
		Type: "table", Title: "Value per group and period", Datasource: ds,
		Description:     "Every cell of ${indicator:text} by $dimension, and the total, per period: its value with its 95% interval and reliability, or, for a withheld cell, the word withheld and no number.",
		GridPos:         GridPos{H: 12, W: 16, Y: b.y},
		Targets:         targets,
		FieldConfig:     &FieldConfig{Defaults: FieldDefaults{Mappings: []ValueMapping{}}, Overrides: overrides},
		Options:         tableOptions("Period", true),
		Transformations: []Transformation{mergeTables, hide("indicator", "dimension")},
	})
	b.add(Panel{
		Type: "table", Title: "Suppressed cells", Datasource: ds,
		Description: "Cells of ${indicator:text} by $dimension withheld by small-cell suppression. Only that a cell is withheld is published, never its number.",
		GridPos:     GridPos{H: 12, W: 8, X: 16, Y: b.y},
		Targets: []Target{instant("suppressed",
			b.sel("backbone_indicator_suppressed", "indicator", "=", "$"+VarIndicator, dimOrTotal[0], dimOrTotal[1], dimOrTotal[2])+" == 1", "table")},
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{NoValue: "No cell is withheld.", Mappings: []ValueMapping{}},
			Overrides: []Override{
				byName("group", prop("displayName", "Group"), prop("mappings", []ValueMapping{totalMapping})),
				byName("period", prop("displayName", "Period")),
				byName("Value", prop("displayName", "Status"), prop("unit", "none"),
					prop("mappings", []ValueMapping{valueMap("1", "withheld: too few units, or would reveal a group that has", "orange")})),
			},
		},
		Options:         tableOptions("Period", true),
		Transformations: []Transformation{hide("indicator", "dimension")},
	})
	b.y += 12
}

// noEquity is what an equity panel shows without data.
const noEquity = "No equity statistics: counts and sums are not compared across groups, and intersections have none."

// equity is the row of the selected Indicator's equity in the selected period: gap and
// ratio to the reference group per group, and the summary per dimension (index of
// disparity, coverage).
func (b *builder) equity() {
	b.row("Equity of ${" + VarIndicator + ":text}, $" + VarPeriod)
	at := []string{"period", "=", "$" + VarPeriod, "dimension", "=", "$" + VarDimension}
	gaps, overrides := b.perIndicator("gap-", func(ind *indicator) bool { return ind.hasGap }, func(*indicator) string { return "backbone_equity_difference" }, at,
		func(ind *indicator) []Property {
			return []Property{prop("displayName", "Gap to reference"), prop("unit", ind.unit)}
		})
	ind := []string{"indicator", "=", "$" + VarIndicator}
	targets := append(gaps,
		instant("ratio", b.sel("backbone_equity_ratio_to_reference", append(ind, at...)...), "table"),
		instant("reference", b.sel("backbone_equity_reference", append(ind, at...)...), "table"),
		instant("best", b.sel("backbone_equity_best", append(ind, at...)...), "table"),
		instant("worst", b.sel("backbone_equity_worst", append(ind, at...)...), "table"),
	)
	overrides = append(overrides,
		byName("group", prop("displayName", "Group"), prop("mappings", []ValueMapping{totalMapping})),
		byName("Value #ratio", prop("displayName", "Ratio to reference"), prop("unit", "none"), prop("decimals", 2)),
		byName("Value #reference", prop("displayName", "Reference"), prop("unit", "none"), prop("mappings", []ValueMapping{flagMapping})),
		byName("Value #best", prop("displayName", "Best"), prop("unit", "none"), prop("mappings", []ValueMapping{flagMapping})),
		byName("Value #worst", prop("displayName", "Worst"), prop("unit", "none"), prop("mappings", []ValueMapping{flagMapping})),
	)
	b.add(Panel{
		Type: "table", Title: "Gap and ratio to the reference group", Datasource: ds,
		Description:     "Each published group of $dimension in $period against the reference group (the total when the Initiative names none), with the best and worst reliable groups. Withheld groups are left out.",
		GridPos:         GridPos{H: 10, W: 14, Y: b.y},
		Targets:         targets,
		FieldConfig:     &FieldConfig{Defaults: FieldDefaults{NoValue: noEquity, Mappings: []ValueMapping{}}, Overrides: overrides},
		Options:         tableOptions("Group", false),
		Transformations: []Transformation{mergeTables, hide("indicator", "dimension", "period")},
	})
	sum := []string{"indicator", "=", "$" + VarIndicator, "period", "=", "$" + VarPeriod}
	b.add(Panel{
		Type: "table", Title: "Disparity and coverage per dimension", Datasource: ds,
		Description: "Per dimension in $period: the index of disparity of its published groups, and coverage, k of m groups published (m counts every group but the unknown one).",
		GridPos:     GridPos{H: 10, W: 10, X: 14, Y: b.y},
		Targets: []Target{
			instant("idisp", b.sel("backbone_equity_index_of_disparity_ratio", sum...), "table"),
			instant("groups", b.sel("backbone_equity_groups", sum...), "table"),
			instant("suppressed_groups", b.sel("backbone_equity_suppressed_groups", sum...), "table"),
		},
		FieldConfig: &FieldConfig{Defaults: FieldDefaults{NoValue: noEquity, Mappings: []ValueMapping{}}, Overrides: []Override{
			byName("dimension", prop("displayName", "Dimension")),
			byName("Value #idisp", prop("displayName", "Index of disparity"), prop("unit", "percentunit")),
			byName("Value #groups", prop("displayName", "Groups (m)"), prop("unit", "none")),
			byName("Value #suppressed_groups", prop("displayName", "Withheld"), prop("unit", "none")),
			byName("Published (k)", prop("unit", "none")),
		}},
		Options: tableOptions("Dimension", false),
		Transformations: []Transformation{
			mergeTables,
			{ID: "calculateField", Options: map[string]any{
				"mode": "binary", "alias": "Published (k)", "replaceFields": false,
				"binary": map[string]any{"left": "Value #groups", "operator": "-", "right": "Value #suppressed_groups"},
			}},
			hide("indicator", "period"),
		},
	})
	b.y += 10
}

// health is the data-health row: one table row per DataSource with its partner.
func (b *builder) health() {
	b.row("Data health")
	var partners []string
	for _, p := range b.ini.Spec.Partners {
		if p.DisplayName != "" {
			partners = append(partners, p.Name, p.DisplayName, "")
		}
	}
	src := func(ref, metric string) Target { return instant(ref, b.sel(metric), "table") }
	b.add(Panel{
		Type: "table", Title: "Data sources", Datasource: ds,
		Description: "The latest snapshot of each DataSource: when it was ingested, how long ago, whether it was promoted, and its rows. Row counts are left out when publishing them would disclose a suppressed cell.",
		GridPos:     GridPos{H: 8, W: 24, Y: b.y},
		Targets: []Target{
			src("last_ingest", "backbone_source_last_ingest_timestamp_seconds"),
			instant("staleness", "time() - "+b.sel("backbone_source_last_ingest_timestamp_seconds"), "table"),
			src("promoted", "backbone_source_promoted"),
			src("input_rows", "backbone_source_input_rows"),
			src("accepted_rows", "backbone_source_accepted_rows"),
			src("rejected_rows", "backbone_source_rejected_rows"),
			src("excluded_rows", "backbone_source_excluded_rows"),
			src("reject_ratio", "backbone_source_reject_ratio"),
		},
		FieldConfig: &FieldConfig{Defaults: FieldDefaults{Mappings: []ValueMapping{}}, Overrides: []Override{
			byName("partner", prop("displayName", "Partner"), prop("mappings", []ValueMapping{valueMap(partners...)})),
			byName("source", prop("displayName", "Data source")),
			byName("Value #last_ingest", prop("displayName", "Last ingest"), prop("unit", "dateTimeAsIso")),
			byName("Value #staleness", prop("displayName", "Age"), prop("unit", "s")),
			byName("Value #promoted", prop("displayName", "Snapshot"), prop("unit", "none"), prop("mappings", []ValueMapping{promotedMapping})),
			byName("Value #input_rows", prop("displayName", "Rows in"), prop("unit", "none")),
			byName("Value #accepted_rows", prop("displayName", "Accepted"), prop("unit", "none")),
			byName("Value #rejected_rows", prop("displayName", "Rejected"), prop("unit", "none")),
			byName("Value #excluded_rows", prop("displayName", "Excluded"), prop("unit", "none")),
			byName("Value #reject_ratio", prop("displayName", "Reject ratio"), prop("unit", "percentunit")),
		}},
		Options:         tableOptions("Partner", false),
		Transformations: []Transformation{mergeTables, hide()},
	})
	b.y += 8
}
