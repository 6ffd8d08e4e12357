package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// minus is the sign of negative numbers: the typographic minus, read as such by screen
// readers, not a hyphen.
const minus = "−"

// numFmt formats an indicator's numbers as the page shows them. Every number on a page
// is formatted by one of its methods, so a reader of the page (and its tests) can tell
// which number of the result a string stands for.
type numFmt struct {
	percent bool   // a Proportion: shown ×100 with a % sign, changes in percentage points
	byRatio bool   // a Rate or Ratio: groups are compared by the ratio of their values
	integer bool   // a count: no decimals
	unit    string // appended after the number ("per 1,000", "visits"); empty for percent
	m       *Messages
}

// fmtFor returns the number format of an indicator.
func fmtFor(ind *spec.Indicator, m *Messages) numFmt {
	f := numFmt{m: m, unit: strings.TrimSpace(ind.Unit)}
	switch ind.Measure {
	case spec.Proportion:
		f.percent = true
		f.unit = ""
	case spec.Count, spec.DistinctCount:
		f.integer = true
	case spec.Rate, spec.Ratio:
		f.byRatio = true
	}
	switch strings.ToLower(f.unit) {
	case "proportion", "percent", "%", "share":
		f.unit = ""
	}
	return f
}

// plain formats v with a precision fit for people: no decimals for counts and from 100 up,
// one from 1, two below (three below 0.01), thousands separated by commas.
func plain(v float64, integer bool) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	a := math.Abs(v)
	dec := 1
	switch {
	case integer || a >= 100:
		dec = 0
	case a < 0.01:
		dec = 3
	case a < 1:
		dec = 2
	}
	s := strconv.FormatFloat(a, 'f', dec, 64)
	if s == strconv.FormatFloat(0, 'f', dec, 64) {
		return "0"
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if len(intPart) > 3 {
		var b strings.Builder
		for i, r := range intPart {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(r)
		}
		intPart = b.String()
	}
	if frac != "" {
		intPart += "." + frac
	}
	if v < 0 {
		return minus + intPart
	}
	return intPart
}

// num is a value without its unit: "82.9%" for a proportion, "9.9" for a rate.
func (f numFmt) num(v float64) string {
	if f.percent {
		return plainPercent(100*v) + "%"
	}
	return plain(v, f.integer)
}

// plainPercent formats a percentage (already ×100) with one decimal, two below 0.1.
func plainPercent(p float64) string {
	if p == 0 {
		return "0"
	}
	a := math.Abs(p)
	dec := 1
	if a < 0.1 {
		dec = 2
	}
	s := strconv.FormatFloat(a, 'f', dec, 64)
	if strings.Trim(s, "0.") == "" {
		return "0"
	}
	if p < 0 {
		return minus + s
	}
	return s
}

// value is a value with its unit: "82.9%", "9.9 per 1,000", "1,204 families".
func (f numFmt) value(v float64) string {
	if f.unit == "" {
		return f.num(v)
	}
	return f.num(v) + " " + f.unit
}

// amount is the size of a difference or change, always positive, with its unit:
// "2.8 percentage points", "0.04 per 1,000".
func (f numFmt) amount(d float64) string {
	d = math.Abs(d)
	if f.percent {
		return plainPercent(100*d) + " " + f.m.PercentagePoints
	}
	return f.value(d)
}

// signed is a difference with its sign, for interval ends: "−1.7", "+1.8 points".
func (f numFmt) signed(d float64) string {
	var s string
	if f.percent {
		s = plainPercent(100 * d)
	} else {
		s = plain(d, false)
	}
	if d > 0 && s != "0" {
		s = "+" + s
	}
	return s
}

// ratio formats a ratio between groups: one decimal from 1, two below.
func ratio(r float64) string {
	if r >= 1 {
		return strconv.FormatFloat(r, 'f', 1, 64)
	}
	return strconv.FormatFloat(r, 'f', 2, 64)
}

// percentInt formats a share (0.4 → "40%").
func percentInt(p float64) string {
	return strconv.FormatFloat(math.Round(100*p), 'f', 0, 64) + "%"
}

// periodLabel names a period (its first day, ISO) for people: "2025", "2025–26" for a
// fiscal year, "Oct–Dec 2025", "November 2025", "week of 2025-11-03".
func periodLabel(m *Messages, p, grain string, fiscalStart int) string {
	t, err := time.Parse(time.DateOnly, p)
	if err != nil {
		return p
	}
	switch grain {
	case spec.GrainYear:
		if fiscalStart > 1 {
			return fmt.Sprintf(m.FiscalYear, t.Year(), fmt.Sprintf("%02d", (t.Year()+1)%100))
		}
		return strconv.Itoa(t.Year())
	case spec.GrainQuarter:
		last := t.AddDate(0, 2, 0)
		return fmt.Sprintf(m.Quarter, m.MonthsShort[t.Month()-1], m.MonthsShort[last.Month()-1], t.Year())
	case spec.GrainMonth:
		return m.Months[t.Month()-1] + " " + strconv.Itoa(t.Year())
	case spec.GrainWeek:
		return fmt.Sprintf(m.WeekOf, p)
	}
	return p
}

// dateLabel writes a date for people: "23 November 2026".
func dateLabel(m *Messages, d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return fmt.Sprintf("%d %s %d", t.Day(), m.Months[t.Month()-1], t.Year())
}
