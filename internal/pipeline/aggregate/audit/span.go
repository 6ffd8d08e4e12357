package audit

import (
	"container/heap"
	"math/bits"
)

// span is the row space of sparse integer vectors modulo the prime 2^61 − 1, in row
// echelon form: rows[j] has its first non-zero, 1, at j. Being modular, it can only err by
// finding a vector in the span that is not, with a probability of about 2^−61 a test.
type span struct {
	rows    map[int][]term64
	scratch []uint64
	queued  []bool
}

type term64 struct {
	v int
	c uint64
}

const modP = 1<<61 - 1

func mulMod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	r := (hi<<3 | lo>>61) + lo&modP
	for r >= modP {
		r -= modP
	}
	return r
}

func powMod(a, e uint64) uint64 {
	r := uint64(1)
	for e > 0 {
		if e&1 == 1 {
			r = mulMod(r, a)
		}
		a = mulMod(a, a)
		e >>= 1
	}
	return r
}

func newSpan(n int) *span {
	return &span{rows: map[int][]term64{}, scratch: make([]uint64, n), queued: make([]bool, n)}
}

func toMod(c int64) uint64 {
	if c >= 0 {
		return uint64(c) % modP
	}
	return (modP - uint64(-c)%modP) % modP
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// reduce reduces v against the rows into the scratch vector; it returns the non-zero
// coordinates left, ascending, and every coordinate touched (to clear).
func (s *span) reduce(v []term) (nz, touched []int) {
	d := s.scratch
	h := &intHeap{}
	for _, t := range v {
		if !s.queued[t.v] {
			s.queued[t.v] = true
			touched = append(touched, t.v)
			heap.Push(h, t.v)
		}
		d[t.v] = (d[t.v] + toMod(t.c)) % modP
	}
	// Coordinates in increasing order: eliminating pivot j only changes later ones.
	for h.Len() > 0 {
		j := heap.Pop(h).(int)
		if d[j] == 0 {
			continue
		}
		row, ok := s.rows[j]
		if !ok {
			nz = append(nz, j)
			continue
		}
		f := d[j]
		for _, t := range row {
			if !s.queued[t.v] {
				s.queued[t.v] = true
				touched = append(touched, t.v)
				heap.Push(h, t.v)
			}
			d[t.v] = (d[t.v] + modP - mulMod(f, t.c)) % modP
		}
	}
	return nz, touched
}

func (s *span) clear(touched []int) {
	for _, j := range touched {
		s.scratch[j], s.queued[j] = 0, false
	}
}

// add adds v to the span.
func (s *span) add(v []term) {
	nz, touched := s.reduce(v)
	if len(nz) > 0 {
		inv := powMod(s.scratch[nz[0]], modP-2)
		row := make([]term64, 0, len(nz))
		for _, j := range nz {
			row = append(row, term64{j, mulMod(s.scratch[j], inv)})
		}
		s.rows[nz[0]] = row
	}
	s.clear(touched)
}

// residual returns v reduced against the span: zero at every pivot, and empty exactly
// when v is in the span. Its coefficients are residues modulo the prime.
func (s *span) residual(v []term) []term {
	nz, touched := s.reduce(v)
	out := make([]term, 0, len(nz))
	for _, j := range nz {
		out = append(out, term{j, int64(s.scratch[j])})
	}
	s.clear(touched)
	return out
}

// reset empties the span.
func (s *span) reset() { clear(s.rows) }

// contains reports whether v is in the span.
func (s *span) contains(v []term) bool {
	if len(v) == 0 {
		return true
	}
	nz, touched := s.reduce(v)
	s.clear(touched)
	return len(nz) == 0
}
