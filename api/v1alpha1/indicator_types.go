package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MeasureType is what an indicator computes.
// +kubebuilder:validation:Enum=Count;Sum;Mean;Proportion;Ratio;Rate;DistinctCount
type MeasureType string

// Measure types (STATISTICS.md defines value, n and interval of each).
const (
	MeasureCount         MeasureType = "Count"
	MeasureSum           MeasureType = "Sum"
	MeasureMean          MeasureType = "Mean"
	MeasureProportion    MeasureType = "Proportion"
	MeasureRatio         MeasureType = "Ratio"
	MeasureRate          MeasureType = "Rate"
	MeasureDistinctCount MeasureType = "DistinctCount"
)

// Aggregate is how an operand summarises its source's rows.
// +kubebuilder:validation:Enum=Count;Sum
type Aggregate string

// Aggregates of an operand.
const (
	// AggregateCount counts units: rows, or the sum of the frequency column.
	AggregateCount Aggregate = "Count"
	// AggregateSum sums a column.
	AggregateSum Aggregate = "Sum"
)

// Alignment says which denominator period a numerator period is divided by.
// +kubebuilder:validation:Enum=Exact;LatestAvailable
type Alignment string

// Alignments of a Rate's or Ratio's denominator.
const (
	// AlignExact divides by the denominator of the same period.
	AlignExact Alignment = "Exact"
	// AlignLatestAvailable divides by the latest denominator period at or before the
	// numerator's (e.g. census years for monthly events).
	AlignLatestAvailable Alignment = "LatestAvailable"
)

// Polarity says which direction of an indicator is better.
// +kubebuilder:validation:Enum=HigherIsBetter;LowerIsBetter
type Polarity string

// Polarities.
const (
	HigherIsBetter Polarity = "HigherIsBetter"
	LowerIsBetter  Polarity = "LowerIsBetter"
)

// Grain is the length of an indicator's periods.
// +kubebuilder:validation:Enum=Day;Week;Month;Quarter;Year
type Grain string

// Grains. Week is the ISO week (Monday first); Quarter and Year follow fiscalYearStartMonth.
const (
	GrainDay     Grain = "Day"
	GrainWeek    Grain = "Week"
	GrainMonth   Grain = "Month"
	GrainQuarter Grain = "Quarter"
	GrainYear    Grain = "Year"
)

// FilterOperator is the operator of a filter expression.
// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist;Gt;Lt
type FilterOperator string

// Filter operators, in the shape of Kubernetes label selector expressions.
const (
	FilterIn           FilterOperator = "In"
	FilterNotIn        FilterOperator = "NotIn"
	FilterExists       FilterOperator = "Exists"
	FilterDoesNotExist FilterOperator = "DoesNotExist"
	FilterGt           FilterOperator = "Gt"
	FilterLt           FilterOperator = "Lt"
)

// IndicatorSpec is one shared measure of an initiative: what it counts over which sources,
// by which groups, against which target.
// +kubebuilder:validation:XValidation:rule="self.initiativeRef == oldSelf.initiativeRef",message="spec.initiativeRef is immutable: create a new Indicator for another initiative",fieldPath=".initiativeRef",reason=FieldValueForbidden
type IndicatorSpec struct {
	// InitiativeRef names the Initiative this indicator belongs to, in the same namespace.
	// Immutable.
	// +required
	InitiativeRef LocalObjectReference `json:"initiativeRef"`

	// DisplayName is the indicator's name as people write it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// Description says what the indicator means and why it matters.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Description string `json:"description,omitempty"`

	// Unit of the value as shown to people, e.g. percent, children, per 100000.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Unit string `json:"unit,omitempty"`

	// Polarity says which direction is better: HigherIsBetter or LowerIsBetter. It decides
	// best and worst groups and the direction of the on-track judgement.
	// +required
	Polarity Polarity `json:"polarity"`

	// Measure says what is computed in every cell, from a numerator and, for Proportion,
	// Ratio and Rate, a denominator. Count: numerator with aggregate Count (rows, or the sum
	// of the frequency column). Sum: numerator with aggregate Sum of a column. Mean: numerator
	// with the column whose mean is taken. Proportion: a denominator and a numerator counting
	// a subset of the same units (the same source with extra filters, or a RowTotal column).
	// Ratio: numerator and denominator, each Count or Sum, from any sources. Rate: numerator
	// events over a denominator population, times per. DistinctCount: numerator with the
	// column whose distinct values are counted.
	// +required
	Measure Measure `json:"measure"`

	// Time sets the periods cells are computed for.
	// +optional
	// +kubebuilder:default={grain: Year}
	Time *TimeSpec `json:"time,omitempty"`

	// DisaggregateBy adds dimensions to the Initiative's spec.equity.disaggregateBy.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	DisaggregateBy []DimensionName `json:"disaggregateBy,omitempty"`

	// ExcludeDimensions removes Initiative defaults this indicator's sources cannot give.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	ExcludeDimensions []DimensionName `json:"excludeDimensions,omitempty"`

	// Intersections are cross-tabulations of 2–3 dimensions, e.g. race_ethnicity × income.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Intersections []Intersection `json:"intersections,omitempty"`

	// Privacy overrides the Initiative's small-cell floor for this indicator.
	// +optional
	Privacy *PrivacySpec `json:"privacy,omitempty"`

	// Target is the value the partners aim for, by a date, from a baseline.
	// +optional
	Target *Target `json:"target,omitempty"`

	// Publish sets how the indicator's results are published as metrics.
	// +optional
	Publish *PublishSpec `json:"publish,omitempty"`
}

