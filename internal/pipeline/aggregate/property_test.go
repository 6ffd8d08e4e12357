package aggregate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate/audit"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/pipeline/suppress"
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
	popTime    string // the population's time column: a Date or an Integer year
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
	// The census year: a Date (January or July 1st) or an Integer year.
	w.popTime = []string{"year_start", "year"}[rng.IntN(2)]
	if w.popTime == "year" {
		pop.Cols = append(pop.Cols, colDef{Name: "year", Type: spec.TypeInteger}, colDef{Name: "population", Type: spec.TypeInteger})
	} else {
		pop.Cols = append(pop.Cols, colDef{Name: "year_start", Type: spec.TypeDate}, colDef{Name: "population", Type: spec.TypeInteger})
	}
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
			r := map[string]any{"population": int64(20 + rng.IntN(5000))}
			if w.popTime == "year" {
				r["year"] = int64(y)
			} else {
				r["year_start"] = civil{y, month, 1}
			}
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
			den = spec.Operand{Source: "pop", Aggregate: spec.Sum, Column: "population", TimeColumn: w.popTime}
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
		ind.Denominator = &spec.Operand{Source: "pop", Aggregate: spec.Sum, Column: "population", TimeColumn: w.popTime,
			Alignment: []string{spec.AlignExact, spec.AlignLatestAvailable, spec.AlignLatestAvailable}[rng.IntN(3)]}
		ind.Per = []float64{100, 1000, 100000}[rng.IntN(3)]
	}
	if ind.Denominator != nil && ind.Denominator.TimeColumn == "year" {
		// Which fiscal year an Integer year names is a convention; calendar years only.
		ind.FiscalYearStartMonth = 1
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
	n := iterations(12, 60)
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
			tables := w.tablesFor(p)
			res := e.runEncoded(p, asOf, &encoder{rng: rng}, tables...)
			ref, noPeriod := newReference(p, w.loc, civilOf(asOf.In(w.loc)), tables...).cells()
			failedBefore := t.Failed()
			pub, sup := compareWithReference(t, label+" ", res, ref)
			for _, ir := range res.Indicators {
				if ir.NoPeriod != noPeriod[ir.Name] {
					t.Errorf("%s %s: %d units without a time value, want %d", label, ir.Name, ir.NoPeriod, noPeriod[ir.Name])
				}
			}
			checkNoLeak(t, res)
			if t.Failed() != failedBefore {
				t.Logf("%s plan:%s", label, describePlan(p))
			}
			t.Logf("%s %d cells published, %d suppressed", label, pub, sup)
		})
	}
}

// The number of workers scanning a snapshot changes nothing in the result, to the last bit:
// partials are merged in the same order whatever the workers. Reading the engine layout in
// place from a mapping or copied into buffers changes nothing either.
func TestPropertyWorkersDoNotChangeResults(t *testing.T) {
	for it := range iterations(4, 12) {
		seed := uint64(7000 + it)
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		w := newWorld(t, rng, 500+rng.IntN(1500))
		p := w.randomPlan(1 + rng.IntN(4))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			tables := w.tablesFor(p)
			var first []byte
			batch := 1 + rng.IntN(40) // many chunks of 16 batches
			// The engine layout read in place from a mapping, and copied into buffers.
			for _, copyEngine := range []bool{false, true} {
				for _, workers := range []int{1, 2, 5} {
					e := newEnv(t, w.tz, w.dims, false)
					e.batch = batch
					e.workers = workers
					e.copyEngine = copyEngine
					b, err := json.Marshal(e.run(p, farFuture, tables...))
					if err != nil {
						t.Fatal(err)
					}
					if first == nil {
						first = b
					} else if !bytes.Equal(b, first) {
						t.Fatalf("%d workers, engine copied %v: the result differs from 1 worker's reading in place; plan:%s", workers, copyEngine, describePlan(p))
					}
				}
			}
		})
	}
}

// tablesFor returns the world's tables plan p reads.
func (w *world) tablesFor(p *spec.Aggregate) []*table {
	tables := []*table{w.main}
	if w.pop != nil && usesSource(p, "pop") {
		tables = append(tables, w.pop)
	}
	return tables
}

func usesSource(p *spec.Aggregate, src string) bool {
	for _, ind := range p.Indicators {
		if ind.Numerator.Source == src || (ind.Denominator != nil && ind.Denominator.Source == src) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------
// 2. Microdata and the same people aggregated by a partner give identical cells.

func TestPropertyMicrodataEqualsAggregated(t *testing.T) {
	n := iterations(3, 8)
	for it := range n {
		seed := uint64(2000 + it)
		rng := rand.New(rand.NewPCG(seed, 0xa66))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			checkMicroVsAggregated(t, seed, rng, it < iterations(1, 3))
		})
	}
}

