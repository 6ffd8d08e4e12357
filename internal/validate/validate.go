// Package validate checks Backbone manifests offline the way the Kubernetes API server checks
// them on create and update. It holds the CustomResourceDefinitions embedded by config/crd and
// runs, on a decoded manifest, what the API server's custom resource handler runs on a request
// body: pruning with strict field validation (unknown fields), defaulting, object metadata
// validation, OpenAPI schema validation, list-type validation and the CEL rules of
// x-kubernetes-validations, all from k8s.io/apiextensions-apiserver. The resulting errors carry
// the field paths and messages `kubectl apply` shows, so `backbone local` and a cluster reject
// the same manifests with the same words.
package validate

import (
	"context"
	"fmt"
	"sort"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apiextensionsfeatures "k8s.io/apiextensions-apiserver/pkg/features"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/validate/content"
	genericvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage/names"
	utilfeature "k8s.io/apiserver/pkg/util/feature"

	"github.com/backbone-dev/backbone/config/crd"
)

// defaultNamespace is the namespace kubectl sends a namespaced object to when neither the
// manifest nor the command line names one.
const defaultNamespace = "default"

// Validator validates Backbone objects against the embedded CRDs. It is safe for concurrent
// use: it only reads its compiled schemas and CEL programs.
type Validator struct {
	kinds map[schema.GroupVersionKind]*kindValidator
}

// kindValidator holds what the API server builds for one served version of a CRD.
type kindValidator struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	// structural is the structural schema with its defaults pruned, as the handler keeps it.
	structural *structuralschema.Structural
	// schema validates against the OpenAPI v3 schema (types, enums, patterns, bounds, required).
	schema apiservervalidation.SchemaValidator
	// cel holds the compiled x-kubernetes-validations rules; nil when there are none.
	cel *cel.Validator
	// status is true when the version has a status subresource: create and update through
	// the main resource then never set status.
	status bool
}

// New returns a Validator for the CustomResourceDefinitions in config/crd/bases.
func New() (*Validator, error) {
	crds, err := crd.Load()
	if err != nil {
		return nil, err
	}
	return NewForCRDs(crds...)
}

// NewForCRDs returns a Validator for the served versions of the given CustomResourceDefinitions.
func NewForCRDs(crds ...*apiextensionsv1.CustomResourceDefinition) (*Validator, error) {
	v := &Validator{kinds: map[schema.GroupVersionKind]*kindValidator{}}
	for _, c := range crds {
		if c.Spec.PreserveUnknownFields {
			return nil, fmt.Errorf("%s: spec.preserveUnknownFields is not supported", c.Name)
		}
		for i := range c.Spec.Versions {
			ver := &c.Spec.Versions[i]
			if !ver.Served {
				continue
			}
			k, err := newKindValidator(c, ver)
			if err != nil {
				return nil, fmt.Errorf("%s version %s: %w", c.Name, ver.Name, err)
			}
			if _, dup := v.kinds[k.gvk]; dup {
				return nil, fmt.Errorf("%s version %s: %s is defined twice", c.Name, ver.Name, k.gvk)
			}
			v.kinds[k.gvk] = k
		}
	}
	return v, nil
}

// newKindValidator mirrors how k8s.io/apiextensions-apiserver/pkg/apiserver builds the storage
// strategy of one CRD version: internal schema, structural schema with pruned defaults, OpenAPI
// schema validator and CEL validator with the per-call cost limit.
func newKindValidator(c *apiextensionsv1.CustomResourceDefinition, ver *apiextensionsv1.CustomResourceDefinitionVersion) (*kindValidator, error) {
	if ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("no openAPIV3Schema")
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(ver.Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("converting the schema to the internal version: %w", err)
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("the schema is not structural: %w", err)
	}
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, fmt.Errorf("pruning defaults: %w", err)
	}
	sv, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("building the schema validator: %w", err)
	}
	return &kindValidator{
		gvk:        schema.GroupVersionKind{Group: c.Spec.Group, Version: ver.Name, Kind: c.Spec.Names.Kind},
		namespaced: c.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: s,
		schema:     sv,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
		status:     ver.Subresources != nil && ver.Subresources.Status != nil,
	}, nil
}

