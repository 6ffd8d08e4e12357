package suppress

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Cell is one publishable cell of a protection problem.
type Cell struct {
	// Key identifies the cell; it is unique within the problem and breaks
	// ties between cells of equal N.
	Key string
	// N is the protected count. Cells with a smaller N are withheld first.
	N int64
	// Inner lists, strictly increasing, the inner cells this cell sums.
	Inner []int32
	// Primary marks a cell that must be withheld (for example 0 < N < k).
	Primary bool
	// Singleton marks a cell with exactly one contributor (N == 1, or a
	// proportion whose numerator or complement is 1): that contributor
	// knows the cell's value.
	Singleton bool
}

// Problem is one protection problem: the cells sharing one count base, over
// Inner inner cells numbered 0 to Inner-1.
type Problem struct {
	Inner int
	Cells []Cell
	// Equal lists pairs of cells (indices into Cells) that are one number over
	// different inner cells (a distinct count that is also its rows' count):
	// the difference of their vectors is a known zero, which an attacker uses
	// like a published empty cell.
	Equal [][2]int
}

// validate checks the problem and returns the cell indices sorted by key.
func (p Problem) validate() ([]int, error) {
	if p.Inner < 0 {
		return nil, fmt.Errorf("suppress: negative number of inner cells %d", p.Inner)
	}
	for i := range p.Cells {
		c := &p.Cells[i]
		if c.N < 0 {
			return nil, fmt.Errorf("suppress: cell %q has negative n %d", c.Key, c.N)
		}
		for j, x := range c.Inner {
			if x < 0 || int(x) >= p.Inner {
				return nil, fmt.Errorf("suppress: cell %q: inner cell %d out of range [0, %d)", c.Key, x, p.Inner)
			}
			if j > 0 && x <= c.Inner[j-1] {
				return nil, fmt.Errorf("suppress: cell %q: inner cells not strictly increasing (%d after %d)", c.Key, x, c.Inner[j-1])
			}
		}
	}
	for _, e := range p.Equal {
		for _, i := range e {
			if i < 0 || i >= len(p.Cells) {
				return nil, fmt.Errorf("suppress: equal cells %v: index out of range [0, %d)", e, len(p.Cells))
			}
		}
	}
	byKey := make([]int, len(p.Cells))
	for i := range byKey {
		byKey[i] = i
	}
	slices.SortFunc(byKey, func(a, b int) int { return cmp.Compare(p.Cells[a].Key, p.Cells[b].Key) })
	for j := 1; j < len(byKey); j++ {
		if k := p.Cells[byKey[j]].Key; k == p.Cells[byKey[j-1]].Key {
			return nil, fmt.Errorf("suppress: duplicate cell key %q", k)
		}
	}
	return byKey, nil
}

// Solve returns, for each cell of p in input order, whether it is withheld:
// every primary cell, and the complementary cells chosen so that no withheld
// cell is disclosed by the published ones (see the package documentation).
// The result depends only on the set of cells, not on their order.
func Solve(p Problem) ([]bool, error) {
	s, err := SolveFull(p)
	return s.Withheld, err
}

// Solution is a suppression pattern and what the solver learnt finding it.
type Solution struct {
	// Withheld marks, per cell in input order, whether it is withheld.
	Withheld []bool
	// KnownEmpty marks the primary cells that the published empty cells (and
	// the differences of equal cells) alone determine: everyone knows they are
	// empty whatever else is withheld, so another cell publishing the same
	// number needs no withholding for their sake.
	KnownEmpty []bool
}

// SolveFull is Solve with the known empty primary cells.
func SolveFull(p Problem) (Solution, error) {
	byKey, err := p.validate()
	if err != nil {
		return Solution{}, err
	}
	if s, ok := solveSmall(p, byKey, defaultLimit); ok {
		return s, nil
	}
	return solve(bigField{}, p, byKey), nil
}

// solveSmall runs the elimination in int64 and reports false if a
// coefficient outgrew limit.
func solveSmall(p Problem, byKey []int, limit uint64) (s Solution, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(overflow); !is {
				panic(r)
			}
			s, ok = Solution{}, false
		}
	}()
	return solve(smallField{limit: limit}, p, byKey), true
}

