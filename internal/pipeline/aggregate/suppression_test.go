package aggregate_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// One row per family and month: the families of a month are the rows of the month, which
// add up to the quarter that a Sum publishes. With Q1 Female = 22 visits-rows, February's
// 10 and March's 10 published, January's 2 families would be 22 − 10 − 10.
func TestWorkedDistinctCountOfOneRowPerKeyAddsUpToTheQuarter(t *testing.T) {
	tb := &table{Source: "f", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "family", Type: spec.TypeString}, {Name: "visits", Type: spec.TypeInteger}}}
	for _, g := range []struct {
		day, sex string
		families int
	}{{"2022-01-10", "Female", 2}, {"2022-01-10", "Male", 30}, {"2022-02-10", "Female", 10}, {"2022-02-10", "Male", 30}, {"2022-03-10", "Female", 10}, {"2022-03-10", "Male", 30}} {
		for i := range g.families {
			tb.Rows = append(tb.Rows, map[string]any{"date": mustCivil(g.day), "sex": g.sex, "family": fmt.Sprintf("%s-%d", g.sex, i), "visits": int64(1 + i%3)})
		}
	}
	op := func(agg, col string) spec.Operand {
		return spec.Operand{Source: "f", Aggregate: agg, Column: col, TimeColumn: "date"}
	}
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "families", Measure: spec.DistinctCount, Grain: spec.GrainMonth, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: op("", "family")},
		spec.Indicator{Name: "visits", Measure: spec.Sum, Grain: spec.GrainQuarter, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: op(spec.Sum, "visits")},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	if jan := cells[cellKey("families", "2022-01-01", female)]; !jan.Suppressed {
		t.Fatalf("January's 2 Female families are published: %+v", jan)
	}
	q1 := cells[cellKey("visits", "2022-01-01", female)]
	feb, mar := cells[cellKey("families", "2022-02-01", female)], cells[cellKey("families", "2022-03-01", female)]
	if !q1.Suppressed && !feb.Suppressed && !mar.Suppressed {
		t.Errorf("Q1 Female n = %d, February %d and March %d are published: January = %d", *q1.N, *feb.N, *mar.N, *q1.N-*feb.N-*mar.N)
	}
	checkAudit(t, "", e, p, res, farFuture, rand.New(rand.NewPCG(1, 2)), tb)
}

// A Proportion withheld for its small numerator protects the numerator and the
// complement; the Count of the same children stays published.
func TestWorkedSmallNumeratorLeavesTheDenominatorPublished(t *testing.T) {
	tb := &table{Source: "k", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "ready", Type: spec.TypeBoolean}}}
	for _, g := range []struct {
		sex          string
		ready, other int
	}{{"Female", 1, 19}, {"Male", 12, 14}} {
		tb.Rows = append(tb.Rows, rowsOf(g.ready, map[string]any{"date": mustCivil("2022-09-01"), "sex": g.sex, "ready": true})...)
		tb.Rows = append(tb.Rows, rowsOf(g.other, map[string]any{"date": mustCivil("2022-09-01"), "sex": g.sex, "ready": false})...)
	}
	all := spec.Operand{Source: "k", Aggregate: spec.Count, TimeColumn: "date"}
	ready := all
	ready.Filters = []spec.Filter{{Column: "ready", Operator: spec.OpIn, Values: []string{"true"}}}
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "share", Measure: spec.Proportion, Grain: spec.GrainYear, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: ready, Denominator: &all},
		spec.Indicator{Name: "assessed", Measure: spec.Count, Grain: spec.GrainYear, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: all},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	if s := cells[cellKey("share", "2022-01-01", female)]; !s.Suppressed {
		t.Fatalf("1 ready of 20 published: %+v", s)
	}
	for _, g := range []map[string]string{nil, female, {"sex": "Male"}} {
		if c := cells[cellKey("assessed", "2022-01-01", g)]; c.Suppressed {
			t.Errorf("assessed %v is suppressed, though its count (n ≥ 20) discloses no one", g)
		}
	}
	for _, ir := range res.Indicators {
		if ir.Name == "assessed" && ir.SuppressedAtLeastK != 0 {
			t.Errorf("assessed: %d suppressed cells with n ≥ k, want 0", ir.SuppressedAtLeastK)
		}
		if ir.Name == "share" && ir.SuppressedAtLeastK == 0 {
			t.Errorf("share: the Female cell (n = 20) is suppressed, yet no cell with n ≥ k is counted")
		}
	}
	checkAudit(t, "", e, p, res, farFuture, rand.New(rand.NewPCG(1, 2)), tb)
}

