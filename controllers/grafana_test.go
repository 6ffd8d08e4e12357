package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
)

// TestGrafanaDashboard: with the option on, an Initiative reconciled while grafana-operator's
// GrafanaDashboard CRD is not installed reconciles without error and says so in its
// GrafanaDashboard condition; once the CRD is installed (testdata: its schema's subset the
// manager writes to, validation rules included), the Initiative gets a GrafanaDashboard
// owned by it, reading its dashboard ConfigMap, in its folder, for the selected Grafana
// instances, named in status.grafanaDashboard. A new folder updates it; a new instance
// selector (immutable upstream) replaces it; dashboards disabled delete it; one of that
// name the Initiative does not own is left alone, the condition says so. The manager
// runs as a user bound only to config/rbac/role.yaml.
func TestGrafanaDashboard(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	m := applySamples(t, ns)
	key := client.ObjectKey{Namespace: ns, Name: m.Initiatives[0].Name}
	ini, a := samplesPlan(t, ns, m)
	if err := finishJob(t, waitJob(t, ns, a.JobName)); err != nil {
		t.Fatalf("aggregating: %v", err)
	}
	cmName := dashboard.ConfigMapName(ini.Name)
	eventually(t, "the dashboard ConfigMap", func() error {
		got := &impactv1.Initiative{}
		if err := k8s.Get(ctx, key, got); err != nil {
			return err
		}
		if got.Status.Dashboard != cmName {
			return fmt.Errorf("status.dashboard %q", got.Status.Dashboard)
		}
		return nil
	})

	opts := testDashboards
	opts.GrafanaDashboards = true
	opts.GrafanaInstanceSelector = map[string]string{"dashboards": "grafana"}
	r := &InitiativeReconciler{Client: testMgr.GetClient(), Recorder: testMgr.GetEventRecorder("test"), Store: testStore, Jobs: jobOpts, Publisher: testPub, Dashboards: opts}
	reconcile := func() (*impactv1.Initiative, error) {
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
			return nil, err
		}
		got := &impactv1.Initiative{}
		return got, k8s.Get(ctx, key, got)
	}
	wantGrafana := func(got *impactv1.Initiative, s metav1.ConditionStatus, reason string) error {
		if err := wantCondition(got.Status.Conditions, ConditionGrafanaDashboard, s); err != nil {
			return err
		}
		if c := condition(got.Status.Conditions, ConditionGrafanaDashboard); c.Reason != reason {
			return fmt.Errorf("GrafanaDashboard condition %s: %s, want reason %s", c.Reason, c.Message, reason)
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionTrue); err != nil {
			return err
		}
		return nil
	}

	// Without the CRD: no error, a condition saying so, no name in the status.
	eventually(t, "the GrafanaDashboard condition without the CRD", func() error {
		got, err := reconcile()
		if err != nil {
			return err
		}
		if err := wantGrafana(got, metav1.ConditionFalse, ReasonGrafanaCRDMissing); err != nil {
			return err
		}
		if c := condition(got.Status.Conditions, ConditionGrafanaDashboard); !strings.Contains(c.Message, "grafana.integreatly.org/v1beta1") || !strings.Contains(c.Message, cmName) {
			return fmt.Errorf("condition message %q names neither the kind nor the ConfigMap", c.Message)
		}
		if got.Status.GrafanaDashboard != "" {
			return fmt.Errorf("status.grafanaDashboard %q without the CRD", got.Status.GrafanaDashboard)
		}
		return nil
	})

	// With the CRD.
	crds, err := envtest.InstallCRDs(testCfg, envtest.CRDInstallOptions{Paths: []string{"testdata/grafana.integreatly.org_grafanadashboards.yaml"}, ErrorIfPathMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = envtest.UninstallCRDs(testCfg, envtest.CRDInstallOptions{CRDs: crds}) })
	gd := newGrafanaDashboard()
	gdKey := client.ObjectKey{Namespace: ns, Name: cmName}
	eventually(t, "the GrafanaDashboard", func() error {
		got, err := reconcile()
		if err != nil {
			return err
		}
		if err := wantGrafana(got, metav1.ConditionTrue, ReasonGrafanaApplied); err != nil {
			return err
		}
		if got.Status.GrafanaDashboard != cmName {
			return fmt.Errorf("status.grafanaDashboard %q, want %s", got.Status.GrafanaDashboard, cmName)
		}
		return k8s.Get(ctx, gdKey, gd)
	})
	check := func(folder string, selector map[string]any) {
		t.Helper()
		if !metav1.IsControlledBy(gd, ini) {
			t.Errorf("GrafanaDashboard owners %+v, want the Initiative as controller", gd.GetOwnerReferences())
		}
		want := map[string]any{
			"instanceSelector": map[string]any{"matchLabels": selector},
			"configMapRef":     map[string]any{"name": cmName, "key": dashboard.ConfigMapKey(ini.Name)},
			"folder":           folder,
			"resyncPeriod":     "5m", // the CRD's default: the object went through its schema
		}
		if folder == "" {
			delete(want, "folder")
		}
		if got := gd.Object["spec"]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("GrafanaDashboard spec\n  %v\nwant\n  %v", got, want)
		}
		if gd.GetLabels()[LabelInitiative] != ini.Name || gd.GetLabels()[LabelManagedBy] != ManagedBy {
			t.Errorf("GrafanaDashboard labels %v", gd.GetLabels())
		}
	}
	check("Ready by Five", map[string]any{"dashboards": "grafana"})
	uid := gd.GetUID()

	// A new folder updates the object.
	updateInitiative(t, key, ini, func() {
		ini.Spec.Dashboard.Folder = "North County"
	})
	eventually(t, "the GrafanaDashboard in the new folder", func() error {
		if _, err := reconcile(); err != nil {
			return err
		}
		if err := k8s.Get(ctx, gdKey, gd); err != nil {
			return err
		}
		if f, _, _ := unstructured.NestedString(gd.Object, "spec", "folder"); f != "North County" {
			return fmt.Errorf("folder %q", f)
		}
		return nil
	})
	check("North County", map[string]any{"dashboards": "grafana"})
	if gd.GetUID() != uid {
		t.Error("a new folder replaced the GrafanaDashboard instead of updating it")
	}

	// A new instance selector, immutable upstream, replaces it.
	r.Dashboards.GrafanaInstanceSelector = map[string]string{"team": "impact"}
	eventually(t, "the GrafanaDashboard with the new selector", func() error {
		if _, err := reconcile(); err != nil {
			return err
		}
		if err := k8s.Get(ctx, gdKey, gd); err != nil {
			return err
		}
		if v, _, _ := unstructured.NestedString(gd.Object, "spec", "instanceSelector", "matchLabels", "team"); v != "impact" {
			return fmt.Errorf("instanceSelector %v", gd.Object["spec"])
		}
		return nil
	})
	check("North County", map[string]any{"team": "impact"})
	if gd.GetUID() == uid {
		t.Error("the GrafanaDashboard with a new instanceSelector kept its uid")
	}

	// Dashboards disabled: the GrafanaDashboard goes with the ConfigMap.
	updateInitiative(t, key, ini, func() {
		ini.Spec.Dashboard.Enabled = ptrBool(false)
	})
	eventually(t, "the GrafanaDashboard deleted", func() error {
		got, err := reconcile()
		if err != nil {
			return err
		}
		if err := wantGrafana(got, metav1.ConditionFalse, ReasonGrafanaNoDashboard); err != nil {
			return err
		}
		if got.Status.GrafanaDashboard != "" {
			return fmt.Errorf("status.grafanaDashboard %q", got.Status.GrafanaDashboard)
		}
		if err := k8s.Get(ctx, gdKey, newGrafanaDashboard()); !apierrors.IsNotFound(err) {
			return fmt.Errorf("GrafanaDashboard still there: %v", err)
		}
		return nil
	})

	// A GrafanaDashboard of that name the Initiative does not own is left alone.
	foreign := newGrafanaDashboard()
	foreign.SetNamespace(ns)
	foreign.SetName(cmName)
	foreign.Object["spec"] = map[string]any{"instanceSelector": map[string]any{"matchLabels": map[string]any{"mine": "yes"}}, "json": "{}"}
	if err := k8s.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	updateInitiative(t, key, ini, func() {
		ini.Spec.Dashboard.Enabled = ptrBool(true)
	})
	eventually(t, "a foreign GrafanaDashboard left alone", func() error {
		got, err := reconcile()
		if err != nil {
			return err
		}
		if got.Status.Dashboard != cmName {
			return fmt.Errorf("status.dashboard %q", got.Status.Dashboard)
		}
		return wantGrafana(got, metav1.ConditionFalse, ReasonGrafanaNotOwned)
	})
	if err := k8s.Get(ctx, gdKey, gd); err != nil {
		t.Fatal(err)
	}
	if gd.GetUID() != foreign.GetUID() || len(gd.GetOwnerReferences()) != 0 || fmt.Sprint(gd.Object["spec"].(map[string]any)["instanceSelector"]) != "map[matchLabels:map[mine:yes]]" {
		t.Errorf("the foreign GrafanaDashboard was changed: %v", gd.Object)
	}
}

// updateInitiative gets the Initiative, changes it and updates it, again on a conflict: the
// suite's manager patches its status meanwhile.
func updateInitiative(t *testing.T, key client.ObjectKey, ini *impactv1.Initiative, change func()) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), key, ini); err != nil {
			return err
		}
		change()
		return k8s.Update(context.Background(), ini)
	})
	if err != nil {
		t.Fatal(err)
	}
}
