package suppress

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// c builds a cell summing the given inner cells.
func c(key string, n int64, inner ...int32) Cell {
	return Cell{Key: key, N: n, Inner: inner}
}

// withRule marks primaries (0 < n < k) and singletons (n == 1).
func withRule(k int64, cells ...Cell) []Cell {
	for i := range cells {
		cells[i].Primary = cells[i].N > 0 && cells[i].N < k
		cells[i].Singleton = cells[i].N == 1
	}
	return cells
}

func suppressedKeys(p Problem, s []bool) []string {
	var keys []string
	for i, x := range s {
		if x {
			keys = append(keys, p.Cells[i].Key)
		}
	}
	slices.Sort(keys)
	return keys
}

func TestSolveHandCases(t *testing.T) {
	tests := []struct {
		name  string
		inner int
		cells []Cell
		want  []string
	}{
		{
			name:  "one dimension, one primary group: smallest other group complements it",
			inner: 4,
			cells: withRule(5,
				c("T", 80, 0, 1, 2, 3), c("A", 3, 0), c("B", 40, 1), c("C", 12, 2), c("D", 25, 3)),
			want: []string{"A", "C"},
		},
		{
			name:  "empty group is never the complement",
			inner: 4,
			cells: withRule(5,
				c("T", 53, 0, 1, 2, 3), c("A", 3, 0), c("B", 0, 1), c("C", 30, 2), c("D", 20, 3)),
			want: []string{"A", "D"},
		},
		{
			name:  "two primary groups protect each other, total published",
			inner: 4,
			cells: withRule(5,
				c("T", 55, 0, 1, 2, 3), c("A", 2, 0), c("B", 3, 1), c("C", 30, 2), c("D", 20, 3)),
			want: []string{"A", "B"},
		},
		{
			name:  "two singletons: each could subtract itself, a third group goes",
			inner: 3,
			cells: withRule(3, c("T", 12, 0, 1, 2), c("A", 1, 0), c("B", 1, 1), c("C", 10, 2)),
			want:  []string{"A", "B", "C"},
		},
		{
			name:  "same relation without singletons",
			inner: 3,
			cells: withRule(3, c("T", 14, 0, 1, 2), c("A", 2, 0), c("B", 2, 1), c("C", 10, 2)),
			want:  []string{"A", "B"},
		},
		{
			name:  "singleton total and group of the same person, other groups empty",
			inner: 3,
			cells: withRule(3, c("T", 1, 0, 1, 2), c("A", 1, 0), c("B", 0, 1), c("C", 0, 2)),
			want:  []string{"A", "T"},
		},
		{
			name:  "3x3 with margins, one primary inner cell: rectangle",
			inner: 9,
			cells: withRule(5,
				// inner cell r*3+c
				c("r0c0", 2, 0), c("r0c1", 5, 1), c("r0c2", 9, 2),
				c("r1c0", 6, 3), c("r1c1", 8, 4), c("r1c2", 12, 5),
				c("r2c0", 10, 6), c("r2c1", 11, 7), c("r2c2", 13, 8),
				c("r0", 16, 0, 1, 2), c("r1", 26, 3, 4, 5), c("r2", 34, 6, 7, 8),
				c("c0", 18, 0, 3, 6), c("c1", 24, 1, 4, 7), c("c2", 34, 2, 5, 8),
				c("total", 76, 0, 1, 2, 3, 4, 5, 6, 7, 8)),
			want: []string{"r0c0", "r0c1", "r1c0", "r1c1"},
		},
		{
			name:  "months sum to a quarter",
			inner: 3,
			cells: withRule(5, c("M1", 2, 0), c("M2", 10, 1), c("M3", 7, 2), c("Q1", 19, 0, 1, 2)),
			want:  []string{"M1", "M3"},
		},
		{
			name:  "year identical to its only quarter",
			inner: 3,
			cells: withRule(5, c("M1", 2, 0), c("M2", 10, 1), c("M3", 7, 2), c("Q1", 19, 0, 1, 2), c("Y", 19, 0, 1, 2)),
			want:  []string{"M1", "M3"},
		},
		{
			name:  "equal counts: ties broken by key, later key withheld",
			inner: 4,
			cells: withRule(5,
				c("T", 63, 0, 1, 2, 3), c("A", 3, 0), c("B", 20, 1), c("C", 20, 2), c("D", 20, 3)),
			want: []string{"A", "D"},
		},
		{
			name:  "nothing primary, nothing withheld",
			inner: 2,
			cells: withRule(5, c("T", 20, 0, 1), c("A", 10, 0), c("B", 10, 1)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Problem{Inner: tt.inner, Cells: tt.cells}
			s, err := Solve(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := suppressedKeys(p, s); !slices.Equal(got, tt.want) {
				t.Errorf("suppressed %v, want %v", got, tt.want)
			}
			d, err := Disclosed(p, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(d) != 0 {
				t.Errorf("Disclosed = %v, want none", d)
			}
			if b := bruteDisclosed(p, s); len(b) != 0 {
				t.Errorf("brute-force disclosure %v, want none", b)
			}
		})
	}
}

func TestDisclosedHandCases(t *testing.T) {
	oneDim := withRule(5, c("T", 80, 0, 1, 2, 3), c("A", 3, 0), c("B", 40, 1), c("C", 12, 2), c("D", 25, 3))
	singles := withRule(3, c("T", 12, 0, 1, 2), c("A", 1, 0), c("B", 1, 1), c("C", 10, 2))
	samePerson := withRule(3, c("T", 1, 0, 1, 2), c("A", 1, 0), c("B", 0, 1), c("C", 0, 2))
	tests := []struct {
		name     string
		p        Problem
		withheld []string
		want     []int
	}{
		{"lone primary group", Problem{Inner: 4, Cells: oneDim}, []string{"A"}, []int{1}},
		{"primary with complement", Problem{Inner: 4, Cells: oneDim}, []string{"A", "C"}, nil},
		{"total withheld too", Problem{Inner: 4, Cells: oneDim}, []string{"T", "A"}, nil},
		{"secondary cell determined", Problem{Inner: 4, Cells: oneDim}, []string{"A", "C", "D"}, nil},
		{"two singletons see each other", Problem{Inner: 3, Cells: singles}, []string{"A", "B"}, []int{1, 2}},
		{"two singletons and a complement", Problem{Inner: 3, Cells: singles}, []string{"A", "B", "C"}, nil},
		{"a non-primary cell is not protected from a singleton", Problem{Inner: 3, Cells: singles}, []string{"T", "A", "C"}, nil},
		{"same single contributor", Problem{Inner: 3, Cells: samePerson}, []string{"T", "A"}, nil},
		{"empty withheld cell known to be empty", Problem{Inner: 3, Cells: samePerson}, []string{"T", "A", "B"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := make([]bool, len(tt.p.Cells))
			for i, cell := range tt.p.Cells {
				s[i] = slices.Contains(tt.withheld, cell.Key)
			}
			got, err := Disclosed(tt.p, s)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Disclosed = %v, want %v", got, tt.want)
			}
			if b := bruteDisclosed(tt.p, s); !slices.Equal(b, tt.want) {
				t.Errorf("brute force = %v, want %v", b, tt.want)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name  string
		p     Problem
		inErr string
	}{
		{"inner out of range", Problem{Inner: 2, Cells: []Cell{c("A", 1, 0, 2)}}, `"A"`},
		{"negative inner", Problem{Inner: 2, Cells: []Cell{c("A", 1, -1)}}, "out of range"},
		{"unsorted", Problem{Inner: 3, Cells: []Cell{c("A", 1, 1, 0)}}, "strictly increasing"},
		{"repeated inner cell", Problem{Inner: 3, Cells: []Cell{c("A", 1, 1, 1)}}, "strictly increasing"},
		{"duplicate key", Problem{Inner: 3, Cells: []Cell{c("A", 1, 0), c("dup", 2, 1), c("dup", 3, 2)}}, `duplicate cell key "dup"`},
		{"negative n", Problem{Inner: 3, Cells: []Cell{c("A", -1, 0)}}, "negative n"},
		{"negative inner count", Problem{Inner: -1, Cells: nil}, "negative number"},
		{"equal cell out of range", Problem{Inner: 1, Cells: []Cell{c("A", 1, 0)}, Equal: [][2]int{{0, 1}}}, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Solve(tt.p); err == nil || !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("Solve error %v, want one containing %s", err, tt.inErr)
			}
			if _, err := Disclosed(tt.p, make([]bool, len(tt.p.Cells))); err == nil {
				t.Errorf("Disclosed accepted an invalid problem")
			}
		})
	}
	if _, err := Disclosed(Problem{Inner: 1, Cells: []Cell{c("A", 1, 0)}}, nil); err == nil {
		t.Error("Disclosed accepted a pattern of the wrong length")
	}
	if s, err := Solve(Problem{}); err != nil || len(s) != 0 {
		t.Errorf("empty problem: %v, %v", s, err)
	}
}

// randomSpec draws 1–3 dimensions of 2–6 groups and an optional time
// hierarchy, shrunk to at most maxInner inner cells.
func randomSpec(rng *rand.Rand, maxInner int) tableSpec {
	t := tableSpec{dims: make([]int, 1+rng.IntN(3)), months: []int{0, 3, 6}[rng.IntN(3)]}
	for d := range t.dims {
		t.dims[d] = 2 + rng.IntN(5)
	}
	for t.innerSize() > maxInner {
		if d := slices.Index(t.dims, slices.Max(t.dims)); t.dims[d] > 2 {
			t.dims[d]--
		} else if t.months > 3 {
			t.months -= 3
		} else {
			t.months = 0
		}
	}
	return t
}

func TestSolveProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240601, 7))
	iters := 250
	if testing.Short() {
		iters = 40
	}
	for it := range iters {
		spec := randomSpec(rng, 96)
		k := int64(3 + rng.IntN(9))
		p := spec.build(smallCounts(rng, spec.innerSize()), k)
		s, err := Solve(p)
		if err != nil {
			t.Fatal(err)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("case %d (%v, k=%d): "+format, append([]any{it, spec, k}, args...)...)
		}
		if d, err := Disclosed(p, s); err != nil || len(d) != 0 {
			fail("Disclosed = %v, %v", d, err)
		}
		for i, cell := range p.Cells {
			if cell.Primary && !s[i] {
				fail("primary %s published", cell.Key)
			}
			if cell.N == 0 && !cell.Primary && s[i] {
				fail("empty %s withheld", cell.Key)
			}
		}

		// Same pattern whatever the input order.
		perm := rng.Perm(len(p.Cells))
		q := Problem{Inner: p.Inner, Cells: make([]Cell, len(p.Cells))}
		for i, j := range perm {
			q.Cells[i] = p.Cells[j]
		}
		sq, err := Solve(q)
		if err != nil {
			t.Fatal(err)
		}
		for i, j := range perm {
			if sq[i] != s[j] {
				fail("cell %s: %v after shuffling, %v before", p.Cells[j].Key, sq[i], s[j])
			}
		}

		// int64 and math/big elimination agree.
		byKey, _ := p.validate()
		if sb := solve(bigField{}, p, byKey).Withheld; !slices.Equal(sb, s) {
			fail("math/big pattern differs")
		}
		// Pivots chosen or at each vector's first cell, whichever solve took: the same
		// pattern.
		for _, chosen := range []bool{true, false} {
			if sf, _ := solvePivoting(smallField{limit: defaultLimit}, p, byKey, chosen); !slices.Equal(sf.Withheld, s) {
				fail("pattern with chosen pivots %v differs", chosen)
			}
		}

		// Every complementary suppression was needed: publishing it alone
		// would disclose something.
		if it%8 == 0 {
			for i, cell := range p.Cells {
				if !s[i] || cell.Primary {
					continue
				}
				s[i] = false
				if d, _ := Disclosed(p, s); len(d) == 0 {
					fail("complementary %s could be published", cell.Key)
				}
				s[i] = true
			}
		}
	}
}

