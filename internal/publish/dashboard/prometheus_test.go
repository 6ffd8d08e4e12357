package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/local/localtest"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/result"
)

// TestDashboardQueriesAgainstPrometheus serves the samples' exposition as `backbone local
// --listen` does, lets Debian's prometheus scrape it, and runs every query of every panel
// of the dashboard through Prometheus' HTTP API with the template variables set to every
// indicator, dimension and period: each query returns exactly the series the result says
// it should, with the result's values; every query returns data for some setting; every
// metric and label a query names exists in what Prometheus scraped; and no series of a
// suppressed cell carries more than its flags.
func TestDashboardQueriesAgainstPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is missing (Debian package prometheus; .ci/run installs it)")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus); the dashboard's queries are not run against it")
	}
	s := runSamples(t)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		s.x.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	prom := startPrometheus(t, bin, strings.TrimPrefix(srv.URL, "http://"))

	// Wait for a complete scrape: every series of the exposition is in Prometheus.
	want := float64(countSeries(t, s.x))
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := prom.query(t, `count({__name__=~"backbone_.+",job="backbone"})`, time.Now())
		if len(v) == 1 && v[0].value == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus has not scraped the %v series of the exposition within 60 s (has %v)", want, v)
		}
		time.Sleep(200 * time.Millisecond)
	}

	d, err := dashboard.Build(s.ini, s.inds, s.res)
	if err != nil {
		t.Fatal(err)
	}
	// Run the queries as Grafana would read them: from the JSON.
	b, err := d.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	var dj dashboard.Dashboard
	if err := json.Unmarshal(b, &dj); err != nil {
		t.Fatal(err)
	}
	universe := expectedSeries(t, s)
	names := prom.strings(t, "/api/v1/label/__name__/values")
	checkNamesAndLabels(t, prom, &dj, names)

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
	if len(indicators) != len(s.inds) {
		t.Fatalf("variable indicator offers %v for %d Indicators", indicators, len(s.inds))
	}
	values := map[string]map[string][]string{} // indicator → variable → values
	for _, ind := range indicators {
		values[ind] = map[string][]string{}
		var dims, periods []string
		for _, c := range s.res.Cells {
			if c.Indicator == ind {
				if d := dashboard.DimensionLabel(c.Dimensions); d != "" {
					dims = append(dims, d)
				}
				periods = append(periods, c.Period)
			}
		}
		for name, want := range map[string][]string{dashboard.VarDimension: dims, dashboard.VarPeriod: periods} {
			got := variableValues(t, prom, byName[name], ind)
			slices.Sort(want)
			want = slices.Compact(want)
			if !slices.Equal(got, want) {
				t.Errorf("variable %s with indicator %s offers %v, the result has %v", name, ind, got, want)
			}
			values[ind][name] = got
		}
	}
	at := time.Now().Truncate(time.Second)
	hasEquity := map[string]bool{}
	for _, r := range s.res.Indicators {
		hasEquity[r.Name] = len(r.Equity) > 0
	}
	queries := 0
	for _, p := range dj.Panels {
		if len(p.Targets) == 0 {
			continue
		}
		live := map[string]bool{} // targets that returned data for some setting
		sets := settings(t, p, indicators, values)
		type run struct {
			set    map[string]string
			tg     dashboard.Target
			expr   string
			got    []sample
			err    error
			expect []sample
		}
		var runs []*run
		for _, set := range sets {
			for _, tg := range p.Targets {
				expr := substitute(tg.Expr, set)
				// A query of one Indicator matches only when $indicator selects it.
				if fixed, _ := fixedIndicator(t, tg.Expr); fixed != "" && set[dashboard.VarIndicator] != "" && fixed != set[dashboard.VarIndicator] {
					continue
				}
				runs = append(runs, &run{set: set, tg: tg, expr: expr})
			}
		}
		parallel(runs, func(r *run) { r.got, r.err = prom.instant(r.expr, at) })
		queries += len(runs)
		panelData := map[string]bool{}
		for _, r := range runs {
			if r.err != nil {
				t.Fatalf("panel %q, query %s: %v", p.Title, r.tg.RefID, r.err)
			}
			r.expect = expect(t, universe, r.expr, at)
			compare(t, fmt.Sprintf("panel %q, query %s", p.Title, r.tg.RefID), r.expr, r.got, r.expect)
			if len(r.got) > 0 {
				live[r.tg.RefID] = true
				panelData[r.set[dashboard.VarIndicator]] = true
			}
		}
		if len(sets) > 1 || sets[0][dashboard.VarIndicator] != "" {
			for _, ind := range indicators {
				if !panelData[ind] && p.Title != "Suppressed cells" && !(readsEquity(p) && !hasEquity[ind]) {
					t.Errorf("panel %q returns no data for indicator %s with any dimension and period", p.Title, ind)
				}
			}
		}
		for _, tg := range p.Targets {
			if !live[tg.RefID] {
				t.Errorf("panel %q: query %s returns no data for any value of the variables: %s", p.Title, tg.RefID, tg.Expr)
			}
		}
		// Each Indicator's headline value is its result's headline.
		if p.Type == "stat" {
			checkHeadline(t, prom, s, p, at)
		}
	}
	t.Logf("%d queries of %d panels run against prometheus", queries, len(dj.Panels))
	checkSuppressed(t, prom, s.res, at)
	checkRules(t, prom, s.res)
}

