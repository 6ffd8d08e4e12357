package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
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
		parallel(runs, func(r *run) { r.got = prom.query(t, r.expr, at) })
		queries += len(runs)
		panelData := map[string]bool{}
		for _, r := range runs {
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
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := local.Load(ctx, "../../../config/samples", "default")
	if err != nil {
		t.Fatal(err)
	}
	out, err := local.Run(ctx, m, local.Options{Store: st, AsOf: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
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

// prometheus is a running prometheus server.
type prometheus struct {
	url string
}

// startPrometheus starts prometheus scraping target every second, its TSDB in a temporary
// folder; it is killed when the test ends.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs("../../../config/prometheus/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
- job_name: backbone
  metrics_path: /metrics
  static_configs:
  - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	p := &prometheus{url: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready on %s within 30 s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// apiResponse is the envelope of Prometheus' HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func (p *prometheus) get(t *testing.T, path string, q url.Values) json.RawMessage {
	t.Helper()
	resp, err := http.Get(p.url + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s %v: %v", path, q, err)
	}
	if r.Status != "success" {
		t.Fatalf("%s %v: %s: %s", path, q, r.ErrorType, r.Error)
	}
	return r.Data
}

func (p *prometheus) strings(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal(p.get(t, path, nil), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sample is one series of an instant vector: its labels (region, job and instance left
// out) and value.
type sample struct {
	labels map[string]string
	value  float64
}

func (s sample) key() string {
	keys := slices.Sorted(maps.Keys(s.labels))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, s.labels[k])
	}
	return b.String()
}

// query runs an instant query at a time.
func (p *prometheus) query(t *testing.T, expr string, at time.Time) []sample {
	t.Helper()
	data := p.get(t, "/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatInt(at.Unix(), 10)}})
	var v struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if v.ResultType != "vector" {
		t.Fatalf("%s: result type %s, want vector", expr, v.ResultType)
	}
	var out []sample
	for _, r := range v.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: value %v: %v", expr, r.Value[1], err)
		}
		l := maps.Clone(r.Metric)
		delete(l, "job")
		delete(l, "instance")
		delete(l, "region")
		out = append(out, sample{labels: l, value: f})
	}
	return out
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

// series is one series the result says the exposition holds.
type series struct {
	name   string
	labels map[string]string // without region; an empty value is left out
	value  float64
}

// expectedSeries are the series the dashboard may read, computed from the result, the
// Indicators' specs and the snapshot manifests, independently of the exposition's code.
func expectedSeries(t *testing.T, s *samples) []series {
	t.Helper()
	var out []series
	add := func(name string, v float64, kv ...string) {
		l := map[string]string{"namespace": s.ini.Namespace, "initiative": s.ini.Name}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				l[kv[i]] = kv[i+1]
			}
		}
		out = append(out, series{name: name, labels: l, value: v})
	}
	proportion := map[string]bool{}
	for _, ind := range s.inds {
		p := ind.Spec.Measure.Type == impactv1.MeasureProportion
		proportion[ind.Name] = p
		if tg := ind.Spec.Target; tg != nil {
			v, err := strconv.ParseFloat(string(tg.Value), 64)
			if err != nil {
				t.Fatal(err)
			}
			add(fam("backbone_indicator_target", p), v, "indicator", ind.Name)
		}
	}
	for _, r := range s.res.Indicators {
		if h := r.Headline; h != nil {
			if h.Progress != nil {
				add("backbone_indicator_progress_ratio", *h.Progress, "indicator", r.Name, "period", h.Period)
			}
			if tr := r.OnTrack; tr != nil && tr.Judged {
				add("backbone_indicator_on_track", b2f(tr.OnTrack), "indicator", r.Name, "period", h.Period)
			}
		}
		for _, e := range r.Equity {
			el := []string{"indicator", r.Name, "period", e.Period, "dimension", e.Dimension}
			if e.IndexOfDisparity != nil {
				add("backbone_equity_index_of_disparity_ratio", *e.IndexOfDisparity/100, el...)
			}
			add("backbone_equity_groups", float64(e.Groups), el...)
			add("backbone_equity_suppressed_groups", float64(e.SuppressedGroups), el...)
			for g, v := range e.Differences {
				add("backbone_equity_difference", v, append(el, "group", g)...)
			}
			for g, v := range e.Ratios {
				add("backbone_equity_ratio_to_reference", v, append(el, "group", g)...)
			}
			ref := e.Reference
			if ref == "total" {
				ref = ""
			}
			add("backbone_equity_reference", 1, append(el, "group", ref)...)
			if e.Best != "" {
				add("backbone_equity_best", 1, append(el, "group", e.Best)...)
			}
			if e.Worst != "" {
				add("backbone_equity_worst", 1, append(el, "group", e.Worst)...)
			}
		}
	}
	for _, c := range s.res.Cells {
		p := proportion[c.Indicator]
		cl := []string{"indicator", c.Indicator, "period", c.Period, "dimension", dashboard.DimensionLabel(c.Dimensions), "group", groupLabel(c.Dimensions)}
		add("backbone_indicator_suppressed", b2f(c.Suppressed), cl...)
		add("backbone_indicator_partial", b2f(c.Partial), cl...)
		if c.Suppressed {
			continue
		}
		if c.Value != nil {
			add(fam("backbone_indicator_value", p), *c.Value, cl...)
			add("backbone_indicator_reliable", b2f(c.Reliable), cl...)
		}
		if c.CILower != nil {
			add(fam("backbone_indicator_ci_lower", p), *c.CILower, cl...)
		}
		if c.CIUpper != nil {
			add(fam("backbone_indicator_ci_upper", p), *c.CIUpper, cl...)
		}
	}
	for _, m := range s.out.Snapshots {
		sl := []string{"source", m.Source, "partner", m.Partner}
		if m.Promoted {
			add("backbone_source_last_ingest_timestamp_seconds", float64(m.Created.UnixNano())/1e9, sl...)
		}
		add("backbone_source_promoted", b2f(m.Promoted), sl...)
		if slices.Contains(s.man.WithheldRowCounts, m.Source) {
			continue
		}
		add("backbone_source_input_rows", float64(m.RowsIn), sl...)
		add("backbone_source_accepted_rows", float64(m.RowsOK), sl...)
		add("backbone_source_rejected_rows", float64(m.RowsRejected), sl...)
		add("backbone_source_excluded_rows", float64(m.RowsExcluded), sl...)
		if m.RowsIn > 0 {
			add("backbone_source_reject_ratio", float64(m.RowsRejected)/float64(m.RowsIn), sl...)
		}
	}
	return out
}

func fam(name string, proportion bool) string {
	if proportion {
		return name + "_ratio"
	}
	return name
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// groupLabel is the group label of a cell: its groups in the order of its sorted dimension
// names, "," and "\" escaped with "\", joined with ",".
func groupLabel(dims map[string]string) string {
	names := slices.Sorted(maps.Keys(dims))
	var gs []string
	for _, d := range names {
		g := strings.ReplaceAll(dims[d], `\`, `\\`)
		gs = append(gs, strings.ReplaceAll(g, `,`, `\,`))
	}
	return strings.Join(gs, ",")
}

var (
	selectorRE = regexp.MustCompile(`(backbone_[a-z_]+)\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)("(?:[^"\\]|\\.)*")`)
)

type matcher struct {
	label, op, value string
	re               *regexp.Regexp
}

func (m matcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// parseSelector returns the metric and matchers of the one selector of a query.
func parseSelector(t *testing.T, expr string) (string, []matcher) {
	t.Helper()
	sels := selectorRE.FindAllStringSubmatch(expr, -1)
	if len(sels) != 1 {
		t.Fatalf("query %s: %d selectors, want 1", expr, len(sels))
	}
	var ms []matcher
	for _, m := range matcherRE.FindAllStringSubmatch(sels[0][2], -1) {
		v, err := strconv.Unquote(m[3])
		if err != nil {
			t.Fatalf("query %s: matcher %s: %v", expr, m[0], err)
		}
		mt := matcher{label: m[1], op: m[2], value: v}
		if strings.Contains(mt.op, "~") {
			mt.re = regexp.MustCompile("^(?:" + v + ")$")
		}
		ms = append(ms, mt)
	}
	return sels[0][1], ms
}

// expect evaluates a query on the expected series: the selector, then the operations the
// dashboard uses (a "== 1" filter, "time() - " for an age).
func expect(t *testing.T, universe []series, expr string, at time.Time) []sample {
	t.Helper()
	name, ms := parseSelector(t, expr)
	var out []sample
	for _, s := range universe {
		if s.name != name {
			continue
		}
		ok := true
		for _, m := range ms {
			if !m.matches(s.labels[m.label]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		l := maps.Clone(s.labels)
		v := s.value
		switch {
		case strings.HasSuffix(expr, " == 1"):
			if v != 1 {
				continue
			}
			l["__name__"] = name
		case strings.HasPrefix(expr, "time() - "):
			v = float64(at.Unix()) - v
		default:
			l["__name__"] = name
		}
		out = append(out, sample{labels: l, value: v})
	}
	return out
}

// compare checks that a query returned exactly the expected series and values.
func compare(t *testing.T, what, expr string, got, want []sample) {
	t.Helper()
	g := map[string]float64{}
	for _, s := range got {
		g[s.key()] = s.value
	}
	w := map[string]float64{}
	for _, s := range want {
		w[s.key()] = s.value
	}
	for k, v := range w {
		gv, ok := g[k]
		switch {
		case !ok:
			t.Errorf("%s: %s\n  lacks %s (the result has %v)", what, expr, k, v)
		case gv != v && math.Abs(gv-v) > 1e-9*math.Max(1, math.Abs(v)):
			t.Errorf("%s: %s\n  %s = %v, the result has %v", what, expr, k, gv, v)
		}
	}
	for k, v := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s: %s\n  returns %s = %v, which the result does not hold", what, expr, k, v)
		}
	}
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
