package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/store/layout"
	"github.com/backbone-dev/backbone/internal/version"
)

// samplesPlan returns the samples' Initiative of ns and, once every Indicator is in it, the
// aggregation the manager plans for it (its Job named, not yet run).
func samplesPlan(t *testing.T, ns string, m *local.Manifests) (*impactv1.Initiative, *aggregation) {
	t.Helper()
	ctx := context.Background()
	ini := &impactv1.Initiative{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Initiatives[0].Name}, ini); err != nil {
		t.Fatal(err)
	}
	var a *aggregation
	eventually(t, "aggregation plan of every indicator", func() error {
		var err error
		if a, err = compileAggregation(ctx, testMgr.GetClient(), ini, testAggregate, nil); err != nil {
			return err
		}
		if len(a.Plan.Indicators) != len(m.Indicators) {
			return fmt.Errorf("%d of %d indicators planned (waiting %v, errors %v)", len(a.Plan.Indicators), len(m.Indicators), a.Waiting, a.Errors)
		}
		return nil
	})
	return ini, a
}

// applySamples creates the objects of config/samples in a namespace and ingests every
// DataSource through a run-now Job.
func applySamples(t *testing.T, ns string) *local.Manifests {
	t.Helper()
	ctx := context.Background()
	m, err := local.Load(ctx, samples, ns)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Initiatives {
		create(t, m.Initiatives[i].DeepCopy())
	}
	for i := range m.DataSources {
		create(t, m.DataSources[i].DeepCopy())
	}
	for i := range m.Indicators {
		create(t, m.Indicators[i].DeepCopy())
	}
	const at = "2026-12-05T09:00:00Z"
	for i := range m.DataSources {
		ds := &impactv1.DataSource{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(&m.DataSources[i]), ds); err != nil {
			t.Fatal(err)
		}
		requestRun(t, ds, at)
		job := waitJob(t, ns, runNowJobName(ds, at))
		if err := finishJob(t, job); err != nil {
			t.Fatalf("ingesting %s: %v", ds.Name, err)
		}
	}
	for _, ds := range m.DataSources {
		eventually(t, "snapshot of "+ds.Name, func() error {
			got, err := getDataSource(ns, ds.Name)
			if err != nil {
				return err
			}
			if got.Status.Snapshot == nil {
				return fmt.Errorf("no snapshot (%+v)", got.Status.Conditions)
			}
			return nil
		})
	}
	return m
}

func aggregationJobs(t *testing.T, ns string) []batchv1.Job {
	t.Helper()
	var jobs batchv1.JobList
	if err := k8s.List(context.Background(), &jobs, client.InNamespace(ns), client.MatchingLabels{LabelComponent: "aggregate"}); err != nil {
		t.Fatal(err)
	}
	return jobs.Items
}

