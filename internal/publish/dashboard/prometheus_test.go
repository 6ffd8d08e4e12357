package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/local/localtest"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/publish/promtest"
	"github.com/backbone-dev/backbone/internal/result"
)

// TestDashboardQueriesAgainstPrometheus serves the samples' exposition as `backbone local
// --listen` does, lets Debian's prometheus scrape it, and runs every query of every panel
// of the dashboard through Prometheus' HTTP API with the template variables set to every
// indicator, dimension and period: each query returns exactly the series the result says
// it should, with the result's values; every query returns data for some setting; every
// metric and label a query names exists in what Prometheus scraped; and no series of a
// suppressed cell carries more than its flags. Then the alerting rules are evaluated.
func TestDashboardQueriesAgainstPrometheus(t *testing.T) {
	promtest.Binary(t)
	ctx := context.Background()
	r := localtest.Run(t)
	st, m, out := r.Store, r.Manifests, r.Output
	x := metrics.New(metrics.Options{Region: "us-west"})
	if err := local.Publish(ctx, st, out, x); err != nil {
		t.Fatal(err)
	}
	man, err := result.ReadManifest(ctx, st, out.ResultKeys[0])
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		x.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	prom := promtest.Start(t, strings.TrimPrefix(srv.URL, "http://"), promtest.Options{
		Rules: []string{promtest.RulesFile(t, "../../..")},
	})
	prom.WaitScraped(t, 60*time.Second, func() (int, error) {
		var b strings.Builder
		if _, err := x.WriteTo(&b, metrics.Text); err != nil {
			return 0, err
		}
		return promtest.SampleLines(b.String()), nil
	})

	// Run the queries as Grafana would read them: from the JSON.
	b, err := dashboard.JSON(&m.Initiatives[0], m.Indicators, out.Results[0])
	if err != nil {
		t.Fatal(err)
	}
	promtest.CheckDashboard(t, prom, b, promtest.Want{
		Initiative: &m.Initiatives[0], Indicators: m.Indicators, Result: out.Results[0],
		Snapshots: out.Snapshots, WithheldRowCounts: man.WithheldRowCounts,
	}, time.Now().Truncate(time.Second))
	promtest.CheckRules(t, prom, out.Results[0], 6)
}
