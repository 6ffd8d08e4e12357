package promtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/store"
)

// Want is what an Initiative's series are computed from: its result, its Indicators'
// specs and its DataSources' snapshot manifests.
type Want struct {
	Initiative *impactv1.Initiative
	Indicators []impactv1.Indicator
	Result     *aggregate.Result
	// Snapshots are the snapshot manifests the data-health series are published from.
	Snapshots []store.SnapshotManifest
	// WithheldRowCounts are the sources whose row counts the result withholds.
	WithheldRowCounts []string
}

// CheckDashboard runs every query of every panel of a dashboard (its JSON, as Grafana
// reads it) through Prometheus with the template variables set to every indicator and to
// every dimension and period Prometheus offers for it, as Grafana asks them. It checks:
// the dimension and period variables list exactly the result's; each query returns
// exactly the series the result says it should, with the result's values; every query
// returns data for some setting, and every panel for every Indicator that has such data;
// each headline is the result's headline; every metric a query names was scraped, as a
// gauge, and every label it matches on is a label of that metric's series; and no series
// of a suppressed cell carries more than its flags. at is the time queries run at.
func CheckDashboard(t testing.TB, p *Server, dashboardJSON []byte, w Want, at time.Time) {
	t.Helper()
	var dj dashboard.Dashboard
	if err := json.Unmarshal(dashboardJSON, &dj); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	universe := expectedSeries(t, w)
	names := p.Strings(t, "/api/v1/label/__name__/values")
	checkNamesAndLabels(t, p, &dj, names)

	// The indicator variable lists the Indicators; the dimension and period variables are
	// asked from Prometheus for each, as Grafana does, and must list the result's.
	var indicators []string
	byName := map[string]dashboard.Variable{}
	for _, v := range dj.Templating.List {
		byName[v.Name] = v
	}
	for _, o := range byName[dashboard.VarIndicator].Options {
		indicators = append(indicators, o.Value)
	}
	if len(indicators) != len(w.Indicators) {
		t.Fatalf("variable indicator offers %v for %d Indicators", indicators, len(w.Indicators))
	}
	values := map[string]map[string][]string{} // indicator → variable → values
	for _, ind := range indicators {
		values[ind] = map[string][]string{}
		var dims, periods []string
		for _, c := range w.Result.Cells {
			if c.Indicator == ind {
				if d := dashboard.DimensionLabel(c.Dimensions); d != "" {
					dims = append(dims, d)
				}
				periods = append(periods, c.Period)
			}
		}
		for name, want := range map[string][]string{dashboard.VarDimension: dims, dashboard.VarPeriod: periods} {
			got := variableValues(t, p, byName[name], ind)
			slices.Sort(want)
			want = slices.Compact(want)
			if !slices.Equal(got, want) {
				t.Errorf("variable %s with indicator %s offers %v, the result has %v", name, ind, got, want)
			}
			values[ind][name] = got
		}
	}
	hasEquity := map[string]bool{}
	for _, r := range w.Result.Indicators {
		hasEquity[r.Name] = len(r.Equity) > 0
	}
	queries := 0
	for _, panel := range dj.Panels {
		if len(panel.Targets) == 0 {
			continue
		}
		live := map[string]bool{} // targets that returned data for some setting
		sets := settings(t, panel, indicators, values)
		type run struct {
			set  map[string]string
			tg   dashboard.Target
			expr string
			got  []Sample
			err  error
		}
		var runs []*run
		for _, set := range sets {
			for _, tg := range panel.Targets {
				// A query of one Indicator matches only when $indicator selects it.
				if fixed, _ := fixedIndicator(t, tg.Expr); fixed != "" && set[dashboard.VarIndicator] != "" && fixed != set[dashboard.VarIndicator] {
					continue
				}
				runs = append(runs, &run{set: set, tg: tg, expr: Substitute(tg.Expr, set)})
			}
		}
		parallel(runs, func(r *run) { r.got, r.err = p.Instant(r.expr, at) })
		queries += len(runs)
		panelData := map[string]bool{}
		for _, r := range runs {
			if r.err != nil {
				t.Fatalf("panel %q, query %s: %v", panel.Title, r.tg.RefID, r.err)
			}
			compare(t, fmt.Sprintf("panel %q, query %s", panel.Title, r.tg.RefID), r.expr, r.got, expect(t, universe, r.expr, at))
			if len(r.got) > 0 {
				live[r.tg.RefID] = true
				panelData[r.set[dashboard.VarIndicator]] = true
			}
		}
		if len(sets) > 1 || sets[0][dashboard.VarIndicator] != "" {
			for _, ind := range indicators {
				noEquity := readsEquity(panel) && !hasEquity[ind] // a Count or Sum has none
				if !panelData[ind] && panel.Title != "Suppressed cells" && !noEquity {
					t.Errorf("panel %q returns no data for indicator %s with any dimension and period", panel.Title, ind)
				}
			}
		}
		for _, tg := range panel.Targets {
			if !live[tg.RefID] {
				t.Errorf("panel %q: query %s returns no data for any value of the variables: %s", panel.Title, tg.RefID, tg.Expr)
			}
		}
		if panel.Type == "stat" {
			checkHeadline(t, p, w.Result, panel, at)
		}
	}
	t.Logf("%d queries of %d panels run against prometheus", queries, len(dj.Panels))
	checkSuppressed(t, p, w.Result, at)
}

