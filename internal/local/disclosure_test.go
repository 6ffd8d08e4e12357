package local

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate/audit"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/run"
)

// TestSamplesDiscloseNothing attacks the samples' published cells with every additive
// relation that holds in their data (distinct counts included, and the snapshots' row
// counts), and reports the information lost per indicator.
func TestSamplesDiscloseNothing(t *testing.T) {
	ctx := context.Background()
	plans := t.TempDir()
	out, st := runSamplesInto(t, plans)
	b, err := os.ReadFile(filepath.Join(plans, "aggregate-default-ready-by-five.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ap spec.Aggregate
	if err := json.Unmarshal(b, &ap); err != nil {
		t.Fatal(err)
	}
	inputs, release, err := run.OpenInputs(ctx, st, &ap, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	truth, err := aggregate.Run(ctx, audit.TruthPlan(&ap), inputs, aggregate.Options{AsOf: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, s := range out.Snapshots {
		rows[s.Source] = s.RowsOK
	}
	rep, err := audit.Attack(&ap, out.Results[0], truth, rows)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("relations that hold in the data: %v", rep.Relations)
	if rep.Relations["distinct count = rows"] == 0 || rep.Relations["source row total"] == 0 {
		t.Errorf("the samples hold one row per family and month, and publish row counts; relations found: %v", rep.Relations)
	}
	names := make([]string, 0, len(rep.Suppressed))
	for n := range rep.Suppressed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-26s suppressed %4d, of them n ≥ k %3d, publishable alone %3d", n, rep.Suppressed[n], rep.SuppressedAtLeastK[n], rep.Avoidable[n])
	}
	for _, r := range rep.Recovered {
		t.Errorf("recovered: %s", r)
	}
	t.Logf("%d suppressed cells recovered", len(rep.Recovered))
}
