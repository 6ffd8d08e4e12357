package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// Runs on one DataSource and one file:// store write and read latest.json at the same
// time. Every read sees one whole manifest, never an empty or half-written one: objects
// are written to a temporary file and renamed, and no metadata sidecar is rewritten in
// place beside them.
func TestFileStoreConcurrentWritesAndReads(t *testing.T) {
	ctx := context.Background()
	url, err := FileURL(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	// Separate Store values, as separate processes would have.
	open := func() *Store {
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	const key = "ns/ini/sources/src/latest.json"
	if err := open().PutJSON(ctx, key, SnapshotManifest{ID: "sha256:0", RowsIn: 0}); err != nil {
		t.Fatal(err)
	}
	const writers, readers, rounds = 4, 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds+readers*rounds)
	for w := range writers {
		s := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				id := int64(w*rounds + r)
				if err := s.PutJSON(ctx, key, SnapshotManifest{ID: fmt.Sprintf("sha256:%d", id), RowsIn: id, RowsOK: id}); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
				}
			}
		}()
	}
	for r := range readers {
		s := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				var m SnapshotManifest
				if err := s.GetJSON(ctx, key, &m); err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					continue
				}
				if m.ID != fmt.Sprintf("sha256:%d", m.RowsIn) || m.RowsOK != m.RowsIn {
					errs <- fmt.Errorf("reader %d: a torn manifest: %+v", r, m)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Errorf("%d failed reads or writes of %d", n, (writers+readers)*rounds)
	}
	// A missing key is ErrNotFound; nothing else is.
	var m SnapshotManifest
	if err := open().GetJSON(ctx, "ns/ini/sources/other/latest.json", &m); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v, want ErrNotFound", err)
	}
}
