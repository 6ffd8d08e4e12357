//go:build linux

package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/test/e2e"
)

// startManager runs `backbone manager` as a process for one namespace, with a file store
// in the work folder, file locations allowed and resolved against config/samples, and the
// extra flags. It returns the store folder.
func startManager(t *testing.T, c *e2e.Cluster, ns string, extra ...string) (string, *e2e.Process) {
	t.Helper()
	store := filepath.Join(c.TempDir(t), "store")
	args := []string{"manager",
		"--store", "file://" + store,
		"--allow-file-locations", "--file-root", samplesDir(c),
		"--watch-namespaces", ns,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
	}
	p := c.StartBackbone(t, "manager-"+ns, append(args, extra...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("backbone manager log: %s", p.LogPath)
		}
	})
	return store, p
}

// localCell is one line of `backbone local -o json`.
type localCell struct {
	Indicator  string            `json:"indicator"`
	Period     string            `json:"period"`
	Dimensions map[string]string `json:"dimensions"`
	Value      *float64          `json:"value"`
	N          *int64            `json:"n"`
	Suppressed bool              `json:"suppressed"`
}

// sameDecimal reports whether an API Decimal (four significant digits) is v rounded.
func sameDecimal(d impactv1.Decimal, v float64) bool {
	got, err := strconv.ParseFloat(string(d), 64)
	if err != nil {
		return false
	}
	if v == 0 {
		return got == 0
	}
	unit := math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-3)
	return math.Abs(got-v) <= unit/2*(1+1e-9)
}

// The operator end to end: `backbone manager` as a process, the samples applied with
// kubectl, every DataSource run now through the annotation, the ingestion and aggregation
// Jobs run by the CronJob/Job controllers and the process kubelet, every Indicator Ready
// with the headline `backbone local` computes from the same files (the same result id and
// checksum); then a deleted DataSource takes its CronJob, Jobs, Pods and plan with it, the
// Indicator that read it stalls and the rest converge to Ready again.
func TestOperatorSamples(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	_, mgr := startManager(t, c, ns)

	c.KubectlT(t, "apply", "-k", "config/samples", "-n", ns)
	const requested = "2026-12-05T12:00:00Z"
	c.KubectlT(t, "annotate", "datasources", "--all", "-n", ns, impactv1.RequestedAtAnnotation+"="+requested)
	if _, _, err := c.RunKubectl(ctx, "wait", "--for=condition=Ready", "indicators", "--all", "-n", ns, "--timeout=240s"); err != nil {
		describe(t, c, ns)
		t.Fatalf("%v\nmanager log: %s", err, mgr.LogPath)
	}

	// Every DataSource ran its run-now Job, owned by it, and holds its snapshot.
	samplesRan(t, c, ns, requested)

	// The Indicators hold what `backbone local` computes from the same files.
	sameAsLocal(t, c, ns)

	// A new request runs the source again: a second run-now Job, the request echoed.
	src := "county-births"
	const again = "2026-12-05T12:30:00Z"
	c.KubectlT(t, "annotate", "--overwrite", "datasource", src, "-n", ns, impactv1.RequestedAtAnnotation+"="+again)
	var jobs batchv1.JobList
	eventually(t, 90*time.Second, "a second run of "+src, func() (bool, error) {
		ds := &impactv1.DataSource{}
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: src}, ds); err != nil {
			return false, err
		}
		if err := c.Client.List(ctx, &jobs, client.InNamespace(ns), client.MatchingLabels{"impact.backbone.dev/datasource": src}); err != nil {
			return false, err
		}
		complete := 0
		for _, j := range jobs.Items {
			for _, jc := range j.Status.Conditions {
				if jc.Type == batchv1.JobComplete && jc.Status == corev1.ConditionTrue {
					complete++
				}
			}
		}
		return ds.Status.LastHandledRequestedAt == again && complete == 2, fmt.Errorf("lastHandledRequestedAt %q, %d Jobs, %d complete", ds.Status.LastHandledRequestedAt, len(jobs.Items), complete)
	})
	if len(jobs.Items) != 2 {
		t.Errorf("%d Jobs of %s after two requests, want 2", len(jobs.Items), src)
	}

	// Deleting a DataSource takes its CronJob, its Jobs, their Pods and its plan with it.
	owned := []client.Object{
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: src}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: src + "-plan"}},
	}
	for _, j := range jobs.Items {
		owned = append(owned, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: j.Name}})
		for _, p := range jobPods(t, c, ns, j.Name) {
			owned = append(owned, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.Name}})
		}
	}
	for _, o := range owned {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatalf("before deleting the DataSource: %T %s: %v", o, o.GetName(), err)
		}
	}
	c.KubectlT(t, "delete", "datasource", src, "-n", ns)
	for _, o := range owned {
		gone(t, c, o, 60*time.Second)
	}

	var indicators impactv1.IndicatorList
	// The Indicator that read it stalls, naming the missing DataSource; the others, and the
	// Initiative computed without it, are Ready again.
	eventually(t, 120*time.Second, "status converged after deleting "+src, func() (bool, error) {
		if err := c.Client.List(ctx, &indicators, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, ind := range indicators.Items {
			st := ind.Status
			if ind.Name == "early-prenatal-care" {
				stalled := meta.FindStatusCondition(st.Conditions, impactv1.ConditionStalled)
				if stalled == nil || stalled.Status != metav1.ConditionTrue || !strings.Contains(stalled.Message, "spec.measure.") || !strings.Contains(stalled.Message, `DataSource "`+src+`" not found`) {
					return false, fmt.Errorf("Indicator %s: %+v", ind.Name, st.Conditions)
				}
				continue
			}
			if !meta.IsStatusConditionTrue(st.Conditions, impactv1.ConditionReady) || st.ObservedGeneration != ind.Generation {
				return false, fmt.Errorf("Indicator %s: %+v", ind.Name, st.Conditions)
			}
		}
		ini := &impactv1.Initiative{}
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ready-by-five"}, ini); err != nil {
			return false, err
		}
		if !meta.IsStatusConditionTrue(ini.Status.Conditions, impactv1.ConditionReady) || ini.Status.Indicators.Summary != "7/8" {
			return false, fmt.Errorf("Initiative: indicators %+v, conditions %+v", ini.Status.Indicators, ini.Status.Conditions)
		}
		return true, nil
	})

	// The manager ran throughout and stops cleanly on SIGTERM.
	if err := mgr.Stop(); err != nil {
		t.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
}

