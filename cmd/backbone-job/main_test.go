package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// The lean binary links no Kubernetes package, no manager and no publisher: what makes it
// lean is checked here, not assumed.
func TestLinksNoKubernetes(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/backbone-dev/backbone/internal/run") {
		t.Fatalf("backbone-job does not link internal/run; go list printed %d packages", len(deps))
	}
	for _, p := range deps {
		for _, banned := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/backbone-dev/backbone/controllers", "github.com/backbone-dev/backbone/internal/publish"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("backbone-job links %s", p)
			}
		}
	}
}

func execute(t *testing.T, args ...string) string {
	t.Helper()
	cmd := newRootCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("backbone-job %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// The Jobs' commands of backbone-job compute, from the plans local mode compiles for the
// samples, the very result local mode computes: the same result id.
func TestStepsAsLocal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, err := local.Load(ctx, "../../config/samples", "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, mustFileURL(t, filepath.Join(dir, "local")))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	plans := filepath.Join(dir, "plans")
	asOf := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	out, err := local.Run(ctx, m, local.Options{Store: st, PlanDir: plans, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ResultKeys) != 1 {
		t.Fatalf("local wrote %d results, want 1", len(out.ResultKeys))
	}
	want, _, err := result.Read(ctx, st, out.ResultKeys[0])
	if err != nil {
		t.Fatal(err)
	}

	jobStore := mustFileURL(t, filepath.Join(dir, "jobs"))
	ingests, _ := filepath.Glob(filepath.Join(plans, "ingest-*.json"))
	if len(ingests) != 5 {
		t.Fatalf("want 5 ingestion plans, got %v", ingests)
	}
	for _, f := range ingests {
		var sm store.SnapshotManifest
		if err := json.Unmarshal([]byte(execute(t, "ingest", "--plan", f, "--store", jobStore)), &sm); err != nil {
			t.Fatal(err)
		}
		if !sm.Promoted {
			t.Errorf("%s: snapshot %s not promoted", f, sm.ID)
		}
	}
	aggs, _ := filepath.Glob(filepath.Join(plans, "aggregate-*.json"))
	if len(aggs) != 1 {
		t.Fatalf("want 1 aggregation plan, got %v", aggs)
	}
	var got result.Manifest
	if err := json.Unmarshal([]byte(execute(t, "aggregate", "--plan", aggs[0], "--store", jobStore)), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Suppressed != want.Suppressed || got.Suppressed == 0 {
		t.Errorf("backbone-job computed result %s (%d suppressed); local computed %s (%d suppressed)", got.ID, got.Suppressed, want.ID, want.Suppressed)
	}
	if v := execute(t, "version"); !strings.HasPrefix(v, "backbone ") {
		t.Errorf("version printed %q", v)
	}
}

func mustFileURL(t *testing.T, dir string) string {
	t.Helper()
	u, err := store.FileURL(dir)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
