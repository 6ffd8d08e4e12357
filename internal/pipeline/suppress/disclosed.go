package suppress

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
)

// Disclosed returns, in increasing order, the indices of the withheld cells
// that the published cells disclose under the suppression pattern
// suppressed (one entry per cell of p):
//
//   - a withheld cell whose vector lies in the span of the published cells'
//     vectors, unless it lies in the span of the published empty cells alone
//     (it is then known to be empty); the differences of equal cells are
//     known zeros, in both spans;
//   - a withheld primary cell t whose vector lies in the span of the published
//     cells and a withheld singleton u ≠ t, unless it lies in the span of u and
//     the published empty cells (t and u then hold the same single
//     contributor).
//
// It shares no code with [Solve]: the check is redone from scratch by
// Gauss–Jordan elimination in big.Rat on sparse maps, so it can audit any
// pattern, including ones Solve produced.
func Disclosed(p Problem, suppressed []bool) ([]int, error) {
	if _, err := p.validate(); err != nil {
		return nil, err
	}
	if len(suppressed) != len(p.Cells) {
		return nil, fmt.Errorf("suppress: %d suppression flags for %d cells", len(suppressed), len(p.Cells))
	}
	published, empty := newRatSpace(), newRatSpace()
	for i, c := range p.Cells {
		if suppressed[i] {
			continue
		}
		v := ratOnes(c.Inner)
		published.add(v)
		if c.N == 0 {
			empty.add(v)
		}
	}

	for _, e := range p.Equal {
		d := ratOnes(p.Cells[e[0]].Inner)
		d.axpy(big.NewRat(1, 1), ratOnes(p.Cells[e[1]].Inner))
		published.add(d)
		empty.add(d)
	}

	var withheld []int
	resP := map[int]ratVec{} // residual against the published cells
	resE := map[int]ratVec{} // residual against the published empty cells
	for i, c := range p.Cells {
		if suppressed[i] {
			withheld = append(withheld, i)
			v := ratOnes(c.Inner)
			resP[i] = published.residual(v)
			resE[i] = empty.residual(v)
		}
	}

	disclosed := map[int]bool{}
	for _, t := range withheld {
		if len(resP[t]) == 0 && len(resE[t]) != 0 {
			disclosed[t] = true
		}
	}
	for _, u := range withheld {
		if !p.Cells[u].Singleton || len(resP[u]) == 0 {
			continue
		}
		for _, t := range withheld {
			if t == u || !p.Cells[t].Primary || disclosed[t] {
				continue
			}
			// t ∈ span(published ∪ {u}) iff its residual is a multiple of u's.
			if !multipleOf(resP[t], resP[u]) {
				continue
			}
			if len(resE[t]) == 0 || (len(resE[u]) != 0 && multipleOf(resE[t], resE[u])) {
				continue // same single contributor as u
			}
			disclosed[t] = true
		}
	}
	return slices.Sorted(maps.Keys(disclosed)), nil
}

// ratVec is a sparse rational vector; absent entries are zero and present
// entries are never zero.
type ratVec map[int32]*big.Rat

func ratOnes(inner []int32) ratVec {
	v := make(ratVec, len(inner))
	for _, j := range inner {
		v[j] = big.NewRat(1, 1)
	}
	return v
}

// axpy sets v to v − c·x.
func (v ratVec) axpy(c *big.Rat, x ratVec) {
	for j, xj := range x {
		d := new(big.Rat).Mul(c, xj)
		if vj, ok := v[j]; ok {
			d.Sub(vj, d)
		} else {
			d.Neg(d)
		}
		if d.Sign() == 0 {
			delete(v, j)
		} else {
			v[j] = d
		}
	}
}

// ratSpace is the span of some vectors in reduced row echelon form: each row
// is 1 at its pivot and 0 at every other row's pivot.
type ratSpace struct {
	rows map[int32]ratVec
}

func newRatSpace() *ratSpace { return &ratSpace{rows: map[int32]ratVec{}} }

// residual returns v minus its projection along the rows onto their pivots:
// zero exactly when v lies in the space.
func (s *ratSpace) residual(v ratVec) ratVec {
	r := maps.Clone(v)
	for _, q := range slices.Sorted(maps.Keys(v)) {
		row, ok := s.rows[q]
		if !ok {
			continue
		}
		if c, ok := r[q]; ok {
			r.axpy(new(big.Rat).Set(c), row)
		}
	}
	return r
}

func (s *ratSpace) add(v ratVec) {
	r := s.residual(v)
	if len(r) == 0 {
		return
	}
	p := slices.Min(slices.Collect(maps.Keys(r)))
	inv := new(big.Rat).Inv(r[p])
	for j, x := range r {
		r[j] = new(big.Rat).Mul(x, inv)
	}
	for _, row := range s.rows {
		if c, ok := row[p]; ok {
			row.axpy(new(big.Rat).Set(c), r)
		}
	}
	s.rows[p] = r
}

// multipleOf reports whether a = c·b for some rational c (possibly 0); b is
// non-zero.
func multipleOf(a, b ratVec) bool {
	if len(a) == 0 {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	var ratio *big.Rat
	for j, bj := range b {
		aj, ok := a[j]
		if !ok {
			return false
		}
		q := new(big.Rat).Quo(aj, bj)
		if ratio == nil {
			ratio = q
		} else if ratio.Cmp(q) != 0 {
			return false
		}
	}
	return true
}