// class is a set of withheld cells whose residuals are proportional: they
// share one primitive residual v: each is a multiple of any other plus a
// combination of published cells.
type class[T any] struct {
	v         vec[T]
	h         uint64
	primary   bool // holds a primary cell
	singleton bool // holds a singleton cell
}

type solver[T any, F field[T]] struct {
	f     F
	cells []Cell

	// Published vectors in reduced row echelon form: rows[pivot[j]] is the
	// row whose pivot is inner cell j, and every row is zero at the other
	// rows' pivots.
	pivot []int32
	rows  []vec[T]
	// holders[j] lists the rows with a non-zero coefficient at inner cell j:
	// a new pivot is eliminated from those rows only.
	holders [][]int32

	classes []*class[T] // nil once merged into another class
	live    []int32     // ids of the classes still in use, ascending
	// classHolders[j] lists the live classes whose residual is non-zero at inner
	// cell j: publishing a pivot changes those classes only.
	classHolders [][]int32
	index        map[uint64][]int32

	changes  []change[T]
	ids      []int32
	clusters []cluster[T]
	byHash   map[uint64][]int
	// uses lists, per inner cell, the positions in the order of candidates of the
	// candidates that sum it (uses[useAt[j]:useAt[j+1]], ascending); next[j] is the first
	// of them not yet offered, and now the position of the candidate being offered.
	uses  []int32
	useAt []int32
	next  []int32
	now   int32

	// spare is the storage of the row replaced last, reused for the next replacement;
	// holding is addRow's copy of the rows to update.
	spare   vec[T]
	holding []int32
	// work holds reduce's intermediate vectors and pool tryPublish's changed residuals,
	// reused from call to call; what is kept is copied out of them.
	work [2]vec[T]
	pool []vec[T]
	// combined counts the coefficients the combinations read: the elimination's work.
	combined int
}

type change[T any] struct {
	id int32
	v  vec[T]
	h  uint64
}

// cluster is a set of classes whose residuals become equal when a cell is
// published.
type cluster[T any] struct {
	v         vec[T]
	h         uint64
	ids       []int32 // the classes, changed or not
	unchanged int32   // the class among ids whose residual was already v, or -1
}

func solve[T any, F field[T]](f F, p Problem, byKey []int) Solution {
	s, _ := solvePivoting(f, p, byKey, choosesPivots(p))
	return s
}

// maxChosenCoverage is the most cells per inner cell at which pivots are chosen (pivotOf)
// rather than taken at each vector's first cell. A table of one or two dimensions by
// month, quarter and year has 6 or 12; there chosen pivots combined 0.42–0.81 times the
// coefficients on every table measured (the samples, the benchmark's shapes, tables of
// skewed group sizes), 1.12 times on one of random sizes. With three dimensions (24),
// where every inner cell is summed by many candidates soon, the first cell keeps rows
// in the cells' order and did better: 0.92–1.41 times the other way round
// (TestPivotWork).
const maxChosenCoverage = 16

// choosesPivots reports whether p is solved with chosen pivots: whether its cells sum,
// on average, at most maxChosenCoverage cells per inner cell.
func choosesPivots(p Problem) bool {
	total := 0
	for i := range p.Cells {
		total += len(p.Cells[i].Inner)
	}
	return total <= maxChosenCoverage*p.Inner
}

