package validate_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/backbone-dev/backbone/internal/testcorpus"
	"github.com/backbone-dev/backbone/internal/validate"
)

var (
	repoRoot     = filepath.Join("..", "..")
	newValidator = sync.OnceValues(validate.New)
)

func validator(t testing.TB) *validate.Validator {
	t.Helper()
	v, err := newValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// decodeAll decodes every non-empty document of a YAML or JSON stream.
func decodeAll(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

func decodeOne(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	objs := decodeAll(t, []byte(manifest))
	if len(objs) != 1 {
		t.Fatalf("want one document, got %d", len(objs))
	}
	return objs[0]
}

// cause finds the error naming field whose message, as the API server puts it in a status
// cause, contains msg.
func cause(errs field.ErrorList, fld, msg string) *field.Error {
	for _, e := range errs {
		if e.Field == fld && strings.Contains(e.ErrorBody(), msg) {
			return e
		}
	}
	return nil
}

func TestInvalidCorpusRejected(t *testing.T) {
	cases, err := testcorpus.Load(filepath.Join(repoRoot, "testdata", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	v := validator(t)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var errs field.ErrorList
			if len(c.Objects) == 2 {
				if errs := v.Validate(ctx, c.Objects[0]); len(errs) > 0 {
					t.Fatalf("the first document of an update case must be valid, got: %v", errs.ToAggregate())
				}
				errs = v.ValidateUpdate(ctx, c.Objects[1], c.Objects[0])
			} else {
				errs = v.Validate(ctx, c.Objects[0])
			}
			if len(errs) == 0 {
				t.Fatalf("accepted; want field %q with message containing %q", c.Field, c.Message)
			}
			if cause(errs, c.Field, c.Message) == nil {
				t.Errorf("want field %q with message containing %q, got:\n%s", c.Field, c.Message, list(errs))
			}
			for _, e := range errs {
				if validate.IsUnknownField(e) {
					t.Errorf("the corpus manifest has an unknown field: %v", e)
				}
			}
		})
	}
}

func list(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("  field ")
		b.WriteString(e.Field)
		b.WriteString(": ")
		b.WriteString(e.ErrorBody())
		b.WriteString("\n")
	}
	return b.String()
}

func TestSamplesValid(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(repoRoot, "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v := validator(t)
	n := 0
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range decodeAll(t, data) {
			n++
			if errs := v.Validate(context.Background(), obj); len(errs) > 0 {
				t.Errorf("%s: %s %s:\n%s", filepath.Base(p), obj.GetKind(), obj.GetName(), list(errs))
			}
			// Applying the same manifest again is an update that changes nothing.
			again := obj.DeepCopy()
			if errs := v.ValidateUpdate(context.Background(), again, obj); len(errs) > 0 {
				t.Errorf("%s: re-applying %s %s:\n%s", filepath.Base(p), obj.GetKind(), obj.GetName(), list(errs))
			}
		}
	}
	if n < 5 {
		t.Fatalf("found %d sample objects in config/samples, want at least 5", n)
	}
}

const initiative = `
apiVersion: impact.backbone.dev/v1alpha1
kind: Initiative
metadata:
  name: ready-by-five
spec:
  partners:
  - {name: ncusd, sector: Education}
  vocabulary:
  - name: race_ethnicity
    values: [Asian, Black, White]
  equity: {}
`

const indicator = `
apiVersion: impact.backbone.dev/v1alpha1
kind: Indicator
metadata:
  name: kindergarten-readiness
  namespace: north-county
spec:
  initiativeRef: {name: ready-by-five}
  polarity: HigherIsBetter
  measure:
    type: Proportion
    denominator:
      sourceRef: {name: ncusd-kindergarten}
      aggregate: Count
      timeColumn: assessed_on
    numerator:
      sourceRef: {name: ncusd-kindergarten}
      aggregate: Count
      timeColumn: assessed_on
      filters:
      - {column: ready, operator: In, values: ["true"]}
  privacy: {}
`

