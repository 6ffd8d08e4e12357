package report

import (
	"strings"
	"testing"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
)

// TestEdgeCases renders results the samples do not hold: an indicator with no cells, a
// withheld headline, a value with no interval, an initiative without display names.
func TestEdgeCases(t *testing.T) {
	n := int64(40)
	ini := &impactv1.Initiative{}
	ini.Name, ini.Namespace = "bare", "ns"
	man := &result.Manifest{Namespace: "ns", Initiative: "bare", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Plan: &spec.Aggregate{
		Namespace: "ns", Initiative: "bare", AsOf: "2026-01-01",
		Dimensions: []spec.Dimension{{Name: "district", Values: []string{"North", "South"}, Unknown: "Unknown"}},
		Indicators: []spec.Indicator{
			{Name: "empty", Measure: spec.Count, Grain: spec.GrainYear, Numerator: spec.Operand{Source: "s"}, Dimensions: []string{"district"}},
			{Name: "withheld", Measure: spec.Rate, Per: 1000, Grain: spec.GrainMonth, Numerator: spec.Operand{Source: "s"}, Target: &spec.Target{Value: 5}},
			{Name: "bare-value", Measure: spec.Mean, Grain: spec.GrainQuarter, Numerator: spec.Operand{Source: "s"}},
		},
	}}
	res := &aggregate.Result{
		Cells: []aggregate.Cell{
			{Indicator: "withheld", Period: "2025-11-01", Suppressed: true},
			{Indicator: "withheld", Period: "2025-12-01", Suppressed: true, Partial: true},
			{Indicator: "bare-value", Period: "2025-10-01", Value: fp(3.5), N: &n, Reliable: true, Flags: []string{}},
		},
		Indicators: []aggregate.IndicatorResult{
			{Name: "empty", MinCellSize: 11},
			{Name: "withheld", MinCellSize: 11, Headline: &aggregate.Headline{Period: "2025-11-01", Note: "suppressed", Target: fp(5)},
				OnTrack: &aggregate.Track{Method: "not judged", Reason: "no complete, published period with an interval"}},
			{Name: "bare-value", MinCellSize: 11, Headline: &aggregate.Headline{Period: "2025-10-01", Value: fp(3.5), N: &n, Reliable: true}},
		},
	}
	r, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.Page(&Input{Initiative: ini, Manifest: man, Result: res}, false)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{
		"<h1>bare</h1>",
		"The latest value is withheld to protect privacy: fewer than 11 were counted",
		"December 2025 is not over yet",
		"This is the first complete period",
		"3.5", "Not judged: no complete, published period with an interval.",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, bad := range []string{"%!", "<no value>", "NaN"} {
		if strings.Contains(s, bad) {
			t.Errorf("the page shows %q", bad)
		}
	}
	if _, err := r.Page(&Input{Manifest: man, Result: res}, false); err == nil {
		t.Error("an input without its Initiative renders")
	}
}
