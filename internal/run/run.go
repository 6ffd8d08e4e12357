// Package run is the one home of Backbone's run sequences: ingest one DataSource into the
// store, and aggregate one Initiative (open the pinned snapshots → engine → write the
// result). `backbone local`, the Job commands (`backbone ingest`, `backbone aggregate`) and
// the controllers' tests call it; the engine (internal/pipeline) takes readers and returns
// values, and does no store I/O.
package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/backbone-dev/backbone/internal/fetch"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/mapped"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/store/layout"
	"github.com/backbone-dev/backbone/internal/version"
)

// EngineVersion is the version of this build's engine (version.Engine).
func EngineVersion() string { return version.Engine() }

// Ingest ingests the file of p into st: the snapshot, its engine layout, the rejects and
// the manifests. opts.Store is set to st. A snapshot written but not promoted gives its
// manifest and an *ingest.NotPromotedError.
func Ingest(ctx context.Context, st *store.Store, p *spec.Ingest, opts ingest.Options) (*ingest.Result, error) {
	return IngestFetched(ctx, st, p, opts, fetch.Options{})
}

// fetchRecord is what the store keeps of a source's last fetch: the input's validator and
// the snapshot it gave.
type fetchRecord struct {
	Validator fetch.Validator `json:"validator"`
	// Plan is the hash of the ingestion plan: a changed schema ingests the same input again.
	Plan     string `json:"plan"`
	Snapshot string `json:"snapshot"`
}