// TestDisclosedAgainstRank compares Disclosed with the literal definition on
// random, mostly unsafe, suppression patterns.
func TestDisclosedAgainstRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(99, 3))
	iters := 150
	if testing.Short() {
		iters = 30
	}
	found := 0
	for it := range iters {
		spec := randomSpec(rng, 18)
		p := spec.build(smallCounts(rng, spec.innerSize()), int64(3+rng.IntN(4)))
		s := make([]bool, len(p.Cells))
		for i, cell := range p.Cells {
			s[i] = cell.Primary || rng.IntN(4) == 0
		}
		got, err := Disclosed(p, s)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteDisclosed(p, s); !slices.Equal(got, want) {
			t.Fatalf("case %d (%v): Disclosed = %v, rank definition = %v", it, spec, got, want)
		}
		found += len(got)
	}
	if found == 0 {
		t.Fatal("no disclosure in any random pattern: the comparison tests nothing")
	}
}

// TestOverflowFallback forces coefficient growth beyond a small int64 limit
// and checks that the math/big elimination gives the same pattern.
func TestOverflowFallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	overflowed := 0
	for it := range 20 {
		const inner, ncell = 24, 40
		counts := make([]int64, inner)
		for i := range counts {
			counts[i] = rng.Int64N(6)
		}
		p := Problem{Inner: inner}
		for i := range ncell {
			var cell Cell
			for j := range int32(inner) {
				if rng.IntN(2) == 0 {
					cell.Inner = append(cell.Inner, j)
					cell.N += counts[j]
				}
			}
			cell.Key = string(rune('a'+i/26)) + string(rune('a'+i%26))
			cell.Primary = cell.N > 0 && cell.N < 20
			cell.Singleton = cell.N == 1
			p.Cells = append(p.Cells, cell)
		}
		byKey, err := p.validate()
		if err != nil {
			t.Fatal(err)
		}
		want := solve(bigField{}, p, byKey).Withheld
		got, ok := solveSmall(p, byKey, 7)
		if !ok {
			overflowed++
		} else if !slices.Equal(got.Withheld, want) {
			t.Fatalf("case %d: small-limit pattern differs", it)
		}
		if got, err := Solve(p); err != nil || !slices.Equal(got, want) {
			t.Fatalf("case %d: Solve differs from math/big: %v", it, err)
		}
		if d, _ := Disclosed(p, want); len(d) != 0 {
			t.Fatalf("case %d: Disclosed = %v", it, d)
		}
	}
	if overflowed == 0 {
		t.Fatal("the small limit never overflowed: the fallback is untested")
	}
}