// TestSamplesAggregation runs config/samples through the controllers: ingestion Jobs, one
// aggregation Job named from the plan's hash, never started twice (also by a new
// reconciler, as after a restart), and Indicator status equal to what `backbone local`
// computes from the same files.
func TestSamplesAggregation(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	m := applySamples(t, ns)
	ini, a := samplesPlan(t, ns, m)
	id, err := a.Plan.Hash(version.Engine())
	if err != nil {
		t.Fatal(err)
	}
	if want := ini.Name + "-agg-" + layout.HexOf(id)[:10]; a.JobName != want || a.ID != id {
		t.Fatalf("Job %q for result %s, want %q", a.JobName, a.ID, want)
	}
	job := waitJob(t, ns, a.JobName)
	if job.Annotations[AnnotationResultID] != id || job.OwnerReferences[0].Name != ini.Name {
		t.Errorf("Job annotations %v, owners %+v", job.Annotations, job.OwnerReferences)
	}
	if got := strings.Join(append(job.Spec.Template.Spec.Containers[0].Command, job.Spec.Template.Spec.Containers[0].Args...), " "); got != "backbone-job aggregate --plan "+PlanFile+" --store "+storeURL {
		t.Errorf("aggregation command %q", got)
	}

	// The plan goes with its Job.
	eventually(t, "plan ConfigMap owned by the Job", func() error {
		cm := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: job.Name}, cm); err != nil {
			return err
		}
		if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].Kind != "Job" || cm.OwnerReferences[0].UID != job.UID {
			return fmt.Errorf("ConfigMap owners %+v", cm.OwnerReferences)
		}
		return nil
	})

	// A new reconciler (a restarted manager) finds the running Job and starts nothing; it
	// hands the plan to the Job when the manager before it stopped before doing so.
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: job.Name}, cm); err != nil {
		t.Fatal(err)
	}
	handed := cm.ResourceVersion
	patch := client.MergeFrom(cm.DeepCopy())
	cm.OwnerReferences = nil
	if err := controllerutil.SetControllerReference(ini, cm, k8s.Scheme()); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Patch(ctx, cm, patch); err != nil {
		t.Fatal(err)
	}
	// The suite's own manager may hand it over again first: the cache has seen the patch
	// once its version moved on.
	eventually(t, "the plan ConfigMap's change in the cache", func() error {
		cached := &corev1.ConfigMap{}
		if err := testMgr.GetClient().Get(ctx, client.ObjectKeyFromObject(cm), cached); err != nil {
			return err
		}
		if cached.ResourceVersion == handed {
			return fmt.Errorf("version %s, owners %+v", cached.ResourceVersion, cached.OwnerReferences)
		}
		return nil
	})
	fresh := &InitiativeReconciler{Client: testMgr.GetClient(), Recorder: testMgr.GetEventRecorder("test"), Store: testStore, Jobs: jobOpts}
	before := len(aggregationJobs(t, ns))
	if _, err := fresh.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ini)}); err != nil {
		t.Fatal(err)
	}
	if after := len(aggregationJobs(t, ns)); after != before {
		t.Fatalf("a new reconciler started %d more aggregation Jobs", after-before)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != job.UID {
		t.Errorf("the plan ConfigMap after a new reconciler: owners %+v, want the Job", cm.OwnerReferences)
	}

	if err := finishJob(t, job); err != nil {
		t.Fatalf("aggregating: %v", err)
	}

	// What `backbone local` computes from the same files, as of the same date, into another store.
	other, out := localRun(t, m, a)
	if got := path.Base(out.ResultKeys[0]); got != layout.HexOf(id)+".json" {
		t.Fatalf("backbone local computed result %s, the controller %s", got, id)
	}
	_, want, err := result.Read(ctx, other, out.ResultKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	headlines := 0
	for _, ir := range want.Indicators {
		if ir.Headline != nil && ir.Headline.Value != nil {
			headlines++
		}
	}
	if headlines == 0 {
		t.Fatal("backbone local computed no headline value for the samples: nothing to compare")
	}
	for _, ir := range want.Indicators {
		eventually(t, "status of Indicator "+ir.Name, func() error {
			ind := &impactv1.Indicator{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: ir.Name}, ind); err != nil {
				return err
			}
			if err := wantCondition(ind.Status.Conditions, impactv1.ConditionReady, metav1.ConditionTrue); err != nil {
				return err
			}
			st := ind.Status
			if st.Result == nil || !strings.HasSuffix(st.Result.URI, layout.HexOf(id)+".json") {
				return fmt.Errorf("result %+v, want %s", st.Result, id)
			}
			if h := headline(ir.Headline); !reflect.DeepEqual(st.Headline, h) {
				return fmt.Errorf("headline %+v, backbone local's %+v", st.Headline, h)
			}
			if e := equity(&ir); !reflect.DeepEqual(st.Equity, e) {
				return fmt.Errorf("equity %+v, backbone local's %+v", st.Equity, e)
			}
			if st.EffectiveMinCellSize != int32(ir.MinCellSize) || st.LastRunTime == nil || st.ObservedGeneration != ind.Generation {
				return fmt.Errorf("minCellSize %d (want %d), lastRunTime %v, observedGeneration %d", st.EffectiveMinCellSize, ir.MinCellSize, st.LastRunTime, st.ObservedGeneration)
			}
			for _, src := range indicatorSources(ind) {
				if !slices.Contains(st.Result.Inputs, impactv1.SnapshotID(want.Inputs[src])) {
					return fmt.Errorf("result inputs %v lack %s's snapshot %s", st.Result.Inputs, src, want.Inputs[src])
				}
			}
			if ir.OnTrack != nil && condition(st.Conditions, impactv1.ConditionOnTrack) == nil {
				return fmt.Errorf("no OnTrack condition")
			}
			return nil
		})
	}

	eventually(t, "Initiative status", func() error {
		got := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), got); err != nil {
			return err
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionTrue); err != nil {
			return err
		}
		n := int32(len(m.Indicators))
		c := got.Status.Indicators
		var onTrack int32
		for _, ir := range want.Indicators {
			if ir.OnTrack != nil && ir.OnTrack.Judged && ir.OnTrack.OnTrack {
				onTrack++
			}
		}
		if c.Total != n || c.Ready != n || c.OnTrack != onTrack || c.Summary != fmt.Sprintf("%d/%d", n, n) {
			return fmt.Errorf("indicator counts %+v", c)
		}
		if got.Status.Partners != int32(len(ini.Spec.Partners)) || !slices.IsSorted(got.Status.Sectors) || len(got.Status.Sectors) == 0 {
			return fmt.Errorf("partners %d, sectors %v", got.Status.Partners, got.Status.Sectors)
		}
		return nil
	})

	// The Job gone (its TTL), a new reconciler finds the result in the store: no new Job.
	if err := k8s.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Job deleted", func() error {
		for _, j := range aggregationJobs(t, ns) {
			if j.Name == job.Name && j.DeletionTimestamp == nil {
				return fmt.Errorf("still there")
			}
		}
		return nil
	})
	if _, err := fresh.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ini)}); err != nil {
		t.Fatal(err)
	}
	j := &batchv1.Job{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(job), j); err == nil && j.DeletionTimestamp == nil {
		t.Errorf("Job %s was started again for a result the store holds", job.Name)
	}
}

