package stats

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestCountReliable(t *testing.T) {
	tests := []struct {
		x    float64
		want bool
	}{
		{0, false}, {1, false}, {19, false}, {20, true}, {1000, true}, {-1, false},
	}
	for _, tt := range tests {
		got, reason := CountReliable(tt.x)
		if got != tt.want {
			t.Errorf("CountReliable(%g) = %v (%s), want %v", tt.x, got, reason, tt.want)
		}
		if !got && reason == "" {
			t.Errorf("CountReliable(%g): unreliable without a reason", tt.x)
		}
		if r, _ := RateReliable(tt.x); r != tt.want {
			t.Errorf("RateReliable(%g) = %v, want %v", tt.x, r, tt.want)
		}
	}
}

// Clopper–Pearson widths used below (independent reference computation):
//
//	x/n      interval            width     width/p   width/(1−p)
//	0/30     [0, 0.115703]       0.115703  –         11.6 %
//	30/30    [0.884297, 1]       0.115703  11.6 %    –
//	0/100    [0, 0.036217]       0.036217  –         3.6 %
//	2/100    [0.002431, 0.070384] 0.067953 339.8 %   6.9 %
//	98/100   [0.929616, 0.997569] 0.067953 6.9 %     339.8 %
//	29/30    [0.827831, 0.999156] 0.171326 17.7 %    514.0 %
//	5/30     [0.056422, 0.347212] 0.290790 174.5 %   34.9 %
//	15/30    [0.312970, 0.687030] 0.374059 74.8 %    74.8 %
//	50/100   [0.398321, 0.601679] 0.203358 40.7 %    40.7 %
func TestNCHSProportion(t *testing.T) {
	tests := []struct {
		name       string
		x, n, nEff float64
		reliable   bool
		reasonHas  string
		complement bool // complement flagged unreliable
		review     bool
	}{
		{"n=1, x=0", 0, 1, 0, false, "effective sample size", false, false},
		{"n=1, x=n", 1, 1, 0, false, "effective sample size", false, false},
		{"x=0 small n", 0, 10, 0, false, "effective sample size", false, false},
		{"x=n small n", 10, 10, 0, false, "effective sample size", false, false},
		{"n=29", 10, 29, 0, false, "effective sample size", false, false},
		{"x=0 n=30: relative width undefined, review", 0, 30, 0, true, "", false, true},
		{"x=n=30: review", 30, 30, 0, true, "", false, true},
		{"x=0 n=100: narrow", 0, 100, 0, true, "", false, true},
		{"2/100: relative width 340%", 2, 100, 0, false, "relative width", false, false},
		{"98/100: presented, complement footnoted", 98, 100, 0, true, "", true, true},
		{"29/30: presented, complement footnoted", 29, 30, 0, true, "", true, true},
		{"5/30: relative width 174%", 5, 30, 0, false, "relative width", false, false},
		{"15/30: width 0.374", 15, 30, 0, false, "width 0.374", false, false},
		{"50/100: reliable", 50, 100, 0, true, "", false, false},
		// Design effect 4: n_eff = 25 < 30.
		{"design effect", 50, 100, 25, false, "effective sample size 25", false, false},
		// n_eff above n is capped at n.
		{"n_eff capped", 50, 100, 400, true, "", false, false},
		{"n = 0", 0, 0, 0, false, "no valid proportion", false, false},
	}
	for _, tt := range tests {
		c := NCHSProportion(tt.x, tt.n, tt.nEff)
		if c.Reliable != tt.reliable {
			t.Errorf("%s: reliable = %v (%s), want %v", tt.name, c.Reliable, c.Reason, tt.reliable)
		}
		if !strings.Contains(c.Reason, tt.reasonHas) || (tt.reliable != (c.Reason == "")) {
			t.Errorf("%s: reason %q, want one containing %q", tt.name, c.Reason, tt.reasonHas)
		}
		if c.ComplementUnreliable != tt.complement {
			t.Errorf("%s: complement unreliable = %v, want %v", tt.name, c.ComplementUnreliable, tt.complement)
		}
		if c.Review != tt.review {
			t.Errorf("%s: review = %v (%s), want %v", tt.name, c.Review, c.ReviewReason, tt.review)
		}
	}

	c := NCHSProportion(2, 100, 0)
	if !near(c.Width, 0.067953, 1e-5) || !near(c.RelativeWidth, 3.397630, 1e-4) || !near(c.ComplementRelativeWidth, 0.069339, 1e-5) {
		t.Errorf("2/100 widths = %g, %g, %g", c.Width, c.RelativeWidth, c.ComplementRelativeWidth)
	}
	if z := NCHSProportion(0, 30, 0); !math.IsNaN(z.RelativeWidth) {
		t.Errorf("relative width at p = 0 is %g, want NaN", z.RelativeWidth)
	}

	if ok, reason := ProportionReliable(50, 100); !ok || reason != "" {
		t.Errorf("ProportionReliable(50, 100) = %v, %q", ok, reason)
	}
	if ok, _ := ProportionReliable(1, 1); ok {
		t.Error("ProportionReliable(1, 1) = true, want false")
	}
}

