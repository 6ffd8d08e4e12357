package metrics

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// Defaults of Options.
const (
	DefaultIndicatorCap = 10_000
	DefaultGlobalCap    = 1_000_000
)

// Options configure an Exposition.
type Options struct {
	// Region is the value of the constant region label on every series.
	Region string
	// IndicatorCap bounds the series of one Indicator (DefaultIndicatorCap when 0).
	IndicatorCap int
	// GlobalCap bounds the series of all Indicators together (DefaultGlobalCap when 0).
	GlobalCap int
}

// Exposition holds the series of results and snapshot manifests in compact form, and
// serves them. It is safe for concurrent use.
type Exposition struct {
	opts Options

	mu          sync.RWMutex
	indicators  map[string]*indEntry    // by key namespace/initiative/indicator
	sources     map[string]*sourceEntry // by key namespace/initiative/source
	initiatives map[string]string       // namespace/initiative → id of the result rendered
	// caps are the Indicators' own series caps (spec.publish.maxSeries), by
	// namespace/initiative and Indicator name; an Indicator without one has IndicatorCap.
	caps map[string]map[string]int
	// tail closes every label set: the region label and "} ".
	tail []byte
	// view is what a scrape writes: every entry in key order, indicators first. It is
	// replaced, never changed, so a scrape reads it without the lock.
	view []viewEntry
}

// viewEntry is an entry as a scrape writes it: its lines, and whether only its totals
// are written, with its series count.
type viewEntry struct {
	lines     *lines
	capped    bool
	published int
}

// indEntry is one Indicator: its series in compact form and its series counts. The
// result it was built from is not kept.
type indEntry struct {
	key                         string
	namespace, initiative, name string
	full                        int // series with every group
	totals                      int // series with the totals only
	// capped says the Indicator publishes its totals only; byIndicator says its own cap
	// decided that (else the global cap did).
	capped, byIndicator bool
	lines               *lines
}

func (e *indEntry) published() int {
	if e.capped {
		return e.totals
	}
	return e.full
}

type sourceEntry struct {
	key   string
	lines *lines
}

// New returns an empty Exposition.
func New(opts Options) *Exposition {
	if opts.IndicatorCap <= 0 {
		opts.IndicatorCap = DefaultIndicatorCap
	}
	if opts.GlobalCap <= 0 {
		opts.GlobalCap = DefaultGlobalCap
	}
	return &Exposition{
		opts:        opts,
		indicators:  map[string]*indEntry{},
		sources:     map[string]*sourceEntry{},
		initiatives: map[string]string{},
		caps:        map[string]map[string]int{},
		tail:        append(appendLabel(nil, "region", opts.Region, true), "} "...),
	}
}

// SetIndicatorCaps sets the series caps of an Initiative's Indicators, by name (their
// spec.publish.maxSeries), replacing the previous ones; an Indicator it does not name, or
// names with a cap of 0 or less, has Options.IndicatorCap. Indicators already published
// switch between every series and their totals when a cap changes which they publish.
func (x *Exposition) SetIndicatorCaps(namespace, initiative string, caps map[string]int) {
	own := map[string]int{}
	for name, c := range caps {
		if c > 0 {
			own[name] = c
		}
	}
	ini := namespace + "/" + initiative
	x.mu.Lock()
	defer x.mu.Unlock()
	if maps.Equal(x.caps[ini], own) {
		return
	}
	if len(own) == 0 {
		delete(x.caps, ini)
	} else {
		x.caps[ini] = own
	}
	x.applyCaps()
	x.rebuildView()
}

// capOf is an Indicator's own series cap.
func (x *Exposition) capOf(e *indEntry) int {
	if c, ok := x.caps[e.namespace+"/"+e.initiative][e.name]; ok {
		return c
	}
	return x.opts.IndicatorCap
}

