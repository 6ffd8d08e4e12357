package aggregate_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// ---------------------------------------------------------------------------------------
// Random tables.

type dimTemplate struct {
	name, column, codePrefix, unknown string
	values                            []string
}

var dimPool = []dimTemplate{
	{"region", "region_code", "R", "Unknown", []string{"North", "South", "East", "West", "Central"}},
	{"ethnicity", "eth", "E", "Not reported", []string{"Hispanic", "White", "Black", "Asian", "Multiracial"}},
	{"agegroup", "age_band", "A", "Unstated", []string{"0-4", "5-9", "10-14", "15-19", "20+"}},
}

var timeZones = []string{"UTC", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney"}

// world is one random initiative: its vocabulary, a main source and sometimes a
// population source.
type world struct {
	rng        *rand.Rand
	tz         string
	loc        *time.Location
	dims       []spec.Dimension
	dimCol     map[string]string
	main       *table
	pop        *table
	timeCol    string
	freq       bool
	first      civil
	last       civil
	dimWeights map[string][]float64 // per dimension: weights of the groups, unknown last
}

// skewed returns weights decaying by a random power, so small groups occur.
func skewed(rng *rand.Rand, n int) []float64 {
	s := 0.3 + 1.7*rng.Float64()
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), s)
	}
	rng.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
	return w
}

