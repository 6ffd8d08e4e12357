package stats

import "math"

// Neumaier is a compensated floating-point sum (Neumaier 1974, an improved
// Kahan summation). It carries the rounding error of every addition in a
// separate term, so a sum of many values — and the merge of partial sums
// computed by different batches or partitions — agrees with the exact sum to
// within a few units in the last place, whatever the order of the inputs.
//
// The zero value is an empty sum. Partial sums merge with [Neumaier.Merge].
type Neumaier struct {
	sum  float64
	comp float64
}

// Add adds x to the sum.
func (s *Neumaier) Add(x float64) {
	t := s.sum + x
	if math.Abs(s.sum) >= math.Abs(x) {
		s.comp += (s.sum - t) + x
	} else {
		s.comp += (x - t) + s.sum
	}
	s.sum = t
}

// Merge adds another partial sum, keeping both compensation terms.
func (s *Neumaier) Merge(o Neumaier) {
	s.Add(o.sum)
	s.Add(o.comp)
}

// Sum returns the compensated total.
func (s Neumaier) Sum() float64 { return s.sum + s.comp }

// SumOf returns the compensated sum of xs.
func SumOf(xs ...float64) float64 {
	var s Neumaier
	for _, x := range xs {
		s.Add(x)
	}
	return s.Sum()
}
