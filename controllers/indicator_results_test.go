package controllers

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// A result's per-indicator results are read from the store once and then served from
// memory, for the last few results only; without remembering (nil) every read goes to the
// store.
func TestIndicatorResultsRemember(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(initiative, indicator string) *result.Manifest {
		p := &spec.Aggregate{Namespace: "ns", Initiative: initiative, TimeZone: "UTC"}
		res := &aggregate.Result{Indicators: []aggregate.IndicatorResult{{Name: indicator, MinCellSize: 11}}}
		_, man, err := result.Write(ctx, st, p, "test-engine", res, time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		return man
	}
	first, second, third := write("a", "one"), write("b", "two"), write("c", "three")
	// Removing a result's files shows whether a read goes to the store.
	remove := func(man *result.Manifest) {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(man.Indicators))); err != nil {
			t.Fatal(err)
		}
	}

	c := newIndicatorResults(2)
	for _, man := range []*result.Manifest{first, second} {
		sums, err := c.read(ctx, st, man)
		if err != nil || len(sums) != 1 {
			t.Fatalf("result %s: %+v, %v", man.ID, sums, err)
		}
		for _, s := range sums {
			if s.minCellSize != 11 {
				t.Errorf("result %s: minimum cell size %d, want 11", man.ID, s.minCellSize)
			}
		}
	}
	remove(second)
	if sums, err := c.read(ctx, st, second); err != nil || sums["two"].minCellSize != 11 {
		t.Errorf("a remembered result read again from the store: %+v, %v", sums, err)
	}
	if _, err := (*indicatorResults)(nil).read(ctx, st, second); err == nil {
		t.Error("without remembering, the removed file was not read")
	}
	// A third result pushes the first out: it is read from the store again.
	if _, err := c.read(ctx, st, third); err != nil {
		t.Fatal(err)
	}
	remove(first)
	if _, err := c.read(ctx, st, first); err == nil {
		t.Error("the oldest result was still remembered beyond the limit of two")
	}
	if n := c.kept.len(); n != 2 || len(c.kept.order) != 2 {
		t.Errorf("%d results remembered (%d in order), want 2", n, len(c.kept.order))
	}
}
