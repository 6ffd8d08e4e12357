package metrics

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// lines are an entry's samples in compact form: the label sets its samples carry,
// formatted once and shared, and per family the samples as (label set, value). A scrape
// writes the sample lines from them (write). An Indicator's entry holds its groups'
// samples too, marked, so a cap writes only its totals and a cap change needs no cells.
type lines struct {
	// prefix opens every label set of the entry: its first three labels,
	// `{namespace="…",initiative="…",indicator="…"` (source="…" for a DataSource).
	prefix []byte
	// sets are the other labels of each label set (`,period="…",dimension="…",group="…"`),
	// concatenated; label set i is sets[ends[i-1]:ends[i]].
	sets []byte
	ends []uint32
	// fams bounds each family's samples: family f's are refs and vals [fams[f], fams[f+1]).
	fams [numFamilies + 1]uint32
	// refs are each sample's label set, with groupSample set on a group's sample (a
	// group's cell or an equity series), which a capped Indicator leaves out.
	refs []uint32
	vals []float64
	// totalFams has bit f set when family f has a sample that is not a group's.
	totalFams uint64
	// full counts every sample, totals those that are not a group's.
	full, totals int
}

// groupSample marks a sample of lines.refs as a group's.
const groupSample = 1 << 31

// The families fit lines.totalFams.
const _ uint64 = 1 << numFamilies

// set returns the labels of label set i after the prefix.
func (l *lines) set(i uint32) []byte {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.sets[start:l.ends[i]]
}

// sink builds an entry's lines from its series, in the order they are written.
type sink struct {
	out *lines
	// group says the series that follow are a group's.
	group bool
	// kind and set are the current label set's kind and index.
	kind labelSet
	set  uint32
	// index finds a label set already formatted, by its text.
	index map[string]uint32
	buf   []byte
	// fam, ref and val are the samples in the order written, sorted by family by done.
	fam []uint8
	ref []uint32
	val []float64
}

func newSink() *sink {
	return &sink{out: &lines{}, index: map[string]uint32{}}
}

// labels are the values of one series' labels, in the order of its family's label set
// (region excluded).
type labels []string

// at makes l, of label set kind, the labels of the series that follow. The first three
// labels are the entry's prefix, the same for all its series.
func (s *sink) at(kind labelSet, l labels) {
	s.kind = kind
	names := labelNames[kind]
	if s.out.prefix == nil {
		p := []byte{'{'}
		for i, v := range l[:3] {
			p = appendLabel(p, names[i], v, i > 0)
		}
		s.out.prefix = p
	}
	b := s.buf[:0]
	for i := 3; i < len(l); i++ {
		b = appendLabel(b, names[i], l[i], true)
	}
	s.buf = b
	if i, ok := s.index[string(b)]; ok {
		s.set = i
		return
	}
	s.set = uint32(len(s.out.ends))
	s.index[string(b)] = s.set
	s.out.sets = append(s.out.sets, b...)
	s.out.ends = append(s.out.ends, uint32(len(s.out.sets)))
}

// emit writes one sample of family f with the current labels.
func (s *sink) emit(f int, v float64) {
	if families[f].labels != s.kind {
		panic(fmt.Sprintf("metrics: %s written with label set %d", families[f].name, s.kind))
	}
	ref := s.set
	if s.group {
		ref |= groupSample
	}
	s.fam = append(s.fam, uint8(f))
	s.ref = append(s.ref, ref)
	s.val = append(s.val, v)
}

// emitPtr writes a sample when v is set.
func (s *sink) emitPtr(f int, v *float64) {
	if v != nil {
		s.emit(f, *v)
	}
}

// done sorts the samples by family, keeping their order within a family, and returns
// the lines.
func (s *sink) done() *lines {
	l := s.out
	var count [numFamilies]uint32
	for _, f := range s.fam {
		count[f]++
	}
	for f := range numFamilies {
		l.fams[f+1] = l.fams[f] + count[f]
	}
	n := len(s.fam)
	l.refs, l.vals = make([]uint32, n), make([]float64, n)
	next := l.fams
	for k, f := range s.fam {
		i := next[f]
		next[f]++
		l.refs[i], l.vals[i] = s.ref[k], s.val[k]
		l.full++
		if s.ref[k]&groupSample == 0 {
			l.totals++
			l.totalFams |= 1 << f
		}
	}
	l.sets = slices.Clip(l.sets)
	l.ends = slices.Clip(l.ends)
	return l
}

