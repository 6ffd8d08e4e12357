package dashboard

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

// Template variables of every dashboard.
const (
	VarDatasource = "datasource"
	VarIndicator  = "indicator"
	VarDimension  = "dimension"
	VarPeriod     = "period"
)

// ds is the data source every panel and query names: the ${datasource} variable.
var ds = &DatasourceRef{Type: "prometheus", UID: "${" + VarDatasource + "}"}

// indicator is what the panels of one Indicator are built from.
type indicator struct {
	name, title, description string
	unit                     string // Grafana unit of its values
	proportion               bool
	hasTarget                bool
	hasCI, hasGap            bool                       // whether any cell has an interval, any group a gap
	res                      *aggregate.IndicatorResult // nil when the result holds none
	// dims and periods are those of its cells: dimension labels sorted, periods latest first.
	dims, periods []string
}

// family is the family of the Indicator's values of a kind (value, target, ci_lower…):
// a Proportion's are the _ratio ones (docs/metrics.md).
func (ind *indicator) family(plain string) string {
	if ind.proportion {
		return plain + "_ratio"
	}
	return plain
}

// Build returns the dashboard of an Initiative: its Indicators' headlines, values by group
// and period, equity and suppression, and its DataSources' health, all read from the
// /metrics series (docs/metrics.md). res is the Initiative's latest result; it decides the
// values the template variables offer (indicators, dimensions, periods) and which
// headline series exist. The same input always gives the same dashboard.
func Build(ini *impactv1.Initiative, inds []impactv1.Indicator, res *aggregate.Result) (*Dashboard, error) {
	if ini == nil {
		return nil, fmt.Errorf("dashboard: no Initiative")
	}
	b := &builder{ini: ini}
	results := map[string]*aggregate.IndicatorResult{}
	if res != nil {
		for i := range res.Indicators {
			results[res.Indicators[i].Name] = &res.Indicators[i]
		}
	}
	for i := range inds {
		in := &inds[i]
		if in.Namespace != ini.Namespace || in.Spec.InitiativeRef.Name != ini.Name {
			return nil, fmt.Errorf("dashboard of Initiative %s/%s: Indicator %s/%s belongs to Initiative %q", ini.Namespace, ini.Name, in.Namespace, in.Name, in.Spec.InitiativeRef.Name)
		}
		proportion := in.Spec.Measure.Type == impactv1.MeasureProportion
		b.inds = append(b.inds, &indicator{
			name: in.Name, title: cmp.Or(in.Spec.DisplayName, in.Name), description: in.Spec.Description,
			unit: Unit(proportion, in.Spec.Unit), proportion: proportion,
			hasTarget: in.Spec.Target != nil, res: results[in.Name],
		})
	}
	slices.SortFunc(b.inds, func(a, c *indicator) int { return cmp.Compare(a.name, c.name) })
	byName := map[string]*indicator{}
	for _, ind := range b.inds {
		byName[ind.name] = ind
		if ind.res == nil {
			continue
		}
		for _, e := range ind.res.Equity {
			ind.hasGap = ind.hasGap || len(e.Differences) > 0
		}
	}
	if res != nil {
		for i := range res.Cells {
			c := &res.Cells[i]
			if c.Namespace != ini.Namespace || c.Initiative != ini.Name {
				continue
			}
			if ind := byName[c.Indicator]; ind != nil {
				ind.hasCI = ind.hasCI || !c.Suppressed && (c.CILower != nil || c.CIUpper != nil)
				ind.periods = append(ind.periods, c.Period)
				if d := DimensionLabel(c.Dimensions); d != "" {
					ind.dims = append(ind.dims, d)
				}
			}
		}
	}
	for _, ind := range b.inds {
		slices.Sort(ind.dims)
		ind.dims = slices.Compact(ind.dims)
		slices.Sort(ind.periods)
		ind.periods = slices.Compact(ind.periods)
		slices.Reverse(ind.periods) // latest first
	}
	return b.build(), nil
}

// JSON returns the dashboard of an Initiative as Grafana dashboard JSON (indented, with a
// final newline): what a file provider or the sidecar loads.
func JSON(ini *impactv1.Initiative, inds []impactv1.Indicator, res *aggregate.Result) ([]byte, error) {
	d, err := Build(ini, inds, res)
	if err != nil {
		return nil, err
	}
	return d.MarshalIndent()
}

// MarshalIndent encodes d as indented JSON with a final newline, without HTML escaping.
func (d *Dashboard) MarshalIndent() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	return buf.Bytes(), nil
}

