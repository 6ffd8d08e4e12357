package run

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

// PruneSnapshots applies a source's retention to its snapshots in the store (the
// manifests under sources/<source>/snapshots/): the keep newest promoted snapshots (by
// creation time) stay, and so do the promoted one (latest.json) and the one the
// Initiative's latest result read, whatever their age. A snapshot that was refused (not
// promoted: too many rejected rows, or too few rows) stays while it is newer than the
// promoted one, since the DataSource's status reports its rejects then; an older one goes.
// Every other snapshot is removed, its manifest first (so a reader never finds a manifest
// naming a missing file), then its Parquet file, engine layout and rejects. keep < 1
// keeps everything. It returns the ids removed, oldest first.
func PruneSnapshots(ctx context.Context, st *store.Store, namespace, initiative, source string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, nil
	}
	fail := func(err error) error {
		return fmt.Errorf("DataSource %s/%s: retention: %w", namespace, source, err)
	}
	prefix := layout.SourcePrefix(namespace, initiative, source)
	keys, err := st.List(ctx, prefix+"/snapshots/")
	if err != nil {
		return nil, fail(err)
	}
	var all []*store.SnapshotManifest
	for _, key := range keys {
		if !strings.HasSuffix(key, ".json") {
			continue
		}
		m := &store.SnapshotManifest{}
		if err := st.GetJSON(ctx, key, m); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue // removed meanwhile
			}
			return nil, fail(err)
		}
		if m.ID == "" || key != layout.SnapshotManifestKey(namespace, initiative, source, m.ID) {
			return nil, fail(fmt.Errorf("%s is not the manifest of snapshot %q: nothing is removed", st.URI(key), m.ID))
		}
		all = append(all, m)
	}
	// Newest first; the id breaks ties so the choice does not depend on listing order.
	sort.Slice(all, func(i, j int) bool {
		if !all[i].Created.Equal(all[j].Created) {
			return all[i].Created.After(all[j].Created)
		}
		return all[i].ID > all[j].ID
	})

	kept := map[string]bool{}
	var latest store.SnapshotManifest
	switch err := st.GetJSON(ctx, path.Join(prefix, "latest.json"), &latest); {
	case err == nil:
		kept[latest.ID] = true
	case !errors.Is(err, store.ErrNotFound):
		return nil, fail(err)
	}
	promoted := 0
	for _, m := range all {
		switch {
		case m.Promoted && promoted < keep:
			kept[m.ID] = true
			promoted++
		case !m.Promoted && (latest.ID == "" || m.Created.After(latest.Created)):
			kept[m.ID] = true
		}
	}
	var res result.Manifest
	switch err := st.GetJSON(ctx, result.LatestKey(namespace, initiative), &res); {
	case err == nil:
		if id := res.Inputs[source]; id != "" {
			kept[id] = true
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, fail(err)
	}

	// A file a kept snapshot names is never removed, even if a removed one names it too.
	keptFiles := map[string]bool{}
	for _, m := range all {
		if kept[m.ID] {
			for _, f := range snapshotFiles(m) {
				keptFiles[f] = true
			}
		}
	}
	var removed []string
	for i := len(all) - 1; i >= 0; i-- {
		m := all[i]
		if kept[m.ID] {
			continue
		}
		if err := st.Delete(ctx, layout.SnapshotManifestKey(namespace, initiative, source, m.ID)); err != nil {
			return removed, fail(err)
		}
		for _, f := range snapshotFiles(m) {
			if keptFiles[f] {
				continue
			}
			if err := st.Delete(ctx, f); err != nil {
				return removed, fail(err)
			}
		}
		removed = append(removed, m.ID)
	}
	return removed, nil
}

// snapshotFiles are the keys of the files a snapshot's manifest names.
func snapshotFiles(m *store.SnapshotManifest) []string {
	var out []string
	for _, k := range []string{m.Parquet, m.Engine, m.Rejects} {
		// Only the source's own folder is touched, whatever a manifest names.
		if k != "" && strings.HasPrefix(k, layout.SourcePrefix(m.Namespace, m.Initiative, m.Source)+"/") {
			out = append(out, k)
		}
	}
	return out
}
