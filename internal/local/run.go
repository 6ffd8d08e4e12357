package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/store"
)

// Options are the settings of a local run.
type Options struct {
	Store *store.Store
	// AsOf decides which periods are complete: its calendar date, as a date in each
	// Initiative's time zone (see aggregate.Options); default today.
	AsOf time.Time
	// Log receives progress and warnings (stderr).
	Log io.Writer
	// ProgressEvery is how long an ingestion runs before progress is reported.
	ProgressEvery time.Duration
	// PlanDir, when set, receives the compiled plans as JSON (what the Jobs run).
	PlanDir string
}

// Output is the result of a local run.
type Output struct {
	Snapshots []store.SnapshotManifest
	Results   []*aggregate.Result
	// ResultKeys are the result manifests written to the store, one per Initiative.
	ResultKeys []string
}

// Run ingests every DataSource and aggregates every Initiative of m.
func Run(ctx context.Context, m *Manifests, opts Options) (*Output, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = 2 * time.Second
	}
	out := &Output{}
	for i := range m.Initiatives {
		ini := &m.Initiatives[i]
		var sources []impactv1.DataSource
		var inds []impactv1.Indicator
		for _, ds := range m.DataSources {
			if ds.Namespace == ini.Namespace && ds.Spec.InitiativeRef.Name == ini.Name {
				sources = append(sources, ds)
			}
		}
		for _, ind := range m.Indicators {
			if ind.Namespace == ini.Namespace && ind.Spec.InitiativeRef.Name == ini.Name {
				inds = append(inds, ind)
			}
		}
		res, key, snaps, err := runInitiative(ctx, m, ini, sources, inds, opts)
		out.Snapshots = append(out.Snapshots, snaps...)
		if err != nil {
			return out, err
		}
		out.Results = append(out.Results, res)
		out.ResultKeys = append(out.ResultKeys, key)
	}
	if err := orphans(m); err != nil {
		return out, err
	}
	return out, nil
}

// orphans reports DataSources and Indicators whose Initiative is not among the manifests.
func orphans(m *Manifests) error {
	has := map[string]bool{}
	for _, ini := range m.Initiatives {
		has[ini.Namespace+"/"+ini.Name] = true
	}
	var errs plan.Errors
	for _, ds := range m.DataSources {
		if !has[ds.Namespace+"/"+ds.Spec.InitiativeRef.Name] {
			errs = append(errs, &plan.Error{Kind: "DataSource", Namespace: ds.Namespace, Name: ds.Name, Field: "spec.initiativeRef.name",
				Message: fmt.Sprintf("Initiative %q not found in namespace %q", ds.Spec.InitiativeRef.Name, ds.Namespace)})
		}
	}
	for _, ind := range m.Indicators {
		if !has[ind.Namespace+"/"+ind.Spec.InitiativeRef.Name] {
			errs = append(errs, &plan.Error{Kind: "Indicator", Namespace: ind.Namespace, Name: ind.Name, Field: "spec.initiativeRef.name",
				Message: fmt.Sprintf("Initiative %q not found in namespace %q", ind.Spec.InitiativeRef.Name, ind.Namespace)})
		}
	}
	if len(errs) > 0 {
		return withFiles(m, errs)
	}
	return nil
}

// withFiles prefixes plan errors with the file of their object.
func withFiles(m *Manifests, err error) error {
	var pe plan.Errors
	if !errors.As(err, &pe) {
		return err
	}
	var b bytes.Buffer
	for i, e := range pe {
		if i > 0 {
			b.WriteByte('\n')
		}
		if f := m.File(e.Kind, e.Namespace, e.Name); f != "" {
			fmt.Fprintf(&b, "%s: ", f)
		}
		b.WriteString(e.Error())
	}
	return errors.New(b.String())
}

func runInitiative(ctx context.Context, m *Manifests, ini *impactv1.Initiative, sources []impactv1.DataSource, inds []impactv1.Indicator, opts Options) (*aggregate.Result, string, []store.SnapshotManifest, error) {
	// Plan everything first: no work starts for a spec that cannot succeed.
	ap, err := plan.Aggregate(ini, sources, inds)
	if err != nil {
		return nil, "", nil, withFiles(m, err)
	}
	var snaps []store.SnapshotManifest
	tmp, err := os.MkdirTemp("", "backbone-local-")
	if err != nil {
		return nil, "", nil, err
	}
	defer os.RemoveAll(tmp)
	for i := range sources {
		ds := &sources[i]
		ip, err := plan.Ingest(ini, ds, plan.IngestOptions{AllowFileLocations: true, BaseDir: m.Dir})
		if err != nil {
			return nil, "", snaps, withFiles(m, err)
		}
		if opts.PlanDir != "" {
			if err := writePlan(opts.PlanDir, "ingest-"+ds.Namespace+"-"+ds.Name+".json", ip); err != nil {
				return nil, "", snaps, err
			}
		}
		started := time.Now()
		last := started
		progress := func(rows int64) {
			if now := time.Now(); now.Sub(started) >= opts.ProgressEvery && now.Sub(last) >= time.Second {
				last = now
				el := now.Sub(started).Seconds()
				fmt.Fprintf(opts.Log, "ingesting %s: %d rows, %.0f rows/s\n", ds.Name, rows, float64(rows)/el)
			}
		}
		res, err := ingest.Run(ctx, ip, ingest.Options{Store: opts.Store, TempDir: tmp, Progress: progress})
		if err != nil {
			var np *ingest.NotPromotedError
			if errors.As(err, &np) {
				snaps = append(snaps, res.Manifest)
			}
			return nil, "", snaps, fmt.Errorf("%s: DataSource %s: %w", m.File("DataSource", ds.Namespace, ds.Name), ds.Name, err)
		}
		snaps = append(snaps, res.Manifest)
		if man := res.Manifest; man.RowsRejected > 0 {
			fmt.Fprintf(opts.Log, "%s: %d of %d rows rejected (see %s)\n", ds.Name, man.RowsRejected, man.RowsIn, opts.Store.URI(man.Rejects))
		}
	}
	if opts.PlanDir != "" {
		if err := writePlan(opts.PlanDir, "aggregate-"+ap.Namespace+"-"+ap.Initiative+".json", ap); err != nil {
			return nil, "", snaps, err
		}
	}
	inputs, release, err := aggregate.OpenInputs(ctx, opts.Store, ap, tmp)
	if err != nil {
		return nil, "", snaps, fmt.Errorf("initiative %s: %w", ini.Name, err)
	}
	defer release()
	res, err := aggregate.Run(ctx, ap, inputs, aggregate.Options{AsOf: opts.AsOf})
	if err != nil {
		return nil, "", snaps, fmt.Errorf("initiative %s: %w", ini.Name, err)
	}
	for _, ir := range res.Indicators {
		if ir.NoPeriod > 0 {
			fmt.Fprintf(opts.Log, "%s: %d units have no value in the time column and belong to no period\n", ir.Name, ir.NoPeriod)
		}
	}
	key, _, err := aggregate.WriteResult(ctx, opts.Store, ap, res, tmp)
	if err != nil {
		return nil, "", snaps, err
	}
	return res, key, snaps, nil
}

// writePlan writes a compiled plan as JSON.
func writePlan(dir, name string, v any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644)
}
