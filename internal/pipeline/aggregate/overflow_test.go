package aggregate

import (
	"math"
	"testing"
)

// magnitudeOf bounds every exact sum of an Integer column: Σ|x|·w over the rows with a
// cell, in 128 bits, so that a bound past the largest int64 is seen rather than wrapped.
func TestMagnitudeOf(t *testing.T) {
	const maxI = math.MaxInt64
	for _, tc := range []struct {
		name    string
		xs      []int64
		slots   []int32
		weights []int64
		perUnit bool
		hi, lo  uint64
		fits    bool
	}{
		{"plain", []int64{3, -4, 5}, []int32{2, 3, 2}, nil, false, 0, 12, true},
		{"dropped and no-period rows do not count", []int64{3, maxI, maxI}, []int32{2, slotDropped, slotNoPeriod}, nil, false, 0, 3, true},
		{"two largest and five", []int64{maxI, maxI, 5}, []int32{2, 2, 2}, nil, false, 1, 3, false}, // 2^64 + 3,
		{"the smallest int64", []int64{math.MinInt64}, []int32{2}, nil, false, 0, 1 << 63, false},
		{"many smallest carry into hi", []int64{math.MinInt64, math.MinInt64, math.MinInt64}, []int32{2, 2, 2}, nil, false, 1, 1 << 63, false},
		{"per unit: x times w", []int64{-3, 7}, []int32{2, 2}, []int64{10, 2}, true, 0, 44, true},
		{"per unit product past 64 bits", []int64{maxI}, []int32{2}, []int64{4}, true, 1, math.MaxUint64 - 3, false}, // 2^65 - 4,
		{"row totals are not weighted", []int64{-3, 7}, []int32{2, 2}, []int64{10, 2}, false, 0, 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hi, lo := magnitudeOf(tc.xs, tc.slots, tc.weights, tc.perUnit)
			if hi != tc.hi || lo != tc.lo {
				t.Errorf("magnitude (%d, %d), want (%d, %d)", hi, lo, tc.hi, tc.lo)
			}
			var m magnitude
			m.add(hi, lo)
			if m.fits() != tc.fits {
				t.Errorf("fits %v, want %v", m.fits(), tc.fits)
			}
		})
	}
}

// The bound costs one sequential pass beside the scattered accumulation of an Integer Sum.
func BenchmarkIntegerSum(b *testing.B) {
	const n, cells = 65536, 4000
	xs := make([]int64, n)
	slots := make([]int32, n)
	for i := range xs {
		xs[i] = int64(i*7919%1000) - 300
		slots[i] = int32(slotCells + i*104729%cells)
	}
	cnt, sum, sq := make([]int64, slotCells+cells), make([]int64, slotCells+cells), make([]float64, slotCells+cells)
	b.Run("accumulate", func(b *testing.B) {
		for range b.N {
			accumulate(xs, slots, nil, false, cnt, sum, sq)
		}
	})
	b.Run("bound+accumulate", func(b *testing.B) {
		var m magnitude
		for range b.N {
			m.add(magnitudeOf(xs, slots, nil, false))
			if !m.fits() {
				m = magnitude{}
			}
			accumulate(xs, slots, nil, false, cnt, sum, sq)
		}
	})
}
