package suppress

import (
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
)

var printDigests = flag.Bool("print-digests", false, "print the digests of TestSolveDigests instead of checking them")

// solveDigest is a digest of which cells Solve withholds, in input order.
func solveDigest(t *testing.T, p Problem) string {
	t.Helper()
	s, err := Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	n := 0
	for _, w := range s {
		b := byte('0')
		if w {
			b, n = '1', n+1
		}
		h.Write([]byte{b})
	}
	return fmt.Sprintf("%d/%d %016x", n, len(s), h.Sum64())
}

// digestProblems are problems of every size the engine meets: random small tables,
// the benchmarks' tables, and a flights-like one (229 groups × 6 months).
func digestProblems() []Problem {
	rng := rand.New(rand.NewPCG(7, 11))
	var ps []Problem
	for range 40 {
		spec := randomSpec(rng, 200)
		ps = append(ps, spec.build(smallCounts(rng, spec.innerSize()), 11))
	}
	ps = append(ps, benchProblem(), benchTable(tableSpec{dims: []int{7, 4, 5}, months: 12}),
		benchTable(tableSpec{dims: []int{229}, months: 6}))
	return ps
}

// TestSolveDigests pins the solver's output on digestProblems, so that a change meant
// only to make it faster is seen to leave every decision as it was. A deliberate change
// of the protection model re-records them with -print-digests.
func TestSolveDigests(t *testing.T) {
	want := []string{
		"6/25 03d6fbed32f1072f",
		"19/30 361f00d6210c68f2",
		"7/15 1347e5373d818254",
		"10/15 c0e75dacaf06dea9",
		"114/216 efc6d073087e0023",
		"292/625 c4612aae6f26fe75",
		"280/576 484d61932b803bf1",
		"16/35 045ef94316a4426d",
		"285/576 4721e77bb918fa3c",
		"70/140 a0e3ae22b4f26e49",
		"22/45 c6576106b3ff8aed",
		"112/245 8c8b629dec541cd7",
		"305/675 1092b7d8f50462f6",
		"40/75 da598d8de2157b63",
		"47/84 243f27304e979704",
		"331/675 03fabe8df35899c8",
		"18/35 ca9f91a339f50793",
		"3/3 456c3c18181fab52",
		"161/320 67f76a47d5e83a1c",
		"272/560 ce8a433199a6cb95",
		"114/294 a79bb8c025be3b85",
		"50/100 b4ca49e08bd0c19f",
		"293/576 de4bc066515abb1e",
		"87/196 b19daf3e996ddc64",
		"12/20 de7df94e1a6e85b5",
		"111/245 b38522613ad5eac2",
		"40/72 8bbd28cc9da453f1",
		"134/270 0e597ab9173d52bf",
		"9/25 6acb06f6888d607e",
		"220/540 c49f781963fd3b09",
		"2/4 b999a0f9e6825b73",
		"113/216 9bcdc00b4d2d945c",
		"350/675 f0681dd394cb5c3d",
		"6/15 0e3c130404e3cbcb",
		"16/30 ac46d012b8611a51",
		"30/54 370cefc7058a15ad",
		"11/20 f1bf65837dbaae72",
		"152/315 7acf81cc533bddff",
		"41/84 0b628bbd5fa22b44",
		"3/7 bd09a5870f525034",
		"165/680 aee7a593eccab096",
		"1125/4080 199b93f91aca2d1e",
		"407/2070 f36ceb1d1dadbb66",
	}
	ps := digestProblems()
	for i, p := range ps {
		got := solveDigest(t, p)
		if *printDigests {
			fmt.Printf("\t\t%q,\n", got)
			continue
		}
		if i >= len(want) || got != want[i] {
			t.Errorf("problem %d (%d cells): withheld %s, want %v", i, len(p.Cells), got, want[min(i, len(want)-1)])
		}
	}
}
