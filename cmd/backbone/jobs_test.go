package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/store"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// local writes the plans; ingest and aggregate run them as the Jobs will, and give the
// same cells.
func TestLocalPlansIngestAggregate(t *testing.T) {
	dir := t.TempDir()
	plans := filepath.Join(dir, "plans")
	storeURL, err := store.FileURL(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := execute(t, "local", "-f", "../../config/samples", "--store", storeURL, "--emit-plans", plans, "-o", "json", "--as-of", "2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	localCells := strings.Count(out, "\n")

	// A second store, filled only by the Job commands.
	jobStore, err := store.FileURL(filepath.Join(dir, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(plans, "ingest-*.json"))
	if err != nil || len(files) != 5 {
		t.Fatalf("want 5 ingestion plans, got %v (%v)", files, err)
	}
	for _, f := range files {
		out, err := execute(t, "ingest", "--plan", f, "--store", jobStore)
		if err != nil {
			t.Fatalf("ingest %s: %v", f, err)
		}
		var m store.SnapshotManifest
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		if !m.Promoted || m.RowsIn != m.RowsOK+m.RowsRejected+m.RowsExcluded {
			t.Errorf("%s: %+v", f, m)
		}
	}
	aggs, _ := filepath.Glob(filepath.Join(plans, "aggregate-*.json"))
	if len(aggs) != 1 {
		t.Fatalf("want 1 aggregation plan, got %v", aggs)
	}
	out, err = execute(t, "aggregate", "--plan", aggs[0], "--store", jobStore, "--as-of", "2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	var rm store.ResultManifest
	if err := json.Unmarshal([]byte(out), &rm); err != nil {
		t.Fatal(err)
	}
	if rm.Cells != localCells || len(rm.Inputs) != 5 || rm.Suppressed == 0 {
		t.Errorf("aggregate wrote %d cells (%d suppressed) from %d inputs; local printed %d cells", rm.Cells, rm.Suppressed, len(rm.Inputs), localCells)
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs", filepath.FromSlash(rm.Parquet))); err != nil {
		t.Errorf("result table: %v", err)
	}
}

func TestJobCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"namespace": "x", "surprise": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ingest", "--store", "mem://"}, `required flag(s) "plan" not set`},
		{[]string{"ingest", "--plan", filepath.Join(dir, "missing.json"), "--store", "mem://"}, "no such file"},
		{[]string{"aggregate", "--plan", bad, "--store", "mem://"}, `unknown field "surprise"`},
		{[]string{"local", "-f", t.TempDir(), "--store", "mem://"}, "no Initiative found"},
		{[]string{"local", "-f", dir, "--store", "mem://"}, "bad.json: document 1: kind: Required value"},
		{[]string{"local", "-f", "../../config/samples", "-o", "xml"}, `unknown format "xml"`},
	} {
		_, err := execute(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error containing %q, got %v", tc.args, tc.want, err)
		}
	}
}
