package report_test

import (
	"context"
	"testing"

	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/local/localtest"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate/audit"
	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"
)

var asOf = localtest.AsOf

// samples runs the shipped example as `backbone local` does and returns the page inputs.
func samples(t *testing.T) ([]*report.Input, *store.Store) {
	t.Helper()
	r := localtest.Run(t)
	st := r.Store
	ins, err := local.ReportInputs(context.Background(), st, r.Manifests, r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 {
		t.Fatalf("the samples hold %d initiatives, want 1", len(ins))
	}
	return ins, st
}

// truthOf computes in's result without suppression: every cell with its value, to check
// that the page shows none of the suppressed ones.
func truthOf(t *testing.T, st *store.Store, in *report.Input) *aggregate.Result {
	t.Helper()
	ctx := context.Background()
	inputs, release, err := run.OpenInputs(ctx, st, in.Manifest.Plan, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	truth, err := aggregate.Run(ctx, audit.TruthPlan(in.Manifest.Plan), inputs, aggregate.Options{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	return truth
}
