package aggregate

import (
	"math"
	"slices"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/pipeline/stats"
)

// Cell is one published cell: the output contract of `backbone local --output json` and of
// the result table. A suppressed cell carries no value, numerator, denominator, n or interval.
type Cell struct {
	Namespace  string `json:"namespace"`
	Initiative string `json:"initiative"`
	Indicator  string `json:"indicator"`
	Period     string `json:"period"`
	// Dimensions names the cell's group. The cells of one group of an indicator share one
	// map (one per group, not per period): read it, never write it.
	Dimensions  map[string]string `json:"dimensions"`
	Value       *float64          `json:"value"`
	Numerator   *float64          `json:"numerator"`
	Denominator *float64          `json:"denominator"`
	N           *int64            `json:"n"`
	Suppressed  bool              `json:"suppressed"`
	CILower     *float64          `json:"ciLower"`
	CIUpper     *float64          `json:"ciUpper"`
	Reliable    bool              `json:"reliable"`
	// Flags say why a published value is unreliable (stats.Flag…: "n<30", "events<20",
	// "cp-width", "cp-relative-width", "rse"); empty when it is reliable, null when the
	// cell publishes no value.
	Flags   []string `json:"flags"`
	Partial bool     `json:"partial"`
	Note    string   `json:"note"`
}

// IndicatorResult is an indicator's headline, equity summaries and progress.
type IndicatorResult struct {
	Name        string          `json:"name"`
	MinCellSize int             `json:"minCellSize"`
	Headline    *Headline       `json:"headline,omitempty"`
	Equity      []EquitySummary `json:"equity,omitempty"`
	OnTrack     *Track          `json:"onTrack,omitempty"`
	// Cells and SuppressedCells count the indicator's cells.
	Cells           int `json:"cells"`
	SuppressedCells int `json:"suppressedCells"`
	// SuppressedAtLeastK counts the suppressed cells with n ≥ k (a Proportion's n is its
	// denominator): the information lost beyond the small cells themselves.
	SuppressedAtLeastK int `json:"suppressedAtLeastK"`
	// NoPeriod counts units left out because their time value is null.
	NoPeriod int64  `json:"noPeriod,omitempty"`
	SpecHash string `json:"specHash"`
}

// Headline is the total of the latest complete period.
type Headline struct {
	Period  string   `json:"period"`
	Value   *float64 `json:"value"`
	N       *int64   `json:"n"`
	CILower *float64 `json:"ciLower,omitempty"`
	CIUpper *float64 `json:"ciUpper,omitempty"`
	// Change is Value minus the previous complete period's, with the normal 95 % interval
	// of the difference of two independent estimates when both have a standard error.
	PreviousPeriod string   `json:"previousPeriod,omitempty"`
	Change         *float64 `json:"change,omitempty"`
	ChangeLower    *float64 `json:"changeLower,omitempty"`
	ChangeUpper    *float64 `json:"changeUpper,omitempty"`
	Target         *float64 `json:"target,omitempty"`
	Gap            *float64 `json:"gap,omitempty"`
	Progress       *float64 `json:"progress,omitempty"`
	Reliable       bool     `json:"reliable"`
	// Flags say why the headline is unreliable, as a cell's do.
	Flags []string `json:"flags,omitempty"`
	Note  string   `json:"note,omitempty"`
}

// EquitySummary summarises one dimension in one period, over published groups only.
type EquitySummary struct {
	Period           string             `json:"period"`
	Dimension        string             `json:"dimension"`
	Reference        string             `json:"reference"`
	Best             string             `json:"best,omitempty"`
	Worst            string             `json:"worst,omitempty"`
	IndexOfDisparity *float64           `json:"indexOfDisparity,omitempty"`
	WeightedIDisp    *float64           `json:"weightedIndexOfDisparity,omitempty"`
	BGV              *float64           `json:"betweenGroupVariance,omitempty"`
	Theil            *float64           `json:"theil,omitempty"`
	MLD              *float64           `json:"meanLogDeviation,omitempty"`
	PAR              *float64           `json:"populationAttributableRisk,omitempty"`
	PARPercent       *float64           `json:"populationAttributableRiskPercent,omitempty"`
	Differences      map[string]float64 `json:"differences,omitempty"`
	Ratios           map[string]float64 `json:"ratios,omitempty"`
	Groups           int                `json:"groups"`
	SuppressedGroups int                `json:"suppressedGroups"`
	Coverage         string             `json:"coverage"`
	UnknownShare     *float64           `json:"unknownShare,omitempty"`
	Notes            []string           `json:"notes,omitempty"`
}

