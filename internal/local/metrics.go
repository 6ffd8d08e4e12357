package local

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// Publish puts the results and snapshots of a local run into x: what
// `backbone local --listen` serves.
func Publish(ctx context.Context, st *store.Store, out *Output, x *metrics.Exposition) error {
	for i, key := range out.ResultKeys {
		man, err := result.ReadManifest(ctx, st, key)
		if err != nil {
			return err
		}
		if err := x.SetResult(man, out.Results[i]); err != nil {
			return err
		}
		var snaps []store.SnapshotManifest
		for _, s := range out.Snapshots {
			if s.Namespace == man.Namespace && s.Initiative == man.Initiative {
				snaps = append(snaps, s)
			}
		}
		x.SetSources(man.Namespace, man.Initiative, snaps, man.WithheldRowCounts)
	}
	return nil
}

// PrintSeries writes the number of series each Indicator publishes: a preview of the
// cardinality before anything is applied to a cluster.
func PrintSeries(w io.Writer, x *metrics.Exposition) error {
	opts := x.Options()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDICATOR\tSERIES\tNOTE")
	total := 0
	for _, s := range x.Series() {
		note := ""
		switch {
		case s.Capped && s.ByIndicator:
			note = fmt.Sprintf("totals only: %d series with its groups exceed the cap of %d", s.Full, opts.IndicatorCap)
		case s.Capped:
			note = fmt.Sprintf("totals only: %d series with its groups exceed the global cap of %d", s.Full, opts.GlobalCap)
		}
		fmt.Fprintf(tw, "%s/%s/%s\t%d\t%s\n", s.Namespace, s.Initiative, s.Indicator, s.Published, note)
		total += s.Published
	}
	fmt.Fprintf(tw, "total\t%d\t\n", total)
	return tw.Flush()
}
