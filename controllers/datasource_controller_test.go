package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/manifest"
	"github.com/backbone-dev/backbone/internal/plan"
)

// loadSample decodes one manifest of config/samples into obj, in namespace.
func loadSample(t *testing.T, file string, obj client.Object, namespace string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, file))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Decode(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("%s: %v (%d objects)", file, err, len(objs))
	}
	b, _ := objs[0].MarshalJSON()
	if err := yaml.Unmarshal(b, obj); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(namespace)
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %s: %v", obj.GetName(), err)
	}
}

func getDataSource(namespace, name string) (*impactv1.DataSource, error) {
	ds := &impactv1.DataSource{}
	return ds, k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, ds)
}

// TestDataSourceCronJob checks the CronJob a DataSource gets: schedule, time zone,
// concurrency, history, suspend mirrored, owner, and a pod that runs the plan from a
// read-only ConfigMap mount under the restricted profile without a ServiceAccount token.
func TestDataSourceCronJob(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)

	cj := &batchv1.CronJob{}
	eventually(t, "CronJob", func() error { return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: ds.Name}, cj) })
	s := cj.Spec
	if s.Schedule != "0 6 * * *" || s.TimeZone == nil || *s.TimeZone != "America/Los_Angeles" {
		t.Errorf("schedule %q time zone %v, want the DataSource's", s.Schedule, s.TimeZone)
	}
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent || s.StartingDeadlineSeconds == nil || s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil {
		t.Errorf("concurrency %q, starting deadline %v, history limits %v/%v", s.ConcurrencyPolicy, s.StartingDeadlineSeconds, s.SuccessfulJobsHistoryLimit, s.FailedJobsHistoryLimit)
	}
	if s.Suspend == nil || *s.Suspend {
		t.Errorf("suspend = %v, want false", s.Suspend)
	}
	if len(cj.OwnerReferences) != 1 || cj.OwnerReferences[0].Kind != "DataSource" || cj.OwnerReferences[0].Name != ds.Name || !*cj.OwnerReferences[0].Controller {
		t.Errorf("owner references %+v, want the DataSource as controller", cj.OwnerReferences)
	}
	pod := s.JobTemplate.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken || pod.ServiceAccountName != JobServiceAccount {
		t.Errorf("service account %q, automount %v", pod.ServiceAccountName, pod.AutomountServiceAccountToken)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context %+v", sc)
	}
	if got, want := strings.Join(append(c.Command, c.Args...), " "), "backbone-job ingest --plan /etc/backbone/plan/plan.json --store "+storeURL; got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	if c.Image != jobOpts.Image || c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("image %q, requests %v", c.Image, c.Resources.Requests)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m, ok := mounts[PlanDir]; !ok || !m.ReadOnly {
		t.Errorf("plan mount %+v", mounts)
	}
	if _, ok := mounts["/tmp"]; !ok {
		t.Errorf("no /tmp mount: %+v", mounts)
	}
	// The plan ConfigMap is owned by the DataSource and holds the compiled plan, with the
	// file location resolved against the file root.
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: ds.Name + "-plan"}, cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].Name != ds.Name {
		t.Errorf("ConfigMap owners %+v", cm.OwnerReferences)
	}
	if want := fmt.Sprintf("%q", filepath.Join(samples, "data/ncusd-kindergarten.csv")); !strings.Contains(cm.Data[PlanKey], want) {
		t.Errorf("the plan does not name %s:\n%s", want, cm.Data[PlanKey])
	}
	sa := &corev1.ServiceAccount{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: JobServiceAccount}, sa); err != nil {
		t.Errorf("ServiceAccount %s: %v", JobServiceAccount, err)
	}

	// Suspending the DataSource suspends the CronJob.
	patch := client.MergeFrom(ds.DeepCopy())
	ds.Spec.Suspend = true
	if err := k8s.Patch(ctx, ds, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "suspended CronJob", func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: ds.Name}, cj); err != nil {
			return err
		}
		if cj.Spec.Suspend == nil || !*cj.Spec.Suspend {
			return fmt.Errorf("suspend = %v", cj.Spec.Suspend)
		}
		return nil
	})
}

