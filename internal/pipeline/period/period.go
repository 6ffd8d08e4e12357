// Package period assigns days to periods: day numbers (days since 1970-01-01 on the local
// calendar), and the Day, ISO Week, Month, fiscal Quarter and fiscal Year that contain them.
// A period is named by its first day.
package period

import (
	"fmt"
	"time"
)

// Grains.
const (
	Day     = "Day"
	Week    = "Week"
	Month   = "Month"
	Quarter = "Quarter"
	Year    = "Year"
)

// DaysFromCivil returns the day number of a calendar date (proleptic Gregorian;
// Howard Hinnant's days_from_civil).
func DaysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

// CivilFromDays is the inverse of DaysFromCivil.
func CivilFromDays(z int32) (y, m, d int) {
	zz := int(z) + 719468
	era := floorDiv(zz, 146097)
	doe := zz - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// DayOf is the day number of t's calendar date in t's location.
func DayOf(t time.Time) int32 {
	y, m, d := t.Date()
	return DaysFromCivil(y, int(m), d)
}

// Format writes a day number as an ISO date.
func Format(day int32) string {
	y, m, d := CivilFromDays(day)
	if y < 0 || y > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

// Parse reads an ISO date into a day number.
func Parse(s string) (int32, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return DayOf(t), nil
}

// Grain assigns days to periods of one length.
type Grain struct {
	Name string
	// FiscalStart is the month (1–12) Years and Quarters start on.
	FiscalStart int
}

// Start returns the first day of the period containing day.
func (g Grain) Start(day int32) int32 {
	switch g.Name {
	case Day:
		return day
	case Week:
		// 1970-01-01 was a Thursday; ISO weeks start on Monday.
		wd := (int(day) + 3) % 7 // 0 = Monday
		if wd < 0 {
			wd += 7
		}
		return day - int32(wd)
	case Month:
		y, m, _ := CivilFromDays(day)
		return DaysFromCivil(y, m, 1)
	case Quarter, Year:
		y, m, _ := CivilFromDays(day)
		fs := g.FiscalStart
		if fs < 1 {
			fs = 1
		}
		months := 12
		if g.Name == Quarter {
			months = 3
		}
		// Months since the fiscal anchor, floored to the period length.
		idx := y*12 + (m - 1) - (fs - 1)
		idx = floorDiv(idx, months) * months
		idx += fs - 1
		return DaysFromCivil(floorDiv(idx, 12), idx-floorDiv(idx, 12)*12+1, 1)
	}
	panic("period: unknown grain " + g.Name)
}

// Next returns the first day of the period after the one starting at start.
func (g Grain) Next(start int32) int32 {
	switch g.Name {
	case Day:
		return start + 1
	case Week:
		return start + 7
	}
	y, m, _ := CivilFromDays(start)
	add := 1
	switch g.Name {
	case Quarter:
		add = 3
	case Year:
		add = 12
	}
	idx := y*12 + (m - 1) + add
	return DaysFromCivil(floorDiv(idx, 12), idx-floorDiv(idx, 12)*12+1, 1)
}

// Valid reports whether name is a grain.
func Valid(name string) bool {
	switch name {
	case Day, Week, Month, Quarter, Year:
		return true
	}
	return false
}
