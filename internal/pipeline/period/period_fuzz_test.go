package period

import (
	"testing"
	"time"
)

// FuzzPeriod checks every grain on arbitrary day numbers and fiscal start
// months: start ≤ day < next, the period starting at next starts at next, the
// start of a month-based period is the first of a month, and a day formats to an
// ISO date that parses back to itself and agrees with the time package.
func FuzzPeriod(f *testing.F) {
	f.Add(int32(0), uint8(1))      // 1970-01-01, a Thursday
	f.Add(int32(19935), uint8(7))  // 2024-07-31, fiscal year from July
	f.Add(int32(-1), uint8(12))    // 1969-12-31
	f.Add(int32(11016), uint8(10)) // 2000-02-29
	f.Add(DaysFromCivil(9999, 12, 31), uint8(4))
	f.Add(DaysFromCivil(1, 1, 1), uint8(2))
	f.Fuzz(func(t *testing.T, day int32, fiscal uint8) {
		// Years 1–9999: the range of ISO dates and of time.Parse.
		if day < DaysFromCivil(1, 1, 1) || day > DaysFromCivil(9999, 12, 31) {
			return
		}
		fs := int(fiscal%12) + 1
		checkFormat(t, day)
		for _, name := range []string{Day, Week, Month, Quarter, Year} {
			g := Grain{Name: name, FiscalStart: fs}
			start := g.Start(day)
			next := g.Next(start)
			if !(start <= day && day < next) {
				t.Fatalf("%s (fiscal %d) of %s: start %s, next %s", name, fs, Format(day), Format(start), Format(next))
			}
			if g.Start(start) != start || g.Start(next) != next || g.Start(next-1) != start {
				t.Fatalf("%s (fiscal %d) of %s: start %s, next %s are not period boundaries",
					name, fs, Format(day), Format(start), Format(next))
			}
			checkShape(t, g, start, next)
		}
	})
}

// checkShape checks a period's first day and length against its grain.
func checkShape(t *testing.T, g Grain, start, next int32) {
	t.Helper()
	y, m, d := CivilFromDays(start)
	n := next - start
	ok := true
	switch g.Name {
	case Day:
		ok = n == 1
	case Week:
		ok = n == 7 && time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Weekday() == time.Monday
	case Month:
		ok = d == 1 && n >= 28 && n <= 31
	case Quarter:
		ok = d == 1 && (m-g.FiscalStart+12)%3 == 0 && n >= 89 && n <= 92
	case Year:
		ok = d == 1 && m == g.FiscalStart && (n == 365 || n == 366)
	}
	if !ok {
		t.Fatalf("%s (fiscal %d): period %s–%s (%d days)", g.Name, g.FiscalStart, Format(start), Format(next), n)
	}
}

// checkFormat checks Format, Parse and CivilFromDays against the time package.
func checkFormat(t *testing.T, day int32) {
	t.Helper()
	s := Format(day)
	back, err := Parse(s)
	if err != nil || back != day {
		t.Fatalf("Parse(Format(%d)) = %d, %v (%q)", day, back, err, s)
	}
	want := time.Unix(int64(day)*86400, 0).UTC()
	if s != want.Format(time.DateOnly) {
		t.Fatalf("Format(%d) = %q, want %q", day, s, want.Format(time.DateOnly))
	}
	y, m, d := CivilFromDays(day)
	if DaysFromCivil(y, m, d) != day || DayOf(want) != day {
		t.Fatalf("day %d: civil %d-%d-%d does not round-trip", day, y, m, d)
	}
}
