package aggregate

import (
	"fmt"
	"slices"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// The solver breaks ties by the sorted cell key, so the keys built by hand must be the
// bytes fmt gave.
func TestCellKeyMatchesFmt(t *testing.T) {
	sets := []*cellSet{{size: 1}, {dims: []string{"sex"}, sizes: []int{3}, size: 3}, {dims: []string{"sex", "region"}, sizes: []int{3, 12}, size: 36}}
	grains := []period.Grain{{Name: spec.GrainMonth}, {Name: spec.GrainYear, FiscalStart: 7}, {Name: spec.GrainQuarter, FiscalStart: 1}}
	for _, g := range grains {
		for si, cs := range sets {
			for _, start := range []int32{0, 7, 19723, -3, -1 << 31, 1<<31 - 1, 1234567890} {
				for _, gi := range []int{0, 1, cs.size - 1, 35} {
					if gi >= cs.size {
						continue
					}
					ir := &indicatorRun{grain: g, sets: sets}
					c := &cell{start: start, set: si, gi: gi}
					codes := cs.codes(gi)
					gk := g.Name
					if gk == spec.GrainYear || gk == spec.GrainQuarter {
						gk += fmt.Sprintf("/%d", g.FiscalStart)
					}
					want := fmt.Sprintf("%s/%010d/%s/%v", gk, start, cs.key(), codes)
					if got := cellKey(ir, c, codes); got != want {
						t.Errorf("cellKey = %q, want %q", got, want)
					}
					want = fmt.Sprintf("%d-%d/%s/%010d/%d", si, gi, g.Name, start, gi*7)
					if got := noNullsKey(si, gi, g.Name, start, gi*7); got != want {
						t.Errorf("noNullsKey = %q, want %q", got, want)
					}
				}
			}
		}
	}
}

// matchingByScan is the former matching: every cube cell's codes tested.
func matchingByScan(p *problem, setDims []string, codes []int) []int32 {
	var match []int32
	for c := 0; c < p.cube; c++ {
		ok := true
		for i, d := range setDims {
			ps := slices.Index(p.dims, d)
			if (c/p.strides[ps])%p.sizes[ps] != codes[i] {
				ok = false
				break
			}
		}
		if ok {
			match = append(match, int32(c))
		}
	}
	return match
}

func TestMatchingEnumeratesTheScan(t *testing.T) {
	dims := []string{"a", "b", "c"}
	p := &problem{dims: dims, sizes: []int{3, 1, 4}}
	p.strides = make([]int, len(p.sizes))
	p.cube = 1
	for i := len(p.sizes) - 1; i >= 0; i-- {
		p.strides[i] = p.cube
		p.cube *= p.sizes[i]
	}
	sets := [][]string{{}, {"a"}, {"c"}, {"a", "c"}, {"c", "a"}, {"b", "c"}, {"a", "b", "c"}}
	for _, set := range sets {
		codes := make([]int, len(set))
		for {
			got, want := p.matching(set, codes), matchingByScan(p, set, codes)
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Errorf("matching(%v, %v) = %v, want %v", set, codes, got, want)
			}
			i := len(codes) - 1
			for ; i >= 0; i-- {
				codes[i]++
				if codes[i] < p.sizes[slices.Index(dims, set[i])] {
					break
				}
				codes[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}
	if got := p.matching([]string{"a"}, []int{3}); got != nil {
		t.Errorf("matching of a code out of range = %v, want none", got)
	}
}