func checkMicroVsAggregated(t *testing.T, seed uint64, rng *rand.Rand, attack bool) {
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
	if attack {
		checkAttack(t, label, p, resMicro, ref, newReference(p, w.loc, civilOf(asOf.In(w.loc)), micro), micro)
		checkAudit(t, label, eMicro, p, resMicro, asOf, rng, micro)
	}

	for _, v := range []struct {
		name string
		tb   *table
		plan *spec.Aggregate
	}{{"per-unit", perUnit, p}, {"row-total", rowTotal, p}, {"row-total, readiness summed", rowTotal, pRT}} {
		e := newEnv(t, w.tz, w.dims, true)
		e.batch = 1 + rng.IntN(200)
		res := e.runEncoded(v.plan, asOf, &encoder{rng: rng}, v.tb)
		label := fmt.Sprintf("seed %d, %s aggregated (%d rows for %d people): ", seed, v.name, len(v.tb.Rows), people)
		refAgg, _ := newReference(v.plan, w.loc, civilOf(asOf.In(w.loc)), v.tb).cells()
		compareWithReference(t, label, res, refAgg)
		// The same plan gives the same cells. Counting the ready people with a RowTotal
		// column instead of a filter is another count base to the engine, which cannot know
		// it holds the same people, so only the values are compared then.
		compareResults(t, label, resMicro, res, v.name == "per-unit", v.plan == p)
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
// denominators, n and, when samePattern, the suppression pattern; intervals too when
// sameCI. Without samePattern, cells published by both runs are compared.
func compareResults(t *testing.T, label string, want, got *aggregate.Result, sameCI, samePattern bool) {
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
			if samePattern {
				rep.errorf("cell %s: suppressed %v, microdata %v (microdata n %s)", k, b.Suppressed, a.Suppressed, fmtPtr(a.N))
			}
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

// ---------------------------------------------------------------------------------------
// 3. An attacker who knows every published cell and the table's additive relations.

// quantityKey names a count base: the units of one source passing the same filters, in
// whatever order they are written.
func quantityKey(op spec.Operand) string {
	var fs []string
	for _, f := range op.Filters {
		vals := slices.Clone(f.Values)
		for i := range vals {
			vals[i] = strings.ToLower(strings.TrimSpace(vals[i]))
		}
		sort.Strings(vals)
		fs = append(fs, f.Column+" "+f.Operator+" "+strings.Join(vals, ","))
	}
	sort.Strings(fs)
	return op.Source + "|" + op.TimeColumn + "|" + strings.Join(fs, "&")
}

// position is a cell of the attacker's table: a range of months and a set of groups, the
// inner cells (month × combination of every dimension's groups) it sums.
type position struct {
	key          string
	inner        []int32
	publishedBy  []string
	suppressedBy []string
	withheldBy   []string // suppressed Proportions, which withhold it unless it is published
	n            int64
	primary      bool
	singleton    bool
}

// attackTable lays out inner cells as month × the full cross of the plan's dimensions.
type attackTable struct {
	p       *spec.Aggregate
	m0, m1  int // month indices [m0, m1)
	cube    int
	sizes   []int
	strides []int
	inds    map[string]*spec.Indicator
	ref     *reference
}

func newAttackTable(p *spec.Aggregate, res *aggregate.Result, r *reference) *attackTable {
	a := &attackTable{p: p, m0: math.MaxInt, m1: math.MinInt, inds: map[string]*spec.Indicator{}, ref: r}
	for i := range p.Indicators {
		a.inds[p.Indicators[i].Name] = &p.Indicators[i]
	}
	for _, c := range res.Cells {
		from, to := a.months(c)
		a.m0, a.m1 = min(a.m0, from), max(a.m1, to)
	}
	a.cube = 1
	a.sizes = make([]int, len(p.Dimensions))
	a.strides = make([]int, len(p.Dimensions))
	for i := len(p.Dimensions) - 1; i >= 0; i-- {
		a.sizes[i] = len(p.Dimensions[i].Values) + 1
		a.strides[i] = a.cube
		a.cube *= a.sizes[i]
	}
	return a
}

func (a *attackTable) months(c aggregate.Cell) (int, int) {
	ind := a.inds[c.Indicator]
	start := mustCivil(c.Period)
	if start.D != 1 {
		panic("the attacker's table has months as its finest time: " + c.Period)
	}
	return start.monthIndex(), refNext(start, ind.Grain).monthIndex()
}

func (a *attackTable) inner() int { return (a.m1 - a.m0) * a.cube }

// cubeIndex is the combination of groups, one per dimension of the plan.
func (a *attackTable) cubeIndex(groups map[string]string) int {
	idx := 0
	for i, d := range a.p.Dimensions {
		code := slices.Index(d.Groups(), groups[d.Name])
		if code < 0 {
			panic("no group " + groups[d.Name])
		}
		idx += code * a.strides[i]
	}
	return idx
}

// vector lists the inner cells a published cell sums.
func (a *attackTable) vector(c aggregate.Cell) []int32 {
	from, to := a.months(c)
	var out []int32
	for m := from; m < to; m++ {
		for ci := 0; ci < a.cube; ci++ {
			ok := true
			for i, d := range a.p.Dimensions {
				g, in := c.Dimensions[d.Name]
				if in && d.Groups()[(ci/a.strides[i])%a.sizes[i]] != g {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, int32((m-a.m0)*a.cube+ci))
			}
		}
	}
	return out
}

func (a *attackTable) describeInner(j int32) string {
	m := civilFromMonthIndex(a.m0 + int(j)/a.cube)
	ci := int(j) % a.cube
	var parts []string
	for i, d := range a.p.Dimensions {
		parts = append(parts, d.Name+"="+d.Groups()[(ci/a.strides[i])%a.sizes[i]])
	}
	return fmt.Sprintf("%04d-%02d %s", m.Y, m.M, strings.Join(parts, ","))
}

// innerCounts counts a quantity's units in every inner cell, from the rows.
func (a *attackTable) innerCounts(tb *table, op spec.Operand) []int64 {
	out := make([]int64, a.inner())
	for _, row := range tb.Rows {
		keep := true
		for _, f := range op.Filters {
			if !a.ref.match(tb, row, f) {
				keep = false
				break
			}
		}
		day, ok := refLocalDate(row[op.TimeColumn], a.ref.loc)
		if !keep || !ok {
			continue
		}
		groups := map[string]string{}
		for _, d := range a.p.Dimensions {
			groups[d.Name] = a.ref.group(tb, row, d.Name)
		}
		w := int64(1)
		if tb.Frequency != "" {
			w = row[tb.Frequency].(int64)
		}
		out[(day.monthIndex()-a.m0)*a.cube+a.cubeIndex(groups)] += w
	}
	return out
}

// hasNulls reports whether a row counted by op has no value of its column.
func (a *attackTable) hasNulls(tb *table, op spec.Operand) bool {
	for _, row := range tb.Rows {
		keep := true
		for _, f := range op.Filters {
			if !a.ref.match(tb, row, f) {
				keep = false
				break
			}
		}
		if _, ok := refLocalDate(row[op.TimeColumn], a.ref.loc); keep && ok && row[op.Column] == nil {
			return true
		}
	}
	return false
}

// checkAudit runs package audit's attacker on a result: every relation that holds in the
// data, distinct counts and non-null counts included.
func checkAudit(t *testing.T, label string, e *env, p *spec.Aggregate, res *aggregate.Result, asOf time.Time, rng *rand.Rand, tables ...*table) {
	t.Helper()
	truth := e.runEncoded(audit.TruthPlan(p), asOf, &encoder{rng: rng}, tables...)
	rows := map[string]int64{}
	for _, tb := range tables {
		rows[tb.Source] = int64(len(tb.Rows))
	}
	rep, err := audit.Attack(p, res, truth, rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range rep.Recovered {
		t.Errorf("%srecovered: %s", label, rc)
	}
	if len(rep.Recovered) > 0 {
		t.Logf("%srelations: %v", label, rep.Relations)
	}
}

// checkAttack builds the protection problems from the cells Run published and checks
// that the published cells determine no suppressed one, for attackers who know more and
// more:
//
//  1. the contract's exact linear algebra: for each protection problem (indicators
//     sharing a count base, a Proportion linking its numerator's and denominator's), the
//     cells of every indicator at one position (months × groups) are one cell, the months
//     in which a member publishes no period are known zeros, and suppress.Disclosed must
//     find nothing; and per count base, with its own cells only;
//  2. per count base, also the periods in which an indicator of that base publishes
//     nothing at all: no rows fell in them, so all their inner cells are empty;
//  3. per count base, also the inner cells of published cells of value 0 (counts are never
//     negative).
//
// It also checks that no published cell has 0 < n < k, nor a Proportion numerator or
// complement below k.
func checkAttack(t *testing.T, label string, p *spec.Aggregate, res *aggregate.Result, ref map[string]*refCell, r *reference, tb *table) {
	t.Helper()
	rep := &report{t: t, limit: 12, label: label}
	a := newAttackTable(p, res, r)
	for _, c := range res.Cells {
		if c.Suppressed || c.N == nil {
			continue
		}
		k := int64(a.inds[c.Indicator].MinCellSize)
		if *c.N > 0 && *c.N < k {
			rep.errorf("%s: published with n = %d < k = %d", cellKey(c.Indicator, c.Period, c.Dimensions), *c.N, k)
		}
		if a.inds[c.Indicator].Measure == spec.Proportion && *c.N > 0 && c.Numerator != nil && c.Denominator != nil {
			x, d := *c.Numerator, *c.Denominator
			if x < float64(k) || d-x < float64(k) {
				rep.errorf("%s: proportion %g/%g published with a numerator or complement below k = %d", cellKey(c.Indicator, c.Period, c.Dimensions), x, d, k)
			}
		}
	}

	// 1. The contract's check, per protection problem: the indicators sharing a count base,
	// a Proportion linking its numerator's base to its denominator's. Inner cells are month
	// × combination of groups × membership in the problem's bases (a unit in a numerator's
	// base is in its denominator's too); a cell of base b sums the inner cells whose
	// membership holds b.
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] == "" || parent[x] == x {
			parent[x] = x
			return x
		}
		parent[x] = find(parent[x])
		return parent[x]
	}
	// Distinct counts, and the n of a column with nulls (a subset of the units), are not
	// counts of the base's units: package audit attacks them.
	skip := func(ind *spec.Indicator) bool {
		switch ind.Measure {
		case spec.DistinctCount:
			return true
		case spec.Sum, spec.Mean, spec.Ratio, spec.Rate:
			return ind.Numerator.Column != "" && a.hasNulls(tb, ind.Numerator)
		}
		return false
	}
	for i := range p.Indicators {
		ind := &p.Indicators[i]
		if skip(ind) {
			continue
		}
		find(quantityKey(ind.Numerator))
		if ind.Measure == spec.Proportion {
			parent[find(quantityKey(ind.Numerator))] = find(quantityKey(*ind.Denominator))
		}
	}
	problems := map[string][]*spec.Indicator{}
	for i := range p.Indicators {
		ind := &p.Indicators[i]
		if skip(ind) {
			continue
		}
		root := find(quantityKey(ind.Numerator))
		problems[root] = append(problems[root], ind)
	}
	for _, root := range sortedKeysOf(problems) {
		members := problems[root]
		baseIdx := map[string]int{}
		var baseNames []string
		base := func(op spec.Operand) int {
			q := quantityKey(op)
			if i, ok := baseIdx[q]; ok {
				return i
			}
			baseIdx[q] = len(baseNames)
			baseNames = append(baseNames, q)
			return baseIdx[q]
		}
		type within struct{ sub, sup int }
		var subsets []within
		for _, ind := range members {
			nb := base(ind.Numerator)
			if ind.Measure == spec.Proportion {
				if db := base(*ind.Denominator); db != nb {
					subsets = append(subsets, within{nb, db})
				}
			}
		}
		var patterns []uint32
		for pat := uint32(1); pat < 1<<len(baseNames); pat++ {
			ok := true
			for _, w := range subsets {
				if pat&(1<<w.sub) != 0 && pat&(1<<w.sup) == 0 {
					ok = false
				}
			}
			if ok {
				patterns = append(patterns, pat)
			}
		}
		np := int32(len(patterns))
		// A month in which a member publishes no period has no rows at all, as everyone can
		// see: its inner cells are known zeros, left out of every vector.
		gap := make([]bool, a.m1-a.m0)
		for _, ind := range members {
			covered := make([]bool, a.m1-a.m0)
			for _, c := range res.Cells {
				if c.Indicator == ind.Name && len(c.Dimensions) == 0 {
					from, to := a.months(c)
					for m := from; m < to; m++ {
						covered[m-a.m0] = true
					}
				}
			}
			for m, ok := range covered {
				gap[m] = gap[m] || !ok
			}
		}
		vector := func(c aggregate.Cell, b int) []int32 {
			var out []int32
			for _, j := range a.vector(c) {
				if gap[int(j)/a.cube] {
					continue
				}
				for pi, pat := range patterns {
					if pat&(1<<b) != 0 {
						out = append(out, j*np+int32(pi))
					}
				}
			}
			return out
		}
		pos := map[string]*position{}
		var order []string
		paired := map[string]bool{} // positions holding a Proportion's numerator
		// A Proportion's cell is withheld when its numerator's or its denominator's is; a
		// suppressed Proportion withholds neither position by itself (another indicator may
		// publish it), so its positions are only withheld when no one publishes them.
		add := func(c aggregate.Cell, b int, n int64, primary, singleton, prop bool, vec []int32, tag string) string {
			from, to := a.months(c)
			key := fmt.Sprintf("%s%s|%s…%s|%s", tag, baseNames[b], civilFromMonthIndex(from), civilFromMonthIndex(to), dimsKey(c.Dimensions))
			ps := pos[key]
			if ps == nil {
				if vec == nil {
					vec = vector(c, b)
				}
				ps = &position{key: key, inner: vec}
				pos[key] = ps
				order = append(order, key)
			}
			ps.n = max(ps.n, n)
			ps.primary = ps.primary || primary
			ps.singleton = ps.singleton || singleton
			switch {
			case !c.Suppressed:
				ps.publishedBy = append(ps.publishedBy, c.Indicator)
			case prop:
				ps.withheldBy = append(ps.withheldBy, c.Indicator)
			default:
				ps.suppressedBy = append(ps.suppressedBy, c.Indicator)
			}
			return key
		}
		type propCell struct {
			cell     aggregate.Cell
			num, den string
		}
		var props []propCell
		for _, c := range res.Cells {
			ind := a.inds[c.Indicator]
			if !slices.Contains(members, ind) {
				continue
			}
			rc := ref[cellKey(c.Indicator, c.Period, c.Dimensions)]
			nb := base(ind.Numerator)
			k := int64(ind.MinCellSize)
			if ind.Measure == spec.Proportion {
				var x int64
				if rc.Numerator != nil {
					x = ratInt(rc.Numerator)
				}
				db := base(*ind.Denominator)
				num := add(c, nb, x, rc.N > 0 && x < k, x == 1, true, nil, "")
				den := add(c, db, rc.N, rc.N > 0 && rc.N < k, rc.N == 1, true, nil, "")
				paired[num] = true
				if comp := rc.N - x; nb != db && rc.N > 0 && comp < k {
					var v []int32
					for _, j := range a.vector(c) {
						for pi, pat := range patterns {
							if pat&(1<<db) != 0 && pat&(1<<nb) == 0 {
								v = append(v, j*np+int32(pi))
							}
						}
					}
					withheld := c
					withheld.Suppressed = true
					add(withheld, db, comp, true, comp == 1, true, v, "complement of "+baseNames[nb]+" in ")
				}
				if c.Suppressed {
					props = append(props, propCell{c, num, den})
				}
				continue
			}
			// A Ratio is also withheld for its denominator's sake: that does not withhold its n.
			ratio := ind.Measure == spec.Ratio || ind.Measure == spec.Rate
			add(c, nb, rc.N, rc.Primary, rc.N == 1, ratio, nil, "")
		}
		prob := suppress.Problem{Inner: a.inner() * int(np)}
		var withheld []bool
		for _, key := range order {
			ps := pos[key]
			if len(ps.publishedBy) > 0 && len(ps.suppressedBy) > 0 {
				rep.errorf("%s is published by %v and suppressed by %v", key, ps.publishedBy, ps.suppressedBy)
			}
			// An empty cell protects nothing: it is never a complementary suppression (a
			// Proportion's numerator goes with its denominator, so it may be empty).
			if len(ps.publishedBy) == 0 && ps.n == 0 && !ps.primary && !paired[key] {
				rep.errorf("%s is empty (n = 0) but suppressed by %v", key, ps.suppressedBy)
			}
			prob.Cells = append(prob.Cells, suppress.Cell{Key: key, N: ps.n, Inner: ps.inner, Primary: ps.primary, Singleton: ps.singleton})
			withheld = append(withheld, len(ps.publishedBy) == 0)
		}
		disclosed, err := suppress.Disclosed(prob, withheld)
		if err != nil {
			t.Fatal(err)
		}
		known := map[string]bool{}
		for _, key := range order {
			known[key] = len(pos[key].publishedBy) > 0
		}
		for _, i := range disclosed {
			ps := pos[prob.Cells[i].Key]
			known[ps.key] = true
			if ps.primary || len(ps.suppressedBy) > 0 {
				rep.errorf("the published cells disclose %s (n = %d, suppressed by %v)", ps.key, ps.n, append(ps.suppressedBy, ps.withheldBy...))
			}
		}
		for _, pc := range props {
			if known[pc.num] && known[pc.den] {
				rep.errorf("%s is suppressed, but the published cells give its numerator and its denominator", cellKey(pc.cell.Indicator, pc.cell.Period, pc.cell.Dimensions))
			}
		}
	}

	// 2 and 3. The attacker per count base.
	type publication struct {
		ind *spec.Indicator
		op  spec.Operand
	}
	bases := map[string][]publication{} // the indicators publishing the base's units
	periodsOf := map[string][]*spec.Indicator{}
	for i := range p.Indicators {
		ind := &p.Indicators[i]
		switch ind.Measure {
		case spec.Count:
			bases[quantityKey(ind.Numerator)] = append(bases[quantityKey(ind.Numerator)], publication{ind, ind.Numerator})
		case spec.Proportion:
			if ind.Numerator.Aggregate == spec.Count {
				bases[quantityKey(ind.Numerator)] = append(bases[quantityKey(ind.Numerator)], publication{ind, ind.Numerator})
			}
			bases[quantityKey(*ind.Denominator)] = append(bases[quantityKey(*ind.Denominator)], publication{ind, *ind.Denominator})
		}
		base := ind.Numerator
		if ind.Measure == spec.Proportion {
			base = *ind.Denominator
		}
		periodsOf[quantityKey(base)] = append(periodsOf[quantityKey(base)], ind)
	}
	for _, q := range sortedKeysOf(bases) {
		pubs := bases[q]
		counts := a.innerCounts(tb, pubs[0].op)
		gapZero := make([]bool, a.inner())
		gapMonths := map[int]string{} // month → an indicator publishing nothing in it
		// Periods in which an indicator of this base has no period hold none of its units.
		for _, ind := range periodsOf[q] {
			covered := make([]bool, a.m1-a.m0)
			for _, c := range res.Cells {
				if c.Indicator == ind.Name && len(c.Dimensions) == 0 {
					from, to := a.months(c)
					for m := from; m < to; m++ {
						covered[m-a.m0] = true
					}
				}
			}
			for m, ok := range covered {
				if !ok && !gapZero[m*a.cube] {
					gapMonths[m] = ind.Name
					for ci := range a.cube {
						gapZero[m*a.cube+ci] = true
					}
				}
			}
		}
		value := func(c aggregate.Cell, op spec.Operand) *float64 {
			num := a.inds[c.Indicator].Numerator
			if quantityKey(op) == quantityKey(num) && num.Aggregate == spec.Count {
				return c.Numerator
			}
			return c.Denominator
		}
		cellZero := slices.Clone(gapZero)
		var published [][]int32
		type target struct {
			cell  aggregate.Cell
			inner []int32
			n     int64
		}
		var targets []target
		for _, pub := range pubs {
			for _, c := range res.Cells {
				if c.Indicator != pub.ind.Name {
					continue
				}
				v := a.vector(c)
				var n int64
				for _, j := range v {
					n += counts[j]
				}
				if c.Suppressed {
					// A suppressed Proportion withholds a base's cell only when it is sensitive
					// there; otherwise another indicator may publish it.
					k := int64(pub.ind.MinCellSize)
					if n > 0 && (pub.ind.Measure != spec.Proportion || n < k) {
						targets = append(targets, target{c, v, n})
					}
					continue
				}
				if x := value(c, pub.op); x != nil && *x != float64(n) {
					t.Fatalf("%s: the attacker's count %d of base %s is not the published %g", cellKey(c.Indicator, c.Period, c.Dimensions), n, q, *x)
				}
				published = append(published, v)
				if n == 0 {
					for _, j := range v {
						cellZero[j] = true
					}
				}
			}
		}
		for j, z := range cellZero {
			if z && counts[j] != 0 {
				t.Fatalf("the attacker takes %s to be empty in base %s, but it holds %d", a.describeInner(int32(j)), q, counts[j])
			}
		}
		noZero := make([]bool, a.inner())
		plain, withGaps, withZeros := newModSpan(a.inner(), noZero), newModSpan(a.inner(), gapZero), newModSpan(a.inner(), cellZero)
		for _, v := range published {
			plain.add(v)
			withGaps.add(v)
			withZeros.add(v)
		}
		for _, tg := range targets {
			key := cellKey(tg.cell.Indicator, tg.cell.Period, tg.cell.Dimensions)
			switch {
			case plain.contains(tg.inner) && exactlyDisclosed(a.inner(), published, noZero, tg.inner):
				rep.errorf("count base %s: %s is suppressed, but its value %d follows from the published cells counting the same units", q, key, tg.n)
			case withGaps.contains(tg.inner) && exactlyDisclosed(a.inner(), published, gapZero, tg.inner):
				rep.errorf("count base %s: %s is suppressed, but its value %d follows from the published cells once the periods without any data are taken as empty (no period is published for %s)",
					q, key, tg.n, a.gapsNear(gapMonths, tg.inner))
			case withZeros.contains(tg.inner) && exactlyDisclosed(a.inner(), published, cellZero, tg.inner):
				rep.errorf("count base %s: %s is suppressed, but its value %d follows from the published cells and the inner cells that published zero cells show to be empty (e.g. %s)",
					q, key, tg.n, a.emptyExample(cellZero, tg.inner))
			}
		}
	}
}

// gapsNear lists the months without data inside the target's months, else the first few.
func (a *attackTable) gapsNear(gaps map[int]string, inner []int32) string {
	var in, all []string
	seen := map[int]bool{}
	for _, j := range inner {
		m := int(j) / a.cube
		if ind, ok := gaps[m]; ok && !seen[m] {
			seen[m] = true
			in = append(in, fmt.Sprintf("%s in %s", civilFromMonthIndex(a.m0 + m).String()[:7], ind))
		}
	}
	for m := range a.m1 - a.m0 {
		if ind, ok := gaps[m]; ok {
			all = append(all, fmt.Sprintf("%s in %s", civilFromMonthIndex(a.m0 + m).String()[:7], ind))
		}
	}
	if len(in) == 0 {
		in = all[:min(len(all), 4)]
		if len(all) > 4 {
			in = append(in, "…")
		}
		return strings.Join(in, ", ") + " (outside the cell, on the path of the derivation)"
	}
	return strings.Join(in, ", ")
}

func (a *attackTable) emptyExample(zero []bool, inner []int32) string {
	var ex []string
	for _, j := range inner {
		if zero[j] {
			ex = append(ex, a.describeInner(j))
			if len(ex) == 3 {
				break
			}
		}
	}
	if len(ex) == 0 {
		return "none needed"
	}
	return strings.Join(ex, "; ")
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// modSpan is the span of 0/1 vectors over the integers modulo the prime 2^61 − 1, in row
// echelon form, with the coordinates known to be zero left out. It is fast; what it
// reports as contained is confirmed with exact rationals.
type modSpan struct {
	keep []int // coordinate → column, -1 when known zero
	n    int
	rows map[int][]uint64 // pivot column → row with 1 at the pivot and 0 before it
}

const modP = 1<<61 - 1

func mulMod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, rem := bits.Div64(hi, lo, modP)
	return rem
}

func powMod(a, e uint64) uint64 {
	r := uint64(1)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mulMod(r, a)
		}
		a = mulMod(a, a)
	}
	return r
}

