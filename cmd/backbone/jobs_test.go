package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/jobcmd"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
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

// local writes the plans; ingest and aggregate run them as the Jobs will, read exactly the
// snapshots the plan pins, and give the same cells; running the plan again computes nothing.
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
	var localCells []aggregate.Cell
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var c aggregate.Cell
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		localCells = append(localCells, c)
	}

	// A second store, filled only by the Job commands.
	jobDir := filepath.Join(dir, "jobs")
	jobStore, err := store.FileURL(jobDir)
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
	var plan spec.Aggregate
	if err := jobcmd.ReadPlan(aggs[0], &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Inputs) != 5 || plan.AsOf != "2026-11-23" {
		t.Fatalf("the emitted plan pins %d snapshots as of %q; want 5 as of 2026-11-23", len(plan.Inputs), plan.AsOf)
	}
	// The plan carries its as-of date: no flag needed.
	out, err = execute(t, "aggregate", "--plan", aggs[0], "--store", jobStore)
	if err != nil {
		t.Fatal(err)
	}
	var rm result.Manifest
	if err := json.Unmarshal([]byte(out), &rm); err != nil {
		t.Fatal(err)
	}
	for _, in := range plan.Inputs {
		if rm.Inputs[in.Source] != in.Snapshot {
			t.Errorf("result computed from %s of %s; the plan pins %s", rm.Inputs[in.Source], in.Source, in.Snapshot)
		}
	}
	ctx := context.Background()
	st, err := store.Open(ctx, jobStore)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, res, err := result.Read(ctx, st, result.Key(rm.Namespace, rm.Initiative, rm.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(localCells) == 0 || rm.Suppressed == 0 {
		t.Fatalf("local printed %d cells; the result has %d suppressed", len(localCells), rm.Suppressed)
	}
	if !reflect.DeepEqual(res.Cells, localCells) {
		t.Errorf("the Job's result has %d cells, local printed %d; they differ", len(res.Cells), len(localCells))
		for i := range min(len(res.Cells), len(localCells)) {
			if !reflect.DeepEqual(res.Cells[i], localCells[i]) {
				t.Fatalf("first difference, cell %d:\n job   %+v\n local %+v", i, res.Cells[i], localCells[i])
			}
		}
	}

	// The same plan again: the same result, not computed again.
	again, err := execute(t, "aggregate", "--plan", aggs[0], "--store", jobStore, "--as-of", "2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	var rm2 result.Manifest
	if err := json.Unmarshal([]byte(again), &rm2); err != nil {
		t.Fatal(err)
	}
	if rm2.ID != rm.ID || !rm2.Created.Equal(rm.Created) {
		t.Errorf("the same plan gave result %s (created %s), then %s (created %s)", rm.ID, rm.Created, rm2.ID, rm2.Created)
	}
	// Another as-of date is another plan, and another result.
	other, err := execute(t, "aggregate", "--plan", aggs[0], "--store", jobStore, "--as-of", "2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	var rm3 result.Manifest
	if err := json.Unmarshal([]byte(other), &rm3); err != nil {
		t.Fatal(err)
	}
	if rm3.ID == rm.ID || rm3.AsOf != "2026-12-01" {
		t.Errorf("as of 2026-12-01 gave result %s as of %s; as of 2026-11-23 it was %s", rm3.ID, rm3.AsOf, rm.ID)
	}
}

// An aggregation plan pinned to a snapshot the store does not hold fails, naming the
// source and the snapshot; it never falls back to the latest one.
func TestAggregateMissingSnapshot(t *testing.T) {
	dir := t.TempDir()
	plans := filepath.Join(dir, "plans")
	storeURL, err := store.FileURL(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execute(t, "local", "-f", "../../config/samples", "--store", storeURL, "--emit-plans", plans, "-o", "json", "--as-of", "2026-11-23"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(plans, "aggregate-default-ready-by-five.json")
	var p spec.Aggregate
	if err := jobcmd.ReadPlan(file, &p); err != nil {
		t.Fatal(err)
	}
	const missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	src := p.Inputs[1].Source
	p.Inputs[1].Snapshot = missing
	b, _ := json.Marshal(&p)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = execute(t, "aggregate", "--plan", file, "--store", storeURL)
	want := fmt.Sprintf("source %q: snapshot %s is not in the store", src, missing)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("want an error containing %q, got %v", want, err)
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
