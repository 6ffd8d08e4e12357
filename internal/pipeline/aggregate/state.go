package aggregate

import "math"

// State is the mergeable per-cell state of one operand: units (rows, or the sum of the
// frequency column) passing the filters, units with a value, and the value's sums. Merging
// is associative and commutative: one batch, one snapshot or one partition produce the same
// state, so the aggregation can be split across pods and merged.
type State struct {
	Units int64 `json:"units"`
	// N counts units with a non-null value of the operand's column.
	N int64 `json:"n"`
	// SumInt is the exact sum of an Integer column.
	SumInt int64 `json:"sumInt"`
	// Sum and SumSq are Neumaier-compensated sums of a Number column (value and square);
	// SumSq is kept for Integer columns too.
	Sum  float64 `json:"sum"`
	SumC float64 `json:"sumC"`
	Sq   float64 `json:"sq"`
	SqC  float64 `json:"sqC"`
}

// add adds x to the compensated sum (s, c) (Neumaier).
func add(s, c *float64, x float64) {
	t := *s + x
	if math.Abs(*s) >= math.Abs(x) {
		*c += (*s - t) + x
	} else {
		*c += (x - t) + *s
	}
	*s = t
}

// Merge adds o into s.
func (s *State) Merge(o *State) {
	s.Units += o.Units
	s.N += o.N
	s.SumInt += o.SumInt
	add(&s.Sum, &s.SumC, o.Sum)
	add(&s.Sum, &s.SumC, o.SumC)
	add(&s.Sq, &s.SqC, o.Sq)
	add(&s.Sq, &s.SqC, o.SqC)
}

// Total returns the value sum: exact for Integer columns, compensated for Number columns.
func (s *State) Total(integer bool) float64 {
	if integer {
		return float64(s.SumInt)
	}
	return s.Sum + s.SumC
}

// SumSquares returns the compensated sum of squares.
func (s *State) SumSquares() float64 { return s.Sq + s.SqC }