// benchProblem is a realistic protection problem: 7 race groups × 4 income
// groups × 12 months, publishing the total, both margins and the race×income
// intersection for every month, quarter and the year.
func benchProblem() Problem {
	return benchTable(tableSpec{dims: []int{7, 4}, months: 12})
}

// benchTable fills a table with counts that make about 10 % of its cells
// primary at k = 11.
func benchTable(spec tableSpec) Problem {
	rng := rand.New(rand.NewPCG(1, 2))
	counts := make([]int64, spec.innerSize())
	for i := range counts {
		switch u := rng.Float64(); {
		case u < 0.05:
			counts[i] = 0
		case u < 0.22:
			counts[i] = 1 + rng.Int64N(10)
		default:
			counts[i] = 11 + rng.Int64N(150)
		}
	}
	return spec.build(counts, 11)
}

func TestBenchProblem(t *testing.T) {
	p := benchProblem()
	s, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	primary, withheld := 0, 0
	for i, cell := range p.Cells {
		if cell.Primary {
			primary++
		}
		if s[i] {
			withheld++
		}
	}
	t.Logf("%d inner cells, %d cells, %d primary, %d withheld", p.Inner, len(p.Cells), primary, withheld)
	if d, err := Disclosed(p, s); err != nil || len(d) != 0 {
		t.Fatalf("Disclosed = %v, %v", d, err)
	}
}

