package suppress

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
)

// tableSpec describes a table over dimensions with the given numbers of
// groups and, when months > 0 (a multiple of 3), a time hierarchy of months,
// quarters and a year. Its inner cells are every combination of month and
// groups; its cells are the total, every margin and every intersection, for
// every period.
type tableSpec struct {
	dims   []int
	months int
}

func (t tableSpec) String() string {
	return fmt.Sprintf("dims=%v months=%d", t.dims, t.months)
}

func (t tableSpec) innerSize() int {
	n := max(t.months, 1)
	for _, d := range t.dims {
		n *= d
	}
	return n
}

// periods returns the periods inner month m belongs to.
func (t tableSpec) periods(m int) []string {
	if t.months == 0 {
		return []string{"all"}
	}
	return []string{fmt.Sprintf("M%02d", m+1), fmt.Sprintf("Q%d", m/3+1), "Y"}
}

// build returns the problem for the given inner counts, with the usual
// primary rule 0 < n < k and singletons n == 1.
func (t tableSpec) build(counts []int64, k int64) Problem {
	m := t.innerSize()
	if len(counts) != m {
		panic("counts do not match the inner cells")
	}
	var cells []Cell
	at := map[string]int{}
	groups := make([]int, len(t.dims))
	var key strings.Builder
	for idx := range m {
		rem := idx
		for d := len(t.dims) - 1; d >= 0; d-- {
			groups[d] = rem % t.dims[d]
			rem /= t.dims[d]
		}
		for _, period := range t.periods(rem) {
			for mask := range 1 << len(t.dims) {
				key.Reset()
				key.WriteString(period)
				for d, g := range groups {
					if mask&(1<<d) != 0 {
						fmt.Fprintf(&key, "|d%d=%d", d, g)
					} else {
						fmt.Fprintf(&key, "|d%d=*", d)
					}
				}
				i, ok := at[key.String()]
				if !ok {
					i = len(cells)
					at[key.String()] = i
					cells = append(cells, Cell{Key: key.String()})
				}
				cells[i].Inner = append(cells[i].Inner, int32(idx))
				cells[i].N += counts[idx]
			}
		}
	}
	for i := range cells {
		cells[i].Primary = cells[i].N > 0 && cells[i].N < k
		cells[i].Singleton = cells[i].N == 1
	}
	return Problem{Inner: m, Cells: cells}
}

// smallCounts draws inner counts with many zeros and small values.
func smallCounts(rng *rand.Rand, m int) []int64 {
	counts := make([]int64, m)
	for i := range counts {
		switch u := rng.Float64(); {
		case u < 0.25:
			counts[i] = 0
		case u < 0.55:
			counts[i] = 1 + rng.Int64N(3)
		case u < 0.8:
			counts[i] = 4 + rng.Int64N(8)
		default:
			counts[i] = 12 + rng.Int64N(60)
		}
	}
	return counts
}

// bruteDisclosed applies the definition of Disclosed literally, testing each
// span membership by comparing ranks of dense big.Rat matrices.
func bruteDisclosed(p Problem, suppressed []bool) []int {
	dense := func(i int) []*big.Rat {
		v := make([]*big.Rat, p.Inner)
		for j := range v {
			v[j] = new(big.Rat)
		}
		for _, j := range p.Cells[i].Inner {
			v[j].SetInt64(1)
		}
		return v
	}
	var pub, emp [][]*big.Rat
	for i, c := range p.Cells {
		if !suppressed[i] {
			pub = append(pub, dense(i))
			if c.N == 0 {
				emp = append(emp, dense(i))
			}
		}
	}
	inSpan := func(t []*big.Rat, set [][]*big.Rat, extra ...[]*big.Rat) bool {
		s := append(append([][]*big.Rat{}, set...), extra...)
		return denseRank(append(s, t)) == denseRank(s)
	}
	var out []int
	for t, c := range p.Cells {
		if !suppressed[t] {
			continue
		}
		vt := dense(t)
		if inSpan(vt, pub) && !inSpan(vt, emp) {
			out = append(out, t)
			continue
		}
		if !c.Primary {
			continue
		}
		for u, cu := range p.Cells {
			if u == t || !suppressed[u] || !cu.Singleton {
				continue
			}
			vu := dense(u)
			if inSpan(vt, pub, vu) && !inSpan(vt, emp, vu) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// denseRank is the rank of the rows by plain Gaussian elimination.
func denseRank(rows [][]*big.Rat) int {
	if len(rows) == 0 {
		return 0
	}
	a := make([][]*big.Rat, len(rows))
	for i, r := range rows {
		a[i] = make([]*big.Rat, len(r))
		for j, x := range r {
			a[i][j] = new(big.Rat).Set(x)
		}
	}
	rank := 0
	for col := 0; col < len(a[0]) && rank < len(a); col++ {
		piv := -1
		for i := rank; i < len(a); i++ {
			if a[i][col].Sign() != 0 {
				piv = i
				break
			}
		}
		if piv < 0 {
			continue
		}
		a[rank], a[piv] = a[piv], a[rank]
		for i := rank + 1; i < len(a); i++ {
			if a[i][col].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Quo(a[i][col], a[rank][col])
			for j := col; j < len(a[i]); j++ {
				a[i][j].Sub(a[i][j], new(big.Rat).Mul(f, a[rank][j]))
			}
		}
		rank++
	}
	return rank
}
