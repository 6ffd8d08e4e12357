package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"

	"github.com/backbone-dev/backbone/bench/internal/workload"
)

// relTol is the largest relative difference allowed between the engines' means and
// proportions; counts must be equal.
const relTol = 1e-9

// cellKey names a group: its month and its breakdown ("" for the total, else
// "dimension=group").
type cellKey struct {
	month string
	group string
}

// comparison is the outcome of comparing Backbone's cells with DuckDB's groups.
type comparison struct {
	backboneCells int // every cell of every indicator
	published     int // compared value by value
	suppressed    int // DuckDB's numbers skipped
	empty         int // groups with no rows: Backbone publishes n = 0, DuckDB has no group
	duckGroups    int
	problems      []string
}

func (c *comparison) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *comparison) ok() bool { return len(c.problems) == 0 }

func (c *comparison) String() string {
	s := fmt.Sprintf("%d Backbone cells (%d published and equal, %d suppressed, %d empty groups), %d DuckDB groups",
		c.backboneCells, c.published, c.suppressed, c.empty, c.duckGroups)
	if !c.ok() {
		s += fmt.Sprintf(", %d differences", len(c.problems))
	}
	return s
}

func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// compareCells compares cell by cell: every Backbone cell that is published must equal
// DuckDB's group (counts exactly, means and proportions within relTol); DuckDB's numbers
// for cells Backbone suppressed are skipped; every DuckDB group must be a Backbone cell.
func compareCells(sh workload.Shape, bbFile, duckFile string) (*comparison, error) {
	var bb []aggregate.Cell
	if err := readJSON(bbFile, &bb); err != nil {
		return nil, fmt.Errorf("Backbone cells: %w", err)
	}
	var duck []workload.DuckCell
	if err := readJSON(duckFile, &duck); err != nil {
		return nil, fmt.Errorf("DuckDB cells: %w", err)
	}
	cmp := &comparison{backboneCells: len(bb), duckGroups: len(duck)}
	groups := map[cellKey]workload.DuckCell{}
	for _, d := range duck {
		k := cellKey{month: d.Month, group: d.Group}
		if _, dup := groups[k]; dup {
			cmp.fail("DuckDB has group %v twice", k)
		}
		groups[k] = d
	}
	seen := map[string]map[cellKey]bool{}
	for _, c := range bb {
		k := cellKey{month: c.Period}
		switch len(c.Dimensions) {
		case 0:
		case 1:
			for d, g := range c.Dimensions {
				k.group = d + "=" + g
			}
		default:
			cmp.fail("%s %v: an intersection the plan does not ask for", c.Indicator, c.Dimensions)
			continue
		}
		if seen[c.Indicator] == nil {
			seen[c.Indicator] = map[cellKey]bool{}
		}
		seen[c.Indicator][k] = true
		d, found := groups[k]
		if c.Suppressed {
			cmp.suppressed++
			if c.Value != nil || c.N != nil || c.Numerator != nil {
				cmp.fail("%s %v: suppressed but publishes a number", c.Indicator, k)
			}
			continue
		}
		if !found {
			// A group without rows: DuckDB has no row for it, Backbone publishes n = 0.
			if c.N == nil || *c.N != 0 {
				cmp.fail("%s %v: Backbone publishes n = %v, DuckDB has no such group", c.Indicator, k, show(c.N))
			} else {
				cmp.empty++
			}
			continue
		}
		before := len(cmp.problems)
		switch c.Indicator {
		case sh.Count:
			cmp.equalInt(c, k, "n", c.N, d.N)
			cmp.equalFloat(c, k, "value", c.Value, float64(d.N), true)
		case sh.Mean:
			cmp.equalInt(c, k, "n", c.N, d.NValue)
			if d.Mean == nil {
				if c.Value != nil {
					cmp.fail("%s %v: value %v, DuckDB's mean is null", c.Indicator, k, *c.Value)
				}
			} else {
				cmp.equalFloat(c, k, "value", c.Value, *d.Mean, false)
			}
		case sh.Proportion:
			cmp.equalInt(c, k, "n", c.N, d.N)
			cmp.equalFloat(c, k, "numerator", c.Numerator, float64(d.NNum), true)
			cmp.equalFloat(c, k, "denominator", c.Denominator, float64(d.N), true)
			cmp.equalFloat(c, k, "value", c.Value, d.Share, false)
		default:
			cmp.fail("unexpected indicator %q", c.Indicator)
		}
		if len(cmp.problems) == before {
			cmp.published++
		}
	}
	for _, ind := range []string{sh.Count, sh.Mean, sh.Proportion} {
		var missing []string
		for k := range groups {
			if !seen[ind][k] {
				missing = append(missing, k.month+" "+k.group)
			}
		}
		sort.Strings(missing)
		for _, m := range missing {
			cmp.fail("%s: DuckDB group %s has no Backbone cell", ind, m)
		}
	}
	return cmp, nil
}

func show(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

func (cmp *comparison) equalInt(c aggregate.Cell, k cellKey, what string, got *int64, want int64) {
	if got == nil || *got != want {
		cmp.fail("%s %v: %s Backbone %s, DuckDB %d", c.Indicator, k, what, show(got), want)
	}
}

func (cmp *comparison) equalFloat(c aggregate.Cell, k cellKey, what string, got *float64, want float64, exact bool) {
	if got == nil {
		cmp.fail("%s %v: %s Backbone null, DuckDB %v", c.Indicator, k, what, want)
		return
	}
	diff := math.Abs(*got - want)
	if exact && diff != 0 || !exact && diff > relTol*math.Max(math.Abs(*got), math.Abs(want)) {
		cmp.fail("%s %v: %s Backbone %v, DuckDB %v (relative difference %.3g)", c.Indicator, k, what, *got, want, diff/math.Max(math.Abs(*got), math.Abs(want)))
	}
}
