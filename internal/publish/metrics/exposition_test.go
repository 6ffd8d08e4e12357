package metrics

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dto "github.com/prometheus/client_model/go"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

const (
	readiness = "namespace=north,initiative=ready,indicator=readiness"
	cellTotal = readiness + ",period=2025-01-01,dimension=,group=,region=west"
	cellLow   = readiness + ",period=2025-01-01,dimension=income,group=Low income,region=west"
)

// TestWorkedSeries checks the series of the fixture one by one, and that it publishes
// nothing else.
func TestWorkedSeries(t *testing.T) {
	x := fixtureExposition(t, Options{Region: "west"})
	fams, _ := parse(t, render(t, x, Text))
	got := samples(fams)
	want := map[string]float64{
		"backbone_indicator_last_computed_timestamp_seconds{" + readiness + ",region=west}":  1795415400,
		"backbone_indicator_target_ratio{" + readiness + ",region=west}":                     0.8,
		"backbone_indicator_baseline_ratio{" + readiness + ",region=west}":                   0.6,
		"backbone_indicator_on_track{" + readiness + ",period=2025-01-01,region=west}":       0,
		"backbone_indicator_progress_ratio{" + readiness + ",period=2025-01-01,region=west}": 0.5,
		"backbone_indicator_cells{" + readiness + ",region=west}":                            5,
		"backbone_indicator_suppressed_cells{" + readiness + ",region=west}":                 2,
		"backbone_indicator_series{" + readiness + ",region=west}":                           48,
		"backbone_indicator_series_capped{" + readiness + ",region=west}":                    0,

		"backbone_indicator_value_ratio{" + cellTotal + "}":    0.7,
		"backbone_indicator_ci_lower_ratio{" + cellTotal + "}": 0.6,
		"backbone_indicator_ci_upper_ratio{" + cellTotal + "}": 0.78,
		"backbone_indicator_numerator{" + cellTotal + "}":      70,
		"backbone_indicator_denominator{" + cellTotal + "}":    100,
		"backbone_indicator_n{" + cellTotal + "}":              100,
		"backbone_indicator_reliable{" + cellTotal + "}":       1,
		"backbone_indicator_suppressed{" + cellTotal + "}":     0,
		"backbone_indicator_partial{" + cellTotal + "}":        0,

		"backbone_indicator_value_ratio{" + cellLow + "}":    0.5,
		"backbone_indicator_ci_lower_ratio{" + cellLow + "}": 0.3,
		"backbone_indicator_ci_upper_ratio{" + cellLow + "}": 0.7,
		"backbone_indicator_numerator{" + cellLow + "}":      10,
		"backbone_indicator_denominator{" + cellLow + "}":    20,
		"backbone_indicator_n{" + cellLow + "}":              20,
		"backbone_indicator_reliable{" + cellLow + "}":       0,
		"backbone_indicator_suppressed{" + cellLow + "}":     0,
		"backbone_indicator_partial{" + cellLow + "}":        0,

		// A group holding "," and a quote: escaped for the join, then for the exposition.
		"backbone_indicator_suppressed{" + readiness + `,period=2025-01-01,dimension=income,group=Not low\, "other",region=west}`: 1,
		"backbone_indicator_partial{" + readiness + `,period=2025-01-01,dimension=income,group=Not low\, "other",region=west}`:    0,
		// Intersections: dimensions sorted, groups in the same order.
		"backbone_indicator_suppressed{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Black,region=west}":  1,
		"backbone_indicator_partial{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Black,region=west}":     0,
		"backbone_indicator_suppressed{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Asian,region=west}":  0,
		"backbone_indicator_partial{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Asian,region=west}":     0,
		"backbone_indicator_value_ratio{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Asian,region=west}": 0.25,
		"backbone_indicator_numerator{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Asian,region=west}":   3,
		"backbone_indicator_denominator{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Asian,region=west}": 12,
		"backbone_indicator_n{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Asian,region=west}":           12,
		"backbone_indicator_reliable{" + readiness + ",period=2025-01-01,dimension=income,race_ethnicity,group=Low income,Asian,region=west}":    0,

		// Equity: percents as fractions; the reference is the total (group "").
		"backbone_equity_index_of_disparity_ratio{" + readiness + ",period=2025-01-01,dimension=income,region=west}":            0.125,
		"backbone_equity_population_attributable_risk{" + readiness + ",period=2025-01-01,dimension=income,region=west}":        0.2,
		"backbone_equity_population_attributable_risk_ratio{" + readiness + ",period=2025-01-01,dimension=income,region=west}":  0.4,
		"backbone_equity_groups{" + readiness + ",period=2025-01-01,dimension=income,region=west}":                              2,
		"backbone_equity_suppressed_groups{" + readiness + ",period=2025-01-01,dimension=income,region=west}":                   1,
		"backbone_equity_difference{" + readiness + ",period=2025-01-01,dimension=income,group=Low income,region=west}":         -0.2,
		"backbone_equity_ratio_to_reference{" + readiness + ",period=2025-01-01,dimension=income,group=Low income,region=west}": 0.5 / 0.7,
		"backbone_equity_reference{" + readiness + ",period=2025-01-01,dimension=income,group=,region=west}":                    1,
		"backbone_equity_best{" + readiness + ",period=2025-01-01,dimension=income,group=Low income,region=west}":               1,
		"backbone_equity_worst{" + readiness + ",period=2025-01-01,dimension=income,group=Low income,region=west}":              1,

		// A Count: value in its unit, no denominator, no interval, no target; partial period.
		"backbone_indicator_last_computed_timestamp_seconds{namespace=north,initiative=ready,indicator=visits,region=west}":                1795415400,
		"backbone_indicator_cells{namespace=north,initiative=ready,indicator=visits,region=west}":                                          1,
		"backbone_indicator_suppressed_cells{namespace=north,initiative=ready,indicator=visits,region=west}":                               0,
		"backbone_indicator_series{namespace=north,initiative=ready,indicator=visits,region=west}":                                         11,
		"backbone_indicator_series_capped{namespace=north,initiative=ready,indicator=visits,region=west}":                                  0,
		"backbone_indicator_value{namespace=north,initiative=ready,indicator=visits,period=2025-02-01,dimension=,group=,region=west}":      5,
		"backbone_indicator_numerator{namespace=north,initiative=ready,indicator=visits,period=2025-02-01,dimension=,group=,region=west}":  5,
		"backbone_indicator_n{namespace=north,initiative=ready,indicator=visits,period=2025-02-01,dimension=,group=,region=west}":          5,
		"backbone_indicator_reliable{namespace=north,initiative=ready,indicator=visits,period=2025-02-01,dimension=,group=,region=west}":   0,
		"backbone_indicator_suppressed{namespace=north,initiative=ready,indicator=visits,period=2025-02-01,dimension=,group=,region=west}": 0,
		"backbone_indicator_partial{namespace=north,initiative=ready,indicator=visits,period=2025-02-01,dimension=,group=,region=west}":    1,

		// Data health, from the snapshot manifest.
		"backbone_source_last_ingest_timestamp_seconds{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}": 1795415400,
		"backbone_source_promoted{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":                      1,
		"backbone_source_input_rows{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":                    1000,
		"backbone_source_accepted_rows{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":                 960,
		"backbone_source_rejected_rows{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":                 30,
		"backbone_source_excluded_rows{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":                 10,
		"backbone_source_reject_ratio{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":                  0.03,
		"backbone_source_snapshot_bytes{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":                4096,
		"backbone_source_engine_layout_bytes{namespace=north,initiative=ready,source=kindergarten,partner=district,region=west}":           8192,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s", k)
		}
	}
	// The series counts the Indicators report are the lines they write.
	perIndicator := map[string]int{}
	for k := range got {
		for _, name := range []string{"readiness", "visits"} {
			if strings.Contains(k, "indicator="+name+",") {
				perIndicator[name]++
			}
		}
	}
	if perIndicator["readiness"] != 48 || perIndicator["visits"] != 11 {
		t.Errorf("series per indicator %v, want readiness 48, visits 11", perIndicator)
	}
}

