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
	if res != nil {
		b.scan(res.Cells)
	}
	return b.build(), nil
}

// scan notes, per Indicator, which series its result holds (intervals, gaps) and its
// dimensions and periods.
func (b *builder) scan(cells []aggregate.Cell) {
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
	for i := range cells {
		c := &cells[i]
		ind := byName[c.Indicator]
		if ind == nil || c.Namespace != b.ini.Namespace || c.Initiative != b.ini.Name {
			continue
		}
		ind.hasCI = ind.hasCI || !c.Suppressed && (c.CILower != nil || c.CIUpper != nil)
		ind.periods = append(ind.periods, c.Period)
		if d := DimensionLabel(c.Dimensions); d != "" {
			ind.dims = append(ind.dims, d)
		}
	}
	for _, ind := range b.inds {
		slices.Sort(ind.dims)
		ind.dims = slices.Compact(ind.dims)
		slices.Sort(ind.periods)
		ind.periods = slices.Compact(ind.periods)
		slices.Reverse(ind.periods) // latest first
	}
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

// customEscaper escapes what separates a custom variable's values (","). Grafana splits
// text from value at the last " : ", and a value (a Kubernetes name) holds none.
var customEscaper = strings.NewReplacer(`,`, `\,`)

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

// tableOptions are a table's options, sorted by a column (its display name).
func tableOptions(sortBy string, desc bool) TableOptions {
	return TableOptions{ShowHeader: true, CellHeight: "sm", SortBy: []SortBy{{DisplayName: sortBy, Desc: desc}}, Footer: &TableFoot{}}
}

func markdown(s string) TextOptions { return TextOptions{Mode: "markdown", Content: s} }
