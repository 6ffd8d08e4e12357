package aggregate_test

import (
	"math"
	"slices"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/pipeline/stats"
)

// A Ratio of two columns of the same rows uses their covariance (Cochran's ratio
// estimator). 400 rows: b = 10 … 29 (each 20 times), a = 2b + e with e one of −2.5,
// −1.25, 0, 1.25, 2.5, balanced against b. Σa = 15,600, Σb = 7,800, R = 2; the residuals
// a − R·b are the e, Σe² = 1,250, Var(R) = 400/399 · 1,250 / 7,800², SE = 0.00453841,
// interval [1.9911049, 2.0088951]. Treated as independent samples (Σa² = 662,850,
// Σb² = 165,400) the SE would be 0.0421169: 9.28 times wider.
func TestWorkedRatioOfColumnsOfTheSameRows(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "a", Type: spec.TypeNumber}, {Name: "b", Type: spec.TypeNumber}}}
	e := []float64{-2.5, -1.25, 0, 1.25, 2.5}
	for i := range 400 {
		b := float64(10 + i%20)
		tb.Rows = append(tb.Rows, map[string]any{"date": mustCivil("2024-03-01"), "a": 2*b + e[(i/20)%5], "b": b})
	}
	// Cochran's own example, four units (1,2) (2,3) (3,5) (4,6): R = 0.625, SE 0.028527.
	small := &table{Source: "t", Cols: tb.Cols}
	for _, u := range [][2]float64{{1, 2}, {2, 3}, {3, 5}, {4, 6}} {
		small.Rows = append(small.Rows, map[string]any{"date": mustCivil("2024-03-01"), "a": u[0], "b": u[1]})
	}
	ratioOf := func(name, src string) spec.Indicator {
		return spec.Indicator{Name: name, Measure: spec.Ratio, Grain: spec.GrainYear, MinCellSize: 1,
			Numerator:   spec.Operand{Source: src, Aggregate: spec.Sum, Column: "a", TimeColumn: "date"},
			Denominator: &spec.Operand{Source: src, Aggregate: spec.Sum, Column: "b", TimeColumn: "date"}}
	}
	p := smallPlan("UTC", nil, ratioOf("large", "s"), ratioOf("small", "t"))
	env := newEnv(t, "UTC", nil, false)
	res := env.run(p, farFuture, tb, small)
	cells := cellsByKey(t, res)
	for _, tc := range []struct {
		name                  string
		value, se, lower, upp float64
		flags                 []string
	}{
		{"large", 2, 0.00453841, 1.9911049, 2.0088951, []string{}},
		// RSE 4.6 %, but 4 units: n<30.
		{"small", 0.625, 0.028527, 0.569088, 0.680912, []string{stats.FlagFewUnits}},
	} {
		c := cells[cellKey(tc.name, "2024-01-01", nil)]
		if c == nil || c.Value == nil || c.CILower == nil {
			t.Fatalf("%s: cell %+v, want a value with an interval", tc.name, c)
		}
		if !near(*c.Value, tc.value, 1e-12) || !near(*c.CILower, tc.lower, 1e-6) || !near(*c.CIUpper, tc.upp, 1e-6) {
			t.Errorf("%s: %g [%g, %g], want %g [%g, %g]", tc.name, *c.Value, *c.CILower, *c.CIUpper, tc.value, tc.lower, tc.upp)
		}
		if se := stats.SEFromInterval(stats.Interval{Lower: *c.CILower, Upper: *c.CIUpper}); !near(se, tc.se, 1e-5) {
			t.Errorf("%s: SE %g, want %g", tc.name, se, tc.se)
		}
		if !slices.Equal(c.Flags, tc.flags) || c.Reliable != (len(tc.flags) == 0) {
			t.Errorf("%s: reliable %v, flags %q; want flags %q", tc.name, c.Reliable, c.Flags, tc.flags)
		}
	}
	indep := stats.RatioIndependent(400, 15600, 662850, 400, 7800, 165400)
	c := cells[cellKey("large", "2024-01-01", nil)]
	if w := (*c.CIUpper - *c.CILower); !near(indep.CI.Width()/w, 9.280086, 1e-5) {
		t.Errorf("the interval is %g wide, the independent-samples one %g: %.3f times, want 9.280", w, indep.CI.Width(), indep.CI.Width()/w)
	}
}

