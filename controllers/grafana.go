package controllers

import (
	"context"
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
)

// GrafanaDashboardGVK is grafana-operator's dashboard resource.
var GrafanaDashboardGVK = schema.GroupVersionKind{Group: "grafana.integreatly.org", Version: "v1beta1", Kind: "GrafanaDashboard"}

// ConditionGrafanaDashboard is the Initiative's condition saying whether its
// GrafanaDashboard is applied. It is set only when the manager runs with GrafanaDashboards
// on, and is informational: Ready does not depend on it.
const ConditionGrafanaDashboard = "GrafanaDashboard"

// Reasons of the GrafanaDashboard condition.
const (
	ReasonGrafanaApplied     = "Applied"
	ReasonGrafanaCRDMissing  = "CRDNotInstalled"
	ReasonGrafanaNoDashboard = "NoDashboard"
	ReasonGrafanaNotOwned    = "NotOwned"
)

// newGrafanaDashboard returns an empty GrafanaDashboard object.
func newGrafanaDashboard() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(GrafanaDashboardGVK)
	return u
}

// applyGrafanaDashboard keeps the Initiative's GrafanaDashboard when the option is on: named
// like its dashboard ConfigMap, owned by the Initiative, reading the dashboard from that
// ConfigMap (spec.configMapRef), in the Initiative's spec.dashboard.folder, for the Grafana
// instances the selector picks. Without the CRD it does nothing but say so in the
// condition; without a dashboard ConfigMap (dashboards disabled, no result yet) it deletes
// the resource. It runs after applyDashboard, which sets status.dashboard.
func applyGrafanaDashboard(ctx context.Context, c client.Client, opts DashboardOptions, ini *impactv1.Initiative) error {
	if !opts.GrafanaDashboards {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	setCond := func(s metav1.ConditionStatus, reason, format string, args ...any) {
		setCondition(&ini.Status.CommonStatus, ini.Generation, ConditionGrafanaDashboard, s, reason, fmt.Sprintf(format, args...))
	}
	name := dashboard.ConfigMapName(ini.Name)
	crdMissing := func() error {
		ini.Status.GrafanaDashboard = ""
		if cond := meta.FindStatusCondition(ini.Status.Conditions, ConditionGrafanaDashboard); cond == nil || cond.Reason != ReasonGrafanaCRDMissing {
			log.Info("GrafanaDashboard CRD not installed: the dashboard is only in its ConfigMap", "initiative", ini.Name, "kind", GrafanaDashboardGVK.String())
		}
		setCond(metav1.ConditionFalse, ReasonGrafanaCRDMissing,
			"the GrafanaDashboard CRD (%s, grafana-operator) is not installed: the dashboard is only in ConfigMap %s", GrafanaDashboardGVK.GroupVersion(), name)
		return nil
	}
	if _, err := c.RESTMapper().RESTMapping(GrafanaDashboardGVK.GroupKind(), GrafanaDashboardGVK.Version); err != nil {
		if !meta.IsNoMatchError(err) {
			return fmt.Errorf("looking up the GrafanaDashboard kind: %w", err)
		}
		return crdMissing()
	}
	nn := types.NamespacedName{Namespace: ini.Namespace, Name: name}
	cur := newGrafanaDashboard()
	err := c.Get(ctx, nn, cur)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("getting GrafanaDashboard %s: %w", nn, err)
	}
	exists := err == nil
	if exists && !metav1.IsControlledBy(cur, ini) {
		ini.Status.GrafanaDashboard = ""
		setCond(metav1.ConditionFalse, ReasonGrafanaNotOwned, "GrafanaDashboard %s exists and is not the Initiative's: it is left alone", name)
		return nil
	}
	if ini.Status.Dashboard == "" {
		ini.Status.GrafanaDashboard = ""
		if exists {
			if err := c.Delete(ctx, cur); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting GrafanaDashboard %s: %w", nn, err)
			}
		}
		setCond(metav1.ConditionFalse, ReasonGrafanaNoDashboard, "no dashboard ConfigMap is written (spec.dashboard.enabled, --dashboards, or no result yet)")
		return nil
	}
	want, err := grafanaDashboard(c, opts, ini)
	if err != nil {
		return err
	}
	switch {
	case !exists:
		if err := c.Create(ctx, want); err != nil {
			if apierrors.IsNotFound(err) {
				// The kind is still in the manager's discovery cache but the CRD was
				// uninstalled: the API server no longer serves the resource.
				return crdMissing()
			}
			return fmt.Errorf("creating GrafanaDashboard %s: %w", nn, err)
		}
	case !equality.Semantic.DeepEqual(field(cur, "instanceSelector"), field(want, "instanceSelector")):
		// grafana-operator makes instanceSelector immutable: a new selector is a new object.
		if err := c.Delete(ctx, cur); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting GrafanaDashboard %s to change its instanceSelector: %w", nn, err)
		}
		if err := c.Create(ctx, want); err != nil {
			return fmt.Errorf("creating GrafanaDashboard %s: %w", nn, err)
		}
	case !equality.Semantic.DeepEqual(cur.Object["spec"], mergeSpec(cur, want)) || !maps.Equal(cur.GetLabels(), want.GetLabels()):
		cur.Object["spec"] = mergeSpec(cur, want)
		cur.SetLabels(want.GetLabels())
		cur.SetOwnerReferences(want.GetOwnerReferences())
		if err := c.Update(ctx, cur); err != nil {
			return fmt.Errorf("updating GrafanaDashboard %s: %w", nn, err)
		}
	}
	ini.Status.GrafanaDashboard = name
	setCond(metav1.ConditionTrue, ReasonGrafanaApplied, "GrafanaDashboard %s loads ConfigMap %s into the Grafana instances matching %v", name, ini.Status.Dashboard, opts.GrafanaInstanceSelector)
	return nil
}

