package stats

import (
	"fmt"
	"math"
	"time"
)

// TrendPoint is an indicator value in one complete period.
type TrendPoint struct {
	// Date is the period's first day.
	Date  time.Time
	Value float64
	// SE is the value's standard error; 0 or NaN when unknown. When every
	// point has one the trend is fitted by weighted least squares.
	SE float64
}

// TrackInput describes an indicator and its target. Only complete periods
// may be passed: the current, partial period is left out of the judgement.
type TrackInput struct {
	Polarity Polarity

	// Baseline value and its standard error (NaN when unknown; see
	// [SEFromInterval] to derive one from an interval).
	Baseline   float64
	BaselineSE float64
	// Latest complete-period value and its standard error.
	Latest   float64
	LatestSE float64
	// Target value, to be reached by TargetDate.
	Target float64

	// Period first days; zero when unknown. With all three, the observed pace
	// from baseline to latest is projected to TargetDate.
	BaselineDate time.Time
	LatestDate   time.Time
	TargetDate   time.Time

	// Trend, optional: the indicator over complete periods. With at least 3
	// points at different dates and a TargetDate, a fitted linear trend
	// projected to the target date decides instead of the two-point change.
	Trend []TrendPoint
}

// Methods for [TrackResult.Method].
const (
	MethodTargetMet = "target met"
	MethodTrend     = "trend"
	MethodChange    = "change from baseline"
	MethodNone      = "not judged"
)

// TrackResult is the on-track judgement.
type TrackResult struct {
	// Change is Latest − Baseline; ChangeCI its normal 95 % interval from
	// √(SE_baseline² + SE_latest²), when both standard errors are known.
	Change      float64
	ChangeSE    float64
	ChangeCI    Interval
	HasChangeCI bool
	// Improving / Worsening: ChangeCI excludes zero in the better / worse
	// direction of the polarity.
	Improving bool
	Worsening bool

	// Progress is (Latest − Baseline)/(Target − Baseline): 0 at baseline,
	// 1 at target. Not defined when the target equals the baseline.
	Progress Stat
	// Gap is Latest − Target.
	Gap float64
	// TargetMet: Latest is at or beyond Target in the polarity's direction.
	TargetMet bool

	// Slope of the fitted trend per year, with its 95 % interval.
	Slope   Stat
	SlopeCI Interval
	// Projected is the value expected at TargetDate (fitted trend, or the
	// observed pace from baseline to latest), with its 95 % interval when
	// it comes from a trend.
	Projected   Stat
	ProjectedCI Interval

	// Method says what decided: MethodTargetMet, MethodTrend, MethodChange
	// or MethodNone.
	Method string
	// Judged is false when there was not enough information to decide;
	// OnTrack is then false too.
	Judged  bool
	OnTrack bool
	Reason  string
}

