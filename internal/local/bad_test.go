package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/backbone-dev/backbone/internal/store"
)

// badCase is the expected outcome of one case of testdata/bad: the manifests in its
// manifests folder are run step by step, each step first copying one of the case's inputs
// onto the file the DataSource reads.
type badCase struct {
	// Target is the file the DataSource reads, relative to the case; default data.csv.
	Target string    `json:"target"`
	Steps  []badStep `json:"steps"`
}

type badStep struct {
	// Input is copied onto Target before the run.
	Input string `json:"input"`
	// Error is a substring the run's error must contain; empty: the run succeeds.
	Error string `json:"error"`
	// Snapshot is what the step's snapshot manifest must say (fields left out are not
	// checked); none: the run writes no snapshot.
	Snapshot *badSnapshot `json:"snapshot"`
	// Rejects are substrings the rejects file must contain.
	Rejects []string `json:"rejects"`
	// Cells is the number of result cells, when set.
	Cells *int `json:"cells"`
}

type badSnapshot struct {
	Promoted     *bool  `json:"promoted"`
	Reason       string `json:"reason"`
	RowsIn       *int64 `json:"rowsIn"`
	RowsOK       *int64 `json:"rowsOK"`
	RowsRejected *int64 `json:"rowsRejected"`
	RowsExcluded *int64 `json:"rowsExcluded"`
}

// TestBadInputs runs the bad-input corpus: every kind of bad or tricky partner file gets
// the error or the rejects its case names, and the ledger always holds.
func TestBadInputs(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/bad/*/expect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no cases in testdata/bad")
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) { runBadCase(t, dir) })
	}
}

func runBadCase(t *testing.T, src string) {
	data, err := os.ReadFile(filepath.Join(src, "expect.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c badCase
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("expect.yaml: %v", err)
	}
	if c.Target == "" {
		c.Target = "data.csv"
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := Load(ctx, filepath.Join(dir, "manifests"), "default")
	if err != nil {
		// Manifests that do not load: the first step names the error, and no step runs.
		if len(c.Steps) == 0 || c.Steps[0].Error == "" || !strings.Contains(err.Error(), c.Steps[0].Error) {
			t.Fatalf("loading the manifests: %v", err)
		}
		return
	}
	for i, step := range c.Steps {
		in, err := os.ReadFile(filepath.Join(src, step.Input))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.Target), in, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := Run(ctx, m, Options{Store: st, AsOf: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
		switch {
		case step.Error == "" && err != nil:
			t.Fatalf("step %d (%s): %v", i+1, step.Input, err)
		case step.Error != "" && err == nil:
			t.Fatalf("step %d (%s): succeeded, want an error containing %q", i+1, step.Input, step.Error)
		case step.Error != "" && !strings.Contains(err.Error(), step.Error):
			t.Fatalf("step %d (%s): error %q, want it to contain %q", i+1, step.Input, err, step.Error)
		}
		for _, s := range out.Snapshots {
			if s.RowsIn != s.RowsOK+s.RowsRejected+s.RowsExcluded {
				t.Errorf("step %d: ledger broken: in %d, ok %d, rejected %d, excluded %d", i+1, s.RowsIn, s.RowsOK, s.RowsRejected, s.RowsExcluded)
			}
		}
		checkBadSnapshot(t, i+1, step, out, st)
		if step.Cells != nil {
			n := -1
			if len(out.Results) == 1 {
				n = len(out.Results[0].Cells)
			}
			if n != *step.Cells {
				t.Errorf("step %d: %d result cells, want %d", i+1, n, *step.Cells)
			}
		}
	}
}

func checkBadSnapshot(t *testing.T, step int, want badStep, out *Output, st *store.Store) {
	t.Helper()
	if want.Snapshot == nil {
		if out != nil && len(out.Snapshots) > 0 {
			t.Errorf("step %d: a snapshot was written: %+v", step, out.Snapshots[len(out.Snapshots)-1])
		}
		return
	}
	if out == nil || len(out.Snapshots) == 0 {
		t.Fatalf("step %d: no snapshot written", step)
	}
	got := out.Snapshots[len(out.Snapshots)-1]
	w := want.Snapshot
	eq := func(name string, want *int64, got int64) {
		if want != nil && *want != got {
			t.Errorf("step %d: %s %d, want %d", step, name, got, *want)
		}
	}
	eq("rowsIn", w.RowsIn, got.RowsIn)
	eq("rowsOK", w.RowsOK, got.RowsOK)
	eq("rowsRejected", w.RowsRejected, got.RowsRejected)
	eq("rowsExcluded", w.RowsExcluded, got.RowsExcluded)
	if w.Promoted != nil && *w.Promoted != got.Promoted {
		t.Errorf("step %d: promoted %v (%s), want %v", step, got.Promoted, got.Reason, *w.Promoted)
	}
	if !strings.Contains(got.Reason, w.Reason) {
		t.Errorf("step %d: reason %q, want it to contain %q", step, got.Reason, w.Reason)
	}
	if len(want.Rejects) == 0 {
		return
	}
	if got.Rejects == "" {
		t.Fatalf("step %d: no rejects file", step)
	}
	file, _, err := st.Fetch(context.Background(), got.Rejects, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rej, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Long values are shortened: no line of a rejects file is longer than 2 KiB.
	for i, line := range strings.Split(string(rej), "\n") {
		if len(line) > 2048 {
			t.Errorf("step %d: line %d of the rejects file has %d bytes", step, i+1, len(line))
		}
	}
	for _, s := range want.Rejects {
		if !strings.Contains(string(rej), s) {
			t.Errorf("step %d: rejects file does not contain %q:\n%s", step, s, rej[:min(len(rej), 2000)])
		}
	}
}
