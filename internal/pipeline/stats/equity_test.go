package stats

import (
	"math"
	"strings"
	"testing"
)

func checkStat(t *testing.T, name string, got Stat, want, tol float64) {
	t.Helper()
	if !got.OK {
		t.Errorf("%s not computed: %s", name, got.Reason)
		return
	}
	if !near(got.Value, want, tol) {
		t.Errorf("%s = %.6f, want %.6f", name, got.Value, want)
	}
}

func checkWithheld(t *testing.T, name string, got Stat, reasonHas string) {
	t.Helper()
	if got.OK {
		t.Errorf("%s = %g, want withheld", name, got.Value)
		return
	}
	if !strings.Contains(got.Reason, reasonHas) {
		t.Errorf("%s reason %q, want it to contain %q", name, got.Reason, reasonHas)
	}
}

// lowerIsBetter is a rate per 1,000 of an adverse outcome in three groups
// plus the unknown group.
//
// Hand computation (unknown group U left out):
//
//	group  rate  weight  share p
//	A      10    100     0.2
//	B      20    300     0.6
//	C      30    100     0.2
//
//	μ     = 0.2·10 + 0.6·20 + 0.2·30 = 20
//	BGV   = 0.2·(10−20)² + 0.6·0 + 0.2·(30−20)² = 40
//	Theil = 0.2·0.5·ln 0.5 + 0.6·1·ln 1 + 0.2·1.5·ln 1.5
//	      = −0.0693147 + 0.1216395 = 0.0523248
//	MLD   = 0.2·ln(20/10) + 0.6·ln 1 + 0.2·ln(20/30)
//	      = 0.1386294 − 0.0810930 = 0.0575364
//
// Reference group A (10): differences B +10, C +20; ratios B 2, C 3.
//
//	IDisp          = (|20−10| + |30−10|)/2 / 10 × 100 = 150
//	IDisp weighted = (0.75·10 + 0.25·20) / 10 × 100 = 125   (B, C shares 300:100)
//
// Best (lowest) A, worst C.
//
//	PAR  = 10 − 20 = −10
//	PAR% = −10/20 × 100 = −50
func lowerIsBetter() EquityInput {
	return EquityInput{
		Groups: []Group{
			{Name: "A", Value: 10, Weight: 100, Reliable: true},
			{Name: "B", Value: 20, Weight: 300, Reliable: true},
			{Name: "C", Value: 30, Weight: 100, Reliable: true},
			{Name: "U", Value: 50, Weight: 50, Reliable: true, Unknown: true},
		},
		ReferenceGroup: "A",
		Total:          21,
		Polarity:       LowerIsBetter,
	}
}

func TestEquityHandComputed(t *testing.T) {
	r := Equity(lowerIsBetter())
	if r.Coverage != "3 of 3 groups" {
		t.Errorf("coverage %q", r.Coverage)
	}
	if !r.AdverseTerms || r.RelativeBasis != BasisValue {
		t.Errorf("basis %q adverse %v", r.RelativeBasis, r.AdverseTerms)
	}
	checkStat(t, "reference", r.ReferenceValue, 10, 0)
	checkStat(t, "μ", r.PopulationAverage, 20, 1e-12)
	checkStat(t, "BGV", r.BGV, 40, 1e-9)
	checkStat(t, "Theil", r.Theil, 0.0523248, 1e-6)
	checkStat(t, "MLD", r.MLD, 0.0575364, 1e-6)
	checkStat(t, "IDisp", r.IDisp, 150, 1e-9)
	checkStat(t, "IDisp weighted", r.IDispWeighted, 125, 1e-9)
	checkStat(t, "PAR", r.PAR, -10, 1e-9)
	checkStat(t, "PAR%", r.PARPercent, -50, 1e-9)
	if r.Best != "A" || r.Worst != "C" {
		t.Errorf("best %q worst %q, want A and C", r.Best, r.Worst)
	}
	if len(r.Groups) != 3 {
		t.Fatalf("%d groups compared, want 3 (unknown left out)", len(r.Groups))
	}
	wantDiff := []float64{0, 10, 20}
	wantRatio := []float64{1, 2, 3}
	for i, g := range r.Groups {
		checkStat(t, g.Name+" difference", g.Difference, wantDiff[i], 1e-12)
		checkStat(t, g.Name+" ratio", g.Ratio, wantRatio[i], 1e-12)
	}
}

