package stats

import (
	"math"
	"strings"
	"testing"
	"time"
)

func date(y int) time.Time { return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC) }

func TestOnTrackChange(t *testing.T) {
	tests := []struct {
		name      string
		in        TrackInput
		judged    bool
		onTrack   bool
		method    string
		reasonHas string
		change    float64
		progress  float64
		gap       float64
	}{
		{
			// Change 0.10, SE √(0.02² + 0.02²) = 0.028284,
			// CI 0.10 ± 0.055437 = [0.044563, 0.155437] excludes 0.
			// Pace 0.05/year, 2 more years: 0.80 ≥ 0.78.
			// Progress 0.10/0.18 = 0.555556; gap −0.08.
			name: "significant improvement on pace",
			in: TrackInput{
				Polarity: HigherIsBetter, Baseline: 0.60, BaselineSE: 0.02, Latest: 0.70, LatestSE: 0.02,
				Target: 0.78, BaselineDate: date(2020), LatestDate: date(2022), TargetDate: date(2024),
			},
			judged: true, onTrack: true, method: MethodChange, reasonHas: "reaching target",
			change: 0.10, progress: 0.555556, gap: -0.08,
		},
		{
			// Same change, target 0.90: pace gives about 0.80 by 2024.
			name: "significant improvement too slow",
			in: TrackInput{
				Polarity: HigherIsBetter, Baseline: 0.60, BaselineSE: 0.02, Latest: 0.70, LatestSE: 0.02,
				Target: 0.90, BaselineDate: date(2020), LatestDate: date(2022), TargetDate: date(2024),
			},
			judged: true, onTrack: false, method: MethodChange, reasonHas: "short of target",
			change: 0.10, progress: 1.0 / 3, gap: -0.20,
		},
		{
			// Change 0.05, SE 0.070711, CI [−0.088591, 0.188591] includes 0:
			// the arrow points up, but that decides nothing.
			name: "not significant",
			in: TrackInput{
				Polarity: HigherIsBetter, Baseline: 0.60, BaselineSE: 0.05, Latest: 0.65, LatestSE: 0.05, Target: 0.80,
			},
			judged: true, onTrack: false, method: MethodChange, reasonHas: "not distinguishable from zero",
			change: 0.05, progress: 0.25, gap: -0.15,
		},
		{
			// Lower is better, 10 → 14 with SE 1 each: CI 4 ± 2.771808 = [1.23, 6.77].
			name: "significant worsening",
			in: TrackInput{
				Polarity: LowerIsBetter, Baseline: 10, BaselineSE: 1, Latest: 14, LatestSE: 1, Target: 8,
			},
			judged: true, onTrack: false, method: MethodChange, reasonHas: "significant worsening",
			change: 4, progress: -2, gap: 6,
		},
		{
			// Lower is better, 10 → 7 with SE 0.5: CI −3 ± 1.39 excludes 0, no dates.
			name: "lower is better improving, no dates",
			in: TrackInput{
				Polarity: LowerIsBetter, Baseline: 10, BaselineSE: 0.5, Latest: 7, LatestSE: 0.5, Target: 5,
			},
			judged: true, onTrack: true, method: MethodChange, reasonHas: "significant improvement",
			change: -3, progress: 0.6, gap: 2,
		},
		{
			name: "target met",
			in: TrackInput{
				Polarity: LowerIsBetter, Baseline: 10, BaselineSE: math.NaN(), Latest: 4, LatestSE: math.NaN(), Target: 5,
			},
			judged: true, onTrack: true, method: MethodTargetMet, reasonHas: "target met",
			change: -6, progress: 1.2, gap: -1,
		},
		{
			name: "no standard errors",
			in: TrackInput{
				Polarity: HigherIsBetter, Baseline: 0.6, BaselineSE: math.NaN(), Latest: 0.7, LatestSE: math.NaN(), Target: 0.8,
			},
			judged: false, onTrack: false, method: MethodNone, reasonHas: "cannot judge",
			change: 0.1, progress: 0.5, gap: -0.1,
		},
		{
			name: "target date passed",
			in: TrackInput{
				Polarity: HigherIsBetter, Baseline: 0.60, BaselineSE: 0.01, Latest: 0.70, LatestSE: 0.01,
				Target: 0.80, BaselineDate: date(2020), LatestDate: date(2025), TargetDate: date(2025),
			},
			judged: true, onTrack: false, method: MethodChange, reasonHas: "has passed",
			change: 0.1, progress: 0.5, gap: -0.1,
		},
	}
	for _, tt := range tests {
		r := OnTrack(tt.in)
		if r.Judged != tt.judged || r.OnTrack != tt.onTrack || r.Method != tt.method {
			t.Errorf("%s: judged %v on track %v method %q (%s); want %v %v %q",
				tt.name, r.Judged, r.OnTrack, r.Method, r.Reason, tt.judged, tt.onTrack, tt.method)
		}
		if !strings.Contains(r.Reason, tt.reasonHas) {
			t.Errorf("%s: reason %q, want it to contain %q", tt.name, r.Reason, tt.reasonHas)
		}
		if !near(r.Change, tt.change, 1e-9) || !near(r.Gap, tt.gap, 1e-9) {
			t.Errorf("%s: change %g gap %g, want %g %g", tt.name, r.Change, r.Gap, tt.change, tt.gap)
		}
		checkStat(t, tt.name+": progress", r.Progress, tt.progress, 1e-5)
	}

	r := OnTrack(tests[0].in)
	checkInterval(t, "change CI", r.ChangeCI, 0.044563, 0.155437, 1e-5)
	checkStat(t, "projected", r.Projected, 0.80, 1e-3)
	if !r.Improving || r.Worsening {
		t.Errorf("improving %v worsening %v", r.Improving, r.Worsening)
	}
}