// TestDataSourceRunNow checks that the requestedAt annotation starts one Job with a name
// derived from the request, and that the snapshot the Job writes reaches the status.
func TestDataSourceRunNow(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)
	eventually(t, "waiting for the first snapshot", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		return wantCondition(got.Status.Conditions, impactv1.ConditionReconciling, metav1.ConditionTrue)
	})

	const at = "2026-12-05T10:00:00Z"
	requestRun(t, ds, at)
	name := runNowJobName(ds, at)
	if name != ds.Name+"-now-"+shortHash(at, 10) {
		t.Fatalf("run-now Job name %q", name)
	}
	job := waitJob(t, ns, name)
	if job.Annotations[AnnotationRequestedAt] != at || job.OwnerReferences[0].Name != ds.Name {
		t.Errorf("Job annotations %v, owners %+v", job.Annotations, job.OwnerReferences)
	}
	eventually(t, "lastHandledRequestedAt", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		if got.Status.LastHandledRequestedAt != at {
			return fmt.Errorf("lastHandledRequestedAt %q", got.Status.LastHandledRequestedAt)
		}
		return nil
	})
	if err := finishJob(t, job); err != nil {
		t.Fatalf("ingesting: %v", err)
	}
	var got *impactv1.DataSource
	eventually(t, "snapshot in status", func() error {
		var err error
		if got, err = getDataSource(ns, ds.Name); err != nil {
			return err
		}
		if got.Status.Snapshot == nil {
			return fmt.Errorf("no snapshot yet (conditions %+v)", got.Status.Conditions)
		}
		return wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionTrue)
	})
	// The status is the store's promoted snapshot.
	man := readLatest(t, ns, ini.Name, ds.Name)
	s := got.Status.Snapshot
	if s.ID != man.ID || s.Rows != man.RowsOK || s.RejectedRows != man.RowsRejected || s.Bytes != man.ParquetBytes || s.Rows == 0 {
		t.Errorf("status snapshot %+v, store manifest %+v", s, man)
	}
	if got.Status.NextScheduleTime == nil || got.Status.ObservedGeneration != got.Generation {
		t.Errorf("nextScheduleTime %v, observedGeneration %d of %d", got.Status.NextScheduleTime, got.Status.ObservedGeneration, got.Generation)
	}
	if err := wantCondition(got.Status.Conditions, impactv1.ConditionStale, metav1.ConditionFalse); err != nil {
		t.Error(err)
	}
	// The same request again starts nothing new.
	var jobs batchv1.JobList
	if err := k8s.List(ctx, &jobs, client.InNamespace(ns), client.MatchingLabels{LabelDataSource: ds.Name}); err != nil || len(jobs.Items) != 1 {
		t.Errorf("%d Jobs (%v), want 1", len(jobs.Items), err)
	}
}

// TestDataSourceFailedJob checks that a failed ingestion's error reaches the condition and an
// Event.
func TestDataSourceFailedJob(t *testing.T) {
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	ds.Spec.Location.File.Path = "data/no-such-file.csv"
	create(t, ds)
	const at = "2026-12-05T11:00:00Z"
	requestRun(t, ds, at)
	job := waitJob(t, ns, runNowJobName(ds, at))
	runErr := finishJob(t, job)
	if runErr == nil {
		t.Fatal("ingesting a missing file succeeded")
	}
	eventually(t, "failure in status", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionFalse); err != nil {
			return err
		}
		c := condition(got.Status.Conditions, impactv1.ConditionReady)
		if c.Reason != ReasonJobFailed || !strings.Contains(c.Message, "no-such-file.csv") || !strings.Contains(c.Message, job.Name) {
			return fmt.Errorf("Ready %s: %s", c.Reason, c.Message)
		}
		// Nothing is in progress: the next run may succeed, nothing retries this one.
		if r := condition(got.Status.Conditions, impactv1.ConditionReconciling); r != nil {
			return fmt.Errorf("Reconciling after a failed run: %+v", r)
		}
		return wantEvent(ns, ds.Name, "no-such-file.csv")
	})
}