// Track is the on-track judgement and the evidence it rests on: the change from baseline
// with its 95 % interval (the change test), and with a trend its slope per year and the
// projection to the target date, with their 95 % intervals.
type Track struct {
	OnTrack        bool     `json:"onTrack"`
	Judged         bool     `json:"judged"`
	Method         string   `json:"method"`
	Reason         string   `json:"reason"`
	Change         *float64 `json:"change,omitempty"`
	ChangeLower    *float64 `json:"changeLower,omitempty"`
	ChangeUpper    *float64 `json:"changeUpper,omitempty"`
	Improving      bool     `json:"improving"`
	Worsening      bool     `json:"worsening"`
	Slope          *float64 `json:"slopePerYear,omitempty"`
	SlopeLower     *float64 `json:"slopeLower,omitempty"`
	SlopeUpper     *float64 `json:"slopeUpper,omitempty"`
	Projected      *float64 `json:"projected,omitempty"`
	ProjectedLower *float64 `json:"projectedLower,omitempty"`
	ProjectedUpper *float64 `json:"projectedUpper,omitempty"`
}

// trackOf copies the judgement with the numbers that are defined.
func trackOf(res stats.TrackResult) *Track {
	t := &Track{OnTrack: res.OnTrack, Judged: res.Judged, Method: res.Method, Reason: res.Reason,
		Change: finite(res.Change), Improving: res.Improving, Worsening: res.Worsening}
	if res.HasChangeCI {
		t.ChangeLower, t.ChangeUpper = finite(res.ChangeCI.Lower), finite(res.ChangeCI.Upper)
	}
	if t.Slope = statPtr(res.Slope); t.Slope != nil {
		t.SlopeLower, t.SlopeUpper = finite(res.SlopeCI.Lower), finite(res.SlopeCI.Upper)
	}
	if t.Projected = statPtr(res.Projected); t.Projected != nil && res.Method == stats.MethodTrend {
		t.ProjectedLower, t.ProjectedUpper = finite(res.ProjectedCI.Lower), finite(res.ProjectedCI.Upper)
	}
	return t
}