// samplesRan checks that the five sample DataSources of ns are Ready, echo the run-now
// request and hold a snapshot with rows, and returns them.
func samplesRan(t *testing.T, c *e2e.Cluster, ns, requested string) []impactv1.DataSource {
	t.Helper()
	var sources impactv1.DataSourceList
	if err := c.Client.List(t.Context(), &sources, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(sources.Items) != 5 {
		t.Fatalf("%d DataSources, want the 5 samples", len(sources.Items))
	}
	for _, ds := range sources.Items {
		if ds.Status.LastHandledRequestedAt != requested || ds.Status.Snapshot == nil || ds.Status.Snapshot.Rows == 0 {
			t.Errorf("DataSource %s: lastHandledRequestedAt %q, snapshot %+v", ds.Name, ds.Status.LastHandledRequestedAt, ds.Status.Snapshot)
		}
		if !meta.IsStatusConditionTrue(ds.Status.Conditions, impactv1.ConditionReady) {
			t.Errorf("DataSource %s not Ready: %+v", ds.Name, ds.Status.Conditions)
		}
	}
	return sources.Items
}

// sameAsLocal checks the Indicators of ns against `backbone local` on the samples' files,
// in the same namespace, as of the date the operator's aggregation plan used: every
// Indicator holds local's result (the same id and checksum) and every headline equals
// local's total for its period; every DataSource's snapshot is local's (the same content
// hash), wherever the operator's Jobs read the data from.
func sameAsLocal(t *testing.T, c *e2e.Cluster, ns string) {
	t.Helper()
	ctx := t.Context()
	var plans corev1.ConfigMapList
	if err := c.Client.List(ctx, &plans, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/component": "aggregate"}); err != nil {
		t.Fatal(err)
	}
	if len(plans.Items) == 0 {
		t.Fatal("no aggregation plan ConfigMap")
	}
	var aggPlan struct {
		AsOf string `json:"asOf"`
	}
	if err := json.Unmarshal([]byte(plans.Items[len(plans.Items)-1].Data["plan.json"]), &aggPlan); err != nil || aggPlan.AsOf == "" {
		t.Fatalf("aggregation plan asOf %q: %v", aggPlan.AsOf, err)
	}
	localStore := filepath.Join(c.TempDir(t), "store")
	out := backboneLocal(t, c, localStore, filepath.Join(c.TempDir(t), "plans"), "-n", ns, "--as-of", aggPlan.AsOf, "-o", "json")
	totals := map[string]localCell{} // indicator/period → the total cell
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var cell localCell
		if err := json.Unmarshal(sc.Bytes(), &cell); err != nil {
			t.Fatalf("backbone local line %q: %v", sc.Text(), err)
		}
		if len(cell.Dimensions) == 0 {
			totals[cell.Indicator+"/"+cell.Period] = cell
		}
	}
	var localResult struct {
		ID          string `json:"id"`
		ParquetHash string `json:"parquetHash"`
	}
	b, err := os.ReadFile(filepath.Join(localStore, ns, "ready-by-five", "results", "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &localResult); err != nil {
		t.Fatal(err)
	}

	var indicators impactv1.IndicatorList
	if err := c.Client.List(ctx, &indicators, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(indicators.Items) != 8 {
		t.Fatalf("%d Indicators, want the 8 samples", len(indicators.Items))
	}
	compared := 0
	for _, ind := range indicators.Items {
		st := ind.Status
		if st.Result == nil || !strings.HasSuffix(st.Result.URI, strings.TrimPrefix(localResult.ID, "sha256:")+".json") || st.Result.Checksum != localResult.ParquetHash {
			t.Errorf("Indicator %s: result %+v, want backbone local's %s (checksum %s)", ind.Name, st.Result, localResult.ID, localResult.ParquetHash)
		}
		h := st.Headline
		if h == nil || h.Value == "" {
			continue // a suppressed or absent headline has nothing to compare
		}
		cell, ok := totals[ind.Name+"/"+h.Period]
		if !ok || cell.Value == nil || cell.N == nil {
			t.Errorf("Indicator %s: headline %+v, but backbone local has no total for period %s", ind.Name, h, h.Period)
			continue
		}
		if !sameDecimal(h.Value, *cell.Value) || h.N != *cell.N {
			t.Errorf("Indicator %s period %s: status value %s n %d, backbone local %v n %d", ind.Name, h.Period, h.Value, h.N, *cell.Value, *cell.N)
		}
		compared++
	}
	if compared == 0 {
		t.Fatal("no Indicator has a headline value: nothing compared")
	}
	t.Logf("%d Indicators' headlines equal backbone local's totals; result %s", compared, localResult.ID)

	var sources impactv1.DataSourceList
	if err := c.Client.List(ctx, &sources, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, ds := range sources.Items {
		var latest struct {
			ID string `json:"id"`
		}
		b, err := os.ReadFile(filepath.Join(localStore, ns, ds.Spec.InitiativeRef.Name, "sources", ds.Name, "latest.json"))
		if err == nil {
			err = json.Unmarshal(b, &latest)
		}
		if err != nil {
			t.Errorf("DataSource %s: backbone local's snapshot: %v", ds.Name, err)
			continue
		}
		if ds.Status.Snapshot == nil || ds.Status.Snapshot.ID != latest.ID {
			t.Errorf("DataSource %s: snapshot %+v, want backbone local's %s", ds.Name, ds.Status.Snapshot, latest.ID)
		}
	}
}

// A DataSource whose spec cannot compile against its Initiative (a column naming a
// dimension the Initiative does not declare) is Stalled with reason InvalidSpec and the
// field in the message; no CronJob is created for it.
func TestOperatorBadSpecStalls(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	_, mgr := startManager(t, c, ns)
	c.KubectlT(t, "apply", "-f", "config/samples/initiative.yaml", "-n", ns)
	bad := `apiVersion: impact.backbone.dev/v1alpha1
kind: DataSource
metadata:
  name: unknown-dimension
spec:
  initiativeRef: {name: ready-by-five}
  partner: county-health
  format: CSV
  location:
    file: {path: data/ncusd-kindergarten.csv}
  schema:
    columns:
    - {name: assessed_on, type: Date, required: true}
    - {name: shoe_size, type: String, dimension: shoe_size}
`
	f := filepath.Join(c.TempDir(t), "bad.yaml")
	if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	c.KubectlT(t, "apply", "-f", f, "-n", ns)
	if _, _, err := c.RunKubectl(ctx, "wait", "--for=condition=Stalled", "datasource/unknown-dimension", "-n", ns, "--timeout=60s"); err != nil {
		describe(t, c, ns)
		t.Fatalf("%v\nmanager log: %s", err, mgr.LogPath)
	}
	ds := &impactv1.DataSource{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "unknown-dimension"}, ds); err != nil {
		t.Fatal(err)
	}
	stalled := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionStalled)
	if stalled.Reason != "InvalidSpec" || !strings.Contains(stalled.Message, "shoe_size") {
		t.Errorf("Stalled %s: %q, want InvalidSpec naming shoe_size", stalled.Reason, stalled.Message)
	}
	if meta.IsStatusConditionTrue(ds.Status.Conditions, impactv1.ConditionReady) {
		t.Error("a Stalled DataSource is Ready")
	}
	var cronJobs batchv1.CronJobList
	if err := c.Client.List(ctx, &cronJobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(cronJobs.Items) != 0 {
		t.Errorf("%d CronJobs for a DataSource that cannot run, want none", len(cronJobs.Items))
	}
}

// describe logs the state of a namespace when an operator test fails.
func describe(t testing.TB, c *e2e.Cluster, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _, err := c.RunKubectl(ctx, "get", "backbone,cronjobs,jobs,pods,configmaps", "-n", ns, "-o", "wide")
	t.Logf("kubectl get -n %s:\n%s%v", ns, out, errOrNil(err))
	out, _, err = c.RunKubectl(ctx, "get", "datasources,indicators,initiatives", "-n", ns, "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.name}: {.status.conditions}{\"\\n\"}{end}")
	t.Logf("conditions:\n%s%v", out, errOrNil(err))
}

func errOrNil(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprint(err)
}
