package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// Aggregate compiles the Indicators of one Initiative into one aggregation plan, checking
// each against the Initiative's vocabulary and its DataSources' schemas. Indicators with
// problems are left out of the plan and reported in the returned error; the others are
// still planned, so one broken indicator does not stop the rest. The plan pins the
// snapshot each DataSource's status names (Pin replaces the pins, e.g. after a local
// ingestion).
func Aggregate(ini *impactv1.Initiative, sources []impactv1.DataSource, indicators []impactv1.Indicator) (*spec.Aggregate, error) {
	return AggregateWith(ini, sources, indicators, AggregateOptions{})
}

// AggregateOptions are the settings of aggregation plans that come from the operator rather
// than from the objects. The zero value is Aggregate's: no floor but the API's.
type AggregateOptions struct {
	// MinCellSizeFloor, when above zero, is a floor under every Initiative's minimum cell
	// size (the manager's --min-cell-size-floor). An Initiative whose spec.equity.minCellSize
	// is below it is refused as a whole (an error of kind Initiative, and no Indicator
	// planned); one leaving it unset gets the larger of the default and the floor.
	MinCellSizeFloor int32
}

// AggregateWith is Aggregate with the operator's settings.
func AggregateWith(ini *impactv1.Initiative, sources []impactv1.DataSource, indicators []impactv1.Indicator, opts AggregateOptions) (*spec.Aggregate, error) {
	p := &spec.Aggregate{
		Namespace:  ini.Namespace,
		Initiative: ini.Name,
		TimeZone:   timeZone(ini),
		Dimensions: dimensions(ini),
	}
	floor := int32(impactv1.DefaultMinCellSize)
	var defaults []string
	if eq := ini.Spec.Equity; eq != nil {
		if eq.MinCellSize != nil {
			floor = *eq.MinCellSize
		}
		for _, d := range eq.DisaggregateBy {
			defaults = append(defaults, string(d))
		}
		for _, r := range eq.ReferenceGroups {
			if p.ReferenceGroups == nil {
				p.ReferenceGroups = map[string]string{}
			}
			p.ReferenceGroups[string(r.Dimension)] = string(r.Group)
		}
	}
	opFloor := false // the floor is the operator's, not the Initiative's
	if f := opts.MinCellSizeFloor; f > 0 {
		if eq := ini.Spec.Equity; eq != nil && eq.MinCellSize != nil && *eq.MinCellSize < f {
			e := &errs{kind: "Initiative", namespace: ini.Namespace, name: ini.Name}
			e.add("spec.equity.minCellSize", "%d is below the floor of %d this operator enforces (--min-cell-size-floor): no Initiative may publish cells smaller than %d; raise it to %d or more", *eq.MinCellSize, f, f, f)
			return p, e.list
		}
		if f > floor {
			floor, opFloor = f, true
		}
	}
	byName := map[string]*impactv1.DataSource{}
	for i := range sources {
		byName[sources[i].Name] = &sources[i]
	}
	var all Errors
	for i := range indicators {
		ind := &indicators[i]
		e := &errs{kind: "Indicator", namespace: ind.Namespace, name: ind.Name}
		c := compiler{e: e, ini: ini, p: p, sources: byName, opFloor: opFloor}
		si := c.indicator(ind, defaults, floor)
		if len(e.list) > 0 {
			all = append(all, e.list...)
			continue
		}
		p.Indicators = append(p.Indicators, *si)
	}
	pinFromStatus(p, sources)
	if len(all) > 0 {
		return p, all
	}
	return p, nil
}

type compiler struct {
	e       *errs
	ini     *impactv1.Initiative
	p       *spec.Aggregate
	sources map[string]*impactv1.DataSource
	// opFloor: the cell floor is the operator's (--min-cell-size-floor), above the Initiative's.
	opFloor bool
}

