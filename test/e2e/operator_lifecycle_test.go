//go:build linux

package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// The kindergarten part of the samples: the Initiative, the one DataSource and the three
// Indicators that read it. The lifecycle tests apply these alone, so each runs one
// ingestion and one aggregation per step.
var kindergartenManifests = []string{
	"initiative.yaml",
	"datasource-ncusd-kindergarten.yaml",
	"indicator-kindergarten-readiness.yaml",
	"indicator-kindergarteners-assessed.yaml",
	"indicator-readiness-score.yaml",
}

const kindergarten = "ncusd-kindergarten"

// startManagerAt runs `backbone manager` for one namespace as startManager does, with
// the store and the folder file locations resolve against given, so a second manager can
// take over the first one's store.
func startManagerAt(t *testing.T, c *e2e.Cluster, ns, name, store, fileRoot string) *e2e.Process {
	t.Helper()
	p := c.StartBackbone(t, name, "manager",
		"--store", "file://"+store,
		"--allow-file-locations", "--file-root", fileRoot,
		"--watch-namespaces", ns,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
	)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log: %s", name, p.LogPath)
		}
	})
	return p
}

// copyKindergarten copies the kindergarten manifests and data file into a fresh folder and
// returns it; edit, when set, changes the manifests (file is the manifest's name).
func copyKindergarten(t *testing.T, c *e2e.Cluster, edit func(file, content string) string) string {
	t.Helper()
	dir := c.TempDir(t)
	files := append(slices.Clone(kindergartenManifests), "data/ncusd-kindergarten.csv")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(samplesDir(c), f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".yaml") && edit != nil {
			b = []byte(edit(f, string(b)))
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// applyKindergarten applies the kindergarten manifests of dir with kubectl.
func applyKindergarten(t *testing.T, c *e2e.Cluster, ns, dir string) {
	t.Helper()
	args := []string{"apply", "-n", ns}
	for _, f := range kindergartenManifests {
		args = append(args, "-f", filepath.Join(dir, f))
	}
	c.KubectlT(t, args...)
}

// jobsOf lists the Jobs of a namespace with the labels.
func jobsOf(t *testing.T, c *e2e.Cluster, ns string, labels client.MatchingLabels) []batchv1.Job {
	t.Helper()
	var jobs batchv1.JobList
	if err := c.Client.List(context.Background(), &jobs, client.InNamespace(ns), labels); err != nil {
		t.Fatal(err)
	}
	return jobs.Items
}

var (
	aggregateJobs = client.MatchingLabels{"app.kubernetes.io/component": "aggregate"}
	ingestJobs    = client.MatchingLabels{"impact.backbone.dev/datasource": kindergarten}
)

func jobNames(jobs []batchv1.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	slices.Sort(out)
	return out
}

func jobComplete(j *batchv1.Job) bool {
	for _, jc := range j.Status.Conditions {
		if jc.Type == batchv1.JobComplete && jc.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// requestRun annotates the DataSource with a run-now request and waits until its Job has
// completed and the DataSource holds the snapshot it promoted; it returns the DataSource.
func requestRun(t *testing.T, c *e2e.Cluster, ns, requested string) *impactv1.DataSource {
	t.Helper()
	c.KubectlT(t, "annotate", "--overwrite", "datasource", kindergarten, "-n", ns, impactv1.RequestedAtAnnotation+"="+requested)
	ds := &impactv1.DataSource{}
	eventually(t, 150*time.Second, "the run requested at "+requested, func() (bool, error) {
		if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: kindergarten}, ds); err != nil {
			return false, err
		}
		var job *batchv1.Job
		for _, j := range jobsOf(t, c, ns, ingestJobs) {
			if j.Annotations["impact.backbone.dev/requestedAt"] == requested {
				job = &j
			}
		}
		if job == nil || !jobComplete(job) {
			return false, fmt.Errorf("no completed Job for the request yet (lastHandledRequestedAt %q)", ds.Status.LastHandledRequestedAt)
		}
		snap := ds.Status.Snapshot
		ready := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionReady)
		// The snapshot in status is the one this Job promoted once it is newer than the Job's start.
		if ds.Status.LastHandledRequestedAt != requested || snap == nil || snap.Time == nil || snap.Time.Before(job.Status.StartTime) ||
			ready == nil || ready.Status != metav1.ConditionTrue || ds.Status.ObservedGeneration != ds.Generation {
			return false, fmt.Errorf("lastHandledRequestedAt %q, snapshot %+v, Ready %+v", ds.Status.LastHandledRequestedAt, snap, ready)
		}
		return true, nil
	})
	return ds
}

// waitIndicatorsRead waits until every Indicator is Ready with a result read from the
// snapshot id, and the Initiative is Ready; it returns the Indicators by name.
func waitIndicatorsRead(t *testing.T, c *e2e.Cluster, ns, snapshot string) map[string]impactv1.Indicator {
	t.Helper()
	out := map[string]impactv1.Indicator{}
	eventually(t, 150*time.Second, "the Indicators computed from "+snapshot, func() (bool, error) {
		var list impactv1.IndicatorList
		if err := c.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		if len(list.Items) != 3 {
			return false, fmt.Errorf("%d Indicators", len(list.Items))
		}
		for _, ind := range list.Items {
			st := ind.Status
			if !meta.IsStatusConditionTrue(st.Conditions, impactv1.ConditionReady) || st.Result == nil || !slices.Contains(st.Result.Inputs, impactv1.SnapshotID(snapshot)) {
				return false, fmt.Errorf("Indicator %s: result %+v, conditions %+v", ind.Name, st.Result, st.Conditions)
			}
			out[ind.Name] = ind
		}
		ini := &impactv1.Initiative{}
		if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ready-by-five"}, ini); err != nil {
			return false, err
		}
		if !meta.IsStatusConditionTrue(ini.Status.Conditions, impactv1.ConditionReady) {
			return false, fmt.Errorf("Initiative conditions %+v", ini.Status.Conditions)
		}
		return true, nil
	})
	return out
}

