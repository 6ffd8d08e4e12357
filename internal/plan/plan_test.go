package plan

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

func i32(v int32) *int32 { return &v }

func objects() (*impactv1.Initiative, []impactv1.DataSource, []impactv1.Indicator) {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "nc"} }
	ini := &impactv1.Initiative{ObjectMeta: meta("rb5"), Spec: impactv1.InitiativeSpec{
		TimeZone: "America/Los_Angeles",
		Partners: []impactv1.Partner{{Name: "ncusd", Sector: impactv1.SectorEducation}, {Name: "census", Sector: impactv1.SectorGovernment}},
		Vocabulary: []impactv1.Dimension{
			{Name: "race", Values: []impactv1.GroupName{"Asian", "Black"}, Unknown: "Unknown"},
			{Name: "income", Values: []impactv1.GroupName{"Low", "High"}, Unknown: "Unknown"},
		},
		Equity: &impactv1.EquitySpec{DisaggregateBy: []impactv1.DimensionName{"race"}, MinCellSize: i32(11),
			ReferenceGroups: []impactv1.ReferenceGroup{{Dimension: "race", Group: "Asian"}}},
	}}
	ref := impactv1.LocalObjectReference{Name: "rb5"}
	kinder := impactv1.DataSource{ObjectMeta: meta("kinder"), Spec: impactv1.DataSourceSpec{
		InitiativeRef: ref, Partner: "ncusd", Format: impactv1.FormatCSV, Schedule: "0 6 * * *",
		Location: impactv1.Location{File: &impactv1.FileLocation{Path: "k.csv"}},
		Schema: impactv1.Schema{Columns: []impactv1.Column{
			{Name: "day", Type: impactv1.ColumnDate},
			{Name: "race", Type: impactv1.ColumnString, Dimension: "race", ValueMap: map[string]impactv1.GroupName{"1": "Asian", "9": "Unknown"}},
			{Name: "income", Type: impactv1.ColumnString, Dimension: "income"},
			{Name: "ready", Type: impactv1.ColumnBoolean},
			{Name: "score", Type: impactv1.ColumnNumber},
			{Name: "id", Type: impactv1.ColumnString},
		}},
	}}
	census := impactv1.DataSource{ObjectMeta: meta("census"), Spec: impactv1.DataSourceSpec{
		InitiativeRef: ref, Partner: "census", Format: impactv1.FormatParquet,
		Location: impactv1.Location{File: &impactv1.FileLocation{Path: "c.parquet"}},
		Schema: impactv1.Schema{Columns: []impactv1.Column{
			{Name: "year", Type: impactv1.ColumnInteger},
			{Name: "race", Type: impactv1.ColumnString, Dimension: "race"},
			{Name: "pop", Type: impactv1.ColumnInteger},
		}},
	}}
	op := func(src string) impactv1.Operand {
		return impactv1.Operand{SourceRef: impactv1.LocalObjectReference{Name: src}, Aggregate: impactv1.AggregateCount, TimeColumn: "day"}
	}
	num := op("kinder")
	num.Filters = []impactv1.Filter{{Column: "ready", Operator: impactv1.FilterIn, Values: []impactv1.GroupName{"true"}}}
	den := op("kinder")
	readiness := impactv1.Indicator{ObjectMeta: meta("readiness"), Spec: impactv1.IndicatorSpec{
		InitiativeRef: ref, Polarity: impactv1.HigherIsBetter,
		Measure:        impactv1.Measure{Type: impactv1.MeasureProportion, Numerator: num, Denominator: &den},
		DisaggregateBy: []impactv1.DimensionName{"income"},
		Intersections:  []impactv1.Intersection{{Dimensions: []impactv1.DimensionName{"race", "income"}}},
		Target:         &impactv1.Target{Value: "0.8", By: "2030-08-01"},
	}}
	pop := impactv1.Operand{SourceRef: impactv1.LocalObjectReference{Name: "census"}, Aggregate: impactv1.AggregateSum, Column: "pop", TimeColumn: "year", Alignment: impactv1.AlignLatestAvailable}
	rate := impactv1.Indicator{ObjectMeta: meta("rate"), Spec: impactv1.IndicatorSpec{
		InitiativeRef: ref, Polarity: impactv1.LowerIsBetter,
		Measure: impactv1.Measure{Type: impactv1.MeasureRate, Numerator: op("kinder"), Denominator: &pop, Per: "1000"},
	}}
	return ini, []impactv1.DataSource{kinder, census}, []impactv1.Indicator{readiness, rate}
}