// OnTrack judges whether an indicator is on track to meet its target,
// statistically: direction arrows alone decide nothing.
//
//   - The target is met when the latest value is at or beyond the target in
//     the polarity's direction: on track.
//   - Otherwise, when the target date has passed: not on track.
//   - With a usable trend (at least 3 complete periods and a target date), a
//     line is fitted (weighted by 1/SE² when every point has a standard
//     error, with the weights' scale inflated by the residual dispersion
//     when that is above 1; ordinary least squares otherwise). On track when
//     the slope's 95 % t interval (n−2 degrees of freedom) excludes zero in
//     the better direction and the trend projected to the target date
//     reaches the target.
//   - Otherwise the change from baseline decides: on track when its 95 %
//     interval excludes zero in the better direction and, when the baseline,
//     latest and target dates are known, the observed pace carried on to the
//     target date reaches the target. Without dates, a significant
//     improvement is on track. Without standard errors nothing is judged.
func OnTrack(in TrackInput) TrackResult {
	res := TrackResult{
		Change: math.NaN(), ChangeSE: math.NaN(), Gap: math.NaN(),
		Slope: noStat("no trend"), Projected: noStat("no projection"),
		Method: MethodNone,
	}
	if !in.Polarity.valid() {
		res.Reason = "polarity not set"
		res.Progress = noStat("%s", res.Reason)
		return res
	}
	if !finite(in.Baseline, in.Latest, in.Target) {
		res.Reason = "baseline, latest value or target missing"
		res.Progress = noStat("%s", res.Reason)
		return res
	}

	pol := in.Polarity
	res.Change = in.Latest - in.Baseline
	res.Gap = in.Latest - in.Target
	if d := in.Target - in.Baseline; d != 0 {
		res.Progress = stat(res.Change / d)
	} else {
		res.Progress = noStat("target equals baseline")
	}
	if finite(in.BaselineSE, in.LatestSE) && in.BaselineSE >= 0 && in.LatestSE >= 0 {
		res.ChangeSE = math.Hypot(in.BaselineSE, in.LatestSE)
		res.ChangeCI = normalInterval(res.Change, res.ChangeSE)
		res.HasChangeCI = true
		res.Improving = excludesZero(res.ChangeCI, pol)
		res.Worsening = excludesZero(res.ChangeCI, opposite(pol))
	}

	var trend *trendFit
	if !in.TargetDate.IsZero() {
		if f, ok := fitTrend(in.Trend, in.TargetDate); ok {
			trend = &f
			res.Slope = stat(f.slope)
			res.SlopeCI = Interval{f.slope - f.crit*f.slopeSE, f.slope + f.crit*f.slopeSE}
			res.Projected = stat(f.projected)
			res.ProjectedCI = Interval{f.projected - f.crit*f.projectedSE, f.projected + f.crit*f.projectedSE}
		}
	}

	res.TargetMet = pol.meets(in.Latest, in.Target)
	if res.TargetMet {
		res.Method, res.Judged, res.OnTrack = MethodTargetMet, true, true
		res.Reason = fmt.Sprintf("target met: latest %.4g is at or beyond target %.4g", in.Latest, in.Target)
		return res
	}
	if !in.TargetDate.IsZero() && !in.LatestDate.IsZero() && !in.LatestDate.Before(in.TargetDate) {
		res.Method, res.Judged = MethodChange, true
		if trend != nil {
			res.Method = MethodTrend
		}
		res.Reason = fmt.Sprintf("target date %s has passed and latest %.4g has not reached target %.4g",
			in.TargetDate.Format(time.DateOnly), in.Latest, in.Target)
		return res
	}

	if trend != nil {
		res.Method, res.Judged = MethodTrend, true
		switch {
		case !excludesZero(res.SlopeCI, pol):
			res.Reason = fmt.Sprintf("trend over %d complete periods (%.4g per year, 95%% CI %.4g to %.4g) is not a significant improvement",
				trend.n, trend.slope, res.SlopeCI.Lower, res.SlopeCI.Upper)
		case !pol.meets(trend.projected, in.Target):
			res.Reason = fmt.Sprintf("improving, but the trend projects %.4g by %s, short of target %.4g",
				trend.projected, in.TargetDate.Format(time.DateOnly), in.Target)
		default:
			res.OnTrack = true
			res.Reason = fmt.Sprintf("significant improving trend (%.4g per year) projects %.4g by %s, reaching target %.4g",
				trend.slope, trend.projected, in.TargetDate.Format(time.DateOnly), in.Target)
		}
		return res
	}

	if !res.HasChangeCI {
		res.Reason = "cannot judge: standard error of the baseline or latest value unknown"
		return res
	}
	res.Method, res.Judged = MethodChange, true
	if !res.Improving {
		what := "is not distinguishable from zero"
		if res.Worsening {
			what = "is a significant worsening"
		}
		res.Reason = fmt.Sprintf("change from baseline %.4g (95%% CI %.4g to %.4g) %s",
			res.Change, res.ChangeCI.Lower, res.ChangeCI.Upper, what)
		return res
	}
	if in.BaselineDate.IsZero() || in.LatestDate.IsZero() || in.TargetDate.IsZero() || !in.BaselineDate.Before(in.LatestDate) {
		res.OnTrack = true
		res.Reason = fmt.Sprintf("significant improvement from baseline (%.4g, 95%% CI %.4g to %.4g); no dates to project to the target",
			res.Change, res.ChangeCI.Lower, res.ChangeCI.Upper)
		return res
	}
	elapsed := years(in.BaselineDate, in.LatestDate)
	remaining := years(in.LatestDate, in.TargetDate)
	projected := in.Latest + res.Change/elapsed*remaining
	res.Projected = stat(projected)
	if !pol.meets(projected, in.Target) {
		res.Reason = fmt.Sprintf("improving significantly, but at this pace %.4g by %s, short of target %.4g",
			projected, in.TargetDate.Format(time.DateOnly), in.Target)
		return res
	}
	res.OnTrack = true
	res.Reason = fmt.Sprintf("significant improvement from baseline (%.4g, 95%% CI %.4g to %.4g); at this pace %.4g by %s, reaching target %.4g",
		res.Change, res.ChangeCI.Lower, res.ChangeCI.Upper, projected, in.TargetDate.Format(time.DateOnly), in.Target)
	return res
}

