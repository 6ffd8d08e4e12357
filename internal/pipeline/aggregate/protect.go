package aggregate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/pipeline/suppress"
)

// protect applies primary and secondary suppression. Indicators whose protected operands
// share a count base (same source, filters and time column) form one protection problem:
// their cells at every grain are linked by the table's additive relations. A Proportion
// links its numerator's base to its denominator's. A DistinctCount joins the problem of
// the count base of its rows: where each key has one row in a cell (one row per family
// and month), its cells are that base's cells, and where they are not, its cells still
// add up wherever the keys fall in one group (see distinct.go).
func (e *engine) protect() error {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] == "" || parent[x] == x {
			parent[x] = x
			return x
		}
		r := find(parent[x])
		parent[x] = r
		return r
	}
	union := func(a, b string) { parent[find(a)] = find(b) }
	for _, ir := range e.runs {
		find(baseKey(ir.num))
		union(nBaseKey(ir), baseKey(ir.num))
		if ir.ind.Measure == spec.Proportion || publishesDenominator(ir) {
			union(baseKey(ir.num), baseKey(ir.den))
		}
	}
	components := map[string][]*indicatorRun{}
	for _, ir := range e.runs {
		root := find(baseKey(ir.num))
		components[root] = append(components[root], ir)
	}
	for _, root := range sortedKeys(components) {
		if err := e.protectComponent(components[root]); err != nil {
			return err
		}
	}
	return nil
}

// problem is one protection problem under construction. Its inner cells are, first, the
// dense block atom of time × cell of the cube over the component's dimensions × pattern of
// membership in its count bases, then the key profiles of distinct counts whose keys do not
// each fall in one cell (distinct.go).
type problem struct {
	src      *source
	bases    map[string]int
	patterns []uint32
	dims     []string
	sizes    []int
	strides  []int
	cube     int
	bounds   []int32  // period boundaries: atom a is [bounds[a], bounds[a+1])
	timeOf   []string // per base: its source and time column
	// emptyBases holds, per atom, the bases known to hold no unit there (bit b for base b;
	// see emptyAtoms): an inner cell whose pattern holds one of them is a known zero.
	emptyBases []uint32
	dense      int // inner cells of the dense block
	extra      int // inner cells after it (distinct key profiles)

	cells []suppress.Cell
	refs  [][]*cell
	index map[string]int
	// noNulls marks the n bases and grains whose cells without nulls are added.
	noNulls map[string]bool
	// aliases pairs the cells that are one published number seen two ways (a distinct
	// cell that is also its count base's): an attacker knows they are equal.
	aliases [][2]int
}

// protectComponent solves one protection problem. The units of a component belong to one
// or more count bases (a Proportion's numerator base is a subset of its denominator's), so
// an inner cell is an atom of time (the intervals between all period boundaries of its
// indicators) × a cell of the cube over all their dimensions × a pattern of membership in
// the bases. A published cell of base b sums the inner cells whose pattern contains b.
//
// A Proportion publishes its numerator and its denominator, each a cell of its base: the
// Proportion's cell is withheld when either is. Sensitive are a numerator below k (0 too:
// a 0 % group tells everyone's answer), a complement (denominator − numerator) below k,
// and a denominator of 0 < n < k; the complement joins the problem as a withheld cell of
// its own, so the denominator's cell stays published by the indicators that publish its
// base (a Count, a Mean) unless the algebra shows a disclosure.
func (e *engine) protectComponent(runs []*indicatorRun) error {
	p, err := e.newProblem(runs)
	if err != nil {
		return err
	}
	if err := p.addDistinct(e, runs); err != nil {
		return err
	}
	inner := p.dense + p.extra
	if inner > 1<<24 {
		return fmt.Errorf("source %q: the protection problem has %d inner cells; use fewer dimensions or coarser grains", p.src.name, inner)
	}
	for _, ir := range runs {
		if ir.ind.Measure != spec.DistinctCount {
			p.addRun(ir)
		}
		p.addNoNulls(ir)
	}
	totals := p.addSourceTotals(runs)
	if !slices.ContainsFunc(p.cells, func(c suppress.Cell) bool { return c.Primary }) {
		return nil // nothing to protect: every cell is published
	}
	sol, err := p.solve(inner)
	if err != nil {
		return err
	}
	suppressed := sol.Withheld
	for i, s := range suppressed {
		for _, c := range p.refs[i] {
			// A Proportion's numerator of 0 that published empty cells already give (a
			// Count of 0 in each month of the quarter) is known whatever is withheld: its
			// Proportion is withheld for it, by its own rule, but another indicator
			// publishing the same number (a Ratio's denominator) need not be.
			c.suppressed = c.suppressed || (s && !sol.KnownEmpty[i]) || c.primary
		}
	}
	for src, cells := range totals {
		if slices.ContainsFunc(cells, func(i int) bool { return suppressed[i] }) && !slices.Contains(e.withheldRowCounts, src) {
			e.withheldRowCounts = append(e.withheldRowCounts, src)
		}
	}
	return nil
}