func BenchmarkSolve(b *testing.B) {
	p := benchProblem()
	primary := 0
	for _, cell := range p.Cells {
		if cell.Primary {
			primary++
		}
	}
	for b.Loop() {
		if _, err := Solve(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p.Cells)), "cells")
	b.ReportMetric(float64(primary)/float64(len(p.Cells)), "primary-share")
}

// BenchmarkSolveLarge adds a third dimension of 5 geographies: 1,680 inner
// cells and 4,080 cells.
func BenchmarkSolveLarge(b *testing.B) {
	p := benchTable(tableSpec{dims: []int{7, 4, 5}, months: 12})
	primary := 0
	for _, cell := range p.Cells {
		if cell.Primary {
			primary++
		}
	}
	for b.Loop() {
		if _, err := Solve(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p.Cells)), "cells")
	b.ReportMetric(float64(primary)/float64(len(p.Cells)), "primary-share")
}

// Two cells that are one number over different inner cells: the families of group B
// (inner 1, a distinct count) are its rows' count (inner 2, a Count). The distinct total
// T = A + B and A = 2 is primary. The Count C is U − V, published: without the equality
// the solver publishes T and withholds B, which C gives back (and A = T − B with it);
// told that B and C are equal, it knows B and withholds T.
func TestEqualCells(t *testing.T) {
	cells := withRule(5, c("A", 2, 0), c("B", 10, 1), c("C", 10, 2), c("T", 12, 0, 1), c("U", 30, 2, 3), c("V", 20, 3))
	for _, tt := range []struct {
		name  string
		equal [][2]int
		want  []string
	}{
		{"independent", nil, []string{"A", "B"}},
		{"equal", [][2]int{{1, 2}}, []string{"A", "T"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Problem{Inner: 4, Cells: cells, Equal: tt.equal}
			s, err := Solve(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := suppressedKeys(p, s); !slices.Equal(got, tt.want) {
				t.Errorf("withheld %v, want %v", got, tt.want)
			}
			if d, err := Disclosed(p, s); err != nil || len(d) != 0 {
				t.Errorf("Disclosed(Solve) = %v, %v", d, err)
			}
		})
	}
	// The pattern that ignores the equality discloses A and B to whoever knows it.
	p := Problem{Inner: 4, Cells: cells, Equal: [][2]int{{1, 2}}}
	d, err := Disclosed(p, []bool{true, true, false, false, false, false})
	if err != nil || !slices.Equal(d, []int{0, 1}) {
		t.Errorf("Disclosed = %v, %v; want [0 1]", d, err)
	}
}
