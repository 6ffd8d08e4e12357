package managercmd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/backbone-dev/backbone/controllers"
	"github.com/backbone-dev/backbone/internal/httpserve"
	"github.com/backbone-dev/backbone/internal/publish/live"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/publish/report"
)

// addPublishing makes the publisher of results and adds its servers to the manager: the
// metrics of the results on --results-metrics-bind-address (separate from the manager's
// own /metrics) and the community pages on --report-bind-address. The servers run on
// every replica, leader or not; only the leader's reconcilers fill them. When neither is
// served there is no publisher (nil): nothing renders results no one can read, and
// Indicators get no SeriesCapped condition.
func addPublishing(mgr ctrl.Manager, f *managerFlags) (controllers.Publisher, error) {
	if f.reportURL != "" {
		u, err := url.Parse(f.reportURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--report-url: %q is not an http(s) address such as https://impact.example.org", f.reportURL)
		}
	}
	serveMetrics := f.resultsMetricsAddr != "" && f.resultsMetricsAddr != "0"
	if !serveMetrics && f.reportAddr == "" {
		return nil, nil
	}
	x := metrics.New(f.metrics)
	var pages *report.Handler
	if f.reportAddr != "" {
		rr, err := report.New(nil)
		if err != nil {
			return nil, err
		}
		pages = report.NewHandler(rr)
		if err := mgr.Add(&httpServer{name: "--report-bind-address", addr: f.reportAddr, handler: pages}); err != nil {
			return nil, err
		}
	}
	if serveMetrics {
		mux := http.NewServeMux()
		mux.Handle("/metrics", x)
		if err := mgr.Add(&httpServer{name: "--results-metrics-bind-address", addr: f.resultsMetricsAddr, handler: mux}); err != nil {
			return nil, err
		}
	}
	return live.New(x, pages), nil
}

// httpServer is a manager Runnable serving handler on addr until the manager stops.
type httpServer struct {
	name, addr string
	handler    http.Handler
}

var _ manager.LeaderElectionRunnable = (*httpServer)(nil)

// NeedLeaderElection is false: every replica serves.
func (s *httpServer) NeedLeaderElection() bool { return false }

// Start serves until ctx is done, then shuts down within five seconds.
func (s *httpServer) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	ctrl.LoggerFrom(ctx).Info("serving", "flag", s.name, "address", ln.Addr().String())
	if err := httpserve.Serve(ctx, srv, ln); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}
