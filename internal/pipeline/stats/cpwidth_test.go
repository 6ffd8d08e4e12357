package stats

import (
	"math"
	"slices"
	"testing"
)

// proportionFlagsExact is ProportionFlags from NCHSProportion's exact interval: the
// reference the certified bounds are tested against.
func proportionFlagsExact(x, n float64) []string {
	c := NCHSProportion(x, n, n)
	var out []string
	if !(c.NEff >= NCHSMinEffectiveN) {
		out = append(out, FlagFewUnits)
	}
	if c.Width >= NCHSMaxWidth {
		out = append(out, FlagCPWidth)
	}
	if c.Width > NCHSRelativeMinWidth && c.RelativeWidth > NCHSMaxRelativeWidth {
		out = append(out, FlagCPRelativeWidth)
	}
	return out
}

// cpGrid lists the pairs (x, n) the fast flags are checked on: every x for n up to 400,
// then for larger n every x near both edges and a stride through the middle.
func cpGrid() [][2]float64 {
	var g [][2]float64
	for n := 1; n <= 400; n++ {
		for x := 0; x <= n; x++ {
			g = append(g, [2]float64{float64(x), float64(n)})
		}
	}
	for _, n := range []int{401, 499, 577, 728, 1000, 1499, 2003, 4096, 10_000, 65_537, 1_000_000} {
		for x := 0; x <= n; x++ {
			if x > 120 && n-x > 120 && x%max(1, n/97) != 0 {
				continue
			}
			g = append(g, [2]float64{float64(x), float64(n)})
		}
	}
	return g
}

func TestProportionFlagsMatchExactInterval(t *testing.T) {
	decided := 0
	grid := cpGrid()
	for _, xn := range grid {
		x, n := xn[0], xn[1]
		got, want := ProportionFlags(x, n), proportionFlagsExact(x, n)
		if !slices.Equal(got, want) {
			t.Errorf("ProportionFlags(%g, %g) = %q, exact interval gives %q", x, n, got, want)
		}
		if _, _, exact := cpWidthRulesHow(x, n); !exact {
			decided++
		}
	}
	// The bounds must decide nearly every proportion, or the fast path is no faster.
	t.Logf("certified bounds decide %d of %d proportions", decided, len(grid))
	if share := float64(decided) / float64(len(grid)); share < 0.995 {
		t.Errorf("certified bounds decide %.2f %% of %d proportions, want ≥ 99.5 %%", 100*share, len(grid))
	}
}

// Hoeffding's bound is a bound: never below the exact Clopper–Pearson width.
func TestHoeffdingWidthBoundsExactWidth(t *testing.T) {
	decided := 0
	grid := cpGrid()
	for _, xn := range grid {
		x, n := xn[0], xn[1]
		p := x / n
		ci, ok := ClopperPearson(p*n, n)
		if !ok {
			continue
		}
		if hi := hoeffdingWidth(p, n); hi < ci.Width()-1e-12 {
			t.Errorf("(%g, %g): Hoeffding's bound %.12g is below the exact width %.12g", x, n, hi, ci.Width())
		}
		if _, _, ok := decideWidth(0, hoeffdingWidth(p, n), p); ok {
			decided++
		}
	}
	t.Logf("Hoeffding's bound alone decides %d of %d proportions", decided, len(grid))
}

// Worked values: the thresholds at their exact widths (see TestNCHSProportion's table)
// and the invalid pairs, which only the n rule can flag.
func TestProportionFlagsWorked(t *testing.T) {
	tests := []struct {
		x, n float64
		want []string
	}{
		{5, 30, nil},                            // width 0.290790 < 0.30, relative 174.5 % but … see below
		{15, 30, []string{FlagCPWidth}},         // width 0.374059
		{2, 100, []string{FlagCPRelativeWidth}}, // width 0.067953, 339.8 % of p
		{98, 100, nil},                          // width 0.067953, 6.9 % of p
		{0, 100, nil},                           // p = 0: relative width undefined
		{0, 29, []string{FlagFewUnits}},         // width 0.1145 < 0.30
		{1, 1, []string{FlagFewUnits, FlagCPWidth}},
		{-1, 10, []string{FlagFewUnits}},
		{3, 0, []string{FlagFewUnits}},
		{math.NaN(), 50, nil},
	}
	// 5/30: width 0.290790 > 0.05 and 174.5 % > 130 %: relatively wide.
	tests[0].want = []string{FlagCPRelativeWidth}
	for _, tt := range tests {
		if got := ProportionFlags(tt.x, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("ProportionFlags(%g, %g) = %q, want %q", tt.x, tt.n, got, tt.want)
		}
		if got := proportionFlagsExact(tt.x, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("exact flags of %g/%g = %q, want %q", tt.x, tt.n, got, tt.want)
		}
	}
}

func BenchmarkProportionFlags(b *testing.B) {
	grid := cpGrid()
	b.Run("certified", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			xn := grid[i%len(grid)]
			ProportionFlags(xn[0], xn[1])
		}
	})
	b.Run("exact", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			xn := grid[i%len(grid)]
			proportionFlagsExact(xn[0], xn[1])
		}
	})
}