func newModSpan(inner int, zero []bool) *modSpan {
	s := &modSpan{keep: make([]int, inner), rows: map[int][]uint64{}}
	for j := range s.keep {
		if zero[j] {
			s.keep[j] = -1
		} else {
			s.keep[j] = s.n
			s.n++
		}
	}
	return s
}

func (s *modSpan) dense(v []int32) []uint64 {
	d := make([]uint64, s.n)
	for _, j := range v {
		if c := s.keep[j]; c >= 0 {
			d[c] = 1
		}
	}
	return d
}

func (s *modSpan) reduce(d []uint64) []uint64 {
	for c := 0; c < s.n; c++ {
		if d[c] == 0 {
			continue
		}
		row, ok := s.rows[c]
		if !ok {
			continue
		}
		f := d[c]
		for j := c; j < s.n; j++ {
			if row[j] != 0 {
				d[j] = (d[j] + modP - mulMod(f, row[j])) % modP
			}
		}
	}
	return d
}

func (s *modSpan) add(v []int32) {
	d := s.reduce(s.dense(v))
	for c, x := range d {
		if x != 0 {
			inv := powMod(x, modP-2)
			for j := c; j < s.n; j++ {
				d[j] = mulMod(d[j], inv)
			}
			s.rows[c] = d
			return
		}
	}
}

