package stats

import (
	"math"
	"testing"
)

// sums returns n, Σx and Σx² of xs.
func sums(xs ...float64) (n, s, ss float64) {
	for _, x := range xs {
		n++
		s += x
		ss += x * x
	}
	return n, s, ss
}

func TestMean(t *testing.T) {
	tests := []struct {
		name   string
		xs     []float64
		mean   float64
		se     float64
		lo, hi float64
	}{
		// {1..5}: mean 3, s = √2.5 = 1.581139, SE = s/√5 = 0.707107,
		// t(0.975; 4) = 2.776445: 3 ± 1.963243.
		{"1..5", []float64{1, 2, 3, 4, 5}, 3, 0.707107, 1.036757, 4.963243},
		// {2, 4}: mean 3, s = √2, SE = 1, t(0.975; 1) = 12.706205.
		{"two units", []float64{2, 4}, 3, 1, -9.706205, 15.706205},
		// All equal: variance 0 (not a tiny negative from rounding).
		{"constant", []float64{0.1, 0.1, 0.1}, 0.1, 0, 0.1, 0.1},
	}
	for _, tt := range tests {
		e := Mean(sums(tt.xs...))
		if !e.Defined || !e.HasCI {
			t.Fatalf("%s: Mean not defined: %s", tt.name, e.Note)
		}
		if !near(e.Value, tt.mean, 1e-9) || !near(e.SE, tt.se, 1e-6) {
			t.Errorf("%s: Mean = %g (SE %g), want %g (SE %g)", tt.name, e.Value, e.SE, tt.mean, tt.se)
		}
		checkInterval(t, tt.name, e.CI, tt.lo, tt.hi, 1e-5)
	}

	one := Mean(sums(7))
	if !one.Defined || one.HasCI || one.Value != 7 || one.Note == "" {
		t.Errorf("Mean of one unit = %+v, want value 7 without interval and with a note", one)
	}
	if none := Mean(0, 0, 0); none.Defined {
		t.Errorf("Mean of no units defined: %+v", none)
	}
}

func TestMeanLargeOffset(t *testing.T) {
	// Values 1e8+{1,2,3}: the naive Σx² − (Σx)²/n loses everything but the
	// result must stay non-negative and close to s² = 1.
	n, s, ss := sums(1e8+1, 1e8+2, 1e8+3)
	e := Mean(n, s, ss)
	if e.SE < 0 || math.IsNaN(e.SE) {
		t.Fatalf("SE = %g, want a non-negative number", e.SE)
	}
	if !near(e.Value, 1e8+2, 1e-6) {
		t.Errorf("mean = %f", e.Value)
	}
}

func TestSum(t *testing.T) {
	// Compound Poisson: SE = √Σx².
	for _, tc := range []struct {
		name           string
		xs             []float64
		value, se      float64
		lower, upper   float64
		defined, hasCI bool
		note           string
	}{
		// {1..5}: Σ = 15, Σx² = 55, SE = √55 = 7.416198, ±1.96·SE = 14.535479.
		{"1..5", []float64{1, 2, 3, 4, 5}, 15, 7.416198, 0.464521, 29.535479, true, true, ""},
		// 25 ones: a count of 25, SE √25 = 5 as for the Count, 25 ± 9.799820.
		{"25 ones", ones(25), 25, 5, 15.200180, 34.799820, true, true, ""},
		// One unit of 4: SE 4, 4 ± 7.839856.
		{"n = 1", []float64{4}, 4, 4, -3.839856, 11.839856, true, true, ""},
		// Values of 0: SE 0, the interval is the value.
		{"zeros", []float64{0, 0, 0}, 0, 0, 0, 0, true, true, ""},
		// No units: the value 0, no interval, and the note says why.
		{"no units", nil, 0, math.NaN(), 0, 0, true, false, "no units in this cell"},
	} {
		e := Sum(sums(tc.xs...))
		if e.Defined != tc.defined || e.HasCI != tc.hasCI || e.Note != tc.note || !near(e.Value, tc.value, 1e-12) {
			t.Errorf("%s: Sum = %+v, want value %g, defined %v, interval %v, note %q", tc.name, e, tc.value, tc.defined, tc.hasCI, tc.note)
			continue
		}
		if !tc.hasCI {
			continue
		}
		if !near(e.SE, tc.se, 1e-6) {
			t.Errorf("%s: SE %g, want %g", tc.name, e.SE, tc.se)
		}
		checkInterval(t, tc.name, e.CI, tc.lower, tc.upper, 1e-5)
	}
	// The same data as a Count: 25 events, SE 5.
	if c := Count(25); c.SE != Sum(sums(ones(25)...)).SE {
		t.Errorf("a sum of 25 ones has SE %g, the Count of 25 %g", Sum(sums(ones(25)...)).SE, c.SE)
	}
}