// TestDataSourceStalled checks that a spec that cannot succeed stalls with a message naming
// the field, starts no Job, and recovers when fixed (here by adding the partner to the
// Initiative).
func TestDataSourceStalled(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	ds.Spec.Partner = "north-county-head-start"
	create(t, ds)
	eventually(t, "Stalled", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionStalled, metav1.ConditionTrue); err != nil {
			return err
		}
		if c := condition(got.Status.Conditions, impactv1.ConditionStalled); !strings.Contains(c.Message, "spec.partner") || !strings.Contains(c.Message, "north-county-head-start") {
			return fmt.Errorf("message %q names neither the field nor the value", c.Message)
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionFalse); err != nil {
			return err
		}
		return wantEvent(ns, ds.Name, "spec.partner")
	})
	const at = "2026-12-05T12:00:00Z"
	requestRun(t, ds, at)
	time.Sleep(time.Second) // time for a wrong Job to appear
	var cjs batchv1.CronJobList
	var jobs batchv1.JobList
	if err := k8s.List(ctx, &cjs, client.InNamespace(ns)); err != nil || len(cjs.Items) != 0 {
		t.Errorf("%d CronJobs for a stalled DataSource (%v)", len(cjs.Items), err)
	}
	if err := k8s.List(ctx, &jobs, client.InNamespace(ns)); err != nil || len(jobs.Items) != 0 {
		t.Errorf("%d Jobs for a stalled DataSource (%v)", len(jobs.Items), err)
	}

	patch := client.MergeFrom(ini.DeepCopy())
	ini.Spec.Partners = append(ini.Spec.Partners, impactv1.Partner{Name: "north-county-head-start", Sector: impactv1.SectorEducation})
	if err := k8s.Patch(ctx, ini, patch); err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, ns, runNowJobName(ds, at))
	if err := finishJob(t, job); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ready after the fix", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		if condition(got.Status.Conditions, impactv1.ConditionStalled) != nil {
			return fmt.Errorf("still Stalled: %+v", got.Status.Conditions)
		}
		return wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionTrue)
	})
}

// TestDataSourceNotPromoted checks that a snapshot refused by maxRejectPercent says so, with
// the counts, the rejects file and its first rejected rows, in the condition and an Event.
func TestDataSourceNotPromoted(t *testing.T) {
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	zero := int32(0) // the district's file has rows with race code 8, which maps to nothing
	ds.Spec.MaxRejectPercent = &zero
	create(t, ds)
	const at = "2026-12-05T14:00:00Z"
	requestRun(t, ds, at)
	if err := finishJob(t, waitJob(t, ns, runNowJobName(ds, at))); err == nil {
		t.Fatal("the ingestion succeeded with maxRejectPercent 0 and rejected rows")
	}
	eventually(t, "not promoted", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		c := condition(got.Status.Conditions, impactv1.ConditionReady)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonNotPromoted {
			return fmt.Errorf("Ready %+v", c)
		}
		for _, want := range []string{"maxRejectPercent 0", "not promoted", storeURL, "first rejected rows: row ", `value "8"`} {
			if !strings.Contains(c.Message, want) {
				return fmt.Errorf("message %q lacks %q", c.Message, want)
			}
		}
		if got.Status.Snapshot != nil {
			return fmt.Errorf("a refused snapshot is in status: %+v", got.Status.Snapshot)
		}
		return wantEvent(ns, ds.Name, "first rejected rows")
	})
}

