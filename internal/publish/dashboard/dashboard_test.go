package dashboard_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
)

func ptr[T any](v T) *T { return &v }

// fixture is a small Initiative: a Proportion with a target and equity, a Count without,
// cells by race and by an intersection, one of them suppressed.
func fixture() (*impactv1.Initiative, []impactv1.Indicator, *aggregate.Result) {
	ini := &impactv1.Initiative{
		ObjectMeta: metav1.ObjectMeta{Namespace: "north", Name: "ready"},
		Spec: impactv1.InitiativeSpec{
			DisplayName: "Ready, set",
			Agenda:      "Every child ready.",
			Partners:    []impactv1.Partner{{Name: "district", DisplayName: "The District", Sector: "Education"}},
			Dashboard:   &impactv1.DashboardSpec{Folder: "Ready"},
		},
	}
	ind := func(name, display, unit string, m impactv1.MeasureType, target bool) impactv1.Indicator {
		in := impactv1.Indicator{
			ObjectMeta: metav1.ObjectMeta{Namespace: "north", Name: name},
			Spec: impactv1.IndicatorSpec{
				InitiativeRef: impactv1.LocalObjectReference{Name: "ready"},
				DisplayName:   display, Unit: unit, Measure: impactv1.Measure{Type: m},
			},
		}
		if target {
			in.Spec.Target = &impactv1.Target{Value: "0.8"}
		}
		return in
	}
	inds := []impactv1.Indicator{
		ind("served", "Children served", "children", impactv1.MeasureCount, false),
		ind("readiness", "Ready for kindergarten, share", "proportion", impactv1.MeasureProportion, true),
	}
	cell := func(indicator, period string, dims map[string]string, v float64, suppressed bool) aggregate.Cell {
		c := aggregate.Cell{Namespace: "north", Initiative: "ready", Indicator: indicator, Period: period, Dimensions: dims, Suppressed: suppressed, Reliable: true}
		if !suppressed {
			c.Value = ptr(v)
			c.CILower, c.CIUpper = ptr(v-0.1), ptr(v+0.1)
		}
		return c
	}
	race := func(g string) map[string]string { return map[string]string{"race": g} }
	res := &aggregate.Result{
		Cells: []aggregate.Cell{
			cell("readiness", "2024-01-01", nil, 0.6, false),
			cell("readiness", "2025-01-01", nil, 0.7, false),
			cell("readiness", "2025-01-01", race("Asian"), 0.75, false),
			cell("readiness", "2025-01-01", race("Black"), 0, true),
			cell("readiness", "2025-01-01", map[string]string{"race": "Asian", "income": "Low"}, 0.5, false),
			cell("served", "2025-01-01", nil, 120, false),
		},
		Indicators: []aggregate.IndicatorResult{
			{Name: "readiness", MinCellSize: 11, Headline: &aggregate.Headline{Period: "2025-01-01", Value: ptr(0.7), Progress: ptr(0.5), Reliable: true},
				OnTrack: &aggregate.Track{Judged: true, OnTrack: true},
				Equity:  []aggregate.EquitySummary{{Period: "2025-01-01", Dimension: "race", Reference: "total", Differences: map[string]float64{"Asian": 0.05}, Groups: 2, SuppressedGroups: 1}}},
			{Name: "served", MinCellSize: 11, Headline: &aggregate.Headline{Period: "2025-01-01", Value: ptr(120.0), Reliable: true}},
		},
	}
	return ini, inds, res
}

// The same input gives the same bytes, whatever the order of the Indicators; panels have
// unique sequential ids and do not overlap.
func TestBuildDeterministic(t *testing.T) {
	ini, inds, res := fixture()
	a, err := dashboard.JSON(ini, inds, res)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(inds)
	slices.Reverse(res.Cells)
	b, err := dashboard.JSON(ini, inds, res)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the same Initiative gives different JSON when its Indicators and cells come in another order")
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(a, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID != dashboard.UID("north", "ready") || len(d.UID) > 40 || d.UID == dashboard.UID("south", "ready") {
		t.Errorf("uid %q: not the stable one, over 40 characters or shared with another namespace", d.UID)
	}
	type cellPos struct{ x, y int }
	used := map[cellPos]int{}
	for i, p := range d.Panels {
		if p.ID != i+1 {
			t.Errorf("panel %d %q has id %d", i, p.Title, p.ID)
		}
		for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
			for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
				if other, ok := used[cellPos{x, y}]; ok {
					t.Fatalf("panel %q overlaps panel %d at %d,%d", p.Title, other, x, y)
				}
				used[cellPos{x, y}] = p.ID
			}
		}
		if p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q is wider than the grid", p.Title)
		}
	}
}