func TestMeanReliable(t *testing.T) {
	tests := []struct {
		name         string
		n, mean, se  float64
		want         bool
		reasonSubstr string
	}{
		{"n = 1", 1, 5, math.NaN(), false, "fewer than 30"},
		{"n = 29", 29, 5, 0.1, false, "fewer than 30"},
		{"n = 30, RSE 10%", 30, 5, 0.5, true, ""},
		{"RSE 29.9%", 100, 10, 2.99, true, ""},
		{"RSE exactly 30%", 100, 10, 3, false, "30%"},
		{"RSE 50%", 100, -10, 5, false, "50%"},
		{"mean 0", 100, 0, 1, false, "RSE undefined"},
		{"all values equal to 0", 100, 0, 0, true, ""},
	}
	for _, tt := range tests {
		got, reason := MeanReliable(tt.n, tt.mean, tt.se)
		if got != tt.want || !strings.Contains(reason, tt.reasonSubstr) {
			t.Errorf("%s: MeanReliable = %v, %q; want %v with %q", tt.name, got, reason, tt.want, tt.reasonSubstr)
		}
	}
}

func TestSumAndRatioReliable(t *testing.T) {
	// {1..5}: 15 with SE √55 = 7.416, RSE 49 %, and n = 5 < 30.
	n, sum, se := 5.0, 15.0, math.Sqrt(55)
	if ok, reason := SumReliable(n, sum, se); ok || !strings.Contains(reason, "fewer than 30") {
		t.Errorf("SumReliable(5, 15, 7.42) = %v (%s), want unreliable for n < 30", ok, reason)
	}
	// 30 ones: SE √30, RSE 18 %: reliable; 29 ones are not (n < 30).
	if ok, reason := SumReliable(30, 30, math.Sqrt(30)); !ok {
		t.Errorf("SumReliable(30, 30, 5.48) = false (%s)", reason)
	}
	if ok, _ := SumReliable(29, 29, math.Sqrt(29)); ok {
		t.Error("SumReliable(29, 29, 5.39) = true, want false")
	}
	// Ratio 0.25 with SE 0.093169 over 40 units: RSE 37 %.
	if ok, reason := RatioReliable(40, 0.25, 0.093169); ok || !strings.Contains(reason, "37%") {
		t.Errorf("RatioReliable(40, 0.25, 0.093) = %v, %q; want unreliable at 37%%", ok, reason)
	}
	if ok, _ := RatioReliable(40, 0.625, 0.028527); !ok {
		t.Error("RatioReliable(40, 0.625, 0.0285) = false, want true")
	}
	// The same ratio over 4 units (the worked Ratio example): n < 30.
	if ok, reason := RatioReliable(4, 0.625, 0.028527); ok || !strings.Contains(reason, "fewer than 30") {
		t.Errorf("RatioReliable(4, 0.625, 0.0285) = %v, %q; want unreliable for n < 30", ok, reason)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"count 0", CountFlags(0), []string{FlagFewEvents}},
		{"count 19", CountFlags(19), []string{FlagFewEvents}},
		{"count 20", CountFlags(20), nil},
		// 15/30: CP [0.313, 0.687], width 0.374 ≥ 0.30.
		{"proportion 15/30", ProportionFlags(15, 30), []string{FlagCPWidth}},
		// 1/1: n < 30, CP [0.025, 1] width 0.975.
		{"proportion 1/1", ProportionFlags(1, 1), []string{FlagFewUnits, FlagCPWidth}},
		// 0/29: n < 30, CP [0, 0.119]; relative width undefined at 0.
		{"proportion 0/29", ProportionFlags(0, 29), []string{FlagFewUnits}},
		// 29/29 = 1: n < 30, CP [0.881, 1], width 0.119, relative width 12 %.
		{"proportion 29/29", ProportionFlags(29, 29), []string{FlagFewUnits}},
		// 2/100: CP [0.0024, 0.0704], width 0.068 > 0.05, relative width 340 % > 130 %.
		{"proportion 2/100", ProportionFlags(2, 100), []string{FlagCPRelativeWidth}},
		// 50/100: CP [0.398, 0.602], width 0.203: reliable.
		{"proportion 50/100", ProportionFlags(50, 100), nil},
		// 0/1000: CP [0, 0.0037]: reliable (NCHS presents it, for review).
		{"proportion 0/1000", ProportionFlags(0, 1000), nil},
		{"mean n = 1", UnitsFlags(1, 5, math.NaN()), []string{FlagFewUnits, FlagRSE}},
		{"sum n = 29, RSE 19 %", UnitsFlags(29, 29, math.Sqrt(29)), []string{FlagFewUnits}},
		{"sum n = 100, RSE 30 %", UnitsFlags(100, 10, 3), []string{FlagRSE}},
		{"sum n = 100, value 0", UnitsFlags(100, 0, 1), []string{FlagRSE}},
		{"ratio n = 100, RSE 10 %", UnitsFlags(100, 2, 0.2), nil},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: flags %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	// The flags agree with the reliability the reasons give, on a grid.
	for n := 0.0; n <= 60; n++ {
		for x := 0.0; x <= n; x++ {
			if ok, _ := ProportionReliable(x, n); n > 0 && ok != (len(ProportionFlags(x, n)) == 0) {
				t.Errorf("%g/%g: reliable %v, flags %q", x, n, ok, ProportionFlags(x, n))
			}
		}
		if ok, _ := CountReliable(n); ok != (len(CountFlags(n)) == 0) {
			t.Errorf("count %g: reliable %v, flags %q", n, ok, CountFlags(n))
		}
		for _, se := range []float64{0, 0.1 * n, 0.3 * n, math.NaN()} {
			if ok, _ := MeanReliable(n, n, se); ok != (len(UnitsFlags(n, n, se)) == 0) {
				t.Errorf("mean of %g units, SE %g: reliable %v, flags %q", n, se, ok, UnitsFlags(n, n, se))
			}
		}
	}
}