func ones(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func TestRatio(t *testing.T) {
	// Units (num, den): (1,2) (2,3) (3,5) (4,6).
	// Σnum = 10, Σden = 16, R = 0.625.
	// Residuals num − R·den: −0.25, 0.125, −0.125, 0.25; Σe² = 0.15625
	// (= Σnum² − 2RΣnum·den + R²Σden² = 30 − 58.75 + 28.90625).
	// Var(R) = 4/3 · 0.15625 / 16² = 8.138021e-4, SE = 0.028527.
	// CI = 0.625 ± 1.96·0.028527 = [0.569088, 0.680912].
	e := Ratio(4, 10, 16, 30, 74, 47)
	if !e.HasCI || !near(e.Value, 0.625, 1e-12) || !near(e.SE, 0.028527, 1e-6) {
		t.Fatalf("Ratio = %+v, want 0.625 with SE 0.028527", e)
	}
	checkInterval(t, "Ratio", e.CI, 0.569088, 0.680912, 1e-5)

	// Exactly proportional units: zero variance, never negative.
	// Denominators {1,2,3}, numerators {2,4,6}.
	if p := Ratio(3, 12, 6, 4+16+36, 1+4+9, 2+8+18); p.SE != 0 || p.Value != 2 {
		t.Errorf("proportional Ratio = %+v, want 2 with SE 0", p)
	}
	if z := Ratio(3, 1, 0, 1, 0, 0); z.Defined {
		t.Errorf("Ratio with zero denominator defined: %+v", z)
	}
	if one := Ratio(1, 2, 4, 4, 16, 8); !one.Defined || one.HasCI || one.Value != 0.5 {
		t.Errorf("Ratio of one unit = %+v", one)
	}
}

func TestRatioIndependent(t *testing.T) {
	// Numerator units {1,2,3,4,5}: Σ = 15, V = 5·2.5 = 12.5.
	// Denominator units {10,20,30}: Σ = 60, V = 3·100 = 300.
	// R = 0.25, Var = (12.5 + 0.0625·300)/3600 = 31.25/3600, SE = 0.093169.
	nn, sn, ssn := sums(1, 2, 3, 4, 5)
	nd, sd, ssd := sums(10, 20, 30)
	e := RatioIndependent(nn, sn, ssn, nd, sd, ssd)
	if !near(e.Value, 0.25, 1e-12) || !near(e.SE, 0.093169, 1e-6) {
		t.Errorf("RatioIndependent = %+v, want 0.25 with SE 0.093169", e)
	}
}

func TestRatioCompoundPoisson(t *testing.T) {
	// Numerator units {1,2,3,4,5}: Σ = 15, Σx² = 55. Denominator units {10,20,30}: Σ = 60,
	// Σy² = 1,400. R = 0.25, Var = (55 + 0.0625·1,400)/3,600 = 142.5/3,600,
	// SE = 0.198956, interval 0.25 ± 0.389946.
	e := RatioCompoundPoisson(15, 55, 60, 1400)
	if !near(e.Value, 0.25, 1e-12) || !near(e.SE, 0.198956, 1e-6) {
		t.Errorf("RatioCompoundPoisson = %+v, want 0.25 with SE 0.198956", e)
	}
	checkInterval(t, "RatioCompoundPoisson", e.CI, -0.139946, 0.639946, 1e-5)
	// Two independent counts, 40 / 80: R = 0.5, Var = R²(1/40 + 1/80) = 0.009375,
	// SE 0.096825 (a count is never taken as fixed).
	if c := RatioCompoundPoisson(40, 40, 80, 80); !near(c.SE, 0.096825, 1e-5) {
		t.Errorf("40/80 as counts: SE %g, want 0.096825", c.SE)
	}
	if z := RatioCompoundPoisson(3, 9, 0, 0); z.Defined {
		t.Errorf("denominator 0: %+v, want undefined", z)
	}
}

func TestRate(t *testing.T) {
	// 10 events in 1,000 people per 1,000: 10 per 1,000, Garwood [4.795, 18.390].
	e := Rate(10, 1000, 1000)
	if !near(e.Value, 10, 1e-12) || !near(e.SE, math.Sqrt(10), 1e-12) {
		t.Errorf("Rate = %+v", e)
	}
	checkInterval(t, "Rate", e.CI, 4.795389, 18.390356, 1e-4)

	// 0 events in 50,000 per 100,000: 0, upper 3.689·2 = 7.378.
	z := Rate(0, 50000, 100000)
	checkInterval(t, "Rate(0)", z.CI, 0, 7.377759, 1e-4)

	if nopop := Rate(3, 0, 1000); nopop.Defined || nopop.Note == "" {
		t.Errorf("Rate without population = %+v, want not defined with a note", nopop)
	}
}

func TestCountAndProportion(t *testing.T) {
	c := Count(10)
	checkInterval(t, "Count", c.CI, 4.795389, 18.390356, 1e-4)
	p := Proportion(5, 10)
	if !near(p.Value, 0.5, 1e-12) || !near(p.SE, math.Sqrt(0.025), 1e-12) {
		t.Errorf("Proportion = %+v", p)
	}
	checkInterval(t, "Proportion", p.CI, 0.236593, 0.763407, 1e-5)
	if bad := Proportion(6, 5); bad.Defined {
		t.Errorf("Proportion(6, 5) defined: %+v", bad)
	}
	if bad := Proportion(0, 0); bad.Defined {
		t.Errorf("Proportion(0, 0) defined: %+v", bad)
	}
}

func TestNeumaier(t *testing.T) {
	// 1 + 1e100 + 1 − 1e100 = 2; naive summation gives 0.
	xs := []float64{1, 1e100, 1, -1e100}
	if got := SumOf(xs...); got != 2 {
		t.Errorf("SumOf = %g, want 2", got)
	}
	// Merging partial sums in any split gives the same result.
	var a, b Neumaier
	a.Add(1)
	a.Add(1e100)
	b.Add(1)
	b.Add(-1e100)
	a.Merge(b)
	if a.Sum() != 2 {
		t.Errorf("merged sum = %g, want 2", a.Sum())
	}
	// 0.1 ten million times.
	var s Neumaier
	for range 10_000_000 {
		s.Add(0.1)
	}
	if !near(s.Sum(), 1e6, 1e-9) {
		t.Errorf("Σ 0.1 ×1e7 = %.12f, want 1e6", s.Sum())
	}
}