func (s *modSpan) contains(v []int32) bool {
	for _, x := range s.reduce(s.dense(v)) {
		if x != 0 {
			return false
		}
	}
	return true
}

// exactlyDisclosed reports whether target lies in the span of the published vectors and
// the unit vectors of the zero coordinates, by Gaussian elimination in big.Rat.
func exactlyDisclosed(inner int, published [][]int32, zero []bool, target []int32) bool {
	rows := make([][]*big.Rat, inner) // pivot → row, 1 at the pivot, nil (zero) before it
	vec := func(v []int32) []*big.Rat {
		d := make([]*big.Rat, inner)
		for _, j := range v {
			if !zero[j] {
				d[j] = big.NewRat(1, 1)
			}
		}
		return d
	}
	reduce := func(d []*big.Rat) int {
		for c := range d {
			if d[c] == nil {
				continue
			}
			if rows[c] == nil {
				return c
			}
			f := new(big.Rat).Set(d[c])
			for j := c; j < inner; j++ {
				if x := rows[c][j]; x != nil {
					y := new(big.Rat).Mul(f, x)
					if d[j] != nil {
						y.Sub(d[j], y)
					} else {
						y.Neg(y)
					}
					if y.Sign() == 0 {
						y = nil
					}
					d[j] = y
				}
			}
		}
		return -1
	}
	for _, p := range published {
		d := vec(p)
		piv := reduce(d)
		if piv < 0 {
			continue
		}
		// Finish reducing past the pivot is not needed: rows only need zeros before it.
		inv := new(big.Rat).Inv(d[piv])
		for j := piv; j < inner; j++ {
			if d[j] != nil {
				d[j] = new(big.Rat).Mul(d[j], inv)
			}
		}
		rows[piv] = d
	}
	return reduce(vec(target)) < 0
}

