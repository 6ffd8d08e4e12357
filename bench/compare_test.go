package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"

	"github.com/backbone-dev/backbone/bench/internal/workload"
)

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "cells.json")
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

// cells returns Backbone's three cells of one group, as published.
func cells(month string, dims map[string]string, n, nScore, nReady int64, mean float64) []aggregate.Cell {
	share := float64(nReady) / float64(n)
	return []aggregate.Cell{
		{Indicator: workload.IndCount, Period: month, Dimensions: dims, Value: ptr(float64(n)), N: ptr(n)},
		{Indicator: workload.IndMean, Period: month, Dimensions: dims, Value: ptr(mean), N: ptr(nScore)},
		{Indicator: workload.IndProportion, Period: month, Dimensions: dims, Value: ptr(share),
			Numerator: ptr(float64(nReady)), Denominator: ptr(float64(n)), N: ptr(n)},
	}
}

func TestCompareCells(t *testing.T) {
	const month = "2024-01-01"
	race := 6
	north := "North"
	sh := workload.Shapes["readiness"]
	duck := []workload.DuckCell{
		{Month: month, N: 1000, NValue: 940, Mean: ptr(50.25), NNum: 580, Share: 0.58},
		{Month: month, Group: sh.Groups[0].Key("6"), N: 7, NValue: 7, Mean: ptr(41.0), NNum: 3, Share: 3.0 / 7},
		{Month: month, Group: sh.Groups[1].Key(north), N: 300, NValue: 280, Mean: ptr(52.5), NNum: 170, Share: 170.0 / 300},
	}
	good := func() []aggregate.Cell {
		var bb []aggregate.Cell
		bb = append(bb, cells(month, map[string]string{}, 1000, 940, 580, 50.25+1e-12)...)
		for _, ind := range []string{workload.IndCount, workload.IndMean, workload.IndProportion} {
			bb = append(bb, aggregate.Cell{Indicator: ind, Period: month, Dimensions: map[string]string{workload.DimRace: workload.RaceLabel(race)}, Suppressed: true})
		}
		bb = append(bb, cells(month, map[string]string{workload.DimDistrict: north}, 300, 280, 170, 52.5)...)
		// A group without rows: Backbone publishes n = 0, DuckDB has no group.
		bb = append(bb, aggregate.Cell{Indicator: workload.IndCount, Period: month, Dimensions: map[string]string{workload.DimDistrict: workload.Unknown}, Value: ptr(0.0), N: ptr(int64(0))})
		return bb
	}
	duckFile := writeJSON(t, duck)

	cmp, err := compareCells(sh, writeJSON(t, good()), duckFile)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.ok() || cmp.published != 6 || cmp.suppressed != 3 || cmp.empty != 1 {
		t.Fatalf("equal cells: %s %v", cmp, cmp.problems)
	}

	for name, tc := range map[string]struct {
		change func([]aggregate.Cell) []aggregate.Cell
		want   string
	}{
		"count off by one": {func(bb []aggregate.Cell) []aggregate.Cell {
			bb[0].N, bb[0].Value = ptr(int64(999)), ptr(999.0)
			return bb
		}, "n Backbone 999, DuckDB 1000"},
		"mean beyond 1e-9": {func(bb []aggregate.Cell) []aggregate.Cell {
			bb[1].Value = ptr(50.25 * (1 + 1e-8))
			return bb
		}, "relative difference"},
		"suppressed cell with a number": {func(bb []aggregate.Cell) []aggregate.Cell {
			bb[3].N = ptr(int64(7))
			return bb
		}, "suppressed but publishes"},
		"a DuckDB group missing": {func(bb []aggregate.Cell) []aggregate.Cell {
			return append(bb[:6], bb[7:]...) // drop district North's mean
		}, "has no Backbone cell"},
		"rows DuckDB does not have": {func(bb []aggregate.Cell) []aggregate.Cell {
			bb[len(bb)-1].N = ptr(int64(2))
			return bb
		}, "DuckDB has no such group"},
	} {
		t.Run(name, func(t *testing.T) {
			cmp, err := compareCells(sh, writeJSON(t, tc.change(good())), duckFile)
			if err != nil {
				t.Fatal(err)
			}
			if cmp.ok() || !strings.Contains(strings.Join(cmp.problems, "\n"), tc.want) {
				t.Fatalf("want a difference mentioning %q, got %v", tc.want, cmp.problems)
			}
		})
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	for _, f := range []string{a, b} {
		if created, err := workload.Generate(f, 2000, 7); err != nil || !created {
			t.Fatalf("generate %s: created %v, %v", f, created, err)
		}
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if string(x) != string(y) {
		t.Fatal("the same seed gave different files")
	}
	if lines := strings.Count(string(x), "\n"); lines != 2001 {
		t.Fatalf("%d lines, want a header and 2000 rows", lines)
	}
	if created, err := workload.Generate(a, 2000, 7); err != nil || created {
		t.Fatalf("an existing file is reused: created %v, %v", created, err)
	}
}