func draw(rng *rand.Rand, w []float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	u := rng.Float64() * total
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

func newWorld(t testing.TB, rng *rand.Rand, rows int) *world {
	w := &world{rng: rng, dimCol: map[string]string{}, dimWeights: map[string][]float64{}}
	w.tz = timeZones[rng.IntN(len(timeZones))]
	loc, err := time.LoadLocation(w.tz)
	if err != nil {
		t.Fatal(err)
	}
	w.loc = loc
	// 2 or 3 dimensions of 2 to 5 groups, in a random vocabulary order.
	pool := slices.Clone(dimPool)
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	nd := 2 + rng.IntN(2)
	main := &table{Source: "main", Missing: []string{"NA"}}
	for _, tpl := range pool[:nd] {
		g := 2 + rng.IntN(4)
		d := dim(tpl.name, tpl.unknown, tpl.values[:g]...)
		w.dims = append(w.dims, d)
		w.dimCol[d.Name] = tpl.column
		codes := map[string]string{tpl.codePrefix + "9": tpl.unknown}
		for i, v := range d.Values {
			codes[tpl.codePrefix+strconv.Itoa(i+1)] = v
		}
		main.Cols = append(main.Cols, colDef{Name: tpl.column, Dimension: d.Name, Codes: codes})
		wts := skewed(rng, g)
		wts = append(wts, 0.01+0.07*rng.Float64()*sum(wts)) // the unknown group
		w.dimWeights[d.Name] = wts
	}
	w.first = civil{2018, 1, 1}.addDays(rng.IntN(4 * 365))
	span := 365 + rng.IntN(2*365+1)
	w.last = w.first.addDays(span - 1)
	if rng.IntN(10) < 3 {
		w.timeCol = "at"
		main.Cols = append(main.Cols, colDef{Name: "at", Type: spec.TypeTimestamp})
		main.NaiveTimestamps = rng.IntN(2) == 0
	} else {
		w.timeCol = "date"
		main.Cols = append(main.Cols, colDef{Name: "date", Type: spec.TypeDate})
	}
	w.freq = rng.IntN(10) < 3
	visitsKind, scoreKind := "", ""
	if w.freq {
		main.Frequency = "people"
		main.Cols = append(main.Cols, colDef{Name: "people", Type: spec.TypeInteger})
		visitsKind = []string{spec.RowTotal, spec.PerUnit}[rng.IntN(2)]
		scoreKind = []string{spec.RowTotal, spec.PerUnit}[rng.IntN(2)]
		main.Cols = append(main.Cols, colDef{Name: "ready", Type: spec.TypeInteger, ValueKind: spec.RowTotal})
	}
	main.Cols = append(main.Cols,
		colDef{Name: "visits", Type: spec.TypeInteger, ValueKind: visitsKind},
		colDef{Name: "score", Type: spec.TypeNumber, ValueKind: scoreKind},
		colDef{Name: "flag", Type: spec.TypeBoolean},
		colDef{Name: "id", Type: spec.TypeString},
	)
	rng.Shuffle(len(main.Cols), func(i, j int) { main.Cols[i], main.Cols[j] = main.Cols[j], main.Cols[i] })
	pFlag := 0.2 + 0.6*rng.Float64()
	ids := max(rows/4, 5)
	seasonal := rng.Float64()
	for range rows {
		r := map[string]any{}
		for _, d := range w.dims {
			gi := draw(rng, w.dimWeights[d.Name])
			if gi < len(d.Values) {
				r[w.dimCol[d.Name]] = d.Values[gi]
			} else {
				r[w.dimCol[d.Name]] = nil
			}
		}
		// Days: uniform, with a seasonal bump so some months are thin.
		day := w.first.addDays(rng.IntN(span))
		if rng.Float64() < seasonal*0.5 {
			day = w.first.addDays(rng.IntN(span))
			if day.M >= 6 && day.M <= 8 {
				day = w.first.addDays(rng.IntN(span))
			}
		}
		switch {
		case rng.IntN(100) == 0:
			r[w.timeCol] = nil
		case w.timeCol == "at":
			h := rng.IntN(20)
			if h >= 1 {
				h += 3 // no wall-clock times that a change of clocks skips or repeats
			}
			r["at"] = time.Date(day.Y, day.M, day.D, h, rng.IntN(60), rng.IntN(60), 0, loc)
		default:
			r["date"] = day
		}
		people := int64(1)
		if w.freq {
			people = int64(1 + min(rng.ExpFloat64()*4, 40))
			if rng.IntN(40) == 0 {
				people = 0
			}
			r["people"] = people
			r["ready"] = rng.Int64N(people + 1)
		}
		if rng.IntN(20) > 0 {
			v := int64(min(rng.ExpFloat64()*3, 15))
			if visitsKind == spec.RowTotal {
				v *= people
			}
			r["visits"] = v
		}
		if rng.IntN(20) > 0 {
			score := func() float64 { return math.Round((rng.NormFloat64()*18+55)*100) / 100 }
			if scoreKind == spec.RowTotal {
				// The sum of the row's people's scores (0 for a row of no one).
				total := 0.0
				for range people {
					total += score()
				}
				r["score"] = math.Round(total*100) / 100
			} else {
				r["score"] = score()
			}
		}
		if rng.IntN(30) > 0 {
			r["flag"] = rng.Float64() < pFlag
		}
		if rng.IntN(50) > 0 {
			r["id"] = fmt.Sprintf("C%05d", rng.IntN(ids))
		}
		main.Rows = append(main.Rows, r)
	}
	w.main = main
	if rng.IntN(10) < 4 {
		w.pop = w.population()
	}
	return w
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// population is a census-like table: one row per year and combination of groups, some
// combinations (and sometimes the last year) missing.
func (w *world) population() *table {
	rng := w.rng
	pop := &table{Source: "pop"}
	for _, d := range w.dims {
		pop.Cols = append(pop.Cols, colDef{Name: w.dimCol[d.Name], Dimension: d.Name})
	}
	pop.Cols = append(pop.Cols, colDef{Name: "year_start", Type: spec.TypeDate}, colDef{Name: "population", Type: spec.TypeInteger})
	month := []time.Month{1, 7}[rng.IntN(2)]
	lastYear := w.last.Y
	if rng.IntN(2) == 0 {
		lastYear-- // the latest census is not out yet
	}
	combos := [][]any{{}}
	for _, d := range w.dims {
		var next [][]any
		for _, c := range combos {
			for gi := range len(d.Values) + 1 {
				var g any
				if gi < len(d.Values) {
					g = d.Values[gi]
				}
				next = append(next, append(slices.Clone(c), g))
			}
		}
		combos = next
	}
	for y := w.first.Y - 1; y <= lastYear; y++ {
		for _, c := range combos {
			if rng.IntN(8) == 0 {
				continue
			}
			r := map[string]any{"year_start": civil{y, month, 1}, "population": int64(20 + rng.IntN(5000))}
			for i, d := range w.dims {
				r[w.dimCol[d.Name]] = c[i]
			}
			pop.Rows = append(pop.Rows, r)
		}
	}
	return pop
}

// ---------------------------------------------------------------------------------------
// Random specs.

func (w *world) randomFilter() spec.Filter {
	rng := w.rng
	switch rng.IntN(6) {
	case 0, 1:
		d := w.dims[rng.IntN(len(w.dims))]
		col := w.dimCol[d.Name]
		switch rng.IntN(10) {
		case 0, 1, 2, 3:
			groups := d.Groups()
			rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
			vals := groups[:1+rng.IntN(2)]
			if rng.IntN(3) == 0 {
				vals = []string{strings.ToLower(vals[0])}
			}
			return spec.Filter{Column: col, Operator: spec.OpIn, Values: vals}
		case 4, 5:
			return spec.Filter{Column: col, Operator: spec.OpNotIn, Values: []string{d.Values[rng.IntN(len(d.Values))]}}
		case 6, 7, 8:
			return spec.Filter{Column: col, Operator: spec.OpExists}
		default:
			return spec.Filter{Column: col, Operator: spec.OpDoesNotExist}
		}
	case 2:
		switch rng.IntN(4) {
		case 0:
			return spec.Filter{Column: "flag", Operator: spec.OpIn, Values: []string{"true"}}
		case 1:
			return spec.Filter{Column: "flag", Operator: spec.OpIn, Values: []string{"false"}}
		case 2:
			return spec.Filter{Column: "flag", Operator: spec.OpNotIn, Values: []string{"true"}}
		default:
			return spec.Filter{Column: "flag", Operator: spec.OpExists}
		}
	case 3:
		switch rng.IntN(3) {
		case 0:
			return spec.Filter{Column: "visits", Operator: spec.OpGt, Values: []string{"0"}}
		case 1:
			return spec.Filter{Column: "visits", Operator: spec.OpLt, Values: []string{"5"}}
		default:
			return spec.Filter{Column: "visits", Operator: spec.OpIn, Values: []string{"0", "1", "2"}}
		}
	case 4:
		if rng.IntN(2) == 0 {
			return spec.Filter{Column: "score", Operator: spec.OpGt, Values: []string{"50"}}
		}
		return spec.Filter{Column: "score", Operator: spec.OpLt, Values: []string{"40.5"}}
	default:
		if rng.IntN(2) == 0 {
			return spec.Filter{Column: "id", Operator: spec.OpExists}
		}
		return spec.Filter{Column: "id", Operator: spec.OpNotIn, Values: []string{"C00001", "C00002"}}
	}
}

func (w *world) randomFilters(max int) []spec.Filter {
	var fs []spec.Filter
	for range w.rng.IntN(max + 1) {
		fs = append(fs, w.randomFilter())
	}
	return fs
}

func (w *world) randomIndicator(i int) spec.Indicator {
	rng := w.rng
	ind := spec.Indicator{
		Name:                 fmt.Sprintf("ind%d", i),
		Polarity:             spec.HigherIsBetter,
		MinCellSize:          3 + rng.IntN(13),
		FiscalYearStartMonth: 1,
	}
	switch g := rng.IntN(100); {
	case g < 30:
		ind.Grain = spec.GrainMonth
	case g < 55:
		ind.Grain = spec.GrainQuarter
	case g < 80:
		ind.Grain = spec.GrainYear
	case g < 93:
		ind.Grain = spec.GrainWeek
	default:
		ind.Grain = spec.GrainDay
	}
	if (ind.Grain == spec.GrainYear || ind.Grain == spec.GrainQuarter) && rng.IntN(2) == 0 {
		ind.FiscalYearStartMonth = 1 + rng.IntN(12)
	}
	// Dimensions and intersections.
	maxDims := len(w.dims)
	switch ind.Grain {
	case spec.GrainDay:
		maxDims = 1
	case spec.GrainWeek:
		maxDims = min(maxDims, 2)
	}
	names := make([]string, len(w.dims))
	for j, d := range w.dims {
		names[j] = d.Name
	}
	rng.Shuffle(len(names), func(a, b int) { names[a], names[b] = names[b], names[a] })
	ind.Dimensions = names[:rng.IntN(maxDims+1)]
	if len(ind.Dimensions) >= 2 && ind.Grain != spec.GrainDay && rng.IntN(2) == 0 {
		ds := ind.Dimensions
		for a := 0; a < len(ds); a++ {
			for b := a + 1; b < len(ds); b++ {
				if rng.IntN(2) == 0 {
					pair := []string{ds[a], ds[b]}
					rng.Shuffle(2, func(x, y int) { pair[x], pair[y] = pair[y], pair[x] })
					ind.Intersections = append(ind.Intersections, pair)
				}
			}
		}
		if len(ds) == 3 && rng.IntN(3) == 0 {
			ind.Intersections = append(ind.Intersections, slices.Clone(ds))
		}
	}
	main := func(filters []spec.Filter) spec.Operand {
		return spec.Operand{Source: "main", Aggregate: spec.Count, TimeColumn: w.timeCol, Filters: filters}
	}
	measures := []string{spec.Count, spec.Count, spec.Sum, spec.Mean, spec.Proportion, spec.Proportion, spec.Ratio}
	if w.pop != nil {
		measures = append(measures, spec.Rate, spec.Rate, spec.Ratio)
	}
	if !w.freq {
		measures = append(measures, spec.DistinctCount)
	}
	ind.Measure = measures[rng.IntN(len(measures))]
	switch ind.Measure {
	case spec.Count:
		ind.Numerator = main(w.randomFilters(2))
	case spec.Sum, spec.Mean:
		ind.Numerator = main(w.randomFilters(1))
		ind.Numerator.Aggregate = spec.Sum
		ind.Numerator.Column = []string{"visits", "score"}[rng.IntN(2)]
	case spec.DistinctCount:
		ind.Numerator = main(w.randomFilters(1))
		ind.Numerator.Aggregate = ""
		ind.Numerator.Column = []string{"id", "id", "visits"}[rng.IntN(3)]
	case spec.Proportion:
		den := main(w.randomFilters(1))
		num := main(append(slices.Clone(den.Filters), w.randomFilter()))
		if w.freq && rng.IntN(3) == 0 {
			num = main(slices.Clone(den.Filters))
			num.Aggregate, num.Column = spec.Sum, "ready"
		}
		den.Alignment = spec.AlignExact
		ind.Numerator, ind.Denominator = num, &den
	case spec.Ratio:
		num := main(w.randomFilters(1))
		if rng.IntN(2) == 0 {
			num.Aggregate, num.Column = spec.Sum, "visits"
		}
		var den spec.Operand
		if w.pop != nil && rng.IntN(2) == 0 {
			den = spec.Operand{Source: "pop", Aggregate: spec.Sum, Column: "population", TimeColumn: "year_start"}
		} else {
			den = main(w.randomFilters(1))
			if rng.IntN(3) == 0 {
				den.Aggregate, den.Column = spec.Sum, "visits"
			}
		}
		den.Alignment = []string{spec.AlignExact, spec.AlignLatestAvailable}[rng.IntN(2)]
		ind.Numerator, ind.Denominator = num, &den
	case spec.Rate:
		ind.Numerator = main(w.randomFilters(2))
		ind.Denominator = &spec.Operand{Source: "pop", Aggregate: spec.Sum, Column: "population", TimeColumn: "year_start",
			Alignment: []string{spec.AlignExact, spec.AlignLatestAvailable, spec.AlignLatestAvailable}[rng.IntN(3)]}
		ind.Per = []float64{100, 1000, 100000}[rng.IntN(3)]
	}
	if ind.Grain == spec.GrainDay {
		// A count base of its own, so its daily problem stays small.
		extra := spec.Filter{Column: "visits", Operator: spec.OpGt, Values: []string{"-1"}}
		ind.Numerator.Filters = append(ind.Numerator.Filters, extra)
		if ind.Denominator != nil && ind.Denominator.Source == "main" {
			ind.Denominator.Filters = append(ind.Denominator.Filters, extra)
		}
	}
	return ind
}

func (w *world) randomPlan(n int) *spec.Aggregate {
	p := &spec.Aggregate{Namespace: "ns", Initiative: "ini", TimeZone: w.tz, Dimensions: w.dims}
	for i := range n {
		p.Indicators = append(p.Indicators, w.randomIndicator(i))
	}
	return p
}

func describePlan(p *spec.Aggregate) string {
	var b strings.Builder
	for _, ind := range p.Indicators {
		fmt.Fprintf(&b, "\n  %s: %s %s/%d k=%d dims=%v x=%v num=%s", ind.Name, ind.Measure, ind.Grain, ind.FiscalYearStartMonth, ind.MinCellSize, ind.Dimensions, ind.Intersections, describeOperand(ind.Numerator))
		if ind.Denominator != nil {
			fmt.Fprintf(&b, " den=%s", describeOperand(*ind.Denominator))
		}
		if ind.Per != 0 {
			fmt.Fprintf(&b, " per=%g", ind.Per)
		}
	}
	return b.String()
}

func describeOperand(o spec.Operand) string {
	s := o.Source + ":" + o.Aggregate
	if o.Column != "" {
		s += "(" + o.Column + ")"
	}
	for _, f := range o.Filters {
		s += fmt.Sprintf("[%s %s %v]", f.Column, f.Operator, f.Values)
	}
	if o.Alignment != "" && o.Alignment != spec.AlignExact {
		s += "@" + o.Alignment
	}
	return s
}

func iterations(short, long int) int {
	if testing.Short() {
		return short
	}
	return long
}

// ---------------------------------------------------------------------------------------
// 1. Every cell of random initiatives against the reference.

func TestPropertyCellsMatchReference(t *testing.T) {
	n := iterations(8, 24)
	for it := range n {
		seed := uint64(1000 + it)
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		rows := 200 + rng.IntN(iterations(800, 2300))
		w := newWorld(t, rng, rows)
		p := w.randomPlan(1 + rng.IntN(4))
		asOf := farFuture
		if rng.IntN(2) == 0 {
			d := w.first.addDays(rng.IntN(daysBetween(w.first, w.last) + 1))
			asOf = time.Date(d.Y, d.M, d.D, 12, 0, 0, 0, w.loc)
		}
		label := fmt.Sprintf("seed %d (%d rows, tz %s, freq %v, time %s, as of %s):", seed, rows, w.tz, w.freq, w.timeCol, asOf.Format(time.DateOnly))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newEnv(t, w.tz, w.dims, rng.IntN(2) == 0)
			if rng.IntN(3) == 0 {
				e.batch = 1 + rng.IntN(300)
			}
			tables := []*table{w.main}
			if w.pop != nil && usesSource(p, "pop") {
				tables = append(tables, w.pop)
			}
			res := e.runEncoded(p, asOf, &encoder{rng: rng}, tables...)
			ref, noPeriod := newReference(p, w.loc, civilOf(asOf.In(w.loc)), tables...).cells()
			failedBefore := t.Failed()
			pub, sup := compareWithReference(t, label+" ", res, ref)
			for _, ir := range res.Indicators {
				if ir.NoPeriod != noPeriod[ir.Name] {
					t.Errorf("%s %s: %d units without a time value, want %d", label, ir.Name, ir.NoPeriod, noPeriod[ir.Name])
				}
			}
			checkNoLeakExceptUnknownShare(t, res)
			if t.Failed() != failedBefore {
				t.Logf("%s plan:%s", label, describePlan(p))
			}
			t.Logf("%s %d cells published, %d suppressed", label, pub, sup)
		})
	}
}