// DimensionLabel is the dimension label of a cell (docs/metrics.md): its dimension names
// sorted and joined with ","; "" for the total.
func DimensionLabel(dims map[string]string) string {
	names := make([]string, 0, len(dims))
	for d := range dims {
		names = append(names, d)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// UID is the dashboard uid of an Initiative: stable, unique per namespace and name, and
// within Grafana's 40 characters.
func UID(namespace, name string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return "backbone-" + hex.EncodeToString(sum[:])[:24]
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type builder struct {
	ini   *impactv1.Initiative
	inds  []*indicator
	d     *Dashboard
	id, y int
}

func (b *builder) build() *Dashboard {
	ini := b.ini
	b.d = &Dashboard{
		UID:           UID(ini.Namespace, ini.Name),
		Title:         cmp.Or(ini.Spec.DisplayName, ini.Name),
		Description:   ini.Spec.Agenda,
		Tags:          []string{"backbone", "initiative:" + ini.Name},
		Timezone:      "utc",
		GraphTooltip:  1,
		SchemaVersion: SchemaVersion,
		Version:       1,
		Refresh:       "5m",
		Time:          TimeRange{From: "now-1h", To: "now"},
		Annotations:   Annotations{List: []any{}},
		Templating:    Templating{List: b.variables()},
		Panels:        []Panel{},
	}
	b.about()
	b.headlines()
	b.groups()
	b.equity()
	b.health()
	return b.d
}

// sel is a PromQL selector of metric with the Initiative's labels and more matchers
// (name, operator and value, in order).
func (b *builder) sel(metric string, matchers ...string) string {
	var s strings.Builder
	s.WriteString(metric)
	s.WriteString(`{namespace=`)
	s.WriteString(strconv.Quote(b.ini.Namespace))
	s.WriteString(`,initiative=`)
	s.WriteString(strconv.Quote(b.ini.Name))
	for i := 0; i+2 < len(matchers); i += 3 {
		s.WriteByte(',')
		s.WriteString(matchers[i])
		s.WriteString(matchers[i+1])
		v := matchers[i+2]
		if strings.Contains(v, "$") {
			s.WriteString(`"` + v + `"`) // a variable, substituted by Grafana
		} else {
			s.WriteString(strconv.Quote(v))
		}
	}
	s.WriteByte('}')
	return s.String()
}

// add appends a panel at the current row position, giving it the next id.
func (b *builder) add(p Panel) {
	b.id++
	p.ID = b.id
	b.d.Panels = append(b.d.Panels, p)
}

// row starts a new row of panels.
func (b *builder) row(title string) {
	b.add(Panel{Type: "row", Title: title, Collapsed: new(false), Panels: []Panel{}, GridPos: GridPos{H: 1, W: 24, Y: b.y}})
	b.y++
}

func (b *builder) variables() []Variable {
	vars := []Variable{{
		Type: "datasource", Name: VarDatasource, Label: "Data source", Query: "prometheus",
		Current: VariableOption{}, Options: []VariableOption{},
	}}
	var inds []VariableOption
	for _, ind := range b.inds {
		inds = append(inds, VariableOption{Text: ind.title, Value: ind.name})
	}
	vars = append(vars, custom(VarIndicator, "Indicator", "The Indicator the group, suppression and equity panels show.", inds))
	// The dimensions and periods of the selected Indicator, asked from Prometheus on load
	// and when $indicator changes; the options written are those of the first Indicator.
	var dims, periods []string
	current := ""
	if len(b.inds) > 0 {
		first := b.inds[0]
		dims, periods = first.dims, first.periods
		if first.res != nil && first.res.Headline != nil {
			current = first.res.Headline.Period
		}
	}
	of := b.sel("backbone_indicator_suppressed", "indicator", "=", "$"+VarIndicator)
	vars = append(vars,
		labelValues(VarDimension, "Dimension", "The dimension (or intersection) of the groups shown.", of, 1, dims, ""),
		labelValues(VarPeriod, "Period", "The period of the equity panels (its first day), latest first; at first the latest complete one.", of, 2, periods, current),
	)
	return vars
}

// labelValues is a query variable offering the values of a label of the series of
// selector, sorted, with opts as its options until Grafana asks, and current (else the
// first) selected.
func labelValues(name, label, description, selector string, sort int, opts []string, current string) Variable {
	q := "label_values(" + selector + ", " + name + ")"
	v := Variable{
		Type: "query", Name: name, Label: label, Description: description, Query: q, Definition: q,
		Datasource: ds, Refresh: 1, Sort: sort, Options: []VariableOption{},
	}
	if !slices.Contains(opts, current) {
		current = ""
	}
	for i, o := range opts {
		sel := o == current || current == "" && i == 0
		v.Options = append(v.Options, VariableOption{Text: o, Value: o, Selected: sel})
		if sel {
			v.Current = VariableOption{Text: o, Value: o, Selected: true}
		}
	}
	return v
}

// customEscaper escapes what separates a custom variable's values (",") and a value's
// text from its value (" : ").
var customEscaper = strings.NewReplacer(`,`, `\,`, ` : `, ` \: `)

// custom is a custom variable offering opts, the first selected.
func custom(name, label, description string, opts []VariableOption) Variable {
	v := Variable{Type: "custom", Name: name, Label: label, Description: description, Options: []VariableOption{}}
	var q []string
	for i, o := range opts {
		o.Selected = i == 0
		v.Options = append(v.Options, o)
		if i == 0 {
			v.Current = o
		}
		if o.Text == o.Value {
			q = append(q, customEscaper.Replace(o.Value))
		} else {
			q = append(q, customEscaper.Replace(o.Text)+" : "+customEscaper.Replace(o.Value))
		}
	}
	v.Query = strings.Join(q, ",")
	return v
}

func instant(refID, expr, format string) Target {
	return Target{RefID: refID, Datasource: ds, Expr: expr, Instant: true, Format: format}
}

func byRefID(refID string, props ...Property) Override {
	return Override{Matcher: Matcher{ID: "byFrameRefID", Options: refID}, Properties: props}
}

func byName(name string, props ...Property) Override {
	return Override{Matcher: Matcher{ID: "byName", Options: name}, Properties: props}
}

func prop(id string, v any) Property { return Property{ID: id, Value: v} }

// valueMap maps values to text, in the order given (value, text, colour, …).
func valueMap(pairs ...string) ValueMapping {
	opts := map[string]MappingResult{}
	for i := 0; i+2 < len(pairs); i += 3 {
		opts[pairs[i]] = MappingResult{Text: pairs[i+1], Color: pairs[i+2], Index: i / 3}
	}
	return ValueMapping{Type: "value", Options: opts}
}

// totalMapping shows the empty group (the total) as "Total".
var totalMapping = ValueMapping{Type: "special", Options: SpecialMatch{Match: "empty", Result: MappingResult{Text: "Total", Index: 0}}}

var (
	reliableMapping = valueMap("1", "reliable", "green", "0", "unreliable", "orange")
	onTrackMapping  = valueMap("1", "on track", "green", "0", "off track", "red")
	promotedMapping = valueMap("1", "promoted", "green", "0", "not promoted", "red")
	flagMapping     = valueMap("1", "yes", "", "0", "", "")
	// suppressedMapping says in words whether a cell is published or withheld.
	suppressedMapping = valueMap("0", "published", "", "1", "withheld (small-cell suppression)", "orange")
)

// hide hides the label columns a table does not need.
func hide(extra ...string) Transformation {
	ex := map[string]bool{"Time": true, "__name__": true, "namespace": true, "initiative": true, "region": true}
	for _, e := range extra {
		ex[e] = true
	}
	return Transformation{ID: "organize", Options: map[string]any{"excludeByName": ex}}
}

var mergeTables = Transformation{ID: "merge", Options: map[string]any{}}

func tableOptions(sort ...string) TableOptions {
	o := TableOptions{ShowHeader: true, CellHeight: "sm", SortBy: []SortBy{}, Footer: &TableFoot{}}
	for _, s := range sort {
		o.SortBy = append(o.SortBy, SortBy{DisplayName: s})
	}
	return o
}

func markdown(s string) TextOptions { return TextOptions{Mode: "markdown", Content: s} }

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
	b.row("$" + VarIndicator + " by $" + VarDimension)
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
		Description:     "Every cell of $indicator by $dimension, and the total, per period: its value with its 95% interval and reliability, or, for a withheld cell, the word withheld and no number.",
		GridPos:         GridPos{H: 12, W: 16, Y: b.y},
		Targets:         targets,
		FieldConfig:     &FieldConfig{Defaults: FieldDefaults{Mappings: []ValueMapping{}}, Overrides: overrides},
		Options:         tableOptions("period", "group"),
		Transformations: []Transformation{mergeTables, hide("indicator", "dimension")},
	})
	b.add(Panel{
		Type: "table", Title: "Suppressed cells", Datasource: ds,
		Description: "Cells of $indicator by $dimension withheld by small-cell suppression. Only that a cell is withheld is published, never its number.",
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
		Options:         tableOptions("period", "group"),
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
	b.row("Equity of $" + VarIndicator + ", $" + VarPeriod)
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
		Options:         tableOptions("group"),
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
		Options: tableOptions("dimension"),
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
		Options:         tableOptions("partner", "source"),
		Transformations: []Transformation{mergeTables, hide()},
	})
	b.y += 8
}
