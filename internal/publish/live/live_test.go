package live

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// samples runs config/samples through `backbone local` and returns the publication of its
// Initiative and what `backbone local --listen` serves on /metrics.
func samples(t *testing.T) (*Publication, []byte) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := local.Load(ctx, "../../../config/samples", "default")
	if err != nil {
		t.Fatal(err)
	}
	out, err := local.Run(ctx, m, local.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	x := metrics.New(metrics.Options{Region: "r"})
	if err := local.Publish(ctx, st, out, x); err != nil {
		t.Fatal(err)
	}
	man, err := result.ReadManifest(ctx, st, out.ResultKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	return &Publication{
		Initiative: &m.Initiatives[0], Indicators: m.Indicators, DataSources: m.DataSources,
		Manifest: man, Result: out.Results[0], Snapshots: out.Snapshots,
	}, exposition(t, x)
}

func exposition(t *testing.T, x *metrics.Exposition) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := x.WriteTo(&b, metrics.Text); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The publisher serves what `backbone local --listen` serves for the same result; an
// Indicator left out of the publication loses its series; Remove empties the exposition
// and removes the page; a publication without its result is refused unless that result is
// published with the same inputs.
func TestPublisher(t *testing.T) {
	ctx := context.Background()
	pub, want := samples(t)
	rr, err := report.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := New(metrics.New(metrics.Options{Region: "r"}), report.NewHandler(rr))

	noResult := *pub
	noResult.Result = nil
	if err := p.Publish(ctx, &noResult); err == nil {
		t.Fatal("a publication without its result, never published, was accepted")
	}
	if err := p.Publish(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if got := exposition(t, p.Metrics); !bytes.Equal(got, want) {
		t.Fatalf("the publisher serves %d bytes, backbone local %d", len(got), len(want))
	}
	page := "/initiatives/default/" + pub.Initiative.Name
	if code := get(p, page); code != http.StatusOK {
		t.Fatalf("GET %s: %d", page, code)
	}
	if p.Published("default", pub.Initiative.Name) != pub.Manifest.ID {
		t.Fatalf("Published: %q", p.Published("default", pub.Initiative.Name))
	}
	// The same result again, without its cells: nothing changes.
	if err := p.Publish(ctx, &noResult); err != nil {
		t.Fatal(err)
	}
	if got := exposition(t, p.Metrics); !bytes.Equal(got, want) {
		t.Fatal("publishing the same result again changed the exposition")
	}

	// One Indicator fewer: with community pages, rendered from the cells, the result is
	// needed again.
	gone := pub.Indicators[0].Name
	fewer := noResult
	fewer.Indicators = append([]impactv1.Indicator(nil), pub.Indicators[1:]...)
	if !p.NeedsResult(&fewer) {
		t.Error("NeedsResult: false for an Indicator fewer with community pages")
	}
	if err := p.Publish(ctx, &fewer); !errors.Is(err, ErrResultNeeded) {
		t.Fatalf("an Indicator fewer without the result, with community pages: %v, want ErrResultNeeded", err)
	}
	fewer.Result = pub.Result
	if err := p.Publish(ctx, &fewer); err != nil {
		t.Fatal(err)
	}
	got := string(exposition(t, p.Metrics))
	if strings.Contains(got, `indicator="`+gone+`"`) {
		t.Errorf("the series of %s are still published", gone)
	}
	if !strings.Contains(got, `indicator="`+pub.Indicators[1].Name+`"`) || !strings.Contains(got, "backbone_source_input_rows{") {
		t.Error("the other Indicators' or the sources' series went too")
	}

	if err := p.Remove(ctx, "default", pub.Initiative.Name); err != nil {
		t.Fatal(err)
	}
	if got := exposition(t, p.Metrics); len(got) != 0 {
		t.Errorf("after Remove the exposition holds %d bytes", len(got))
	}
	if p.Published("default", pub.Initiative.Name) != "" {
		t.Error("Published after Remove")
	}
	if code := get(p, page); code != http.StatusNotFound {
		t.Errorf("GET %s after Remove: %d", page, code)
	}
}

func get(p *Publisher, path string) int {
	rec := httptest.NewRecorder()
	p.Pages.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// TestPublisherWithoutCells: the publisher keeps no result. After a result is published
// its cells can change under it (here: overwritten) and the publisher still follows an
// Indicator left out and a series cap set, with exactly the series a publisher given the
// result writes; an Indicator back needs the result again (ErrResultNeeded), and
// NeedsResult says so beforehand.
func TestPublisherWithoutCells(t *testing.T) {
	ctx := context.Background()
	pub, want := samples(t)
	kept := *pub.Result
	kept.Cells, kept.Indicators = slices.Clone(pub.Result.Cells), slices.Clone(pub.Result.Indicators)
	p := New(metrics.New(metrics.Options{Region: "r"}), nil)
	if !p.NeedsResult(pub) {
		t.Fatal("NeedsResult: false before anything was published")
	}
	if err := p.Publish(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if got := exposition(t, p.Metrics); !bytes.Equal(got, want) {
		t.Fatal("the publisher does not serve what backbone local serves")
	}
	for i := range pub.Result.Cells {
		pub.Result.Cells[i] = aggregate.Cell{Indicator: pub.Result.Cells[i].Indicator, Period: "overwritten", Value: new(float64)}
	}
	for i := range pub.Result.Indicators {
		pub.Result.Indicators[i] = aggregate.IndicatorResult{Name: pub.Result.Indicators[i].Name}
	}

	noResult := *pub
	noResult.Result = nil
	if p.NeedsResult(&noResult) {
		t.Error("NeedsResult: true for the publication just published")
	}
	// One Indicator fewer, another capped by its spec.publish.maxSeries.
	fewer := noResult
	fewer.Indicators = slices.Clone(pub.Indicators[1:])
	one := int32(1)
	fewer.Indicators[0].Spec.Publish = &impactv1.PublishSpec{MaxSeries: &one}
	fewer.Indicators[0].Generation++
	if p.NeedsResult(&fewer) {
		t.Error("NeedsResult: true for an Indicator fewer and a cap")
	}
	if err := p.Publish(ctx, &fewer); err != nil {
		t.Fatal(err)
	}
	ref := New(metrics.New(metrics.Options{Region: "r"}), nil)
	withResult := fewer
	withResult.Result = &kept
	if err := ref.Publish(ctx, &withResult); err != nil {
		t.Fatal(err)
	}
	got, wantFewer := exposition(t, p.Metrics), exposition(t, ref.Metrics)
	if !bytes.Equal(got, wantFewer) {
		t.Fatalf("without the cells the publisher writes %d bytes, with them %d", len(got), len(wantFewer))
	}
	if capped, _, _, _ := p.Capped("default", pub.Initiative.Name, fewer.Indicators[0].Name); !capped {
		t.Errorf("%s is not capped by its maxSeries of 1", fewer.Indicators[0].Name)
	}

	// Every Indicator back: the left-out one's series need the result.
	if !p.NeedsResult(&noResult) {
		t.Error("NeedsResult: false for an Indicator back")
	}
	if err := p.Publish(ctx, &noResult); !errors.Is(err, ErrResultNeeded) {
		t.Fatalf("publishing an Indicator back without the result: %v, want ErrResultNeeded", err)
	}
	back := *pub
	back.Result = &kept
	if err := p.Publish(ctx, &back); err != nil {
		t.Fatal(err)
	}
	if got := exposition(t, p.Metrics); !bytes.Equal(got, want) {
		t.Fatal("with every Indicator back the publisher does not serve what backbone local serves")
	}
}