// attackWorld is a small random source for the attacker: two dimensions, a readiness
// flag and visits, over one to two years.
func attackWorld(t testing.TB, rng *rand.Rand) (*world, *table) {
	w := newWorld(t, rng, 0)
	w.dims = w.dims[:2]
	for i := range w.dims {
		if len(w.dims[i].Values) > 4 {
			w.dims[i].Values = w.dims[i].Values[:4]
		}
	}
	tb := &table{Source: "s"}
	for _, d := range w.dims {
		tb.Cols = append(tb.Cols, colDef{Name: w.dimCol[d.Name], Dimension: d.Name})
	}
	tb.Cols = append(tb.Cols, colDef{Name: "date", Type: spec.TypeDate}, colDef{Name: "flag", Type: spec.TypeBoolean}, colDef{Name: "visits", Type: spec.TypeInteger}, colDef{Name: "family", Type: spec.TypeString})
	span := 365 + rng.IntN(366)
	first := civil{2019, 1, 1}.addDays(rng.IntN(730))
	w.first, w.last = first, first.addDays(span-1)
	pFlag := 0.3 + 0.4*rng.Float64()
	rows := 120 + rng.IntN(iterations(400, 700))
	// About one month in four has no rows at all: no data, so its periods are missing and
	// everyone knows the quarters and years around it lack those months.
	gap := map[int]bool{}
	for m := first.monthIndex() + 1; m <= w.last.monthIndex(); m++ {
		gap[m] = rng.IntN(4) == 0
	}
	// Families: one row each (a distinct count is then the rows' count), or a few rows
	// each across months and groups.
	families := rows
	if rng.IntN(2) == 0 {
		families = rows/3 + 1
	}
	for i := range rows {
		fam := i
		if families < rows {
			fam = rng.IntN(families)
		}
		day := first.addDays(rng.IntN(span))
		for gap[day.monthIndex()] {
			day = first.addDays(rng.IntN(span))
		}
		r := map[string]any{"date": day, "flag": rng.Float64() < pFlag, "visits": int64(rng.IntN(6)), "family": fmt.Sprintf("f%d", fam)}
		for _, d := range w.dims {
			wts := w.dimWeights[d.Name][:len(d.Values)]
			wts = append(slices.Clone(wts), w.dimWeights[d.Name][len(w.dimWeights[d.Name])-1])
			if gi := draw(rng, wts); gi < len(d.Values) {
				r[w.dimCol[d.Name]] = d.Values[gi]
			}
		}
		tb.Rows = append(tb.Rows, r)
	}
	return w, tb
}