func TestValidObjectsCompile(t *testing.T) {
	ini, srcs, inds := objects()
	for i := range srcs {
		p, err := Ingest(ini, &srcs[i], IngestOptions{AllowFileLocations: true, BaseDir: "/data"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.Path, "/data/") || p.TimeZone != "America/Los_Angeles" || p.MaxRejectPercent != 5 {
			t.Errorf("ingest plan %+v", p)
		}
	}
	ap, err := Aggregate(ini, srcs, inds)
	if err != nil {
		t.Fatal(err)
	}
	if len(ap.Indicators) != 2 {
		t.Fatalf("planned %d indicators", len(ap.Indicators))
	}
	r := ap.Indicators[0]
	if strings.Join(r.Dimensions, ",") != "race,income" || r.MinCellSize != 11 || r.Grain != spec.GrainYear || r.Target.Value != 0.8 || r.SpecHash == "" {
		t.Errorf("readiness plan %+v", r)
	}
	if ap.Indicators[1].Denominator.Alignment != spec.AlignLatestAvailable || ap.Indicators[1].Per != 1000 {
		t.Errorf("rate plan %+v", ap.Indicators[1])
	}
	if ap.ReferenceGroups["race"] != "Asian" {
		t.Errorf("reference groups %v", ap.ReferenceGroups)
	}
}

func TestCrossObjectChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(ini *impactv1.Initiative, srcs []impactv1.DataSource, inds []impactv1.Indicator)
		field  string
		msg    string
	}{
		{"partner", func(_ *impactv1.Initiative, s []impactv1.DataSource, _ []impactv1.Indicator) {
			s[0].Spec.Partner = "nope"
		},
			"spec.partner", `"nope" is not a partner of Initiative "rb5"`},
		{"schedule", func(_ *impactv1.Initiative, s []impactv1.DataSource, _ []impactv1.Indicator) {
			s[0].Spec.Schedule = "61 * * * *"
		},
			"spec.schedule", `"61 * * * *" does not parse as a cron schedule`},
		{"file locations refused", nil, "spec.location.file", "--allow-file-locations"},
		{"column dimension", func(_ *impactv1.Initiative, s []impactv1.DataSource, _ []impactv1.Indicator) {
			s[0].Spec.Schema.Columns[1].Dimension = "ethnicity"
		}, "spec.schema.columns[1].dimension", `"ethnicity" is not a dimension`},
		{"valueMap target", func(_ *impactv1.Initiative, s []impactv1.DataSource, _ []impactv1.Indicator) {
			s[0].Spec.Schema.Columns[1].ValueMap["2"] = "Purple"
		}, "spec.schema.columns[1].valueMap", `maps to "Purple"`},
		{"min cell size below the Initiative's", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[0].Spec.Privacy = &impactv1.PrivacySpec{MinCellSize: i32(5)}
		}, "spec.privacy.minCellSize", "5 is below Initiative \"rb5\"'s spec.equity.minCellSize 11"},
		{"unknown source", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[1].Spec.Measure.Denominator.SourceRef.Name = "acs"
		}, "spec.measure.denominator.sourceRef.name", `DataSource "acs" not found`},
		{"unknown column", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[0].Spec.Measure.Numerator.Filters[0].Column = "redy"
		}, "spec.measure.numerator.filters[0].column", `column "redy" is not in DataSource "kinder"`},
		{"filter value of a boolean", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[0].Spec.Measure.Numerator.Filters[0].Values = []impactv1.GroupName{"yes"}
		}, "spec.measure.numerator.filters[0].values[0]", `must be "true" or "false"`},
		{"proportion numerator must repeat denominator filters", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[0].Spec.Measure.Denominator.Filters = []impactv1.Filter{{Column: "race", Operator: impactv1.FilterIn, Values: []impactv1.GroupName{"Asian"}}}
		}, "spec.measure.numerator.filters", "must repeat every filter of its denominator"},
		{"proportion across sources", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[0].Spec.Measure.Denominator.SourceRef.Name = "census"
		}, "spec.measure.numerator.sourceRef.name", "reads the same DataSource"},
		{"dimension the source cannot give", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[1].Spec.DisaggregateBy = []impactv1.DimensionName{"income"}
		}, "spec.excludeDimensions", `DataSource "census" (spec.measure.denominator) has no column for dimension "income"`},
		{"intersection outside the dimensions", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[0].Spec.DisaggregateBy = nil
		}, "spec.intersections[0].dimensions", `"income" is not among the indicator's dimensions`},
		{"sum of a string column", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[1].Spec.Measure.Denominator.Column = "race"
		}, "spec.measure.denominator.column", `aggregate Sum needs an Integer or Number column; "race" has type String`},
		{"time column type", func(_ *impactv1.Initiative, _ []impactv1.DataSource, i []impactv1.Indicator) {
			i[0].Spec.Measure.Numerator.TimeColumn = "score"
			i[0].Spec.Measure.Denominator.TimeColumn = "score"
		}, "spec.measure.numerator.timeColumn", "a time column is a Date, a Timestamp or an Integer year"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ini, srcs, inds := objects()
			allowFile := tc.mutate != nil
			if tc.mutate != nil {
				tc.mutate(ini, srcs, inds)
			}
			var errs Errors
			for i := range srcs {
				if _, err := Ingest(ini, &srcs[i], IngestOptions{AllowFileLocations: allowFile}); err != nil {
					errs = append(errs, err.(Errors)...)
				}
			}
			if _, err := Aggregate(ini, srcs, inds); err != nil {
				errs = append(errs, err.(Errors)...)
			}
			for _, e := range errs {
				if e.Field == tc.field && strings.Contains(e.Message, tc.msg) {
					return
				}
			}
			t.Errorf("want %s: %q, got:\n%v", tc.field, tc.msg, errs)
		})
	}
}

