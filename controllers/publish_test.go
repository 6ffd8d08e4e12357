package controllers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/live"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// scrape GETs the results' /metrics and returns the body.
func scrape(t *testing.T) []byte {
	t.Helper()
	resp, err := http.Get(resultsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	return body
}

// samplesOf returns the sample lines of an exposition whose namespace label is ns,
// sorted.
func samplesOf(text []byte, ns string) []string {
	var out []string
	for _, l := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, `namespace="`+ns+`"`) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// withoutTimes drops the value of the families that are times (when a result was
// computed, when a snapshot was written): they differ between two runs of the same inputs.
func withoutTimes(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if strings.HasPrefix(l, "backbone_indicator_last_computed_timestamp_seconds{") || strings.HasPrefix(l, "backbone_source_last_ingest_timestamp_seconds{") {
			l = l[:strings.LastIndex(l, " ")]
		}
		out[i] = l
	}
	return out
}

func render(t *testing.T, x *metrics.Exposition) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := x.WriteTo(&b, metrics.Text); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func diffLines(got, want []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

// TestSamplesPublished runs config/samples through the reconcilers and reads what they
// publish: the results' /metrics over HTTP equals what `backbone local` renders (the same
// series and values from its own run of the same files; the same bytes from the same
// results), promtool accepts it; the dashboard ConfigMap is the dashboard of the result;
// the community page is served with an ETag. Deleting an Indicator, then the Initiative,
// removes their series and page.
func TestSamplesPublished(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	m := applySamples(t, ns)
	ini, a := samplesPlan(t, ns, m)
	if got := samplesOf(scrape(t), ns); len(got) != 0 {
		t.Fatalf("series before any result: %q", got)
	}
	if err := finishJob(t, waitJob(t, ns, a.JobName)); err != nil {
		t.Fatalf("aggregating: %v", err)
	}
	key := result.Key(ns, ini.Name, a.ID)

	// What `backbone local` renders from the same files, as of the same date.
	other, out := localRun(t, m, a)
	lx := metrics.New(testMetricsOptions)
	if err := local.Publish(ctx, other, out, lx); err != nil {
		t.Fatal(err)
	}
	want := samplesOf(render(t, lx), ns)
	if len(want) == 0 {
		t.Fatal("backbone local renders no series for the samples")
	}
	var got []string
	eventually(t, "the results' /metrics holds the samples' series", func() error {
		got = samplesOf(scrape(t), ns)
		if d := diffLines(withoutTimes(got), withoutTimes(want)); d != "" {
			return fmt.Errorf("series differ from backbone local's (%d, want %d):\n%.3000s", len(got), len(want), d)
		}
		return nil
	})
	for _, l := range got {
		if !strings.Contains(l, `region="us-west"`) {
			t.Fatalf("series without the region label: %s", l)
		}
	}

	// The same results rendered as `backbone local` does: the same lines, times included.
	man, res, err := result.Read(ctx, testStore, key)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []store.SnapshotManifest
	for _, ds := range m.DataSources {
		snaps = append(snaps, *readLatest(t, ns, ini.Name, ds.Name))
	}
	same := metrics.New(testMetricsOptions)
	if err := local.Publish(ctx, testStore, &local.Output{ResultKeys: []string{key}, Results: []*aggregate.Result{res}, Snapshots: snaps}, same); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(got, samplesOf(render(t, same), ns)); d != "" {
		t.Errorf("the same results render other lines in backbone local:\n%.3000s", d)
	}

	// promtool accepts the whole exposition.
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(scrape(t))
		if res, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(res)) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, res)
		}
	} else if os.Getenv("CI") != "" {
		t.Error("promtool is missing (Debian package prometheus; .ci/run installs it)")
	}

	// The dashboard ConfigMap holds the result's dashboard, owned by the Initiative.
	cmName := dashboard.ConfigMapName(ini.Name)
	eventually(t, "dashboard ConfigMap", func() error {
		cm := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: cmName}, cm); err != nil {
			return err
		}
		cur := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), cur); err != nil {
			return err
		}
		if cur.Status.Dashboard != cmName {
			return fmt.Errorf("status.dashboard %q, want %q", cur.Status.Dashboard, cmName)
		}
		if !metav1.IsControlledBy(cm, cur) {
			return fmt.Errorf("ConfigMap owners %+v", cm.OwnerReferences)
		}
		if cm.Labels["grafana_dashboard"] != "backbone" || cm.Annotations["grafana_folder"] != ini.Spec.Dashboard.Folder {
			return fmt.Errorf("labels %v, annotations %v", cm.Labels, cm.Annotations)
		}
		b, err := dashboard.JSON(cur, a.Indicators, res)
		if err != nil {
			return err
		}
		if cm.Data[dashboard.ConfigMapKey(ini.Name)] != string(b) {
			return fmt.Errorf("ConfigMap's dashboard differs from the result's")
		}
		return nil
	})

	// The community page, after the aggregation, with its ETag.
	page := pagesURL + "/initiatives/" + ns + "/" + ini.Name
	var etag string
	eventually(t, "community page", func() error {
		resp, err := http.Get(page)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", page, resp.Status)
		}
		rr, err := report.New(nil)
		if err != nil {
			return err
		}
		cur := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), cur); err != nil {
			return err
		}
		wantPage, err := rr.Page(&report.Input{Initiative: cur, Indicators: a.Indicators, DataSources: a.Sources, Manifest: man, Result: res}, false)
		if err != nil {
			return err
		}
		if !bytes.Equal(body, wantPage) {
			return fmt.Errorf("the page served differs from the result's page (%d bytes, want %d)", len(body), len(wantPage))
		}
		etag = resp.Header.Get("ETag")
		return nil
	})
	req, _ := http.NewRequest(http.MethodGet, page, nil)
	req.Header.Set("If-None-Match", etag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %q: %s, want 304", etag, resp.Status)
	}

	eventually(t, "status.reportURL", func() error {
		cur := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), cur); err != nil {
			return err
		}
		if want := "https://impact.example.org/initiatives/" + ns + "/" + ini.Name; cur.Status.ReportURL != want {
			return fmt.Errorf("status.reportURL %q, want %q", cur.Status.ReportURL, want)
		}
		return nil
	})

	// spec.dashboard.enabled: false removes the dashboard.
	cur := &impactv1.Initiative{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), cur); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Dashboard.Enabled = ptrBool(false)
	if err := k8s.Patch(ctx, cur, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dashboard removed", func() error {
		got := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), got); err != nil {
			return err
		}
		if got.Status.Dashboard != "" {
			return fmt.Errorf("status.dashboard %q", got.Status.Dashboard)
		}
		cm := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: cmName}, cm); err == nil && cm.DeletionTimestamp == nil {
			return fmt.Errorf("ConfigMap %s still there", cmName)
		}
		return nil
	})

	// A deleted Indicator's series go; the others stay.
	gone := m.Indicators[0].Name
	if err := k8s.Delete(ctx, &impactv1.Indicator{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: gone}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "series of the deleted Indicator removed", func() error {
		lines := samplesOf(scrape(t), ns)
		for _, l := range lines {
			if strings.Contains(l, `indicator="`+gone+`"`) {
				return fmt.Errorf("still published: %s", l)
			}
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, `indicator="`+m.Indicators[1].Name+`"`) }) {
			return fmt.Errorf("the other Indicators' series went too")
		}
		return nil
	})

	// A deleted Initiative's series and page go.
	if err := k8s.Delete(ctx, ini); err != nil {
		t.Fatal(err)
	}
	eventually(t, "series of the deleted Initiative removed", func() error {
		if lines := samplesOf(scrape(t), ns); len(lines) > 0 {
			return fmt.Errorf("%d series still published, e.g. %s", len(lines), lines[0])
		}
		resp, err := http.Get(page)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("GET %s: %s, want 404", page, resp.Status)
		}
		return nil
	})
}