// The snapshot's row count is the total of every period: with 22 rows, January's 2 and
// February's 20 published would give January back as 22 − 20.
func TestWorkedSourceRowCountIsAGrandTotal(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}}}
	tb.Rows = append(tb.Rows, rowsOf(2, map[string]any{"date": mustCivil("2022-01-10")})...)
	tb.Rows = append(tb.Rows, rowsOf(20, map[string]any{"date": mustCivil("2022-02-10")})...)
	p := smallPlan("UTC", nil, spec.Indicator{Name: "rows", Measure: spec.Count, Grain: spec.GrainMonth, MinCellSize: 3,
		Numerator: spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date"}})
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	if jan := cells[cellKey("rows", "2022-01-01", nil)]; !jan.Suppressed {
		t.Fatalf("January's 2 rows are published")
	}
	feb := cells[cellKey("rows", "2022-02-01", nil)]
	if !feb.Suppressed && len(res.WithheldRowCounts) == 0 {
		t.Errorf("February's %d rows and the snapshot's 22 rows are published: January = %d", *feb.N, 22-*feb.N)
	}
	checkAudit(t, "", e, p, res, farFuture, rand.New(rand.NewPCG(1, 2)), tb)
}

// A quarter of families (one row per family, so the count base's quarter too) whose
// February has no rows is January and March alone: with Q1's 12 Female families and
// March's 10 Female rows published, January's 2 would be 12 − 10.
func TestWorkedDistinctQuarterWithAMonthWithoutData(t *testing.T) {
	tb := &table{Source: "f", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "family", Type: spec.TypeString}}}
	for _, g := range []struct {
		day, sex string
		families int
	}{{"2022-01-10", "Female", 2}, {"2022-01-10", "Male", 30}, {"2022-03-10", "Female", 10}, {"2022-03-10", "Male", 30}} {
		for i := range g.families {
			tb.Rows = append(tb.Rows, map[string]any{"date": mustCivil(g.day), "sex": g.sex, "family": fmt.Sprintf("%s-%s-%d", g.day, g.sex, i)})
		}
	}
	op := spec.Operand{Source: "f", Aggregate: spec.Count, TimeColumn: "date"}
	families := op
	families.Aggregate, families.Column = "", "family"
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "families", Measure: spec.DistinctCount, Grain: spec.GrainQuarter, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: families},
		spec.Indicator{Name: "rows", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: op},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	if feb := cells[cellKey("rows", "2022-02-01", nil)]; feb != nil {
		t.Fatalf("February has no rows, and is published: %+v", feb)
	}
	if jan := cells[cellKey("rows", "2022-01-01", female)]; !jan.Suppressed {
		t.Fatalf("January's 2 Female rows are published: %+v", jan)
	}
	q1, mar := cells[cellKey("families", "2022-01-01", female)], cells[cellKey("rows", "2022-03-01", female)]
	if !q1.Suppressed && !mar.Suppressed {
		t.Errorf("Q1's %d Female families and March's %d Female rows are published: January = %d", *q1.N, *mar.N, *q1.N-*mar.N)
	}
	checkAudit(t, "", e, p, res, farFuture, rand.New(rand.NewPCG(1, 2)), tb)
}