// Kinds returns the group, version and kind of every object the Validator knows, sorted.
func (v *Validator) Kinds() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, 0, len(v.kinds))
	for gvk := range v.kinds {
		out = append(out, gvk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Validate checks obj as the API server checks a create request with strict field validation,
// and reports every problem it finds as a field.Error whose Field and ErrorBody are what the
// API server puts in the Field and Message of the causes of its Invalid status.
//
// Like the API server, it leaves obj in the state that would be stored: numbers normalised as
// JSON decoding leaves them, unknown fields pruned, CRD defaults applied, status dropped when
// the kind has a status subresource, and a name generated from metadata.generateName when
// metadata.name is empty. An empty metadata.namespace of a namespaced kind is validated as
// kubectl's "default" and left empty.
//
// Unknown fields, which the API server prunes silently unless the client asks for strict
// field validation (kubectl apply does by default), are reported first, with the message
// strict validation uses (unknown field "spec.foo"); the rest of the object is validated too.
func (v *Validator) Validate(ctx context.Context, obj *unstructured.Unstructured) field.ErrorList {
	if obj == nil {
		obj = &unstructured.Unstructured{}
	}
	k, unknown, errs := v.admit(obj)
	if len(errs) > 0 {
		return append(unknown, errs...)
	}

	// PrepareForCreate of the custom resource strategy, then the name generation of BeforeCreate.
	if k.status {
		delete(obj.Object, "status")
	}
	if obj.GetName() == "" && obj.GetGenerateName() != "" {
		obj.SetName(names.SimpleNameGenerator.GenerateName(obj.GetGenerateName()))
	}

	meta, errs := objectMeta(obj.Object)
	if len(errs) > 0 {
		return append(unknown, errs...)
	}
	if k.namespaced && meta.Namespace == "" {
		meta.Namespace = defaultNamespace
	}

	// customResourceStrategy.Validate.
	mdPath := field.NewPath("metadata")
	errs = genericvalidation.ValidateObjectMetaDeclaratively(ctx, operation.Create, meta, nil, k.namespaced,
		genericvalidation.NameIsDNSSubdomain, mdPath, utilfeature.DefaultFeatureGate.Enabled(features.DeclarativeValidationBeta))
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj.Object, k.schema)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj.Object, k.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, k.structural, obj.Object)...)
	if k.cel != nil {
		if blocking := blockingError(errs); blocking != nil {
			errs = append(errs, blocking)
		} else {
			celErrs, _ := k.cel.Validate(ctx, nil, k.structural, obj.Object, nil, celconfig.RuntimeCELCostBudget)
			errs = append(errs, celErrs...)
		}
	}

	// rest.ValidateCreate runs the common metadata checks once the strategy is satisfied.
	if len(errs) == 0 {
		errs = genericvalidation.ValidateObjectMetaAccessor(meta, k.namespaced, validatePathSegment, mdPath)
	}
	return dedupe(append(unknown, errs...))
}

