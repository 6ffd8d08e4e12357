package run_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"
)

var written = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// samples ingests the shipped samples into a fresh store and returns their aggregation
// plan, pinned to the snapshots ingested, as of 2026-11-23.
func samples(t *testing.T) (*store.Store, *spec.Aggregate) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := local.Load(ctx, "../../config/samples", "default")
	if err != nil {
		t.Fatal(err)
	}
	ini := &m.Initiatives[0]
	ids := map[string]string{}
	for i := range m.DataSources {
		ds := &m.DataSources[i]
		ip, err := plan.Ingest(ini, ds, plan.IngestOptions{AllowFileLocations: true, BaseDir: m.Dir})
		if err != nil {
			t.Fatal(err)
		}
		res, err := run.Ingest(ctx, st, ip, ingest.Options{TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		ids[ds.Name] = res.Manifest.ID
	}
	p, err := plan.Aggregate(ini, m.DataSources, m.Indicators)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Pin(p, ids); err != nil {
		t.Fatal(err)
	}
	p.AsOf = "2026-11-23"
	return st, p
}

func compute(t *testing.T, st *store.Store, p *spec.Aggregate, opts run.AggregateOptions) *run.Aggregated {
	t.Helper()
	opts.Now = func() time.Time { return written }
	opts.TempDir = t.TempDir()
	out, err := run.Aggregate(context.Background(), st, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The result read back from the store equals the one computed, field by field: the cells,
// every indicator's headline, on-track judgement and equity, the inputs and the manifest.
func TestResultReadBackEqualsComputed(t *testing.T) {
	st, p := samples(t)
	out := compute(t, st, p, run.AggregateOptions{})
	if out.Reused || out.Result == nil {
		t.Fatalf("a fresh store reused a result: %+v", out)
	}
	man, res, err := result.Read(context.Background(), st, out.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(man, out.Manifest) {
		t.Errorf("manifest read back:\n%+v\nwritten:\n%+v", man, out.Manifest)
	}
	if !reflect.DeepEqual(res.Inputs, out.Result.Inputs) {
		t.Errorf("inputs read back %v, computed %v", res.Inputs, out.Result.Inputs)
	}
	if !reflect.DeepEqual(res.Indicators, out.Result.Indicators) {
		t.Errorf("indicators read back differ from those computed")
	}
	if len(res.Cells) != len(out.Result.Cells) {
		t.Fatalf("%d cells read back, %d computed", len(res.Cells), len(out.Result.Cells))
	}
	for i := range res.Cells {
		if !reflect.DeepEqual(res.Cells[i], out.Result.Cells[i]) {
			t.Fatalf("cell %d read back:\n%+v\ncomputed:\n%+v", i, res.Cells[i], out.Result.Cells[i])
		}
	}

	// What was compared carries what the surfaces publish: the test would catch a field
	// dropped on the way to the store.
	var headCI, change, judged, equity, multiPeriod int
	for _, ir := range res.Indicators {
		if h := ir.Headline; h != nil && h.CILower != nil && h.CIUpper != nil {
			headCI++
			if h.Change != nil && h.ChangeLower != nil && h.ChangeUpper != nil && *h.ChangeLower <= *h.Change && *h.Change <= *h.ChangeUpper {
				change++
			}
		}
		if ir.OnTrack != nil && ir.OnTrack.Judged {
			judged++
		}
		periods := map[string]bool{}
		for _, eq := range ir.Equity {
			periods[eq.Period] = true
			if eq.IndexOfDisparity != nil && len(eq.Differences) > 0 {
				equity++
			}
		}
		if len(periods) > 1 {
			multiPeriod++
		}
	}
	if headCI < 6 || change == 0 || judged == 0 || equity == 0 || multiPeriod == 0 {
		t.Errorf("the samples' result lacks published numbers: %d headlines with an interval, %d changes with an interval, %d on-track judgements, %d equity summaries with an index of disparity, %d indicators with equity in more than one period",
			headCI, change, judged, equity, multiPeriod)
	}
	if man.Inputs == nil || len(man.Inputs) != len(p.Inputs) || man.Plan.AsOf != "2026-11-23" || man.ID != mustID(t, man.Plan, man.Engine) {
		t.Errorf("the manifest does not say what it was computed from: %+v", man)
	}
}

func mustID(t *testing.T, p *spec.Aggregate, engine string) string {
	t.Helper()
	id, err := result.ID(p, engine)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Two runs of the same plan write the same result id and the same bytes, whatever the
// number of workers; without --recompute the second run computes nothing. Another as-of
// date or engine is another result.
func TestSamePlanSameResult(t *testing.T) {
	st, p := samples(t)
	first := compute(t, st, p, run.AggregateOptions{Workers: 1})
	again := compute(t, st, p, run.AggregateOptions{Workers: 3, Recompute: true})
	if again.Reused || again.Key != first.Key || again.Manifest.ID != first.Manifest.ID {
		t.Errorf("the same plan wrote %s, then %s (reused %v)", first.Key, again.Key, again.Reused)
	}
	if again.Manifest.ParquetHash != first.Manifest.ParquetHash || again.Manifest.IndicatorsHash != first.Manifest.IndicatorsHash {
		t.Errorf("the same plan wrote different bytes: cells %s then %s, indicators %s then %s",
			first.Manifest.ParquetHash, again.Manifest.ParquetHash, first.Manifest.IndicatorsHash, again.Manifest.IndicatorsHash)
	}
	reused := compute(t, st, p, run.AggregateOptions{})
	if !reused.Reused || reused.Result != nil || reused.Key != first.Key {
		t.Errorf("the third run of the same plan: reused %v, key %s; want the stored %s", reused.Reused, reused.Key, first.Key)
	}

	later := *p
	later.AsOf = "2026-12-01"
	other := compute(t, st, &later, run.AggregateOptions{})
	newer := compute(t, st, p, run.AggregateOptions{Engine: "v9.9.9+abc"})
	for _, o := range []*run.Aggregated{other, newer} {
		if o.Reused || o.Manifest.ID == first.Manifest.ID {
			t.Errorf("another as-of date or engine reused result %s", first.Manifest.ID)
		}
	}
}

// An aggregation reads exactly the snapshots its plan pins: an unknown snapshot fails,
// naming the source and the snapshot, although the store holds a promoted one; an
// unpinned source fails before anything is read.
func TestPinnedSnapshots(t *testing.T) {
	st, p := samples(t)
	ctx := context.Background()
	const missing = "sha256:00000000000000000000000000000000000000000000000000000000000000aa"
	for _, tc := range []struct {
		name string
		edit func(p *spec.Aggregate)
		want string
	}{
		{"missing snapshot", func(p *spec.Aggregate) { p.Inputs[0].Snapshot = missing },
			`source "` + p.Inputs[0].Source + `": snapshot ` + missing + ` is not in the store`},
		{"unpinned source", func(p *spec.Aggregate) { p.Inputs = p.Inputs[1:] },
			`pins no snapshot of source "` + p.Inputs[0].Source + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := *p
			q.Inputs = append([]spec.Input(nil), p.Inputs...)
			tc.edit(&q)
			_, err := run.Aggregate(ctx, st, &q, run.AggregateOptions{TempDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// The engine itself refuses an input that is not the snapshot the plan pins.
func TestEngineRefusesUnpinnedInput(t *testing.T) {
	st, p := samples(t)
	ctx := context.Background()
	inputs, release, err := run.OpenInputs(ctx, st, p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	q := *p
	q.Inputs = append([]spec.Input(nil), p.Inputs...)
	other := q.Inputs[1].Snapshot
	q.Inputs[0].Snapshot = other
	_, err = aggregate.Run(ctx, &q, inputs, aggregate.Options{})
	want := `source "` + q.Inputs[0].Source + `": the plan pins snapshot ` + other
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("want an error containing %q, got %v", want, err)
	}
}