// February without visits is no data for the visits, not for the enrolment a Ratio
// divides them by: the enrolled, counted from their own source, have February rows, and
// with Q1's 22 enrolled women, January's 10 and March's 10 published, February's 2 would
// be 22 − 10 − 10.
func TestWorkedMissingPeriodOfOneSourceIsNotAnotherSources(t *testing.T) {
	visits := &table{Source: "v", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "visits", Type: spec.TypeInteger}}}
	for _, day := range []string{"2022-01-10", "2022-03-10"} {
		visits.Rows = append(visits.Rows, rowsOf(40, map[string]any{"date": mustCivil(day), "visits": int64(2)})...)
	}
	enrolled := &table{Source: "e", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}}}
	for _, g := range []struct {
		day   string
		women int
	}{{"2022-01-10", 10}, {"2022-02-10", 2}, {"2022-03-10", 10}} {
		enrolled.Rows = append(enrolled.Rows, rowsOf(g.women, map[string]any{"date": mustCivil(g.day), "sex": "Female"})...)
		enrolled.Rows = append(enrolled.Rows, rowsOf(30, map[string]any{"date": mustCivil(g.day), "sex": "Male"})...)
	}
	people := spec.Operand{Source: "e", Aggregate: spec.Count, TimeColumn: "date"}
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "visits_per_enrolled", Measure: spec.Ratio, Grain: spec.GrainMonth, MinCellSize: 3,
			Numerator: spec.Operand{Source: "v", Aggregate: spec.Sum, Column: "visits", TimeColumn: "date"}, Denominator: &people},
		spec.Indicator{Name: "enrolled_m", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: people},
		spec.Indicator{Name: "enrolled_q", Measure: spec.Count, Grain: spec.GrainQuarter, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: people},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, visits, enrolled)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	if r := cells[cellKey("visits_per_enrolled", "2022-02-01", nil)]; r != nil {
		t.Errorf("February has no visits, and its Ratio is published: %+v", r)
	}
	feb := cells[cellKey("enrolled_m", "2022-02-01", female)]
	if feb == nil || !feb.Suppressed {
		t.Fatalf("February's 2 enrolled women are published: %+v", feb)
	}
	jan, mar, q1 := cells[cellKey("enrolled_m", "2022-01-01", female)], cells[cellKey("enrolled_m", "2022-03-01", female)], cells[cellKey("enrolled_q", "2022-01-01", female)]
	if !jan.Suppressed && !mar.Suppressed && !q1.Suppressed {
		t.Errorf("Q1's %d enrolled women, January's %d and March's %d are published: February = %d", *q1.N, *jan.N, *mar.N, *q1.N-*jan.N-*mar.N)
	}
	checkAudit(t, "", e, p, res, farFuture, rand.New(rand.NewPCG(1, 2)), visits, enrolled)
}

// No woman was flagged in Q1, and the monthly Count of the flagged says so (0 in each
// month; zero cells are not sensitive). The Proportion of 0 of 20 is withheld by its own
// rule, but nothing withheld can hide its numerator, so the Ratio whose denominator is
// that same 0 is published.
func TestWorkedZeroNumeratorThatPublishedZerosGive(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "flag", Type: spec.TypeBoolean}, {Name: "visits", Type: spec.TypeInteger}}}
	for _, day := range []string{"2022-01-10", "2022-02-10", "2022-03-10"} {
		for _, g := range []struct {
			sex     string
			flagged bool
			count   int
		}{{"Female", false, 7}, {"Male", true, 10}, {"Male", false, 10}} {
			tb.Rows = append(tb.Rows, rowsOf(g.count, map[string]any{"date": mustCivil(day), "sex": g.sex, "flag": g.flagged, "visits": int64(3)})...)
		}
	}
	all := spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date"}
	flagged := all
	flagged.Filters = []spec.Filter{{Column: "flag", Operator: spec.OpIn, Values: []string{"true"}}}
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "share", Measure: spec.Proportion, Grain: spec.GrainQuarter, Dimensions: []string{"sex"}, MinCellSize: 5, Numerator: flagged, Denominator: &all},
		spec.Indicator{Name: "flagged_m", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{"sex"}, MinCellSize: 5, Numerator: flagged},
		spec.Indicator{Name: "visits_per_flagged", Measure: spec.Ratio, Grain: spec.GrainQuarter, Dimensions: []string{"sex"}, MinCellSize: 5,
			Numerator: spec.Operand{Source: "s", Aggregate: spec.Sum, Column: "visits", TimeColumn: "date"}, Denominator: &flagged},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	for _, m := range []string{"2022-01-01", "2022-02-01", "2022-03-01"} {
		if c := cells[cellKey("flagged_m", m, female)]; c.Suppressed || *c.N != 0 {
			t.Fatalf("flagged women in %s: %+v, want a published 0", m, c)
		}
	}
	if s := cells[cellKey("share", "2022-01-01", female)]; !s.Suppressed {
		t.Errorf("0 of 21 women flagged is published: %+v", s)
	}
	if r := cells[cellKey("visits_per_flagged", "2022-01-01", female)]; r.Suppressed || *r.N != 21 {
		t.Errorf("the women's visits per flagged woman (n = 21, no denominator) are withheld: %+v", r)
	}
	checkAudit(t, "", e, p, res, farFuture, rand.New(rand.NewPCG(1, 2)), tb)
}
