package aggregate_test

import (
	"math"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// The engine refuses to build more periods than its bound, and names the earliest and
// latest periods it met and the snapshot's span, so a sentinel date cannot make it build
// periods without end. With the bound lowered to 10, twelve days by Day exceed it;
// by Month they are five periods and pass.
func TestPeriodBoundNamesTheSpan(t *testing.T) {
	defer aggregate.SetMaxPeriods(10)()
	tb := &table{Source: "events", Cols: []colDef{{Name: "day", Type: spec.TypeDate}}}
	for _, d := range []string{"2021-01-05", "2021-02-01", "2021-03-09", "1999-12-31"} {
		for k := 0; k < 3; k++ {
			tb.Rows = append(tb.Rows, map[string]any{"day": mustCivil(d).addDays(k)})
		}
	}
	count := spec.Operand{Source: "events", Aggregate: spec.Count, TimeColumn: "day"}
	for _, workers := range []int{1, 3} {
		e := newEnv(t, "UTC", nil, false)
		e.batch, e.workers = 2, workers
		in := e.ingest(tb, nil)
		byDay := smallPlan("UTC", nil, spec.Indicator{Name: "n", Measure: spec.Count, Grain: spec.GrainDay, MinCellSize: 1, Numerator: count})
		_, err := aggregate.Run(e.ctx, byDay, map[string]aggregate.Input{"events": in}, aggregate.Options{AsOf: farFuture, Workers: workers})
		if err == nil {
			t.Fatalf("workers %d: 12 Day periods passed a bound of 10", workers)
		}
		for _, want := range []string{`time column "day": more than 10 Day periods`, "the snapshot's dates run from 1999-12-31 to 2021-03-11", "sentinel dates"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("workers %d: error %q does not contain %q", workers, err, want)
			}
		}
		byMonth := smallPlan("UTC", nil, spec.Indicator{Name: "n", Measure: spec.Count, Grain: spec.GrainMonth, MinCellSize: 1, Numerator: count})
		res, err := aggregate.Run(e.ctx, byMonth, map[string]aggregate.Input{"events": in}, aggregate.Options{AsOf: farFuture, Workers: workers})
		if err != nil {
			t.Fatalf("workers %d: by Month: %v", workers, err)
		}
		if len(res.Cells) != 5 { // 1999-12, 2000-01, 2021-01, 2021-02, 2021-03
			t.Errorf("workers %d: %d cells by Month, want 5", workers, len(res.Cells))
		}
	}
}

// A Sum whose exact total would not fit an int64 fails naming the column, whether the
// overflow happens within one chunk or only when chunks are merged; one just inside the
// bound is exact.
func TestIntegerSumOverflowNamesTheColumn(t *testing.T) {
	const big, quarter = math.MaxInt64 / 2, math.MaxInt64 / 4
	for _, tc := range []struct {
		name    string
		values  []int64
		wantErr bool
		want    float64
	}{
		{"the two largest and five", []int64{math.MaxInt64, math.MaxInt64, 5}, true, 0},
		{"negative magnitudes count", []int64{math.MinInt64 + 1, -big, 1}, true, 0},
		{"just inside", []int64{big, big, 1}, false, float64(2*big + 1)},
		// Batches of one row, chunks of four: each chunk fits, their merge does not.
		{"only across chunks", []int64{quarter, quarter, quarter, quarter, quarter}, true, 0},
	} {
		for _, workers := range []int{1, 2} {
			tb := &table{Source: "visits", Cols: []colDef{{Name: "day", Type: spec.TypeDate}, {Name: "visits", Type: spec.TypeInteger}}}
			for _, v := range tc.values {
				tb.Rows = append(tb.Rows, map[string]any{"day": mustCivil("2021-01-05"), "visits": v})
			}
			e := newEnv(t, "UTC", nil, false)
			e.batch, e.workers = 1, workers // a chunk of 4 batches: the merge sees the overflow too
			in := e.ingest(tb, nil)
			p := smallPlan("UTC", nil, spec.Indicator{Name: "v", Measure: spec.Sum, Grain: spec.GrainMonth, MinCellSize: 1,
				Numerator: spec.Operand{Source: "visits", Aggregate: spec.Sum, Column: "visits", TimeColumn: "day"}})
			res, err := aggregate.Run(e.ctx, p, map[string]aggregate.Input{"visits": in}, aggregate.Options{AsOf: farFuture, Workers: workers})
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), `column "visits" of source "visits": the values summed exceed 9223372036854775807`) {
					t.Errorf("%s, workers %d: error %v, want one naming the column", tc.name, workers, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s, workers %d: %v", tc.name, workers, err)
			}
			if len(res.Cells) != 1 || res.Cells[0].Value == nil || *res.Cells[0].Value != tc.want {
				t.Errorf("%s, workers %d: cells %+v, want one of %g", tc.name, workers, res.Cells, tc.want)
			}
		}
	}
}
