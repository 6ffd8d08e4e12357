package run_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

// retentionFixture ingests versions of the kindergarten sample into a file store with a
// retention, and aggregates the indicators that read it.
type retentionFixture struct {
	t     *testing.T
	st    *store.Store
	dir   string
	m     *local.Manifests
	ds    *impactv1.DataSource
	clock time.Time
}

func newRetentionFixture(t *testing.T, keep int32) *retentionFixture {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "file://"+filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := local.Load(ctx, "../../config/samples", "default")
	if err != nil {
		t.Fatal(err)
	}
	f := &retentionFixture{t: t, st: st, dir: dir, m: m, clock: written}
	for i := range m.DataSources {
		if m.DataSources[i].Name == "ncusd-kindergarten" {
			f.ds = m.DataSources[i].DeepCopy()
		}
	}
	f.ds.Spec.Retention = &impactv1.Retention{Snapshots: keep}
	return f
}

// ingest writes the sample's CSV with edit applied and ingests it, a minute after the
// previous ingestion; it returns the snapshot id.
func (f *retentionFixture) ingest(edit func(string) string) string {
	f.t.Helper()
	id, err := f.try(edit)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// refused ingests a file with a date missing in every tenth row: more rejected rows than
// maxRejectPercent allows, so the snapshot is written but not promoted.
func (f *retentionFixture) refused() string {
	f.t.Helper()
	id, err := f.try(func(s string) string {
		lines := strings.Split(s, "\n")
		for i := 1; i < len(lines); i += 10 {
			if fields := strings.Split(lines[i], ","); len(fields) > 2 {
				fields[1] = ""
				lines[i] = strings.Join(fields, ",")
			}
		}
		return strings.Join(lines, "\n")
	})
	var np *ingest.NotPromotedError
	if !errors.As(err, &np) {
		f.t.Fatalf("a file with 10%% of its dates missing: %v, want a snapshot not promoted", err)
	}
	return id
}

func (f *retentionFixture) try(edit func(string) string) (string, error) {
	f.t.Helper()
	b, err := os.ReadFile("../../config/samples/data/ncusd-kindergarten.csv")
	if err != nil {
		f.t.Fatal(err)
	}
	file := filepath.Join(f.dir, "ncusd-kindergarten.csv")
	if err := os.WriteFile(file, []byte(edit(string(b))), 0o644); err != nil {
		f.t.Fatal(err)
	}
	ds := f.ds.DeepCopy()
	ds.Spec.Location.File.Path = file
	ip, err := plan.Ingest(&f.m.Initiatives[0], ds, plan.IngestOptions{AllowFileLocations: true, BaseDir: f.dir})
	if err != nil {
		f.t.Fatal(err)
	}
	f.clock = f.clock.Add(time.Minute)
	now := f.clock
	res, err := run.Ingest(context.Background(), f.st, ip, ingest.Options{TempDir: f.t.TempDir(), Now: func() time.Time { return now }})
	if res == nil {
		return "", err
	}
	return res.Manifest.ID, err
}

// aggregate computes the indicators reading the source from snapshot id, so the
// Initiative's latest result reads it.
func (f *retentionFixture) aggregate(id string) {
	f.t.Helper()
	var inds []impactv1.Indicator
	for _, ind := range f.m.Indicators {
		if ind.Spec.Measure.Numerator.SourceRef.Name == f.ds.Name {
			inds = append(inds, ind)
		}
	}
	p, err := plan.Aggregate(&f.m.Initiatives[0], []impactv1.DataSource{*f.ds}, inds)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := plan.Pin(p, map[string]string{f.ds.Name: id}); err != nil {
		f.t.Fatal(err)
	}
	p.AsOf = "2026-11-23"
	compute(f.t, f.st, p, run.AggregateOptions{})
}

// snapshots lists the ids whose manifests are in the store, sorted, and checks that every
// file of a listed snapshot is there and that no file of the source belongs to none.
func (f *retentionFixture) snapshots() []string {
	f.t.Helper()
	ctx := context.Background()
	prefix := layout.SourcePrefix("default", "ready-by-five", f.ds.Name)
	keys, err := f.st.List(ctx, prefix+"/")
	if err != nil {
		f.t.Fatal(err)
	}
	var ids []string
	owned := map[string]bool{prefix + "/latest.json": true}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+"/snapshots/") {
			continue
		}
		m := &store.SnapshotManifest{}
		if err := f.st.GetJSON(ctx, k, m); err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, m.ID)
		owned[k] = true
		for _, file := range []string{m.Parquet, m.Engine, m.Rejects} {
			if file == "" {
				continue
			}
			if !slices.Contains(keys, file) {
				f.t.Errorf("snapshot %s: %s missing", m.ID, file)
			}
			owned[file] = true
		}
	}
	for _, k := range keys {
		if !owned[k] {
			f.t.Errorf("%s is in the store, but no snapshot kept names it", k)
		}
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// editYear rewrites the readiness of the 2024 cohort's first n rows to true: a new input.
func editYear(n int) func(string) string {
	return func(s string) string {
		lines := strings.Split(s, "\n")
		for i := 1; i < len(lines) && n > 0; i++ {
			if strings.Contains(lines[i], ",2024-") && strings.Contains(lines[i], ",false,") {
				lines[i] = strings.Replace(lines[i], ",false,", ",true,", 1)
				n--
			}
		}
		return strings.Join(lines, "\n")
	}
}

// Retention keeps the newest snapshots, the promoted one and the one the Initiative's
// latest result reads; it removes the others' manifests, Parquet files, engine layouts
// and rejects; an unchanged input keeps its snapshot id and removes nothing more.
func TestRetentionKeepsNewestAndPinned(t *testing.T) {
	f := newRetentionFixture(t, 1)
	same := func(s string) string { return s }
	v1 := f.ingest(same)
	f.aggregate(v1) // the latest result reads v1
	if got := f.snapshots(); !slices.Equal(got, []string{v1}) {
		t.Fatalf("after one ingestion: %v, want [%s]", got, v1)
	}
	v2 := f.ingest(editYear(10))
	v3 := f.ingest(editYear(20))
	if v1 == v2 || v2 == v3 || v1 == v3 {
		t.Fatalf("changed inputs gave the same snapshot: %s %s %s", v1, v2, v3)
	}
	// v3 is the newest and promoted; v1 is read by the latest result; v2 is neither.
	if got := f.snapshots(); !slices.Equal(got, sorted(v1, v3)) {
		t.Fatalf("retention 1 after three ingestions: %v, want %v (v1 pinned, v3 newest)", got, sorted(v1, v3))
	}
	// The same input again: the same snapshot, nothing else removed.
	if again := f.ingest(editYear(20)); again != v3 {
		t.Fatalf("the unchanged input gave snapshot %s, want %s", again, v3)
	}
	if got := f.snapshots(); !slices.Equal(got, sorted(v1, v3)) {
		t.Fatalf("after an unchanged ingestion: %v, want %v", got, sorted(v1, v3))
	}
	// Once the latest result reads v3, v1 goes at the next ingestion.
	f.aggregate(v3)
	f.ingest(editYear(20))
	if got := f.snapshots(); !slices.Equal(got, []string{v3}) {
		t.Fatalf("after the result moved on: %v, want [%s]", got, v3)
	}
}

// Without a retention every snapshot stays; a retention of 2 keeps the two newest.
func TestRetentionCounts(t *testing.T) {
	f := newRetentionFixture(t, 2)
	var ids []string
	for i := range 4 {
		ids = append(ids, f.ingest(editYear(5*i)))
	}
	if got := f.snapshots(); !slices.Equal(got, sorted(ids[2:]...)) {
		t.Errorf("retention 2 after four ingestions: %v, want the two newest %v", got, sorted(ids[2:]...))
	}

	g := newRetentionFixture(t, 1)
	g.ds.Spec.Retention = nil
	ids = nil
	for i := range 3 {
		ids = append(ids, g.ingest(editYear(5*i)))
	}
	if got := g.snapshots(); !slices.Equal(got, sorted(ids...)) {
		t.Errorf("no retention after three ingestions: %v, want all of %v", got, sorted(ids...))
	}
}

// A refused snapshot stays while it is newer than the promoted one (the DataSource's
// status reports its rejects), does not count towards the snapshots kept, and goes once
// a newer snapshot is promoted.
func TestRetentionRefusedSnapshots(t *testing.T) {
	f := newRetentionFixture(t, 2)
	v1 := f.ingest(editYear(0))
	v2 := f.ingest(editYear(10))
	bad := f.refused()
	if got := f.snapshots(); !slices.Equal(got, sorted(v1, v2, bad)) {
		t.Fatalf("after a refused ingestion: %v, want %v (nothing removed)", got, sorted(v1, v2, bad))
	}
	// The refused one is older than the new promoted one: it goes, and the two newest
	// promoted stay although the refused one was newer than v2.
	v3 := f.ingest(editYear(20))
	if got := f.snapshots(); !slices.Equal(got, sorted(v2, v3)) {
		t.Fatalf("after the next promoted ingestion: %v, want %v", got, sorted(v2, v3))
	}
}