// grafanaDashboard is the GrafanaDashboard an Initiative should have.
func grafanaDashboard(c client.Client, opts DashboardOptions, ini *impactv1.Initiative) (*unstructured.Unstructured, error) {
	sel := map[string]any{}
	for k, v := range opts.GrafanaInstanceSelector {
		sel[k] = v
	}
	spec := map[string]any{
		"instanceSelector": map[string]any{"matchLabels": sel},
		"configMapRef":     map[string]any{"name": ini.Status.Dashboard, "key": dashboard.ConfigMapKey(ini.Name)},
	}
	if d := ini.Spec.Dashboard; d != nil && d.Folder != "" {
		spec["folder"] = d.Folder
	}
	u := newGrafanaDashboard()
	u.SetNamespace(ini.Namespace)
	u.SetName(dashboard.ConfigMapName(ini.Name))
	u.SetLabels(map[string]string{LabelManagedBy: ManagedBy, LabelInitiative: ini.Name, LabelComponent: "dashboard"})
	u.Object["spec"] = spec
	if err := controllerutil.SetControllerReference(ini, u, c.Scheme()); err != nil {
		return nil, fmt.Errorf("GrafanaDashboard %s: %w", u.GetName(), err)
	}
	return u, nil
}

// field is a field of an object's spec, or nil.
func field(u *unstructured.Unstructured, name string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", name)
	return v
}

// mergeSpec is the current spec with the fields the manager sets replaced by want's, and
// folder removed when want has none: defaults the API server filled in (resyncPeriod) and
// fields others set stay.
func mergeSpec(cur, want *unstructured.Unstructured) map[string]any {
	spec, _ := cur.Object["spec"].(map[string]any)
	out := make(map[string]any, len(spec))
	maps.Copy(out, spec)
	w := want.Object["spec"].(map[string]any)
	for _, k := range []string{"instanceSelector", "configMapRef", "folder"} {
		if v, ok := w[k]; ok {
			out[k] = v
		} else {
			delete(out, k)
		}
	}
	return out
}