func TestEquityReferenceTotal(t *testing.T) {
	// Reference = total 21, every group compared:
	// IDisp = (11 + 1 + 9)/3 / 21 × 100 = 33.333333
	// weighted: (0.2·11 + 0.6·1 + 0.2·9)/21 × 100 = 4.6/21 × 100 = 21.904762
	in := lowerIsBetter()
	in.ReferenceGroup = ""
	r := Equity(in)
	checkStat(t, "reference", r.ReferenceValue, 21, 0)
	checkStat(t, "IDisp", r.IDisp, 33.333333, 1e-5)
	checkStat(t, "IDisp weighted", r.IDispWeighted, 21.904762, 1e-5)
	checkStat(t, "B ratio", r.Groups[1].Ratio, 20.0/21, 1e-12)

	in.Total = math.NaN()
	r = Equity(in)
	checkWithheld(t, "IDisp", r.IDisp, "total not published")
	checkWithheld(t, "A difference", r.Groups[0].Difference, "total not published")
	checkStat(t, "BGV", r.BGV, 40, 1e-9) // does not need the reference
}

// Readiness, a bounded HigherIsBetter proportion, two groups of equal size.
//
//	group  ready  shortfall (not ready)
//	X      0.9    0.1
//	Y      0.6    0.4
//	total  0.75   0.25  (reference)
//
// Ratios in adverse terms: X 0.1/0.25 = 0.4, Y 0.4/0.25 = 1.6.
// IDisp = (|0.1−0.25| + |0.4−0.25|)/2 / 0.25 × 100 = 60.
// μ = 0.75, BGV = 0.5·0.15² + 0.5·0.15² = 0.0225.
// Theil (shortfall, μₐ = 0.25) = 0.5·0.4·ln 0.4 + 0.5·1.6·ln 1.6
//
//	= −0.1832581 + 0.3760036 = 0.1927455
//
// MLD = 0.5·ln 2.5 + 0.5·ln 0.625 = 0.4581454 − 0.2350018 = 0.2231436.
// Best X, worst Y; PAR = 0.9 − 0.75 = 0.15, PAR% = 20.
func TestEquityHigherIsBetterShortfall(t *testing.T) {
	in := EquityInput{
		Groups: []Group{
			{Name: "X", Value: 0.9, Weight: 100, Reliable: true},
			{Name: "Y", Value: 0.6, Weight: 100, Reliable: true},
		},
		Total:    0.75,
		Polarity: HigherIsBetter,
		Bound:    1,
	}
	r := Equity(in)
	if r.RelativeBasis != BasisShortfall || !r.AdverseTerms {
		t.Errorf("basis %q adverse %v, want shortfall", r.RelativeBasis, r.AdverseTerms)
	}
	checkStat(t, "X ratio", r.Groups[0].Ratio, 0.4, 1e-12)
	checkStat(t, "Y ratio", r.Groups[1].Ratio, 1.6, 1e-12)
	checkStat(t, "X difference", r.Groups[0].Difference, 0.15, 1e-12)
	checkStat(t, "IDisp", r.IDisp, 60, 1e-9)
	checkStat(t, "BGV", r.BGV, 0.0225, 1e-12)
	checkStat(t, "Theil", r.Theil, 0.1927455, 1e-6)
	checkStat(t, "MLD", r.MLD, 0.2231436, 1e-6)
	checkStat(t, "PAR", r.PAR, 0.15, 1e-12)
	checkStat(t, "PAR%", r.PARPercent, 20, 1e-9)
	if r.Best != "X" || r.Worst != "Y" {
		t.Errorf("best %q worst %q", r.Best, r.Worst)
	}

	// Without a bound (a mean score) the values are used as they are.
	in.Bound = 0
	r = Equity(in)
	if r.RelativeBasis != BasisFavourable || r.AdverseTerms {
		t.Errorf("basis %q adverse %v, want favourable", r.RelativeBasis, r.AdverseTerms)
	}
	checkStat(t, "X ratio (favourable)", r.Groups[0].Ratio, 1.2, 1e-12)
}

