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