func usesSource(p *spec.Aggregate, src string) bool {
	for _, ind := range p.Indicators {
		if ind.Numerator.Source == src || (ind.Denominator != nil && ind.Denominator.Source == src) {
			return true
		}
	}
	return false
}

// checkNoLeakExceptUnknownShare is checkNoLeak without the unknown share, which a worked
// test covers on its own.
func checkNoLeakExceptUnknownShare(t testing.TB, res *aggregate.Result) {
	t.Helper()
	stripped := *res
	stripped.Indicators = slices.Clone(res.Indicators)
	for i := range stripped.Indicators {
		eqs := slices.Clone(stripped.Indicators[i].Equity)
		for j := range eqs {
			eqs[j].UnknownShare = nil
		}
		stripped.Indicators[i].Equity = eqs
	}
	checkNoLeak(t, &stripped)
}

// ---------------------------------------------------------------------------------------
// 2. Microdata and the same people aggregated by a partner give identical cells.

func TestPropertyMicrodataEqualsAggregated(t *testing.T) {
	n := iterations(4, 10)
	for it := range n {
		seed := uint64(2000 + it)
		rng := rand.New(rand.NewPCG(seed, 0xa66))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			checkMicroVsAggregated(t, seed, rng)
		})
	}
}

func checkMicroVsAggregated(t *testing.T, seed uint64, rng *rand.Rand) {
	people := 300 + rng.IntN(iterations(1200, 3000))
	w := newWorld(t, rng, 0)
	dimCols := make([]string, len(w.dims))
	for i, d := range w.dims {
		dimCols[i] = w.dimCol[d.Name]
	}
	// Microdata: one row per person. Dates fall on the first of a month or a few other
	// days, so that the aggregated table collapses many people into one row. Scores are
	// multiples of 1/4, so every float sum is exact whatever the order.
	micro := &table{Source: "s"}
	for _, c := range dimCols {
		micro.Cols = append(micro.Cols, colDef{Name: c, Dimension: w.mainDim(c)})
	}
	micro.Cols = append(micro.Cols,
		colDef{Name: "date", Type: spec.TypeDate},
		colDef{Name: "ready", Type: spec.TypeBoolean},
		colDef{Name: "visits", Type: spec.TypeInteger},
		colDef{Name: "score", Type: spec.TypeNumber},
	)
	span := daysBetween(w.first, w.last) + 1
	pReady := 0.3 + 0.5*rng.Float64()
	for range people {
		r := map[string]any{}
		for _, d := range w.dims {
			gi := draw(rng, w.dimWeights[d.Name])
			if gi < len(d.Values) {
				r[w.dimCol[d.Name]] = d.Values[gi]
			}
		}
		day := w.first.addDays(rng.IntN(span))
		r["date"] = civil{day.Y, day.M, []int{1, 10, 20}[rng.IntN(3)]}
		r["ready"] = rng.Float64() < pReady
		if rng.IntN(10) > 0 {
			r["visits"] = int64(min(rng.ExpFloat64()*2, 9))
		}
		r["score"] = float64(rng.IntN(41)) / 4
		micro.Rows = append(micro.Rows, r)
	}

	// Aggregated by value (PerUnit): one row per combination of every column, with the
	// number of people it stands for.
	perUnit := &table{Source: "s", Frequency: "people"}
	perUnit.Cols = append(slices.Clone(micro.Cols), colDef{Name: "people", Type: spec.TypeInteger})
	for i := range perUnit.Cols {
		if perUnit.Cols[i].Name == "visits" || perUnit.Cols[i].Name == "score" {
			perUnit.Cols[i].ValueKind = spec.PerUnit
		}
	}
	// Aggregated with totals (RowTotal): one row per groups, date and readiness, the
	// visits and scores summed over its people (separate rows for people without visits).
	rowTotal := &table{Source: "s", Frequency: "people"}
	rowTotal.Cols = append(slices.Clone(micro.Cols), colDef{Name: "people", Type: spec.TypeInteger}, colDef{Name: "ready_n", Type: spec.TypeInteger, ValueKind: spec.RowTotal})
	for i := range rowTotal.Cols {
		if rowTotal.Cols[i].Name == "visits" || rowTotal.Cols[i].Name == "score" {
			rowTotal.Cols[i].ValueKind = spec.RowTotal
		}
	}
	keyOf := func(r map[string]any, cols ...string) string {
		var b strings.Builder
		for _, c := range cols {
			fmt.Fprintf(&b, "%v|", r[c])
		}
		return b.String()
	}
	pu := map[string]map[string]any{}
	rt := map[string]map[string]any{}
	var puKeys, rtKeys []string
	for _, r := range micro.Rows {
		k := keyOf(r, append(slices.Clone(dimCols), "date", "ready", "visits", "score")...)
		if pu[k] == nil {
			a := map[string]any{}
			for c, v := range r {
				a[c] = v
			}
			a["people"] = int64(0)
			pu[k] = a
			puKeys = append(puKeys, k)
		}
		pu[k]["people"] = pu[k]["people"].(int64) + 1
		k = keyOf(r, append(slices.Clone(dimCols), "date", "ready")...) + fmt.Sprint(r["visits"] == nil)
		if rt[k] == nil {
			a := map[string]any{"people": int64(0), "score": 0.0, "ready_n": int64(0)}
			for _, c := range append(slices.Clone(dimCols), "date", "ready") {
				a[c] = r[c]
			}
			if r["visits"] != nil {
				a["visits"] = int64(0)
			}
			rt[k] = a
			rtKeys = append(rtKeys, k)
		}
		a := rt[k]
		a["people"] = a["people"].(int64) + 1
		a["score"] = a["score"].(float64) + r["score"].(float64)
		if r["visits"] != nil {
			a["visits"] = a["visits"].(int64) + r["visits"].(int64)
		}
		if r["ready"].(bool) {
			a["ready_n"] = a["ready_n"].(int64) + 1
		}
	}
	rng.Shuffle(len(puKeys), func(i, j int) { puKeys[i], puKeys[j] = puKeys[j], puKeys[i] })
	for _, k := range puKeys {
		perUnit.Rows = append(perUnit.Rows, pu[k])
	}
	for _, k := range rtKeys {
		rowTotal.Rows = append(rowTotal.Rows, rt[k])
	}
	rng.Shuffle(len(micro.Rows), func(i, j int) { micro.Rows[i], micro.Rows[j] = micro.Rows[j], micro.Rows[i] })

	// Indicators: counts, proportions and sums at several grains, sharing the source.
	names := make([]string, len(w.dims))
	for i, d := range w.dims {
		names[i] = d.Name
	}
	k := 3 + rng.IntN(8)
	d0 := w.dims[0]
	readyF := spec.Filter{Column: "ready", Operator: spec.OpIn, Values: []string{"true"}}
	groupF := spec.Filter{Column: w.dimCol[d0.Name], Operator: spec.OpIn, Values: []string{d0.Values[0]}}
	op := func(agg, col string, fs ...spec.Filter) spec.Operand {
		return spec.Operand{Source: "s", Aggregate: agg, Column: col, TimeColumn: "date", Filters: fs}
	}
	den := op(spec.Count, "")
	den.Alignment = spec.AlignExact
	inds := []spec.Indicator{
		{Name: "count_m", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: names[:1], Numerator: op(spec.Count, "")},
		{Name: "count_q", Measure: spec.Count, Grain: spec.GrainQuarter, Dimensions: names, Intersections: [][]string{names[:2]}, Numerator: op(spec.Count, "")},
		{Name: "count_y_group", Measure: spec.Count, Grain: spec.GrainYear, FiscalYearStartMonth: 7, Dimensions: names[1:], Numerator: op(spec.Count, "", groupF)},
		{Name: "ready_q", Measure: spec.Proportion, Grain: spec.GrainQuarter, Dimensions: names, Numerator: op(spec.Count, "", readyF), Denominator: &den},
		{Name: "ready_y", Measure: spec.Proportion, Grain: spec.GrainYear, Dimensions: names[:1], Intersections: [][]string{names[:2]}, Numerator: op(spec.Count, "", readyF), Denominator: &den},
		{Name: "visits_q", Measure: spec.Sum, Grain: spec.GrainQuarter, Dimensions: names, Numerator: op(spec.Sum, "visits")},
		{Name: "score_y", Measure: spec.Sum, Grain: spec.GrainYear, Dimensions: names[:2], Numerator: op(spec.Sum, "score", readyF)},
		{Name: "visits_mean_y", Measure: spec.Mean, Grain: spec.GrainYear, Dimensions: names[:1], Numerator: op(spec.Sum, "visits")},
	}
	for i := range inds {
		inds[i].MinCellSize = k
	}
	p := smallPlan(w.tz, w.dims, inds...)
	// The RowTotal table counts readiness in a column: the same proportion written as a
	// sum of ready people over the people.
	pRT := smallPlan(w.tz, w.dims, slices.Clone(inds)...)
	for i := range pRT.Indicators {
		ind := &pRT.Indicators[i]
		if ind.Name == "ready_q" {
			ind.Numerator = op(spec.Sum, "ready_n")
		}
	}
	asOf := time.Date(w.last.Y, w.last.M, 15, 12, 0, 0, 0, w.loc)

	eMicro := newEnv(t, w.tz, w.dims, false)
	resMicro := eMicro.runEncoded(p, asOf, &encoder{rng: rng}, micro)
	ref, _ := newReference(p, w.loc, civilOf(asOf.In(w.loc)), micro).cells()
	label := fmt.Sprintf("seed %d, microdata: ", seed)
	compareWithReference(t, label, resMicro, ref)

	for _, v := range []struct {
		name string
		tb   *table
		plan *spec.Aggregate
	}{{"per-unit", perUnit, p}, {"row-total", rowTotal, pRT}} {
		e := newEnv(t, w.tz, w.dims, true)
		e.batch = 1 + rng.IntN(200)
		res := e.runEncoded(v.plan, asOf, &encoder{rng: rng}, v.tb)
		label := fmt.Sprintf("seed %d, %s aggregated (%d rows for %d people): ", seed, v.name, len(v.tb.Rows), people)
		refAgg, _ := newReference(v.plan, w.loc, civilOf(asOf.In(w.loc)), v.tb).cells()
		compareWithReference(t, label, res, refAgg)
		compareResults(t, label, resMicro, res, v.name == "per-unit")
	}
}