// solve runs the solver, which knows that aliases are equal (their difference is a known
// zero, as a published empty cell is). So it never publishes one alias and withholds the
// other; should it, the published one is withheld as if it were sensitive and the problem
// solved again (primary cells only grow, so this ends, and the pattern depends on the
// cells alone).
func (p *problem) solve(inner int) (suppress.Solution, error) {
	for {
		sol, err := suppress.SolveFull(suppress.Problem{Inner: inner, Cells: p.cells, Equal: p.aliases})
		if err != nil {
			return sol, fmt.Errorf("suppression over source %q: %w", p.src.name, err)
		}
		suppressed, changed := sol.Withheld, false
		for _, al := range p.aliases {
			for _, x := range [][2]int{al, {al[1], al[0]}} {
				if withheld, published := x[0], x[1]; suppressed[withheld] && !suppressed[published] {
					p.cells[published].Primary = true
					changed = true
				}
			}
		}
		if !changed {
			return sol, nil
		}
	}
}

// newProblem lays out the dense block of a component's inner cells.
func (e *engine) newProblem(runs []*indicatorRun) (*problem, error) {
	p := &problem{src: runs[0].num.src, bases: map[string]int{}, index: map[string]int{}, noNulls: map[string]bool{}}
	baseOf := func(k string, o *operandState) int {
		if i, ok := p.bases[k]; ok {
			return i
		}
		p.bases[k] = len(p.bases)
		p.timeOf = append(p.timeOf, timeAxis(o))
		return p.bases[k]
	}
	type subset struct{ sub, sup int }
	var subsets []subset
	for _, ir := range runs {
		nb := baseOf(baseKey(ir.num), ir.num)
		if k := nBaseKey(ir); k != baseKey(ir.num) {
			subsets = append(subsets, subset{baseOf(k, ir.num), nb})
		}
		if ir.ind.Measure == spec.Proportion {
			if db := baseOf(baseKey(ir.den), ir.den); db != nb {
				subsets = append(subsets, subset{nb, db})
			}
		}
		if publishesDenominator(ir) {
			baseOf(baseKey(ir.den), ir.den)
		}
	}
	if len(p.bases) > 12 {
		return nil, fmt.Errorf("source %q: %d linked count bases in one protection problem; use fewer filter combinations", p.src.name, len(p.bases))
	}
	// Membership patterns: non-empty sets of bases closed under containment.
	for pat := uint32(1); pat < 1<<len(p.bases); pat++ {
		ok := true
		for _, s := range subsets {
			if pat&(1<<s.sub) != 0 && pat&(1<<s.sup) == 0 {
				ok = false
			}
		}
		if ok {
			p.patterns = append(p.patterns, pat)
		}
	}
	// The component's cube: every dimension of its indicators, in vocabulary order.
	used := map[string]bool{}
	for _, ir := range runs {
		for _, d := range ir.ind.Dimensions {
			used[d] = true
		}
	}
	for _, d := range e.plan.Dimensions {
		if used[d.Name] {
			p.dims = append(p.dims, d.Name)
			p.sizes = append(p.sizes, len(d.Values)+1)
		}
	}
	p.cube = 1
	p.strides = make([]int, len(p.sizes))
	for i := len(p.sizes) - 1; i >= 0; i-- {
		p.strides[i] = p.cube
		p.cube *= p.sizes[i]
	}
	// Atoms of time.
	for _, ir := range runs {
		for _, s := range ir.starts {
			p.bounds = append(p.bounds, s, ir.grain.Next(s))
		}
	}
	slices.Sort(p.bounds)
	p.bounds = slices.Compact(p.bounds)
	atoms := max(len(p.bounds)-1, 0)
	p.emptyBases = emptyAtoms(runs, p.bounds, p.timeOf)
	if n := atoms * p.cube * len(p.patterns); n > 1<<24 {
		return nil, fmt.Errorf("source %q: the protection problem has %d inner cells; use fewer dimensions or coarser grains", p.src.name, n)
	} else {
		p.dense = n
	}
	return p, nil
}

