package stats

import (
	_ "embed"
	"encoding/binary"
	"math"
)

// Precomputed tables of the exact intervals of small counts, which a run needs for most of
// its cells and which a fresh process (an aggregation Job) would otherwise compute for
// each: the regularised incomplete gamma and beta functions are evaluated a dozen times
// per cell. Each table holds exactly what the function it stands for computes (the
// same code wrote it), so nothing published changes; TestTables recomputes every entry
// and `go test ./internal/pipeline/stats -run TestTables -update-tables` rewrites them.

// garwoodTableSize is the counts 0 … garwoodTableSize−1 whose Garwood interval
// garwoodTable holds: the lower and upper bounds as little-endian float64 bits (64 KiB).
const garwoodTableSize = 4096

//go:embed tables/garwood.bin
var garwoodTable []byte

// garwoodFromTable returns the table's interval of the integral count x, if it has it.
func garwoodFromTable(x float64) (Interval, bool) {
	if !(x >= 0 && x < garwoodTableSize && x == math.Trunc(x)) || len(garwoodTable) != 16*garwoodTableSize {
		return Interval{}, false
	}
	i := 16 * int(x)
	return Interval{
		Lower: math.Float64frombits(binary.LittleEndian.Uint64(garwoodTable[i:])),
		Upper: math.Float64frombits(binary.LittleEndian.Uint64(garwoodTable[i+8:])),
	}, true
}

// cpTableMaxN is the largest n whose Clopper–Pearson width rules cpFlagsTable holds, for
// every integral 0 ≤ x ≤ n: two bits per pair (wide, relWide), pairs in the order of n
// then x (33 KiB).
const cpTableMaxN = 512

//go:embed tables/cpflags.bin
var cpFlagsTable []byte

// cpPairs is the number of (x, n) pairs with 1 ≤ n ≤ maxN and 0 ≤ x ≤ n.
func cpPairs(maxN int) int { return maxN * (maxN + 3) / 2 }

// cpIndex is the position of (x, n) among the pairs.
func cpIndex(x, n int) int { return n*(n+1)/2 - 1 + x }

// cpRulesFromTable returns the table's width rules of the integral pair (x, n), if it has
// them.
func cpRulesFromTable(x, n float64) (wide, relWide, ok bool) {
	if !(n >= 1 && n <= cpTableMaxN && n == math.Trunc(n) && x >= 0 && x <= n && x == math.Trunc(x)) || len(cpFlagsTable) != (2*cpPairs(cpTableMaxN)+7)/8 {
		return false, false, false
	}
	bit := 2 * cpIndex(int(x), int(n))
	b := cpFlagsTable[bit/8] >> (bit % 8)
	return b&1 != 0, b&2 != 0, true
}
