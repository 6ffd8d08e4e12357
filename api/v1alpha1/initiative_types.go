package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Sector is the sector a partner belongs to.
// +kubebuilder:validation:Enum=Government;Nonprofit;Business;Philanthropy;Community;Education;Health;Research
type Sector string

// Sectors of collective-impact partners.
const (
	SectorGovernment   Sector = "Government"
	SectorNonprofit    Sector = "Nonprofit"
	SectorBusiness     Sector = "Business"
	SectorPhilanthropy Sector = "Philanthropy"
	SectorCommunity    Sector = "Community"
	SectorEducation    Sector = "Education"
	SectorHealth       Sector = "Health"
	SectorResearch     Sector = "Research"
)

// DefaultMinCellSize is the Initiative's default floor for small-cell suppression.
const DefaultMinCellSize = 11

// DefaultUnknownGroup is the default name of a dimension's group for unknown and null values.
const DefaultUnknownGroup = "Unknown"

// InitiativeSpec is the common agenda of a collective-impact initiative: who takes part,
// the shared vocabulary their data is mapped onto, and the equity defaults of every indicator.
// +kubebuilder:validation:XValidation:rule="!has(self.equity) || !has(self.equity.referenceGroups) || self.equity.referenceGroups.all(r, self.vocabulary.exists(d, d.name == r.dimension && r.group in d.values))",message="spec.equity.referenceGroups: every reference group must be one of the values of its dimension in spec.vocabulary",fieldPath=".equity.referenceGroups",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.equity) || !has(self.equity.disaggregateBy) || self.equity.disaggregateBy.all(x, self.vocabulary.exists(d, d.name == x))",message="spec.equity.disaggregateBy: every entry must name a dimension of spec.vocabulary",fieldPath=".equity.disaggregateBy",reason=FieldValueInvalid
type InitiativeSpec struct {
	// DisplayName is the initiative's name as people write it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// Agenda is the common agenda in one sentence, e.g. "Every child in North County enters
	// kindergarten ready to learn."
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Agenda string `json:"agenda,omitempty"`

	// Backbone names the neutral organisation that runs the shared measurement.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Backbone string `json:"backbone,omitempty"`

	// TimeZone is the IANA time zone periods are assigned in, e.g. America/Los_Angeles.
	// A Date value is never shifted; a timestamp without offset is read as local time here.
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`
	TimeZone string `json:"timeZone,omitempty"`

	// Partners are the organisations that contribute data. A DataSource names one of them.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	Partners []Partner `json:"partners"`

	// Vocabulary is the common language: the dimensions every partner's data is mapped onto,
	// each with its agreed values (groups).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Vocabulary []Dimension `json:"vocabulary,omitempty"`

	// Equity holds the disaggregation and privacy defaults of every indicator.
	// +optional
	Equity *EquitySpec `json:"equity,omitempty"`

	// Dashboard controls the Grafana dashboard rendered for this initiative.
	// +optional
	Dashboard *DashboardSpec `json:"dashboard,omitempty"`
}

// Partner is an organisation taking part in the initiative.
type Partner struct {
	// Name identifies the partner within the initiative (a DNS label).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// DisplayName is the partner's name as people write it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// Sector is one of Government, Nonprofit, Business, Philanthropy, Community, Education,
	// Health, Research.
	// +required
	Sector Sector `json:"sector"`
}

// Dimension is one axis of disaggregation, with the values every partner maps onto.
// +kubebuilder:validation:XValidation:rule="!has(self.values) || !has(self.unknown) || !(self.unknown in self.values)",message="unknown: the unknown group must not also be one of the dimension's values",fieldPath=".unknown",reason=FieldValueInvalid
type Dimension struct {
	// Name of the dimension: lower case letters, digits and underscores, starting with a letter.
	// +required
	Name DimensionName `json:"name"`

	// DisplayName is the dimension's name as people write it, e.g. "Race and ethnicity".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// Values are the agreed groups of this dimension, e.g. [Asian, Black, Hispanic or Latino].
	// Partner data is mapped onto them; any other value is rejected with its row.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	Values []GroupName `json:"values"`

	// Unknown is the group for null values, missing-value markers and codes mapped to it.
	// Its rows stay in the total, are suppressed like any group and are left out of equity
	// statistics.
	// +optional
	// +kubebuilder:default=Unknown
	Unknown GroupName `json:"unknown,omitempty"`

	// Ordered says the values are in a meaningful order (e.g. income bands), from lowest to highest.
	// +optional
	Ordered bool `json:"ordered,omitempty"`
}

// EquitySpec holds the defaults of every indicator of the initiative.
// +kubebuilder:validation:XValidation:rule="!has(self.minCellSize) || self.minCellSize >= 1",message="minCellSize must be at least 1",fieldPath=".minCellSize",reason=FieldValueInvalid
type EquitySpec struct {
	// DisaggregateBy lists the dimensions every indicator is broken down by, unless it
	// excludes them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	DisaggregateBy []DimensionName `json:"disaggregateBy,omitempty"`

	// MinCellSize is the smallest count published for any group: cells with 0 < n < k are
	// suppressed, along with the cells that would let them be recomputed. It is the floor
	// for every indicator of the initiative.
	// +optional
	// +kubebuilder:default=11
	MinCellSize *int32 `json:"minCellSize,omitempty"`

	// ReferenceGroups fixes, per dimension, the group others are compared with. Without one,
	// a dimension's groups are compared with the total.
	// +optional
	// +listType=map
	// +listMapKey=dimension
	// +kubebuilder:validation:MaxItems=64
	ReferenceGroups []ReferenceGroup `json:"referenceGroups,omitempty"`
}

// ReferenceGroup is the group of a dimension that the other groups are compared with.
type ReferenceGroup struct {
	// Dimension of the vocabulary.
	// +required
	Dimension DimensionName `json:"dimension"`

	// Group is one of the dimension's values.
	// +required
	Group GroupName `json:"group"`
}

// DashboardSpec controls the Grafana dashboard of an initiative.
type DashboardSpec struct {
	// Enabled renders a dashboard ConfigMap for the Grafana sidecar.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// Folder is the Grafana folder the dashboard goes in.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Folder string `json:"folder,omitempty"`
}

// InitiativeStatus is the observed state of an Initiative.
type InitiativeStatus struct {
	CommonStatus `json:",inline"`

	// Partners is the number of partners.
	// +optional
	Partners int32 `json:"partners,omitempty"`

	// Indicators counts the initiative's indicators by state.
	// +optional
	Indicators IndicatorCounts `json:"indicators,omitempty"`

	// Sectors are the sectors of the partners, in the order of the sector enum.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	Sectors []Sector `json:"sectors,omitempty"`

	// Dashboard is the name of the ConfigMap holding the rendered dashboard.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Dashboard string `json:"dashboard,omitempty"`

	// GrafanaDashboard is the name of the GrafanaDashboard (grafana.integreatly.org/v1beta1,
	// grafana-operator) that loads the dashboard ConfigMap into Grafana: kept by the manager
	// when it runs with --grafana-dashboard-crs and that resource's CRD is installed.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	GrafanaDashboard string `json:"grafanaDashboard,omitempty"`

	// ReportURL is the address of the initiative's community page, when the manager
	// serves the pages and knows their public address (--report-url).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	ReportURL string `json:"reportURL,omitempty"`
}

// IndicatorCounts counts an initiative's indicators.
type IndicatorCounts struct {
	// Total number of indicators of the initiative.
	Total int32 `json:"total"`
	// Ready is the number of indicators whose Ready condition is True.
	Ready int32 `json:"ready"`
	// OnTrack is the number of indicators judged on track towards their target.
	OnTrack int32 `json:"onTrack"`
	// Summary is "ready/total", preformatted for kubectl get.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Summary string `json:"summary,omitempty"`
}

// Initiative is a collective-impact initiative: the common agenda, its partners, the shared
// vocabulary and the equity defaults of its indicators.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ini,categories=backbone
// +kubebuilder:printcolumn:name="Partners",type=integer,JSONPath=`.status.partners`
// +kubebuilder:printcolumn:name="Indicators",type=string,JSONPath=`.status.indicators.summary`,description="Ready indicators / total"
// +kubebuilder:printcolumn:name="On track",type=integer,JSONPath=`.status.indicators.onTrack`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Initiative struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the common agenda.
	// +required
	Spec InitiativeSpec `json:"spec"`

	// Status is the observed state.
	// +optional
	Status InitiativeStatus `json:"status,omitempty"`
}

// InitiativeList is a list of Initiatives.
//
// +kubebuilder:object:root=true
type InitiativeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Initiative `json:"items"`
}
