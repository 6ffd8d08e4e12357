package metrics

import (
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

// lines are an entry's sample lines, per family.
type lines [numFamilies][]byte

// sink receives series. Counting and rendering go through the same code, so a count is
// always the number of lines a render writes.
type sink struct {
	render bool
	region string
	n      int
	out    *lines
	// set and lbl are the current label set and, when rendering, its formatted values
	// ("{namespace=…,region=…} "), shared by the series written until the next at.
	set labelSet
	lbl []byte
}

// labels are the values of one series' labels, in the order of its family's label set
// (region excluded).
type labels []string

// at makes l, of label set set, the labels of the series that follow.
func (s *sink) at(set labelSet, l labels) {
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
func (s *sink) emit(f int, v float64) {
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
func (s *sink) emitPtr(f int, v *float64) {
	if v != nil {
		s.emit(f, *v)
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
// the total cells) and, unless totalsOnly, its groups' cells and equity series. capped and
// count fill in backbone_indicator_series_capped and backbone_indicator_series.
func (ind *indicator) series(s *sink, totalsOnly, capped bool, count int) {
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
		ind.cell(s, c, pick)
	}
	if !totalsOnly {
		for i := range ind.result.Equity {
			ind.equity(s, &ind.result.Equity[i])
		}
	}
}

// cell writes one cell's series. A suppressed cell writes its flags only.
func (ind *indicator) cell(s *sink, c *aggregate.Cell, pick func(int, int) int) {
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
