package aggregate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// Sources returns the names of the sources a plan reads, sorted.
func Sources(p *spec.Aggregate) []string {
	seen := map[string]bool{}
	for _, ind := range p.Indicators {
		for _, op := range operands(ind) {
			seen[op.Source] = true
		}
	}
	return sortedKeys(seen)
}

// OpenInputs opens the promoted snapshot (latest.json) of every source the plan reads: its
// engine layout, and its Parquet file when the plan reads text from it, downloaded into
// tmp first when the store is remote. The returned function closes everything.
func OpenInputs(ctx context.Context, st *store.Store, p *spec.Aggregate, tmp string) (map[string]Input, func(), error) {
	inputs := map[string]Input{}
	var closers []func()
	release := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, name := range Sources(p) {
		key := path.Join(store.SourcePrefix(p.Namespace, p.Initiative, name), "latest.json")
		m := &store.SnapshotManifest{}
		if err := st.GetJSON(ctx, key, m); err != nil {
			release()
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil, fmt.Errorf("source %q has no promoted snapshot: %w", name, err)
			}
			return nil, nil, fmt.Errorf("source %q: reading its promoted snapshot: %w", name, err)
		}
		in := Input{Manifest: m}
		// The objects to open, and where they go.
		type object struct {
			key string
			to  *ReadAtSeeker
		}
		files := []object{{m.Engine, &in.Engine}}
		if NeedsParquet(p, name, m) {
			files = append(files, object{m.Parquet, &in.Parquet})
		}
		for _, o := range files {
			f, closer, err := OpenObject(ctx, st, o.key, tmp)
			if err != nil {
				release()
				return nil, nil, err
			}
			closers = append(closers, closer)
			*o.to = f
		}
		inputs[name] = in
	}
	return inputs, release, nil
}

// OpenObject opens an object of the store as a local file, downloading it into tmp first
// when the store is remote. The returned function closes it and removes any download.
func OpenObject(ctx context.Context, st *store.Store, key, tmp string) (*os.File, func(), error) {
	file, fetched, err := st.Fetch(ctx, key, tmp)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		if fetched {
			os.Remove(file)
		}
		return nil, nil, err
	}
	return f, func() {
		f.Close()
		if fetched {
			os.Remove(file)
		}
	}, nil
}

// WriteResult writes the result table and then its manifest (so a manifest always names a
// complete table) under <namespace>/<initiative>/results/, and points latest.json at it.
// It returns the manifest's key.
func WriteResult(ctx context.Context, st *store.Store, p *spec.Aggregate, res *Result, tmp string) (string, *store.ResultManifest, error) {
	f, err := os.CreateTemp(tmp, "result-*.parquet")
	if err != nil {
		return "", nil, err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	if err := WriteParquet(io.MultiWriter(f, h), res.Cells); err != nil {
		f.Close()
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		return "", nil, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	prefix := path.Join(store.Prefix(p.Namespace, p.Initiative), "results")
	man := &store.ResultManifest{
		ID:         "sha256:" + sum,
		Namespace:  p.Namespace,
		Initiative: p.Initiative,
		Created:    time.Now().UTC(),
		Parquet:    path.Join(prefix, sum+".parquet"),
		Cells:      len(res.Cells),
		Inputs:     res.Inputs,
		SpecHashes: map[string]string{},
	}
	for _, c := range res.Cells {
		if c.Suppressed {
			man.Suppressed++
		}
	}
	for _, ind := range p.Indicators {
		man.SpecHashes[ind.Name] = ind.SpecHash
	}
	if err := st.PutFile(ctx, man.Parquet, f.Name()); err != nil {
		return "", nil, err
	}
	key := path.Join(prefix, sum+".json")
	if err := st.PutJSON(ctx, key, man); err != nil {
		return "", nil, err
	}
	if err := st.PutJSON(ctx, path.Join(prefix, "latest.json"), man); err != nil {
		return "", nil, err
	}
	return key, man, nil
}
