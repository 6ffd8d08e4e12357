package report

import (
	"fmt"
	"html/template"
	"slices"
	"sort"
	"strconv"
	"strings"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
)

// Input is what one Initiative's page is rendered from: the objects people wrote (for the
// agenda, partners, names and descriptions) and the result (every number).
type Input struct {
	Initiative  *impactv1.Initiative
	Indicators  []impactv1.Indicator
	DataSources []impactv1.DataSource
	Manifest    *result.Manifest
	Result      *aggregate.Result
}

// Namespace and Name identify the page.
func (in *Input) Namespace() string { return in.Manifest.Namespace }
func (in *Input) Name() string      { return in.Manifest.Initiative }

// Views of the templates.
type (
	pageView struct {
		M           *Messages
		Title       string
		Agenda      string
		Backbone    string
		Sectors     []sectorView
		Partners    int
		Cards       []cardView
		K           []int
		KText       string
		AsOf        string
		Computed    string
		Sources     []string
		CSVHref     string
		IndexHref   string
		HasPartial  bool
		Description string
	}
	sectorView struct {
		Name     string
		Partners []string
	}
	cardView struct {
		ID, Title, Description string
		Latest, LatestPeriod   string
		Interval               string
		Target, Progress       string
		Change, ChangeInterval string
		Track                  string
		Notes                  []string
		Sources                []string
		Chart                  template.HTML
		Table                  []trendRow
		Equity                 []equityView
		NoEquity               bool
		EquityPeriod           string
	}
	trendRow   struct{ Period, Value, Interval, Note string }
	equityView struct {
		ID, Dimension string
		Chart         template.HTML
		Reference     string
		Gaps          []string
		Withheld      string
		Notes         []string
		Rows          []trendRow // the headline period's groups
		Trends        []smallChart
		TrendTable    trendTable
	}
	smallChart struct {
		Name string
		SVG  template.HTML
	}
	trendTable struct {
		Groups []string
		Rows   []trendTableRow
	}
	trendTableRow struct {
		Period string
		Cells  []string
	}
)

// cellKey names a cell of one indicator: period and "dimension=group" ("" for the total).
func cellKey(period string, dims map[string]string) string {
	if len(dims) == 0 {
		return period + "|"
	}
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + dims[k]
	}
	return period + "|" + strings.Join(parts, ",")
}

// build turns an Input into the page's view.
func build(m *Messages, in *Input, static bool) (*pageView, error) {
	if in.Initiative == nil || in.Manifest == nil || in.Result == nil || in.Manifest.Plan == nil {
		return nil, fmt.Errorf("report: an input lacks its Initiative, manifest, plan or result")
	}
	ini := in.Initiative
	p := in.Manifest.Plan
	v := &pageView{
		M:        m,
		Title:    orName(ini.Spec.DisplayName, ini.Name),
		Agenda:   ini.Spec.Agenda,
		Backbone: ini.Spec.Backbone,
		Partners: len(ini.Spec.Partners),
		AsOf:     dateLabel(m, p.AsOf),
		Computed: dateLabel(m, in.Manifest.Created.UTC().Format("2006-01-02")),
		CSVHref:  in.Name() + ".csv",
	}
	v.IndexHref = "../../"
	if static {
		v.IndexHref = "../../index.html"
	}
	partnerName := map[string]string{}
	bySector := map[string][]string{}
	for _, pt := range ini.Spec.Partners {
		name := orName(pt.DisplayName, pt.Name)
		partnerName[pt.Name] = name
		bySector[string(pt.Sector)] = append(bySector[string(pt.Sector)], name)
	}
	sectors := make([]string, 0, len(bySector))
	for s := range bySector {
		sectors = append(sectors, s)
	}
	sort.Strings(sectors)
	for _, s := range sectors {
		v.Sectors = append(v.Sectors, sectorView{Name: s, Partners: bySector[s]})
	}
	dimName := map[string]string{}
	for _, d := range ini.Spec.Vocabulary {
		dimName[string(d.Name)] = orName(d.DisplayName, string(d.Name))
	}
	sourcePartner := map[string]string{}
	for _, ds := range in.DataSources {
		sourcePartner[ds.Name] = partnerName[ds.Spec.Partner]
		if sourcePartner[ds.Name] == "" {
			sourcePartner[ds.Name] = ds.Spec.Partner
		}
	}
	for _, src := range p.Sources() {
		if pn := sourcePartner[src]; pn != "" {
			v.Sources = append(v.Sources, fmt.Sprintf(m.SourceBy, src, pn))
		} else {
			v.Sources = append(v.Sources, src)
		}
	}
	descr := map[string]string{}
	for _, ind := range in.Indicators {
		descr[ind.Name] = ind.Spec.Description
	}
	results := map[string]*aggregate.IndicatorResult{}
	for i := range in.Result.Indicators {
		results[in.Result.Indicators[i].Name] = &in.Result.Indicators[i]
	}
	cells := map[string]map[string]*aggregate.Cell{}
	periods := map[string][]string{}
	for i := range in.Result.Cells {
		c := &in.Result.Cells[i]
		if cells[c.Indicator] == nil {
			cells[c.Indicator] = map[string]*aggregate.Cell{}
		}
		cells[c.Indicator][cellKey(c.Period, c.Dimensions)] = c
		if len(c.Dimensions) == 0 && !slices.Contains(periods[c.Indicator], c.Period) {
			periods[c.Indicator] = append(periods[c.Indicator], c.Period)
		}
	}
	for i := range p.Indicators {
		ind := &p.Indicators[i]
		ir := results[ind.Name]
		if ir == nil {
			continue
		}
		ps := periods[ind.Name]
		sort.Strings(ps)
		card := buildCard(m, ind, ir, cells[ind.Name], ps, descr[ind.Name], dimName, p, sourcePartner)
		v.Cards = append(v.Cards, card)
		if !slices.Contains(v.K, ir.MinCellSize) {
			v.K = append(v.K, ir.MinCellSize)
		}
		for _, c := range cells[ind.Name] {
			if c.Partial {
				v.HasPartial = true
			}
		}
	}
	slices.Sort(v.K)
	if len(v.K) > 0 {
		v.KText = strconv.Itoa(v.K[0])
		if len(v.K) > 1 {
			rest := make([]string, len(v.K)-1)
			for i, k := range v.K[1:] {
				rest[i] = strconv.Itoa(k)
			}
			v.KText = fmt.Sprintf(m.ReadSuppressionKs, v.K[0], strings.Join(rest, ", "))
		}
	}
	return v, nil
}