// has reports whether the entry writes a sample of family f.
func (l *lines) has(f int, capped bool) bool {
	if capped {
		return l.totalFams&(1<<f) != 0
	}
	return l.fams[f] < l.fams[f+1]
}

// write writes the entry's sample lines of family f into w, each
// name{labels,region="…"} value: capped leaves the groups' samples out, published and
// capped are the values of backbone_indicator_series and
// backbone_indicator_series_capped, and tail is the region label and the closing brace.
// It stops at w's first error, which w keeps.
func (l *lines) write(w *bufio.Writer, f int, capped bool, published int, tail []byte) {
	name := families[f].name
	fixed := len(name) + len(l.prefix) + len(tail) + 32 // 32: a number and the newline
	for k := l.fams[f]; k < l.fams[f+1]; k++ {
		ref := l.refs[k]
		if capped && ref&groupSample != 0 {
			continue
		}
		v := l.vals[k]
		switch f {
		case fSeries:
			v = float64(published)
		case fSeriesCapped:
			v = bit(capped)
		}
		set := l.set(ref &^ groupSample)
		if w.Available() < fixed+len(set) {
			if w.Flush() != nil {
				return
			}
		}
		// Appending within the buffer's free space copies each part once.
		b := w.AvailableBuffer()
		b = append(b, name...)
		b = append(b, l.prefix...)
		b = append(b, set...)
		b = append(b, tail...)
		b = appendFloat(b, v)
		b = append(b, '\n')
		_, _ = w.Write(b)
	}
}

func appendLabel(b []byte, name, value string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, name...)
	b = append(b, `="`...)
	if !utf8.ValidString(value) {
		value = strings.ToValidUTF8(value, "\uFFFD")
	}
	if !strings.ContainsAny(value, "\\\"\n") {
		return append(append(b, value...), '"')
	}
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendFloat writes v as the text format does (expfmt's writeFloat), a form OpenMetrics
// also accepts.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, "-1"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v > -1e6 && v < 1e6 && v == math.Trunc(v):
		// What 'g' writes for an integer under a million, faster.
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func bit(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

// indicator is what the series of one Indicator are rendered from.
type indicator struct {
	namespace, initiative string
	spec                  spec.Indicator
	result                aggregate.IndicatorResult
	cells                 []*aggregate.Cell
	computed              time.Time
}

// series writes the Indicator's series into s: its totals (the Indicator-level series and
// the total cells) and, marked as a group's, its groups' cells and equity series.
// backbone_indicator_series and backbone_indicator_series_capped are written with 0: a
// scrape writes them from the entry's state (lines.write).
func (ind *indicator) series(s *sink) {
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
	s.emit(fSeries, 0)
	s.emit(fSeriesCapped, 0)

	for _, c := range ind.cells {
		s.group = len(c.Dimensions) > 0
		ind.cell(s, c, pick)
	}
	s.group = true
	for i := range ind.result.Equity {
		ind.equity(s, &ind.result.Equity[i])
	}
	s.group = false
}

// cell writes one cell's series. A suppressed cell writes its flags only.
func (ind *indicator) cell(s *sink, c *aggregate.Cell, pick func(int, int) int) {
	dim, group := joinGroups(c.Dimensions)
	s.at(cellLabels, labels{ind.namespace, ind.initiative, ind.spec.Name, c.Period, dim, group})
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
func (ind *indicator) equity(s *sink, e *aggregate.EquitySummary) {
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

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// joinGroups returns a cell's dimension and group labels: the dimension names sorted and
// joined with ",", the groups in the same order, each with "\" and "," escaped by "\".
// The total gives "", "".
func joinGroups(dims map[string]string) (string, string) {
	switch len(dims) {
	case 0:
		return "", ""
	case 1:
		for d, g := range dims {
			return d, escapeGroup(g)
		}
	}
	names := make([]string, 0, len(dims))
	for d := range dims {
		names = append(names, d)
	}
	slices.Sort(names)
	var dim, group strings.Builder
	for i, d := range names {
		if i > 0 {
			dim.WriteByte(',')
			group.WriteByte(',')
		}
		dim.WriteString(d)
		group.WriteString(escapeGroup(dims[d]))
	}
	return dim.String(), group.String()
}

var groupEscaper = strings.NewReplacer(`\`, `\\`, `,`, `\,`)

func escapeGroup(g string) string {
	if !strings.ContainsAny(g, `\,`) {
		return g
	}
	return groupEscaper.Replace(g)
}

// source writes the data-health series of one snapshot manifest; rows says whether its
// row counts may be published.
func source(s *sink, m *store.SnapshotManifest, rows bool) {
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
