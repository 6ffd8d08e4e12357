// Package v1alpha1 contains the API of Backbone: the Initiative, DataSource and Indicator
// resources of the impact.backbone.dev group.
//
// +kubebuilder:object:generate=true
// +groupName=impact.backbone.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of these resources.
	GroupVersion = schema.GroupVersion{Group: "impact.backbone.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Initiative{}, &InitiativeList{},
		&DataSource{}, &DataSourceList{},
		&Indicator{}, &IndicatorList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