// startKindergarten starts a manager of ns with a file store of its own and file
// locations resolved against root, applies the kindergarten part of the samples found
// there, and describes ns if the test fails. It returns the store's folder and the
// manager.
func startKindergarten(t *testing.T, c *e2e.Cluster, ns, root string) (string, *e2e.Process) {
	t.Helper()
	store := filepath.Join(c.TempDir(t), "store")
	mgr := startManagerAt(t, c, ns, "manager-"+ns, store, root)
	applyKindergarten(t, c, ns, root)
	t.Cleanup(func() {
		if t.Failed() {
			describe(t, c, ns)
		}
	})
	return store, mgr
}

// storedSnapshots lists the snapshot ids whose manifests are in a file store for the
// kindergarten source, and checks each one's Parquet file is there.
func storedSnapshots(t *testing.T, store, ns string) []string {
	t.Helper()
	dir := filepath.Join(store, ns, "ready-by-five", "sources", kindergarten)
	entries, err := os.ReadDir(filepath.Join(dir, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "data", hex+".parquet")); err != nil {
			t.Errorf("snapshot %s: %v", hex, err)
		}
		ids = append(ids, "sha256:"+hex)
	}
	data, err := os.ReadDir(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range data {
		if hex, ok := strings.CutSuffix(e.Name(), ".parquet"); ok && !slices.Contains(ids, "sha256:"+hex) {
			t.Errorf("data/%s is in the store without its snapshot's manifest", e.Name())
		}
	}
	slices.Sort(ids)
	return ids
}

