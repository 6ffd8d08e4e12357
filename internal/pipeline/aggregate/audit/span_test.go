package audit

import "testing"

func TestSpan(t *testing.T) {
	s := newSpan(4)
	s.add([]term{{0, 1}, {1, 1}})
	s.add([]term{{1, 1}, {2, 1}})
	for _, c := range []struct {
		v    []term
		want bool
	}{
		{[]term{{0, 1}, {2, -1}}, true},         // a − b
		{[]term{{0, 2}, {1, 3}, {2, 1}}, true},  // 2a + b
		{[]term{{0, 1}}, false},                 // a cell of a and b alone
		{[]term{{0, 1}, {1, 1}, {3, 1}}, false}, // needs the fourth
		{[]term{{0, 1}, {1, 1}, {1, -1}, {2, 0}}, false},
		{nil, true},
	} {
		if got := s.contains(c.v); got != c.want {
			t.Errorf("contains(%v) = %v, want %v", c.v, got, c.want)
		}
	}
	if r := s.residual([]term{{0, 1}, {1, 1}, {2, 1}}); len(r) != 1 || r[0].v != 2 {
		t.Errorf("residual of a + c: %v, want one coordinate at 2", r)
	}
	s.reset()
	if s.contains([]term{{0, 1}, {1, 1}}) {
		t.Error("a reset span contains a vector")
	}
}

func TestMulMod(t *testing.T) {
	x := uint64(modP - 1) // −1
	if got := mulMod(x, x); got != 1 {
		t.Errorf("(−1)² = %d, want 1", got)
	}
	if got := mulMod(powMod(12345, modP-2), 12345); got != 1 {
		t.Errorf("12345 · 12345⁻¹ = %d, want 1", got)
	}
}
