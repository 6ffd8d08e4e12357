package controllers

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

func getIndicator(namespace, name string) (*impactv1.Indicator, error) {
	ind := &impactv1.Indicator{}
	return ind, k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, ind)
}

// TestIndicatorStalled checks that an Indicator naming a column its source lacks stalls with
// a message naming the field, is left out of the aggregation, and is computed once fixed.
func TestIndicatorStalled(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)
	ind := &impactv1.Indicator{}
	loadSample(t, "indicator-readiness-score.yaml", ind, ns)
	column := ind.Spec.Measure.Numerator.Column
	ind.Spec.Measure.Numerator.Column = "no_such_column"
	create(t, ind)
	eventually(t, "Stalled", func() error {
		got, err := getIndicator(ns, ind.Name)
		if err != nil {
			return err
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionStalled, metav1.ConditionTrue); err != nil {
			return err
		}
		c := condition(got.Status.Conditions, impactv1.ConditionStalled)
		if !strings.Contains(c.Message, "spec.measure.numerator.column") || !strings.Contains(c.Message, "no_such_column") {
			return fmt.Errorf("message %q names neither the field nor the column", c.Message)
		}
		return wantEvent(ns, ind.Name, "no_such_column")
	})
	ingestWithoutAggregation(t, ds, "2026-12-05T13:00:00Z", "an Initiative whose only Indicator cannot succeed")

	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ind), ind); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ind.DeepCopy())
	ind.Spec.Measure.Numerator.Column = column
	if err := k8s.Patch(ctx, ind, patch); err != nil {
		t.Fatal(err)
	}
	jobName := onlyAggregationJob(t, ns)
	if err := finishJob(t, waitJob(t, ns, jobName)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ready after the fix", func() error {
		got, err := getIndicator(ns, ind.Name)
		if err != nil {
			return err
		}
		if condition(got.Status.Conditions, impactv1.ConditionStalled) != nil {
			return fmt.Errorf("still Stalled: %+v", got.Status.Conditions)
		}
		if got.Status.Headline == nil || got.Status.Headline.Period == "" {
			return fmt.Errorf("no headline: %+v", got.Status)
		}
		return wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionTrue)
	})
}

// TestAggregationFollowsChange checks that a plan changed while its aggregation Job runs is
// followed by a new Job, and that the Indicator publishes the newer result.
func TestAggregationFollowsChange(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)
	ind := &impactv1.Indicator{}
	loadSample(t, "indicator-readiness-score.yaml", ind, ns)
	create(t, ind)
	const at = "2026-12-05T15:00:00Z"
	requestRun(t, ds, at)
	if err := finishJob(t, waitJob(t, ns, runNowJobName(ds, at))); err != nil {
		t.Fatal(err)
	}
	var first string
	eventually(t, "first aggregation Job", func() error {
		jobs := aggregationJobs(t, ns)
		if len(jobs) != 1 {
			return fmt.Errorf("%d aggregation Jobs", len(jobs))
		}
		first = jobs[0].Name
		return nil
	})
	// The spec changes while the first Job runs.
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ind), ind); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ind.DeepCopy())
	ind.Spec.Privacy = &impactv1.PrivacySpec{MinCellSize: ptrInt32(25)}
	if err := k8s.Patch(ctx, ind, patch); err != nil {
		t.Fatal(err)
	}
	var second string
	eventually(t, "second aggregation Job", func() error {
		for _, j := range aggregationJobs(t, ns) {
			if j.Name != first {
				second = j.Name
				return nil
			}
		}
		return fmt.Errorf("no Job after %s", first)
	})
	if err := finishJob(t, waitJob(t, ns, first)); err != nil {
		t.Fatal(err)
	}
	if err := finishJob(t, waitJob(t, ns, second)); err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, ns, second)
	eventually(t, "the newer result in status", func() error {
		got, err := getIndicator(ns, ind.Name)
		if err != nil {
			return err
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionReady, metav1.ConditionTrue); err != nil {
			return err
		}
		if got.Status.EffectiveMinCellSize != 25 || got.Status.Result == nil || !strings.HasSuffix(got.Status.Result.URI, strings.TrimPrefix(job.Annotations[AnnotationResultID], "sha256:")+".json") {
			return fmt.Errorf("minCellSize %d, result %+v; want 25 and %s", got.Status.EffectiveMinCellSize, got.Status.Result, job.Annotations[AnnotationResultID])
		}
		return nil
	})
}

func ptrInt32(v int32) *int32 { return &v }

// TestAggregationFailed checks that a failed aggregation Job's error reaches the Initiative
// and its Indicators, with an Event: here the snapshot the plan pins is gone from the store.
func TestAggregationFailed(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)
	ind := &impactv1.Indicator{}
	loadSample(t, "indicator-readiness-score.yaml", ind, ns)
	create(t, ind)
	const at = "2026-12-05T16:00:00Z"
	requestRun(t, ds, at)
	if err := finishJob(t, waitJob(t, ns, runNowJobName(ds, at))); err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	eventually(t, "aggregation Job", func() error {
		jobs := aggregationJobs(t, ns)
		if len(jobs) != 1 {
			return fmt.Errorf("%d aggregation Jobs", len(jobs))
		}
		job = jobs[0]
		return nil
	})
	man := readLatest(t, ns, ini.Name, ds.Name)
	file, ok := testStore.LocalPath(layout.SnapshotManifestKey(ns, ini.Name, ds.Name, man.ID))
	if !ok {
		t.Fatal("the test store is not local")
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := finishJob(t, &job); err == nil {
		t.Fatal("the aggregation succeeded without its snapshot")
	}
	eventually(t, "failure in the Initiative's and the Indicator's status", func() error {
		got := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), got); err != nil {
			return err
		}
		gotInd, err := getIndicator(ns, ind.Name)
		if err != nil {
			return err
		}
		for kind, conds := range map[string][]metav1.Condition{"Initiative": got.Status.Conditions, "Indicator": gotInd.Status.Conditions} {
			c := condition(conds, impactv1.ConditionReady)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonJobFailed || !strings.Contains(c.Message, "is not in the store") || !strings.Contains(c.Message, job.Name) {
				return fmt.Errorf("%s Ready %+v", kind, c)
			}
		}
		return wantEvent(ns, ini.Name, "is not in the store")
	})
}

// ingestWithoutAggregation runs ds now (at: the request's time), waits for its snapshot and
// checks that no aggregation Job starts in its namespace, for the reason why.
func ingestWithoutAggregation(t *testing.T, ds *impactv1.DataSource, at, why string) {
	t.Helper()
	ns := ds.Namespace
	requestRun(t, ds, at)
	if err := finishJob(t, waitJob(t, ns, runNowJobName(ds, at))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "snapshot", func() error {
		got, err := getDataSource(ns, ds.Name)
		if err == nil && got.Status.Snapshot == nil {
			err = fmt.Errorf("no snapshot yet")
		}
		return err
	})
	time.Sleep(time.Second) // time for a wrong Job to appear
	if jobs := aggregationJobs(t, ns); len(jobs) != 0 {
		t.Fatalf("an aggregation Job started for %s: %s", why, jobs[0].Name)
	}
}

// onlyAggregationJob waits until ns holds exactly one aggregation Job and returns its name.
func onlyAggregationJob(t *testing.T, ns string) string {
	t.Helper()
	var name string
	eventually(t, "aggregation Job", func() error {
		jobs := aggregationJobs(t, ns)
		if len(jobs) != 1 {
			return fmt.Errorf("%d aggregation Jobs", len(jobs))
		}
		name = jobs[0].Name
		return nil
	})
	return name
}
