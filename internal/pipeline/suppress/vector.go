package suppress

import (
	"math/big"
	"math/bits"
	"slices"
)

// vec is a sparse vector over inner cells: idx is strictly increasing and
// every val is non-zero. Vectors built by a field are primitive: the gcd of
// their coefficients is 1 and the first coefficient is positive, so two
// vectors are proportional exactly when they are equal.
type vec[T any] struct {
	idx []int32
	val []T
}

func (v vec[T]) isZero() bool { return len(v.idx) == 0 }

// spans reports whether j lies between v's first and last inner cells: a cell's vector
// covers one period's stretch of inner cells, so most lookups end here.
func (v vec[T]) spans(j int32) bool {
	return len(v.idx) > 0 && j >= v.idx[0] && j <= v.idx[len(v.idx)-1]
}

// field is the exact arithmetic the elimination runs on.
type field[T any] interface {
	// ones returns the 0/1 vector of a cell summing the given inner cells.
	ones(inner []int32) vec[T]
	// one returns the coefficient 1 (never to be modified).
	one() T
	// coef returns the coefficient of v at inner cell j, and whether it is
	// non-zero.
	coef(v vec[T], j int32) (T, bool)
	// combine returns a·x − b·y in primitive form.
	combine(a T, x vec[T], b T, y vec[T]) vec[T]
	// combineInto is combine writing into dst's storage when it can (dst must share
	// nothing with x or y).
	combineInto(dst vec[T], a T, x vec[T], b T, y vec[T]) vec[T]
	hash(v vec[T]) uint64
	equal(x, y vec[T]) bool
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashIndex(h uint64, j int32) uint64 {
	return (h ^ uint64(uint32(j))) * fnvPrime
}

// overflow is the panic value smallField raises when a coefficient would
// leave its range; the caller recovers it and switches to bigField.
type overflow struct{}

// defaultLimit bounds the magnitude of int64 coefficients. Keeping it below
// 2^62 makes the difference of two coefficients representable.
const defaultLimit = 1<<62 - 1

// smallField is int64 arithmetic with overflow detection.
type smallField struct{ limit uint64 }

func absU(a int64) uint64 {
	if a < 0 {
		return uint64(-a)
	}
	return uint64(a)
}

func gcdU(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (smallField) one() int64 { return 1 }

func (smallField) ones(inner []int32) vec[int64] {
	v := vec[int64]{idx: slices.Clone(inner), val: make([]int64, len(inner))}
	for i := range v.val {
		v.val[i] = 1
	}
	return v
}

func (smallField) coef(v vec[int64], j int32) (int64, bool) {
	if !v.spans(j) {
		return 0, false
	}
	if i, ok := slices.BinarySearch(v.idx, j); ok {
		return v.val[i], true
	}
	return 0, false
}

func (f smallField) mul(a, b int64) int64 {
	hi, lo := bits.Mul64(absU(a), absU(b))
	if hi != 0 || lo > f.limit {
		panic(overflow{})
	}
	if (a < 0) != (b < 0) {
		return -int64(lo)
	}
	return int64(lo)
}

func (f smallField) sub(a, b int64) int64 {
	d := a - b // |a|, |b| < 2^62: no wrap-around
	if absU(d) > f.limit {
		panic(overflow{})
	}
	return d
}

func (f smallField) combine(a int64, x vec[int64], b int64, y vec[int64]) vec[int64] {
	return f.combineInto(vec[int64]{}, a, x, b, y)
}

func (f smallField) combineInto(dst vec[int64], a int64, x vec[int64], b int64, y vec[int64]) vec[int64] {
	n := len(x.idx) + len(y.idx)
	out := vec[int64]{idx: reuse(dst.idx, n), val: reuse(dst.val, n)}
	// The vectors merge as runs: the inner cells of one below the next cell of the other
	// are copied (scaled) in one go, and only shared cells are combined one by one. A row
	// of the published basis is long and the vector combined into it short, so most of
	// the work is copying.
	i, j := 0, 0
	for i < len(x.idx) && j < len(y.idx) {
		xi, yj := x.idx[i], y.idx[j]
		switch {
		case xi < yj:
			e := runEnd(x.idx, i, yj)
			f.appendScaled(&out, a, x.idx[i:e], x.val[i:e])
			i = e
		case yj < xi:
			e := runEnd(y.idx, j, xi)
			f.appendScaled(&out, -b, y.idx[j:e], y.val[j:e])
			j = e
		default:
			if c := f.sub(f.mul(a, x.val[i]), f.mul(b, y.val[j])); c != 0 {
				out.idx = append(out.idx, xi)
				out.val = append(out.val, c)
			}
			i++
			j++
		}
	}
	f.appendScaled(&out, a, x.idx[i:], x.val[i:])
	f.appendScaled(&out, -b, y.idx[j:], y.val[j:])
	if len(out.val) == 0 {
		return out
	}
	var g uint64
	for _, c := range out.val {
		if g = gcdU(absU(c), g); g == 1 {
			break
		}
	}
	d := int64(g)
	if out.val[0] < 0 {
		d = -d
	}
	if d != 1 {
		for i := range out.val {
			out.val[i] /= d
		}
	}
	return out
}

// runEnd returns the end of the run of idx from i (idx[i] < bound) below bound: found by
// galloping, so that a long row combined with a short vector costs the copies of its
// runs, not a comparison of each of its cells.
func runEnd(idx []int32, i int, bound int32) int {
	step, lo := 1, i+1 // idx[lo-1] < bound
	for lo+step-1 < len(idx) && idx[lo+step-1] < bound {
		lo += step
		step *= 2
	}
	hi := min(lo+step-1, len(idx)) // idx[hi] >= bound, or hi == len(idx)
	k, _ := slices.BinarySearch(idx[lo:hi], bound)
	return lo + k
}

// appendScaled appends the cells idx with the coefficients s·val to out. The
// coefficients are non-zero and so is s, so their products are too.
func (f smallField) appendScaled(out *vec[int64], s int64, idx []int32, val []int64) {
	if len(idx) == 0 {
		return
	}
	out.idx = append(out.idx, idx...)
	switch s {
	case 1:
		out.val = append(out.val, val...)
	case -1:
		for _, v := range val {
			out.val = append(out.val, -v) // |v| <= limit < 2^63: no wrap-around
		}
	default:
		for _, v := range val {
			out.val = append(out.val, f.mul(s, v))
		}
	}
}

// reuse returns s emptied when it can hold n elements, or new storage with room to spare:
// a row of the basis grows by a few cells at a time, and its next update then reuses it.
func reuse[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:0]
	}
	return make([]E, 0, n+n/4+8)
}

