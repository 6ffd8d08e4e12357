// Package jobcmd holds the commands the operator's Jobs run, ingest and aggregate, and
// version. Both binaries serve them: backbone, with the manager and local mode, and
// backbone-job, the lean one the Jobs' containers start, which links no Kubernetes client
// (a process that starts in half the time: docs/image.md).
package jobcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/gcpolicy"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"
)

// ParseAsOf reads the --as-of flag, a calendar date in the Initiative's time zone (the
// engine takes the date as written, never shifting it across zones); empty means today
// (the zero time).
func ParseAsOf(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--as-of: %q is not a date (YYYY-MM-DD)", s)
	}
	return t, nil
}

// ReadPlan decodes a plan file, refusing unknown fields so a plan from another version
// fails loudly.
func ReadPlan(file string, v any) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("--plan: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("--plan %s: %w", file, err)
	}
	return nil
}

// Ingest returns the ingest command.
func Ingest() *cobra.Command {
	var planFile, storeURL string
	cmd := &cobra.Command{
		Use:   "ingest --plan FILE --store URL",
		Short: "Ingest one DataSource into a snapshot (what the ingestion CronJob runs)",
		Long: `Reads a compiled ingestion plan (JSON; backbone local --emit-plans writes them), validates
and maps every row, writes the Parquet snapshot, its engine layout and the rejects file to the
store, then the manifest. Prints the manifest as JSON. Exits non-zero when the snapshot is
not promoted (too many rejected rows).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p spec.Ingest
			if err := ReadPlan(planFile, &p); err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := run.Ingest(cmd.Context(), st, &p, ingest.Options{})
			var np *ingest.NotPromotedError
			if err != nil && !errors.As(err, &np) {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if encErr := enc.Encode(res.Manifest); encErr != nil {
				return encErr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&planFile, "plan", "", "ingestion plan (JSON)")
	cmd.Flags().StringVar(&storeURL, "store", "", "store URL (file:///path, s3://…)")
	_ = cmd.MarkFlagRequired("plan")
	_ = cmd.MarkFlagRequired("store")
	return cmd
}

// Aggregate returns the aggregate command.
func Aggregate() *cobra.Command {
	var planFile, storeURL, asOf string
	var recompute bool
	cmd := &cobra.Command{
		Use:   "aggregate --plan FILE --store URL",
		Short: "Compute every indicator of one Initiative (what the aggregation Job runs)",
		Long: `Reads a compiled aggregation plan (JSON), opens exactly the snapshots it pins, computes all
the Initiative's indicators in one pass, and writes the result to the store: the cells table,
the per-indicator results (headline, on-track, equity) and, last, the manifest naming what it
was computed from. Prints the result manifest as JSON.

The result's id is the hash of the plan and the engine version: when the store already
holds it, nothing is computed again (unless --recompute).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A short batch process: no collection below a first goal, few after it
			// (GOGC and GOMEMLIMIT, when set, take precedence).
			gcpolicy.ForAggregate()
			var p spec.Aggregate
			if err := ReadPlan(planFile, &p); err != nil {
				return err
			}
			if asOf != "" {
				if _, err := ParseAsOf(asOf); err != nil {
					return err
				}
				p.AsOf = asOf
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			tmp, err := os.MkdirTemp("", "backbone-aggregate-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			out, err := run.Aggregate(ctx, st, &p, run.AggregateOptions{TempDir: tmp, Recompute: recompute})
			if err != nil {
				return err
			}
			if out.Reused {
				fmt.Fprintf(cmd.ErrOrStderr(), "result %s is already in the store (%s): not computed again\n", out.Manifest.ID, st.URI(out.Key))
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out.Manifest)
		},
	}
	cmd.Flags().StringVar(&planFile, "plan", "", "aggregation plan (JSON)")
	cmd.Flags().StringVar(&storeURL, "store", "", "store URL (file:///path, s3://…)")
	cmd.Flags().StringVar(&asOf, "as-of", "", "date (YYYY-MM-DD, in the Initiative's time zone) deciding which periods are complete; default the plan's, else today")
	cmd.Flags().BoolVar(&recompute, "recompute", false, "compute and write the result even when the store holds it")
	_ = cmd.MarkFlagRequired("plan")
	_ = cmd.MarkFlagRequired("store")
	return cmd
}
