package report

import (
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

func fp(v float64) *float64 { return &v }

var (
	rateFmt = fmtFor(&spec.Indicator{Measure: spec.Rate, Unit: "per 1,000"}, &English)
	propFmt = fmtFor(&spec.Indicator{Measure: spec.Proportion, Unit: "proportion"}, &English)
	cntFmt  = fmtFor(&spec.Indicator{Measure: spec.DistinctCount, Unit: "families"}, &English)
	meanFmt = fmtFor(&spec.Indicator{Measure: spec.Mean, Unit: "points"}, &English)
)

func TestChangeWords(t *testing.T) {
	for _, c := range []struct {
		name           string
		f              numFmt
		polarity       string
		change, lo, hi *float64
		prev, want     string
	}{
		{"clear rise, higher is better", propFmt, spec.HigherIsBetter, fp(0.028), fp(0.01), fp(0.046), "2024",
			"Up 2.8 percentage points since 2024, more than chance alone would explain — a change for the better."},
		{"clear rise, lower is better", rateFmt, spec.LowerIsBetter, fp(2.8), fp(0.4), fp(5.2), "2024",
			"Up 2.8 per 1,000 since 2024, more than chance alone would explain — a change for the worse."},
		{"clear fall, lower is better", rateFmt, spec.LowerIsBetter, fp(-1.26), fp(-2), fp(-0.5), "2024",
			"Down 1.3 per 1,000 since 2024, more than chance alone would explain — a change for the better."},
		{"within chance", rateFmt, spec.LowerIsBetter, fp(0.041), fp(-1.724), fp(1.806), "2024",
			"No clear change since 2024: the change (up 0.04 per 1,000) is within what chance alone could explain."},
		{"no interval", cntFmt, spec.HigherIsBetter, fp(-6), nil, nil, "November 2025",
			"Down 6 families since November 2025; there is no interval to tell whether this is more than chance."},
		{"no change at the shown precision", propFmt, spec.HigherIsBetter, fp(0.00001), fp(-0.01), fp(0.01), "2024",
			"No change since 2024."},
		{"previous not published", rateFmt, spec.LowerIsBetter, nil, nil, nil, "2024",
			"The change since 2024 cannot be shown: one of the two values is not published."},
		{"first period", rateFmt, spec.LowerIsBetter, nil, nil, nil, "",
			"This is the first complete period: there is nothing to compare with yet."},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := changeWords(c.f, c.polarity, c.change, c.lo, c.hi, c.prev); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestGapWords(t *testing.T) {
	white := groupValue{Name: "White", Value: 8.1, Lower: fp(6.3), Upper: fp(10.4), Reliable: true}
	for _, c := range []struct {
		name       string
		f          numFmt
		g, ref     groupValue
		ratio, dif *float64
		want       string
	}{
		{"rate as a ratio, no overlap", rateFmt, groupValue{Name: "Black", Value: 26.6, Lower: fp(18.4), Upper: fp(37.2), Reliable: true}, white, fp(3.28), fp(18.5),
			"Black: 26.6 per 1,000, 3.3 times the value for White. The intervals do not overlap: the gap is unlikely to be chance alone."},
		{"ratio below one, overlap, unreliable", rateFmt, groupValue{Name: "Asian", Value: 5.4, Lower: fp(3.1), Upper: fp(8.8)}, white, fp(0.666), fp(-2.7),
			"Asian: 5.4 per 1,000, 0.67 times the value for White. The intervals overlap: this gap may be chance. This group's value is unreliable."},
		{"proportion as points", propFmt, groupValue{Name: "Hispanic or Latino", Value: 0.786, Reliable: true}, groupValue{Name: "White", Value: 0.884}, fp(0.889), fp(-0.098),
			"Hispanic or Latino: 78.6%, 9.8 percentage points lower than White."},
		{"proportion higher", propFmt, groupValue{Name: "Asian", Value: 0.9, Reliable: true}, groupValue{Name: "All groups", Value: 0.85}, nil, fp(0.05),
			"Asian: 90.0%, 5.0 percentage points higher than All groups."},
		{"no ratio: the difference", rateFmt, groupValue{Name: "A", Value: 2, Reliable: true}, groupValue{Name: "B", Value: 0}, nil, fp(2),
			"A: 2.0 per 1,000, 2.0 per 1,000 higher than B."},
		{"mean as a difference", meanFmt, groupValue{Name: "Black", Value: 65.7, Reliable: true}, groupValue{Name: "White", Value: 68.6}, fp(0.958), fp(-2.9),
			"Black: 65.7 points, 2.9 points lower than White."},
		{"same", propFmt, groupValue{Name: "A", Value: 0.5, Reliable: true}, groupValue{Name: "B", Value: 0.5}, nil, fp(0),
			"A: 50.0%, the same as B."},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := gapWords(c.f, c.g, c.ref, c.ratio, c.dif); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestWithheldWords(t *testing.T) {
	for _, c := range []struct {
		names []string
		k     int
		want  string
	}{
		{nil, 11, ""},
		{[]string{"American Indian or Alaska Native"}, 11, "1 group is not shown to protect privacy, because fewer than 11 were counted in it or showing it would let someone work out a group that was: American Indian or Alaska Native."},
		{[]string{"Hillcrest", "Pine Valley"}, 20, "2 groups are not shown to protect privacy, because fewer than 20 were counted in them or showing them would let someone work out a group that was: Hillcrest, Pine Valley."},
	} {
		if got := withheldWords(&English, c.names, c.k); got != c.want {
			t.Errorf("withheldWords(%v, %d)\ngot  %q\nwant %q", c.names, c.k, got, c.want)
		}
	}
}

func TestTrackWords(t *testing.T) {
	for _, c := range []struct {
		t         *aggregate.Track
		hasTarget bool
		want      string
	}{
		{nil, false, "No target is set."},
		{&aggregate.Track{Judged: true, OnTrack: true, Method: "trend"}, true, "Yes: on track to reach the target, judged by the trend over all complete periods projected to the target date."},
		{&aggregate.Track{Judged: true, Method: "change", Improving: true}, true, "Not yet on track to reach the target, judged by the change from the baseline. It is improving."},
		{&aggregate.Track{Judged: true, Method: "trend", Worsening: true}, true, "Not yet on track to reach the target, judged by the trend over all complete periods projected to the target date. It is getting worse."},
		{&aggregate.Track{Judged: true, OnTrack: true, Method: "target met"}, true, "Yes: the latest value has reached the target."},
		{&aggregate.Track{Judged: true, Method: "change from baseline"}, true, "Not yet on track to reach the target, judged by the change from the baseline."},
		{&aggregate.Track{Method: "none", Reason: "no complete, published period with an interval"}, true, "Not judged: no complete, published period with an interval."},
	} {
		if got := trackWords(&English, c.t, c.hasTarget); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		f    numFmt
		v    float64
		want string
	}{
		{rateFmt, 9.873, "9.9 per 1,000"},
		{rateFmt, 0.041, "0.04 per 1,000"},
		{rateFmt, 0.0041, "0.004 per 1,000"},
		{rateFmt, 0, "0 per 1,000"},
		{rateFmt, -1.724, "−1.7 per 1,000"},
		{rateFmt, 1234.6, "1,235 per 1,000"},
		{propFmt, 0.8291, "82.9%"},
		{propFmt, 1, "100.0%"},
		{propFmt, 0.0004, "0.04%"},
		{cntFmt, 1673.4, "1,673 families"},
		{cntFmt, 1234567, "1,234,567 families"},
	} {
		if got := c.f.value(c.v); got != c.want {
			t.Errorf("value(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := propFmt.amount(-0.011); got != "1.1 percentage points" {
		t.Errorf("amount = %q", got)
	}
	if got := propFmt.signed(0.042); got != "+4.2" {
		t.Errorf("signed = %q", got)
	}
	if got := rateFmt.signed(-1.724); got != "−1.7" {
		t.Errorf("signed = %q", got)
	}
	for _, c := range []struct {
		period, grain string
		fiscal        int
		want          string
	}{
		{"2025-01-01", spec.GrainYear, 0, "2025"},
		{"2025-08-01", spec.GrainYear, 8, "2025–26"},
		{"2099-08-01", spec.GrainYear, 8, "2099–00"},
		{"2025-10-01", spec.GrainQuarter, 0, "Oct–Dec 2025"},
		{"2025-11-01", spec.GrainMonth, 0, "November 2025"},
		{"2025-11-03", spec.GrainWeek, 0, "week of 2025-11-03"},
		{"2025-11-03", spec.GrainDay, 0, "2025-11-03"},
	} {
		if got := periodLabel(&English, c.period, c.grain, c.fiscal); got != c.want {
			t.Errorf("periodLabel(%s, %s) = %q, want %q", c.period, c.grain, got, c.want)
		}
	}
}

// TestMessagesComplete checks that every flag the engine writes has words, and that a
// format's verbs match its arguments (fmt would print %!(EXTRA …) or %!s(MISSING)).
func TestMessagesComplete(t *testing.T) {
	for _, fl := range []string{"n<30", "events<20", "cp-width", "cp-relative-width", "rse"} {
		if English.FlagText[fl] == "" {
			t.Errorf("no words for flag %s", fl)
		}
	}
	for _, s := range []string{
		changeWords(rateFmt, spec.LowerIsBetter, fp(1), fp(0.5), fp(1.5), "2024"),
		withheldWords(&English, []string{"a", "b"}, 11),
		gapWords(rateFmt, groupValue{Name: "a", Value: 1}, groupValue{Name: "b", Value: 1}, fp(1), fp(0)),
	} {
		if strings.Contains(s, "%!") {
			t.Errorf("a message's verbs do not match its arguments: %s", s)
		}
	}
}
