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

// protectComponent solves one protection problem. Its inner cells are every combination
// of an atom of time (the intervals between all period boundaries of its indicators) and a
// cell of the cube over all their dimensions.
func (e *engine) protectComponent(runs []*indicatorRun) error {
	src := runs[0].num.src
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
	inner := atoms * cube
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
	for _, ir := range runs {
		gk := ir.grain.Name
		if gk == spec.GrainYear || gk == spec.GrainQuarter {
			gk += "/" + strconv.Itoa(ir.grain.FiscalStart)
		}
		for _, c := range ir.cells {
			cs := ir.sets[c.set]
			codes := cs.codes(c.gi)
			key := fmt.Sprintf("%s/%010d/%s/%v", gk, c.start, cs.key(), codes)
			i, ok := index[key]
			if !ok {
				i = len(cells)
				index[key] = i
				cells = append(cells, suppress.Cell{Key: key, Inner: innerCells(bounds, c.start, ir.grain.Next(c.start), cube, dims, strides, sizes, cs.dims, codes)})
				refs = append(refs, nil)
			}
			sc := &cells[i]
			sc.N = max(sc.N, c.n)
			sc.Primary = sc.Primary || c.primary
			sc.Singleton = sc.Singleton || c.singleton
			refs[i] = append(refs[i], ref{ir, c})
		}
	}
	suppressed, err := suppress.Solve(suppress.Problem{Inner: inner, Cells: cells})
	if err != nil {
		return fmt.Errorf("suppression over source %q: %w", src.name, err)
	}
	for i, s := range suppressed {
		for _, r := range refs[i] {
			r.c.suppressed = s
		}
	}
	return nil
}

// innerCells lists the inner cells a published cell sums: every atom inside [from, to) and
// every cube cell whose codes match the cell's groups.
func innerCells(bounds []int32, from, to int32, cube int, dims []string, strides, sizes []int, setDims []string, codes []int) []int32 {
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
	out := make([]int32, 0, (last-first)*len(match))
	for a := first; a < last; a++ {
		for _, c := range match {
			out = append(out, int32(a*cube)+c)
		}
	}
	return out
}