// ValidateUpdate checks obj as the API server checks an update of old to obj: everything
// Validate checks, the metadata update rules, and the transition rules of
// x-kubernetes-validations (those using oldSelf, such as immutability). As on the API server,
// validation ratchets: a value that was invalid in old and is unchanged in obj is not
// reported again.
//
// obj is left as the API server would store it (see Validate; its status is taken from old
// when the kind has a status subresource). old is not modified: it is decoded and defaulted
// like a stored object on a copy. A missing metadata.resourceVersion is taken from old, as
// kubectl apply's patch does (and is not required when old has none either). With a nil old,
// ValidateUpdate is Validate.
func (v *Validator) ValidateUpdate(ctx context.Context, obj, old *unstructured.Unstructured) field.ErrorList {
	if old == nil {
		return v.Validate(ctx, obj)
	}
	if obj == nil {
		obj = &unstructured.Unstructured{}
	}
	k, unknown, errs := v.admit(obj)
	if len(errs) > 0 {
		return append(unknown, errs...)
	}
	// The current object is decoded like a stored one; its unknown fields are not the
	// update's concern.
	stored := &unstructured.Unstructured{Object: old.Object}
	oldKind, _, errs := v.admit(stored)
	if len(errs) > 0 {
		return append(unknown, prefixDetail(errs, "the current object: ")...)
	}
	if oldKind != k {
		return append(unknown, field.Invalid(field.NewPath("kind"), obj.GetKind(),
			fmt.Sprintf("must be %s, the kind of the current object (%s)", oldKind.gvk.Kind, oldKind.gvk.GroupVersion())))
	}

	// PrepareForUpdate of the custom resource strategy.
	if k.status {
		if st, found := stored.Object["status"]; found {
			obj.Object["status"] = runtime.DeepCopyJSONValue(st)
		} else {
			delete(obj.Object, "status")
		}
	}

	meta, errs := objectMeta(obj.Object)
	if len(errs) > 0 {
		return append(unknown, errs...)
	}
	oldMeta, errs := objectMeta(stored.Object)
	if len(errs) > 0 {
		return append(unknown, prefixDetail(errs, "the current object: ")...)
	}
	if k.namespaced {
		if meta.Namespace == "" {
			meta.Namespace = defaultNamespace
		}
		if oldMeta.Namespace == "" {
			oldMeta.Namespace = defaultNamespace
		}
	}
	// What BeforeUpdate and an apply patch carry over from the current object.
	if meta.ResourceVersion == "" {
		meta.ResourceVersion = oldMeta.ResourceVersion
		if meta.ResourceVersion == "" {
			meta.ResourceVersion = "1"
			oldMeta.ResourceVersion = "1"
		}
	}
	meta.Generation = oldMeta.Generation
	if meta.UID == "" {
		meta.UID = oldMeta.UID
	}
	if !oldMeta.CreationTimestamp.IsZero() {
		meta.CreationTimestamp = oldMeta.CreationTimestamp
	}
	if !oldMeta.DeletionTimestamp.IsZero() {
		meta.DeletionTimestamp = oldMeta.DeletionTimestamp
	}
	if oldMeta.DeletionGracePeriodSeconds != nil && meta.DeletionGracePeriodSeconds == nil {
		meta.DeletionGracePeriodSeconds = oldMeta.DeletionGracePeriodSeconds
	}

	// rest.ValidateUpdate: common metadata checks, then customResourceStrategy.ValidateUpdate.
	mdPath := field.NewPath("metadata")
	errs = genericvalidation.ValidateObjectMetaAccessor(meta, k.namespaced, validatePathSegment, mdPath)
	errs = append(errs, genericvalidation.ValidateObjectMetaAccessorUpdate(meta, oldMeta, mdPath)...)

	var options []apiservervalidation.ValidationOption
	var celOptions []cel.Option
	if utilfeature.DefaultFeatureGate.Enabled(apiextensionsfeatures.CRDValidationRatcheting) {
		correlated := common.NewCorrelatedObject(obj.Object, stored.Object, &model.Structural{Structural: k.structural})
		options = append(options, apiservervalidation.WithRatcheting(correlated))
		celOptions = append(celOptions, cel.WithRatcheting(correlated))
	}
	var strategyErrs field.ErrorList
	strategyErrs = append(strategyErrs, genericvalidation.ValidateObjectMetaDeclaratively(ctx, operation.Update, meta, oldMeta, k.namespaced,
		nil, mdPath, utilfeature.DefaultFeatureGate.Enabled(features.DeclarativeValidationBeta))...)
	strategyErrs = append(strategyErrs, apiservervalidation.ValidateCustomResourceUpdate(nil, obj.Object, stored.Object, k.schema, options...)...)
	strategyErrs = append(strategyErrs, schemaobjectmeta.Validate(ctx, nil, obj.Object, k.structural, false)...)
	if oldListErrs := structurallisttype.ValidateListSetsAndMaps(nil, k.structural, stored.Object); len(oldListErrs) == 0 {
		strategyErrs = append(strategyErrs, structurallisttype.ValidateListSetsAndMaps(nil, k.structural, obj.Object)...)
	}
	if k.cel != nil {
		if blocking := blockingError(strategyErrs); blocking != nil {
			strategyErrs = append(strategyErrs, blocking)
		} else {
			celErrs, _ := k.cel.Validate(ctx, nil, k.structural, obj.Object, stored.Object, celconfig.RuntimeCELCostBudget, celOptions...)
			strategyErrs = append(strategyErrs, celErrs...)
		}
	}
	errs = append(errs, strategyErrs...)
	return dedupe(append(unknown, errs...))
}

// admit identifies obj's kind and does to it what the API server's decoder does to a request
// body (see decode). It returns the kind's validator, the unknown fields, and the errors that
// stop validation, as they stop the API server before its validation runs: a value that is
// not JSON, an unknown kind, a metadata that does not decode.
func (v *Validator) admit(obj *unstructured.Unstructured) (*kindValidator, field.ErrorList, field.ErrorList) {
	content, err := normalize(obj.Object, nil)
	if err != nil {
		return nil, nil, field.ErrorList{err}
	}
	m, isMap := content.(map[string]interface{})
	if !isMap {
		m = map[string]interface{}{}
	}
	obj.Object = m
	k, errs := v.kindFor(m)
	if k == nil {
		return nil, nil, errs
	}
	unknown, errs := k.decode(m)
	return k, unknown, errs
}

// kindFor returns the validator of obj's apiVersion and kind, or the errors saying why there
// is none.
func (v *Validator) kindFor(obj map[string]interface{}) (*kindValidator, field.ErrorList) {
	apiVersion, errs := typeMetaString(obj, "apiVersion")
	kind, kindErrs := typeMetaString(obj, "kind")
	errs = append(errs, kindErrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("apiVersion"), apiVersion, err.Error())}
	}
	if k, ok := v.kinds[gv.WithKind(kind)]; ok {
		return k, nil
	}
	var versions, kinds []string
	for _, gvk := range v.Kinds() {
		if gvk.Kind == kind {
			versions = append(versions, gvk.GroupVersion().String())
		}
		kinds = append(kinds, gvk.Kind)
	}
	if len(versions) > 0 {
		return nil, field.ErrorList{field.NotSupported(field.NewPath("apiVersion"), apiVersion, versions)}
	}
	sort.Strings(kinds)
	return nil, field.ErrorList{field.NotSupported(field.NewPath("kind"), kind, kinds)}
}

