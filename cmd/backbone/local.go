package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/store"
)

func newLocalCommand() *cobra.Command {
	var (
		dir, storeURL, output, namespace, asOf, planDir string
	)
	cmd := &cobra.Command{
		Use:   "local -f DIR",
		Short: "Run the pipeline on the manifests in a folder, without a cluster",
		Long: `Reads every Initiative, DataSource and Indicator manifest in DIR, validates them as the
API server would (the CRDs' schemas and CEL rules) and with the cross-object checks, ingests
every DataSource into a local store, aggregates every Initiative's indicators and prints
the cells.`,
		Example: "  backbone local -f config/samples\n  backbone local -f config/samples --output json",
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
			t, err := parseAsOf(asOf)
			if err != nil {
				return err
			}
			opts := local.Options{Log: cmd.ErrOrStderr(), PlanDir: planDir, AsOf: t}
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
			return local.Print(cmd.OutOrStdout(), output, out.Results)
		},
	}
	cmd.Flags().StringVarP(&dir, "filename", "f", "", "folder of manifests (YAML or JSON)")
	cmd.Flags().StringVar(&storeURL, "store", "", "store URL (file:///path or mem://); default a folder in the user cache")
	cmd.Flags().StringVarP(&output, "output", "o", local.FormatTable, "output format: table, json or csv")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace of manifests that name none")
	cmd.Flags().StringVar(&planDir, "emit-plans", "", "also write the compiled plans (what backbone ingest and aggregate run) into this folder")
	cmd.Flags().StringVar(&asOf, "as-of", "", "date (YYYY-MM-DD) deciding which periods are complete; default today")
	return cmd
}
