package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// A plan compiled from the same objects is compiled once: metadata and status changes
// leave it remembered, a spec change or an Indicator fewer compile it again, and what is
// remembered is what compiling gives.
func TestPlansRemember(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	m := applySamples(t, ns)
	ini, want := samplesPlan(t, ns, m)
	c := testMgr.GetClient()
	memo := newPlans(4)
	compile := func() *aggregation {
		t.Helper()
		a, err := compileAggregation(ctx, c, ini, testAggregate, memo)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := compile()
	if first.ID != want.ID || first.JobName != want.JobName || !reflect.DeepEqual(first.Plan, want.Plan) {
		t.Fatalf("remembering compiled another plan: %s (%s), want %s (%s)", first.ID, first.JobName, want.ID, want.JobName)
	}
	if again := compile(); again.Plan != first.Plan {
		t.Error("the same objects compiled their plan again")
	}

	// A label is not what a plan is compiled from.
	ind := &impactv1.Indicator{}
	key := client.ObjectKey{Namespace: ns, Name: m.Indicators[0].Name}
	if err := k8s.Get(ctx, key, ind); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ind.DeepCopy())
	metav1.SetMetaDataLabel(&ind.ObjectMeta, "example.org/team", "data")
	if err := k8s.Patch(ctx, ind, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the label in the manager's cache", func() error {
		cached := &impactv1.Indicator{}
		if err := c.Get(ctx, key, cached); err != nil {
			return err
		}
		if cached.Labels["example.org/team"] != "data" {
			return fmt.Errorf("labels %v", cached.Labels)
		}
		return nil
	})
	if a := compile(); a.Plan != first.Plan {
		t.Error("a label compiled the plan again")
	}

	// A spec change compiles it again.
	patch = client.MergeFrom(ind.DeepCopy())
	ind.Spec.Description += " Updated."
	if err := k8s.Patch(ctx, ind, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new generation in the manager's cache", func() error {
		cached := &impactv1.Indicator{}
		if err := c.Get(ctx, key, cached); err != nil {
			return err
		}
		if cached.Generation != ind.Generation {
			return fmt.Errorf("generation %d, want %d", cached.Generation, ind.Generation)
		}
		return nil
	})
	changed := compile()
	fresh, err := compileAggregation(ctx, c, ini, testAggregate, nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Plan == first.Plan || changed.ID != fresh.ID || !reflect.DeepEqual(changed.Plan, fresh.Plan) {
		t.Errorf("after a spec change: plan compiled again %v, id %s, want %s", changed.Plan != first.Plan, changed.ID, fresh.ID)
	}

	// An Indicator fewer is another plan, the one compiling without remembering gives.
	if err := k8s.Delete(ctx, ind); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a plan without the deleted Indicator", func() error {
		a := compile()
		if len(a.Plan.Indicators) != len(m.Indicators)-1 {
			return fmt.Errorf("%d indicators planned", len(a.Plan.Indicators))
		}
		fresh, err := compileAggregation(ctx, c, ini, testAggregate, nil)
		if err != nil {
			return err
		}
		if a.ID != fresh.ID || a.ID == changed.ID || !reflect.DeepEqual(a.Plan, fresh.Plan) {
			return fmt.Errorf("remembered plan %s, compiled %s (before the deletion %s)", a.ID, fresh.ID, changed.ID)
		}
		return nil
	})
}

