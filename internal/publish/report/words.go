package report

import (
	"fmt"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/pipeline/stats"
)

// changeWords says how a value changed since the previous complete period: "Up 2.8
// percentage points since 2024, more than chance alone would explain — a change for the
// better." The change is called clear only when its 95 % interval leaves out zero.
func changeWords(f numFmt, polarity string, change, lower, upper *float64, prev string) string {
	m := f.m
	if prev == "" {
		return m.ChangeFirst
	}
	if change == nil {
		return fmt.Sprintf(m.ChangeUnknown, prev)
	}
	d := *change
	if f.amount(d) == f.amount(0) {
		return fmt.Sprintf(m.ChangeNone, prev)
	}
	dir := m.ChangeUp
	if d < 0 {
		dir = m.ChangeDown
	}
	head := fmt.Sprintf(dir, f.amount(d), prev)
	if lower == nil || upper == nil {
		return head + m.ChangeNoInterval
	}
	if *lower <= 0 && *upper >= 0 {
		word := m.Up
		if d < 0 {
			word = m.Down
		}
		return fmt.Sprintf(m.ChangeNotClear, prev, fmt.Sprintf(word, f.amount(d)))
	}
	better := (d > 0) == (polarity != spec.LowerIsBetter)
	if better {
		return head + m.ChangeClear + m.ChangeBetter
	}
	return head + m.ChangeClear + m.ChangeWorse
}

// trackWords says whether an indicator is on track to its target.
func trackWords(m *Messages, t *aggregate.Track, hasTarget bool) string {
	if !hasTarget {
		return m.TrackNoTarget
	}
	if t == nil || !t.Judged {
		reason := ""
		if t != nil {
			reason = t.Reason
		}
		if reason == "" {
			reason = m.TrackNoReason
		}
		return fmt.Sprintf(m.TrackNotJudged, reason)
	}
	if t.Method == stats.MethodTargetMet && t.OnTrack {
		return m.TrackMet
	}
	method := m.TrackChange
	if t.Method == stats.MethodTrend {
		method = m.TrackTrend
	}
	if t.OnTrack {
		return fmt.Sprintf(m.TrackYes, method)
	}
	s := fmt.Sprintf(m.TrackNo, method)
	switch {
	case t.Improving:
		s += m.TrackImproving
	case t.Worsening:
		s += m.TrackWorsening
	}
	return s
}

// groupValue is one group's published value, for gap sentences.
type groupValue struct {
	Name         string
	Value        float64
	Lower, Upper *float64
	Reliable     bool
}

// gapWords compares a group with the reference group: rates and ratios as a ratio
// ("Black: 29.0 per 1,000, 4.9 times the value for White."), proportions as a difference
// in percentage points and means as a difference in their unit, and says whether the
// two intervals overlap. ratio and diff are
// the result's own (EquitySummary.Ratios and Differences); nil when it holds none.
func gapWords(f numFmt, g, ref groupValue, ratioV, diff *float64) string {
	m := f.m
	var s string
	switch {
	case f.byRatio && ratioV != nil:
		s = fmt.Sprintf(m.GapTimes, g.Name, f.value(g.Value), ratio(*ratioV), ref.Name)
	case diff != nil && f.amount(*diff) != f.amount(0):
		word := m.Higher
		if *diff < 0 {
			word = m.Lower
		}
		s = fmt.Sprintf(m.GapPoints, g.Name, f.value(g.Value), f.amount(*diff), word, ref.Name)
	default:
		s = fmt.Sprintf(m.GapSame, g.Name, f.value(g.Value), ref.Name)
	}
	if g.Lower != nil && g.Upper != nil && ref.Lower != nil && ref.Upper != nil {
		if *g.Lower > *ref.Upper || *g.Upper < *ref.Lower {
			s += m.GapNoOverlap
		} else {
			s += m.GapOverlap
		}
	}
	if !g.Reliable {
		s += m.GapUnreliable
	}
	return s
}

// withheldWords names the groups withheld to protect privacy, never their numbers:
// "2 groups are not shown to protect privacy, because fewer than 11 were counted …".
func withheldWords(m *Messages, names []string, k int) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(m.WithheldOne, 1, k, names[0])
	}
	return fmt.Sprintf(m.WithheldMany, len(names), k, strings.Join(names, ", "))
}

// flagWords explains why a value is unreliable: "it rests on fewer than 20 events".
func flagWords(m *Messages, flags []string) string {
	var parts []string
	for _, fl := range flags {
		if s, ok := m.FlagText[fl]; ok {
			parts = append(parts, s)
		} else {
			parts = append(parts, fl)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, m.FlagText["rse"])
	}
	return strings.Join(parts, "; ")
}