func orName(display, name string) string {
	if display != "" {
		return display
	}
	return name
}

func buildCard(m *Messages, ind *spec.Indicator, ir *aggregate.IndicatorResult, cells map[string]*aggregate.Cell, periods []string, description string, dimName map[string]string, p *spec.Aggregate, sourcePartner map[string]string) cardView {
	f := fmtFor(ind, m)
	label := func(period string) string { return periodLabel(m, period, ind.Grain, ind.FiscalYearStartMonth) }
	card := cardView{ID: "ind-" + ind.Name, Title: orName(ind.DisplayName, ind.Name), Description: description}
	srcs := []string{ind.Numerator.Source}
	if ind.Denominator != nil && ind.Denominator.Source != ind.Numerator.Source {
		srcs = append(srcs, ind.Denominator.Source)
	}
	for _, s := range srcs {
		if pn := sourcePartner[s]; pn != "" {
			card.Sources = append(card.Sources, pn)
		} else {
			card.Sources = append(card.Sources, s)
		}
	}
	card.Sources = slices.Compact(card.Sources)
	h := ir.Headline
	if h != nil {
		card.LatestPeriod = fmt.Sprintf(m.LatestPeriod, label(h.Period))
		switch {
		case h.Value != nil:
			card.Latest = f.value(*h.Value)
			if h.CILower != nil && h.CIUpper != nil {
				card.Interval = fmt.Sprintf(m.IntervalText, f.num(*h.CILower), f.num(*h.CIUpper))
			}
			if !h.Reliable {
				card.Notes = append(card.Notes, fmt.Sprintf(m.NoteUnreliable, flagWords(m, h.Flags)))
			}
		case h.Note == "suppressed":
			card.Latest = m.Withheld
			card.Notes = append(card.Notes, fmt.Sprintf(m.NoteSuppressed, ir.MinCellSize))
		default:
			card.Latest = "—"
			card.Notes = append(card.Notes, fmt.Sprintf(m.NoteNoData, h.Note))
		}
		prev := ""
		if h.PreviousPeriod != "" {
			prev = label(h.PreviousPeriod)
		}
		if h.Value != nil || prev == "" {
			card.Change = changeWords(f, ind.Polarity, h.Change, h.ChangeLower, h.ChangeUpper, prev)
		} else {
			card.Change = fmt.Sprintf(m.ChangeUnknown, prev)
		}
		if h.ChangeLower != nil && h.ChangeUpper != nil {
			card.ChangeInterval = fmt.Sprintf(m.ChangeIntervalText, f.signed(*h.ChangeLower), f.signed(*h.ChangeUpper))
		}
		if h.Target != nil {
			by := ""
			if ind.Target != nil && ind.Target.By != "" {
				by = dateLabel(m, ind.Target.By)
			}
			if by != "" {
				card.Target = fmt.Sprintf(m.TargetBy, f.value(*h.Target), by)
			} else {
				card.Target = f.value(*h.Target)
			}
			if h.Progress != nil {
				if *h.Progress >= 0 {
					card.Progress = fmt.Sprintf(m.ProgressText, percentInt(*h.Progress))
				} else {
					card.Progress = m.ProgressBackwards
				}
			}
		}
		card.Track = trackWords(m, ir.OnTrack, h.Target != nil)
	}
	// The latest period, when it is partial.
	if n := len(periods); n > 0 {
		if c := cells[cellKey(periods[n-1], nil)]; c != nil && c.Partial {
			card.Notes = append(card.Notes, fmt.Sprintf(m.NotePartial, label(c.Period)))
		}
	}
	// The total over time.
	pts := make([]point, 0, len(periods))
	for _, per := range periods {
		c := cells[cellKey(per, nil)]
		pt, row := pointOf(m, f, c, label(per))
		pts = append(pts, pt)
		card.Table = append(card.Table, row)
	}
	var target *float64
	if h != nil {
		target = h.Target
	}
	card.Chart = trend(f, card.ID+"-trend", card.Title+": "+m.TotalTrendTitle, fmt.Sprintf(m.TotalTrendDesc, card.Title), pts,
		trendOpts{W: 300, H: 130, FontSize: 12, Target: target})
	// Equity: the headline period's summaries, one per dimension.
	if len(ir.Equity) == 0 || len(periods) == 0 {
		card.NoEquity = len(ind.Dimensions) > 0 && len(ir.Equity) == 0
		return card
	}
	eqPeriod := periods[len(periods)-1]
	if h != nil {
		eqPeriod = h.Period
	}
	card.EquityPeriod = label(eqPeriod)
	for _, eq := range ir.Equity {
		if eq.Period != eqPeriod {
			continue
		}
		card.Equity = append(card.Equity, buildEquity(m, f, ind, eq, ir, cells, periods, dimName, p, label, card.ID))
	}
	return card
}