// PublishSpec sets how an indicator's results are published as metrics.
type PublishSpec struct {
	// MaxSeries caps the Prometheus series the indicator publishes on the results' /metrics,
	// its groups, intersections and equity series included. Over it, only the indicator's
	// totals are published, and its SeriesCapped condition and an Event say so. Unset means
	// the manager's --series-cap (10000 unless set; `backbone local --series-cap` likewise).
	// The manager's --global-series-cap still bounds all indicators together.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	MaxSeries *int32 `json:"maxSeries,omitempty"`
}

// Measure says what is computed in every cell; see IndicatorSpec.Measure.
// +kubebuilder:validation:XValidation:rule="!(self.type in ['Proportion', 'Ratio', 'Rate']) || has(self.denominator)",message="spec.measure.denominator is required for Proportion, Ratio and Rate measures",fieldPath=".denominator",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="self.type in ['Proportion', 'Ratio', 'Rate'] || !has(self.denominator)",message="spec.measure.denominator is only allowed for Proportion, Ratio and Rate measures",fieldPath=".denominator",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="self.type != 'Rate' || (has(self.per) && double(self.per) > 0.0)",message="spec.measure.per must be a number greater than 0 for a Rate, e.g. \"100000\"",fieldPath=".per",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="self.type == 'Rate' || !has(self.per)",message="spec.measure.per is only allowed for Rate measures",fieldPath=".per",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!(self.type in ['Mean', 'DistinctCount']) || (has(self.numerator.column) && !has(self.numerator.aggregate))",message="spec.measure.numerator.column is required for Mean and DistinctCount measures (and aggregate is not set)",fieldPath=".numerator.column",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="self.type != 'Count' || !has(self.numerator.aggregate) || self.numerator.aggregate == 'Count'",message="spec.measure.numerator.aggregate must be Count (or unset) for a Count measure",fieldPath=".numerator.aggregate",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="self.type != 'Sum' || (has(self.numerator.aggregate) && self.numerator.aggregate == 'Sum')",message="spec.measure.numerator.aggregate must be Sum for a Sum measure",fieldPath=".numerator.aggregate",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="!has(self.numerator.alignment)",message="spec.measure.numerator.alignment is not allowed: alignment belongs to the denominator",fieldPath=".numerator.alignment",reason=FieldValueForbidden
type Measure struct {
	// Type is Count, Sum, Mean, Proportion, Ratio, Rate or DistinctCount.
	// +required
	Type MeasureType `json:"type"`

	// Numerator is the operand every measure has.
	// +required
	Numerator Operand `json:"numerator"`

	// Denominator is the operand of Proportion, Ratio and Rate.
	// +optional
	Denominator *Operand `json:"denominator,omitempty"`

	// Per scales a Rate, e.g. "100000" for a rate per 100,000 people.
	// +optional
	Per Decimal `json:"per,omitempty"`
}

