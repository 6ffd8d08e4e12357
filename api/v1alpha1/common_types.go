package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types shared by the three kinds. Ready, Reconciling and Stalled follow kstatus;
// Stale and OnTrack are informational and never make a resource not Ready.
const (
	// ConditionReady says the resource is reconciled and its data is current.
	ConditionReady = "Ready"
	// ConditionReconciling says the controller is working towards the desired state.
	ConditionReconciling = "Reconciling"
	// ConditionStalled says the spec cannot succeed until it changes; the message names the field.
	ConditionStalled = "Stalled"
	// ConditionStale says no new snapshot arrived within twice the schedule interval.
	ConditionStale = "Stale"
	// ConditionOnTrack is the statistical judgement of an Indicator's progress towards its target.
	ConditionOnTrack = "OnTrack"
)

// RequestedAtAnnotation asks for a run now; its value is echoed in status.lastHandledRequestedAt.
const RequestedAtAnnotation = "impact.backbone.dev/requestedAt"

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// SecretKeyReference names a key of a Secret in the same namespace.
type SecretKeyReference struct {
	// Name of the Secret, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Key within the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// DimensionName names a dimension of an Initiative's vocabulary, such as race_ethnicity.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9_]{0,62}$`
type DimensionName string

// GroupName is one value (group) of a vocabulary dimension, such as "Hispanic or Latino".
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
type GroupName string

// ColumnName names a column of a partner's data.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=128
type ColumnName string

// Decimal is a decimal number written as a string, such as "0.80" or "-12.5".
// The API carries no floating-point numbers.
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:Pattern=`^[-+]?[0-9]+(\.[0-9]+)?$`
type Decimal string

// CommonStatus holds the status fields every kind carries, the kstatus way.
type CommonStatus struct {
	// ObservedGeneration is the metadata.generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling and Stalled (kstatus), plus informational ones.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastHandledRequestedAt echoes the impact.backbone.dev/requestedAt annotation value
	// the controller last acted on.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	LastHandledRequestedAt string `json:"lastHandledRequestedAt,omitempty"`
}