// attackPlan publishes one source at Month, Quarter and Year grains (calendar and fiscal
// July years), with counts, a proportion and a sum sharing its count base.
func attackPlan(w *world, rng *rand.Rand, filters []spec.Filter) *spec.Aggregate {
	d0, d1 := w.dims[0].Name, w.dims[1].Name
	k := 3 + rng.IntN(8)
	op := func(agg, col string, fs []spec.Filter) spec.Operand {
		return spec.Operand{Source: "s", Aggregate: agg, Column: col, TimeColumn: "date", Filters: slices.Clone(fs)}
	}
	flagged := append(slices.Clone(filters), spec.Filter{Column: "flag", Operator: spec.OpIn, Values: []string{"true"}})
	den := op(spec.Count, "", filters)
	den.Alignment = spec.AlignExact
	flaggedDen := op(spec.Count, "", flagged)
	flaggedDen.Alignment = spec.AlignExact
	both := []string{d0, d1}
	inds := []spec.Indicator{
		{Name: "count_m", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{d0}, Numerator: op(spec.Count, "", filters)},
		{Name: "count_q", Measure: spec.Count, Grain: spec.GrainQuarter, Dimensions: both, Intersections: [][]string{both}, Numerator: op(spec.Count, "", filters)},
		{Name: "count_y", Measure: spec.Count, Grain: spec.GrainYear, Dimensions: both, Intersections: [][]string{{d1, d0}}, Numerator: op(spec.Count, "", filters)},
		{Name: "count_fy", Measure: spec.Count, Grain: spec.GrainYear, FiscalYearStartMonth: 7, Dimensions: []string{d1}, Numerator: op(spec.Count, "", filters)},
		{Name: "share_q", Measure: spec.Proportion, Grain: spec.GrainQuarter, Dimensions: []string{d1}, Numerator: op(spec.Count, "", flagged), Denominator: &den},
		{Name: "flagged_m", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{d1}, Numerator: op(spec.Count, "", flagged)},
		{Name: "visits_y", Measure: spec.Sum, Grain: spec.GrainYear, Dimensions: []string{d0}, Numerator: op(spec.Sum, "visits", filters)},
		{Name: "per_flagged_q", Measure: spec.Ratio, Grain: spec.GrainQuarter, Dimensions: []string{d1}, Numerator: op(spec.Sum, "visits", filters), Denominator: &flaggedDen},
		{Name: "families_m", Measure: spec.DistinctCount, Grain: spec.GrainMonth, Dimensions: []string{d0}, Numerator: op("", "family", filters)},
		{Name: "families_q", Measure: spec.DistinctCount, Grain: spec.GrainQuarter, Dimensions: both, Numerator: op("", "family", filters)},
	}
	rng.Shuffle(len(inds), func(i, j int) { inds[i], inds[j] = inds[j], inds[i] })
	inds = inds[:4+rng.IntN(len(inds)-3)]
	for i := range inds {
		inds[i].MinCellSize = k
	}
	return smallPlan(w.tz, w.dims, inds...)
}