// A new Initiative whose DataSources are all being ingested starts no aggregation Job
// while an Indicator waits for the first snapshot of a source whose Job runs: it is
// Reconciling with reason WaitingForIngestion, naming those sources; once every Job has
// finished and its snapshot landed, one aggregation computes every Indicator.
func TestAggregationWaitsForIngestion(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	m, err := local.Load(ctx, samples, ns)
	if err != nil {
		t.Fatal(err)
	}
	create(t, m.Initiatives[0].DeepCopy())
	for i := range m.DataSources {
		create(t, m.DataSources[i].DeepCopy())
	}
	for i := range m.Indicators {
		create(t, m.Indicators[i].DeepCopy())
	}
	const at = "2026-12-05T10:00:00Z"
	var jobs []*batchv1.Job
	for i := range m.DataSources {
		ds, err := getDataSource(ns, m.DataSources[i].Name)
		if err != nil {
			t.Fatal(err)
		}
		requestRun(t, ds, at)
		jobs = append(jobs, waitJob(t, ns, runNowJobName(ds, at)))
	}
	// The kindergarten source alone lets three Indicators be computed.
	slices.SortStableFunc(jobs, func(a, b *batchv1.Job) int {
		return strings.Compare(strings.TrimPrefix(a.Labels[LabelDataSource], "ncusd-kindergarten"), strings.TrimPrefix(b.Labels[LabelDataSource], "ncusd-kindergarten"))
	})
	first := jobs[0].Labels[LabelDataSource]
	if first != "ncusd-kindergarten" {
		t.Fatalf("first Job of %s, want ncusd-kindergarten", first)
	}
	if err := finishJob(t, jobs[0]); err != nil {
		t.Fatal(err)
	}
	eventually(t, "snapshot of "+first, func() error {
		ds, err := getDataSource(ns, first)
		if err != nil {
			return err
		}
		if ds.Status.Snapshot == nil {
			return fmt.Errorf("no snapshot yet")
		}
		return nil
	})
	ini := &impactv1.Initiative{}
	eventually(t, "the Initiative waiting for the ingestion", func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Initiatives[0].Name}, ini); err != nil {
			return err
		}
		c := condition(ini.Status.Conditions, impactv1.ConditionReconciling)
		if c == nil || c.Reason != ReasonWaitingForIngestion {
			return fmt.Errorf("Reconciling %+v", c)
		}
		for _, j := range jobs[1:] {
			if !strings.Contains(c.Message, j.Labels[LabelDataSource]) {
				return fmt.Errorf("message %q does not name %s", c.Message, j.Labels[LabelDataSource])
			}
		}
		return nil
	})
	// It goes on waiting: nothing starts an aggregation meanwhile.
	time.Sleep(2 * time.Second)
	if got := aggregationJobs(t, ns); len(got) != 0 {
		t.Fatalf("%d aggregation Jobs started while the other sources were ingested", len(got))
	}

	for _, j := range jobs[1:] {
		if err := finishJob(t, j); err != nil {
			t.Fatalf("ingesting %s: %v", j.Labels[LabelDataSource], err)
		}
	}
	var agg []batchv1.Job
	eventually(t, "one aggregation Job", func() error {
		if agg = aggregationJobs(t, ns); len(agg) == 0 {
			return fmt.Errorf("no aggregation Job yet")
		}
		return nil
	})
	// Had a partial plan been started, the Job of the whole plan would come second.
	time.Sleep(time.Second)
	if agg = aggregationJobs(t, ns); len(agg) != 1 {
		t.Fatalf("%d aggregation Jobs, want the one of the whole plan", len(agg))
	}
	var p struct {
		Indicators []struct {
			Name string `json:"name"`
		} `json:"indicators"`
	}
	jobPlanLoose(t, &agg[0], &p)
	if len(p.Indicators) != len(m.Indicators) {
		t.Errorf("the aggregation computes %d Indicators, want all %d", len(p.Indicators), len(m.Indicators))
	}
}

// jobPlanLoose reads the plan a Job runs, keeping only the fields v names.
func jobPlanLoose(t *testing.T, job *batchv1.Job, v any) {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: job.Namespace, Name: job.Name}, cm); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(cm.Data[PlanKey]), v); err != nil {
		t.Fatalf("plan of Job %s: %v", job.Name, err)
	}
}

// localRun runs `backbone local` on the manifests m into a store of its own, as of the date
// of the operator's aggregation a, and returns that store and its output.
func localRun(t *testing.T, m *local.Manifests, a *aggregation) (*store.Store, *local.Output) {
	t.Helper()
	ctx := context.Background()
	other, err := store.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	asOf, err := time.Parse(time.DateOnly, a.Plan.AsOf)
	if err != nil {
		t.Fatal(err)
	}
	out, err := local.Run(ctx, m, local.Options{Store: other, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	return other, out
}