// solvePivoting is solve, choosing pivots by pivotOf or, when chosen is false, at each
// vector's first cell (tests compare the two: same pattern, different work). It also
// returns the work (solver.combined).
func solvePivoting[T any, F field[T]](f F, p Problem, byKey []int, chosen bool) (Solution, int) {
	s := &solver[T, F]{
		f:            f,
		cells:        p.Cells,
		now:          -1,
		pivot:        make([]int32, p.Inner),
		holders:      make([][]int32, p.Inner),
		classHolders: make([][]int32, p.Inner),
		index:        make(map[uint64][]int32),
		byHash:       make(map[uint64][]int),
	}
	for j := range s.pivot {
		s.pivot[j] = -1
	}
	suppressed := make([]bool, len(p.Cells))
	knownEmpty := make([]bool, len(p.Cells))

	// Candidates, largest first.
	cand := make([]int, 0, len(byKey))
	for _, i := range byKey {
		if c := &p.Cells[i]; c.N > 0 && !c.Primary {
			cand = append(cand, i)
		}
	}
	slices.SortStableFunc(cand, func(a, b int) int { return cmp.Compare(p.Cells[b].N, p.Cells[a].N) })
	if chosen {
		s.indexUses(cand)
	}

	// Published empty cells first: they protect nothing.
	for _, i := range byKey {
		if c := &p.Cells[i]; c.N == 0 && !c.Primary {
			if w := s.reduce(f.ones(c.Inner)); !w.isZero() {
				s.addRow(w, s.pivotOf(w))
			}
		}
	}
	// Known zeros too: the differences of equal cells.
	for _, e := range p.Equal {
		d := f.combine(f.one(), f.ones(p.Cells[e[0]].Inner), f.one(), f.ones(p.Cells[e[1]].Inner))
		if w := s.reduce(d); !w.isZero() {
			s.addRow(w, s.pivotOf(w))
		}
	}
	// Primary cells. One whose residual is already zero is a combination of
	// published empty cells, known to be empty whatever else is done.
	for _, i := range byKey {
		if c := &p.Cells[i]; c.Primary {
			suppressed[i] = true
			r := s.reduce(f.ones(c.Inner))
			knownEmpty[i] = r.isZero()
			s.withhold(i, r)
		}
	}
	// The candidates, in that order.
	for n, i := range cand {
		s.now = int32(n)
		if w, ok := s.tryPublish(i); !ok {
			suppressed[i] = true
			s.withhold(i, w)
		}
	}
	return Solution{Withheld: suppressed, KnownEmpty: knownEmpty}, s.combined
}

// indexUses records which candidates, in the order they are offered, sum each inner
// cell (see pivotOf).
func (s *solver[T, F]) indexUses(cand []int) {
	n := len(s.pivot)
	s.useAt = make([]int32, n+1)
	for _, i := range cand {
		for _, j := range s.cells[i].Inner {
			s.useAt[j+1]++
		}
	}
	for j := 0; j < n; j++ {
		s.useAt[j+1] += s.useAt[j]
	}
	s.next = slices.Clone(s.useAt[:n])
	s.uses = make([]int32, s.useAt[n])
	for pos, i := range cand {
		for _, j := range s.cells[i].Inner {
			s.uses[s.next[j]] = int32(pos)
			s.next[j]++
		}
	}
	copy(s.next, s.useAt[:n])
}

// pivotOf chooses the pivot of the reduced, non-zero vector w. Any of w's cells would
// do (w is zero at every pivot) and the pattern does not depend on the choice, only the
// work does: every row and withheld class non-zero at the new pivot is rewritten now,
// and every later vector non-zero at it is reduced by its row. So the pivot is the
// cell held by the fewest rows and classes; among those, the one that the candidates
// still to be offered sum last, or not at all; then the one they sum least often; then
// the first. At the first cell alone, a month's total would pivot at the cell of its
// largest group, offered next: that cell's reduced vector would be the rest of the
// month, and so on down the month, every vector as long as the month. On the engine
// benchmark's flights shape at 1M rows (2,760 inner cells, 2,859 cells) this choice
// combines 0.51 million coefficients instead of 1.18 million; TestPivotWork measures
// it on other shapes. Problems of more than two crossed dimensions keep the first cell
// (choosesPivots).
func (s *solver[T, F]) pivotOf(w vec[T]) int {
	if s.next == nil {
		return 0 // solvePivoting without chosen pivots
	}
	best := 0
	var bestHeld, bestUse, bestLeft int32
	for k, j := range w.idx {
		held := int32(len(s.holders[j]) + len(s.classHolders[j]))
		if k > 0 && held > bestHeld {
			continue
		}
		end := s.useAt[j+1]
		for s.next[j] < end && s.uses[s.next[j]] <= s.now {
			s.next[j]++
		}
		use, left := int32(math.MaxInt32), end-s.next[j] // never summed again
		if left > 0 {
			use = s.uses[s.next[j]]
		}
		if k == 0 || held < bestHeld || (held == bestHeld && (use > bestUse || (use == bestUse && left < bestLeft))) {
			best, bestHeld, bestUse, bestLeft = k, held, use, left
		}
	}
	return best
}