// TestSuppressedCellsCarryNothing: a suppressed cell's labels appear on its suppressed and
// partial flags and on nothing else.
func TestSuppressedCellsCarryNothing(t *testing.T) {
	x := fixtureExposition(t, Options{})
	_, res := fixture()
	fams, _ := parse(t, render(t, x, Text))
	checkSuppressed(t, fams, res.Cells)
}

// TestLabelSchema: every family has HELP and TYPE gauge and carries exactly the labels of
// its set, all from the schema, region last.
func TestLabelSchema(t *testing.T) {
	x := fixtureExposition(t, Options{Region: "west"})
	fams, order := parse(t, render(t, x, Text))
	checkSchema(t, fams, order)
	if len(order) != len(fams) {
		t.Errorf("%d TYPE lines for %d families", len(order), len(fams))
	}
}

// TestEncodingMatchesExpfmt: the reference encoder gives the same text bytes from the parsed
// families, and the same OpenMetrics lines (numbers compared as numbers: OpenMetrics
// writes 1 as 1.0).
func TestEncodingMatchesExpfmt(t *testing.T) {
	x := fixtureExposition(t, Options{Region: `a "quoted" \ region`})
	text := render(t, x, Text)
	fams, order := parse(t, text)
	var ref, refOM bytes.Buffer
	for _, name := range order {
		if _, err := expfmt.MetricFamilyToText(&ref, fams[name]); err != nil {
			t.Fatal(err)
		}
		if _, err := expfmt.MetricFamilyToOpenMetrics(&refOM, fams[name]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := expfmt.FinalizeOpenMetrics(&refOM); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref.Bytes(), text) {
		t.Errorf("text exposition differs from expfmt's encoding of it:\n%s", firstDiff(ref.String(), string(text)))
	}
	om := strings.Split(string(render(t, x, OpenMetrics)), "\n")
	want := strings.Split(refOM.String(), "\n")
	if len(om) != len(want) {
		t.Fatalf("OpenMetrics: %d lines, expfmt %d", len(om), len(want))
	}
	for i := range om {
		if om[i] == want[i] {
			continue
		}
		gs, gv, _ := cutValue(om[i])
		ws, wv, _ := cutValue(want[i])
		if gs != ws || gv != wv {
			t.Errorf("OpenMetrics line %d: %q, expfmt %q", i+1, om[i], want[i])
		}
	}
}

func cutValue(line string) (string, float64, bool) {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return line, math.NaN(), false
	}
	var v float64
	switch s := line[i+1:]; s {
	case "NaN", "+Inf", "-Inf":
		return line, 0, false
	default:
		var err error
		if v, err = parseFloat(s); err != nil {
			return line, 0, false
		}
	}
	return line[:i], v, true
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "expfmt: " + al[i] + "\nours:   " + bl[i]
		}
	}
	return "lengths differ"
}