func (w *world) mainDim(col string) string {
	for d, c := range w.dimCol {
		if c == col {
			return d
		}
	}
	panic(col)
}

// compareResults checks that two runs give the same cells: values, numerators,
// denominators, n and the suppression pattern; intervals too when sameCI.
func compareResults(t *testing.T, label string, want, got *aggregate.Result, sameCI bool) {
	t.Helper()
	rep := &report{t: t, limit: 15, label: label}
	wc, gc := cellsByKey(t, want), cellsByKey(t, got)
	keys := make([]string, 0, len(wc))
	for k := range wc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, b := wc[k], gc[k]
		if b == nil {
			rep.errorf("cell %s of the microdata is missing", k)
			continue
		}
		if a.Suppressed != b.Suppressed {
			rep.errorf("cell %s: suppressed %v, microdata %v (microdata n %s)", k, b.Suppressed, a.Suppressed, fmtPtr(a.N))
			continue
		}
		same := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
		if !same(a.Value, b.Value) || !same(a.Numerator, b.Numerator) || !same(a.Denominator, b.Denominator) || fmtPtr(a.N) != fmtPtr(b.N) || a.Partial != b.Partial {
			rep.errorf("cell %s: value %s numerator %s denominator %s n %s; microdata %s %s %s %s", k,
				fmtPtr(b.Value), fmtPtr(b.Numerator), fmtPtr(b.Denominator), fmtPtr(b.N),
				fmtPtr(a.Value), fmtPtr(a.Numerator), fmtPtr(a.Denominator), fmtPtr(a.N))
		}
		ci := sameCI || !strings.HasPrefix(k, "visits") && !strings.HasPrefix(k, "score")
		if ci && (!same(a.CILower, b.CILower) || !same(a.CIUpper, b.CIUpper)) {
			rep.errorf("cell %s: interval [%s, %s], microdata [%s, %s]", k, fmtPtr(b.CILower), fmtPtr(b.CIUpper), fmtPtr(a.CILower), fmtPtr(a.CIUpper))
		}
	}
	for k := range gc {
		if wc[k] == nil {
			rep.errorf("cell %s is not a cell of the microdata", k)
		}
	}
}