func TestDefaultsApplied(t *testing.T) {
	v := validator(t)
	ctx := context.Background()

	ini := decodeOne(t, initiative)
	if errs := v.Validate(ctx, ini); len(errs) > 0 {
		t.Fatalf("Initiative:\n%s", list(errs))
	}
	if got, _, _ := unstructured.NestedFieldNoCopy(ini.Object, "spec", "equity", "minCellSize"); got != int64(11) {
		t.Errorf("spec.equity.minCellSize = %#v, want int64(11)", got)
	}
	if got, _, _ := unstructured.NestedString(ini.Object, "spec", "timeZone"); got != "UTC" {
		t.Errorf("spec.timeZone = %q, want UTC", got)
	}
	voc, _, _ := unstructured.NestedSlice(ini.Object, "spec", "vocabulary")
	if len(voc) != 1 || voc[0].(map[string]interface{})["unknown"] != "Unknown" {
		t.Errorf("spec.vocabulary[0].unknown not defaulted to Unknown: %#v", voc)
	}

	ind := decodeOne(t, indicator)
	if errs := v.Validate(ctx, ind); len(errs) > 0 {
		t.Fatalf("Indicator:\n%s", list(errs))
	}
	tm, found, _ := unstructured.NestedMap(ind.Object, "spec", "time")
	if !found || len(tm) != 1 || tm["grain"] != "Year" {
		t.Errorf("spec.time = %#v, want {grain: Year}", tm)
	}
	privacy, found, _ := unstructured.NestedMap(ind.Object, "spec", "privacy")
	if !found {
		t.Errorf("spec.privacy was dropped")
	}
	if _, set := privacy["minCellSize"]; set {
		t.Errorf("spec.privacy.minCellSize = %#v, want it unset (the Initiative's floor applies)", privacy["minCellSize"])
	}
	if ind.GetNamespace() != "north-county" {
		t.Errorf("namespace = %q, want it kept", ind.GetNamespace())
	}
	if _, found := ind.Object["metadata"].(map[string]interface{})["creationTimestamp"]; found {
		t.Errorf("metadata gained a creationTimestamp: %#v", ind.Object["metadata"])
	}
}

func TestWholeNumbersAreIntegers(t *testing.T) {
	// A JSON or YAML decoder gives float64 for every number; the API server gets int64 for
	// whole ones, which integer fields and CEL rules over them require.
	obj := decodeOne(t, initiative)
	if err := unstructured.SetNestedField(obj.Object, float64(20), "spec", "equity", "minCellSize"); err != nil {
		t.Fatal(err)
	}
	if errs := validator(t).Validate(context.Background(), obj); len(errs) > 0 {
		t.Fatalf("minCellSize 20.0:\n%s", list(errs))
	}
	if got, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "equity", "minCellSize"); got != int64(20) {
		t.Errorf("spec.equity.minCellSize = %#v, want int64(20)", got)
	}

	obj = decodeOne(t, initiative)
	if err := unstructured.SetNestedField(obj.Object, 2.5, "spec", "equity", "minCellSize"); err != nil {
		t.Fatal(err)
	}
	errs := validator(t).Validate(context.Background(), obj)
	if cause(errs, "spec.equity.minCellSize", "spec.equity.minCellSize in body must be of type int32") == nil {
		t.Errorf("minCellSize 2.5, got:\n%s", list(errs))
	}
}

