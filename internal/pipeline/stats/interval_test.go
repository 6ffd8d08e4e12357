package stats

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func checkInterval(t *testing.T, name string, got Interval, lo, hi, tol float64) {
	t.Helper()
	if !near(got.Lower, lo, tol) || !near(got.Upper, hi, tol) {
		t.Errorf("%s = [%.6f, %.6f], want [%.6f, %.6f] (±%g)", name, got.Lower, got.Upper, lo, hi, tol)
	}
}

// Reference values below were computed independently of gonum, by bisection
// on the Poisson and binomial cumulative distribution functions summed term
// by term, and agree with published tables (Garwood 1936; Ulm 1990; Newcombe
// 1998 for Wilson).

func TestGarwood(t *testing.T) {
	tests := []struct {
		x      float64
		lo, hi float64
	}{
		{0, 0, 3.688879},
		{1, 0.025318, 5.571643},
		{2, 0.242209, 7.224688},
		{5, 1.623486, 11.668332},
		{10, 4.795389, 18.390356},
		{20, 12.216520, 30.888378},
	}
	for _, tt := range tests {
		ci, ok := Garwood(tt.x)
		if !ok {
			t.Fatalf("Garwood(%g) not defined", tt.x)
		}
		checkInterval(t, "Garwood", ci, tt.lo, tt.hi, 1e-4)
	}
	if ci, _ := Garwood(0); ci.Lower != 0 {
		t.Errorf("Garwood(0) lower = %g, want exactly 0", ci.Lower)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, ok := Garwood(bad); ok {
			t.Errorf("Garwood(%g) defined, want not defined", bad)
		}
	}
	// Large counts: close to the normal approximation x ± 1.96√x.
	ci, _ := Garwood(1e6)
	if !near(ci.Lower, 1e6-Z95*1e3, 5) || !near(ci.Upper, 1e6+Z95*1e3, 5) {
		t.Errorf("Garwood(1e6) = %+v, want about 1e6 ± 1960", ci)
	}
}

func TestWilson(t *testing.T) {
	tests := []struct {
		x, n   float64
		lo, hi float64
	}{
		{0, 10, 0, 0.277533},
		{10, 10, 0.722467, 1},
		{1, 1, 0.206549, 1},
		{0, 1, 0, 0.793451},
		{5, 10, 0.236593, 0.763407},
	}
	for _, tt := range tests {
		ci, ok := Wilson(tt.x, tt.n)
		if !ok {
			t.Fatalf("Wilson(%g, %g) not defined", tt.x, tt.n)
		}
		checkInterval(t, "Wilson", ci, tt.lo, tt.hi, 1e-5)
	}
	if ci, _ := Wilson(0, 10); ci.Lower != 0 {
		t.Errorf("Wilson(0,10) lower = %g, want exactly 0", ci.Lower)
	}
	if ci, _ := Wilson(10, 10); ci.Upper != 1 {
		t.Errorf("Wilson(10,10) upper = %g, want exactly 1", ci.Upper)
	}
	for _, bad := range [][2]float64{{0, 0}, {3, 2}, {-1, 5}, {math.NaN(), 4}} {
		if _, ok := Wilson(bad[0], bad[1]); ok {
			t.Errorf("Wilson(%g, %g) defined, want not defined", bad[0], bad[1])
		}
	}
}

func TestClopperPearson(t *testing.T) {
	tests := []struct {
		x, n   float64
		lo, hi float64
	}{
		{0, 10, 0, 0.308497},
		{10, 10, 0.691503, 1},
		{1, 1, 0.025, 1},
		{0, 1, 0, 0.975},
		{5, 10, 0.187086, 0.812914},
		{1, 10, 0.002529, 0.445016},
		{0, 30, 0, 0.115703},
		{2, 100, 0.002431, 0.070384},
		{5, 30, 0.056422, 0.347212},
		{50, 100, 0.398321, 0.601679},
	}
	for _, tt := range tests {
		ci, ok := ClopperPearson(tt.x, tt.n)
		if !ok {
			t.Fatalf("ClopperPearson(%g, %g) not defined", tt.x, tt.n)
		}
		checkInterval(t, "ClopperPearson", ci, tt.lo, tt.hi, 1e-5)
	}
	if _, ok := ClopperPearson(0, 0); ok {
		t.Error("ClopperPearson(0, 0) defined, want not defined")
	}
}