// TestDeterministic: equal results give equal bytes, whatever the order Initiatives are
// set in (and the cells' dimension maps iterate in a new order each time).
func TestDeterministic(t *testing.T) {
	a := fixtureExposition(t, Options{Region: "west"})
	b := New(Options{Region: "west"})
	b.SetSources("north", "ready", snapshots(), nil)
	man2, res2 := fixture()
	man2.Namespace, man2.Plan.Namespace, man2.ID = "south", "south", "sha256:bb"
	for i := range res2.Cells {
		res2.Cells[i].Namespace = "south"
	}
	if err := b.SetResult(man2, res2); err != nil {
		t.Fatal(err)
	}
	man, res := fixture()
	if err := b.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	if err := a.SetResult(man2, res2); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		ga, gb := render(t, a, Text), render(t, b, Text)
		if !bytes.Equal(ga, gb) {
			t.Fatalf("same results, different bytes:\n%s", firstDiff(string(ga), string(gb)))
		}
	}
}

// TestSetResultReplaces: a new result of an Initiative replaces its Indicators; the same
// result is not rendered again; Delete removes everything of the Initiative.
func TestSetResultReplaces(t *testing.T) {
	x := fixtureExposition(t, Options{})
	man, res := fixture()
	before := x.indicators["north/ready/readiness"].lines
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	if x.indicators["north/ready/readiness"].lines != before {
		t.Error("the same result was rendered again")
	}
	man.ID = "sha256:cc"
	man.Plan.Indicators = man.Plan.Indicators[:1]
	res.Cells = res.Cells[:5]
	res.Indicators = res.Indicators[:1]
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	if s := x.Series(); len(s) != 1 || s[0].Indicator != "readiness" {
		t.Errorf("after a result without visits: %+v", s)
	}
	if strings.Contains(string(render(t, x, Text)), `indicator="visits"`) {
		t.Error("visits is still published")
	}
	x.Delete("north", "ready")
	if got := render(t, x, Text); len(got) != 0 {
		t.Errorf("after Delete the exposition holds %d bytes", len(got))
	}
}