// Every part the dashboard promises is there: headlines with target, progress,
// reliability and on-track, the groups, the suppressed cells in words, equity with
// coverage, data health; each query names the Initiative.
func TestBuildContent(t *testing.T) {
	ini, inds, res := fixture()
	d, err := dashboard.Build(ini, inds, res)
	if err != nil {
		t.Fatal(err)
	}
	byTitle := map[string]dashboard.Panel{}
	for _, p := range d.Panels {
		byTitle[p.Title] = p
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `namespace="north",initiative="ready"`) {
				t.Errorf("panel %q query %s does not select the Initiative: %s", p.Title, tg.RefID, tg.Expr)
			}
			if !tg.Instant || tg.Range {
				t.Errorf("panel %q query %s is not an instant query", p.Title, tg.RefID)
			}
		}
	}
	h := byTitle["Ready for kindergarten, share"]
	var refs []string
	for _, tg := range h.Targets {
		refs = append(refs, tg.RefID)
	}
	if want := []string{"value", "target", "progress", "reliable", "on_track"}; !slices.Equal(refs, want) {
		t.Errorf("headline of the Proportion queries %v, want %v", refs, want)
	}
	if h.Targets[0].Expr != `backbone_indicator_value_ratio{namespace="north",initiative="ready",indicator="readiness",period="2025-01-01",dimension=""}` {
		t.Errorf("headline value query %s", h.Targets[0].Expr)
	}
	if h.FieldConfig.Defaults.Unit != "percentunit" {
		t.Errorf("a Proportion's unit is %q", h.FieldConfig.Defaults.Unit)
	}
	s := byTitle["Children served"]
	if len(s.Targets) != 2 || s.FieldConfig.Defaults.Unit != "suffix: children" || s.Targets[0].Expr != `backbone_indicator_value{namespace="north",initiative="ready",indicator="served",period="2025-01-01",dimension=""}` {
		t.Errorf("headline of the Count without target: %d queries, unit %q, %v", len(s.Targets), s.FieldConfig.Defaults.Unit, s.Targets)
	}
	sup, ok := byTitle["Suppressed cells"]
	if !ok {
		t.Fatal("no Suppressed cells panel")
	}
	if !strings.HasSuffix(sup.Targets[0].Expr, " == 1") || !strings.Contains(sup.Targets[0].Expr, "backbone_indicator_suppressed{") {
		t.Errorf("suppressed cells query %s", sup.Targets[0].Expr)
	}
	js, _ := json.Marshal(sup.FieldConfig)
	if !strings.Contains(string(js), "withheld") {
		t.Errorf("suppressed cells are not explained in words: %s", js)
	}
	// Gap queries exist only for Indicators with differences; the CI for those with intervals.
	gap := byTitle["Gap and ratio to the reference group"]
	for _, tg := range gap.Targets {
		if strings.Contains(tg.Expr, `indicator="served"`) {
			t.Errorf("the Count has no equity, yet the gap panel queries it: %s", tg.Expr)
		}
	}
	cov := byTitle["Disparity and coverage per dimension"]
	if len(cov.Transformations) < 2 || cov.Transformations[1].ID != "calculateField" {
		t.Errorf("coverage is not computed as groups minus withheld: %+v", cov.Transformations)
	}
	health := byTitle["Data sources"]
	var metrics []string
	for _, tg := range health.Targets {
		metrics = append(metrics, regexp.MustCompile(`backbone_[a-z_]+`).FindString(tg.Expr))
	}
	for _, m := range []string{"backbone_source_last_ingest_timestamp_seconds", "backbone_source_input_rows", "backbone_source_rejected_rows", "backbone_source_excluded_rows", "backbone_source_reject_ratio"} {
		if !slices.Contains(metrics, m) {
			t.Errorf("data health does not read %s", m)
		}
	}
	if !strings.HasPrefix(health.Targets[1].Expr, "time() - backbone_source_last_ingest_timestamp_seconds{") {
		t.Errorf("staleness query %s", health.Targets[1].Expr)
	}
}

// The variables offer every Indicator (its display name, escaped as Grafana's custom
// variable parses it) and, for the selected one, asked from Prometheus, its dimensions and
// intersections and its periods, latest first; at first those of the first Indicator, its
// headline period selected.
func TestVariables(t *testing.T) {
	ini, inds, res := fixture()
	d, err := dashboard.Build(ini, inds, res)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]dashboard.Variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	values := func(name string) []string {
		var out []string
		for _, o := range vars[name].Options {
			out = append(out, o.Value)
		}
		return out
	}
	for name, want := range map[string][]string{
		dashboard.VarIndicator: {"readiness", "served"},
		dashboard.VarDimension: {"income,race", "race"},
		dashboard.VarPeriod:    {"2025-01-01", "2024-01-01"},
	} {
		if got := values(name); !slices.Equal(got, want) {
			t.Errorf("variable %s offers %v, want %v", name, got, want)
		}
		if vars[name].Current.Value != want[0] {
			t.Errorf("variable %s starts at %q, want %q", name, vars[name].Current.Value, want[0])
		}
	}
	for _, name := range []string{dashboard.VarDimension, dashboard.VarPeriod} {
		v := vars[name]
		if want := `label_values(backbone_indicator_suppressed{namespace="north",initiative="ready",indicator="$indicator"}, ` + name + `)`; v.Type != "query" || v.Query != want || v.Refresh != 1 {
			t.Errorf("variable %s: %s %q refreshed %d, want a query %q refreshed on load", name, v.Type, v.Query, v.Refresh, want)
		}
	}
	if vars[dashboard.VarIndicator].Type != "custom" {
		t.Errorf("variable indicator is a %s, want a custom list", vars[dashboard.VarIndicator].Type)
	}
	// Grafana splits a custom query on unescaped commas, then text from value on " : ".
	q := vars[dashboard.VarIndicator].Query
	var parsed []string
	for _, part := range regexp.MustCompile(`(?:\\,|[^,])+`).FindAllString(q, -1) {
		i := strings.LastIndex(part, " : ")
		text, value := part[:i], part[i+3:]
		parsed = append(parsed, strings.ReplaceAll(text, `\,`, ",")+"="+value)
	}
	if want := []string{"Ready for kindergarten, share=readiness", "Children served=served"}; !slices.Equal(parsed, want) {
		t.Errorf("custom query %q parses as %v, want %v", q, parsed, want)
	}
}

