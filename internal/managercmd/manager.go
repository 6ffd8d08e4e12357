package managercmd

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/controllers"
	"github.com/backbone-dev/backbone/internal/gcpolicy"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/version"
)

// managerFlags are the settings of `backbone manager`.
type managerFlags struct {
	metricsAddr, probeAddr string
	pprofAddr              string
	leaderElect            bool
	leaderElectionID       string
	leaderElectionNS       string
	storeURL               string
	allowFileLocations     bool
	fileRoot               string
	allowNetworks          []string
	maxFetchBytes          int64
	watchNamespaces        string
	maxConcurrent          int
	jobImage               string
	storeCredentialsSecret string
	minCellSizeFloor       int32
	resultsMetricsAddr     string
	reportAddr             string
	reportURL              string
	metrics                metrics.Options
	dashboardsEnabled      bool
	dashboards             dashboard.ConfigMapOptions
	grafanaDashboards      bool
	grafanaSelector        string
	memoryLimit            string
	memoryLimitRatio       float64
	zap                    zap.Options
}

// Name is the manager's command name.
const Name = "manager"

// Command returns the manager's command.
func Command() *cobra.Command {
	f := &managerFlags{zap: zap.Options{Development: false}}
	cmd := &cobra.Command{
		Use:   Name + " --store URL",
		Short: "Run the operator: reconcile Initiatives, DataSources and Indicators",
		Long: `Runs the Kubernetes controllers of Backbone. Each DataSource gets an ingestion CronJob
(backbone-job ingest); each Initiative gets one aggregation Job (backbone-job aggregate) whenever an
input snapshot or an Indicator's spec changes; the results are published in the Indicators'
status. The Jobs write to the store (--store), which the manager reads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runManager(cmd, f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "address the /metrics endpoint binds to; 0 disables it")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address the /healthz and /readyz probes bind to")
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "", "address Go's profiles are served on (/debug/pprof/); empty or 0 disables them")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader, so only one of several replicas reconciles")
	fs.StringVar(&f.leaderElectionID, "leader-election-id", "backbone.impact.backbone.dev", "name of the leader election Lease")
	fs.StringVar(&f.leaderElectionNS, "leader-election-namespace", "", "namespace of the leader election Lease (default: the manager's own, in a cluster)")
	fs.StringVar(&f.storeURL, "store", "", "store URL the Jobs write to and the manager reads (file:///path, s3://…)")
	fs.BoolVar(&f.allowFileLocations, "allow-file-locations", false, "accept DataSources with a file location (local mode, single-node clusters, tests)")
	fs.StringVar(&f.fileRoot, "file-root", "", "folder that relative file locations resolve against (default: the manager's working folder)")
	fs.StringSliceVar(&f.allowNetworks, "allow-network", nil, "CIDR that http and object store locations may reach although loopback, link-local or cloud metadata (repeatable; for in-cluster object stores and tests)")
	fs.Int64Var(&f.maxFetchBytes, "max-fetch-bytes", 0, "largest input an ingestion Job fetches from a location (default 4 GiB)")
	fs.StringVar(&f.watchNamespaces, "watch-namespaces", "", "comma-separated namespaces to reconcile; empty means all")
	fs.IntVar(&f.maxConcurrent, "max-concurrent-reconciles", 4, "Initiatives, DataSources and Indicators each reconciled at once (each reconciliation waits mostly on the API server and the store)")
	fs.StringVar(&f.jobImage, "job-image", version.Image(), "container image of the ingestion and aggregation Jobs")
	fs.StringVar(&f.storeCredentialsSecret, "store-credentials-secret", "", "Secret, in each Job's namespace, holding the store's credentials: every Job pod gets its keys as environment variables (AWS_ACCESS_KEY_ID, …) and as files under "+controllers.StoreCredentialsDir+"; the manager never reads it")
	fs.Int32Var(&f.minCellSizeFloor, "min-cell-size-floor", 0, "floor under every Initiative's minimum cell size: an Initiative whose spec.equity.minCellSize is below it is Stalled, one leaving it unset gets the larger of the default and the floor; 0: none")
	fs.StringVar(&f.resultsMetricsAddr, "results-metrics-bind-address", "", "address the metrics of the results (every Indicator's latest result, every DataSource's data health) are served on at /metrics, e.g. :9464; empty or 0 disables it")
	fs.StringVar(&f.metrics.Region, "region", "", "value of the constant region label on every series of the results")
	fs.IntVar(&f.metrics.IndicatorCap, "series-cap", metrics.DefaultIndicatorCap, "series an Indicator may publish; over it only its totals are")
	fs.IntVar(&f.metrics.GlobalCap, "global-series-cap", metrics.DefaultGlobalCap, "series all Indicators together may publish; over it the largest publish only their totals")
	fs.BoolVar(&f.dashboardsEnabled, "dashboards", true, "write each Initiative's Grafana dashboard into a ConfigMap (unless its spec.dashboard.enabled is false)")
	fs.StringVar(&f.dashboards.LabelKey, "dashboard-label", dashboard.DefaultLabelKey, "label key marking dashboard ConfigMaps for the Grafana sidecar")
	fs.StringVar(&f.dashboards.LabelValue, "dashboard-label-value", dashboard.DefaultLabelValue, "value of the dashboard label")
	fs.StringVar(&f.dashboards.FolderAnnotation, "dashboard-folder-annotation", dashboard.DefaultFolderAnnotation, "annotation the Grafana sidecar reads a dashboard's folder from (set from spec.dashboard.folder)")
	fs.BoolVar(&f.grafanaDashboards, "grafana-dashboard-crs", false, "also keep a GrafanaDashboard (grafana.integreatly.org/v1beta1, grafana-operator) per Initiative, owned by it and reading its dashboard ConfigMap, when that CRD is installed")
	fs.StringVar(&f.grafanaSelector, "grafana-instance-selector", "dashboards=grafana", "labels (key=value,…) of the Grafana instances the GrafanaDashboards select (their spec.instanceSelector.matchLabels)")
	fs.StringVar(&f.reportAddr, "report-bind-address", "", "address the community pages are served on (/ and /initiatives/<namespace>/<name>); empty disables them")
	fs.StringVar(&f.reportURL, "report-url", "", "public address the community pages are reached at (e.g. https://impact.example.org); each Initiative's page is linked in its status.reportURL")
	fs.StringVar(&f.memoryLimit, "memory-limit", "", "memory limit of the manager's container (a quantity: 512Mi, or bytes; the chart passes its limits.memory through the downward API): Go's memory limit is set to --memory-limit-ratio of it, so that the collector works harder rather than the container reaching its limit; ignored when GOMEMLIMIT is set; empty: none")
	fs.Float64Var(&f.memoryLimitRatio, "memory-limit-ratio", 0.9, "share of --memory-limit given to Go's memory limit, the rest left to what Go does not manage (the binary's pages, stacks in flight)")
	gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
	f.zap.BindFlags(gofs)
	fs.AddGoFlagSet(gofs)
	_ = cmd.MarkFlagRequired("store")
	return cmd
}

// newScheme is the manager's scheme: Kubernetes' built-in kinds and Backbone's.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := impactv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

func runManager(cmd *cobra.Command, f *managerFlags) error {
	logger := zap.New(zap.UseFlagOptions(&f.zap))
	ctrl.SetLogger(logger)
	// SIGTERM or SIGINT cancels the context: Start returns once reconciliations in flight
	// finish and the leader Lease is released.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = ctrl.LoggerInto(ctx, logger)
	if f.minCellSizeFloor < 0 {
		return fmt.Errorf("--min-cell-size-floor: %d is negative", f.minCellSizeFloor)
	}
	if f.maxConcurrent < 1 {
		return fmt.Errorf("--max-concurrent-reconciles: %d, want 1 or more", f.maxConcurrent)
	}
	if gcpolicy.ForService() {
		logger.Info("GOGC set", "percent", gcpolicy.ServicePercent)
	}
	goLimit, err := goMemoryLimit(f.memoryLimit, f.memoryLimitRatio, os.Getenv("GOMEMLIMIT"))
	if err != nil {
		return err
	}
	if goLimit > 0 {
		debug.SetMemoryLimit(goLimit)
		logger.Info("Go memory limit set", "bytes", goLimit, "memoryLimit", f.memoryLimit, "ratio", f.memoryLimitRatio)
	}
	root := f.fileRoot
	if root == "" {
		root = "."
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("--file-root: %w", err)
	}
	grafanaSelector, err := labels.ConvertSelectorToLabelsMap(f.grafanaSelector)
	if err == nil && f.grafanaDashboards && len(grafanaSelector) == 0 {
		err = errors.New("no label: a GrafanaDashboard needs an instanceSelector")
	}
	if err != nil {
		return fmt.Errorf("--grafana-instance-selector %q, not a list of key=value labels such as dashboards=grafana: %w", f.grafanaSelector, err)
	}
	dashboards := controllers.DashboardOptions{Disabled: !f.dashboardsEnabled, ConfigMap: f.dashboards,
		GrafanaDashboards: f.grafanaDashboards, GrafanaInstanceSelector: grafanaSelector}
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, f.storeURL)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer st.Close()
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: f.metricsAddr},
		HealthProbeBindAddress:        f.probeAddr,
		PprofBindAddress:              f.pprofAddr,
		LeaderElection:                f.leaderElect,
		LeaderElectionID:              f.leaderElectionID,
		LeaderElectionNamespace:       f.leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controllers.CacheOptions(f.watchNamespaces),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	pub, err := addPublishing(mgr, f)
	if err != nil {
		return err
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		Store: st,
		Jobs:  controllers.JobOptions{Image: f.jobImage, StoreURL: f.storeURL, StoreCredentialsSecret: f.storeCredentialsSecret},
		Plan: plan.IngestOptions{AllowFileLocations: f.allowFileLocations, BaseDir: root,
			AllowedNetworks: f.allowNetworks, MaxFetchBytes: f.maxFetchBytes},
		Publisher:  pub,
		Dashboards: dashboards,
		ReportURL:  reportURL(f),
		Aggregate:  plan.AggregateOptions{MinCellSizeFloor: f.minCellSizeFloor},

		MaxConcurrentReconciles: f.maxConcurrent,
	}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	logger.Info("starting the manager", "version", version.Get().String(), "store", f.storeURL, "jobImage", f.jobImage,
		"watchNamespaces", f.watchNamespaces, "resultsMetrics", f.resultsMetricsAddr, "report", f.reportAddr, "region", f.metrics.Region, "allowFileLocations", f.allowFileLocations, "fileRoot", root,
		"storeCredentialsSecret", f.storeCredentialsSecret, "minCellSizeFloor", f.minCellSizeFloor)
	return mgr.Start(ctx)
}

// reportURL is the public address of the community pages: --report-url when the pages are
// served (--report-bind-address), else none.
func reportURL(f *managerFlags) string {
	if f.reportAddr == "" {
		return ""
	}
	return f.reportURL
}

// goMemoryLimit is the Go memory limit --memory-limit and --memory-limit-ratio call for, in
// bytes: 0 when there is none to set (no --memory-limit, or GOMEMLIMIT set in the
// environment, which the Go runtime has applied already and which wins).
func goMemoryLimit(limit string, ratio float64, gomemlimit string) (int64, error) {
	if limit == "" || gomemlimit != "" {
		return 0, nil
	}
	q, err := resource.ParseQuantity(limit)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit %q, not a quantity such as 512Mi: %w", limit, err)
	}
	if q.Sign() <= 0 {
		return 0, fmt.Errorf("--memory-limit %q: want a positive quantity", limit)
	}
	if !(ratio > 0 && ratio <= 1) {
		return 0, fmt.Errorf("--memory-limit-ratio %g: want more than 0 and at most 1", ratio)
	}
	return int64(float64(q.Value()) * ratio), nil
}