// TestDataSourceStalledSuspends checks that a DataSource whose spec stops being valid (its
// partner leaves the Initiative) stalls and its CronJob is suspended.
func TestDataSourceStalledSuspends(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)
	cj := &batchv1.CronJob{}
	eventually(t, "CronJob", func() error { return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: ds.Name}, cj) })

	patch := client.MergeFrom(ini.DeepCopy())
	var partners []impactv1.Partner
	for _, p := range ini.Spec.Partners {
		if p.Name != ds.Spec.Partner {
			partners = append(partners, p)
		}
	}
	ini.Spec.Partners = partners
	if err := k8s.Patch(ctx, ini, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Stalled and suspended", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionStalled, metav1.ConditionTrue); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cj), cj); err != nil {
			return err
		}
		if cj.Spec.Suspend == nil || !*cj.Spec.Suspend {
			return fmt.Errorf("CronJob suspend = %v", cj.Spec.Suspend)
		}
		return nil
	})
}

// TestDataSourceRunNowWaitsForRunningJob checks that a run-now request made while a Job of
// the DataSource runs starts nothing until that Job finishes (concurrencyPolicy Forbid, for
// requests too), and then runs once.
func TestDataSourceRunNowWaitsForRunningJob(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)

	const first, second = "2026-12-05T11:00:00Z", "2026-12-05T11:05:00Z"
	requestRun(t, ds, first)
	job := waitJob(t, ns, runNowJobName(ds, first))
	eventually(t, "the first request handled", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		if got.Status.LastHandledRequestedAt != first {
			return fmt.Errorf("lastHandledRequestedAt %q", got.Status.LastHandledRequestedAt)
		}
		ds = got
		return nil
	})

	// The second request, while the first Job runs: it waits, and says so.
	requestRun(t, ds, second)
	eventually(t, "the second request waiting", func() error {
		return wantEvent(ns, ds.Name, "the run requested at "+second+" waits for Job "+job.Name)
	})
	var jobs batchv1.JobList
	if err := k8s.List(ctx, &jobs, client.InNamespace(ns), client.MatchingLabels{LabelDataSource: ds.Name}); err != nil || len(jobs.Items) != 1 {
		t.Fatalf("%d Jobs while the first runs (%v), want 1", len(jobs.Items), err)
	}
	if got, err := getDataSource(ns, ds.Name); err != nil || got.Status.LastHandledRequestedAt != first {
		t.Fatalf("lastHandledRequestedAt while the first Job runs: %v, %v", got.Status.LastHandledRequestedAt, err)
	}

	// The first Job ends: the second request runs, once.
	if err := finishJob(t, job); err != nil {
		t.Fatalf("ingesting: %v", err)
	}
	waitJob(t, ns, runNowJobName(ds, second))
	eventually(t, "the second request handled", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err != nil {
			return err
		}
		if got.Status.LastHandledRequestedAt != second {
			return fmt.Errorf("lastHandledRequestedAt %q", got.Status.LastHandledRequestedAt)
		}
		return nil
	})
	if err := k8s.List(ctx, &jobs, client.InNamespace(ns), client.MatchingLabels{LabelDataSource: ds.Name}); err != nil || len(jobs.Items) != 2 {
		t.Errorf("%d Jobs after two requests (%v), want 2", len(jobs.Items), err)
	}
}

// TestDataSourceRunNowHistory checks that finished run-now Jobs are kept as the CronJob's
// history limits keep its own: the three newest; the older ones are deleted.
func TestDataSourceRunNowHistory(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)

	var names []string
	for i := range 5 {
		at := fmt.Sprintf("2026-12-05T12:0%d:00Z", i)
		eventually(t, "the DataSource in the cache", func() error {
			got, err := getDataSource(ns, ds.Name)
			if err != nil {
				return err
			}
			if i > 0 && got.Status.LastHandledRequestedAt != names[i-1] {
				return fmt.Errorf("lastHandledRequestedAt %q", got.Status.LastHandledRequestedAt)
			}
			ds = got
			return nil
		})
		requestRun(t, ds, at)
		job := waitJob(t, ns, runNowJobName(ds, at))
		if err := finishJob(t, job); err != nil {
			t.Fatalf("ingesting: %v", err)
		}
		names = append(names, at)
	}
	eventually(t, "three run-now Jobs kept", func() error {
		var jobs batchv1.JobList
		if err := k8s.List(ctx, &jobs, client.InNamespace(ns), client.MatchingLabels{LabelDataSource: ds.Name}); err != nil {
			return err
		}
		var kept []string
		for _, j := range jobs.Items {
			if j.DeletionTimestamp.IsZero() {
				kept = append(kept, j.Annotations[AnnotationRequestedAt])
			}
		}
		if len(kept) != runNowHistory || !slices.Contains(kept, names[4]) {
			return fmt.Errorf("Jobs of the requests %v, want %d, the newest (%s) among them", kept, runNowHistory, names[4])
		}
		return nil
	})
}