// cellKey names a cell of a run within its base: grain, period, set and groups, as
// fmt's "%s/%010d/%s/%v" of the grain (with its fiscal start for years and quarters), the
// period's start, the set's dimensions joined by "×" and its codes. The solver breaks ties
// by the sorted key, so its bytes are part of the suppression pattern: built by hand
// because fmt was a tenth of an aggregation's time at a million rows.
func cellKey(ir *indicatorRun, c *cell, codes []int) string {
	b := make([]byte, 0, 64)
	b = append(b, ir.grain.Name...)
	if gk := ir.grain.Name; gk == spec.GrainYear || gk == spec.GrainQuarter {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(ir.grain.FiscalStart), 10)
	}
	b = append(b, '/')
	b = appendPadded(b, int64(c.start), 10)
	b = append(b, '/')
	for i, d := range ir.sets[c.set].dims {
		if i > 0 {
			b = append(b, "×"...)
		}
		b = append(b, d...)
	}
	b = append(b, '/', '[')
	for i, x := range codes {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(append(b, ']'))
}

// appendPadded appends v in decimal padded with zeros to width characters, sign
// included, as fmt's %0<width>d.
func appendPadded(b []byte, v int64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], uint64(v), 10)
	if v < 0 {
		d = strconv.AppendUint(digits[:0], uint64(-v), 10)
		b = append(b, '-')
		width--
	}
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// entry adds a cell to the problem, or merges it with the cell of the same key (the same
// units published by another indicator), and records which published cells it stands for.
func (p *problem) entry(key string, n int64, primary, singleton bool, vec func() []int32, refs ...*cell) int {
	i, ok := p.index[key]
	if !ok {
		i = len(p.cells)
		p.index[key] = i
		p.cells = append(p.cells, suppress.Cell{Key: key, Inner: vec()})
		p.refs = append(p.refs, nil)
	}
	sc := &p.cells[i]
	sc.N = max(sc.N, n)
	sc.Primary = sc.Primary || primary
	sc.Singleton = sc.Singleton || singleton
	p.refs[i] = append(p.refs[i], refs...)
	return i
}

// addRun adds the cells of an indicator that is not a distinct count.
func (p *problem) addRun(ir *indicatorRun) {
	k := int64(ir.ind.MinCellSize)
	nb := p.bases[nBaseKey(ir)]
	db := -1
	if ir.ind.Measure == spec.Proportion {
		nb, db = p.bases[baseKey(ir.num)], p.bases[baseKey(ir.den)]
	}
	for _, c := range ir.cells {
		cs := ir.sets[c.set]
		codes := cs.codes(c.gi)
		key := cellKey(ir, c, codes)
		from, to := c.start, ir.grain.Next(c.start)
		vec := func(in, out int) func() []int32 {
			return func() []int32 { return p.vector(from, to, cs.dims, codes, in, out) }
		}
		if db < 0 {
			p.entry(strconv.Itoa(nb)+"/"+key, c.n, c.primary, c.singleton, vec(nb, -1), c)
			if publishesDenominator(ir) && c.hasDen {
				// The denominator is published with the cell: a cell of its base.
				b := p.bases[baseKey(ir.den)]
				p.entry(strconv.Itoa(b)+"/"+key, c.den.Units, false, false, vec(b, -1), c)
			}
			continue
		}
		if nb == db {
			// Numerator and denominator count the same units: the cell is 100 % or empty,
			// and a 100 % group is withheld whatever its size.
			p.entry(strconv.Itoa(nb)+"/"+key, c.n, c.primary, c.singleton, vec(nb, -1), c)
			continue
		}
		num, den := int64(c.numerator), c.n
		comp := den - num
		p.entry(strconv.Itoa(nb)+"/"+key, num, den > 0 && num < k, num == 1, vec(nb, -1), c)
		p.entry(strconv.Itoa(db)+"/"+key, den, den > 0 && den < k, den == 1, vec(db, -1), c)
		if den > 0 && comp < k {
			// The complement is published by no one, and must not be derivable.
			p.entry(strconv.Itoa(db)+"-"+strconv.Itoa(nb)+"/"+key, comp, true, comp == 1, vec(db, nb))
		}
	}
}

// publishesDenominator reports whether an indicator publishes, beside its n, the count of
// another base in the same period: a Ratio's denominator. (A Rate's denominator is a
// census population, public; a denominator of the latest available period is another
// period's.)
func publishesDenominator(ir *indicatorRun) bool {
	return ir.ind.Measure == spec.Ratio && ir.den != nil && ir.ind.Denominator.Alignment != spec.AlignLatestAvailable
}