func opposite(p Polarity) Polarity {
	if p == LowerIsBetter {
		return HigherIsBetter
	}
	return LowerIsBetter
}

// excludesZero reports whether ci lies entirely on the better side of zero.
func excludesZero(ci Interval, p Polarity) bool {
	if p == LowerIsBetter {
		return ci.Upper < 0
	}
	return ci.Lower > 0
}

// daysPerYear is the mean Gregorian year.
const daysPerYear = 365.2425

// years returns the time from a to b in years.
func years(a, b time.Time) float64 {
	return b.Sub(a).Hours() / 24 / daysPerYear
}

type trendFit struct {
	n           int
	slope       float64 // per year
	slopeSE     float64
	projected   float64 // at the target date
	projectedSE float64
	crit        float64 // t(0.975; n−2)
}

// fitTrend fits value = a + b·t by least squares, t in years, and projects
// it to the date at. ok is false with fewer than 3 usable points or when all
// points share one date.
func fitTrend(points []TrendPoint, at time.Time) (f trendFit, ok bool) {
	var pts []TrendPoint
	for _, p := range points {
		if finite(p.Value) && !p.Date.IsZero() {
			pts = append(pts, p)
		}
	}
	n := len(pts)
	if n < 3 {
		return f, false
	}
	origin := pts[0].Date
	weighted := true
	for _, p := range pts {
		if !(p.SE > 0) || !finite(p.SE) {
			weighted = false
		}
	}
	t := make([]float64, n)
	w := make([]float64, n)
	var sw, swt, swy Neumaier
	for i, p := range pts {
		t[i] = years(origin, p.Date)
		w[i] = 1
		if weighted {
			w[i] = 1 / (p.SE * p.SE)
		}
		sw.Add(w[i])
		swt.Add(w[i] * t[i])
		swy.Add(w[i] * p.Value)
	}
	W := sw.Sum()
	tbar, ybar := swt.Sum()/W, swy.Sum()/W
	var stt, sty Neumaier
	for i, p := range pts {
		dt := t[i] - tbar
		stt.Add(w[i] * dt * dt)
		sty.Add(w[i] * dt * (p.Value - ybar))
	}
	Stt := stt.Sum()
	if !(Stt > 0) {
		return f, false
	}
	b := sty.Sum() / Stt
	var rss Neumaier
	for i, p := range pts {
		r := p.Value - ybar - b*(t[i]-tbar)
		rss.Add(w[i] * r * r)
	}
	df := float64(n - 2)
	scale := rss.Sum() / df // residual variance (OLS) or dispersion (WLS)
	if weighted {
		scale = math.Max(1, scale)
	}
	T := years(origin, at)
	f = trendFit{
		n:           n,
		slope:       b,
		slopeSE:     math.Sqrt(scale / Stt),
		projected:   ybar + b*(T-tbar),
		projectedSE: math.Sqrt(scale * (1/W + (T-tbar)*(T-tbar)/Stt)),
		crit:        TQuantile95(df),
	}
	return f, true
}