// Operand is one source aggregated one way, after filters.
// +kubebuilder:validation:XValidation:rule="!has(self.aggregate) || self.aggregate != 'Count' || !has(self.column)",message="column is not allowed with aggregate Count: Count counts rows, or the frequency column's people",fieldPath=".column",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.aggregate) || self.aggregate != 'Sum' || has(self.column)",message="column is required with aggregate Sum: name the column to sum",fieldPath=".column",reason=FieldValueRequired
type Operand struct {
	// SourceRef names the DataSource, in the same namespace.
	// +required
	SourceRef LocalObjectReference `json:"sourceRef"`

	// Aggregate is Count (rows, or the sum of the frequency column) or Sum (of column).
	// Left unset for Mean and DistinctCount, which name only a column.
	// +optional
	Aggregate Aggregate `json:"aggregate,omitempty"`

	// Column is the source column summed, averaged or counted distinctly.
	// +optional
	Column ColumnName `json:"column,omitempty"`

	// TimeColumn assigns rows to periods: a Date, a Timestamp, or an Integer year.
	// +required
	TimeColumn ColumnName `json:"timeColumn"`

	// Filters keep the rows matching every expression.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Filters []Filter `json:"filters,omitempty"`

	// Alignment, on a denominator, says which denominator period a numerator period is divided
	// by: Exact (the same period) or LatestAvailable (the latest at or before it).
	// +optional
	Alignment Alignment `json:"alignment,omitempty"`
}

// Filter is one expression on a column, in the shape of a label selector's matchExpressions.
// +kubebuilder:validation:XValidation:rule="!(self.operator in ['In', 'NotIn']) || (has(self.values) && self.values.size() > 0)",message="values must hold at least one value for operators In and NotIn",fieldPath=".values",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || self.values.size() == 0",message="values must be empty for operators Exists and DoesNotExist",fieldPath=".values",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!(self.operator in ['Gt', 'Lt']) || (has(self.values) && self.values.size() == 1 && self.values[0].matches('^[-+]?[0-9]+(\\\\.[0-9]+)?$'))",message="values must hold exactly one number for operators Gt and Lt, e.g. [\"3\"]",fieldPath=".values",reason=FieldValueInvalid
type Filter struct {
	// Column the expression tests.
	// +required
	Column ColumnName `json:"column"`

	// Operator is In, NotIn, Exists, DoesNotExist, Gt or Lt.
	// +required
	Operator FilterOperator `json:"operator"`

	// Values: one or more for In and NotIn, none for Exists and DoesNotExist, exactly one
	// number for Gt and Lt.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	Values []GroupName `json:"values,omitempty"`
}

// TimeSpec sets an indicator's periods.
// +kubebuilder:validation:XValidation:rule="!has(self.fiscalYearStartMonth) || (self.fiscalYearStartMonth >= 1 && self.fiscalYearStartMonth <= 12)",message="spec.time.fiscalYearStartMonth must be a month number from 1 to 12",fieldPath=".fiscalYearStartMonth",reason=FieldValueInvalid
type TimeSpec struct {
	// Grain is the length of a period: Day, Week (ISO), Month, Quarter or Year.
	// +optional
	// +kubebuilder:default=Year
	Grain Grain `json:"grain,omitempty"`

	// FiscalYearStartMonth is the month (1–12) a Year or Quarter starts on; 1 (January) by
	// default. A school year starting in August is 8.
	// +optional
	FiscalYearStartMonth *int32 `json:"fiscalYearStartMonth,omitempty"`
}

// Intersection is a cross-tabulation of 2–3 dimensions.
// +kubebuilder:validation:XValidation:rule="self.dimensions.size() >= 2 && self.dimensions.size() <= 3",message="an intersection must have 2 or 3 distinct dimensions",fieldPath=".dimensions",reason=FieldValueInvalid
type Intersection struct {
	// Dimensions crossed, 2 or 3 distinct ones.
	// +required
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	Dimensions []DimensionName `json:"dimensions"`
}

// PrivacySpec overrides an initiative's small-cell floor for one indicator.
// +kubebuilder:validation:XValidation:rule="!has(self.minCellSize) || self.minCellSize >= 1",message="spec.privacy.minCellSize must be at least 1",fieldPath=".minCellSize",reason=FieldValueInvalid
type PrivacySpec struct {
	// MinCellSize raises the smallest count published for this indicator. It never goes
	// below the Initiative's spec.equity.minCellSize: the larger of the two applies. Unset
	// means the Initiative's value.
	// +optional
	MinCellSize *int32 `json:"minCellSize,omitempty"`
}

