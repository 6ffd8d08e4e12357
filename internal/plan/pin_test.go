package plan

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

const (
	idKinder = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	idCensus = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// The plan pins the snapshot each DataSource's status names, sorted by source; a source
// without one stays unpinned, and Pin fills or replaces the pins.
func TestAggregatePinsSnapshots(t *testing.T) {
	ini, srcs, inds := objects()
	srcs[1].Status.Snapshot = &impactv1.SnapshotStatus{ID: idCensus}
	p, err := Aggregate(ini, srcs, inds)
	if err != nil {
		t.Fatal(err)
	}
	if want := []spec.Input{{Source: "census", Snapshot: idCensus}}; !reflect.DeepEqual(p.Inputs, want) {
		t.Errorf("pinned %v, want %v", p.Inputs, want)
	}
	if got := p.Unpinned(); !reflect.DeepEqual(got, []string{"kinder"}) {
		t.Errorf("unpinned %v, want [kinder]", got)
	}

	err = Pin(p, map[string]string{"census": idCensus})
	if err == nil || !strings.Contains(err.Error(), `no snapshot to pin for source(s) "kinder"`) {
		t.Errorf("pinning without kinder: %v", err)
	}
	if err := Pin(p, map[string]string{"kinder": idKinder, "census": idCensus, "other": idKinder}); err != nil {
		t.Fatal(err)
	}
	want := []spec.Input{{Source: "census", Snapshot: idCensus}, {Source: "kinder", Snapshot: idKinder}}
	if !reflect.DeepEqual(p.Inputs, want) || len(p.Unpinned()) != 0 {
		t.Errorf("pinned %v, want %v (only the sources read, sorted)", p.Inputs, want)
	}
}

// The plan's hash names what is computed: the same plan gives the same hash whatever the
// order maps were filled in, and every input of the computation changes it.
func TestPlanHash(t *testing.T) {
	ini, srcs, inds := objects()
	compile := func() *spec.Aggregate {
		p, err := Aggregate(ini, srcs, inds)
		if err != nil {
			t.Fatal(err)
		}
		if err := Pin(p, map[string]string{"kinder": idKinder, "census": idCensus}); err != nil {
			t.Fatal(err)
		}
		p.AsOf = "2026-11-23"
		return p
	}
	hash := func(p *spec.Aggregate, engine string) string {
		h, err := p.Hash(engine)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base := hash(compile(), "v1")
	// Maps filled in opposite orders.
	a, b := compile(), compile()
	a.ReferenceGroups = map[string]string{}
	b.ReferenceGroups = map[string]string{}
	for _, d := range []string{"race", "income", "zip", "age", "sex"} {
		a.ReferenceGroups[d] = "x" + d
	}
	for _, d := range []string{"sex", "age", "zip", "income", "race"} {
		b.ReferenceGroups[d] = "x" + d
	}
	if hash(a, "v1") != hash(b, "v1") {
		t.Error("the same plan hashes differently with its maps filled in another order")
	}
	for name, change := range map[string]func(p *spec.Aggregate) string{
		"engine":    func(*spec.Aggregate) string { return "v2" },
		"snapshot":  func(p *spec.Aggregate) string { p.Inputs[0].Snapshot = idKinder; return "v1" },
		"as-of":     func(p *spec.Aggregate) string { p.AsOf = "2026-11-24"; return "v1" },
		"spec hash": func(p *spec.Aggregate) string { p.Indicators[1].SpecHash += "0"; return "v1" },
		"floor":     func(p *spec.Aggregate) string { p.Indicators[0].MinCellSize++; return "v1" },
		"reference": func(p *spec.Aggregate) string { p.ReferenceGroups["race"] = "Black"; return "v1" },
	} {
		p := compile()
		if engine := change(p); hash(p, engine) == base {
			t.Errorf("changing the %s leaves the plan's hash %s", name, base)
		}
	}
	// How the result is published is not what it is computed from: the same plan.
	n := int32(10)
	inds[0].Spec.Publish = &impactv1.PublishSpec{MaxSeries: &n}
	if got := hash(compile(), "v1"); got != base {
		t.Errorf("spec.publish.maxSeries changes the plan's hash from %s to %s", base, got)
	}
	inds[0].Spec.Publish = nil
	if again := hash(compile(), "v1"); again != base || !strings.HasPrefix(base, "sha256:") || len(base) != 71 {
		t.Errorf("the same plan hashed %s, then %s", base, again)
	}
}

// DataSources and Indicators of an Initiative that is not there are reported, each with
// its field.
func TestOrphans(t *testing.T) {
	ini, srcs, inds := objects()
	if err := Orphans([]impactv1.Initiative{*ini}, srcs, inds); err != nil {
		t.Fatalf("no orphans: %v", err)
	}
	other := *ini
	other.ObjectMeta = metav1.ObjectMeta{Name: "rb5", Namespace: "elsewhere"}
	err := Orphans([]impactv1.Initiative{other}, srcs[:1], inds[:1])
	es, ok := err.(Errors)
	if !ok || len(es) != 2 || es[0].Kind != "DataSource" || es[1].Kind != "Indicator" || es[0].Field != "spec.initiativeRef.name" ||
		es[1].Message != `Initiative "rb5" not found in namespace "nc"` {
		t.Errorf("orphans: %v", err)
	}
}