// TestCaps: over its cap an Indicator publishes its totals only and says so; the global cap
// cuts the largest Indicator first.
func TestCaps(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options
		capped     map[string]bool
		byIndicatr bool
	}{
		{"under both", Options{IndicatorCap: 48, GlobalCap: 59}, map[string]bool{}, false},
		{"indicator cap", Options{IndicatorCap: 47}, map[string]bool{"readiness": true}, true},
		{"global cap", Options{GlobalCap: 58}, map[string]bool{"readiness": true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := New(tc.opts)
			man, res := fixture()
			if err := x.SetResult(man, res); err != nil {
				t.Fatal(err)
			}
			fams, _ := parse(t, render(t, x, Text))
			got := samples(fams)
			for _, s := range x.Series() {
				if s.Capped != tc.capped[s.Indicator] {
					t.Errorf("%s: capped %v, want %v", s.Indicator, s.Capped, tc.capped[s.Indicator])
				}
				flag := got["backbone_indicator_series_capped{namespace=north,initiative=ready,indicator="+s.Indicator+",region=}"]
				if flag != bit(s.Capped) {
					t.Errorf("%s: backbone_indicator_series_capped %v", s.Indicator, flag)
				}
				if n := got["backbone_indicator_series{namespace=north,initiative=ready,indicator="+s.Indicator+",region=}"]; int(n) != s.Published {
					t.Errorf("%s: backbone_indicator_series %v, Series() %d", s.Indicator, n, s.Published)
				}
				if s.Capped && s.ByIndicator != tc.byIndicatr {
					t.Errorf("%s: by indicator %v, want %v", s.Indicator, s.ByIndicator, tc.byIndicatr)
				}
			}
			if !tc.capped["readiness"] {
				return
			}
			// Totals only: no group cell and no equity series of readiness; its total is there.
			for k := range got {
				if strings.Contains(k, "indicator=readiness,") && (strings.Contains(k, "dimension=income") || strings.HasPrefix(k, "backbone_equity_")) {
					t.Errorf("capped indicator publishes %s", k)
				}
			}
			if got["backbone_indicator_value_ratio{namespace=north,initiative=ready,indicator=readiness,period=2025-01-01,dimension=,group=,region=}"] != 0.7 {
				t.Error("capped indicator lost its total")
			}
		})
	}
}

// TestIndicatorCaps: an Indicator's own cap (spec.publish.maxSeries) replaces
// Options.IndicatorCap for it, in either direction; changing it after the result is set
// renders the Indicator again; Delete forgets it.
func TestIndicatorCaps(t *testing.T) {
	man, res := fixture()
	full := map[string]int{}
	for _, s := range fixtureExposition(t, Options{}).Series() {
		full[s.Indicator] = s.Full
	}
	if full["readiness"] <= 2 || full["visits"] <= 2 {
		t.Fatalf("fixture series %v: too few to cap", full)
	}
	capFlag := func(x *Exposition, ind string) float64 {
		t.Helper()
		fams, _ := parse(t, render(t, x, Text))
		return samples(fams)["backbone_indicator_series_capped{namespace=north,initiative=ready,indicator="+ind+",region=}"]
	}
	state := func(x *Exposition) map[string]IndicatorSeries {
		out := map[string]IndicatorSeries{}
		for _, s := range x.Series() {
			out[s.Indicator] = s
		}
		return out
	}

	// Lower than the default: readiness is cut by its own cap, visits is not.
	x := New(Options{})
	x.SetIndicatorCaps("north", "ready", map[string]int{"readiness": full["readiness"] - 1})
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	st := state(x)
	if r := st["readiness"]; !r.Capped || !r.ByIndicator || r.Cap != full["readiness"]-1 || r.Published >= r.Full {
		t.Errorf("readiness under its own cap of %d: %+v", full["readiness"]-1, r)
	}
	if v := st["visits"]; v.Capped || v.Cap != DefaultIndicatorCap {
		t.Errorf("visits without a cap of its own: %+v", v)
	}
	if capFlag(x, "readiness") != 1 || capFlag(x, "visits") != 0 {
		t.Error("backbone_indicator_series_capped does not follow the caps")
	}

	// Higher than the manager's: readiness publishes everything, visits is cut.
	before := string(render(t, x, Text))
	x.SetIndicatorCaps("north", "ready", map[string]int{"readiness": 1_000_000})
	low := New(Options{IndicatorCap: 2})
	low.SetIndicatorCaps("north", "ready", map[string]int{"readiness": 1_000_000})
	if err := low.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	st = state(low)
	if r, v := st["readiness"], st["visits"]; r.Capped || r.Published != full["readiness"] || !v.Capped || !v.ByIndicator || v.Cap != 2 {
		t.Errorf("readiness over a cap of 2 with its own of 1000000: %+v; visits %+v", r, v)
	}

	// Changing the caps of a published result renders it again: no cap left, nothing cut.
	if got := string(render(t, x, Text)); got == before || capFlag(x, "readiness") != 0 {
		t.Error("raising readiness's cap did not publish its groups")
	}
	x.SetIndicatorCaps("north", "ready", map[string]int{"readiness": 1})
	if capFlag(x, "readiness") != 1 {
		t.Error("lowering readiness's cap did not cut it")
	}
	x.SetIndicatorCaps("north", "ready", nil)
	plain := New(Options{})
	if err := plain.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	if got := string(render(t, x, Text)); got != string(render(t, plain, Text)) {
		t.Error("without caps the exposition differs from one that never had any")
	}
	x.SetIndicatorCaps("north", "ready", map[string]int{"readiness": 1})
	x.Delete("north", "ready")
	if len(x.caps) != 0 {
		t.Errorf("Delete left the caps %v", x.caps)
	}
}