func TestUnknownFieldsReported(t *testing.T) {
	obj := decodeOne(t, indicator)
	if err := unstructured.SetNestedField(obj.Object, int64(1), "spec", "measure", "typo"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(obj.Object, "x", "metadata", "lables"); err != nil {
		t.Fatal(err)
	}
	filters, _, _ := unstructured.NestedSlice(obj.Object, "spec", "measure", "numerator", "filters")
	filters[0].(map[string]interface{})["operater"] = "In"
	if err := unstructured.SetNestedSlice(obj.Object, filters, "spec", "measure", "numerator", "filters"); err != nil {
		t.Fatal(err)
	}
	obj.Object["extra"] = true

	errs := validator(t).Validate(context.Background(), obj)
	for _, path := range []string{"spec.measure.typo", "metadata.lables", "spec.measure.numerator.filters[0].operater", "extra"} {
		e := cause(errs, path, `unknown field "`+path+`"`)
		if e == nil {
			t.Errorf("no error for the unknown field %s, got:\n%s", path, list(errs))
			continue
		}
		if !validate.IsUnknownField(e) {
			t.Errorf("IsUnknownField(%v) = false", e)
		}
	}
	if len(errs) != 4 {
		t.Errorf("want only the four unknown fields, got:\n%s", list(errs))
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "measure", "typo"); found {
		t.Errorf("spec.measure.typo was not pruned")
	}
	if _, found := obj.Object["extra"]; found {
		t.Errorf("extra was not pruned")
	}
}

func TestKindAndMetadata(t *testing.T) {
	v := validator(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		edit   func(u *unstructured.Unstructured)
		field  string
		detail string
	}{
		{"unknown kind", func(u *unstructured.Unstructured) { u.SetKind("Initiatve") },
			"kind", `Unsupported value: "Initiatve": supported values: "DataSource", "Indicator", "Initiative"`},
		{"unknown version", func(u *unstructured.Unstructured) { u.SetAPIVersion("impact.backbone.dev/v1") },
			"apiVersion", `Unsupported value: "impact.backbone.dev/v1": supported values: "impact.backbone.dev/v1alpha1"`},
		{"no kind", func(u *unstructured.Unstructured) { delete(u.Object, "kind") },
			"kind", "Required value"},
		{"no name", func(u *unstructured.Unstructured) { u.SetName("") },
			"metadata.name", "Required value: name or generateName is required"},
		{"name not a DNS subdomain", func(u *unstructured.Unstructured) { u.SetName("Ready_By_Five") },
			"metadata.name", `Invalid value: "Ready_By_Five": a lowercase RFC 1123 subdomain`},
		{"namespace not a DNS label", func(u *unstructured.Unstructured) { u.SetNamespace("north.county") },
			"metadata.namespace", `Invalid value: "north.county": must not contain dots`},
		{"label value", func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"team": "data team"}) },
			"metadata.labels", `Invalid value: "data team"`},
		{"metadata not an object", func(u *unstructured.Unstructured) { u.Object["metadata"] = "ready" },
			"metadata", "Invalid value"},
		{"status is dropped, not validated", func(u *unstructured.Unstructured) {
			u.Object["status"] = map[string]interface{}{"partners": "many"}
		}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := decodeOne(t, initiative)
			tc.edit(obj)
			errs := v.Validate(ctx, obj)
			if tc.field == "" {
				if len(errs) > 0 {
					t.Errorf("want no errors, got:\n%s", list(errs))
				}
				return
			}
			if cause(errs, tc.field, tc.detail) == nil {
				t.Errorf("want field %q with message containing %q, got:\n%s", tc.field, tc.detail, list(errs))
			}
		})
	}
}

