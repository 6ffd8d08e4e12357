//go:build linux

package e2e_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/controllers"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/promtest"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// The manager's results on a real Prometheus: `backbone manager
// --results-metrics-bind-address` runs the samples to Ready, Debian's prometheus scrapes
// it, and every query of every panel of the dashboard the manager wrote into the
// Initiative's ConfigMap runs through Prometheus' HTTP API with its variables set to every
// indicator, dimension and period: each returns the series and values of the result the
// Indicators name (read from the manager's store), every query returns data, no query
// names a metric or label Prometheus did not scrape, and no series of a suppressed cell
// carries a number. Each Indicator's headline in its status is the value Prometheus holds.
// The manager also runs with --grafana-dashboard-crs, and without grafana-operator's CRD
// the Initiative is Ready, its GrafanaDashboard condition saying the CRD is missing.
func TestOperatorPrometheus(t *testing.T) {
	promtest.Binary(t)
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	addr := promtest.FreeAddr(t)
	storeDir, mgr := startManager(t, c, ns, "--results-metrics-bind-address="+addr, "--region=us-west", "--grafana-dashboard-crs")

	c.KubectlT(t, "apply", "-k", "config/samples", "-n", ns)
	c.KubectlT(t, "annotate", "datasources", "--all", "-n", ns, impactv1.RequestedAtAnnotation+"=2026-12-05T12:00:00Z")
	if _, _, err := c.RunKubectl(ctx, "wait", "--for=condition=Ready", "indicators", "--all", "-n", ns, "--timeout=240s"); err != nil {
		describe(t, c, ns)
		t.Fatalf("%v\nmanager log: %s", err, mgr.LogPath)
	}

	// The result the Indicators name, and what it is published from, read from the store
	// the manager reads.
	st, err := store.Open(ctx, "file://"+storeDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const iniName = "ready-by-five"
	latest, err := result.ReadManifest(ctx, st, result.LatestKey(ns, iniName))
	if err != nil {
		t.Fatal(err)
	}
	man, res, err := result.Read(ctx, st, result.Key(ns, iniName, latest.ID))
	if err != nil {
		t.Fatal(err)
	}
	var inds impactv1.IndicatorList
	if err := c.Client.List(ctx, &inds, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, ind := range inds.Items {
		if ind.Status.Result == nil || !strings.HasSuffix(ind.Status.Result.URI, strings.TrimPrefix(man.ID, "sha256:")+".json") {
			t.Fatalf("Indicator %s names result %+v, the latest is %s", ind.Name, ind.Status.Result, man.ID)
		}
	}
	var sources impactv1.DataSourceList
	if err := c.Client.List(ctx, &sources, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var snaps []store.SnapshotManifest
	for _, ds := range sources.Items {
		var m store.SnapshotManifest
		if err := st.GetJSON(ctx, path.Join(store.SourcePrefix(ns, iniName, ds.Name), "latest.json"), &m); err != nil {
			t.Fatalf("DataSource %s: %v", ds.Name, err)
		}
		snaps = append(snaps, m)
	}

	// The dashboard the manager wrote is the one of that result, and the Initiative names it.
	ini := &impactv1.Initiative{}
	var dashJSON []byte
	eventually(t, 60*time.Second, "the dashboard ConfigMap of the latest result", func() (bool, error) {
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: iniName}, ini); err != nil {
			return false, err
		}
		want, err := dashboard.JSON(ini, inds.Items, res)
		if err != nil {
			return false, err
		}
		cm := &corev1.ConfigMap{}
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: dashboard.ConfigMapName(iniName)}, cm); err != nil {
			return false, err
		}
		dashJSON = []byte(cm.Data[dashboard.ConfigMapKey(iniName)])
		if ini.Status.Dashboard != cm.Name {
			return false, fmt.Errorf("status.dashboard %q", ini.Status.Dashboard)
		}
		// --grafana-dashboard-crs without grafana-operator's CRD: said, not an error.
		if c := meta.FindStatusCondition(ini.Status.Conditions, controllers.ConditionGrafanaDashboard); c == nil || c.Reason != controllers.ReasonGrafanaCRDMissing || ini.Status.GrafanaDashboard != "" {
			return false, fmt.Errorf("GrafanaDashboard condition %+v, status.grafanaDashboard %q", c, ini.Status.GrafanaDashboard)
		}
		if !meta.IsStatusConditionTrue(ini.Status.Conditions, impactv1.ConditionReady) {
			return false, fmt.Errorf("Initiative not Ready: %+v", ini.Status.Conditions)
		}
		return bytes.Equal(dashJSON, want), fmt.Errorf("the ConfigMap's dashboard is not dashboard.JSON of the result %s", man.ID)
	})

	prom := promtest.Start(t, addr, promtest.Options{Rules: []string{promtest.RulesFile(t, c.RepoRoot)}})
	prom.WaitScraped(t, 60*time.Second, func() (int, error) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return promtest.SampleLines(string(b)), err
	})
	at := time.Now().Truncate(time.Second)
	promtest.CheckDashboard(t, prom, dashJSON, promtest.Want{
		Initiative: ini, Indicators: inds.Items, Result: res, Snapshots: snaps, WithheldRowCounts: man.WithheldRowCounts,
	}, at)
	promtest.CheckRules(t, prom, res, 6)

	// Each Indicator's status headline is what Prometheus holds for its total.
	compared := 0
	for _, ind := range inds.Items {
		h := ind.Status.Headline
		if h == nil || h.Value == "" {
			continue
		}
		got := prom.Query(t, fmt.Sprintf(`{__name__=~"backbone_indicator_value(_ratio)?",namespace=%q,indicator=%q,period=%q,dimension=""}`, ns, ind.Name, h.Period), at)
		if len(got) != 1 || !sameDecimal(h.Value, got[0].Value) {
			t.Errorf("Indicator %s: status headline %s at %s, prometheus has %+v", ind.Name, h.Value, h.Period, got)
			continue
		}
		compared++
	}
	if compared == 0 {
		t.Error("no Indicator has a headline value: nothing compared")
	}
	if err := mgr.Stop(); err != nil {
		t.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
}