// One broken indicator does not stop the others from being planned.
func TestBrokenIndicatorLeavesOthersPlanned(t *testing.T) {
	ini, srcs, inds := objects()
	inds[0].Spec.Measure.Numerator.TimeColumn = "nope"
	ap, err := Aggregate(ini, srcs, inds)
	if err == nil || len(ap.Indicators) != 1 || ap.Indicators[0].Name != "rate" {
		t.Fatalf("err %v, planned %d", err, len(ap.Indicators))
	}
	if !strings.Contains(err.Error(), "Indicator readiness: spec.measure.numerator.timeColumn") {
		t.Errorf("error does not name object and field: %v", err)
	}
}

// TestMinCellSizeFloor: the operator's floor refuses an Initiative whose minCellSize is
// below it, naming the field and the floor, plans nothing for it, and raises the default of
// an Initiative that leaves minCellSize unset; without the option nothing changes.
func TestMinCellSizeFloor(t *testing.T) {
	ini, srcs, inds := objects()
	ini.Spec.Equity.MinCellSize = i32(5)
	p, err := AggregateWith(ini, srcs, inds, AggregateOptions{MinCellSizeFloor: 10})
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Kind != "Initiative" || es[0].Name != "rb5" || es[0].Field != "spec.equity.minCellSize" ||
		!strings.Contains(es[0].Message, "5 is below the floor of 10") {
		t.Fatalf("error %v, want one Initiative error on spec.equity.minCellSize naming 5 and the floor 10", err)
	}
	if p == nil || len(p.Indicators) != 0 {
		t.Fatalf("Indicators planned for an Initiative below the floor: %+v", p)
	}
	// Without the option (Aggregate, as `backbone local` calls it) the same objects compile.
	if p, err = Aggregate(ini, srcs, inds); err != nil || len(p.Indicators) != len(inds) || p.Indicators[0].MinCellSize != 5 {
		t.Fatalf("without a floor: %v, %d Indicators", err, len(p.Indicators))
	}
	// At the floor: planned with it.
	ini.Spec.Equity.MinCellSize = i32(10)
	if p, err = AggregateWith(ini, srcs, inds, AggregateOptions{MinCellSizeFloor: 10}); err != nil || p.Indicators[0].MinCellSize != 10 {
		t.Fatalf("at the floor: %v", err)
	}
	// An Indicator below the operator's floor names that floor, not the Initiative's.
	ini.Spec.Equity.MinCellSize = nil
	inds[0].Spec.Privacy = &impactv1.PrivacySpec{MinCellSize: i32(12)}
	_, err = AggregateWith(ini, srcs, inds, AggregateOptions{MinCellSizeFloor: 20})
	if !errors.As(err, &es) || len(es) != 1 || es[0].Kind != "Indicator" || es[0].Field != "spec.privacy.minCellSize" ||
		!strings.Contains(es[0].Message, "12 is below the floor of 20 this operator enforces") {
		t.Errorf("an Indicator at 12 under a floor of 20: %v", err)
	}
	inds[0].Spec.Privacy = nil
	// Unset: the larger of the default (11) and the floor.
	for floor, want := range map[int32]int{0: 11, 5: 11, 20: 20} {
		p, err := AggregateWith(ini, srcs, inds, AggregateOptions{MinCellSizeFloor: floor})
		if err != nil {
			t.Fatalf("floor %d: %v", floor, err)
		}
		for _, si := range p.Indicators {
			if si.MinCellSize != want {
				t.Errorf("floor %d: Indicator %s has minCellSize %d, want %d", floor, si.Name, si.MinCellSize, want)
			}
		}
	}
}