// pointOf is a cell as a point of a trend and a row of its table.
func pointOf(m *Messages, f numFmt, c *aggregate.Cell, label string) (point, trendRow) {
	pt := point{Label: label}
	row := trendRow{Period: label}
	switch {
	case c == nil:
		row.Value = "—"
	case c.Suppressed:
		row.Value, row.Note = m.Withheld, m.WithheldCell
	case c.Value == nil:
		row.Value, row.Note = "—", c.Note
	default:
		pt.Value, pt.Lower, pt.Upper, pt.Reliable, pt.Partial = c.Value, c.CILower, c.CIUpper, c.Reliable, c.Partial
		row.Value = f.num(*c.Value)
		if c.CILower != nil && c.CIUpper != nil {
			row.Interval = f.num(*c.CILower) + " – " + f.num(*c.CIUpper)
		}
		var notes []string
		if !c.Reliable {
			notes = append(notes, m.Unreliable+": "+flagWords(m, c.Flags))
		}
		if c.Partial {
			notes = append(notes, m.PartialMark)
		}
		row.Note = strings.Join(notes, "; ")
	}
	if c != nil && c.Partial && !strings.Contains(row.Note, m.PartialMark) {
		if row.Note != "" {
			row.Note += "; "
		}
		row.Note += m.PartialMark
	}
	return pt, row
}