// TestIndicatorCapsFromSpec: IndicatorCaps reads spec.publish.maxSeries.
func TestIndicatorCapsFromSpec(t *testing.T) {
	n := int32(500)
	inds := []impactv1.Indicator{
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: impactv1.IndicatorSpec{Publish: &impactv1.PublishSpec{MaxSeries: &n}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: impactv1.IndicatorSpec{Publish: &impactv1.PublishSpec{}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "c"}},
	}
	if got := IndicatorCaps(inds); len(got) != 1 || got["a"] != 500 {
		t.Errorf("IndicatorCaps = %v, want map[a:500]", got)
	}
}

// TestNegotiation: the Accept header picks the format and Content-Type; both formats share
// their lines, OpenMetrics adds # EOF; gzip when accepted.
func TestNegotiation(t *testing.T) {
	x := fixtureExposition(t, Options{})
	text := render(t, x, Text)
	for _, tc := range []struct {
		accept, encoding string
		want             Format
		contentType      string
	}{
		{"", "", Text, "text/plain; version=0.0.4; charset=utf-8"},
		{"text/plain;version=0.0.4", "gzip", Text, "text/plain; version=0.0.4; charset=utf-8"},
		// What Prometheus 2.42 sends by default.
		{"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "gzip", OpenMetrics, "application/openmetrics-text; version=1.0.0; charset=utf-8"},
		{"application/openmetrics-text;version=1.0.0", "", OpenMetrics, "application/openmetrics-text; version=1.0.0; charset=utf-8"},
		{"text/plain;q=0.9,application/openmetrics-text;q=0.5", "", Text, "text/plain; version=0.0.4; charset=utf-8"},
		// Protobuf is not served: text instead.
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "", Text, "text/plain; version=0.0.4; charset=utf-8"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", tc.accept)
		req.Header.Set("Accept-Encoding", tc.encoding)
		rec := httptest.NewRecorder()
		x.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		if !strings.HasPrefix(ct, tc.contentType) {
			t.Errorf("Accept %q: Content-Type %q, want %q", tc.accept, ct, tc.contentType)
		}
		body := rec.Body.Bytes()
		if tc.encoding == "gzip" {
			if rec.Header().Get("Content-Encoding") != "gzip" {
				t.Errorf("Accept-Encoding gzip: not gzipped")
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		want := text
		if tc.want == OpenMetrics {
			want = append(slices.Clone(text), "# EOF\n"...)
		}
		if !bytes.Equal(body, want) {
			t.Errorf("Accept %q: body differs from the %v exposition", tc.accept, tc.want)
		}
	}
}

// checkSuppressed fails when a suppressed cell's labels carry anything but its flags.
func checkSuppressed(t *testing.T, fams map[string]*dto.MetricFamily, cells []aggregateCell) {
	t.Helper()
	suppressed := map[string]bool{}
	for _, c := range cells {
		if c.Suppressed {
			dim, group := joinGroups(c.Dimensions)
			suppressed[strings.Join([]string{c.Namespace, c.Initiative, c.Indicator, c.Period, dim, group}, "\x00")] = true
		}
	}
	if len(suppressed) == 0 {
		t.Fatal("no suppressed cell to check")
	}
	flags := map[string]int{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			v := map[string]string{}
			for _, lp := range m.GetLabel() {
				v[lp.GetName()] = lp.GetValue()
			}
			if _, ok := v["group"]; !ok || strings.HasPrefix(name, "backbone_equity_") {
				continue
			}
			key := strings.Join([]string{v["namespace"], v["initiative"], v["indicator"], v["period"], v["dimension"], v["group"]}, "\x00")
			if !suppressed[key] {
				continue
			}
			switch name {
			case "backbone_indicator_suppressed":
				if m.GetGauge().GetValue() != 1 {
					t.Errorf("suppressed cell %q: backbone_indicator_suppressed %v", key, m.GetGauge().GetValue())
				}
				flags[key]++
			case "backbone_indicator_partial":
			default:
				t.Errorf("suppressed cell %q carries %s", key, name)
			}
		}
	}
	for key := range suppressed {
		if flags[key] != 1 {
			t.Errorf("suppressed cell %q: %d suppressed flags, want 1", key, flags[key])
		}
	}
}

// checkSchema fails when a family lacks HELP, is not a gauge, or carries labels other than
// its set's.
func checkSchema(t *testing.T, fams map[string]*dto.MetricFamily, order []string) {
	t.Helper()
	byName := map[string]family{}
	for _, f := range families {
		byName[f.name] = f
	}
	for _, name := range order {
		mf := fams[name]
		f, ok := byName[name]
		if !ok {
			t.Errorf("family %s is not in the list of families", name)
			continue
		}
		if mf.GetHelp() == "" || mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s: help %q, type %v", name, mf.GetHelp(), mf.GetType())
		}
		if strings.HasSuffix(name, "_total") {
			t.Errorf("%s: a gauge named like a counter", name)
		}
		want := labelNames[f.labels]
		for _, m := range mf.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName())
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: labels %v, want %v", name, got, want)
				break
			}
		}
	}
}