// checkRules waits for Prometheus to evaluate every alerting rule of
// config/prometheus/rules.yaml on the scraped series, and checks none fails and the
// alerts raised are the result's off-track Indicators, nothing else: the samples' data is
// fresh, promoted, with few rejects, its results computed, under the caps.
func checkRules(t *testing.T, p *prometheus, res *aggregate.Result) {
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
		if err := json.Unmarshal(p.get(t, "/api/v1/rules", nil), &data); err != nil {
			t.Fatal(err)
		}
		var rules []rule
		for _, g := range data.Groups {
			rules = append(rules, g.Rules...)
		}
		evaluated := len(rules) > 0
		for _, r := range rules {
			evaluated = evaluated && !strings.HasPrefix(r.LastEvaluation, "0001-")
		}
		if evaluated {
			if len(rules) != 6 {
				t.Errorf("prometheus loaded %d rules from rules.yaml, want 6", len(rules))
			}
			var got, want []string
			for _, r := range rules {
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
				t.Errorf("alerts on the samples:\n  %s\nwant the off-track Indicators:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus has not evaluated every rule within 30 s: %+v", rules)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// samples is the samples' local run, published.
type samples struct {
	x    *metrics.Exposition
	ini  *impactv1.Initiative
	inds []impactv1.Indicator
	res  *aggregate.Result
	man  *result.Manifest
	out  *local.Output
}

func runSamples(t *testing.T) *samples {
	t.Helper()
	ctx := context.Background()
	r := localtest.Run(t)
	st, m, out := r.Store, r.Manifests, r.Output
	x := metrics.New(metrics.Options{Region: "us-west"})
	if err := local.Publish(ctx, st, out, x); err != nil {
		t.Fatal(err)
	}
	man, err := result.ReadManifest(ctx, st, out.ResultKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	return &samples{x: x, ini: &m.Initiatives[0], inds: m.Indicators, res: out.Results[0], man: man, out: out}
}

func countSeries(t *testing.T, x *metrics.Exposition) int {
	t.Helper()
	n := 0
	for _, s := range x.Series() {
		n += s.Published
	}
	var b strings.Builder
	if _, err := x.WriteTo(&b, metrics.Text); err != nil {
		t.Fatal(err)
	}
	// The Indicators' series and the sources' series.
	lines := 0
	for l := range strings.Lines(b.String()) {
		if !strings.HasPrefix(l, "#") {
			lines++
		}
	}
	if lines < n {
		t.Fatalf("the exposition has %d sample lines, fewer than the %d series of its Indicators", lines, n)
	}
	return lines
}

// settings are the values of the variables a panel's queries use: every indicator, and
// with it every dimension and period the variables offer for it.
func settings(t *testing.T, p dashboard.Panel, indicators []string, values map[string]map[string][]string) []map[string]string {
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
func variableValues(t *testing.T, p *prometheus, v dashboard.Variable, indicator string) []string {
	t.Helper()
	m := labelValuesRE.FindStringSubmatch(v.Query)
	if v.Type != "query" || m == nil {
		t.Fatalf("variable %s is a %s with query %q, want label_values(selector, label)", v.Name, v.Type, v.Query)
	}
	sel := substitute(m[1], map[string]string{dashboard.VarIndicator: indicator})
	var out []string
	if err := json.Unmarshal(p.get(t, "/api/v1/label/"+m[2]+"/values", url.Values{"match[]": {sel}}), &out); err != nil {
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
func fixedIndicator(t *testing.T, expr string) (string, bool) {
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

func substitute(expr string, set map[string]string) string {
	for name, v := range set {
		expr = strings.ReplaceAll(expr, "${"+name+"}", v)
		expr = strings.ReplaceAll(expr, "$"+name, v)
	}
	return expr
}

// checkNamesAndLabels checks that every metric a query names is one Prometheus scraped,
// with series metadata, and that every label it matches on is a label of that metric's
// series.
func checkNamesAndLabels(t *testing.T, p *prometheus, d *dashboard.Dashboard, names []string) {
	t.Helper()
	var meta map[string][]struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(p.get(t, "/api/v1/metadata", nil), &meta); err != nil {
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
				if err := json.Unmarshal(p.get(t, "/api/v1/series", url.Values{"match[]": {name}}), &ss); err != nil {
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
func checkHeadline(t *testing.T, p *prometheus, s *samples, panel dashboard.Panel, at time.Time) {
	t.Helper()
	for _, tg := range panel.Targets {
		if tg.RefID != "value" {
			continue
		}
		got := p.query(t, tg.Expr, at)
		if len(got) != 1 {
			t.Errorf("headline %q: %d series, want 1", panel.Title, len(got))
			continue
		}
		ind := got[0].labels["indicator"]
		for _, r := range s.res.Indicators {
			if r.Name == ind && (r.Headline == nil || r.Headline.Value == nil || *r.Headline.Value != got[0].value || r.Headline.Period != got[0].labels["period"]) {
				t.Errorf("headline %q: %v at %s, the result's headline is %+v", panel.Title, got[0].value, got[0].labels["period"], r.Headline)
			}
		}
	}
}

// checkSuppressed scans every series Prometheus holds: a suppressed cell's labels carry
// only its suppressed and partial flags, and no equity series names a suppressed group.
func checkSuppressed(t *testing.T, p *prometheus, res *aggregate.Result, at time.Time) {
	t.Helper()
	all := p.query(t, `{__name__=~"backbone_.+"}`, at)
	type cellKey struct{ indicator, period, dimension, group string }
	suppressed := map[cellKey]bool{}
	for _, c := range res.Cells {
		if c.Suppressed {
			suppressed[cellKey{c.Indicator, c.Period, dashboard.DimensionLabel(c.Dimensions), groupLabel(c.Dimensions)}] = true
		}
	}
	if len(suppressed) == 0 {
		t.Fatal("the samples have no suppressed cell")
	}
	seen := 0
	for _, s := range all {
		l := s.labels
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
			if s.value != 1 {
				t.Errorf("suppressed cell %+v: backbone_indicator_suppressed = %v", k, s.value)
			}
		case "backbone_indicator_partial", "backbone_equity_reference":
		default:
			t.Errorf("suppressed cell %+v: series %s = %v is published", k, l["__name__"], s.value)
		}
	}
	if seen != len(suppressed) {
		t.Errorf("%d suppressed cells in the result, %d flagged in prometheus", len(suppressed), seen)
	}
}
