package aggregate_test

import (
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// An as-of date is a calendar date in the Initiative's zone. 2026-01-01 parsed as midnight
// UTC is 2025-12-31 16:00 in Los Angeles; the period ending on 2025-12-31 is complete all
// the same.
func TestWorkedAsOfIsACalendarDateInTheInitiativeZone(t *testing.T) {
	const tz = "America/Los_Angeles"
	tb := &table{Source: "s", Cols: []colDef{{Name: "date", Type: spec.TypeDate}}}
	tb.Rows = append(tb.Rows, rowsOf(25, map[string]any{"date": mustCivil("2025-11-20")})...)
	tb.Rows = append(tb.Rows, rowsOf(30, map[string]any{"date": mustCivil("2025-12-31")})...)
	op := spec.Operand{Source: "s", Aggregate: spec.Count, TimeColumn: "date"}
	p := smallPlan(tz, nil,
		spec.Indicator{Name: "monthly", Measure: spec.Count, Grain: spec.GrainMonth, MinCellSize: 1, Numerator: op},
		spec.Indicator{Name: "yearly", Measure: spec.Count, Grain: spec.GrainYear, MinCellSize: 1, Numerator: op},
	)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		asOf     time.Time
		partial  bool   // December 2025 and the year 2025
		headline string // the monthly headline's period
	}{
		{"parsed as midnight UTC", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, "2025-12-01"},
		{"written in another zone", time.Date(2026, 1, 1, 0, 0, 0, 0, tokyo), false, "2025-12-01"},
		{"late on the day before", time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC), true, "2025-11-01"},
		{"the last day itself", time.Date(2025, 12, 31, 0, 0, 0, 0, tokyo), true, "2025-11-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tz, nil, false)
			res := e.run(p, tc.asOf, tb)
			cells := cellsByKey(t, res)
			for _, k := range []string{cellKey("monthly", "2025-12-01", nil), cellKey("yearly", "2025-01-01", nil)} {
				c := cells[k]
				if c == nil {
					t.Fatalf("no cell %s", k)
				}
				if c.Partial != tc.partial {
					t.Errorf("%s as of %s: partial %v, want %v", k, tc.asOf, c.Partial, tc.partial)
				}
			}
			if nov := cells[cellKey("monthly", "2025-11-01", nil)]; nov.Partial {
				t.Errorf("November 2025 is partial as of %s", tc.asOf)
			}
			for _, ir := range res.Indicators {
				if ir.Name == "monthly" && (ir.Headline == nil || ir.Headline.Period != tc.headline) {
					t.Errorf("monthly headline %+v, want period %s", ir.Headline, tc.headline)
				}
			}
		})
	}
}