// TestConcurrentScrapes: scrapes run while results are set and deleted (go test -race);
// each scrape sees one whole state, never a mix: its series count is one of the states'.
func TestConcurrentScrapes(t *testing.T) {
	x := New(Options{})
	man, res := fixture()
	man2, res2 := fixture()
	man2.ID = "sha256:other"
	done := make(chan struct{})
	errs := make(chan string, 100)
	go func() {
		defer close(done)
		for i := range 200 {
			switch i % 3 {
			case 0:
				_ = x.SetResult(man, res)
			case 1:
				_ = x.SetResult(man2, res2)
			default:
				x.Delete("north", "ready")
			}
		}
	}()
	for {
		select {
		case <-done:
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			return
		default:
		}
		var b bytes.Buffer
		if _, err := x.WriteTo(&b, Text); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(b.Bytes(), []byte("\n")) - 2*bytes.Count(b.Bytes(), []byte("# TYPE")); n != 0 && n != 59 {
			select {
			case errs <- fmt.Sprintf("a scrape holds %d series, want 0 or 59", n):
			default:
			}
		}
	}
}

// TestWithheldRowCounts: a source whose row count the result withholds (it would disclose a
// suppressed cell) publishes no row series; its other data-health series stay.
func TestWithheldRowCounts(t *testing.T) {
	x := New(Options{Region: "west"})
	x.SetSources("north", "ready", snapshots(), []string{"kindergarten"})
	fams, _ := parse(t, render(t, x, Text))
	for _, name := range []string{"backbone_source_input_rows", "backbone_source_accepted_rows",
		"backbone_source_rejected_rows", "backbone_source_excluded_rows", "backbone_source_reject_ratio"} {
		if f, ok := fams[name]; ok && len(f.GetMetric()) > 0 {
			t.Errorf("%s published for a source whose row count is withheld", name)
		}
	}
	if f, ok := fams["backbone_source_snapshot_bytes"]; !ok || len(f.GetMetric()) != 1 {
		t.Errorf("the source's other series are missing")
	}
	x.SetSources("north", "ready", snapshots(), nil)
	fams, _ = parse(t, render(t, x, Text))
	if f, ok := fams["backbone_source_input_rows"]; !ok || len(f.GetMetric()) != 1 {
		t.Errorf("row counts missing once nothing is withheld")
	}
}
