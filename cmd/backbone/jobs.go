package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// parseAsOf reads the --as-of flag, a calendar date in the Initiative's time zone (the
// engine takes the date as written, never shifting it across zones); empty means today
// (the zero time).
func parseAsOf(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--as-of: %q is not a date (YYYY-MM-DD)", s)
	}
	return t, nil
}

// readPlan decodes a plan file, refusing unknown fields so a plan from another version
// fails loudly.
func readPlan(file string, v any) error {
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

func newIngestCommand() *cobra.Command {
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
			if err := readPlan(planFile, &p); err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := ingest.Run(cmd.Context(), &p, ingest.Options{Store: st})
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

func newAggregateCommand() *cobra.Command {
	var planFile, storeURL, asOf string
	cmd := &cobra.Command{
		Use:   "aggregate --plan FILE --store URL",
		Short: "Compute every indicator of one Initiative (what the aggregation Job runs)",
		Long: `Reads a compiled aggregation plan (JSON), opens the promoted snapshot of every source it
reads, computes all the Initiative's indicators in one pass, and writes the result table and
its manifest to the store. Prints the result manifest as JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p spec.Aggregate
			if err := readPlan(planFile, &p); err != nil {
				return err
			}
			t, err := parseAsOf(asOf)
			if err != nil {
				return err
			}
			opts := aggregate.Options{AsOf: t}
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
			inputs, release, err := aggregate.OpenInputs(ctx, st, &p, tmp)
			if err != nil {
				return err
			}
			defer release()
			res, err := aggregate.Run(ctx, &p, inputs, opts)
			if err != nil {
				return err
			}
			_, man, err := aggregate.WriteResult(ctx, st, &p, res, tmp)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(man)
		},
	}
	cmd.Flags().StringVar(&planFile, "plan", "", "aggregation plan (JSON)")
	cmd.Flags().StringVar(&storeURL, "store", "", "store URL (file:///path, s3://…)")
	cmd.Flags().StringVar(&asOf, "as-of", "", "date (YYYY-MM-DD) deciding which periods are complete; default today")
	_ = cmd.MarkFlagRequired("plan")
	_ = cmd.MarkFlagRequired("store")
	return cmd
}