// A result's manifest is read from the store once and then served from memory, for the
// last few only; a manifest not found is not remembered.
func TestManifestsRemember(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(initiative string) string {
		p := &spec.Aggregate{Namespace: "ns", Initiative: initiative, TimeZone: "UTC"}
		res := &aggregate.Result{Indicators: []aggregate.IndicatorResult{{Name: "one", MinCellSize: 11}}}
		key, _, err := result.Write(ctx, st, p, "test-engine", res, time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	remove := func(key string) {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
	}
	c := newManifests(2)
	missing := result.Key("ns", "d", "sha256:0000")
	if _, err := c.read(ctx, st, missing); err == nil {
		t.Fatal("a missing manifest was read")
	}
	first, second, third := write("a"), write("b"), write("c")
	for _, key := range []string{first, second} {
		if man, err := c.read(ctx, st, key); err != nil || man.Namespace != "ns" {
			t.Fatalf("%s: %+v, %v", key, man, err)
		}
	}
	remove(second)
	if man, err := c.read(ctx, st, second); err != nil || man.Initiative != "b" {
		t.Errorf("a remembered manifest read again from the store: %+v, %v", man, err)
	}
	if _, err := (*manifests)(nil).read(ctx, st, second); err == nil {
		t.Error("without remembering, the removed manifest was read")
	}
	if _, err := c.read(ctx, st, third); err != nil {
		t.Fatal(err)
	}
	remove(first)
	if _, err := c.read(ctx, st, first); err == nil {
		t.Error("the oldest manifest was still remembered beyond the limit of two")
	}
	if n := c.kept.len(); n != 2 || len(c.kept.order) != 2 {
		t.Errorf("%d manifests remembered (%d in order), want 2", n, len(c.kept.order))
	}
}

// The manager's cache keeps neither managedFields nor kubectl's last-applied annotation;
// the API server still has them, and the annotations the manager reads stay.
func TestCacheStripsUnreadFields(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	data, err := os.ReadFile(filepath.Join(samples, "indicator-families-served.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ind := &impactv1.Indicator{}
	if err := yaml.UnmarshalStrict(data, ind); err != nil {
		t.Fatal(err)
	}
	ind.Namespace = ns
	ind.Annotations = map[string]string{
		corev1.LastAppliedConfigAnnotation: `{"spec":{}}`,
		impactv1.RequestedAtAnnotation:     "2026-12-05T12:00:00Z",
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ind)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetAPIVersion(impactv1.GroupVersion.String())
	u.SetKind("Indicator")
	if err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	stored := &impactv1.Indicator{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ind), stored); err != nil {
		t.Fatal(err)
	}
	if len(stored.ManagedFields) == 0 || stored.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
		t.Fatalf("the API server has managedFields %v and annotations %v", stored.ManagedFields, stored.Annotations)
	}
	eventually(t, "the Indicator in the manager's cache, stripped", func() error {
		cached := &impactv1.Indicator{}
		if err := testMgr.GetClient().Get(ctx, client.ObjectKeyFromObject(ind), cached); err != nil {
			return err
		}
		if len(cached.ManagedFields) != 0 {
			return fmt.Errorf("managedFields cached: %v", cached.ManagedFields)
		}
		if _, ok := cached.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
			return fmt.Errorf("last-applied annotation cached")
		}
		if cached.Annotations[impactv1.RequestedAtAnnotation] != "2026-12-05T12:00:00Z" {
			return fmt.Errorf("annotations %v", cached.Annotations)
		}
		return nil
	})
	// The manager's own status patches leave the stripped fields on the API server.
	eventually(t, "the Indicator's status written by the manager", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ind), stored); err != nil {
			return err
		}
		if len(stored.Status.Conditions) == 0 {
			return fmt.Errorf("no conditions yet")
		}
		return nil
	})
	if len(stored.ManagedFields) < 2 || stored.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
		t.Errorf("after the manager's status patch: managedFields %v, annotations %v", stored.ManagedFields, stored.Annotations)
	}
}

// A Job's Pod is cached with its metadata and its containers' termination states only.
func TestStripPod(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: ContainerName, Image: "image", Env: []corev1.EnvVar{{Name: "A", Value: "B"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, Message: "m", ContainerStatuses: []corev1.ContainerStatus{{
			Name: ContainerName, Image: "image", ImageID: "id", ContainerID: "cid",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "Error: bad row 3"}},
		}}},
	}
	out, err := stripPod(p)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Pod)
	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			Name: ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "Error: bad row 3"}},
		}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stripped Pod\n%+v\nwant\n%+v", got, want)
	}
	if terminationMessage(got) != "Error: bad row 3" {
		t.Errorf("termination message %q", terminationMessage(got))
	}
}

// A DataSource's plan ConfigMap is cached without its plan, under the plan's hash; when
// the manager rewrites the ConfigMap (here: a label someone added), it writes the plan
// with it, never an empty one.
func TestPlanConfigMapCachedWithoutData(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini, ds := &impactv1.Initiative{}, &impactv1.DataSource{}
	loadSample(t, "initiative.yaml", ini, ns)
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ini)
	create(t, ds)
	key := client.ObjectKey{Namespace: ns, Name: ds.Name + "-plan"}
	cm := &corev1.ConfigMap{}
	eventually(t, "the plan ConfigMap", func() error {
		if err := k8s.Get(ctx, key, cm); err != nil {
			return err
		}
		if cm.Data[PlanKey] == "" || cm.Annotations[AnnotationPlanHash] == "" {
			return fmt.Errorf("data %d bytes, annotations %v", len(cm.Data[PlanKey]), cm.Annotations)
		}
		return nil
	})
	plan, hash := cm.Data[PlanKey], cm.Annotations[AnnotationPlanHash]
	cached := &corev1.ConfigMap{}
	if err := testMgr.GetClient().Get(ctx, key, cached); err != nil {
		t.Fatal(err)
	}
	if len(cached.Data) != 0 || cached.Annotations[AnnotationPlanHash] != hash {
		t.Errorf("cached: %d data keys, annotations %v; want none and the plan's hash %s", len(cached.Data), cached.Annotations, hash)
	}

	patch := client.MergeFrom(cm.DeepCopy())
	metav1.SetMetaDataLabel(&cm.ObjectMeta, "example.org/extra", "yes")
	if err := k8s.Patch(ctx, cm, patch); err != nil {
		t.Fatal(err)
	}
	// A change of the CronJob the DataSource owns has it reconciled.
	cj := &batchv1.CronJob{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: cronJobName(ds)}, cj); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the extra label removed, the plan kept", func() error {
		cjPatch := client.MergeFrom(cj.DeepCopy())
		metav1.SetMetaDataAnnotation(&cj.ObjectMeta, "example.org/poke", time.Now().Format(time.RFC3339Nano))
		if err := k8s.Patch(ctx, cj, cjPatch); err != nil {
			return err
		}
		if err := k8s.Get(ctx, key, cm); err != nil {
			return err
		}
		if _, ok := cm.Labels["example.org/extra"]; ok {
			return fmt.Errorf("labels %v", cm.Labels)
		}
		if cm.Data[PlanKey] != plan || cm.Annotations[AnnotationPlanHash] != hash {
			return fmt.Errorf("plan of %d bytes (want %d), hash %s", len(cm.Data[PlanKey]), len(plan), cm.Annotations[AnnotationPlanHash])
		}
		return nil
	})
}

