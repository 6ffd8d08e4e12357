package aggregate_test

import (
	"math"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// A census every ten years: rows in 2000, 2010 and 2020 only. The years between are no
// data, not zeros: a yearly Count publishes three periods, not 21, and a yearly Rate on
// a yearly numerator finds the latest census population.
func TestWorkedDecennialSourcePublishesItsYearsOnly(t *testing.T) {
	census := &table{Source: "census", Cols: []colDef{{Name: "year", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}}}
	for _, y := range []struct {
		day            string
		female, male   int
		unknownPersons int
	}{{"2000-04-01", 40, 35, 0}, {"2010-04-01", 44, 41, 2}, {"2020-04-01", 50, 45, 3}} {
		census.Rows = append(census.Rows, rowsOf(y.female, map[string]any{"year": mustCivil(y.day), "sex": "Female"})...)
		census.Rows = append(census.Rows, rowsOf(y.male, map[string]any{"year": mustCivil(y.day), "sex": "Male"})...)
		census.Rows = append(census.Rows, rowsOf(y.unknownPersons, map[string]any{"year": mustCivil(y.day), "sex": nil})...)
	}
	events := &table{Source: "events", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}}}
	for y := 2005; y <= 2012; y++ {
		day := civil{y, 6, 1}
		events.Rows = append(events.Rows, rowsOf(y-2000, map[string]any{"date": day, "sex": "Female"})...)
	}
	pop := spec.Operand{Source: "census", Aggregate: spec.Count, TimeColumn: "year"}
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "population", Measure: spec.Count, Grain: spec.GrainYear, Dimensions: []string{"sex"}, MinCellSize: 1, Numerator: pop},
		spec.Indicator{Name: "rate", Measure: spec.Rate, Per: 1000, Grain: spec.GrainYear, MinCellSize: 1,
			Numerator:   spec.Operand{Source: "events", Aggregate: spec.Count, TimeColumn: "date"},
			Denominator: &spec.Operand{Source: "census", Aggregate: spec.Count, TimeColumn: "year", Alignment: spec.AlignLatestAvailable}},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, census, events)
	r := newReference(p, e.loc, civilOf(farFuture), census, events)
	ref, _ := r.cells()
	compareWithReference(t, "", res, ref)

	periods := map[string][]string{}
	for _, c := range res.Cells {
		if len(c.Dimensions) == 0 {
			periods[c.Indicator] = append(periods[c.Indicator], c.Period)
		}
	}
	want := []string{"2000-01-01", "2010-01-01", "2020-01-01"}
	if got := periods["population"]; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("population periods %v, want %v (the years between censuses are no data)", got, want)
	}
	if n := len(res.Cells); n != 3*4+8 {
		t.Errorf("%d cells, want 3 census years × 4 sex cells + 8 rate years = 20", n)
	}
	// The rate's years are the events' (2005–2012); its population is the latest census at
	// or before each: 2005 → 2000 (75), 2010 → 2010 (87). 2005: 5 events / 75 × 1000.
	cells := cellsByKey(t, res)
	for _, tc := range []struct {
		year       string
		value, den float64
	}{{"2005-01-01", 5.0 / 75 * 1000, 75}, {"2009-01-01", 9.0 / 75 * 1000, 75}, {"2010-01-01", 10.0 / 87 * 1000, 87}, {"2012-01-01", 12.0 / 87 * 1000, 87}} {
		c := cells[cellKey("rate", tc.year, nil)]
		if c == nil || c.Value == nil || c.Denominator == nil {
			t.Fatalf("rate %s: %+v, want a value", tc.year, c)
		}
		if *c.Denominator != tc.den || !near(*c.Value, tc.value, 1e-12) {
			t.Errorf("rate %s: %g per 1000 over %g, want %g over %g", tc.year, *c.Value, *c.Denominator, tc.value, tc.den)
		}
	}
	// Zero cells inside a period that has data stay: 2000 has no Unknown sex.
	if c := cells[cellKey("population", "2000-01-01", map[string]string{"sex": "Unknown"})]; c == nil || c.Value == nil || *c.Value != 0 {
		t.Errorf("the Unknown group of 2000 is a true zero; got %+v", c)
	}
}

// near reports whether got is within rel (relative) of want.
func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}