// TestSeriesCapped: an Indicator over the series cap gets SeriesCapped=True and a Warning
// Event, and publishes only its totals. (Also: a ConfigMap of the dashboard's name that is
// not the Initiative's is left alone, and the Initiative stalls.)
func TestSeriesCapped(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: dashboard.ConfigMapName("ready-by-five")}, Data: map[string]string{"mine": "yes"}}
	create(t, foreign)
	m := applySamples(t, ns)
	ini, a := samplesPlan(t, ns, m)
	if err := finishJob(t, waitJob(t, ns, a.JobName)); err != nil {
		t.Fatalf("aggregating: %v", err)
	}
	name := m.Indicators[0].Name
	eventually(t, "Indicator ready within the suite's caps", func() error {
		ind, err := getIndicator(ns, name)
		if err != nil {
			return err
		}
		return wantCondition(ind.Status.Conditions, ConditionSeriesCapped, metav1.ConditionFalse)
	})
	// A manager with a cap of 5 series an Indicator.
	pub := live.New(metrics.New(metrics.Options{IndicatorCap: 5}), nil)
	r := &IndicatorReconciler{Client: testMgr.GetClient(), Recorder: testMgr.GetEventRecorder("test"), Store: testStore, Publisher: pub}
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}}); err != nil {
		t.Fatal(err)
	}
	ind, err := getIndicator(ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := wantCondition(ind.Status.Conditions, ConditionSeriesCapped, metav1.ConditionTrue); err != nil {
		t.Fatal(err)
	}
	if c := condition(ind.Status.Conditions, ConditionSeriesCapped); c.Reason != ReasonIndicatorCap {
		t.Errorf("SeriesCapped reason %s: %s", c.Reason, c.Message)
	}
	capped, own, full, published := pub.Capped(ns, ini.Name, name)
	if !capped || !own || published >= full {
		t.Errorf("Capped: %v %v %d of %d", capped, own, published, full)
	}
	eventually(t, "SeriesCapped Event", func() error { return wantEvent(ns, name, ReasonIndicatorCap+": only the totals are published") })

	eventually(t, "Initiative stalled on a ConfigMap not its own", func() error {
		got := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), got); err != nil {
			return err
		}
		if err := wantCondition(got.Status.Conditions, impactv1.ConditionStalled, metav1.ConditionTrue); err != nil {
			return err
		}
		if c := condition(got.Status.Conditions, impactv1.ConditionStalled); !strings.Contains(c.Message, "is not the Initiative's") {
			return fmt.Errorf("Stalled: %s", c.Message)
		}
		return nil
	})
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(foreign), cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 1 || cm.Data["mine"] != "yes" || len(cm.OwnerReferences) != 0 {
		t.Errorf("the foreign ConfigMap was changed: %+v", cm)
	}
	// The metrics are published all the same.
	if lines := samplesOf(scrape(t), ns); len(lines) == 0 {
		t.Error("no series published for the stalled Initiative's result")
	}
}

func ptrBool(v bool) *bool { return &v }
