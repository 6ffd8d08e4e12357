package suppress

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// skewedTable fills a table the way real counts fall: each group of each dimension has a
// fixed weight decreasing with its position (the largest groups first, as in a
// dimension whose values are listed by size), times noise, total per month given. The
// cells of a month are offered largest first, so they are offered in index order: the
// case where pivoting at each vector's first cell works hardest.
func skewedTable(spec tableSpec, total float64, reversed bool) Problem {
	rng := rand.New(rand.NewPCG(7, 7))
	counts := make([]int64, spec.innerSize())
	for idx := range counts {
		rem, w := idx, total
		for d := len(spec.dims) - 1; d >= 0; d-- {
			g := rem % spec.dims[d]
			rem /= spec.dims[d]
			if reversed {
				g = spec.dims[d] - 1 - g
			}
			jitter := rand.New(rand.NewPCG(uint64(d), uint64(g))).IntN(3)
			w *= math.Pow(float64(g+1+jitter), -1.3)
		}
		counts[idx] = int64(w * (0.7 + 0.6*rng.Float64()))
	}
	return spec.build(counts, 11)
}

// The pivots pivotOf chooses give the pattern that pivots at each vector's first cell
// give, with less work on one- and two-dimension tables whichever way their groups are
// listed; on three-dimension tables solve keeps the first cells (choosesPivots), where
// chosen pivots may cost more.
func TestPivotWork(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        Problem
		chooses  bool
		maxRatio float64 // chosen pivots' work / first cells'
	}{
		{"one dimension of 200 groups by size, 12 months", skewedTable(tableSpec{dims: []int{200}, months: 12}, 30000, false), true, 0.5},
		{"one dimension of 200 groups, smallest first", skewedTable(tableSpec{dims: []int{200}, months: 12}, 30000, true), true, 0.8},
		{"12 × 6 groups by size, 12 months", skewedTable(tableSpec{dims: []int{12, 6}, months: 12}, 3000, false), true, 0.7},
		{"12 × 6 groups, smallest first", skewedTable(tableSpec{dims: []int{12, 6}, months: 12}, 3000, true), true, 0.8},
		{"7 × 4 groups of random sizes, 12 months", benchProblem(), true, 1.2},
		{"7 × 4 × 5 groups by size, 12 months", skewedTable(tableSpec{dims: []int{7, 4, 5}, months: 12}, 5000, false), false, 1.0},
		{"7 × 4 × 5 groups, smallest first", skewedTable(tableSpec{dims: []int{7, 4, 5}, months: 12}, 5000, true), false, 1.5},
		{"7 × 4 × 5 groups of random sizes, 12 months", benchTable(tableSpec{dims: []int{7, 4, 5}, months: 12}), false, 1.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			byKey, err := tc.p.validate()
			if err != nil {
				t.Fatal(err)
			}
			if got := choosesPivots(tc.p); got != tc.chooses {
				t.Errorf("choosesPivots = %v, want %v", got, tc.chooses)
			}
			first, firstWork := solvePivoting(smallField{limit: defaultLimit}, tc.p, byKey, false)
			chosen, chosenWork := solvePivoting(smallField{limit: defaultLimit}, tc.p, byKey, true)
			if !slices.Equal(first.Withheld, chosen.Withheld) || !slices.Equal(first.KnownEmpty, chosen.KnownEmpty) {
				t.Fatal("the pattern depends on the pivots")
			}
			ratio := float64(chosenWork) / float64(firstWork)
			t.Logf("%d inner cells, %d cells: %d coefficients combined with first-cell pivots, %d with chosen ones (%.2f)", tc.p.Inner, len(tc.p.Cells), firstWork, chosenWork, ratio)
			if ratio > tc.maxRatio {
				t.Errorf("chosen pivots combine %.2f× the coefficients of first-cell pivots, want at most %.2f×", ratio, tc.maxRatio)
			}
		})
	}
}
