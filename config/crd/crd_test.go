package crd_test

import (
	"context"
	"testing"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/backbone-dev/backbone/config/crd"
)

// TestCRDsPassAPIServerValidation runs the API server's own CRD validation, including the
// CEL cost estimate, over every generated CRD: a rule over budget fails here, not at install.
func TestCRDsPassAPIServerValidation(t *testing.T) {
	crds, err := crd.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 3 {
		t.Fatalf("want 3 CRDs in config/crd/bases, got %d", len(crds))
	}
	scheme := runtime.NewScheme()
	if err := apiextensionsinternal.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, in := range crds {
		t.Run(in.Name, func(t *testing.T) {
			out := &apiextensionsinternal.CustomResourceDefinition{}
			if err := scheme.Convert(in, out, nil); err != nil {
				t.Fatal(err)
			}
			// The API server records the storage version on create; do the same.
			for _, v := range out.Spec.Versions {
				if v.Storage {
					out.Status.StoredVersions = append(out.Status.StoredVersions, v.Name)
				}
			}
			errs := validation.ValidateCustomResourceDefinition(context.Background(), out)
			for _, e := range errs {
				t.Errorf("%s", e)
			}
			rules := 0
			for _, v := range in.Spec.Versions {
				rules += countRules(v.Schema.OpenAPIV3Schema)
			}
			if rules == 0 {
				t.Errorf("%s carries no x-kubernetes-validations rules", in.Name)
			}
		})
	}
}

func countRules(s *apiextensionsv1.JSONSchemaProps) int {
	if s == nil {
		return 0
	}
	n := len(s.XValidations)
	for _, p := range s.Properties {
		n += countRules(&p)
	}
	if s.Items != nil {
		n += countRules(s.Items.Schema)
	}
	if s.AdditionalProperties != nil {
		n += countRules(s.AdditionalProperties.Schema)
	}
	return n
}