// reduce returns v reduced against the published rows: zero at every pivot,
// and zero altogether exactly when v is in their span.
func (s *solver[T, F]) reduce(v vec[T]) vec[T] {
	// Rows are zero at each other's pivots, so eliminating one pivot never
	// creates a non-zero at another: the pivots to visit are those of v.
	// The intermediate vectors alternate between the two work buffers; the result is
	// copied out when it is one of them.
	orig, in := v.idx, -1
	for _, j := range orig {
		r := s.pivot[j]
		if r < 0 {
			continue
		}
		c, ok := s.f.coef(v, j)
		if !ok {
			continue
		}
		row := s.rows[r]
		rp, _ := s.f.coef(row, j)
		in = (in + 1) % 2
		s.combined += len(v.idx) + len(row.idx)
		v = s.f.combineInto(s.work[in], rp, v, c, row)
		s.work[in] = v
	}
	if in >= 0 {
		v = vec[T]{idx: slices.Clone(v.idx), val: slices.Clone(v.val)}
	}
	return v
}

// addRow adds a reduced, non-zero vector to the published rows.
func (s *solver[T, F]) addRow(w vec[T], k int) {
	p, wp := w.idx[k], w.val[k]
	// The rows to update, copied: updating them changes holders[p].
	s.holding = append(s.holding[:0], s.holders[p]...)
	for _, r := range s.holding {
		row := s.rows[r]
		c, _ := s.f.coef(row, p)
		s.combined += len(row.idx) + len(w.idx)
		nr := s.f.combineInto(s.spare, wp, row, c, w)
		s.rows[r] = nr
		if 4*len(w.idx) < len(row.idx) {
			reholdAt(s.holders, r, row.idx, nr.idx, w.idx)
		} else {
			rehold(s.holders, r, row.idx, nr.idx)
		}
		s.spare = row // rows share no storage with anything else
	}
	r := int32(len(s.rows))
	s.pivot[p] = r
	s.rows = append(s.rows, w)
	rehold(s.holders, r, nil, w.idx)
}

// rehold updates holders for vector r, whose non-zero cells change from old
// to now (both ascending). The order within a holders list is not kept: its users
// sort it or treat its members independently.
func rehold(holders [][]int32, r int32, old, now []int32) {
	i, j := 0, 0
	for i < len(old) || j < len(now) {
		switch {
		case j == len(now) || (i < len(old) && old[i] < now[j]):
			h := holders[old[i]]
			if k := slices.Index(h, r); k >= 0 {
				last := len(h) - 1
				h[k] = h[last]
				holders[old[i]] = h[:last]
			}
			i++
		case i == len(old) || now[j] < old[i]:
			holders[now[j]] = append(holders[now[j]], r)
			j++
		default:
			i++
			j++
		}
	}
}

// reholdAt is rehold for a row rewritten as a combination with w: a cell outside w keeps
// its coefficient, scaled, so only w's cells can change holders; each is looked up in
// the old and new cells rather than both walked in full.
func reholdAt(holders [][]int32, r int32, old, now, at []int32) {
	for _, j := range at {
		_, was := slices.BinarySearch(old, j)
		_, is := slices.BinarySearch(now, j)
		switch {
		case was && !is:
			h := holders[j]
			if k := slices.Index(h, r); k >= 0 {
				last := len(h) - 1
				h[k] = h[last]
				holders[j] = h[:last]
			}
		case is && !was:
			holders[j] = append(holders[j], r)
		}
	}
}

func (s *solver[T, F]) find(v vec[T], h uint64) int32 {
	for _, id := range s.index[h] {
		if s.f.equal(s.classes[id].v, v) {
			return id
		}
	}
	return -1
}

func (s *solver[T, F]) unindex(h uint64, id int32) {
	ids := s.index[h]
	if k := slices.Index(ids, id); k >= 0 {
		ids = slices.Delete(ids, k, k+1)
	}
	if len(ids) == 0 {
		delete(s.index, h)
	} else {
		s.index[h] = ids
	}
}

// withhold records cell i as withheld, with residual r.
func (s *solver[T, F]) withhold(i int, r vec[T]) {
	if r.isZero() {
		return
	}
	c := &s.cells[i]
	h := s.f.hash(r)
	id := s.find(r, h)
	if id < 0 {
		id = int32(len(s.classes))
		s.classes = append(s.classes, &class[T]{v: r, h: h})
		s.live = append(s.live, id)
		s.index[h] = append(s.index[h], id)
		rehold(s.classHolders, id, nil, r.idx)
	}
	k := s.classes[id]
	k.primary = k.primary || c.Primary
	k.singleton = k.singleton || c.Singleton
}

