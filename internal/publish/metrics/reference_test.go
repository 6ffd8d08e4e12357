package metrics

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// The reference renderer: the exposition as it was written when every entry held its
// sample lines as text, rendered from the decoded cells. The tests compare the compact
// form's output with it byte for byte.

// refResult is one Initiative's result; refSources its DataSources' snapshots.
type refResult struct {
	man *result.Manifest
	res *aggregate.Result
}

type refSources struct {
	namespace, initiative string
	snaps                 []store.SnapshotManifest
	withheld              []string
}

// refExposition renders results and sources with the reference renderer, each Indicator
// capped or not as series says (what the Exposition decided).
func refExposition(t testing.TB, region string, results []refResult, sources []refSources, series []IndicatorSeries, f Format) []byte {
	t.Helper()
	state := map[string]IndicatorSeries{}
	for _, s := range series {
		state[s.Namespace+"/"+s.Initiative+"/"+s.Indicator] = s
	}
	type entry struct {
		key   string
		lines *refLines
	}
	var inds, srcs []entry
	for _, r := range results {
		byName := map[string]*refIndicator{}
		for _, sp := range r.man.Plan.Indicators {
			byName[sp.Name] = &refIndicator{namespace: r.man.Namespace, initiative: r.man.Initiative, spec: sp, computed: r.man.Created}
		}
		for _, ir := range r.res.Indicators {
			if ind := byName[ir.Name]; ind != nil {
				ind.result = ir
			}
		}
		for i := range r.res.Cells {
			c := &r.res.Cells[i]
			byName[c.Indicator].cells = append(byName[c.Indicator].cells, c)
		}
		for name, ind := range byName {
			key := r.man.Namespace + "/" + r.man.Initiative + "/" + name
			st, ok := state[key]
			if !ok {
				t.Fatalf("the exposition does not hold %s", key)
			}
			s := &refSink{render: true, region: region, out: &refLines{}}
			ind.refSeries(s, st.Capped, st.Capped, st.Published)
			inds = append(inds, entry{key, s.out})
		}
	}
	for _, src := range sources {
		for i := range src.snaps {
			m := &src.snaps[i]
			s := &refSink{render: true, region: region, out: &refLines{}}
			refSource(s, m, !slices.Contains(src.withheld, m.Source))
			srcs = append(srcs, entry{src.namespace + "/" + src.initiative + "/" + m.Source, s.out})
		}
	}
	byKey := func(a, b entry) int { return cmp.Compare(a.key, b.key) }
	slices.SortFunc(inds, byKey)
	slices.SortFunc(srcs, byKey)
	var b bytes.Buffer
	for fam := range numFamilies {
		header := false
		for _, e := range append(inds, srcs...) {
			if len(e.lines[fam]) == 0 {
				continue
			}
			if !header {
				b.Write(headers[fam])
				header = true
			}
			b.Write(e.lines[fam])
		}
	}
	if f == OpenMetrics {
		b.WriteString("# EOF\n")
	}
	return b.Bytes()
}

// refLines are an entry's sample refLines, per family.
type refLines [numFamilies][]byte

// refSink receives series. Counting and rendering go through the same code, so a count is
// always the number of refLines a render writes.
type refSink struct {
	render bool
	region string
	n      int
	out    *refLines
	// set and lbl are the current label set and, when rendering, its formatted values
	// ("{namespace=…,region=…} "), shared by the series written until the next at.
	set labelSet
	lbl []byte
}

// labels are the values of one series' labels, in the order of its family's label set
// (region excluded).

// at makes l, of label set set, the labels of the series that follow.
func (s *refSink) at(set labelSet, l labels) {
	s.set = set
	if !s.render {
		return
	}
	names := labelNames[set]
	b := append(s.lbl[:0], '{')
	for i, v := range l {
		b = appendLabel(b, names[i], v, i > 0)
	}
	b = appendLabel(b, "region", s.region, len(l) > 0)
	s.lbl = append(b, "} "...)
}

// emit writes one sample of family f with the current labels.
func (s *refSink) emit(f int, v float64) {
	if families[f].labels != s.set {
		panic(fmt.Sprintf("metrics: %s written with label set %d", families[f].name, s.set))
	}
	s.n++
	if !s.render {
		return
	}
	b := append(s.out[f], families[f].name...)
	b = append(b, s.lbl...)
	b = appendFloat(b, v)
	s.out[f] = append(b, '\n')
}

// emitPtr writes a sample when v is set.
func (s *refSink) emitPtr(f int, v *float64) {
	if v != nil {
		s.emit(f, *v)
	}
}

// refIndicator is what the series of one Indicator are rendered from.
type refIndicator struct {
	namespace, initiative string
	spec                  spec.Indicator
	result                aggregate.IndicatorResult
	cells                 []*aggregate.Cell
	computed              time.Time
}

