// Package live publishes the results the manager's reconcilers read: the metrics of the
// results (internal/publish/metrics, the exposition `backbone local --listen` serves) and
// the community pages (internal/publish/report), both updated when a result or a
// DataSource's snapshot changes and served from memory.
package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// Publication is what an Initiative's result is published from: the result and the
// objects it was computed from, and the snapshot manifests of its DataSources. Result may
// be nil when the publisher does not need it (Publisher.NeedsResult), so a reconcile
// reads the cells only when they are to be rendered.
type Publication struct {
	Initiative  *impactv1.Initiative
	Indicators  []impactv1.Indicator
	DataSources []impactv1.DataSource
	// Manifest and Result are the Initiative's result; Result is nil until read.
	Manifest *result.Manifest
	Result   *aggregate.Result
	// Snapshots are the promoted snapshot manifests of the DataSources that have one.
	Snapshots []store.SnapshotManifest
}

// Publisher implements controllers.Publisher with an in-memory exposition and, when
// given one, a community page handler.
type Publisher struct {
	// Metrics holds the series served on the results' /metrics.
	Metrics *metrics.Exposition
	// Pages, when not nil, holds the community pages.
	Pages *report.Handler

	mu   sync.Mutex
	pubs map[string]*published // by namespace/initiative
}

// ErrResultNeeded is returned by Publish given a Publication without its Result that it
// cannot publish from what it holds: the caller reads the result and publishes again.
var ErrResultNeeded = errors.New("the result is needed to publish it")

// published is what was last published for an Initiative. The result itself is not kept:
// the exposition holds its series in compact form, the community pages their rendered
// pages.
type published struct {
	id     string           // the result's id
	inputs string           // hash of everything the publication was rendered from
	gens   map[string]int64 // the generation of each Indicator published
	shown  []string         // the result's Indicators published (of its plan, those that exist)
}

// New returns a Publisher of x and, when pages is not nil, of the community pages.
func New(x *metrics.Exposition, pages *report.Handler) *Publisher {
	return &Publisher{Metrics: x, Pages: pages, pubs: map[string]*published{}}
}

// Published returns the id of the result published for an Initiative, or "".
func (p *Publisher) Published(namespace, initiative string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.pubs[namespace+"/"+initiative]; e != nil {
		return e.id
	}
	return ""
}

// NeedsResult reports whether Publish needs pub.Result: when pub's result is not the one
// published, or when what it is published from changed in a way the publisher cannot
// follow without the cells (an Indicator of the result that was left out is back; with
// community pages, any change: a page is rendered from the cells). pub.Manifest and
// pub.Snapshots are read; pub.Result is not.
func (p *Publisher) NeedsResult(pub *Publication) bool {
	k := pub.Initiative.Namespace + "/" + pub.Initiative.Name
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.pubs[k]
	if prev != nil && prev.id == pub.Manifest.ID && prev.inputs == inputsHash(pub, pub.Manifest.ID) {
		return false
	}
	return !p.canFollow(prev, pub)
}

// canFollow reports whether pub, of the result published in prev, can be published
// without its cells.
func (p *Publisher) canFollow(prev *published, pub *Publication) bool {
	if prev == nil || prev.id != pub.Manifest.ID || pub.Manifest.Plan == nil {
		return false
	}
	for _, name := range shown(pub.Manifest, indicatorNames(pub)) {
		if !slices.Contains(prev.shown, name) {
			return false
		}
	}
	return p.Pages == nil
}

// Publish publishes an Initiative's result, without the Indicators that no longer exist,
// and its DataSources' data health. Nothing is rendered when nothing it is rendered from
// changed. pub.Result may be nil when NeedsResult says so; else Publish returns an error
// wrapping ErrResultNeeded.
func (p *Publisher) Publish(_ context.Context, pub *Publication) error {
	ini := pub.Initiative
	k := ini.Namespace + "/" + ini.Name
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.pubs[k]
	man, res := pub.Manifest, pub.Result
	inputs := inputsHash(pub, man.ID)
	if prev != nil && prev.id == man.ID && prev.inputs == inputs {
		return nil
	}
	kept := indicatorNames(pub)
	if res == nil {
		if !p.canFollow(prev, pub) {
			return fmt.Errorf("initiative %s: result %s: %w", k, man.ID, ErrResultNeeded)
		}
		return p.follow(pub, inputs, kept)
	}
	fman, fres := only(man, res, kept)
	// The exposition renders an Initiative again only for a new result id: a result cut to
	// fewer Indicators gets its own.
	xman := fman
	if fman != man {
		c := *fman
		c.ID = man.ID + "/" + inputs
		xman = &c
	}
	p.Metrics.SetIndicatorCaps(ini.Namespace, ini.Name, metrics.IndicatorCaps(pub.Indicators))
	if err := p.Metrics.SetResult(xman, fres); err != nil {
		return fmt.Errorf("initiative %s: publishing the metrics of result %s: %w", k, man.ID, err)
	}
	p.Metrics.SetSources(ini.Namespace, ini.Name, pub.Snapshots, man.WithheldRowCounts)
	if p.Pages != nil {
		in := &report.Input{Initiative: ini, Indicators: pub.Indicators, DataSources: pub.DataSources, Manifest: fman, Result: fres}
		if err := p.Pages.Update(in); err != nil {
			return fmt.Errorf("initiative %s: rendering its community page: %w", k, err)
		}
	}
	gens := make(map[string]int64, len(pub.Indicators))
	for _, ind := range pub.Indicators {
		gens[ind.Name] = ind.Generation
	}
	p.pubs[k] = &published{id: man.ID, inputs: inputs, gens: gens, shown: shown(man, kept)}
	return nil
}