func (c *compiler) indicator(ind *impactv1.Indicator, defaults []string, floor int32) *spec.Indicator {
	e := c.e
	if ind.Spec.InitiativeRef.Name != c.ini.Name || ind.Namespace != c.ini.Namespace {
		e.add("spec.initiativeRef.name", "Initiative %q not found in namespace %q", ind.Spec.InitiativeRef.Name, ind.Namespace)
		return nil
	}
	m := ind.Spec.Measure
	si := &spec.Indicator{
		Name:                 ind.Name,
		DisplayName:          ind.Spec.DisplayName,
		Unit:                 ind.Spec.Unit,
		Polarity:             string(ind.Spec.Polarity),
		Measure:              string(m.Type),
		Grain:                spec.GrainYear,
		FiscalYearStartMonth: 1,
		MinCellSize:          int(floor),
	}
	if t := ind.Spec.Time; t != nil {
		if t.Grain != "" {
			si.Grain = string(t.Grain)
		}
		if t.FiscalYearStartMonth != nil {
			si.FiscalYearStartMonth = int(*t.FiscalYearStartMonth)
		}
	}
	if pr := ind.Spec.Privacy; pr != nil && pr.MinCellSize != nil {
		if *pr.MinCellSize < floor && c.opFloor {
			e.add("spec.privacy.minCellSize", "%d is below the floor of %d this operator enforces (--min-cell-size-floor): an indicator may raise the floor, never lower it", *pr.MinCellSize, floor)
		} else if *pr.MinCellSize < floor {
			e.add("spec.privacy.minCellSize", "%d is below Initiative %q's spec.equity.minCellSize %d: an indicator may raise the floor, never lower it", *pr.MinCellSize, c.ini.Name, floor)
		} else {
			si.MinCellSize = int(*pr.MinCellSize)
		}
	}

	num := c.operand("spec.measure.numerator", m.Numerator)
	si.Numerator = num.op
	var den *operand
	if m.Denominator != nil {
		d := c.operand("spec.measure.denominator", *m.Denominator)
		den = &d
		si.Denominator = &d.op
		if si.Denominator.Alignment == "" {
			si.Denominator.Alignment = spec.AlignExact
		}
	}
	c.measure(si, m, num, den)

	// Effective dimensions: the Initiative's defaults, plus the indicator's own, minus excluded.
	for _, d := range ind.Spec.ExcludeDimensions {
		if _, ok := c.p.Dimension(string(d)); !ok {
			e.add("spec.excludeDimensions", "%q is not a dimension of Initiative %q's vocabulary (dimensions: %s)", d, c.ini.Name, quoteAll(dimensionNames(c.p.Dimensions)))
		}
	}
	dims := slices.Clone(defaults)
	for i, d := range ind.Spec.DisaggregateBy {
		if _, ok := c.p.Dimension(string(d)); !ok {
			e.add(fmt.Sprintf("spec.disaggregateBy[%d]", i), "%q is not a dimension of Initiative %q's vocabulary (dimensions: %s)", d, c.ini.Name, quoteAll(dimensionNames(c.p.Dimensions)))
			continue
		}
		if !slices.Contains(dims, string(d)) {
			dims = append(dims, string(d))
		}
	}
	dims = slices.DeleteFunc(dims, func(d string) bool {
		return slices.Contains(ind.Spec.ExcludeDimensions, impactv1.DimensionName(d))
	})
	for _, d := range dims {
		c.requireDimension(num, d, "spec.measure.numerator")
		if den != nil && si.Measure == spec.Proportion {
			c.requireDimension(*den, d, "spec.measure.denominator")
		}
	}
	// A cross-source denominator (Ratio, Rate) must give every dimension too, or the cells
	// would have no denominator.
	if den != nil && si.Measure != spec.Proportion {
		for _, d := range dims {
			c.requireDimension(*den, d, "spec.measure.denominator")
		}
	}
	si.Dimensions = dims
	for i, x := range ind.Spec.Intersections {
		var ds []string
		for _, d := range x.Dimensions {
			if !slices.Contains(dims, string(d)) {
				e.add(fmt.Sprintf("spec.intersections[%d].dimensions", i), "%q is not among the indicator's dimensions (%s): add it to spec.disaggregateBy", d, quoteAll(dims))
			}
			ds = append(ds, string(d))
		}
		si.Intersections = append(si.Intersections, ds)
	}

	if t := ind.Spec.Target; t != nil {
		st := &spec.Target{By: t.By}
		v, err := strconv.ParseFloat(string(t.Value), 64)
		if err != nil {
			e.add("spec.target.value", "%q is not a decimal number", t.Value)
		}
		st.Value = v
		if t.By != "" {
			if _, err := time.Parse(time.DateOnly, t.By); err != nil {
				e.add("spec.target.by", "%q is not a date (YYYY-MM-DD)", t.By)
			}
		}
		if b := t.Baseline; b != nil {
			if _, err := time.Parse(time.DateOnly, b.Period); err != nil {
				e.add("spec.target.baseline.period", "%q is not a date (YYYY-MM-DD)", b.Period)
			}
			bv, err := strconv.ParseFloat(string(b.Value), 64)
			if err != nil {
				e.add("spec.target.baseline.value", "%q is not a decimal number", b.Value)
			}
			st.BaselinePeriod, st.BaselineValue = b.Period, &bv
		}
		si.Target = st
	}
	si.SpecHash = hashSpec(ind.Spec)
	return si
}

