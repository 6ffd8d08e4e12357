package aggregate_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

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
	ready := spec.Filter{Column: "ready", Operator: spec.OpIn, Values: []string{"true"}}
	runBench(b, tb, []spec.Dimension{race, district}, [3]string{"assessed", "score", "ready"}, "score", ready)
}

// runBench times the aggregation of tb's rows by make bench's three indicators — a Count,
// the Mean of column and the Proportion of rows that pass share, named by names — by
// every dimension of dims and month, cell floor 11.
func runBench(b *testing.B, tb *table, dims []spec.Dimension, names [3]string, column string, share spec.Filter) {
	all := spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date"}
	passed := all
	passed.Filters = []spec.Filter{share}
	mean := all
	mean.Aggregate, mean.Column = spec.Mean, column
	var by []string
	for _, d := range dims {
		by = append(by, d.Name)
	}
	p := smallPlan("UTC", dims,
		spec.Indicator{Name: names[0], Measure: spec.Count, Grain: spec.GrainMonth, MinCellSize: 11, Dimensions: by, Numerator: all},
		spec.Indicator{Name: names[1], Measure: spec.Mean, Grain: spec.GrainMonth, MinCellSize: 11, Dimensions: by, Numerator: mean},
		spec.Indicator{Name: names[2], Measure: spec.Proportion, Grain: spec.GrainMonth, MinCellSize: 11, Dimensions: by, Numerator: passed, Denominator: &all},
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

// BenchmarkRunFlights aggregates the flights shape of make bench — the number of flights,
// the mean delay and the share on time (delay < 16) by a 229-group origin and month, cell
// floor 11 — over 300,000 rows with a timestamp time column, an Integer value with nulls
// and a column no indicator reads.
func BenchmarkRunFlights(b *testing.B) {
	codes := make([]string, 229)
	for i := range codes {
		codes[i] = fmt.Sprintf("A%03d", i)
	}
	origin := dim("origin", "Unknown", codes...)
	tb := &table{Source: "s", Cols: []colDef{
		{Name: "date", Type: spec.TypeTimestamp},
		{Name: "delay", Type: spec.TypeInteger},
		{Name: "distance", Type: spec.TypeInteger},
		{Name: "origin", Dimension: origin.Name},
	}}
	rng := rand.New(rand.NewPCG(1, 2))
	first := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 300_000 {
		// A shifted Pareto law folded onto the codes, as make bench's generator.
		g := int(10*math.Pow(1-rng.Float64(), -1/1.5)-10) % len(codes)
		r := map[string]any{
			"date":     first.Add(time.Duration(rng.IntN(180*86400)) * time.Second),
			"distance": int64(rng.IntN(2000)),
			"origin":   codes[g],
		}
		if rng.IntN(50) > 0 {
			r["delay"] = int64(rng.IntN(200) - 20)
		}
		tb.Rows = append(tb.Rows, r)
	}
	onTime := spec.Filter{Column: "delay", Operator: spec.OpLt, Values: []string{"16"}}
	runBench(b, tb, []spec.Dimension{origin}, [3]string{"flights", "delay", "on_time"}, "delay", onTime)
}