// A DataSource's CronJob is written when its spec changes or someone else changed it,
// not at every reconciliation: the API server's defaults make the spec written differ
// from the one read back.
func TestCronJobWrittenOnlyWhenChanged(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)
	key := client.ObjectKey{Namespace: ns, Name: ds.Name}
	cachedCronJob := func(gen int64) func() error {
		return func() error {
			cj := &batchv1.CronJob{}
			if err := testMgr.GetClient().Get(ctx, key, cj); err != nil {
				return err
			}
			if cj.Generation < gen {
				return fmt.Errorf("generation %d in the cache, want %d", cj.Generation, gen)
			}
			return nil
		}
	}
	eventually(t, "the CronJob in the manager's cache", cachedCronJob(1))

	updates := 0
	r := &DataSourceReconciler{
		Client: updateCounting{Client: testMgr.GetClient(), kind: &batchv1.CronJob{}, n: &updates}, Recorder: testMgr.GetEventRecorder("test"),
		Store: testStore, Jobs: jobOpts, Plan: plan.IngestOptions{AllowFileLocations: true, BaseDir: samples},
		cronJobs: newCronJobWrites(cronJobsKept),
	}
	// The suite's manager reconciles the same DataSource: a write of this reconciler can
	// meet a CronJob that manager just wrote. Like the work queue, try again on a conflict.
	reconcile := func() {
		t.Helper()
		for try := 0; ; try++ {
			_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
			if err == nil {
				return
			}
			if !apierrors.IsConflict(err) || try == 20 {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	reconcile() // nothing remembered: written once
	if updates != 1 {
		t.Fatalf("%d CronJob updates by a reconciler that remembered nothing, want 1", updates)
	}
	reconcile()
	reconcile()
	if updates != 1 {
		t.Errorf("%d CronJob updates after two more reconciliations of an unchanged DataSource, want still 1", updates)
	}

	// Someone else changes the CronJob: it is written back.
	cj := &batchv1.CronJob{}
	if err := k8s.Get(ctx, key, cj); err != nil {
		t.Fatal(err)
	}
	cj.Spec.StartingDeadlineSeconds = ptr.To[int64](5)
	if err := k8s.Update(ctx, cj); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the changed CronJob in the manager's cache", cachedCronJob(cj.Generation))
	reconcile()
	if updates != 2 {
		t.Errorf("%d CronJob updates after someone else changed it, want 2", updates)
	}
	eventually(t, "the CronJob's spec written back", func() error {
		if err := k8s.Get(ctx, key, cj); err != nil {
			return err
		}
		if d := cj.Spec.StartingDeadlineSeconds; d == nil || *d != 600 {
			return fmt.Errorf("starting deadline %v, want 600", d)
		}
		return nil
	})
}

// updateCounting counts the updates of objects of one kind that the API server accepted
// through the client it wraps.
type updateCounting struct {
	client.Client
	kind client.Object
	n    *int
}

func (c updateCounting) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	err := c.Client.Update(ctx, obj, opts...)
	if err == nil && fmt.Sprintf("%T", obj) == fmt.Sprintf("%T", c.kind) {
		*c.n++
	}
	return err
}