func TestAttackerCannotRecoverSuppressedCells(t *testing.T) {
	n := iterations(4, 12)
	for it := range n {
		seed := uint64(3000 + it)
		rng := rand.New(rand.NewPCG(seed, 0xa77ac))
		w, tb := attackWorld(t, rng)
		var filters []spec.Filter
		if rng.IntN(2) == 0 {
			filters = append(filters, spec.Filter{Column: w.dimCol[w.dims[0].Name], Operator: spec.OpExists})
		}
		p := attackPlan(w, rng, filters)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newEnv(t, w.tz, w.dims, false)
			res := e.runEncoded(p, farFuture, &encoder{rng: rng}, tb)
			r := newReference(p, w.loc, civilOf(farFuture), tb)
			ref, _ := r.cells()
			label := fmt.Sprintf("seed %d (%d rows, k=%d): ", seed, len(tb.Rows), p.Indicators[0].MinCellSize)
			compareWithReference(t, label, res, ref)
			checkAttack(t, label, p, res, ref, r, tb)
			checkAudit(t, label, e, p, res, farFuture, rng, tb)
			if t.Failed() {
				t.Logf("%s plan:%s", label, describePlan(p))
			}
		})
	}
}

// A month without any data is empty, and everyone knows it (its period is missing);
// publishing the quarter and March would give a withheld January back:
// January's 2 women = Q1 − March.
func TestAttackerMonthWithoutData(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}}}
	for _, g := range []struct {
		day   string
		sex   any
		count int
	}{{"2022-01-10", "Female", 2}, {"2022-01-10", "Male", 20}, {"2022-01-10", nil, 6},
		{"2022-03-10", "Female", 10}, {"2022-03-10", "Male", 30}, {"2022-03-10", nil, 7}} {
		tb.Rows = append(tb.Rows, rowsOf(g.count, map[string]any{"date": mustCivil(g.day), "sex": g.sex})...)
	}
	op := spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date"}
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "monthly", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: op},
		spec.Indicator{Name: "quarterly", Measure: spec.Count, Grain: spec.GrainQuarter, Dimensions: []string{"sex"}, MinCellSize: 3, Numerator: op},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	r := newReference(p, e.loc, civilOf(farFuture), tb)
	ref, _ := r.cells()
	compareWithReference(t, "", res, ref)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	jan, mar, q1 := cells[cellKey("monthly", "2022-01-01", female)], cells[cellKey("monthly", "2022-03-01", female)], cells[cellKey("quarterly", "2022-01-01", female)]
	// February has no rows: it is no data, left out (which says it is empty).
	for _, k := range []string{cellKey("monthly", "2022-02-01", female), cellKey("monthly", "2022-02-01", nil)} {
		if feb := cells[k]; feb != nil {
			t.Errorf("February has no rows; cell %s is published: %+v", k, feb)
		}
	}
	if !jan.Suppressed {
		t.Fatalf("January's Female cell of n = 2 is published")
	}
	if !mar.Suppressed && !q1.Suppressed {
		t.Errorf("Q1 Female (%s) and March Female (%s) are published, February has no period (no rows): January Female = %g, the suppressed n = 2",
			fmtPtr(q1.Value), fmtPtr(mar.Value), *q1.Value-*mar.Value)
	}
	checkAttack(t, "", p, res, ref, r, tb)
}