// operand is a compiled operand with the source it reads.
type operand struct {
	op  spec.Operand
	src *impactv1.DataSource
}

func (c *compiler) operand(field string, o impactv1.Operand) operand {
	e := c.e
	out := operand{op: spec.Operand{
		Source:     o.SourceRef.Name,
		Aggregate:  string(o.Aggregate),
		Column:     string(o.Column),
		TimeColumn: string(o.TimeColumn),
		Alignment:  string(o.Alignment),
	}}
	for _, f := range o.Filters {
		out.op.Filters = append(out.op.Filters, filter(f))
	}
	ds, ok := c.sources[o.SourceRef.Name]
	if !ok {
		e.add(field+".sourceRef.name", "DataSource %q not found in namespace %q", o.SourceRef.Name, c.ini.Namespace)
		return out
	}
	if ds.Spec.InitiativeRef.Name != c.ini.Name {
		e.add(field+".sourceRef.name", "DataSource %q feeds Initiative %q, not %q", ds.Name, ds.Spec.InitiativeRef.Name, c.ini.Name)
		return out
	}
	out.src = ds
	if tc, ok := column(ds, string(o.TimeColumn)); !ok {
		e.add(field+".timeColumn", "column %q is not in DataSource %q's spec.schema.columns (columns: %s)", o.TimeColumn, ds.Name, quoteAll(columnNames(ds)))
	} else if tc.Type != impactv1.ColumnDate && tc.Type != impactv1.ColumnTimestamp && tc.Type != impactv1.ColumnInteger {
		e.add(field+".timeColumn", "column %q has type %s; a time column is a Date, a Timestamp or an Integer year", o.TimeColumn, tc.Type)
	}
	if o.Column != "" {
		if _, ok := column(ds, string(o.Column)); !ok {
			e.add(field+".column", "column %q is not in DataSource %q's spec.schema.columns (columns: %s)", o.Column, ds.Name, quoteAll(columnNames(ds)))
		}
	}
	for i, f := range o.Filters {
		checkFilter(e, fmt.Sprintf("%s.filters[%d]", field, i), f, ds, c.p.Dimensions)
	}
	return out
}

// numericColumn checks that an operand's column is Integer or Number.
func (c *compiler) numericColumn(field string, o operand, what string) {
	if o.src == nil || o.op.Column == "" {
		return
	}
	col, ok := column(o.src, o.op.Column)
	if ok && col.Type != impactv1.ColumnInteger && col.Type != impactv1.ColumnNumber {
		c.e.add(field+".column", "%s needs an Integer or Number column; %q has type %s", what, o.op.Column, col.Type)
	}
}

