package metrics

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

func f(v float64) *float64 { return &v }
func i(v int64) *int64     { return &v }

var computed = time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC)

// fixture is a small result with worked values: a Proportion with a target, its groups,
// an intersection, suppressed cells and an equity summary, and a Count without target.
func fixture() (*result.Manifest, *aggregate.Result) {
	plan := &spec.Aggregate{Namespace: "north", Initiative: "ready", Indicators: []spec.Indicator{
		{Name: "readiness", Measure: spec.Proportion, Target: &spec.Target{Value: 0.8, BaselineValue: f(0.6)}},
		{Name: "visits", Measure: spec.Count},
	}}
	man := &result.Manifest{ID: "sha256:aa", Namespace: "north", Initiative: "ready", Created: computed, Plan: plan}
	cell := func(ind, period string, dims map[string]string) aggregate.Cell {
		return aggregate.Cell{Namespace: "north", Initiative: "ready", Indicator: ind, Period: period, Dimensions: dims}
	}
	total := cell("readiness", "2025-01-01", map[string]string{})
	total.Value, total.Numerator, total.Denominator, total.N = f(0.7), f(70), f(100), i(100)
	total.CILower, total.CIUpper, total.Reliable = f(0.6), f(0.78), true
	low := cell("readiness", "2025-01-01", map[string]string{"income": "Low income"})
	low.Value, low.Numerator, low.Denominator, low.N = f(0.5), f(10), f(20), i(20)
	low.CILower, low.CIUpper = f(0.3), f(0.7)
	other := cell("readiness", "2025-01-01", map[string]string{"income": `Not low, "other"`})
	other.Suppressed = true
	lowBlack := cell("readiness", "2025-01-01", map[string]string{"race_ethnicity": "Black", "income": "Low income"})
	lowBlack.Suppressed = true
	lowAsian := cell("readiness", "2025-01-01", map[string]string{"race_ethnicity": "Asian", "income": "Low income"})
	lowAsian.Value, lowAsian.Numerator, lowAsian.Denominator, lowAsian.N = f(0.25), f(3), f(12), i(12)
	visits := cell("visits", "2025-02-01", nil)
	visits.Value, visits.Numerator, visits.N, visits.Reliable, visits.Partial = f(5), f(5), i(5), false, true
	res := &aggregate.Result{
		Cells: []aggregate.Cell{total, low, other, lowBlack, lowAsian, visits},
		Indicators: []aggregate.IndicatorResult{
			{
				Name: "readiness", Cells: 5, SuppressedCells: 2,
				Headline: &aggregate.Headline{Period: "2025-01-01", Value: f(0.7), Progress: f(0.5)},
				OnTrack:  &aggregate.Track{Judged: true, OnTrack: false},
				Equity: []aggregate.EquitySummary{{
					Period: "2025-01-01", Dimension: "income", Reference: "total", Best: "Low income", Worst: "Low income",
					IndexOfDisparity: f(12.5), PARPercent: f(40), PAR: f(0.2),
					Differences: map[string]float64{"Low income": -0.2}, Ratios: map[string]float64{"Low income": 0.5 / 0.7},
					Groups: 2, SuppressedGroups: 1,
				}},
			},
			{Name: "visits", Cells: 1},
		},
	}
	return man, res
}

func snapshots() []store.SnapshotManifest {
	return []store.SnapshotManifest{{
		Namespace: "north", Initiative: "ready", Source: "kindergarten", Partner: "district",
		Created: computed, Promoted: true, RowsIn: 1000, RowsOK: 960, RowsRejected: 30, RowsExcluded: 10,
		ParquetBytes: 4096, EngineBytes: 8192,
	}}
}

// render returns the text exposition of x.
func render(t *testing.T, x *Exposition, format Format) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := x.WriteTo(&b, format); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fixtureExposition(t *testing.T, opts Options) *Exposition {
	t.Helper()
	x := New(opts)
	man, res := fixture()
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	x.SetSources("north", "ready", snapshots(), nil)
	return x
}

// parse parses a text exposition with the reference parser, and returns the families by
// name and the names in the order of their TYPE lines.
func parse(t *testing.T, text []byte) (map[string]*dto.MetricFamily, []string) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	var order []string
	for _, line := range bytes.Split(text, []byte("\n")) {
		if name, ok := bytes.CutPrefix(line, []byte("# TYPE ")); ok {
			order = append(order, string(bytes.Fields(name)[0]))
		}
	}
	return fams, order
}

// samples returns every sample as "name{l1=v1,l2=v2}" → value, labels in exposition order.
func samples(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			out[seriesKey(name, m)] = m.GetGauge().GetValue()
		}
	}
	return out
}

func seriesKey(name string, m *dto.Metric) string {
	var b bytes.Buffer
	b.WriteString(name + "{")
	for i, lp := range m.GetLabel() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(lp.GetName() + "=" + lp.GetValue())
	}
	b.WriteString("}")
	return b.String()
}

type aggregateCell = aggregate.Cell

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

func parseText(text []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(bytes.NewReader(text))
}
