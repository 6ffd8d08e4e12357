package aggregate

import (
	"fmt"
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