// follow publishes pub, of the result already published, without its cells: the
// exposition keeps the Indicators that exist, with their caps, and the data health of the
// snapshots. The caller holds the lock and checked canFollow (so there are no pages).
func (p *Publisher) follow(pub *Publication, inputs string, kept []string) error {
	ini, man := pub.Initiative, pub.Manifest
	k := ini.Namespace + "/" + ini.Name
	keep := shown(man, kept)
	xid := man.ID
	if len(keep) < len(man.Plan.Indicators) {
		xid = man.ID + "/" + inputs
	}
	p.Metrics.SetIndicatorCaps(ini.Namespace, ini.Name, metrics.IndicatorCaps(pub.Indicators))
	if !p.Metrics.Retain(ini.Namespace, ini.Name, xid, keep) {
		return fmt.Errorf("initiative %s: result %s: the exposition does not hold it: %w", k, man.ID, ErrResultNeeded)
	}
	p.Metrics.SetSources(ini.Namespace, ini.Name, pub.Snapshots, man.WithheldRowCounts)
	gens := make(map[string]int64, len(pub.Indicators))
	for _, ind := range pub.Indicators {
		gens[ind.Name] = ind.Generation
	}
	p.pubs[k] = &published{id: man.ID, inputs: inputs, gens: gens, shown: keep}
	return nil
}

// indicatorNames are the names of a publication's Indicators.
func indicatorNames(pub *Publication) []string {
	out := make([]string, 0, len(pub.Indicators))
	for _, ind := range pub.Indicators {
		out = append(out, ind.Name)
	}
	return out
}

// shown are the Indicators of man's plan named in kept: those a publication shows.
func shown(man *result.Manifest, kept []string) []string {
	var out []string
	if man.Plan == nil {
		return out
	}
	for _, si := range man.Plan.Indicators {
		if slices.Contains(kept, si.Name) {
			out = append(out, si.Name)
		}
	}
	return out
}

// PublishedWith returns the id of the result published for an Initiative and the
// generation of the Indicator it was published with (its spec.publish decides its
// series), or "" and 0.
func (p *Publisher) PublishedWith(namespace, initiative, indicator string) (string, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.pubs[namespace+"/"+initiative]; e != nil {
		return e.id, e.gens[indicator]
	}
	return "", 0
}

// Remove removes an Initiative's series and page.
func (p *Publisher) Remove(_ context.Context, namespace, initiative string) error {
	k := namespace + "/" + initiative
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pubs[k]; !ok {
		return nil
	}
	delete(p.pubs, k)
	p.Metrics.Delete(namespace, initiative)
	if p.Pages != nil {
		if err := p.Pages.Delete(namespace, initiative); err != nil {
			return fmt.Errorf("initiative %s: removing its community page: %w", k, err)
		}
	}
	return nil
}

// Capped reports whether a series cap cuts an Indicator to its totals.
func (p *Publisher) Capped(namespace, initiative, indicator string) (capped, byIndicator bool, full, published int) {
	for _, s := range p.Metrics.Series() {
		if s.Namespace == namespace && s.Initiative == initiative && s.Indicator == indicator {
			return s.Capped, s.ByIndicator, s.Full, s.Published
		}
	}
	return false, false, 0, 0
}

// inputsHash hashes what a publication renders from: the result id, the generations of
// the Initiative, its Indicators and DataSources, and the snapshots.
func inputsHash(pub *Publication, id string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", id, pub.Initiative.Generation)
	for _, ind := range pub.Indicators {
		fmt.Fprintf(h, "i\x00%s\x00%d\x00", ind.Name, ind.Generation)
	}
	for _, ds := range pub.DataSources {
		fmt.Fprintf(h, "d\x00%s\x00%d\x00", ds.Name, ds.Generation)
	}
	for _, s := range pub.Snapshots {
		fmt.Fprintf(h, "s\x00%s\x00%s\x00", s.Source, s.ID)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// only returns the result cut to the Indicators named in keep: man and res themselves
// when they hold no other.
func only(man *result.Manifest, res *aggregate.Result, keep []string) (*result.Manifest, *aggregate.Result) {
	if man.Plan == nil {
		return man, res
	}
	all := true
	for _, si := range man.Plan.Indicators {
		if !slices.Contains(keep, si.Name) {
			all = false
		}
	}
	if all {
		return man, res
	}
	pl := *man.Plan
	pl.Indicators = slices.DeleteFunc(slices.Clone(pl.Indicators), func(si spec.Indicator) bool { return !slices.Contains(keep, si.Name) })
	m := *man
	m.Plan = &pl
	r := *res
	r.Indicators = slices.DeleteFunc(slices.Clone(res.Indicators), func(ir aggregate.IndicatorResult) bool { return !slices.Contains(keep, ir.Name) })
	r.Cells = slices.DeleteFunc(slices.Clone(res.Cells), func(c aggregate.Cell) bool { return !slices.Contains(keep, c.Indicator) })
	return &m, &r
}
