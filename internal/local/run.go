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
	"github.com/backbone-dev/backbone/internal/fetch"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"
)

// Options are the settings of a local run.
type Options struct {
	Store *store.Store
	// AsOf decides which periods are complete: its calendar date, as written, is the date
	// in each Initiative's time zone. Default today.
	AsOf time.Time
	// Log receives progress and warnings (stderr).
	Log io.Writer
	// ProgressEvery is how long an ingestion runs before progress is reported.
	ProgressEvery time.Duration
	// PlanDir, when set, receives the compiled plans as JSON (what the Jobs run).
	PlanDir string
	// SecretsDir and ConfigMapsDir hold Secrets and ConfigMaps as a pod mounts them (a
	// folder per name, a file per key). By default the Secrets and ConfigMaps of the
	// manifests' folder are written there.
	SecretsDir, ConfigMapsDir string
	// AllowedNetworks may be reached by http and object store locations although they are
	// loopback, link-local or cloud metadata addresses.
	AllowedNetworks []string
	// MaxFetchBytes limits a fetched input; 0 means the fetch step's default.
	MaxFetchBytes int64
	// Fetch are the fetch step's settings (certificate authorities, retries).
	Fetch fetch.Options
}

// Output is the result of a local run.
type Output struct {
	Snapshots []store.SnapshotManifest
	Results   []*aggregate.Result
	// ResultKeys are the result manifests written to the store, one per Initiative.
	ResultKeys []string
	// SeriesCaps are the Indicators' own series caps (spec.publish.maxSeries) of each
	// Initiative, in the order of ResultKeys.
	SeriesCaps []map[string]int
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
		out.SeriesCaps = append(out.SeriesCaps, metrics.IndicatorCaps(inds))
	}
	if err := plan.Orphans(m.Initiatives, m.DataSources, m.Indicators); err != nil {
		return out, withFiles(m, err)
	}
	return out, nil
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
	tmp, err := os.MkdirTemp("", "backbone-local-")
	if err != nil {
		return nil, "", nil, err
	}
	defer os.RemoveAll(tmp)
	if opts.SecretsDir == "" || opts.ConfigMapsDir == "" {
		if err := mount(m, ini.Namespace, tmp, &opts); err != nil {
			return nil, "", nil, err
		}
	}
	snaps, err := ingestAll(ctx, m, ini, sources, opts, tmp)
	if err != nil {
		return nil, "", snaps, err
	}
	// The aggregation reads exactly the snapshots just ingested.
	ids := map[string]string{}
	for _, s := range snaps {
		ids[s.Source] = s.ID
	}
	if err := plan.Pin(ap, ids); err != nil {
		return nil, "", snaps, err
	}
	if !opts.AsOf.IsZero() {
		ap.AsOf = opts.AsOf.Format(time.DateOnly)
	}
	if opts.PlanDir != "" {
		if err := writePlan(opts.PlanDir, "aggregate-"+ap.Namespace+"-"+ap.Initiative+".json", ap); err != nil {
			return nil, "", snaps, err
		}
	}
	agg, err := run.Aggregate(ctx, opts.Store, ap, run.AggregateOptions{TempDir: tmp})
	if err != nil {
		return nil, "", snaps, err
	}
	// What is printed is what the store holds: the result as every other surface reads it.
	_, res, err := result.Read(ctx, opts.Store, agg.Key)
	if err != nil {
		return nil, "", snaps, err
	}
	for _, ir := range res.Indicators {
		if ir.NoPeriod > 0 {
			fmt.Fprintf(opts.Log, "%s: %d units have no value in the time column and belong to no period\n", ir.Name, ir.NoPeriod)
		}
	}
	return res, agg.Key, snaps, nil
}

// ingestAll ingests every DataSource of an Initiative.
func ingestAll(ctx context.Context, m *Manifests, ini *impactv1.Initiative, sources []impactv1.DataSource, opts Options, tmp string) ([]store.SnapshotManifest, error) {
	var snaps []store.SnapshotManifest
	for i := range sources {
		ds := &sources[i]
		ip, err := plan.Ingest(ini, ds, plan.IngestOptions{
			AllowFileLocations: true, BaseDir: m.Dir,
			SecretsDir: opts.SecretsDir, ConfigMapsDir: opts.ConfigMapsDir,
			AllowedNetworks: opts.AllowedNetworks, MaxFetchBytes: opts.MaxFetchBytes,
		})
		if err != nil {
			return snaps, withFiles(m, err)
		}
		if opts.PlanDir != "" {
			if err := writePlan(opts.PlanDir, "ingest-"+ds.Namespace+"-"+ds.Name+".json", ip); err != nil {
				return snaps, err
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
		res, err := run.IngestFetched(ctx, opts.Store, ip, ingest.Options{TempDir: tmp, Progress: progress}, opts.Fetch)
		if err != nil {
			var np *ingest.NotPromotedError
			if errors.As(err, &np) {
				snaps = append(snaps, res.Manifest)
			}
			var fe *fetch.Error
			if errors.As(err, &fe) {
				// A fetch error names the DataSource already.
				return snaps, fmt.Errorf("%s: %w", m.File("DataSource", ds.Namespace, ds.Name), err)
			}
			return snaps, fmt.Errorf("%s: DataSource %s: %w", m.File("DataSource", ds.Namespace, ds.Name), ds.Name, err)
		}
		snaps = append(snaps, res.Manifest)
		if man := res.Manifest; man.RowsRejected > 0 {
			fmt.Fprintf(opts.Log, "%s: %d of %d rows rejected (see %s)\n", ds.Name, man.RowsRejected, man.RowsIn, opts.Store.URI(man.Rejects))
		}
	}
	return snaps, nil
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

// mount writes the folder's Secrets and ConfigMaps of namespace as a pod would see them
// mounted: <tmp>/secrets/<name>/<key>, <tmp>/configmaps/<name>/<key>.
func mount(m *Manifests, namespace, tmp string, opts *Options) error {
	write := func(dir, name, key string, b []byte) error {
		if key == "" || key == "." || key == ".." || filepath.Base(key) != key {
			return fmt.Errorf("%s %q: key %q is not a file name", filepath.Base(dir), name, key)
		}
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(d, key), b, 0o600)
	}
	if opts.SecretsDir == "" {
		opts.SecretsDir = filepath.Join(tmp, "secrets")
		for _, s := range m.Secrets {
			if s.Namespace != namespace {
				continue
			}
			for k, v := range s.Data {
				if err := write(opts.SecretsDir, s.Name, k, v); err != nil {
					return err
				}
			}
			for k, v := range s.StringData {
				if err := write(opts.SecretsDir, s.Name, k, []byte(v)); err != nil {
					return err
				}
			}
		}
	}
	if opts.ConfigMapsDir == "" {
		opts.ConfigMapsDir = filepath.Join(tmp, "configmaps")
		for _, c := range m.ConfigMaps {
			if c.Namespace != namespace {
				continue
			}
			for k, v := range c.Data {
				if err := write(opts.ConfigMapsDir, c.Name, k, []byte(v)); err != nil {
					return err
				}
			}
			for k, v := range c.BinaryData {
				if err := write(opts.ConfigMapsDir, c.Name, k, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