// Five yearly complete periods 2019–2023 with values
// 0.50, 0.52, 0.55, 0.57, 0.60 (SE 0.01 each, so weighted = ordinary least
// squares). With t = 0..4: t̄ = 2, ȳ = 0.548, Σ(t−t̄)(y−ȳ) = 0.25, Σ(t−t̄)² = 10,
// slope 0.025 per year. Projected to 2026 (t = 7): 0.548 + 0.025·5 = 0.673.
// Residuals 0.002, −0.003, 0.002, −0.003, 0.002; weighted χ² = 0.3 < n−2,
// so Var(slope) = 1/(10⁴·10) = 1e-5, SE 0.003162; t(0.975; 3) = 3.182446,
// slope CI 0.025 ± 0.010064 excludes 0.
// (Calendar years differ slightly from 1.0 in mean Gregorian years, hence
// the 1e-3 tolerances.)
func trendInput(target float64) TrackInput {
	var pts []TrendPoint
	for i, v := range []float64{0.50, 0.52, 0.55, 0.57, 0.60} {
		pts = append(pts, TrendPoint{Date: date(2019 + i), Value: v, SE: 0.01})
	}
	return TrackInput{
		Polarity: HigherIsBetter,
		Baseline: 0.50, BaselineSE: 0.01, Latest: 0.60, LatestSE: 0.01, Target: target,
		BaselineDate: date(2019), LatestDate: date(2023), TargetDate: date(2026),
		Trend: pts,
	}
}

func TestOnTrackTrend(t *testing.T) {
	short := OnTrack(trendInput(0.70))
	if !short.Judged || short.OnTrack || short.Method != MethodTrend || !strings.Contains(short.Reason, "short of target") {
		t.Errorf("target 0.70: %+v, want judged by trend, not on track", short)
	}
	checkStat(t, "slope", short.Slope, 0.025, 1e-4)
	checkStat(t, "projected", short.Projected, 0.673, 1e-3)
	checkInterval(t, "slope CI", short.SlopeCI, 0.014936, 0.035064, 1e-3)
	// The change from baseline alone is significant; the trend decides.
	if !short.Improving {
		t.Error("change from baseline should be significant")
	}

	on := OnTrack(trendInput(0.66))
	if !on.Judged || !on.OnTrack || on.Method != MethodTrend {
		t.Errorf("target 0.66: %+v, want on track by trend", on)
	}

	// A flat, noisy trend is not a significant improvement even though the
	// last value is above the first.
	flat := trendInput(0.70)
	for i, v := range []float64{0.55, 0.50, 0.58, 0.49, 0.56} {
		flat.Trend[i].Value = v
	}
	r := OnTrack(flat)
	if r.OnTrack || !strings.Contains(r.Reason, "not a significant improvement") {
		t.Errorf("flat trend: on track %v (%s)", r.OnTrack, r.Reason)
	}

	// Ordinary least squares when standard errors are missing.
	ols := trendInput(0.66)
	for i := range ols.Trend {
		ols.Trend[i].SE = 0
	}
	r = OnTrack(ols)
	checkStat(t, "OLS slope", r.Slope, 0.025, 1e-4)
	if !r.OnTrack {
		t.Errorf("OLS trend: %s", r.Reason)
	}
}