// A Sum's interval is compound Poisson (SE √Σx²): a sum of ones is a count. Sums and
// Ratios of fewer than 30 units are flagged, and every output says why.
func TestWorkedSumOfOnesIsACount(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "one", Type: spec.TypeInteger}}}
	tb.Rows = append(tb.Rows, rowsOf(25, map[string]any{"date": mustCivil("2024-03-01"), "sex": "Female", "one": int64(1)})...)
	tb.Rows = append(tb.Rows, rowsOf(30, map[string]any{"date": mustCivil("2025-03-01"), "sex": "Female", "one": int64(1)})...)
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "sum", Measure: spec.Sum, Grain: spec.GrainYear, Dimensions: []string{"sex"}, MinCellSize: 1,
			Numerator: spec.Operand{Source: "s", Aggregate: spec.Sum, Column: "one", TimeColumn: "date"}},
		spec.Indicator{Name: "count", Measure: spec.Count, Grain: spec.GrainYear, MinCellSize: 1,
			Numerator: spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date"}},
	)
	env := newEnv(t, "UTC", p.Dimensions, false)
	res := env.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	for _, tc := range []struct {
		key          string
		value        float64
		lower, upper float64 // NaN: no interval
		flags        []string
		note         string
	}{
		// 25 ± 1.96·√25.
		{cellKey("sum", "2024-01-01", nil), 25, 15.200180, 34.799820, []string{stats.FlagFewUnits}, ""},
		{cellKey("sum", "2024-01-01", female), 25, 15.200180, 34.799820, []string{stats.FlagFewUnits}, ""},
		// The same rows as a Count: Garwood [16.178, 36.905], 25 events.
		{cellKey("count", "2024-01-01", nil), 25, 16.178, 36.905, []string{}, ""},
		// 30 ± 1.96·√30: RSE 18 %, 30 units: reliable.
		{cellKey("sum", "2025-01-01", nil), 30, 19.264835, 40.735165, []string{}, ""},
		// No Male rows in a year with data: a true 0, no interval, and why.
		{cellKey("sum", "2024-01-01", map[string]string{"sex": "Male"}), 0, math.NaN(), math.NaN(), []string{stats.FlagFewUnits, stats.FlagRSE}, "no units in this cell"},
	} {
		c := cells[tc.key]
		if c == nil || c.Value == nil || *c.Value != tc.value {
			t.Fatalf("%s: %+v, want value %g", tc.key, c, tc.value)
		}
		if math.IsNaN(tc.lower) != (c.CILower == nil) || (c.CILower != nil && (!near(*c.CILower, tc.lower, 1e-4) || !near(*c.CIUpper, tc.upper, 1e-4))) {
			t.Errorf("%s: interval [%s, %s], want [%g, %g]", tc.key, fmtPtr(c.CILower), fmtPtr(c.CIUpper), tc.lower, tc.upper)
		}
		if !slices.Equal(c.Flags, tc.flags) || c.Reliable != (len(tc.flags) == 0) || c.Note != tc.note {
			t.Errorf("%s: reliable %v, flags %q, note %q; want flags %q, note %q", tc.key, c.Reliable, c.Flags, c.Note, tc.flags, tc.note)
		}
	}
	for _, ir := range res.Indicators {
		if ir.Name == "sum" && (ir.Headline == nil || ir.Headline.Period != "2025-01-01" || !ir.Headline.Reliable || ir.Headline.Flags != nil) {
			t.Errorf("sum headline %+v, want 2025 reliable without flags", ir.Headline)
		}
	}
}