// tryPublish publishes cell i unless that would disclose a withheld cell.
// It returns the cell's residual and whether it was published.
func (s *solver[T, F]) tryPublish(i int) (vec[T], bool) {
	w := s.reduce(s.f.ones(s.cells[i].Inner))
	if w.isZero() {
		return w, true // already determined: publishing it changes nothing
	}
	k := s.pivotOf(w)
	p, wp := w.idx[k], w.val[k]

	// Residuals of the classes after eliminating pivot p.
	changes := s.changes[:0]
	ids := append(s.ids[:0], s.classHolders[p]...)
	slices.Sort(ids) // in id order, as over every live class
	s.ids = ids
	for n, id := range ids {
		k := s.classes[id]
		c, _ := s.f.coef(k.v, p)
		// In pooled storage: copied out below for the classes that keep it.
		if n == len(s.pool) {
			s.pool = append(s.pool, vec[T]{})
		}
		s.combined += len(k.v.idx) + len(w.idx)
		nv := s.f.combineInto(s.pool[n], wp, k.v, c, w)
		s.pool[n] = nv
		if nv.isZero() {
			s.changes = changes[:0]
			return w, false
		}
		changes = append(changes, change[T]{id: id, v: nv, h: s.f.hash(nv)})
	}
	s.changes = changes

	// Classes that become proportional merge. An unchanged class is zero at
	// p while a changed one was not, so each cluster holds changed classes
	// and at most one unchanged class, found through the index.
	clusters := s.clusters[:0]
	clear(s.byHash)
	for _, ch := range changes {
		at := -1
		for _, c := range s.byHash[ch.h] {
			if s.f.equal(clusters[c].v, ch.v) {
				at = c
				break
			}
		}
		if at < 0 {
			at = len(clusters)
			cl := cluster[T]{v: ch.v, h: ch.h, unchanged: s.find(ch.v, ch.h)}
			if cl.unchanged >= 0 {
				cl.ids = append(cl.ids, cl.unchanged)
			}
			clusters = append(clusters, cl)
			s.byHash[ch.h] = append(s.byHash[ch.h], at)
		}
		clusters[at].ids = append(clusters[at].ids, ch.id)
	}
	s.clusters = clusters
	for _, cl := range clusters {
		if len(cl.ids) > 1 && s.singletonDisclosure(cl.ids) {
			return w, false
		}
	}

	// Safe: publish.
	s.addRow(w, k)
	for _, ch := range changes {
		s.unindex(s.classes[ch.id].h, ch.id)
	}
	merged := false
	for _, cl := range clusters {
		keep := slices.Min(cl.ids)
		if cl.unchanged >= 0 && cl.unchanged != keep {
			s.unindex(cl.h, cl.unchanged)
		}
		k := s.classes[keep]
		for _, id := range cl.ids {
			if id == keep {
				continue
			}
			o := s.classes[id]
			k.primary = k.primary || o.primary
			k.singleton = k.singleton || o.singleton
			rehold(s.classHolders, id, o.v.idx, nil)
			s.classes[id] = nil
			merged = true
		}
		if keep != cl.unchanged {
			rehold(s.classHolders, keep, k.v.idx, cl.v.idx)
			k.v, k.h = vec[T]{idx: slices.Clone(cl.v.idx), val: slices.Clone(cl.v.val)}, cl.h
			s.index[cl.h] = append(s.index[cl.h], keep)
		}
	}
	if merged {
		s.live = slices.DeleteFunc(s.live, func(id int32) bool { return s.classes[id] == nil })
	}
	return w, true
}

// singletonDisclosure reports whether merging the classes ids would put a
// primary cell of one class in the span of the published cells and a
// singleton of another class. Cells of one class were already proportional,
// so only pairs across classes are new.
func (s *solver[T, F]) singletonDisclosure(ids []int32) bool {
	np, ns, both := 0, 0, 0
	for _, id := range ids {
		k := s.classes[id]
		if k.primary {
			np++
		}
		if k.singleton {
			ns++
		}
		if k.primary && k.singleton {
			both++
		}
	}
	return np > 0 && ns > 0 && (np != 1 || ns != 1 || both != 1)
}