// SetResult publishes the result of an Initiative, replacing its previous one: its
// Indicators that the result no longer holds are removed. A result already published
// (same id) is not built again. The Exposition keeps nothing of man and res: each
// Indicator's series are built into their compact form, its groups' included.
func (x *Exposition) SetResult(man *result.Manifest, res *aggregate.Result) error {
	if man.Plan == nil {
		return fmt.Errorf("result %s of %s/%s: the manifest has no plan", man.ID, man.Namespace, man.Initiative)
	}
	ini := man.Namespace + "/" + man.Initiative
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.initiatives[ini] == man.ID {
		return nil
	}
	byName := map[string]*indicator{}
	for _, sp := range man.Plan.Indicators {
		byName[sp.Name] = &indicator{namespace: man.Namespace, initiative: man.Initiative, spec: sp, computed: man.Created}
	}
	for _, r := range res.Indicators {
		if ind := byName[r.Name]; ind != nil {
			ind.result = r
		}
	}
	for i := range res.Cells {
		c := &res.Cells[i]
		ind := byName[c.Indicator]
		if ind == nil {
			return fmt.Errorf("result %s of %s: cell of indicator %q, which the plan does not hold", man.ID, ini, c.Indicator)
		}
		ind.cells = append(ind.cells, c)
	}
	for key, e := range x.indicators {
		if e.namespace == man.Namespace && e.initiative == man.Initiative {
			delete(x.indicators, key)
		}
	}
	for name, ind := range byName {
		s := newSink()
		ind.series(s)
		l := s.done()
		x.indicators[ini+"/"+name] = &indEntry{
			key: ini + "/" + name, namespace: man.Namespace, initiative: man.Initiative, name: name,
			full: l.full, totals: l.totals, lines: l,
		}
	}
	x.initiatives[ini] = man.ID
	x.applyCaps()
	x.rebuildView()
	return nil
}

// Retain keeps, of an Initiative's published result, only the Indicators named in keep,
// without the result's cells: what a result already published and then cut to fewer
// Indicators publishes. id is the id the cut result is held under from then on
// (SetResult builds an Initiative again only for another id). It reports false, changing
// nothing, when the Initiative has no result published.
func (x *Exposition) Retain(namespace, initiative, id string, keep []string) bool {
	ini := namespace + "/" + initiative
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.initiatives[ini]; !ok {
		return false
	}
	for key, e := range x.indicators {
		if e.namespace == namespace && e.initiative == initiative && !slices.Contains(keep, e.name) {
			delete(x.indicators, key)
		}
	}
	x.initiatives[ini] = id
	x.applyCaps()
	x.rebuildView()
	return true
}

// SetSources publishes the data health of an Initiative's DataSources from their latest
// snapshot manifests, replacing the Initiative's previous ones. The row counts of the
// sources in withheld (the result's WithheldRowCounts: with the published cells they would
// disclose a suppressed cell) are left out.
func (x *Exposition) SetSources(namespace, initiative string, snaps []store.SnapshotManifest, withheld []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for key := range x.sources {
		if prefixed(key, namespace, initiative) {
			delete(x.sources, key)
		}
	}
	for i := range snaps {
		m := &snaps[i]
		if m.Namespace != namespace || m.Initiative != initiative {
			continue
		}
		s := newSink()
		source(s, m, !slices.Contains(withheld, m.Source))
		key := namespace + "/" + initiative + "/" + m.Source
		x.sources[key] = &sourceEntry{key: key, lines: s.done()}
	}
	x.rebuildView()
}

// Delete removes an Initiative: its Indicators and DataSources.
func (x *Exposition) Delete(namespace, initiative string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for key := range x.indicators {
		if prefixed(key, namespace, initiative) {
			delete(x.indicators, key)
		}
	}
	for key := range x.sources {
		if prefixed(key, namespace, initiative) {
			delete(x.sources, key)
		}
	}
	delete(x.initiatives, namespace+"/"+initiative)
	delete(x.caps, namespace+"/"+initiative)
	x.applyCaps()
	x.rebuildView()
}

func prefixed(key, namespace, initiative string) bool {
	p := namespace + "/" + initiative + "/"
	return len(key) > len(p) && key[:len(p)] == p
}

