package aggregate

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// Distinct counts in the protection problem.
//
// A distinct count is additive wherever its keys each fall in one cell: if no family is
// in two districts in a month, the districts' distinct counts add up to the month's; if
// no family is in two months of a quarter, the months add up to the quarter. And where
// each key has one row in a cell, the distinct count is that cell's count of rows. An
// attacker can verify either from published cells, so the model takes both from the data,
// exactly:
//
//   - the finest periods of the distinct counts of one column (its indicators' grains,
//     nested: month, quarter, year) are split into the component's cube cells; a key
//     belongs to one key period (a period of the coarsest grain) and touches one or more
//     such (period, cube cell) pairs there;
//   - a pair is linked when every key touching it touches nothing else in its key period
//     and its distinct count equals its units: there the distinct count is the count
//     base's, and the pair stands for the dense inner cells of that base;
//   - every other key is counted by its profile, the set of pairs it touches in its key
//     period: each profile is an inner cell of its own, and a distinct cell sums the
//     profiles that touch it.
//
// A distinct cell is then exactly the sum of its inner cells, whatever the data: relations
// that hold are in the model, and those that do not are not. The model leaves out
// multiples (every key with exactly two rows) and relations between distinct counts at
// grains that do not nest (weeks and months), which are modelled apart.

// distinctGroup is the distinct-count runs of one column whose grains nest.
type distinctGroup struct {
	runs         []*indicatorRun
	fine, coarse *indicatorRun
}

// addDistinct adds the cells of the component's distinct counts.
func (p *problem) addDistinct(e *engine, runs []*indicatorRun) error {
	byColumn := map[string][]*indicatorRun{}
	for _, ir := range runs {
		if ir.ind.Measure == spec.DistinctCount {
			k := distinctColumnKey(ir.num)
			byColumn[k] = append(byColumn[k], ir)
		}
	}
	for gi, k := range sortedKeys(byColumn) {
		for si, g := range nestedGroups(byColumn[k]) {
			if err := p.addDistinctGroup(g, fmt.Sprintf("d%d.%d", gi, si)); err != nil {
				return err
			}
		}
	}
	return nil
}

// distinctColumnKey identifies the keys of a distinct count: its base and its column.
func distinctColumnKey(o *operandState) string {
	b, _ := json.Marshal(struct{ Base, Column string }{baseKey(o), o.op.Column})
	return string(b)
}

// nestedGroups splits the runs of one column into groups whose grains form a chain, each
// nesting in the next (month in quarter in year); a grain that does not nest in the others
// (weeks) is a group of its own.
func nestedGroups(runs []*indicatorRun) []distinctGroup {
	from, to := int32(1<<31-1), int32(-1<<31)
	for _, ir := range runs {
		for _, s := range ir.starts {
			from, to = min(from, s), max(to, ir.grain.Next(s)-1)
		}
	}
	var grains []period.Grain
	for _, ir := range runs {
		if !slices.Contains(grains, ir.grain) {
			grains = append(grains, ir.grain)
		}
	}
	// Finest first: more periods over the range.
	count := func(g period.Grain) int {
		n := 0
		for s := g.Start(from); s <= to; s = g.Next(s) {
			n++
		}
		return n
	}
	sort.SliceStable(grains, func(a, b int) bool { return count(grains[a]) > count(grains[b]) })
	chain := true
	for i := 0; i+1 < len(grains) && from <= to; i++ {
		f, g := grains[i], grains[i+1]
		for s := f.Start(from); s <= to; s = f.Next(s) {
			if g.Start(s) != g.Start(f.Next(s)-1) {
				chain = false
			}
		}
	}
	if !chain {
		var out []distinctGroup
		for _, g := range grains {
			var rs []*indicatorRun
			for _, ir := range runs {
				if ir.grain == g {
					rs = append(rs, ir)
				}
			}
			out = append(out, nestedGroups(rs)...)
		}
		return out
	}
	g := distinctGroup{runs: runs}
	for _, ir := range runs {
		if ir.grain == grains[0] && g.fine == nil {
			g.fine = ir
		}
		if ir.grain == grains[len(grains)-1] && g.coarse == nil {
			g.coarse = ir
		}
	}
	return []distinctGroup{g}
}

// distinctModel is the inner structure of one group: by pair (finest period i, cube cell
// y) at i*cube+y, whether it is linked, and the profiles touching it.
type distinctModel struct {
	starts   []int32 // the finest periods
	next     []int32
	linked   []bool
	units    []int64   // the count base's units
	profiles [][]int32 // inner cells (after the dense block) of the profiles touching the pair
}

func (p *problem) addDistinctGroup(g distinctGroup, prefix string) error {
	m, err := p.distinctModel(g)
	if err != nil {
		return err
	}
	base := p.bases[baseKey(g.fine.num)]
	for _, ir := range g.runs {
		for _, c := range ir.cells {
			cs := ir.sets[c.set]
			codes := cs.codes(c.gi)
			from, to := c.start, ir.grain.Next(c.start)
			match := p.matching(cs.dims, codes)
			vec, linked := m.vector(p, from, to, match, base)
			key := cellKey(ir, c, codes)
			countKey := strconv.Itoa(base) + "/" + key
			if linked {
				p.entry(countKey, c.n, c.primary, c.singleton, func() []int32 { return vec }, c)
				continue
			}
			d := p.entry(prefix+"/"+key, c.n, c.primary, c.singleton, func() []int32 { return vec }, c)
			if m.unitsOver(p, from, to, match) == c.n {
				// Every key in the cell has one row in it, though not in every pair: the
				// cell is also the count base's, and publishing it publishes both. The two
				// are one number: neither may be published while the other is withheld.
				n := p.entry(countKey, c.n, c.primary, c.singleton, func() []int32 {
					return p.vector(from, to, cs.dims, codes, base, -1)
				}, c)
				p.aliases = append(p.aliases, [2]int{d, n})
			}
		}
	}
	return nil
}