// Target is the value the partners aim for.
type Target struct {
	// Value aimed for, as a decimal string in the measure's unit ("0.80" for 80 %).
	// +required
	Value Decimal `json:"value"`

	// By is the date (YYYY-MM-DD) the target should be reached by.
	// +optional
	// +kubebuilder:validation:Format=date
	By string `json:"by,omitempty"`

	// Baseline is where the initiative started. Without one, the first complete period is used.
	// +optional
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Baseline is the starting point progress is measured from.
type Baseline struct {
	// Period is the first day (YYYY-MM-DD) of the baseline period.
	// +required
	// +kubebuilder:validation:Format=date
	Period string `json:"period"`

	// Value in the baseline period, as a decimal string.
	// +required
	Value Decimal `json:"value"`
}

// Headline is an indicator's latest complete value, preformatted for kubectl get.
type Headline struct {
	// Period is the first day of the latest complete period.
	// +optional
	// +kubebuilder:validation:MaxLength=10
	Period string `json:"period,omitempty"`
	// Value of the total in that period.
	// +optional
	Value Decimal `json:"value,omitempty"`
	// N is the count the value rests on.
	// +optional
	N int64 `json:"n,omitempty"`
	// Change from the previous complete period.
	// +optional
	Change Decimal `json:"change,omitempty"`
	// Progress from baseline to target, as a percentage string ("15%").
	// +optional
	// +kubebuilder:validation:MaxLength=16
	Progress string `json:"progress,omitempty"`
	// Gap is value minus target.
	// +optional
	Gap Decimal `json:"gap,omitempty"`
	// Reliable is false when the value is flagged unreliable (STATISTICS.md).
	// +optional
	Reliable bool `json:"reliable,omitempty"`
}

// EquitySummary summarises the inequities of one dimension in the headline period.
type EquitySummary struct {
	// Dimension summarised.
	Dimension DimensionName `json:"dimension"`
	// Reference group, or "total".
	// +optional
	Reference GroupName `json:"reference,omitempty"`
	// Worst reliable published group by polarity.
	// +optional
	Worst GroupName `json:"worst,omitempty"`
	// Best reliable published group by polarity.
	// +optional
	Best GroupName `json:"best,omitempty"`
	// IndexOfDisparity is the unweighted index of disparity, in percent.
	// +optional
	IndexOfDisparity Decimal `json:"indexOfDisparity,omitempty"`
	// SuppressedGroups is the number of groups not published.
	SuppressedGroups int32 `json:"suppressedGroups"`
	// Groups is the number of groups of the dimension, the unknown group excluded.
	Groups int32 `json:"groups"`
}

// ResultRef points at the result table an indicator's status was read from.
type ResultRef struct {
	// URI of the result manifest in the store.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	URI string `json:"uri,omitempty"`
	// Checksum of the result table.
	// +optional
	// +kubebuilder:validation:MaxLength=80
	Checksum string `json:"checksum,omitempty"`
	// Inputs are the snapshot ids the result was computed from.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Inputs []SnapshotID `json:"inputs,omitempty"`
}

// SnapshotID is a content hash, sha256:<hex>.
// +kubebuilder:validation:MaxLength=80
type SnapshotID string

// IndicatorStatus is the observed state of an Indicator.
type IndicatorStatus struct {
	CommonStatus `json:",inline"`

	// EffectiveMinCellSize is the small-cell floor applied: the larger of the Indicator's and
	// the Initiative's.
	// +optional
	EffectiveMinCellSize int32 `json:"effectiveMinCellSize,omitempty"`

	// Headline is the latest complete value of the total.
	// +optional
	Headline *Headline `json:"headline,omitempty"`

	// Equity summarises each dimension in the headline period.
	// +optional
	// +listType=map
	// +listMapKey=dimension
	// +kubebuilder:validation:MaxItems=32
	Equity []EquitySummary `json:"equity,omitempty"`

	// Result points at the result table.
	// +optional
	Result *ResultRef `json:"result,omitempty"`

	// LastRunTime is when the aggregation that produced this status finished.
	// +optional
	LastRunTime *metav1.Time `json:"lastRunTime,omitempty"`
}

// Indicator is one shared measure of an initiative, computed disaggregated, protected by
// small-cell suppression and annotated with equity statistics.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ind,categories=backbone
// +kubebuilder:printcolumn:name="Value",type=string,JSONPath=`.status.headline.value`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.target.value`
// +kubebuilder:printcolumn:name="Gap",type=string,JSONPath=`.status.headline.gap`
// +kubebuilder:printcolumn:name="Period",type=string,JSONPath=`.status.headline.period`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Indicator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the measure.
	// +required
	Spec IndicatorSpec `json:"spec"`

	// Status is the observed state.
	// +optional
	Status IndicatorStatus `json:"status,omitempty"`
}

// IndicatorList is a list of Indicators.
//
// +kubebuilder:object:root=true
type IndicatorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Indicator `json:"items"`
}