func TestTQuantile95(t *testing.T) {
	// Student t tables.
	for _, tt := range []struct{ df, want float64 }{
		{1, 12.706205}, {2, 4.302653}, {4, 2.776445}, {9, 2.262157}, {29, 2.045230}, {1e7, Z95},
	} {
		if got := TQuantile95(tt.df); !near(got, tt.want, 1e-5) {
			t.Errorf("TQuantile95(%g) = %.6f, want %.6f", tt.df, got, tt.want)
		}
	}
}

func TestTQuantile95Expansion(t *testing.T) {
	// Table values to 10 digits (R: qt(0.975, df)) on both sides of the switch to the
	// expansion at 300 degrees of freedom, and the expansion against the inverse incomplete
	// beta where both are accurate.
	for _, tt := range []struct{ df, want float64 }{
		{299, 1.967929669}, {300, 1.967903011}, {1000, 1.962339081}, {1e5, 1.959987708},
	} {
		if got := TQuantile95(tt.df); !near(got, tt.want, 1e-9) {
			t.Errorf("TQuantile95(%g) = %.10f, want %.10f", tt.df, got, tt.want)
		}
	}
	for df := 300.0; df <= 3000; df += 37 {
		beta := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(0.975)
		if got := TQuantile95(df); math.Abs(got-beta) > 1e-12*beta {
			t.Errorf("TQuantile95(%g) = %.17g, inverse incomplete beta %.17g", df, got, beta)
		}
	}
	if got := TQuantile95(1e15); !near(got, Z95, 1e-14) {
		t.Errorf("TQuantile95(1e15) = %.17g, want Z95", got)
	}
}

func TestSEFromInterval(t *testing.T) {
	if got := SEFromInterval(Interval{-Z95 * 2, Z95 * 2}); !near(got, 2, 1e-12) {
		t.Errorf("SEFromInterval = %g, want 2", got)
	}
}

// Garwood's bounds by Newton's method equal distuv.Gamma's quantiles to 1e-14 relative,
// from the smallest counts to millions.
func TestGarwoodAgreesWithGammaQuantile(t *testing.T) {
	for x := 0.0; x < 5e6; x = math.Max(x+1, math.Ceil(x*1.01)) {
		ci, ok := Garwood(x)
		if !ok {
			t.Fatalf("Garwood(%g) not defined", x)
		}
		lo := 0.0
		if x > 0 {
			lo = distuv.Gamma{Alpha: x, Beta: 1}.Quantile(alpha / 2)
		}
		hi := distuv.Gamma{Alpha: x + 1, Beta: 1}.Quantile(1 - alpha/2)
		if math.Abs(ci.Lower-lo) > 1e-14*lo || math.Abs(ci.Upper-hi) > 1e-14*hi {
			t.Fatalf("Garwood(%g) = [%.17g, %.17g], gamma quantiles [%.17g, %.17g]", x, ci.Lower, ci.Upper, lo, hi)
		}
	}
}

// TestTTable95 checks the table of t quantiles against distuv.StudentsT, bit for bit.
func TestTTable95(t *testing.T) {
	for df := 1; df < 300; df++ {
		want := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
		if got := TQuantile95(float64(df)); got != want {
			t.Errorf("TQuantile95(%d) = %v, distuv gives %v", df, got, want)
		}
	}
	// Worked values: t(0.975; 1) = 12.7062, t(0.975; 10) = 2.2281, t(0.975; 299) = 1.9679.
	for _, tt := range []struct{ df, want float64 }{{1, 12.7062047}, {10, 2.2281389}, {299, 1.9679297}} {
		if got := TQuantile95(tt.df); math.Abs(got-tt.want) > 1e-7 {
			t.Errorf("TQuantile95(%g) = %.8f, want %.7f", tt.df, got, tt.want)
		}
	}
}