func (smallField) hash(v vec[int64]) uint64 {
	h := uint64(fnvOffset)
	for i, j := range v.idx {
		h = hashIndex(h, j)
		h = (h ^ uint64(v.val[i])) * fnvPrime
	}
	return h
}

func (smallField) equal(x, y vec[int64]) bool {
	return slices.Equal(x.idx, y.idx) && slices.Equal(x.val, y.val)
}

// bigField is arbitrary-precision arithmetic. Coefficients are never mutated
// once they belong to a vector.
type bigField struct{}

var bigOne = big.NewInt(1)

func (bigField) one() *big.Int { return bigOne }

func (bigField) ones(inner []int32) vec[*big.Int] {
	v := vec[*big.Int]{idx: slices.Clone(inner), val: make([]*big.Int, len(inner))}
	for i := range v.val {
		v.val[i] = bigOne
	}
	return v
}

func (bigField) coef(v vec[*big.Int], j int32) (*big.Int, bool) {
	if !v.spans(j) {
		return nil, false
	}
	if i, ok := slices.BinarySearch(v.idx, j); ok {
		return v.val[i], true
	}
	return nil, false
}

func (bigField) combine(a *big.Int, x vec[*big.Int], b *big.Int, y vec[*big.Int]) vec[*big.Int] {
	n := len(x.idx) + len(y.idx)
	out := vec[*big.Int]{idx: make([]int32, 0, n), val: make([]*big.Int, 0, n)}
	g := new(big.Int)
	var t big.Int
	i, j := 0, 0
	for i < len(x.idx) || j < len(y.idx) {
		var k int32
		c := new(big.Int)
		switch {
		case j == len(y.idx) || (i < len(x.idx) && x.idx[i] < y.idx[j]):
			k = x.idx[i]
			c.Mul(a, x.val[i])
			i++
		case i == len(x.idx) || y.idx[j] < x.idx[i]:
			k = y.idx[j]
			c.Mul(b, y.val[j]).Neg(c)
			j++
		default:
			k = x.idx[i]
			c.Mul(a, x.val[i]).Sub(c, t.Mul(b, y.val[j]))
			i++
			j++
		}
		if c.Sign() != 0 {
			out.idx = append(out.idx, k)
			out.val = append(out.val, c)
			g.GCD(nil, nil, g, t.Abs(c))
		}
	}
	if len(out.val) == 0 {
		return out
	}
	if out.val[0].Sign() < 0 {
		g.Neg(g)
	}
	if g.Cmp(bigOne) != 0 {
		for _, c := range out.val {
			c.Quo(c, g)
		}
	}
	return out
}

// combineInto allocates: big coefficients are shared between vectors, never reused.
func (f bigField) combineInto(_ vec[*big.Int], a *big.Int, x vec[*big.Int], b *big.Int, y vec[*big.Int]) vec[*big.Int] {
	return f.combine(a, x, b, y)
}

func (bigField) hash(v vec[*big.Int]) uint64 {
	h := uint64(fnvOffset)
	for i, j := range v.idx {
		h = hashIndex(h, j)
		h = (h ^ uint64(v.val[i].Sign()+1)) * fnvPrime
		for _, w := range v.val[i].Bits() {
			h = (h ^ uint64(w)) * fnvPrime
		}
	}
	return h
}

func (bigField) equal(x, y vec[*big.Int]) bool {
	if !slices.Equal(x.idx, y.idx) {
		return false
	}
	for i := range x.val {
		if x.val[i].Cmp(y.val[i]) != 0 {
			return false
		}
	}
	return true
}
