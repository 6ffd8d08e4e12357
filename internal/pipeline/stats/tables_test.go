package stats

import (
	"bytes"
	"encoding/binary"
	"flag"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

var updateTables = flag.Bool("update-tables", false, "rewrite the precomputed tables (tables/*.bin) from the functions they stand for")

// garwoodTableBytes computes the Garwood table afresh.
func garwoodTableBytes() []byte {
	b := make([]byte, 16*garwoodTableSize)
	for x := range garwoodTableSize {
		ci := garwood(float64(x))
		binary.LittleEndian.PutUint64(b[16*x:], math.Float64bits(ci.Lower))
		binary.LittleEndian.PutUint64(b[16*x+8:], math.Float64bits(ci.Upper))
	}
	return b
}

// cpFlagsTableBytes computes the width rules' table afresh, from the exact interval as
// NCHSProportion computes it.
func cpFlagsTableBytes() []byte {
	b := make([]byte, (2*cpPairs(cpTableMaxN)+7)/8)
	for n := 1; n <= cpTableMaxN; n++ {
		for x := 0; x <= n; x++ {
			wide, relWide := exactWidthRules(float64(x), float64(n))
			bit := 2 * cpIndex(x, n)
			if wide {
				b[bit/8] |= 1 << (bit % 8)
			}
			if relWide {
				b[(bit+1)/8] |= 1 << ((bit + 1) % 8)
			}
		}
	}
	return b
}

// closeFloats reports whether two tables of float64 agree to 10⁻¹³ relative: the tables
// are written on amd64, whose math.Log and math.Exp are assembly, and another
// architecture's may differ in the last bits (the table's values are then the ones
// published there too, the same as on amd64).
func closeFloats(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i+8 <= len(a); i += 8 {
		x := math.Float64frombits(binary.LittleEndian.Uint64(a[i:]))
		y := math.Float64frombits(binary.LittleEndian.Uint64(b[i:]))
		if math.Abs(x-y) > 1e-13*math.Max(math.Abs(x), math.Abs(y)) {
			return false
		}
	}
	return true
}

// The tables hold, bit for bit on amd64, what the functions they stand for compute; the lookups
// answer exactly inside them and not outside.
func TestTables(t *testing.T) {
	for _, tc := range []struct {
		file string
		got  []byte
		want func() []byte
	}{
		{"garwood.bin", garwoodTable, garwoodTableBytes},
		{"cpflags.bin", cpFlagsTable, cpFlagsTableBytes},
	} {
		want := tc.want()
		if *updateTables {
			if err := os.WriteFile(filepath.Join("tables", tc.file), want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !bytes.Equal(tc.got, want) && !(runtime.GOARCH != "amd64" && tc.file == "garwood.bin" && closeFloats(tc.got, want)) {
			t.Errorf("tables/%s differs from what its function computes: go test ./internal/pipeline/stats -run TestTables -update-tables", tc.file)
		}
	}
	if *updateTables {
		t.Skip("tables rewritten; run again without -update-tables")
	}
	for _, x := range []float64{0, 1, 2, 17, garwoodTableSize - 1} {
		if got, ok := Garwood(x); !ok || got != garwood(x) {
			t.Errorf("Garwood(%g) = %v, want %v", x, got, garwood(x))
		}
	}
	for _, x := range []float64{4.5, garwoodTableSize, 1e6, -1, math.NaN()} {
		if _, ok := garwoodFromTable(x); ok {
			t.Errorf("the Garwood table answers for %g", x)
		}
	}
	for _, xn := range [][2]float64{{0, 1}, {1, 1}, {9, 65}, {5, 35}, {0, cpTableMaxN}, {cpTableMaxN, cpTableMaxN}} {
		wide, relWide, ok := cpRulesFromTable(xn[0], xn[1])
		w, r, _ := cpWidthRulesHow(xn[0], xn[1])
		if !ok || wide != w || relWide != r {
			t.Errorf("cpRulesFromTable(%g, %g) = %v, %v, %v, want %v, %v", xn[0], xn[1], wide, relWide, ok, w, r)
		}
	}
	for _, xn := range [][2]float64{{0, 0}, {1, cpTableMaxN + 1}, {2.5, 10}, {3, 10.5}, {11, 10}, {-1, 10}} {
		if _, _, ok := cpRulesFromTable(xn[0], xn[1]); ok {
			t.Errorf("the width rules' table answers for (%g, %g)", xn[0], xn[1])
		}
	}
}