// Two indicators counting the same units, their filters written in a different order, are
// one count base: suppressing a month in one and publishing the year in the other gives
// the month back.
func TestAttackerFiltersInAnotherOrderShareACountBase(t *testing.T) {
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}, {Name: "sex", Dimension: "sex"}, {Name: "flag", Type: spec.TypeBoolean}, {Name: "visits", Type: spec.TypeInteger}}}
	for m := time.January; m <= time.December; m++ {
		female := 10
		if m == time.January {
			female = 2
		}
		for _, g := range []struct {
			sex   any
			count int
		}{{"Female", female}, {"Male", 20}, {nil, 5}} {
			tb.Rows = append(tb.Rows, rowsOf(g.count, map[string]any{"date": civil{2022, m, 5}, "sex": g.sex, "flag": true, "visits": int64(1)})...)
		}
		tb.Rows = append(tb.Rows, rowsOf(3, map[string]any{"date": civil{2022, m, 6}, "sex": "Female", "flag": false, "visits": int64(1)})...)
	}
	flag := spec.Filter{Column: "flag", Operator: spec.OpIn, Values: []string{"true"}}
	visits := spec.Filter{Column: "visits", Operator: spec.OpGt, Values: []string{"0"}}
	p := smallPlan("UTC", []spec.Dimension{sexDim},
		spec.Indicator{Name: "monthly", Measure: spec.Count, Grain: spec.GrainMonth, Dimensions: []string{"sex"}, MinCellSize: 3,
			Numerator: spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date", Filters: []spec.Filter{flag, visits}}},
		spec.Indicator{Name: "yearly", Measure: spec.Count, Grain: spec.GrainYear, Dimensions: []string{"sex"}, MinCellSize: 3,
			Numerator: spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date", Filters: []spec.Filter{visits, flag}}},
	)
	e := newEnv(t, "UTC", p.Dimensions, false)
	res := e.run(p, farFuture, tb)
	r := newReference(p, e.loc, civilOf(farFuture), tb)
	ref, _ := r.cells()
	compareWithReference(t, "", res, ref)
	cells := cellsByKey(t, res)
	female := map[string]string{"sex": "Female"}
	if !cells[cellKey("monthly", "2022-01-01", female)].Suppressed {
		t.Fatalf("January's Female cell of n = 2 is published")
	}
	year := cells[cellKey("yearly", "2022-01-01", female)]
	others := 0.0
	allPublished := !year.Suppressed
	for m := 2; m <= 12; m++ {
		c := cells[cellKey("monthly", fmt.Sprintf("2022-%02d-01", m), female)]
		if c.Suppressed {
			allPublished = false
		} else {
			others += *c.Value
		}
	}
	if allPublished {
		t.Errorf("the year's Female count (%g) and February to December (%g) are published: January Female = %g, the suppressed n = 2", *year.Value, others, *year.Value-others)
	}
	checkAttack(t, "", p, res, ref, r, tb)
}