// printedTable parses `kubectl get` output by the columns of its header: a cell may be
// empty, so rows are cut where the header's names start, not split on spaces.
func printedTable(t *testing.T, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	type col struct {
		name  string
		start int
	}
	var cols []col
	for i := 0; i < len(header); {
		if header[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(header) && !(header[j] == ' ' && (j+1 >= len(header) || header[j+1] == ' ')) {
			j++
		}
		cols = append(cols, col{header[i:j], i})
		i = j
	}
	var rows []map[string]string
	for _, l := range lines[1:] {
		row := map[string]string{}
		for k, cl := range cols {
			end := len(l)
			if k+1 < len(cols) && cols[k+1].start < end {
				end = cols[k+1].start
			}
			if cl.start < len(l) {
				row[cl.name] = strings.TrimSpace(l[cl.start:end])
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// A data manager's loop: run now, the data file changes, run now again, the same file
// again. A changed file gives a new snapshot, a new aggregation Job and new values in the
// Indicators' status; the unchanged file gives the same snapshot id and no aggregation
// Job. `kubectl get ind` prints the headline columns. The DataSource's retention (1)
// keeps the snapshot the latest result still reads, and removes it once the result has
// moved on. A fourth request deletes the oldest run-now Job and its Pod (history limit 3).
func TestOperatorRunNowNewInput(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	root := copyKindergarten(t, c, func(file, s string) string {
		if file != "datasource-ncusd-kindergarten.yaml" {
			return s
		}
		return strings.TrimRight(s, "\n") + "\n  retention: {snapshots: 1}\n"
	})
	store, mgr := startKindergarten(t, c, ns, root)

	ds := requestRun(t, c, ns, "2026-12-05T13:00:00Z")
	s1 := ds.Status.Snapshot.ID
	before := waitIndicatorsRead(t, c, ns, s1)
	agg1 := jobNames(jobsOf(t, c, ns, aggregateJobs))
	if len(agg1) != 1 {
		t.Fatalf("aggregation Jobs after the first run: %v, want one", agg1)
	}
	h1 := before["kindergarten-readiness"].Status.Headline
	if h1 == nil || h1.Value == "" || h1.Period == "" {
		t.Fatalf("kindergarten-readiness headline %+v", h1)
	}

	// `kubectl get ind` prints Value, Target, Gap, Period, Ready and Age from status.
	out := c.KubectlT(t, "get", "ind", "-n", ns)
	rows := printedTable(t, out)
	if len(rows) != 3 {
		t.Fatalf("kubectl get ind printed %d rows, want 3:\n%s", len(rows), out)
	}
	for _, name := range []string{"NAME", "VALUE", "TARGET", "GAP", "PERIOD", "READY", "AGE"} {
		if _, ok := rows[0][name]; !ok {
			t.Fatalf("kubectl get ind has no column %s:\n%s", name, out)
		}
	}
	for _, row := range rows {
		ind, ok := before[row["NAME"]]
		if !ok {
			t.Errorf("kubectl get ind printed %q, not an Indicator of the namespace", row["NAME"])
			continue
		}
		h := ind.Status.Headline
		target := ""
		if ind.Spec.Target != nil {
			target = string(ind.Spec.Target.Value)
		}
		want := map[string]string{"VALUE": string(h.Value), "TARGET": target, "GAP": string(h.Gap), "PERIOD": h.Period, "READY": "True"}
		for col, v := range want {
			if row[col] != v && !(v == "" && row[col] == "<none>") {
				t.Errorf("kubectl get ind: %s %s = %q, want %q\n%s", row["NAME"], col, row[col], v, out)
			}
		}
		if row["VALUE"] == "<none>" || !strings.HasSuffix(row["AGE"], "s") && !strings.HasSuffix(row["AGE"], "m") {
			t.Errorf("kubectl get ind: %s has value %q, age %q:\n%s", row["NAME"], row["VALUE"], row["AGE"], out)
		}
	}
	t.Logf("kubectl get ind -n %s:\n%s", ns, out)

	// The partner sends a corrected file: 200 more children of the headline cohort ready.
	csv := filepath.Join(root, "data", "ncusd-kindergarten.csv")
	b, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	changed := 0
	for i := 1; i < len(lines) && changed < 200; i++ {
		if strings.Contains(lines[i], ","+h1.Period[:4]+"-") && strings.Contains(lines[i], ",false,") {
			lines[i] = strings.Replace(lines[i], ",false,", ",true,", 1)
			changed++
		}
	}
	if changed != 200 {
		t.Fatalf("only %d rows of the %s cohort to change", changed, h1.Period)
	}
	if err := os.WriteFile(csv, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	ds = requestRun(t, c, ns, "2026-12-05T13:10:00Z")
	s2 := ds.Status.Snapshot.ID
	if s2 == s1 {
		t.Fatalf("the changed file gave the same snapshot %s", s1)
	}
	after := waitIndicatorsRead(t, c, ns, s2)
	agg2 := jobNames(jobsOf(t, c, ns, aggregateJobs))
	if len(agg2) != 2 || !slices.Contains(agg2, agg1[0]) {
		t.Fatalf("aggregation Jobs after the changed file: %v, want %v and one more", agg2, agg1)
	}
	h2 := after["kindergarten-readiness"].Status.Headline
	v1, _ := strconv.ParseFloat(string(h1.Value), 64)
	v2, _ := strconv.ParseFloat(string(h2.Value), 64)
	if h2.Period != h1.Period || !(v2 > v1) {
		t.Errorf("kindergarten-readiness after 200 more ready children: %s %s, before %s %s", h2.Period, h2.Value, h1.Period, h1.Value)
	}
	if r1, r2 := before["kindergarten-readiness"].Status.Result, after["kindergarten-readiness"].Status.Result; r1.URI == r2.URI || r1.Checksum == r2.Checksum {
		t.Errorf("the result did not change: %+v, then %+v", r1, r2)
	}
	// Retention 1, but the first snapshot was still read by the latest result when the
	// second was ingested: both are kept.
	if got := storedSnapshots(t, store, ns); !slices.Equal(got, sorted(s1, s2)) {
		t.Errorf("snapshots in the store after the second run: %v, want %v", got, sorted(s1, s2))
	}

	// The same file again: the same snapshot, no aggregation Job.
	ds = requestRun(t, c, ns, "2026-12-05T13:20:00Z")
	if s3 := ds.Status.Snapshot.ID; s3 != s2 {
		t.Fatalf("the unchanged file gave snapshot %s, want %s", s3, s2)
	}
	// The manager has seen the snapshot (its time changed); give the Initiative's
	// reconciler time to act on it, then count.
	time.Sleep(5 * time.Second)
	waitIndicatorsRead(t, c, ns, s2)
	if agg3 := jobNames(jobsOf(t, c, ns, aggregateJobs)); !slices.Equal(agg3, agg2) {
		t.Errorf("aggregation Jobs after the unchanged file: %v, want %v", agg3, agg2)
	}
	// Now the latest result reads the second snapshot: the first is gone.
	if got := storedSnapshots(t, store, ns); !slices.Equal(got, []string{s2}) {
		t.Errorf("snapshots in the store after the third run: %v, want [%s]", got, s2)
	}

	// A fourth request: the oldest run-now Job, beyond the history limit of three, is
	// deleted and its Pod with it.
	first := jobsOf(t, c, ns, ingestJobs)
	slices.SortFunc(first, func(a, b batchv1.Job) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	if len(first) != 3 || first[0].Annotations["impact.backbone.dev/requestedAt"] != "2026-12-05T13:00:00Z" {
		t.Fatalf("ingestion Jobs after three requests: %v", jobNames(first))
	}
	pods := jobPods(t, c, ns, first[0].Name)
	if len(pods) != 1 {
		t.Fatalf("Job %s has %d Pods", first[0].Name, len(pods))
	}
	requestRun(t, c, ns, "2026-12-05T13:30:00Z")
	gone(t, c, &first[0], 60*time.Second)
	gone(t, c, &pods[0], 60*time.Second)
	if got := jobsOf(t, c, ns, ingestJobs); len(got) != 3 {
		t.Errorf("ingestion Jobs after four requests: %v, want the three newest", jobNames(got))
	}
	if err := mgr.Stop(); err != nil {
		t.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// The manager killed (SIGKILL) while its ingestion Job runs, and again while the
// aggregation Job exists, and started again each time: the restarted manager derives the
// same Job names (the request, the plan's hash), so no Job is created twice, and every
// resource converges to Ready.
func TestOperatorManagerKilledMidRun(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	root := samplesDir(c)
	store, mgr := startKindergarten(t, c, ns, root)
	const requested = "2026-12-05T14:00:00Z"
	c.KubectlT(t, "annotate", "datasource", kindergarten, "-n", ns, impactv1.RequestedAtAnnotation+"="+requested)

	killWhen := func(what string, labels client.MatchingLabels, mgr *e2e.Process, next string) *e2e.Process {
		t.Helper()
		var jobs []batchv1.Job
		eventually(t, 120*time.Second, "a Job "+what, func() (bool, error) {
			jobs = jobsOf(t, c, ns, labels)
			return len(jobs) > 0, fmt.Errorf("no %s Job", what)
		})
		err := mgr.Kill()
		t.Logf("manager killed (%v) with %s Job %s complete=%v", err, what, jobs[0].Name, jobComplete(&jobs[0]))
		return startManagerAt(t, c, ns, next, store, root)
	}
	mgr = killWhen("ingesting", ingestJobs, mgr, "manager-"+ns+"-2")
	mgr = killWhen("aggregating", aggregateJobs, mgr, "manager-"+ns+"-3")

	if _, _, err := c.RunKubectl(ctx, "wait", "--for=condition=Ready", "indicators,datasources,initiatives", "--all", "-n", ns, "--timeout=180s"); err != nil {
		t.Fatalf("%v\nmanager log: %s", err, mgr.LogPath)
	}
	ds := &impactv1.DataSource{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: kindergarten}, ds); err != nil {
		t.Fatal(err)
	}
	if ds.Status.LastHandledRequestedAt != requested || ds.Status.Snapshot == nil {
		t.Fatalf("DataSource: lastHandledRequestedAt %q, snapshot %+v", ds.Status.LastHandledRequestedAt, ds.Status.Snapshot)
	}
	waitIndicatorsRead(t, c, ns, ds.Status.Snapshot.ID)
	// Let the last manager settle, then count: one Job per request, one per plan.
	time.Sleep(3 * time.Second)
	if got := jobNames(jobsOf(t, c, ns, ingestJobs)); len(got) != 1 {
		t.Errorf("ingestion Jobs after two restarts: %v, want one", got)
	}
	if got := jobNames(jobsOf(t, c, ns, aggregateJobs)); len(got) != 1 {
		t.Errorf("aggregation Jobs after two restarts: %v, want one", got)
	}
	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Errorf("%d Pods, want one per Job", len(pods.Items))
	}
	if err := mgr.Stop(); err != nil {
		t.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
}

// A DataSource applied with a column naming a dimension the Initiative lacks and a run-now
// request, and an Indicator averaging a column its source does not have: each Stalled
// with a message naming the object and the field; no CronJob, no Job, the request not
// handled. Applying the corrected DataSource brings it back without a restart (the
// CronJob is created, the pending request runs) and the two valid Indicators are computed
// without the stalled one; applying the corrected Indicator adds it, with one more
// aggregation Job, and everything is Ready.
func TestOperatorBadSpecFixed(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	const requested = "2026-12-05T15:00:00Z"
	const badIndicator = "readiness-score"
	annotate := func(file, s string) string {
		return strings.Replace(s, "  name: ncusd-kindergarten\n", "  name: ncusd-kindergarten\n  annotations: {"+impactv1.RequestedAtAnnotation+": \""+requested+"\"}\n", 1)
	}
	good := copyKindergarten(t, c, annotate)
	bad := copyKindergarten(t, c, func(file, s string) string {
		s = annotate(file, s)
		replace := map[string][2]string{
			"datasource-ncusd-kindergarten.yaml": {"dimension: district", "dimension: school_zone"},
			"indicator-readiness-score.yaml":     {"column: score", "column: test_score"},
		}
		if r, ok := replace[file]; ok {
			if !strings.Contains(s, r[0]) {
				t.Fatalf("%s has no %q", file, r[0])
			}
			s = strings.Replace(s, r[0], r[1], 1)
		}
		return s
	})
	store := filepath.Join(c.TempDir(t), "store")
	mgr := startManagerAt(t, c, ns, "manager-"+ns, store, good)
	t.Cleanup(func() {
		if t.Failed() {
			describe(t, c, ns)
		}
	})
	applyKindergarten(t, c, ns, bad)
	for _, obj := range []string{"datasource/" + kindergarten, "indicator/" + badIndicator} {
		if _, _, err := c.RunKubectl(ctx, "wait", "--for=condition=Stalled", obj, "-n", ns, "--timeout=60s"); err != nil {
			t.Fatalf("%s: %v\nmanager log: %s", obj, err, mgr.LogPath)
		}
	}
	ds := &impactv1.DataSource{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: kindergarten}, ds); err != nil {
		t.Fatal(err)
	}
	ind := &impactv1.Indicator{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: badIndicator}, ind); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		conds []metav1.Condition
		want  []string
	}{
		{ds.Status.Conditions, []string{"DataSource " + kindergarten + ": ", "spec.schema.columns", ".dimension", `"school_zone"`}},
		{ind.Status.Conditions, []string{"Indicator " + badIndicator + ": ", "spec.measure.numerator.column", `"test_score"`}},
	} {
		stalled := meta.FindStatusCondition(o.conds, impactv1.ConditionStalled)
		for _, want := range o.want {
			if !strings.Contains(stalled.Message, want) {
				t.Errorf("Stalled message %q does not name %s", stalled.Message, want)
			}
		}
		if stalled.Reason != "InvalidSpec" || meta.IsStatusConditionTrue(o.conds, impactv1.ConditionReady) {
			t.Errorf("Stalled %s, conditions %+v", stalled.Reason, o.conds)
		}
	}
	if ds.Status.LastHandledRequestedAt != "" {
		t.Errorf("a Stalled DataSource handled the request %q", ds.Status.LastHandledRequestedAt)
	}
	var cronJobs batchv1.CronJobList
	if err := c.Client.List(ctx, &cronJobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if n, jobs := len(cronJobs.Items), jobsOf(t, c, ns, nil); n != 0 || len(jobs) != 0 {
		t.Errorf("%d CronJobs and Jobs %v for a spec that cannot run, want none", n, jobNames(jobs))
	}
	var inds impactv1.IndicatorList
	if err := c.Client.List(ctx, &inds, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, ind := range inds.Items {
		if meta.IsStatusConditionTrue(ind.Status.Conditions, impactv1.ConditionReady) {
			t.Errorf("Indicator %s is Ready while its source is Stalled", ind.Name)
		}
	}

	// The DataSource's fix: the corrected manifest, applied. The pending request runs.
	c.KubectlT(t, "apply", "-n", ns, "-f", filepath.Join(good, "datasource-ncusd-kindergarten.yaml"))
	ds = requestRun(t, c, ns, requested)
	if meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionStalled) != nil {
		t.Errorf("the fixed DataSource is still Stalled: %+v", ds.Status.Conditions)
	}
	if err := c.Client.List(ctx, &cronJobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(cronJobs.Items) != 1 || ptrDeref(cronJobs.Items[0].Spec.Suspend) {
		t.Errorf("CronJobs after the fix: %d, want one, not suspended", len(cronJobs.Items))
	}
	if jobs := jobsOf(t, c, ns, ingestJobs); len(jobs) != 1 {
		t.Errorf("ingestion Jobs after the fix: %v, want the one request's", jobNames(jobs))
	}
	// The valid Indicators are computed; the stalled one waits for its own fix.
	eventually(t, 120*time.Second, "the valid Indicators Ready", func() (bool, error) {
		if err := c.Client.List(ctx, &inds, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, ind := range inds.Items {
			ready := meta.IsStatusConditionTrue(ind.Status.Conditions, impactv1.ConditionReady)
			if ind.Name == badIndicator {
				if ready || !meta.IsStatusConditionTrue(ind.Status.Conditions, impactv1.ConditionStalled) {
					t.Fatalf("Indicator %s with its bad column: %+v", ind.Name, ind.Status.Conditions)
				}
				continue
			}
			if !ready || ind.Status.Result == nil {
				return false, fmt.Errorf("Indicator %s: %+v", ind.Name, ind.Status.Conditions)
			}
		}
		return true, nil
	})
	agg1 := jobNames(jobsOf(t, c, ns, aggregateJobs))
	if len(agg1) != 1 {
		t.Errorf("aggregation Jobs with one Indicator stalled: %v, want one", agg1)
	}

	// The Indicator's fix: one more aggregation, every Indicator and the Initiative Ready.
	c.KubectlT(t, "apply", "-n", ns, "-f", filepath.Join(good, "indicator-readiness-score.yaml"))
	read := waitIndicatorsRead(t, c, ns, ds.Status.Snapshot.ID)
	if h := read[badIndicator].Status.Headline; h == nil || h.Value == "" {
		t.Errorf("Indicator %s after its fix: headline %+v", badIndicator, h)
	}
	if meta.FindStatusCondition(read[badIndicator].Status.Conditions, impactv1.ConditionStalled) != nil {
		t.Errorf("the fixed Indicator is still Stalled: %+v", read[badIndicator].Status.Conditions)
	}
	if agg2 := jobNames(jobsOf(t, c, ns, aggregateJobs)); len(agg2) != 2 || !slices.Contains(agg2, agg1[0]) {
		t.Errorf("aggregation Jobs after the Indicator's fix: %v, want %v and one more", agg2, agg1)
	}
	if err := mgr.Stop(); err != nil {
		t.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
}

func ptrDeref(b *bool) bool { return b != nil && *b }

// A partner sends a broken file (a tenth of the dates missing, over maxRejectPercent): the
// run-now Job fails, the DataSource is Ready=False (SnapshotNotPromoted, with the counts
// and the first rejected rows) and keeps its snapshot, and the Indicators keep their
// result. The corrected file, run now, gives back the same snapshot id, Ready, and no new
// aggregation.
func TestOperatorRefusedFileThenFixed(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	root := copyKindergarten(t, c, nil)
	_, mgr := startKindergarten(t, c, ns, root)
	ds := requestRun(t, c, ns, "2026-12-05T16:00:00Z")
	s1 := ds.Status.Snapshot.ID
	before := waitIndicatorsRead(t, c, ns, s1)
	agg := jobNames(jobsOf(t, c, ns, aggregateJobs))

	csv := filepath.Join(root, "data", "ncusd-kindergarten.csv")
	good, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\n")
	for i := 1; i < len(lines); i += 10 {
		if fields := strings.Split(lines[i], ","); len(fields) > 2 {
			fields[1] = ""
			lines[i] = strings.Join(fields, ",")
		}
	}
	if err := os.WriteFile(csv, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	const broken = "2026-12-05T16:10:00Z"
	c.KubectlT(t, "annotate", "--overwrite", "datasource", kindergarten, "-n", ns, impactv1.RequestedAtAnnotation+"="+broken)
	eventually(t, 150*time.Second, "the broken file refused", func() (bool, error) {
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: kindergarten}, ds); err != nil {
			return false, err
		}
		ready := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionReady)
		if ds.Status.LastHandledRequestedAt != broken || ready == nil || ready.Status != metav1.ConditionFalse {
			return false, fmt.Errorf("lastHandledRequestedAt %q, Ready %+v", ds.Status.LastHandledRequestedAt, ready)
		}
		return true, nil
	})
	ready := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionReady)
	if ready.Reason != "SnapshotNotPromoted" || !strings.Contains(ready.Message, "maxRejectPercent") || !strings.Contains(ready.Message, "assessed_on") {
		t.Errorf("Ready of the refused file: %s %q, want SnapshotNotPromoted naming maxRejectPercent and the rejected column", ready.Reason, ready.Message)
	}
	if ds.Status.Snapshot == nil || ds.Status.Snapshot.ID != s1 {
		t.Errorf("snapshot after the refused file: %+v, want %s still", ds.Status.Snapshot, s1)
	}
	if meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionStalled) != nil {
		t.Errorf("a refused file stalled the DataSource: %+v", ds.Status.Conditions)
	}
	// The Indicators keep the result of the promoted snapshot.
	kept := waitIndicatorsRead(t, c, ns, s1)
	for name, ind := range kept {
		if ind.Status.Result.URI != before[name].Status.Result.URI {
			t.Errorf("Indicator %s: result %s after the refused file, was %s", name, ind.Status.Result.URI, before[name].Status.Result.URI)
		}
	}

	// The corrected file: the same data as the first, so the same snapshot and no aggregation.
	if err := os.WriteFile(csv, good, 0o644); err != nil {
		t.Fatal(err)
	}
	ds = requestRun(t, c, ns, "2026-12-05T16:20:00Z")
	if ds.Status.Snapshot.ID != s1 {
		t.Errorf("the corrected file gave snapshot %s, want %s", ds.Status.Snapshot.ID, s1)
	}
	time.Sleep(3 * time.Second)
	waitIndicatorsRead(t, c, ns, s1)
	if got := jobNames(jobsOf(t, c, ns, aggregateJobs)); !slices.Equal(got, agg) {
		t.Errorf("aggregation Jobs after the refused and the corrected file: %v, want %v", got, agg)
	}
	if err := mgr.Stop(); err != nil {
		t.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
}
