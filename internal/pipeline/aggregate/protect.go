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
// their cells at every grain are linked by the table's additive relations, and a cell
// suppressed for one is suppressed for all. Distinct counts are not additive: they are
// protected on their own n.
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
		if ir.ind.Measure == spec.DistinctCount {
			for _, c := range ir.cells {
				c.suppressed = c.primary
			}
			continue
		}
		find(baseKey(ir.num))
		if ir.ind.Measure == spec.Proportion {
			union(baseKey(ir.num), baseKey(ir.den))
		}
	}
	components := map[string][]*indicatorRun{}
	for _, ir := range e.runs {
		if ir.ind.Measure != spec.DistinctCount {
			root := find(baseKey(ir.num))
			components[root] = append(components[root], ir)
		}
	}
	for _, root := range sortedKeys(components) {
		if err := e.protectComponent(components[root]); err != nil {
			return err
		}
	}
	return nil
}

// protectComponent solves one protection problem. The units of a component belong to one
// or more count bases (a Proportion's numerator base is a subset of its denominator's), so
// an inner cell is an atom of time (the intervals between all period boundaries of its
// indicators) × a cell of the cube over all their dimensions × a pattern of membership in
// the bases. A published cell of base b sums the inner cells whose pattern contains b. A
// Proportion publishes two such cells (numerator and denominator) that are suppressed
// together: when the solver splits a pair, both become primary and it solves again.
func (e *engine) protectComponent(runs []*indicatorRun) error {
	src := runs[0].num.src
	// Bases and containment.
	bases := map[string]int{}
	baseOf := func(o *operandState) int {
		k := baseKey(o)
		if i, ok := bases[k]; ok {
			return i
		}
		bases[k] = len(bases)
		return bases[k]
	}
	type subset struct{ sub, sup int }
	var subsets []subset
	for _, ir := range runs {
		nb := baseOf(ir.num)
		if ir.ind.Measure == spec.Proportion {
			if db := baseOf(ir.den); db != nb {
				subsets = append(subsets, subset{nb, db})
			}
		}
	}
	if len(bases) > 12 {
		return fmt.Errorf("source %q: %d linked count bases in one protection problem; use fewer filter combinations", src.name, len(bases))
	}
	// Membership patterns: non-empty sets of bases closed under containment.
	var patterns []uint32
	for pat := uint32(1); pat < 1<<len(bases); pat++ {
		ok := true
		for _, s := range subsets {
			if pat&(1<<s.sub) != 0 && pat&(1<<s.sup) == 0 {
				ok = false
			}
		}
		if ok {
			patterns = append(patterns, pat)
		}
	}
	// The component's cube: every dimension of its indicators, in vocabulary order.
	used := map[string]bool{}
	for _, ir := range runs {
		for _, d := range ir.ind.Dimensions {
			used[d] = true
		}
	}
	var dims []string
	var sizes []int
	for _, d := range e.plan.Dimensions {
		if used[d.Name] {
			dims = append(dims, d.Name)
			sizes = append(sizes, len(d.Values)+1)
		}
	}
	cube := 1
	strides := make([]int, len(sizes))
	for i := len(sizes) - 1; i >= 0; i-- {
		strides[i] = cube
		cube *= sizes[i]
	}
	// Atoms of time.
	var bounds []int32
	for _, ir := range runs {
		for _, s := range ir.starts {
			bounds = append(bounds, s, ir.grain.Next(s))
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	atoms := max(len(bounds)-1, 0)
	empty := emptyAtoms(runs, bounds)
	inner := atoms * cube * len(patterns)
	if inner > 1<<24 {
		return fmt.Errorf("source %q: the protection problem has %d inner cells; use fewer dimensions or coarser grains", src.name, inner)
	}

	type ref struct {
		ir *indicatorRun
		c  *cell
	}
	index := map[string]int{}
	var cells []suppress.Cell
	var refs [][]ref
	var pairs [][2]int
	entry := func(base int, key string, ir *indicatorRun, c *cell, n int64, singleton bool, vec func() []int32) int {
		key = strconv.Itoa(base) + "/" + key
		i, ok := index[key]
		if !ok {
			i = len(cells)
			index[key] = i
			cells = append(cells, suppress.Cell{Key: key, Inner: vec()})
			refs = append(refs, nil)
		}
		sc := &cells[i]
		sc.N = max(sc.N, n)
		sc.Primary = sc.Primary || c.primary
		sc.Singleton = sc.Singleton || singleton
		refs[i] = append(refs[i], ref{ir, c})
		return i
	}
	for _, ir := range runs {
		gk := ir.grain.Name
		if gk == spec.GrainYear || gk == spec.GrainQuarter {
			gk += "/" + strconv.Itoa(ir.grain.FiscalStart)
		}
		nb := bases[baseKey(ir.num)]
		db := -1
		if ir.ind.Measure == spec.Proportion {
			db = bases[baseKey(ir.den)]
		}
		for _, c := range ir.cells {
			cs := ir.sets[c.set]
			codes := cs.codes(c.gi)
			key := fmt.Sprintf("%s/%010d/%s/%v", gk, c.start, cs.key(), codes)
			vec := func(base int) func() []int32 {
				return func() []int32 {
					return innerCells(bounds, empty, c.start, ir.grain.Next(c.start), cube, dims, strides, sizes, cs.dims, codes, patterns, base)
				}
			}
			if db < 0 {
				entry(nb, key, ir, c, c.n, c.n == 1, vec(nb))
				continue
			}
			num := int64(c.numerator)
			ni := entry(nb, key, ir, c, num, num == 1, vec(nb))
			di := entry(db, key, ir, c, c.n, c.n == 1, vec(db))
			if ni != di {
				pairs = append(pairs, [2]int{ni, di})
			}
		}
	}
	for {
		suppressed, err := suppress.Solve(suppress.Problem{Inner: inner, Cells: cells})
		if err != nil {
			return fmt.Errorf("suppression over source %q: %w", src.name, err)
		}
		split := false
		for _, p := range pairs {
			if suppressed[p[0]] != suppressed[p[1]] {
				cells[p[0]].Primary, cells[p[1]].Primary = true, true
				split = true
			}
		}
		if split {
			continue
		}
		for i, s := range suppressed {
			for _, r := range refs[i] {
				r.c.suppressed = r.c.suppressed || s
			}
		}
		return nil
	}
}

// emptyAtoms marks the atoms of time known to hold no unit: those outside every period an
// indicator publishes. An indicator publishes every period of its grain in which the
// source has rows, so a day outside its periods has none, and everyone can tell (the
// period is missing). Such an atom is a known zero: it is left out of every vector (a
// quarter whose February has no rows sums January and March only), so the algebra sees
// what an attacker subtracts.
func emptyAtoms(runs []*indicatorRun, bounds []int32) []bool {
	empty := make([]bool, max(len(bounds)-1, 0))
	for _, ir := range runs {
		for a := range empty {
			// Atoms never straddle a published period's boundary.
			_, covered := slices.BinarySearch(ir.starts, ir.grain.Start(bounds[a]))
			empty[a] = empty[a] || !covered
		}
	}
	return empty
}

// innerCells lists the inner cells a published cell of one base sums: every atom inside
// [from, to) that may hold units, every cube cell whose codes match the cell's groups,
// and every membership pattern that contains the base.
func innerCells(bounds []int32, empty []bool, from, to int32, cube int, dims []string, strides, sizes []int, setDims []string, codes []int, patterns []uint32, base int) []int32 {
	first := sort.Search(len(bounds), func(i int) bool { return bounds[i] >= from })
	last := sort.Search(len(bounds), func(i int) bool { return bounds[i] >= to })
	pos := make([]int, len(setDims))
	for i, d := range setDims {
		pos[i] = slices.Index(dims, d)
	}
	var match []int32
	for c := 0; c < cube; c++ {
		ok := true
		for i, p := range pos {
			if (c/strides[p])%sizes[p] != codes[i] {
				ok = false
				break
			}
		}
		if ok {
			match = append(match, int32(c))
		}
	}
	var pats []int32
	for i, p := range patterns {
		if p&(1<<base) != 0 {
			pats = append(pats, int32(i))
		}
	}
	np := int32(len(patterns))
	out := make([]int32, 0, (last-first)*len(match)*len(pats))
	for a := first; a < last; a++ {
		if empty[a] {
			continue
		}
		for _, c := range match {
			for _, p := range pats {
				out = append(out, (int32(a*cube)+c)*np+p)
			}
		}
	}
	return out
}