func TestUnit(t *testing.T) {
	for _, tc := range []struct {
		proportion bool
		unit, want string
	}{
		{true, "percent", "percentunit"},
		{false, "", "short"},
		{false, "percent", "percent"},
		{false, "proportion", "percentunit"},
		{false, "USD", "currencyUSD"},
		{false, "days", "d"},
		{false, "per 1,000", "suffix: per 1,000"},
		{false, " visits ", "suffix: visits"},
	} {
		if got := dashboard.Unit(tc.proportion, tc.unit); got != tc.want {
			t.Errorf("Unit(%v, %q) = %q, want %q", tc.proportion, tc.unit, got, tc.want)
		}
	}
}

func TestConfigMap(t *testing.T) {
	ini, inds, res := fixture()
	js, err := dashboard.JSON(ini, inds, res)
	if err != nil {
		t.Fatal(err)
	}
	cm := dashboard.ConfigMap(ini, js, dashboard.ConfigMapOptions{})
	if cm.Namespace != "north" || cm.Name != "ready-dashboard" || cm.Data["ready.json"] != string(js) || len(cm.Data) != 1 {
		t.Errorf("ConfigMap %s/%s with keys %v", cm.Namespace, cm.Name, cm.Data)
	}
	if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "Ready" {
		t.Errorf("labels %v, annotations %v", cm.Labels, cm.Annotations)
	}
	cm = dashboard.ConfigMap(ini, js, dashboard.ConfigMapOptions{LabelKey: "dashboards", LabelValue: "backbone", FolderAnnotation: "k8s-sidecar-target-directory"})
	if cm.Labels["dashboards"] != "backbone" || cm.Labels["grafana_dashboard"] != "" || cm.Annotations["k8s-sidecar-target-directory"] != "Ready" {
		t.Errorf("configured labels %v, annotations %v", cm.Labels, cm.Annotations)
	}
	ini.Spec.Dashboard = nil
	if cm = dashboard.ConfigMap(ini, js, dashboard.ConfigMapOptions{}); cm.Annotations != nil {
		t.Errorf("no folder, yet annotations %v", cm.Annotations)
	}
	if !dashboard.Enabled(ini) {
		t.Error("a dashboard is enabled by default")
	}
	ini.Spec.Dashboard = &impactv1.DashboardSpec{Enabled: ptr(false)}
	if dashboard.Enabled(ini) {
		t.Error("enabled: false is not honoured")
	}
}

func TestBuildRejectsForeignIndicator(t *testing.T) {
	ini, inds, res := fixture()
	inds[0].Spec.InitiativeRef.Name = "other"
	if _, err := dashboard.Build(ini, inds, res); err == nil || !strings.Contains(err.Error(), "Indicator north/served belongs to Initiative \"other\"") {
		t.Errorf("err = %v", err)
	}
}

// Without a result, or with a headline whose total is withheld, an Indicator's headline is
// a text saying so, and no query reads a series the result does not hold.
func TestBuildWithoutHeadline(t *testing.T) {
	ini, inds, res := fixture()
	d, err := dashboard.Build(ini, inds, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		if p.Type == "stat" {
			t.Errorf("no result, yet a headline stat %q", p.Title)
		}
		if p.Title == "Children served" && p.Type != "text" {
			t.Errorf("no result: headline %q is a %s", p.Title, p.Type)
		}
	}
	res.Indicators[0].Headline.Value = nil
	res.Indicators[0].Headline.Note = "The total is withheld."
	d, err = dashboard.Build(ini, inds, res)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range d.Panels {
		if p.Title == "Ready for kindergarten, share" && p.Type == "text" {
			found = true
			if c := p.Options.(dashboard.TextOptions).Content; !strings.Contains(c, "2025-01-01") || !strings.Contains(c, "withheld") {
				t.Errorf("withheld headline says %q", c)
			}
		}
	}
	if !found {
		t.Error("a withheld headline total is not a text panel")
	}
}
