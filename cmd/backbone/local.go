package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/httpserve"
	"github.com/backbone-dev/backbone/internal/jobcmd"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/store"
)

func newLocalCommand() *cobra.Command {
	var (
		dir, storeURL, output, namespace, asOf, planDir string
		listen, dashboards, reportDir                   string
		mopts                                           metrics.Options
		secretsDir, configMapsDir                       string
		allowNetworks                                   []string
		maxFetchBytes                                   int64
	)
	cmd := &cobra.Command{
		Use:   "local -f DIR",
		Short: "Run the pipeline on the manifests in a folder, without a cluster",
		Long: `Reads every Initiative, DataSource and Indicator manifest in DIR, validates them as the
API server would (the CRDs' schemas and CEL rules) and with the cross-object checks, ingests
every DataSource into a local store, aggregates every Initiative's indicators and prints
the cells, with the number of series each Indicator publishes on /metrics. With
--dashboards it writes each Initiative's Grafana dashboard as JSON. With --report it writes
the community page as a static site (one HTML page per Initiative, an index and a CSV of
every published cell). With --listen it then serves that exposition (Prometheus text or
OpenMetrics) at /metrics and the community pages at / and /initiatives/<namespace>/<name>,
and keeps running.`,
		Example: "  backbone local -f config/samples\n  backbone local -f config/samples --output json\n  backbone local -f config/samples --listen :9464 --region us-west\n  backbone local -f config/samples --dashboards dashboards/\n  backbone local -f config/samples --report site",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("-f: name the folder of manifests, e.g. -f config/samples")
			}
			switch output {
			case local.FormatTable, local.FormatJSON, local.FormatCSV:
			default:
				return fmt.Errorf("--output: unknown format %q (want table, json or csv)", output)
			}
			t, err := jobcmd.ParseAsOf(asOf)
			if err != nil {
				return err
			}
			opts := local.Options{Log: cmd.ErrOrStderr(), PlanDir: planDir, AsOf: t,
				SecretsDir: secretsDir, ConfigMapsDir: configMapsDir, AllowedNetworks: allowNetworks, MaxFetchBytes: maxFetchBytes}
			ctx := cmd.Context()
			if storeURL == "" {
				cache, err := os.UserCacheDir()
				if err != nil {
					return fmt.Errorf("--store: no default store folder (%v); name one", err)
				}
				if storeURL, err = store.FileURL(filepath.Join(cache, "backbone", "store")); err != nil {
					return err
				}
			}
			st, err := store.Open(ctx, storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			opts.Store = st
			m, err := local.Load(ctx, dir, namespace)
			if err != nil {
				return err
			}
			out, err := local.Run(ctx, m, opts)
			if err != nil {
				return err
			}
			if err := local.Print(cmd.OutOrStdout(), output, out.Results); err != nil {
				return err
			}
			x := metrics.New(mopts)
			if err := local.Publish(ctx, st, out, x); err != nil {
				return err
			}
			if err := local.PrintSeries(cmd.ErrOrStderr(), x); err != nil {
				return err
			}
			if dashboards != "" {
				files, err := local.WriteDashboards(dashboards, m, out)
				if err != nil {
					return err
				}
				for _, f := range files {
					fmt.Fprintf(cmd.ErrOrStderr(), "dashboard written to %s\n", f)
				}
			}
			if reportDir == "" && listen == "" {
				return nil
			}
			rr, err := report.New(nil)
			if err != nil {
				return err
			}
			ins, err := local.ReportInputs(ctx, st, m, out)
			if err != nil {
				return err
			}
			if reportDir != "" {
				if err := rr.WriteSite(reportDir, ins); err != nil {
					return fmt.Errorf("--report: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "community page written to %s\n", filepath.Join(reportDir, "index.html"))
			}
			if listen == "" {
				return nil
			}
			pages := report.NewHandler(rr)
			if err := pages.Set(ins); err != nil {
				return err
			}
			return serve(ctx, listen, x, pages, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&dir, "filename", "f", "", "folder of manifests (YAML or JSON)")
	cmd.Flags().StringVar(&storeURL, "store", "", "store URL (file:///path, s3://bucket?endpoint=…&region=…&use_path_style=true, or mem://); default a folder in the user cache")
	cmd.Flags().StringVar(&secretsDir, "secrets-dir", "", "folder of Secrets as a pod mounts them (<name>/<key> files); default the Secret manifests of -f")
	cmd.Flags().StringVar(&configMapsDir, "configmaps-dir", "", "folder of ConfigMaps as a pod mounts them (<name>/<key> files); default the ConfigMap manifests of -f")
	cmd.Flags().StringSliceVar(&allowNetworks, "allow-network", nil, "CIDR that http and object store locations may reach although loopback, link-local or cloud metadata (repeatable)")
	cmd.Flags().Int64Var(&maxFetchBytes, "max-fetch-bytes", 0, "largest input fetched from a location (default 4 GiB)")
	cmd.Flags().StringVarP(&output, "output", "o", local.FormatTable, "output format: table, json or csv")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace of manifests that name none")
	cmd.Flags().StringVar(&planDir, "emit-plans", "", "also write the compiled plans (what backbone ingest and aggregate run) into this folder")
	cmd.Flags().StringVar(&asOf, "as-of", "", "date (YYYY-MM-DD) deciding which periods are complete; default today")
	cmd.Flags().StringVar(&listen, "listen", "", "serve the metrics of the results on this address (e.g. :9464) at /metrics, and the community pages at /, and keep running")
	cmd.Flags().StringVar(&dashboards, "dashboards", "", "also write each Initiative's Grafana dashboard (JSON) into this folder")
	cmd.Flags().StringVar(&reportDir, "report", "", "write the community page (a static site: index.html, initiatives/<namespace>/<name>.html and .csv) into this folder")
	cmd.Flags().StringVar(&mopts.Region, "region", "", "value of the constant region label on every series")
	cmd.Flags().IntVar(&mopts.IndicatorCap, "series-cap", metrics.DefaultIndicatorCap, "series an Indicator may publish; over it only its totals are")
	cmd.Flags().IntVar(&mopts.GlobalCap, "global-series-cap", metrics.DefaultGlobalCap, "series all Indicators together may publish; over it the largest publish only their totals")
	return cmd
}

// serve serves x on addr at /metrics, and the community pages at / and /initiatives/,
// until the process is interrupted.
func serve(ctx context.Context, addr string, x *metrics.Exposition, pages http.Handler, log io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	mux := http.NewServeMux()
	mux.Handle("/metrics", x)
	mux.Handle("/", pages)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(log, "serving the community pages on http://%s/\n", ln.Addr())
	fmt.Fprintf(log, "serving metrics on http://%s/metrics\n", ln.Addr())
	return httpserve.Serve(ctx, srv, ln)
}