// The same units as microdata and as rows with a frequency give the same paired Ratio:
// PerUnit values stand for each of a row's people, RowTotals for all of them. Units
// (1,2) (1,2) (3,5) (4,6) (4,6) (4,6): Σa = 17, Σb = 27, R = 0.629630, Σa² = 59,
// Σb² = 141, Σab = 91; Σ(a − R·b)² = 59 − 2R·91 + R²·141 = 0.304527,
// Var = 6/5 · 0.304527 / 729, SE = 0.022389.
func TestWorkedPairedRatioWithFrequencies(t *testing.T) {
	units := [][3]float64{{1, 2, 2}, {3, 5, 1}, {4, 6, 3}} // a, b, people
	cols := func(kind string) []colDef {
		return []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "a", Type: spec.TypeNumber, ValueKind: kind}, {Name: "b", Type: spec.TypeNumber, ValueKind: kind}, {Name: "w", Type: spec.TypeInteger}}
	}
	day := mustCivil("2024-03-01")
	micro := &table{Source: "micro", Cols: cols(spec.PerUnit)}
	perUnit := &table{Source: "perunit", Cols: cols(spec.PerUnit), Frequency: "w"}
	rowTotal := &table{Source: "rowtotal", Cols: cols(spec.RowTotal), Frequency: "w"}
	for _, u := range units {
		for range int(u[2]) {
			micro.Rows = append(micro.Rows, map[string]any{"date": day, "a": u[0], "b": u[1], "w": int64(1)})
		}
		perUnit.Rows = append(perUnit.Rows, map[string]any{"date": day, "a": u[0], "b": u[1], "w": int64(u[2])})
		rowTotal.Rows = append(rowTotal.Rows, map[string]any{"date": day, "a": u[0] * u[2], "b": u[1] * u[2], "w": int64(u[2])})
	}
	var inds []spec.Indicator
	for _, src := range []string{"micro", "perunit", "rowtotal"} {
		inds = append(inds, spec.Indicator{Name: src, Measure: spec.Ratio, Grain: spec.GrainYear, MinCellSize: 1,
			Numerator:   spec.Operand{Source: src, Aggregate: spec.Sum, Column: "a", TimeColumn: "date"},
			Denominator: &spec.Operand{Source: src, Aggregate: spec.Sum, Column: "b", TimeColumn: "date"}})
	}
	p := smallPlan("UTC", nil, inds...)
	env := newEnv(t, "UTC", nil, false)
	res := env.run(p, farFuture, micro, perUnit, rowTotal)
	cells := cellsByKey(t, res)
	for _, src := range []string{"micro", "perunit", "rowtotal"} {
		c := cells[cellKey(src, "2024-01-01", nil)]
		if c == nil || c.Value == nil || c.CILower == nil {
			t.Fatalf("%s: %+v, want a value with an interval", src, c)
		}
		se := stats.SEFromInterval(stats.Interval{Lower: *c.CILower, Upper: *c.CIUpper})
		if !near(*c.Value, 17.0/27, 1e-12) || !near(se, 0.022389, 1e-5) {
			t.Errorf("%s: %g with SE %g, want 0.629630 with SE 0.022389", src, *c.Value, se)
		}
	}
}

// Operands of different sources are independent, each with a compound-Poisson variance: a
// Count is never taken as fixed. 40 events over 80: R = 0.5, SE = R·√(1/40 + 1/80) =
// 0.096825, interval 0.5 ± 0.189773.
func TestWorkedRatioOfIndependentCounts(t *testing.T) {
	mk := func(src string, n int) *table {
		tb := &table{Source: src, Cols: []colDef{{Name: "date", Type: spec.TypeDate}}}
		tb.Rows = rowsOf(n, map[string]any{"date": mustCivil("2024-03-01")})
		return tb
	}
	p := smallPlan("UTC", nil, spec.Indicator{Name: "r", Measure: spec.Ratio, Grain: spec.GrainYear, MinCellSize: 1,
		Numerator:   spec.Operand{Source: "x", Aggregate: spec.Count, TimeColumn: "date"},
		Denominator: &spec.Operand{Source: "y", Aggregate: spec.Count, TimeColumn: "date"}})
	env := newEnv(t, "UTC", nil, false)
	res := env.run(p, farFuture, mk("x", 40), mk("y", 80))
	c := cellsByKey(t, res)[cellKey("r", "2024-01-01", nil)]
	if c == nil || c.Value == nil || c.CILower == nil {
		t.Fatalf("%+v, want a value with an interval", c)
	}
	if *c.Value != 0.5 || !near(*c.CILower, 0.310228, 1e-5) || !near(*c.CIUpper, 0.689772, 1e-5) {
		t.Errorf("40/80: %g [%g, %g], want 0.5 [0.310228, 0.689772]", *c.Value, *c.CILower, *c.CIUpper)
	}
}