// nBaseKey is the base of the units an indicator's n counts. For a Sum, a Mean, or a Ratio
// or Rate of a Sum, n counts the units with a value of the column: the operand's units when
// the column has no nulls, and otherwise a subset of them, a base of its own.
func nBaseKey(ir *indicatorRun) string {
	o := ir.num
	switch ir.ind.Measure {
	case spec.Sum, spec.Mean, spec.Ratio, spec.Rate:
		if o.valueCol >= 0 && o.op.Aggregate == spec.Sum && !o.subset && o.hasNulls() {
			return baseKey(o) + "\x00non-null " + o.op.Column
		}
	}
	return baseKey(o)
}

// hasNulls reports whether any unit of the operand has no value of its column.
func (o *operandState) hasNulls() bool {
	units, _ := o.counts()
	for k := slotCells; k < len(o.acc.n) && k < len(units); k++ {
		if units[k] != o.acc.n[k] {
			return true
		}
	}
	return false
}

// addNoNulls adds, for an indicator whose n counts the units with a value, the cells of its
// periods and cube cells in which every unit has a value: there its units and its n are
// equal, which anyone can check where both are published. Each is a published empty cell:
// the units without a value there are none.
func (p *problem) addNoNulls(ir *indicatorRun) {
	nk := nBaseKey(ir)
	if nk == baseKey(ir.num) || p.noNulls[nk+"\x00"+ir.grain.Name] {
		return
	}
	p.noNulls[nk+"\x00"+ir.grain.Name] = true
	o := ir.num
	nb, ub := p.bases[nk], p.bases[baseKey(o)]
	units, _ := o.counts()
	proj := p.projection(o.src)
	nulls := make([]int64, p.cube)
	for _, start := range ir.starts {
		clear(nulls)
		if ord := ordinalOf(o, start); ord >= 0 {
			b := int(o.tl.base(ord))
			for x := 0; x < o.src.size; x++ {
				nulls[proj[x]] += units[b+x] - o.acc.n[b+x]
			}
		}
		from, to := start, ir.grain.Next(start)
		for y, z := range nulls {
			if z != 0 {
				continue
			}
			codes := make([]int, len(p.dims))
			for i := range p.dims {
				codes[i] = (y / p.strides[i]) % p.sizes[i]
			}
			key := noNullsKey(ub, nb, ir.grain.Name, start, y)
			p.entry(key, 0, false, false, func() []int32 { return p.vector(from, to, p.dims, codes, ub, nb) })
		}
	}
}

// noNullsKey names a published empty cell of addNoNulls, as fmt's "%d-%d/%s/%010d/%d".
func noNullsKey(ub, nb int, grain string, start int32, y int) string {
	b := make([]byte, 0, 48)
	b = strconv.AppendInt(b, int64(ub), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(nb), 10)
	b = append(b, '/')
	b = append(b, grain...)
	b = append(b, '/')
	b = appendPadded(b, int64(start), 10)
	b = append(b, '/')
	return string(strconv.AppendInt(b, int64(y), 10))
}

// projection maps a source's cube cells to the component's.
func (p *problem) projection(s *source) []int {
	proj := make([]int, s.size)
	pos := make([]int, len(p.dims))
	for i, d := range p.dims {
		pos[i] = slices.Index(s.dims, d)
	}
	for x := range proj {
		y := 0
		for i, sd := range pos {
			if sd >= 0 { // a dimension of another source's indicators: its first group
				y += ((x / s.strides[sd]) % s.sizes[sd]) * p.strides[i]
			}
		}
		proj[x] = y
	}
	return proj
}

// addSourceTotals adds, for every base that counts all of a source's rows, its total over
// every period: the snapshot's published row count (rows_ok, less the rows without a time
// value, which every indicator reports) is that cell. It returns the cells added, by source.
func (p *problem) addSourceTotals(runs []*indicatorRun) map[string][]int {
	out := map[string][]int{}
	done := map[int]bool{}
	for _, ir := range runs {
		for _, o := range []*operandState{ir.num, ir.den} {
			if o == nil || len(o.op.Filters) > 0 || o.subset {
				continue
			}
			b, ok := p.bases[baseKey(o)]
			if !ok || done[b] {
				continue
			}
			done[b] = true
			var total int64
			units, _ := o.counts()
			for ord := range o.tl.starts {
				base := int(o.tl.base(int32(ord)))
				for x := 0; x < o.src.size; x++ {
					total += units[base+x]
				}
			}
			if total == 0 || total+o.noPeriod != o.src.man.RowsOK || len(p.bounds) < 2 {
				continue
			}
			first, last := p.bounds[0], p.bounds[len(p.bounds)-1]
			out[o.src.name] = append(out[o.src.name], p.entry(strconv.Itoa(b)+"/all", total, false, total == 1, func() []int32 {
				return p.vector(first, last, nil, nil, b, -1)
			}))
		}
	}
	return out
}