func (c *compiler) measure(si *spec.Indicator, m impactv1.Measure, num operand, den *operand) {
	e := c.e
	switch si.Measure {
	case spec.Count:
		si.Numerator.Aggregate = spec.Count
	case spec.Sum:
		c.numericColumn("spec.measure.numerator", num, "a Sum")
	case spec.Mean:
		c.numericColumn("spec.measure.numerator", num, "a Mean")
	case spec.DistinctCount:
		if num.src != nil && num.src.Spec.Schema.FrequencyColumn != "" {
			e.add("spec.measure.type", "DistinctCount counts values of rows, but DataSource %q is aggregated (frequencyColumn %q)", num.src.Name, num.src.Spec.Schema.FrequencyColumn)
		}
	case spec.Proportion, spec.Ratio, spec.Rate:
		if den == nil {
			return // the CRD requires a denominator; nothing more to check
		}
		for _, o := range []struct {
			field string
			op    *operand
		}{{"spec.measure.numerator", &num}, {"spec.measure.denominator", den}} {
			if o.op.op.Aggregate == "" {
				e.add(o.field+".aggregate", "%s operands need aggregate Count or Sum", si.Measure)
			}
			if o.op.op.Aggregate == spec.Sum {
				c.numericColumn(o.field, *o.op, "aggregate Sum")
			}
		}
	}
	switch si.Measure {
	case spec.Proportion:
		c.proportion(num, *den)
	case spec.Rate:
		per, err := strconv.ParseFloat(string(m.Per), 64)
		if err != nil || per <= 0 {
			e.add("spec.measure.per", "%q is not a number greater than 0", m.Per)
		}
		si.Per = per
	}
	if den != nil && si.Measure != spec.Rate && si.Measure != spec.Ratio && den.op.Alignment == spec.AlignLatestAvailable {
		e.add("spec.measure.denominator.alignment", "LatestAvailable is for cross-source Rate and Ratio denominators")
	}
}

// proportion checks that the numerator counts a subset of the denominator's units: the same
// source with the denominator's filters and more, or a RowTotal column of it.
func (c *compiler) proportion(num, den operand) {
	e := c.e
	if num.op.Source != den.op.Source {
		e.add("spec.measure.numerator.sourceRef.name", "a Proportion's numerator counts a subset of the denominator's units, so it reads the same DataSource %q, not %q", den.op.Source, num.op.Source)
		return
	}
	if num.op.TimeColumn != den.op.TimeColumn {
		e.add("spec.measure.numerator.timeColumn", "a Proportion's numerator and denominator assign units to periods by the same column: %q, not %q", den.op.TimeColumn, num.op.TimeColumn)
	}
	for _, f := range den.op.Filters {
		if !slices.ContainsFunc(num.op.Filters, func(g spec.Filter) bool {
			return slices.Equal(g.Values, f.Values) && g.Column == f.Column && g.Operator == f.Operator
		}) {
			e.add("spec.measure.numerator.filters", "a Proportion's numerator must repeat every filter of its denominator (missing %s %s %s)", f.Column, f.Operator, quoteAll(f.Values))
		}
	}
	switch {
	case den.op.Aggregate == spec.Count && num.op.Aggregate == spec.Count:
	case den.op.Aggregate == spec.Count && num.op.Aggregate == spec.Sum:
		col, _ := column(num.src, num.op.Column)
		if num.src != nil && (num.src.Spec.Schema.FrequencyColumn == "" || col.ValueKind != impactv1.ValueRowTotal) {
			e.add("spec.measure.numerator.column", "a Proportion's numerator summing a column needs a RowTotal column of an aggregated source (e.g. ready_students out of students); %q is not one", num.op.Column)
		}
	case den.op.Aggregate == spec.Sum && num.op.Aggregate == spec.Sum:
		// Both RowTotal-style sums of one source (e.g. ready_students of students).
	default:
		e.add("spec.measure.denominator.aggregate", "a Proportion divides units by units: use aggregate Count (or Sum of a RowTotal column) for both operands")
	}
}

// requireDimension checks that an operand's source maps a column onto dimension d.
func (c *compiler) requireDimension(o operand, d, field string) {
	if o.src == nil {
		return
	}
	for _, col := range o.src.Spec.Schema.Columns {
		if string(col.Dimension) == d {
			return
		}
	}
	c.e.add("spec.excludeDimensions", "DataSource %q (%s) has no column for dimension %q: map one in its spec.schema.columns, or add %q to spec.excludeDimensions", o.src.Name, field, d, d)
}

// hashSpec hashes what an indicator's result is computed from: its spec without
// spec.publish, which changes how the result is published, not the result.
func hashSpec(s impactv1.IndicatorSpec) string {
	s.Publish = nil
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