func typeMetaString(obj map[string]interface{}, name string) (string, field.ErrorList) {
	raw, found := obj[name]
	if !found || raw == nil {
		return "", field.ErrorList{field.Required(field.NewPath(name), "")}
	}
	s, isString := raw.(string)
	if !isString {
		return "", field.ErrorList{field.Invalid(field.NewPath(name), raw, "must be a string")}
	}
	if s == "" {
		return "", field.ErrorList{field.Required(field.NewPath(name), "")}
	}
	return s, nil
}

// decode does what the API server's schema-coercing decoder does with strict field
// validation (unstructuredSchemaCoercer.apply, then the defaulter of the codec): it reads
// metadata into an ObjectMeta and writes it back, prunes the fields the schema does not know
// and the nulls of non-nullable fields without default, checks embedded objects, and applies
// the schema defaults. It returns the unknown fields, and the error that makes the API server
// refuse the body, if any.
func (k *kindValidator) decode(obj map[string]interface{}) (unknownFields, errs field.ErrorList) {
	apiVersion, kind := obj["apiVersion"], obj["kind"]
	meta, foundMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), field.OmitValueType{}, err.Error())}
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(obj, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, k.structural)
	ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, obj, k.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if ferr != nil {
		return nil, field.ErrorList{ferr}
	}
	unknown = append(unknown, paths...)
	obj["apiVersion"], obj["kind"] = apiVersion, kind
	if foundMeta {
		if err := schemaobjectmeta.SetObjectMeta(obj, meta); err != nil {
			return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), field.OmitValueType{}, err.Error())}
		}
		// Writing back a zero ObjectMeta leaves creationTimestamp: null; the stored object
		// gets a timestamp instead, and a manifest is clearer without either.
		if md, isMap := obj["metadata"].(map[string]interface{}); isMap && md["creationTimestamp"] == nil {
			delete(md, "creationTimestamp")
		}
	}
	structuraldefaulting.Default(obj, k.structural)

	for _, p := range unknown {
		unknownFields = append(unknownFields, unknownField(p))
	}
	return unknownFields, nil
}

// unknownFieldOrigin is the Origin of the errors reporting unknown fields.
const unknownFieldOrigin = "unknownField"

// unknownField reports a field the schema does not know, with the message of the API server's
// strict field validation. The Field is the path as strict validation spells it.
func unknownField(path string) *field.Error {
	return &field.Error{
		Type:   field.ErrorTypeForbidden,
		Field:  path,
		Detail: fmt.Sprintf("unknown field %q", path),
		Origin: unknownFieldOrigin,
	}
}

// IsUnknownField reports whether err is about a field the schema does not know: the API
// server drops such a field, and refuses the object only under strict field validation.
func IsUnknownField(err *field.Error) bool {
	return err != nil && err.Origin == unknownFieldOrigin
}

// objectMeta reads metadata as the custom resource validator does (getObjectMeta).
func objectMeta(obj map[string]interface{}) (*metav1.ObjectMeta, field.ErrorList) {
	raw := obj["metadata"]
	if raw == nil {
		return &metav1.ObjectMeta{}, nil
	}
	m, isMap := raw.(map[string]interface{})
	if !isMap {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), field.OmitValueType{}, fmt.Sprintf("expected map[string]interface{}, got %T", raw))}
	}
	meta := &metav1.ObjectMeta{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, meta); err != nil {
		return nil, field.ErrorList{field.Invalid(field.NewPath("metadata"), field.OmitValueType{}, err.Error())}
	}
	return meta, nil
}

// blockingError mirrors hasBlockingErr of the custom resource strategy: after an OpenAPI type,
// maxLength, maxItems, maxProperties, required or enum violation the CEL rules are not run,
// because their cost estimates rely on those bounds.
func blockingError(errs field.ErrorList) *field.Error {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
}

// validatePathSegment is the name check of rest.ValidateCreate and rest.ValidateUpdate: a name
// must be usable as a segment of a URL path.
func validatePathSegment(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

// dedupe drops repeated errors, keeping the first of each. The API server runs some metadata
// update checks twice and would report, for instance, a changed name twice.
func dedupe(errs field.ErrorList) field.ErrorList {
	seen := make(map[string]bool, len(errs))
	out := errs[:0]
	for _, e := range errs {
		key := string(e.Type) + "\x00" + e.Field + "\x00" + e.ErrorBody()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func prefixDetail(errs field.ErrorList, prefix string) field.ErrorList {
	out := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		c := *e
		c.Detail = prefix + c.Detail
		out = append(out, &c)
	}
	return out
}