// planHash identifies what an ingestion plan does with its input (where the input is
// and the paths of mounted Secrets are left out: the validator names its URL).
func planHash(p *spec.Ingest) string {
	q := *p
	q.Path, q.Fetch = "", nil
	b, _ := json.Marshal(&q)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// IngestFetched fetches the input of p (an https download, an object, a ConfigMap key, a
// query's rows; nothing for a file) and ingests it into st. An input whose validator
// (ETag, Last-Modified) matches the one recorded with the source's promoted snapshot is
// neither fetched nor ingested again: the promoted snapshot is the result, so the
// aggregation that reads it is not repeated either.
//
// After a promoted ingestion (or an unchanged input) the source's retention is applied
// (PruneSnapshots with the plan's Retention).
func IngestFetched(ctx context.Context, st *store.Store, p *spec.Ingest, opts ingest.Options, fopts fetch.Options) (*ingest.Result, error) {
	res, err := ingestFetched(ctx, st, p, opts, fopts)
	if err != nil {
		return res, err
	}
	if _, err := PruneSnapshots(ctx, st, p.Namespace, p.Initiative, p.Source, p.Retention); err != nil {
		return res, fmt.Errorf("snapshot %s promoted, but %w", res.Manifest.ID, err)
	}
	return res, nil
}

func ingestFetched(ctx context.Context, st *store.Store, p *spec.Ingest, opts ingest.Options, fopts fetch.Options) (*ingest.Result, error) {
	opts.Store = st
	if p.Fetch == nil {
		return ingest.Run(ctx, p, opts)
	}
	if fopts.TempDir == "" {
		fopts.TempDir = opts.TempDir
	}
	prefix := layout.SourcePrefix(p.Namespace, p.Initiative, p.Source)
	recKey := path.Join(prefix, "fetch.json")
	var rec fetchRecord
	var latest layout.SnapshotManifest
	var prev *fetch.Validator
	if err := st.GetJSON(ctx, recKey, &rec); err == nil {
		if err := st.GetJSON(ctx, path.Join(prefix, "latest.json"), &latest); err == nil && latest.ID == rec.Snapshot && rec.Plan == planHash(p) {
			prev = &rec.Validator
		} else if err != nil && !errors.Is(err, layout.ErrNotFound) {
			return nil, fmt.Errorf("DataSource %s/%s: store: %w", p.Namespace, p.Source, err)
		}
	} else if !errors.Is(err, layout.ErrNotFound) {
		return nil, fmt.Errorf("DataSource %s/%s: store: %w", p.Namespace, p.Source, err)
	}
	in, err := fetch.Fetch(ctx, p, prev, fopts)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	if in.Unchanged {
		key := path.Join(prefix, "snapshots", strings.TrimPrefix(latest.ID, "sha256:")+".json")
		return &ingest.Result{Manifest: latest, ManifestKey: key}, nil
	}
	q := *p
	q.Path, q.Format, q.Fetch = in.Path, in.Format, nil
	res, err := ingest.Run(ctx, &q, opts)
	if err != nil {
		return res, err
	}
	if in.Validator.ETag != "" || in.Validator.LastModified != "" {
		if err := st.PutJSON(ctx, recKey, fetchRecord{Validator: in.Validator, Plan: planHash(p), Snapshot: res.Manifest.ID}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// AggregateOptions are the settings of one aggregation.
type AggregateOptions struct {
	// TempDir receives snapshots downloaded from a remote store; default os.TempDir().
	TempDir string
	// Workers scanning each snapshot; default GOMAXPROCS. The result does not depend on it.
	Workers int
	// Recompute computes and writes the result even when the store holds it already.
	Recompute bool
	// Now stamps the result, and gives the as-of date of a plan that names none; default
	// time.Now.
	Now func() time.Time
	// Engine names the engine version in the result's id; default EngineVersion().
	Engine string
}

// Aggregated is the outcome of an aggregation.
type Aggregated struct {
	// Key is the key of the result's manifest.
	Key      string
	Manifest *result.Manifest
	// Reused says the store already held the result of this plan: nothing was computed.
	Reused bool
	// Result is what the engine computed; nil when Reused (result.Read reads it).
	Result *aggregate.Result
}

// Aggregate computes every indicator of the plan from the snapshots it pins and writes the
// result. A plan without an as-of date is computed as of today in its time zone (the
// date is written into the plan the result records). When the store already holds the
// result of the same plan and engine, it is not computed again, unless opts.Recompute.
func Aggregate(ctx context.Context, st *store.Store, plan *spec.Aggregate, opts AggregateOptions) (*Aggregated, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Engine == "" {
		opts.Engine = EngineVersion()
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	p := *plan
	if p.AsOf == "" {
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("initiative %s/%s: time zone %q: %w", p.Namespace, p.Initiative, p.TimeZone, err)
		}
		p.AsOf = opts.Now().In(loc).Format(time.DateOnly)
	}
	if un := p.Unpinned(); len(un) > 0 {
		return nil, fmt.Errorf("initiative %s/%s: the aggregation plan pins no snapshot of source %s: a plan names the snapshot id of every source it reads (inputs)",
			p.Namespace, p.Initiative, strings.Join(quote(un), ", "))
	}
	key, exists, err := result.Lookup(ctx, st, &p, opts.Engine)
	if err != nil {
		return nil, err
	}
	if exists && !opts.Recompute {
		man, err := result.ReadManifest(ctx, st, key)
		if err != nil {
			return nil, err
		}
		return &Aggregated{Key: key, Manifest: man, Reused: true}, nil
	}
	inputs, release, err := OpenInputs(ctx, st, &p, opts.TempDir)
	if err != nil {
		return nil, fmt.Errorf("initiative %s/%s: %w", p.Namespace, p.Initiative, err)
	}
	defer release()
	res, err := aggregate.Run(ctx, &p, inputs, aggregate.Options{Workers: opts.Workers})
	if err != nil {
		return nil, fmt.Errorf("initiative %s/%s: %w", p.Namespace, p.Initiative, err)
	}
	key, man, err := result.Write(ctx, st, &p, opts.Engine, res, opts.Now())
	if err != nil {
		return nil, fmt.Errorf("initiative %s/%s: %w", p.Namespace, p.Initiative, err)
	}
	return &Aggregated{Key: key, Manifest: man, Result: res}, nil
}

// OpenInputs opens the snapshot the plan pins of every source it reads: its manifest, its
// engine layout, and its Parquet file when the plan reads text from it, downloaded into
// tmp first when the store is remote. It fails naming the source and the snapshot when
// one is not in the store. The returned function closes everything.
func OpenInputs(ctx context.Context, st *store.Store, p *spec.Aggregate, tmp string) (map[string]aggregate.Input, func(), error) {
	inputs := map[string]aggregate.Input{}
	var closers []func()
	release := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, name := range p.Sources() {
		in, closer, err := openInput(ctx, st, p, name, tmp)
		closers = append(closers, closer)
		if err != nil {
			release()
			return nil, nil, err
		}
		inputs[name] = in
	}
	return inputs, release, nil
}

// openInput opens the pinned snapshot of one source. The returned function closes what
// was opened, also on error.
func openInput(ctx context.Context, st *store.Store, p *spec.Aggregate, name, tmp string) (aggregate.Input, func(), error) {
	var closers []func()
	release := func() {
		for _, c := range closers {
			c()
		}
	}
	id, ok := p.Snapshot(name)
	if !ok {
		return aggregate.Input{}, release, fmt.Errorf("source %q: the plan pins no snapshot of it", name)
	}
	key := layout.SnapshotManifestKey(p.Namespace, p.Initiative, name, id)
	m := &store.SnapshotManifest{}
	if err := st.GetJSON(ctx, key, m); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return aggregate.Input{}, release, fmt.Errorf("source %q: snapshot %s is not in the store (no manifest at %s)", name, id, st.URI(key))
		}
		return aggregate.Input{}, release, fmt.Errorf("source %q: snapshot %s: %w", name, id, err)
	}
	if m.ID != id {
		return aggregate.Input{}, release, fmt.Errorf("source %q: the manifest at %s describes snapshot %s, not %s", name, key, m.ID, id)
	}
	if !m.Promoted {
		return aggregate.Input{}, release, fmt.Errorf("source %q: snapshot %s was not promoted: %s", name, id, m.Reason)
	}
	in := aggregate.Input{Manifest: m}
	type object struct {
		key string
		to  *aggregate.ReadAtSeeker
	}
	files := []object{{m.Engine, &in.Engine}}
	if aggregate.NeedsParquet(p, name, m) {
		files = append(files, object{m.Parquet, &in.Parquet})
	}
	for n, o := range files {
		open := OpenObject
		if n == 0 {
			open = openMapped // the engine layout, read in place
		}
		f, closer, err := open(ctx, st, o.key, tmp)
		if err != nil {
			return aggregate.Input{}, release, fmt.Errorf("source %q: snapshot %s: %w", name, id, err)
		}
		closers = append(closers, closer)
		*o.to = f
	}
	return in, release, nil
}

// OpenObject opens an object of the store as a local file, downloading it into tmp first
// when the store is remote. The returned function closes it and removes any download.
func OpenObject(ctx context.Context, st *store.Store, key, tmp string) (aggregate.ReadAtSeeker, func(), error) {
	return openLocal(ctx, st, key, tmp, func(name string) (localFile, error) { return os.Open(name) })
}

// mapLimit is the largest engine layout read in place. A mapped file's pages count in the
// process's resident memory as they are read, so a larger layout is read batch by batch
// into recycled buffers instead, and the aggregate's memory stays flat whatever the
// snapshot's size.
var mapLimit int64 = 128 << 20

// openMapped is OpenObject with the file mapped into memory when it is at most mapLimit
// bytes: the engine then reads its record batches in place. The store's objects are
// immutable, as mapping requires.
func openMapped(ctx context.Context, st *store.Store, key, tmp string) (aggregate.ReadAtSeeker, func(), error) {
	return openLocal(ctx, st, key, tmp, func(name string) (localFile, error) {
		if fi, err := os.Stat(name); err == nil && fi.Size() > mapLimit {
			return os.Open(name)
		}
		return mapped.Open(name)
	})
}

type localFile interface {
	aggregate.ReadAtSeeker
	Close() error
}

func openLocal(ctx context.Context, st *store.Store, key, tmp string, open func(string) (localFile, error)) (aggregate.ReadAtSeeker, func(), error) {
	file, fetched, err := st.Fetch(ctx, key, tmp)
	if err != nil {
		return nil, nil, err
	}
	f, err := open(file)
	if err != nil {
		if fetched {
			os.Remove(file)
		}
		return nil, nil, fmt.Errorf("opening %s: %w", key, err)
	}
	return f, func() {
		f.Close()
		if fetched {
			os.Remove(file)
		}
	}, nil
}

func quote(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