// emptyAtoms marks, per atom of time, the bases known to hold no unit there. An indicator
// publishes every period of its grain in which its source has rows in its time column,
// so a day outside its periods has none in that source and time column, and everyone can
// tell (the period is missing). Such an atom is a known zero for every base of that time
// axis: it is left out of every vector (a quarter whose February has no rows sums January
// and March only), so the algebra sees what an attacker subtracts. Another source, or
// another time column, may have rows there (the denominator of a Ratio across sources):
// its atoms are known empty only by its own indicators' missing periods.
func emptyAtoms(runs []*indicatorRun, bounds []int32, timeOf []string) []uint32 {
	atoms := max(len(bounds)-1, 0)
	empty := map[string][]bool{}
	for _, ir := range runs {
		base := ir.num
		if ir.ind.Measure == spec.Proportion {
			base = ir.den
		}
		tk := timeAxis(base)
		if empty[tk] == nil {
			empty[tk] = make([]bool, atoms)
		}
		for a := range empty[tk] {
			// Atoms never straddle a published period's boundary.
			_, covered := slices.BinarySearch(ir.starts, ir.grain.Start(bounds[a]))
			empty[tk][a] = empty[tk][a] || !covered
		}
	}
	out := make([]uint32, atoms)
	for b, tk := range timeOf {
		for a, e := range empty[tk] {
			if e {
				out[a] |= 1 << b
			}
		}
	}
	return out
}

// timeAxis names the time axis of an operand's units: its source and time column.
func timeAxis(o *operandState) string { return o.op.Source + "\x00" + o.op.TimeColumn }

// vector lists the dense inner cells a cell of base in (less those of base out, when out ≥
// 0) sums: every atom inside [from, to) that may hold units, every cube cell whose codes
// match the groups, and every membership pattern that contains in and not out.
func (p *problem) vector(from, to int32, setDims []string, codes []int, in, out int) []int32 {
	first := sort.Search(len(p.bounds), func(i int) bool { return p.bounds[i] >= from })
	last := sort.Search(len(p.bounds), func(i int) bool { return p.bounds[i] >= to })
	match := p.matching(setDims, codes)
	var pats []int32
	for i, pt := range p.patterns {
		if pt&(1<<in) != 0 && (out < 0 || pt&(1<<out) == 0) {
			pats = append(pats, int32(i))
		}
	}
	np := int32(len(p.patterns))
	res := make([]int32, 0, (last-first)*len(match)*len(pats))
	for a := first; a < last; a++ {
		for _, c := range match {
			for _, pt := range pats {
				if p.patterns[pt]&p.emptyBases[a] == 0 {
					res = append(res, (int32(a*p.cube)+c)*np+pt)
				}
			}
		}
	}
	return res
}

// matching lists, ascending, the cube cells whose codes on setDims are codes. It steps
// through the cells of the other dimensions as an odometer, the last dimension fastest
// (the smallest stride), so the cells come in ascending order without a scan of the cube.
func (p *problem) matching(setDims []string, codes []int) []int32 {
	if p.cube == 0 {
		return nil
	}
	fixed := make([]int, len(p.dims))
	for i := range fixed {
		fixed[i] = -1
	}
	for i, d := range setDims {
		ps := slices.Index(p.dims, d)
		if codes[i] < 0 || codes[i] >= p.sizes[ps] || (fixed[ps] >= 0 && fixed[ps] != codes[i]) {
			return nil
		}
		fixed[ps] = codes[i]
	}
	c, n := 0, 1
	for i, f := range fixed {
		if f >= 0 {
			c += f * p.strides[i]
		} else {
			n *= p.sizes[i]
		}
	}
	match := make([]int32, 0, n)
	digits := make([]int, len(p.dims))
	for {
		match = append(match, int32(c))
		i := len(p.dims) - 1
		for ; i >= 0; i-- {
			if fixed[i] >= 0 {
				continue
			}
			digits[i]++
			c += p.strides[i]
			if digits[i] < p.sizes[i] {
				break
			}
			c -= digits[i] * p.strides[i]
			digits[i] = 0
		}
		if i < 0 {
			return match
		}
	}
}