// change is last − prev with the normal 95 % interval of a difference of independent
// estimates, when both have a standard error.
func change(h *Headline, last, prev *cell) {
	h.PreviousPeriod = period.Format(prev.start)
	if !last.published() || !prev.published() {
		return
	}
	d := last.est.Value - prev.est.Value
	h.Change = finite(d)
	if last.est.HasCI && prev.est.HasCI {
		if se := math.Hypot(last.est.SE, prev.est.SE); !math.IsNaN(se) && !math.IsInf(se, 0) && h.Change != nil {
			h.ChangeLower, h.ChangeUpper = finite(d-stats.Z95*se), finite(d+stats.Z95*se)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func statPtr(s stats.Stat) *float64 {
	if !s.OK {
		return nil
	}
	return finite(s.Value)
}

// publishedFlags are the flags of a cell publishing a value: never nil, so a reliable
// cell says so with an empty list.
func (c *cell) publishedFlags() []string {
	return append([]string{}, c.flags...)
}

// published reports whether a cell publishes a value.
func (c *cell) published() bool { return !c.suppressed && c.est.Defined }

// finish computes the equity summaries, headline and on-track judgement.
func (ir *indicatorRun) finish(e *engine) {
	ind := ir.ind
	r := IndicatorResult{Name: ind.Name, MinCellSize: ind.MinCellSize, SpecHash: ind.SpecHash, NoPeriod: ir.num.noPeriod}
	for _, c := range ir.cells {
		r.Cells++
		if c.suppressed {
			r.SuppressedCells++
			if c.n >= int64(ind.MinCellSize) {
				r.SuppressedAtLeastK++
			}
		}
	}
	polarity := stats.HigherIsBetter
	if ind.Polarity == spec.LowerIsBetter {
		polarity = stats.LowerIsBetter
	}
	// Totals by period, in order.
	totals := map[int32]*cell{}
	for _, c := range ir.cells {
		if c.set == 0 {
			totals[c.start] = c
		}
	}
	// Equity compares rates, proportions, ratios and means between groups; counts and sums
	// of groups of different sizes are not comparable, so they get none.
	switch ind.Measure {
	case spec.Proportion, spec.Rate, spec.Ratio, spec.Mean:
		for _, start := range ir.starts {
			for si, cs := range ir.sets {
				if len(cs.dims) == 1 {
					r.Equity = append(r.Equity, ir.equity(e, start, si, totals[start], polarity))
				}
			}
		}
	}
	// Headline: the latest complete period.
	var complete []*cell
	for _, start := range ir.starts {
		if c := totals[start]; c != nil && !c.partial {
			complete = append(complete, c)
		}
	}
	if len(complete) > 0 {
		last := complete[len(complete)-1]
		h := &Headline{Period: period.Format(last.start)}
		if last.published() {
			// Reliability depends on n: it is published only with the value.
			h.Value, h.N, h.Reliable, h.Flags = finite(last.est.Value), ptr(last.n), last.reliable, slices.Clone(last.flags)
			if last.est.HasCI {
				h.CILower, h.CIUpper = finite(last.est.CI.Lower), finite(last.est.CI.Upper)
			}
		} else {
			h.Note = last.est.Note
			if last.suppressed {
				h.Note = "suppressed"
			}
		}
		if len(complete) > 1 {
			change(h, last, complete[len(complete)-2])
		}
		if t := ind.Target; t != nil {
			h.Target = ptr(t.Value)
			if h.Value != nil {
				h.Gap = finite(*h.Value - t.Value)
			}
			r.OnTrack = ir.track(complete, polarity)
			if h.Value != nil {
				baseline := ir.baseline(complete)
				if baseline != nil && t.Value != *baseline {
					h.Progress = finite((*h.Value - *baseline) / (t.Value - *baseline))
				}
			}
		}
		r.Headline = h
	}
	ir.result = r
}

// baseline is the target's baseline value, else the first complete period's.
func (ir *indicatorRun) baseline(complete []*cell) *float64 {
	if t := ir.ind.Target; t != nil && t.BaselineValue != nil {
		return t.BaselineValue
	}
	for _, c := range complete {
		if c.published() {
			return ptr(c.est.Value)
		}
	}
	return nil
}

func (ir *indicatorRun) track(complete []*cell, polarity stats.Polarity) *Track {
	t := ir.ind.Target
	var pub []*cell
	for _, c := range complete {
		if c.published() && c.est.HasCI {
			pub = append(pub, c)
		}
	}
	if len(pub) == 0 {
		return &Track{Method: stats.MethodNone, Reason: "no complete, published period with an interval"}
	}
	last := pub[len(pub)-1]
	in := stats.TrackInput{
		Polarity:   polarity,
		Latest:     last.est.Value,
		LatestSE:   last.est.SE,
		Target:     t.Value,
		LatestDate: dateOf(last.start),
	}
	if t.BaselineValue != nil {
		in.Baseline = *t.BaselineValue
		in.BaselineSE = 0 // a stated baseline is taken as known
		if d, err := period.Parse(t.BaselinePeriod); err == nil {
			in.BaselineDate = dateOf(d)
		}
	} else {
		first := pub[0]
		in.Baseline, in.BaselineSE, in.BaselineDate = first.est.Value, first.est.SE, dateOf(first.start)
	}
	if t.By != "" {
		if d, err := period.Parse(t.By); err == nil {
			in.TargetDate = dateOf(d)
		}
	}
	for _, c := range pub {
		in.Trend = append(in.Trend, stats.TrendPoint{Date: dateOf(c.start), Value: c.est.Value, SE: c.est.SE})
	}
	return trackOf(stats.OnTrack(in))
}

func dateOf(day int32) time.Time {
	y, m, d := period.CivilFromDays(day)
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
}

// equity summarises one dimension's groups in one period, over published groups only.
func (ir *indicatorRun) equity(e *engine, start int32, si int, total *cell, polarity stats.Polarity) EquitySummary {
	cs := ir.sets[si]
	d := e.dims[cs.dims[0]]
	sum := EquitySummary{Period: period.Format(start), Dimension: d.Name, Reference: "total"}
	ref := e.plan.ReferenceGroups[d.Name]
	if ref != "" {
		sum.Reference = ref
	}
	in := stats.EquityInput{Polarity: polarity, ReferenceGroup: ref, Total: math.NaN()}
	if total != nil && total.published() {
		in.Total = total.est.Value
	}
	if ir.ind.Measure == spec.Proportion {
		in.Bound = 1
	}
	var units, unknownUnits float64
	unknownSuppressed := false
	for _, c := range ir.cells {
		if c.start != start || c.set != si {
			continue
		}
		units += float64(c.n)
		if c.gi == d.UnknownCode() {
			unknownUnits, unknownSuppressed = float64(c.n), c.suppressed
			continue // the unknown group is left out of equity statistics
		}
		sum.Groups++
		if c.suppressed {
			sum.SuppressedGroups++
			in.Suppressed++
			continue
		}
		if !c.est.Defined {
			continue
		}
		g := stats.Group{Name: d.Values[c.gi], Value: c.est.Value, Reliable: c.reliable, Weight: math.NaN()}
		switch ir.ind.Measure {
		case spec.Proportion, spec.Rate, spec.Ratio:
			g.Weight = c.denominator
		case spec.Mean:
			g.Weight = float64(c.n)
		}
		in.Groups = append(in.Groups, g)
	}
	// The unknown share is published only when it discloses nothing: with the total
	// published, it would give a suppressed unknown group's n.
	if units > 0 && total != nil && !total.suppressed && !unknownSuppressed {
		sum.UnknownShare = ptr(unknownUnits / units)
	}
	res := stats.Equity(in)
	sum.Best, sum.Worst, sum.Coverage = res.Best, res.Worst, res.Coverage
	sum.IndexOfDisparity = statPtr(res.IDisp)
	sum.WeightedIDisp = statPtr(res.IDispWeighted)
	sum.BGV = statPtr(res.BGV)
	sum.Theil = statPtr(res.Theil)
	sum.MLD = statPtr(res.MLD)
	sum.PAR = statPtr(res.PAR)
	sum.PARPercent = statPtr(res.PARPercent)
	for _, g := range res.Groups {
		if g.Difference.OK {
			if sum.Differences == nil {
				sum.Differences, sum.Ratios = map[string]float64{}, map[string]float64{}
			}
			sum.Differences[g.Name] = g.Difference.Value
			if g.Ratio.OK && !math.IsNaN(g.Ratio.Value) && !math.IsInf(g.Ratio.Value, 0) {
				sum.Ratios[g.Name] = g.Ratio.Value
			}
		}
	}
	for _, s := range []stats.Stat{res.IDisp, res.BGV, res.Theil, res.MLD, res.PAR} {
		if !s.OK && s.Reason != "" && !slices.Contains(sum.Notes, s.Reason) {
			sum.Notes = append(sum.Notes, s.Reason)
		}
	}
	if res.BestWorstNote != "" {
		sum.Notes = append(sum.Notes, res.BestWorstNote)
	}
	return sum
}

// output appends the indicator's cells, as published cells, to out.
func (ir *indicatorRun) output(p *spec.Aggregate, out []Cell) []Cell {
	type group struct{ set, gi int }
	groups := map[group]map[string]string{}
	for _, c := range ir.cells {
		dims, ok := groups[group{c.set, c.gi}]
		if !ok {
			dims = ir.groupsOf(p, c)
			groups[group{c.set, c.gi}] = dims
		}
		oc := Cell{
			Namespace:  p.Namespace,
			Initiative: p.Initiative,
			Indicator:  ir.ind.Name,
			Period:     period.Format(c.start),
			Dimensions: dims,
			Suppressed: c.suppressed,
			Partial:    c.partial,
		}
		switch {
		case c.suppressed:
			// A suppressed cell publishes nothing; the flag says why its value is null.
		case !c.est.Defined:
			oc.Note = c.est.Note
			oc.N = ptr(c.n)
		default:
			oc.Value = finite(c.est.Value)
			oc.Numerator = finite(c.numerator)
			if c.hasDen {
				oc.Denominator = finite(c.denominator)
			}
			oc.N = ptr(c.n)
			if c.est.HasCI {
				oc.CILower, oc.CIUpper = finite(c.est.CI.Lower), finite(c.est.CI.Upper)
			}
			oc.Reliable = c.reliable
			oc.Flags = c.publishedFlags()
			oc.Note = c.est.Note
		}
		out = append(out, oc)
	}
	return out
}

func (ir *indicatorRun) groupsOf(p *spec.Aggregate, c *cell) map[string]string {
	cs := ir.sets[c.set]
	out := make(map[string]string, len(cs.dims))
	for i, code := range cs.codes(c.gi) {
		for _, d := range p.Dimensions {
			if d.Name == cs.dims[i] {
				out[d.Name] = d.Unknown
				if int(code) < len(d.Values) {
					out[d.Name] = d.Values[code]
				}
			}
		}
	}
	return out
}

func mustDate(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}