// series writes the Indicator's series into s: its totals (the Indicator-level series and
// the total cells) and, unless totalsOnly, its groups' cells and equity series. capped and
// count fill in backbone_indicator_series_capped and backbone_indicator_series.
func (ind *refIndicator) refSeries(s *refSink, totalsOnly, capped bool, count int) {
	id := labels{ind.namespace, ind.initiative, ind.spec.Name}
	s.at(indicatorLabels, id)
	ratio := ind.spec.Measure == spec.Proportion
	pick := func(plain, r int) int {
		if ratio {
			return r
		}
		return plain
	}
	if !ind.computed.IsZero() {
		s.emit(fLastComputed, float64(ind.computed.UnixNano())/1e9)
	}
	if t := ind.spec.Target; t != nil {
		s.emit(pick(fTarget, fTargetRatio), t.Value)
		s.emitPtr(pick(fBaseline, fBaselineRatio), t.BaselineValue)
	}
	if h := ind.result.Headline; h != nil {
		s.at(headlineLabels, labels{ind.namespace, ind.initiative, ind.spec.Name, h.Period})
		if tr := ind.result.OnTrack; tr != nil && tr.Judged {
			s.emit(fOnTrack, bit(tr.OnTrack))
		}
		s.emitPtr(fProgress, h.Progress)
	}
	s.at(indicatorLabels, id)
	s.emit(fCells, float64(ind.result.Cells))
	s.emit(fSuppressedCells, float64(ind.result.SuppressedCells))
	s.emit(fSeries, float64(count))
	s.emit(fSeriesCapped, bit(capped))

	for _, c := range ind.cells {
		if len(c.Dimensions) > 0 && totalsOnly {
			continue
		}
		ind.refCell(s, c, pick)
	}
	if !totalsOnly {
		for i := range ind.result.Equity {
			ind.refEquity(s, &ind.result.Equity[i])
		}
	}
}

// cell writes one cell's series. A suppressed cell writes its flags only.
func (ind *refIndicator) refCell(s *refSink, c *aggregate.Cell, pick func(int, int) int) {
	var l labels
	if s.render { // a count needs no labels
		dim, group := joinGroups(c.Dimensions)
		l = labels{ind.namespace, ind.initiative, ind.spec.Name, c.Period, dim, group}
	}
	s.at(cellLabels, l)
	s.emit(fSuppressed, bit(c.Suppressed))
	s.emit(fPartial, bit(c.Partial))
	if c.Suppressed {
		return
	}
	s.emitPtr(pick(fValue, fValueRatio), c.Value)
	s.emitPtr(pick(fCILower, fCILowerRatio), c.CILower)
	s.emitPtr(pick(fCIUpper, fCIUpperRatio), c.CIUpper)
	s.emitPtr(fNumerator, c.Numerator)
	s.emitPtr(fDenominator, c.Denominator)
	if c.N != nil {
		s.emit(fN, float64(*c.N))
	}
	if c.Value != nil {
		s.emit(fReliable, bit(c.Reliable))
	}
}

// equity writes one dimension's equity summary in one period.
func (ind *refIndicator) refEquity(s *refSink, e *aggregate.EquitySummary) {
	s.at(equityLabels, labels{ind.namespace, ind.initiative, ind.spec.Name, e.Period, e.Dimension})
	percent := func(f int, v *float64) {
		if v != nil {
			s.emit(f, *v/100)
		}
	}
	percent(fIDisp, e.IndexOfDisparity)
	percent(fIDispWeighted, e.WeightedIDisp)
	s.emitPtr(fBGV, e.BGV)
	s.emitPtr(fTheil, e.Theil)
	s.emitPtr(fMLD, e.MLD)
	s.emitPtr(fPAR, e.PAR)
	percent(fPARRatio, e.PARPercent)
	s.emit(fGroups, float64(e.Groups))
	s.emit(fSuppressedGroups, float64(e.SuppressedGroups))
	s.emitPtr(fUnknownShare, e.UnknownShare)
	group := func(g string) {
		s.at(equityGroupLabels, labels{ind.namespace, ind.initiative, ind.spec.Name, e.Period, e.Dimension, g})
	}
	for _, g := range sortedKeys(e.Differences) {
		group(g)
		s.emit(fDifference, e.Differences[g])
	}
	for _, g := range sortedKeys(e.Ratios) {
		group(g)
		s.emit(fRatioToReference, e.Ratios[g])
	}
	ref := e.Reference
	if ref == "total" {
		ref = "" // the total's group label, as on the total cells
	}
	group(ref)
	s.emit(fReference, 1)
	if e.Best != "" {
		group(e.Best)
		s.emit(fBest, 1)
	}
	if e.Worst != "" {
		group(e.Worst)
		s.emit(fWorst, 1)
	}
}

// row counts may be published.
func refSource(s *refSink, m *store.SnapshotManifest, rows bool) {
	s.at(sourceLabels, labels{m.Namespace, m.Initiative, m.Source, m.Partner})
	if m.Promoted && !m.Created.IsZero() {
		s.emit(fSourceLastIngest, float64(m.Created.UnixNano())/1e9)
	}
	s.emit(fSourcePromoted, bit(m.Promoted))
	if rows {
		s.emit(fSourceInputRows, float64(m.RowsIn))
		s.emit(fSourceAcceptedRows, float64(m.RowsOK))
		s.emit(fSourceRejectedRows, float64(m.RowsRejected))
		s.emit(fSourceExcludedRows, float64(m.RowsExcluded))
		if m.RowsIn > 0 {
			s.emit(fSourceRejectRatio, float64(m.RowsRejected)/float64(m.RowsIn))
		}
	}
	s.emit(fSourceSnapshotBytes, float64(m.ParquetBytes))
	s.emit(fSourceEngineBytes, float64(m.EngineBytes))
}
