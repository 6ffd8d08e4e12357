package period

import (
	"testing"
	"time"
)

func TestDaysRoundTrip(t *testing.T) {
	for d := int32(-800000); d < 800000; d += 97 {
		y, m, dd := CivilFromDays(d)
		if got := DaysFromCivil(y, m, dd); got != d {
			t.Fatalf("round trip of %d: %04d-%02d-%02d -> %d", d, y, m, dd, got)
		}
		want := time.Unix(int64(d)*86400, 0).UTC()
		if want.Year() != y || int(want.Month()) != m || want.Day() != dd {
			t.Fatalf("day %d: got %04d-%02d-%02d, time package says %s", d, y, m, dd, want.Format(time.DateOnly))
		}
		if y >= 0 && y <= 9999 && Format(d) != want.Format(time.DateOnly) {
			t.Fatalf("day %d: Format gives %s, time package %s", d, Format(d), want.Format(time.DateOnly))
		}
	}
}

func TestStart(t *testing.T) {
	for _, tc := range []struct {
		grain string
		fy    int
		day   string
		want  string
	}{
		{Day, 1, "2024-02-29", "2024-02-29"},
		// ISO week: 2021-01-01 (a Friday) belongs to the week starting Monday 2020-12-28.
		{Week, 1, "2021-01-01", "2020-12-28"},
		{Week, 1, "2021-01-03", "2020-12-28"},
		{Week, 1, "2021-01-04", "2021-01-04"},
		{Week, 1, "2024-12-31", "2024-12-30"},
		{Month, 1, "2024-02-29", "2024-02-01"},
		{Quarter, 1, "2024-03-31", "2024-01-01"},
		{Quarter, 1, "2024-04-01", "2024-04-01"},
		{Year, 1, "2024-12-31", "2024-01-01"},
		// Fiscal year starting in August: a school year.
		{Year, 8, "2024-07-31", "2023-08-01"},
		{Year, 8, "2024-08-01", "2024-08-01"},
		{Year, 8, "2025-01-15", "2024-08-01"},
		// Fiscal quarters follow the fiscal year start (July: Jul–Sep, Oct–Dec, …).
		{Quarter, 7, "2024-06-30", "2024-04-01"},
		{Quarter, 7, "2024-07-01", "2024-07-01"},
		{Quarter, 8, "2024-07-31", "2024-05-01"},
		{Quarter, 8, "2024-01-31", "2023-11-01"},
		{Year, 10, "1969-12-31", "1969-10-01"},
	} {
		d, err := Parse(tc.day)
		if err != nil {
			t.Fatal(err)
		}
		g := Grain{Name: tc.grain, FiscalStart: tc.fy}
		if got := Format(g.Start(d)); got != tc.want {
			t.Errorf("%s(fy %d) of %s = %s, want %s", tc.grain, tc.fy, tc.day, got, tc.want)
		}
	}
}

func TestNextCoversEveryDayOnce(t *testing.T) {
	for _, g := range []Grain{{Day, 1}, {Week, 1}, {Month, 1}, {Quarter, 1}, {Quarter, 8}, {Year, 1}, {Year, 8}} {
		from, _ := Parse("2019-06-15")
		to, _ := Parse("2026-06-15")
		start := g.Start(from)
		for d := from; d < to; d++ {
			if d >= g.Next(start) {
				start = g.Next(start)
			}
			if got := g.Start(d); got != start {
				t.Fatalf("%v: day %s in period %s, want %s", g, Format(d), Format(got), Format(start))
			}
		}
	}
}