// A group at 0 is kept: A 0 and B 20 with equal weights, μ = 10.
// Theil = 0.5·0 (limit of x ln x) + 0.5·2·ln 2 = ln 2 = 0.693147.
// MLD needs ln(10/0): not defined, naming the group.
func TestEquityZeroGroup(t *testing.T) {
	in := EquityInput{
		Groups: []Group{
			{Name: "A", Value: 0, Weight: 100, Reliable: true},
			{Name: "B", Value: 20, Weight: 100, Reliable: true},
		},
		Total:    10,
		Polarity: LowerIsBetter,
	}
	r := Equity(in)
	checkStat(t, "Theil", r.Theil, math.Ln2, 1e-12)
	checkWithheld(t, "MLD", r.MLD, `group "A" is 0`)
	checkStat(t, "BGV", r.BGV, 100, 1e-12)
	if len(r.Groups) != 2 {
		t.Errorf("zero group dropped: %d groups", len(r.Groups))
	}
}

func TestEquitySuppressedGroupWithholdsSummaries(t *testing.T) {
	in := lowerIsBetter()
	in.Suppressed = 1
	r := Equity(in)
	if r.Coverage != "3 of 4 groups" || r.Published != 3 || r.Expected != 4 {
		t.Errorf("coverage %q (%d of %d), want 3 of 4 groups", r.Coverage, r.Published, r.Expected)
	}
	for name, s := range map[string]Stat{
		"μ": r.PopulationAverage, "BGV": r.BGV, "Theil": r.Theil, "MLD": r.MLD,
		"PAR": r.PAR, "PAR%": r.PARPercent, "IDisp weighted": r.IDispWeighted,
	} {
		checkWithheld(t, name, s, "3 of 4 groups")
	}
	// Pairwise comparisons and the unweighted index of published groups stay.
	checkStat(t, "IDisp", r.IDisp, 150, 1e-9)
	checkStat(t, "C ratio", r.Groups[2].Ratio, 3, 1e-12)
	if r.Best != "A" || r.Worst != "C" {
		t.Errorf("best %q worst %q", r.Best, r.Worst)
	}

	// A group passed without a value counts as not published.
	in = lowerIsBetter()
	in.Groups[1].Value = math.NaN()
	r = Equity(in)
	if r.Coverage != "2 of 3 groups" {
		t.Errorf("coverage %q, want 2 of 3 groups", r.Coverage)
	}
	checkWithheld(t, "BGV", r.BGV, "2 of 3 groups")
}

func TestEquityUnreliableNeverBestOrWorst(t *testing.T) {
	in := lowerIsBetter()
	in.Groups[2].Reliable = false // C, the highest rate
	r := Equity(in)
	if r.Best != "A" || r.Worst != "B" {
		t.Errorf("best %q worst %q, want A and B (C unreliable)", r.Best, r.Worst)
	}
	if r.Groups[2].Reliable {
		t.Error("C not marked unreliable")
	}
	checkStat(t, "BGV", r.BGV, 40, 1e-9) // still part of the summaries

	in.Groups[0].Reliable = false // A too: one reliable group left
	r = Equity(in)
	if r.Best != "" || r.Worst != "" || r.BestWorstNote == "" {
		t.Errorf("best %q worst %q note %q, want none with a note", r.Best, r.Worst, r.BestWorstNote)
	}
	checkWithheld(t, "PAR", r.PAR, "no best group")
}

func TestEquityMissingWeightsAndReference(t *testing.T) {
	in := lowerIsBetter()
	in.Groups[1].Weight = 0
	r := Equity(in)
	checkWithheld(t, "BGV", r.BGV, `no population weight for group "B"`)
	checkWithheld(t, "IDisp weighted", r.IDispWeighted, `group "B"`)
	checkStat(t, "IDisp", r.IDisp, 150, 1e-9)

	in = lowerIsBetter()
	in.ReferenceGroup = "Z"
	r = Equity(in)
	checkWithheld(t, "IDisp", r.IDisp, `reference group "Z" not published`)
	checkWithheld(t, "A ratio", r.Groups[0].Ratio, `"Z"`)
}