// applyCaps decides which Indicators publish only their totals.
func (x *Exposition) applyCaps() {
	entries := x.sortedIndicators()
	want := make(map[*indEntry]bool, len(entries))
	total := 0
	for _, e := range entries {
		own := e.full > x.capOf(e)
		want[e] = own
		if own {
			total += e.totals
		} else {
			total += e.full
		}
	}
	if total > x.opts.GlobalCap {
		// Cut the largest first, ties by key, until the rest fit.
		bySize := slices.Clone(entries)
		slices.SortStableFunc(bySize, func(a, b *indEntry) int { return cmp.Compare(b.full, a.full) })
		for _, e := range bySize {
			if total <= x.opts.GlobalCap {
				break
			}
			if !want[e] {
				want[e] = true
				total -= e.full - e.totals
			}
		}
	}
	for _, e := range entries {
		e.capped = want[e]
		e.byIndicator = e.full > x.capOf(e)
	}
}

func (x *Exposition) sortedIndicators() []*indEntry {
	out := make([]*indEntry, 0, len(x.indicators))
	for _, e := range x.indicators {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *indEntry) int { return cmp.Compare(a.key, b.key) })
	return out
}

func (x *Exposition) rebuildView() {
	view := make([]viewEntry, 0, len(x.indicators)+len(x.sources))
	for _, e := range x.sortedIndicators() {
		view = append(view, viewEntry{lines: e.lines, capped: e.capped, published: e.published()})
	}
	srcs := make([]*sourceEntry, 0, len(x.sources))
	for _, e := range x.sources {
		srcs = append(srcs, e)
	}
	slices.SortFunc(srcs, func(a, b *sourceEntry) int { return cmp.Compare(a.key, b.key) })
	for _, e := range srcs {
		view = append(view, viewEntry{lines: e.lines})
	}
	x.view = view
}

// IndicatorSeries is the series count of one Indicator.
type IndicatorSeries struct {
	Namespace, Initiative, Indicator string
	// Published is the number of series published; Full the number with every group.
	Published, Full int
	// Capped says only the totals are published; ByIndicator that the Indicator's own cap
	// decided it (else the global cap did).
	Capped, ByIndicator bool
	// Cap is the Indicator's own cap: its spec.publish.maxSeries, else Options.IndicatorCap.
	Cap int
}

// Series returns the series count of every Indicator, sorted by namespace, initiative
// and name.
func (x *Exposition) Series() []IndicatorSeries {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []IndicatorSeries
	for _, e := range x.sortedIndicators() {
		out = append(out, IndicatorSeries{
			Namespace: e.namespace, Initiative: e.initiative, Indicator: e.name,
			Published: e.published(), Full: e.full, Capped: e.capped, ByIndicator: e.capped && e.byIndicator,
			Cap: x.capOf(e),
		})
	}
	return out
}

// Options returns the options in force, defaults filled in.
func (x *Exposition) Options() Options { return x.opts }

// Format is an exposition format.
type Format int

// The formats served.
const (
	Text        Format = iota // Prometheus text format 0.0.4
	OpenMetrics               // OpenMetrics 1.0
)

// WriteTo writes the exposition in format f: family by family, its HELP and TYPE, then
// every entry's sample lines, rendered from their compact form as they are written (the
// whole text is never held). It returns the bytes written.
func (x *Exposition) WriteTo(w io.Writer, f Format) (int64, error) {
	x.mu.RLock()
	view := x.view
	x.mu.RUnlock()
	cw := &countingWriter{w: w}
	// A bufio.Writer's error is sticky: the writes below are checked once, by Flush.
	bw := bufio.NewWriterSize(cw, 64<<10)
	for fam := range numFamilies {
		header := false
		for _, e := range view {
			if !e.lines.has(fam, e.capped) {
				continue
			}
			if !header {
				_, _ = bw.Write(headers[fam])
				header = true
			}
			e.lines.write(bw, fam, e.capped, e.published, x.tail)
		}
	}
	if f == OpenMetrics {
		_, _ = bw.WriteString("# EOF\n")
	}
	err := bw.Flush()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