func buildEquity(m *Messages, f numFmt, ind *spec.Indicator, eq aggregate.EquitySummary, ir *aggregate.IndicatorResult, cells map[string]*aggregate.Cell, periods []string, dimName map[string]string, p *spec.Aggregate, label func(string) string, cardID string) equityView {
	dn := orName(dimName[eq.Dimension], eq.Dimension)
	ev := equityView{ID: cardID + "-" + eq.Dimension, Dimension: dn}
	d, _ := p.Dimension(eq.Dimension)
	refName := eq.Reference
	total := eq.Reference == "total"
	if total {
		refName = m.ReferenceTotal
	}
	if eq.UnknownShare == nil && d.Unknown != "" {
		ev.Notes = append(ev.Notes, m.UnknownWithheld)
	}
	ev.Reference = refName
	ref := groupValue{Name: refName}
	haveRef := false
	refCell := cells[cellKey(eq.Period, map[string]string{eq.Dimension: eq.Reference})]
	if total {
		refCell = cells[cellKey(eq.Period, nil)]
	}
	if refCell != nil && refCell.Value != nil && !refCell.Suppressed {
		ref = groupValue{Name: refName, Value: *refCell.Value, Lower: refCell.CILower, Upper: refCell.CIUpper, Reliable: refCell.Reliable}
		haveRef = true
	}
	var rows []barRow
	var withheld []string
	if total && haveRef {
		rows = append(rows, barRow{Label: refName, Value: ref.Value, Lower: ref.Lower, Upper: ref.Upper, Reliable: ref.Reliable, Reference: true})
	}
	for _, g := range d.Values { // the unknown group is left out, as in the equity statistics
		c := cells[cellKey(eq.Period, map[string]string{eq.Dimension: g})]
		if c == nil {
			continue
		}
		_, row := pointOf(m, f, c, g)
		ev.Rows = append(ev.Rows, row)
		if c.Suppressed {
			withheld = append(withheld, g)
			continue
		}
		if c.Value == nil {
			continue
		}
		isRef := !total && g == eq.Reference
		rows = append(rows, barRow{Label: g, Value: *c.Value, Lower: c.CILower, Upper: c.CIUpper, Reliable: c.Reliable, Reference: isRef})
		if isRef {
			continue
		}
		if !haveRef {
			continue
		}
		gv := groupValue{Name: g, Value: *c.Value, Lower: c.CILower, Upper: c.CIUpper, Reliable: c.Reliable}
		var rp, dp *float64
		if r, ok := eq.Ratios[g]; ok {
			rp = &r
		}
		if df, ok := eq.Differences[g]; ok {
			dp = &df
		}
		ev.Gaps = append(ev.Gaps, gapWords(f, gv, ref, rp, dp))
	}
	if haveRef && !total {
		ev.Gaps = append([]string{fmt.Sprintf(m.ReferenceValue, refName, f.value(ref.Value))}, ev.Gaps...)
	}
	ev.Withheld = withheldWords(m, withheld, ir.MinCellSize)
	if eq.UnknownShare != nil && *eq.UnknownShare > 0 {
		ev.Notes = append(ev.Notes, fmt.Sprintf(m.UnknownShare, percentInt(*eq.UnknownShare)))
	}
	if len(rows) > 0 {
		ev.Chart = dotBars(f, ev.ID+"-gaps", fmt.Sprintf(m.EquityChartTitle, dn, label(eq.Period)),
			fmt.Sprintf(m.EquityChartDesc, orName(ind.DisplayName, ind.Name), refName), rows)
	}
	// Trends: one small chart per group on a shared scale, the reference group dashed.
	series := map[string][]point{}
	var all []float64
	groups := append([]string{}, d.Values...)
	ev.TrendTable.Groups = groups
	for _, per := range periods {
		tr := trendTableRow{Period: label(per)}
		for _, g := range groups {
			c := cells[cellKey(per, map[string]string{eq.Dimension: g})]
			pt, row := pointOf(m, f, c, label(per))
			series[g] = append(series[g], pt)
			cell := row.Value
			if row.Interval != "" {
				cell += " (" + row.Interval + ")"
			}
			if c != nil && c.Value != nil && !c.Reliable {
				cell += " *"
			}
			tr.Cells = append(tr.Cells, cell)
			pt.Label = axisLabel(per, ind.Grain, ind.FiscalYearStartMonth, label)
			series[g][len(series[g])-1] = pt
			all = append(all, pt.values()...)
		}
		ev.TrendTable.Rows = append(ev.TrendTable.Rows, tr)
	}
	var refSeries []point
	if total {
		for _, per := range periods {
			pt, _ := pointOf(m, f, cells[cellKey(per, nil)], label(per))
			all = append(all, pt.values()...)
			refSeries = append(refSeries, pt)
		}
	} else {
		refSeries = series[eq.Reference]
	}
	lo, hi := span(all)
	for gi, g := range groups {
		pts := series[g]
		published := false
		for _, pt := range pts {
			if pt.Value != nil {
				published = true
			}
		}
		desc := fmt.Sprintf(m.TrendGroupDesc, g)
		if !published {
			desc += ". " + m.WithheldCell
		}
		var rs []point
		if g != eq.Reference {
			rs = refSeries
		}
		ev.Trends = append(ev.Trends, smallChart{Name: g, SVG: trend(f, fmt.Sprintf("%s-trend-%d", ev.ID, gi), g, desc, pts,
			trendOpts{W: 170, H: 110, FontSize: 13, Reference: rs, Lo: lo, Hi: hi, Empty: m.Withheld})})
	}
	return ev
}

// axisLabel is the short name of a period under a small chart: the year of a period
// shorter than a year, the full label of a year.
func axisLabel(period, grain string, fiscalStart int, label func(string) string) string {
	if grain == spec.GrainYear || len(period) < 4 {
		return label(period)
	}
	return period[:4]
}