// distinctModel reads the keys of the group's finest operand.
func (p *problem) distinctModel(g distinctGroup) (*distinctModel, error) {
	o := g.fine.num
	m := &distinctModel{starts: g.fine.starts}
	for _, s := range m.starts {
		m.next = append(m.next, g.fine.grain.Next(s))
	}
	pairs := len(m.starts) * p.cube
	m.linked = make([]bool, pairs)
	m.units = make([]int64, pairs)
	m.profiles = make([][]int32, pairs)
	proj := p.projection(o.src)
	units, _ := o.counts()
	// Key periods, in order: the finest periods grouped by the coarsest grain.
	for lo := 0; lo < len(m.starts); {
		kp := g.coarse.grain.Start(m.starts[lo])
		hi := lo
		for hi < len(m.starts) && g.coarse.grain.Start(m.starts[hi]) == kp {
			hi++
		}
		touched := map[string][]int32{}
		distinct := map[int32]int64{}
		unitsOf := map[int32]int64{}
		for i := lo; i < hi; i++ {
			ord := ordinalOf(o, m.starts[i])
			if ord < 0 {
				continue
			}
			b := int(o.tl.base(ord))
			for x := 0; x < o.src.size; x++ {
				pair := int32(i*p.cube + proj[x])
				unitsOf[pair] += units[b+x]
				for key := range o.set(ord, x) {
					if ps := touched[key]; !slices.Contains(ps, pair) {
						touched[key] = append(ps, pair)
					}
				}
			}
		}
		shared := map[int32]bool{} // pairs touched by a key that touches another pair
		for _, ps := range touched {
			for _, pair := range ps {
				distinct[pair]++
				if len(ps) > 1 {
					shared[pair] = true
				}
			}
		}
		for i := lo; i < hi; i++ {
			for y := 0; y < p.cube; y++ {
				pair := int32(i*p.cube + y)
				m.linked[pair] = !shared[pair] && distinct[pair] == unitsOf[pair]
				m.units[pair] = unitsOf[pair]
			}
		}
		// Profiles of the keys in pairs that are not linked, numbered in sorted order.
		profiles := map[string][]int32{}
		for _, ps := range touched {
			if len(ps) > 1 || !m.linked[ps[0]] {
				slices.Sort(ps)
				profiles[profileKey(ps)] = ps
			}
		}
		for _, k := range sortedKeys(profiles) {
			id := int32(p.dense + p.extra)
			p.extra++
			for _, pair := range profiles[k] {
				m.profiles[pair] = append(m.profiles[pair], id)
			}
		}
		if p.dense+p.extra > 1<<24 {
			return nil, fmt.Errorf("source %q: distinct counts of %q have more than %d key profiles; use fewer dimensions or coarser grains", p.src.name, o.op.Column, p.extra)
		}
		lo = hi
	}
	return m, nil
}

func profileKey(ps []int32) string {
	var b strings.Builder
	for _, x := range ps {
		b.WriteString(strconv.FormatInt(int64(x), 36))
		b.WriteByte(',')
	}
	return b.String()
}

// unitsOver sums the count base's units over [from, to) and the cube cells match.
func (m *distinctModel) unitsOver(p *problem, from, to int32, match []int32) int64 {
	lo := sort.Search(len(m.starts), func(i int) bool { return m.starts[i] >= from })
	hi := sort.Search(len(m.starts), func(i int) bool { return m.starts[i] >= to })
	var n int64
	for i := lo; i < hi; i++ {
		for _, y := range match {
			n += m.units[i*p.cube+int(y)]
		}
	}
	return n
}

// vector lists the inner cells of the distinct cell over [from, to) and the cube cells
// match, and whether every pair in it is linked (the cell is then the count base's).
func (m *distinctModel) vector(p *problem, from, to int32, match []int32, base int) ([]int32, bool) {
	lo := sort.Search(len(m.starts), func(i int) bool { return m.starts[i] >= from })
	hi := sort.Search(len(m.starts), func(i int) bool { return m.starts[i] >= to })
	var pats []int32
	for i, pt := range p.patterns {
		if pt&(1<<base) != 0 {
			pats = append(pats, int32(i))
		}
	}
	np := int32(len(p.patterns))
	var dense, extra []int32
	linked := true
	for i := lo; i < hi; i++ {
		a0 := sort.Search(len(p.bounds), func(j int) bool { return p.bounds[j] >= m.starts[i] })
		a1 := sort.Search(len(p.bounds), func(j int) bool { return p.bounds[j] >= m.next[i] })
		for a := a0; a < a1; a++ {
			for _, y := range match {
				pair := i*p.cube + int(y)
				if !m.linked[pair] {
					continue
				}
				for _, pt := range pats {
					if p.patterns[pt]&p.emptyBases[a] == 0 { // a known zero, as in problem.vector
						dense = append(dense, (int32(a*p.cube)+y)*np+pt)
					}
				}
			}
		}
		for _, y := range match {
			pair := i*p.cube + int(y)
			if !m.linked[pair] {
				linked = false
				extra = append(extra, m.profiles[pair]...)
			}
		}
	}
	slices.Sort(extra)
	return append(dense, slices.Compact(extra)...), linked
}
