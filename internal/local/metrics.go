package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
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
		if i < len(out.SeriesCaps) {
			x.SetIndicatorCaps(man.Namespace, man.Initiative, out.SeriesCaps[i])
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
			note = fmt.Sprintf("totals only: %d series with its groups exceed the cap of %d", s.Full, s.Cap)
		case s.Capped:
			note = fmt.Sprintf("totals only: %d series with its groups exceed the global cap of %d", s.Full, opts.GlobalCap)
		}
		fmt.Fprintf(tw, "%s/%s/%s\t%d\t%s\n", s.Namespace, s.Initiative, s.Indicator, s.Published, note)
		total += s.Published
	}
	fmt.Fprintf(tw, "total\t%d\t\n", total)
	return tw.Flush()
}

// WriteDashboards writes the Grafana dashboard of every Initiative of a local run into dir,
// one <namespace>-<initiative>.json (or <initiative>.json in the default namespace) each,
// and returns the files written.
func WriteDashboards(dir string, m *Manifests, out *Output) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--dashboards: %w", err)
	}
	var files []string
	for i := range m.Initiatives {
		ini := &m.Initiatives[i]
		var inds []impactv1.Indicator
		for _, ind := range m.Indicators {
			if ind.Namespace == ini.Namespace && ind.Spec.InitiativeRef.Name == ini.Name {
				inds = append(inds, ind)
			}
		}
		var res *aggregate.Result
		if i < len(out.Results) {
			res = out.Results[i]
		}
		b, err := dashboard.JSON(ini, inds, res)
		if err != nil {
			return files, err
		}
		name := ini.Name + ".json"
		if ini.Namespace != "default" {
			name = ini.Namespace + "-" + name
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return files, fmt.Errorf("--dashboards: %w", err)
		}
		files = append(files, file)
	}
	return files, nil
}
