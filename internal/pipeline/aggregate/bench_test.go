package aggregate_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// BenchmarkRun aggregates the shape of make bench's workload — a count, a mean and a
// proportion by two dimensions and month, cell floor 11 — over 300,000 rows, without
// DuckDB: for profiling the engine (go test -bench Run -cpuprofile cpu.out). The
// comparison with DuckDB is make bench's.
func BenchmarkRun(b *testing.B) {
	race := dim("race_ethnicity", "Unknown", "Hispanic or Latino", "White", "Asian", "Black", "Two or more", "AIAN", "NHPI")
	district := dim("district", "Unknown", "North", "South", "East", "West", "Central")
	tb := &table{Source: "s", Cols: []colDef{
		{Name: "date", Type: spec.TypeDate},
		{Name: "race", Dimension: race.Name},
		{Name: "district", Dimension: district.Name},
		{Name: "score", Type: spec.TypeNumber},
		{Name: "ready", Type: spec.TypeBoolean},
	}}
	rng := rand.New(rand.NewPCG(1, 2))
	raceShare := []float64{40, 25, 17, 8, 4, 0.2, 0.01, 5.8}
	first := mustCivil("2022-01-01")
	for range 300_000 {
		r := map[string]any{
			"date":     first.addDays(rng.IntN(3 * 365)),
			"race":     append(race.Values, race.Unknown)[draw(rng, raceShare)],
			"district": district.Values[rng.IntN(len(district.Values))],
			"ready":    rng.IntN(3) > 0,
		}
		if rng.IntN(100) >= 6 {
			r["score"] = float64(rng.IntN(1001)) / 10
		}
		tb.Rows = append(tb.Rows, r)
	}
	all := spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date"}
	ready := all
	ready.Filters = []spec.Filter{{Column: "ready", Operator: spec.OpIn, Values: []string{"true"}}}
	mean := all
	mean.Aggregate, mean.Column = spec.Mean, "score"
	by := []string{race.Name, district.Name}
	p := smallPlan("UTC", []spec.Dimension{race, district},
		spec.Indicator{Name: "assessed", Measure: spec.Count, Grain: spec.GrainMonth, MinCellSize: 11, Dimensions: by, Numerator: all},
		spec.Indicator{Name: "score", Measure: spec.Mean, Grain: spec.GrainMonth, MinCellSize: 11, Dimensions: by, Numerator: mean},
		spec.Indicator{Name: "ready", Measure: spec.Proportion, Grain: spec.GrainMonth, MinCellSize: 11, Dimensions: by, Numerator: ready, Denominator: &all},
	)
	e := newEnv(b, "UTC", p.Dimensions, true)
	in := e.ingest(tb, nil)
	inputs := map[string]aggregate.Input{"s": in}
	cells := 0
	for b.Loop() {
		res, err := aggregate.Run(context.Background(), p, inputs, aggregate.Options{AsOf: farFuture})
		if err != nil {
			b.Fatal(err)
		}
		cells = len(res.Cells)
	}
	b.ReportMetric(float64(len(tb.Rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cells), "cells")
}