func TestSchemaErrorsSkipCEL(t *testing.T) {
	// As on the API server, an enum, required, maxLength, maxItems or type violation stops the
	// CEL rules, and says so.
	obj := decodeOne(t, initiative)
	if err := unstructured.SetNestedField(obj.Object, int64(0), "spec", "equity", "minCellSize"); err != nil {
		t.Fatal(err)
	}
	errs := validator(t).Validate(context.Background(), obj)
	if cause(errs, "spec.equity.minCellSize", "minCellSize must be at least 1") == nil {
		t.Fatalf("CEL rule not run:\n%s", list(errs))
	}
	partners, _, _ := unstructured.NestedSlice(obj.Object, "spec", "partners")
	partners[0].(map[string]interface{})["sector"] = "Schools"
	if err := unstructured.SetNestedSlice(obj.Object, partners, "spec", "partners"); err != nil {
		t.Fatal(err)
	}
	errs = validator(t).Validate(context.Background(), obj)
	if cause(errs, "spec.partners[0].sector", `Unsupported value: "Schools"`) == nil {
		t.Errorf("no enum error:\n%s", list(errs))
	}
	if cause(errs, "<nil>", "some validation rules were not checked because the object was invalid") == nil {
		t.Errorf("no note that the CEL rules were skipped:\n%s", list(errs))
	}
	if cause(errs, "spec.equity.minCellSize", "minCellSize must be at least 1") != nil {
		t.Errorf("CEL rule ran despite the blocking error:\n%s", list(errs))
	}
}

func TestValidateUpdate(t *testing.T) {
	v := validator(t)
	ctx := context.Background()
	old := decodeOne(t, indicator)
	if errs := v.Validate(ctx, old); len(errs) > 0 {
		t.Fatalf("Indicator:\n%s", list(errs))
	}
	before := old.DeepCopy()

	renamed := decodeOne(t, indicator)
	renamed.SetName("kindergarten-readiness-2")
	errs := v.ValidateUpdate(ctx, renamed, old)
	if cause(errs, "metadata.name", "field is immutable") == nil {
		t.Errorf("renaming, got:\n%s", list(errs))
	}
	if n := len(errs); n != 1 {
		t.Errorf("want the rename reported once, got:\n%s", list(errs))
	}

	moved := decodeOne(t, indicator)
	if err := unstructured.SetNestedField(moved.Object, "another", "spec", "initiativeRef", "name"); err != nil {
		t.Fatal(err)
	}
	errs = v.ValidateUpdate(ctx, moved, old)
	if cause(errs, "spec.initiativeRef", "Forbidden: spec.initiativeRef is immutable") == nil {
		t.Errorf("changing initiativeRef, got:\n%s", list(errs))
	}
	if toJSON(old.Object) != toJSON(before.Object) {
		t.Errorf("ValidateUpdate modified old")
	}

	kind := decodeOne(t, initiative)
	errs = v.ValidateUpdate(ctx, kind, old)
	if cause(errs, "kind", "must be Indicator") == nil {
		t.Errorf("changing kind, got:\n%s", list(errs))
	}
}

func toJSON(m map[string]interface{}) string {
	data, err := (&unstructured.Unstructured{Object: m}).MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// FuzzValidate feeds arbitrary YAML or JSON documents to Validate and ValidateUpdate, which
// must report problems as errors and never panic.
func FuzzValidate(f *testing.F) {
	for _, pattern := range []string{
		filepath.Join(repoRoot, "testdata", "invalid", "*.yaml"),
		filepath.Join(repoRoot, "config", "samples", "*.yaml"),
	} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(initiative))
	f.Add([]byte(indicator))
	f.Add([]byte(`{"apiVersion":"impact.backbone.dev/v1alpha1","kind":"Indicator","metadata":null,"spec":{"measure":[1,2.5,null],"time":null}}`))
	f.Add([]byte("apiVersion: impact.backbone.dev/v1alpha1\nkind: DataSource\nmetadata: {name: 7, labels: [a]}\nspec: {schema: {columns: [{name: x}, {name: x}]}}\n"))
	f.Add([]byte("apiVersion: 1\nkind: {a: b}\n"))

	v, err := validate.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		var prev *unstructured.Unstructured
		for range 4 {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				return
			}
			if u.Object == nil {
				continue
			}
			next := u.DeepCopy()
			_ = v.Validate(context.Background(), u)
			if prev != nil {
				_ = v.ValidateUpdate(context.Background(), next, prev)
			}
			prev = u
		}
	})
}