// A reconciliation that changes nothing in the status sends no patch; one that does sends
// one.
func TestNoEmptyStatusPatch(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	data, err := os.ReadFile(filepath.Join(samples, "indicator-families-served.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ind := &impactv1.Indicator{}
	if err := yaml.UnmarshalStrict(data, ind); err != nil {
		t.Fatal(err)
	}
	ind.Namespace = ns // its Initiative is absent: Stalled
	create(t, ind)
	key := client.ObjectKeyFromObject(ind)
	stalled := func(o *impactv1.Indicator) error {
		return wantCondition(o.Status.Conditions, impactv1.ConditionStalled, metav1.ConditionTrue)
	}
	eventually(t, "the Indicator Stalled in the manager's cache", func() error {
		cached := &impactv1.Indicator{}
		if err := testMgr.GetClient().Get(ctx, key, cached); err != nil {
			return err
		}
		return stalled(cached)
	})
	patches := 0
	c := countingClient{Client: testMgr.GetClient(), patches: &patches}
	r := &IndicatorReconciler{Client: c, Recorder: testMgr.GetEventRecorder("test"), Store: testStore, Aggregate: testAggregate}
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	if patches != 0 {
		t.Errorf("%d status patches for a reconciliation that changed nothing", patches)
	}

	// Cleared on the API server (status changes reconcile nothing), the status is written again.
	if err := k8s.Get(ctx, key, ind); err != nil {
		t.Fatal(err)
	}
	ind.Status = impactv1.IndicatorStatus{}
	if err := k8s.Status().Update(ctx, ind); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cleared status in the manager's cache", func() error {
		cached := &impactv1.Indicator{}
		if err := testMgr.GetClient().Get(ctx, key, cached); err != nil {
			return err
		}
		if len(cached.Status.Conditions) != 0 {
			return fmt.Errorf("conditions %v", cached.Status.Conditions)
		}
		return nil
	})
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	if patches != 1 {
		t.Errorf("%d status patches for a reconciliation that set the conditions, want 1", patches)
	}
	if err := k8s.Get(ctx, key, ind); err != nil {
		t.Fatal(err)
	}
	if err := stalled(ind); err != nil {
		t.Error(err)
	}
}

// countingClient counts the status patches it sends through the client it wraps.
type countingClient struct {
	client.Client
	patches *int
}

func (c countingClient) Status() client.SubResourceWriter {
	return countingStatus{SubResourceWriter: c.Client.Status(), patches: c.patches}
}

type countingStatus struct {
	client.SubResourceWriter
	patches *int
}

func (s countingStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	*s.patches++
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// bounded keeps the first value added under a key, replaces it on set without moving it,
// and forgets the oldest added beyond its bound.
func TestBounded(t *testing.T) {
	b := newBounded[string, int](2)
	if v := b.add("a", 1); v != 1 {
		t.Fatalf("add a = %d", v)
	}
	if v := b.add("a", 2); v != 1 {
		t.Errorf("a second add of a returned %d, want the first value 1", v)
	}
	b.set("a", 3)
	b.set("b", 4)
	if v, ok := b.get("a"); !ok || v != 3 {
		t.Errorf("a = %d, %v after set; want 3", v, ok)
	}
	b.add("c", 5) // a, added first, goes
	if _, ok := b.get("a"); ok {
		t.Error("a still kept beyond the bound")
	}
	for k, want := range map[string]int{"b": 4, "c": 5} {
		if v, ok := b.get(k); !ok || v != want {
			t.Errorf("%s = %d, %v; want %d", k, v, ok, want)
		}
	}
	if b.len() != 2 {
		t.Errorf("%d kept, want 2", b.len())
	}
}