// settings are the values of the variables a panel's queries use: every indicator, and
// with it every dimension and period the variables offer for it.
func settings(t testing.TB, p dashboard.Panel, indicators []string, values map[string]map[string][]string) []map[string]string {
	t.Helper()
	uses := func(name string) bool {
		for _, tg := range p.Targets {
			if strings.Contains(tg.Expr, "$"+name) {
				return true
			}
		}
		return false
	}
	if !uses(dashboard.VarIndicator) {
		if uses(dashboard.VarDimension) || uses(dashboard.VarPeriod) {
			t.Fatalf("panel %q uses $dimension or $period without $indicator", p.Title)
		}
		return []map[string]string{{}}
	}
	var out []map[string]string
	for _, ind := range indicators {
		sets := []map[string]string{{dashboard.VarIndicator: ind}}
		for _, name := range []string{dashboard.VarDimension, dashboard.VarPeriod} {
			if !uses(name) {
				continue
			}
			var next []map[string]string
			for _, s := range sets {
				for _, v := range values[ind][name] {
					n := maps.Clone(s)
					n[name] = v
					next = append(next, n)
				}
			}
			sets = next
		}
		out = append(out, sets...)
	}
	return out
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.+), ([a-z_]+)\)$`)

// variableValues asks Prometheus for the values of a label_values variable with
// $indicator set, as Grafana does (/api/v1/label/<label>/values?match[]=…), sorted.
func variableValues(t testing.TB, p *Server, v dashboard.Variable, indicator string) []string {
	t.Helper()
	m := labelValuesRE.FindStringSubmatch(v.Query)
	if v.Type != "query" || m == nil {
		t.Fatalf("variable %s is a %s with query %q, want label_values(selector, label)", v.Name, v.Type, v.Query)
	}
	sel := Substitute(m[1], map[string]string{dashboard.VarIndicator: indicator})
	var out []string
	if err := json.Unmarshal(p.Get(t, "/api/v1/label/"+m[2]+"/values", url.Values{"match[]": {sel}}), &out); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// readsEquity says whether a panel's queries read equity series: an Indicator whose
// measure has none (a Count or Sum) leaves it empty.
func readsEquity(p dashboard.Panel) bool {
	for _, tg := range p.Targets {
		if !strings.Contains(tg.Expr, "backbone_equity_") {
			return false
		}
	}
	return true
}

// fixedIndicator returns the indicator a query names with indicator="…" beside $indicator.
func fixedIndicator(t testing.TB, expr string) (string, bool) {
	t.Helper()
	_, ms := parseSelector(t, expr)
	fixed, templated := "", false
	for _, m := range ms {
		if m.label == "indicator" && m.op == "=" && !strings.Contains(m.value, "$") {
			fixed = m.value
		}
		if m.label == "indicator" && strings.Contains(m.value, "$") {
			templated = true
		}
	}
	if !templated {
		return "", false
	}
	return fixed, true
}

// parallel runs f on every run, four at a time.
func parallel[T any](runs []T, f func(T)) {
	sem := make(chan struct{}, 4)
	done := make(chan struct{})
	for _, r := range runs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; done <- struct{}{} }()
			f(r)
		}()
	}
	for range runs {
		<-done
	}
}

// Substitute sets a query's template variables ($name and ${name}) to values.
func Substitute(expr string, set map[string]string) string {
	for name, v := range set {
		expr = strings.ReplaceAll(expr, "${"+name+"}", v)
		expr = strings.ReplaceAll(expr, "$"+name, v)
	}
	return expr
}

// checkNamesAndLabels checks that every metric a query names is one Prometheus scraped,
// with gauge metadata, and that every label it matches on is a label of that metric's
// series.
func checkNamesAndLabels(t testing.TB, p *Server, d *dashboard.Dashboard, names []string) {
	t.Helper()
	var meta map[string][]struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(p.Get(t, "/api/v1/metadata", nil), &meta); err != nil {
		t.Fatal(err)
	}
	labelsOf := map[string]map[string]bool{}
	panels := d.Panels
	// The variables' queries, as a panel of their own: their selector, and their label.
	vp := dashboard.Panel{Title: "variables"}
	for _, v := range d.Templating.List {
		if m := labelValuesRE.FindStringSubmatch(v.Query); m != nil {
			vp.Targets = append(vp.Targets, dashboard.Target{RefID: v.Name, Expr: strings.TrimSuffix(m[1], "}") + "," + m[2] + `!=""}`})
		}
	}
	panels = append(panels, vp)
	for _, panel := range panels {
		for _, tg := range panel.Targets {
			name, ms := parseSelector(t, tg.Expr)
			if !slices.Contains(names, name) {
				t.Errorf("panel %q, query %s: metric %s is not among the scraped metrics", panel.Title, tg.RefID, name)
				continue
			}
			if len(meta[name]) == 0 || meta[name][0].Type != "gauge" {
				t.Errorf("panel %q: metric %s has metadata %v, want a gauge", panel.Title, name, meta[name])
			}
			if labelsOf[name] == nil {
				var ss []map[string]string
				if err := json.Unmarshal(p.Get(t, "/api/v1/series", url.Values{"match[]": {name}}), &ss); err != nil {
					t.Fatal(err)
				}
				labelsOf[name] = map[string]bool{}
				for _, s := range ss {
					for k := range s {
						labelsOf[name][k] = true
					}
				}
			}
			for _, m := range ms {
				if !labelsOf[name][m.label] {
					t.Errorf("panel %q, query %s: %s has no label %s", panel.Title, tg.RefID, name, m.label)
				}
			}
		}
	}
}

// checkHeadline checks a headline stat's value query against the result's headline.
func checkHeadline(t testing.TB, p *Server, res *aggregate.Result, panel dashboard.Panel, at time.Time) {
	t.Helper()
	for _, tg := range panel.Targets {
		if tg.RefID != "value" {
			continue
		}
		got := p.Query(t, tg.Expr, at)
		if len(got) != 1 {
			t.Errorf("headline %q: %d series, want 1", panel.Title, len(got))
			continue
		}
		ind := got[0].Labels["indicator"]
		for _, r := range res.Indicators {
			if r.Name == ind && (r.Headline == nil || r.Headline.Value == nil || *r.Headline.Value != got[0].Value || r.Headline.Period != got[0].Labels["period"]) {
				t.Errorf("headline %q: %v at %s, the result's headline is %+v", panel.Title, got[0].Value, got[0].Labels["period"], r.Headline)
			}
		}
	}
}

// checkSuppressed scans every series Prometheus holds: a suppressed cell's labels carry
// only its suppressed and partial flags (and a reference mark), never a value, interval,
// numerator, denominator or n; every suppressed cell of the result is flagged.
func checkSuppressed(t testing.TB, p *Server, res *aggregate.Result, at time.Time) {
	t.Helper()
	all := p.Query(t, `{__name__=~"backbone_.+"}`, at)
	type cellKey struct{ indicator, period, dimension, group string }
	suppressed := map[cellKey]bool{}
	for _, c := range res.Cells {
		if c.Suppressed {
			suppressed[cellKey{c.Indicator, c.Period, dashboard.DimensionLabel(c.Dimensions), GroupLabel(c.Dimensions)}] = true
		}
	}
	if len(suppressed) == 0 {
		t.Fatal("the result has no suppressed cell: nothing to check")
	}
	seen := 0
	for _, s := range all {
		l := s.Labels
		if _, ok := l["group"]; !ok && l["dimension"] == "" && !strings.HasPrefix(l["__name__"], "backbone_indicator_") {
			continue
		}
		k := cellKey{l["indicator"], l["period"], l["dimension"], l["group"]}
		if !suppressed[k] {
			continue
		}
		switch l["__name__"] {
		case "backbone_indicator_suppressed":
			seen++
			if s.Value != 1 {
				t.Errorf("suppressed cell %+v: backbone_indicator_suppressed = %v", k, s.Value)
			}
		case "backbone_indicator_partial", "backbone_equity_reference":
		default:
			t.Errorf("suppressed cell %+v: series %s = %v is published", k, l["__name__"], s.Value)
		}
	}
	if seen != len(suppressed) {
		t.Errorf("%d suppressed cells in the result, %d flagged in prometheus", len(suppressed), seen)
	}
}

// CheckRules waits for Prometheus to evaluate every alerting rule it loaded, and checks
// there are rules of them, none fails, and the alerts raised are the result's off-track
// Indicators, nothing else (the data fresh, promoted, with few rejects, its results
// computed, under the caps).
func CheckRules(t testing.TB, p *Server, res *aggregate.Result, rules int) {
	t.Helper()
	type rule struct {
		Name           string `json:"name"`
		Health         string `json:"health"`
		LastError      string `json:"lastError"`
		State          string `json:"state"`
		LastEvaluation string `json:"lastEvaluation"`
		Alerts         []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var data struct {
			Groups []struct {
				Rules []rule `json:"rules"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(p.Get(t, "/api/v1/rules", nil), &data); err != nil {
			t.Fatal(err)
		}
		var all []rule
		for _, g := range data.Groups {
			all = append(all, g.Rules...)
		}
		evaluated := len(all) > 0
		for _, r := range all {
			evaluated = evaluated && !strings.HasPrefix(r.LastEvaluation, "0001-")
		}
		if evaluated {
			if len(all) != rules {
				t.Errorf("prometheus loaded %d rules, want %d", len(all), rules)
			}
			var got, want []string
			for _, r := range all {
				if r.Health != "ok" || r.LastError != "" {
					t.Errorf("rule %s: health %s: %s", r.Name, r.Health, r.LastError)
				}
				for _, a := range r.Alerts {
					got = append(got, r.Name+" "+a.Labels["indicator"]+" "+a.Labels["period"])
				}
			}
			for _, r := range res.Indicators {
				if tr := r.OnTrack; tr != nil && tr.Judged && !tr.OnTrack {
					want = append(want, "BackboneIndicatorOffTrack "+r.Name+" "+r.Headline.Period)
				}
			}
			slices.Sort(got)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("alerts raised:\n  %s\nwant the off-track Indicators:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus has not evaluated every rule within 30 s: %+v", all)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// RulesFile is the absolute path of config/prometheus/rules.yaml under the repository's
// root (relative to the test's folder, or absolute).
func RulesFile(t testing.TB, repoRoot string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(repoRoot, "config", "prometheus", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
