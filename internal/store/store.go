// Package store is Backbone's view of its blob store (gocloud.dev/blob: file:// for local
// mode and single-node clusters, s3:// in production (credentials from the environment or
// workload identity), mem:// in tests): where snapshots,
// rejects, results and their manifests live, and how they are written so that a crash
// never leaves a half-written object that looks valid.
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	// s3:// stores (AWS S3 and S3-compatible servers: ?endpoint=…&use_path_style=true).
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/backbone-dev/backbone/internal/store/layout"
)

// Store is an open blob store.
type Store struct {
	bucket *blob.Bucket
	url    string
	// dir is the local folder of a file:// store, so large files are read in place.
	dir string
}

// Open opens the store at a URL: file:///abs/dir, mem://, s3://, gs:// or azblob:// (the
// last three with gocloud.dev/blob's URL options and ambient credentials).
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store URL %q: %w", rawURL, err)
	}
	if err := DriverLeftOut(u.Scheme); err != nil {
		return nil, fmt.Errorf("store URL %q: %w", rawURL, err)
	}
	s := &Store{url: rawURL}
	switch u.Scheme {
	case "file":
		dir := u.Path
		if dir == "" {
			return nil, fmt.Errorf("store URL %q: a file store needs an absolute path, e.g. file:///var/lib/backbone", rawURL)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating store folder: %w", err)
		}
		// Objects are written to a temporary file beside their key and renamed, so a reader
		// sees the old object or the new one, whole; and no metadata sidecar is written,
		// since fileblob rewrites a sidecar in place, where a concurrent reader of the
		// object finds it empty. Nothing here stores metadata.
		b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
		if err != nil {
			return nil, fmt.Errorf("opening store %s: %w", rawURL, err)
		}
		s.bucket, s.dir = b, dir
	case "mem":
		s.bucket = memblob.OpenBucket(nil)
	default:
		b, err := blob.OpenBucket(ctx, rawURL)
		if err != nil {
			return nil, fmt.Errorf("opening store %s: %w", rawURL, err)
		}
		s.bucket = b
	}
	return s, nil
}

// DriverLeftOut is the error of a gs:// or azblob:// URL in a build whose tag (nogcs,
// noazure; docs/image.md) left its driver out: the store's and the connectors' locations
// say the same. It is nil for any other scheme or build.
func DriverLeftOut(scheme string) error {
	tag, left := leftOut(scheme)
	if !left {
		return nil
	}
	return fmt.Errorf("this backbone binary was built with -tags %s and has no %s:// driver: use the release image, or a build without that tag", tag, scheme)
}

// leftOut reports whether a build tag left the driver of scheme out, and which.
func leftOut(scheme string) (tag string, left bool) {
	switch scheme {
	case "gs":
		return "nogcs", !gcsLinked
	case "azblob":
		return "noazure", !azureLinked
	}
	return "", false
}

// fail describes a failed store operation: which store and object, and what to check.
func (s *Store) fail(op, key string, err error) error {
	base, _, _ := strings.Cut(s.url, "?")
	return fmt.Errorf("store %s: %s %s: %w; check that the store is reachable and that its credentials may read and write it", base, op, key, err)
}

// FileURL returns the file:// URL of a local folder.
func FileURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Close closes the store.
func (s *Store) Close() error { return s.bucket.Close() }

// URI returns the URI of a key, for manifests and status.
func (s *Store) URI(key string) string {
	// The URL's query (an S3 endpoint, region, path style) configures access; it is not
	// part of an object's name.
	base, _, _ := strings.Cut(s.url, "?")
	return strings.TrimSuffix(base, "/") + "/" + key
}

// LocalPath returns the local file of key when the store is a folder on this machine.
func (s *Store) LocalPath(key string) (string, bool) {
	if s.dir == "" {
		return "", false
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), true
}

// PutFile uploads a local file to key. The store makes the object visible only when the
// upload is complete.
func (s *Store) PutFile(ctx context.Context, key, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// A failed upload is aborted: the object is not created.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, nil)
	if err != nil {
		return s.fail("writing", key, err)
	}
	if _, err := io.Copy(w, f); err != nil {
		cancel()
		_ = w.Close()
		return s.fail("writing", key, err)
	}
	if err := w.Close(); err != nil {
		return s.fail("writing", key, err)
	}
	return nil
}

// MoveFile puts a finished local file at key, taking it over: into a file:// store on the
// same file system it is renamed (no second write of the bytes), elsewhere uploaded.
func (s *Store) MoveFile(ctx context.Context, key, file string) error {
	if dest, ok := s.LocalPath(key); ok {
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", key, err)
		}
		if err := os.Chmod(file, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", key, err)
		}
		if err := os.Rename(file, dest); err == nil {
			return nil
		}
		// Another file system: copy through the bucket below.
	}
	return s.PutFile(ctx, key, file)
}

// PutJSON writes v as indented JSON to key.
func (s *Store) PutJSON(ctx context.Context, key string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return s.Put(ctx, key, append(b, '\n'))
}

// Put writes b to key.
func (s *Store) Put(ctx context.Context, key string, b []byte) error {
	if err := s.bucket.WriteAll(ctx, key, b, nil); err != nil {
		return s.fail("writing", key, err)
	}
	return nil
}

// Get reads key. A missing key gives an error satisfying errors.Is(err, ErrNotFound).
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.bucket.ReadAll(ctx, key)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fmt.Errorf("reading %s: %w", key, ErrNotFound)
		}
		return nil, s.fail("reading", key, err)
	}
	return b, nil
}

// GetJSON reads key into v. A missing key gives an error satisfying errors.Is(err, ErrNotFound).
func (s *Store) GetJSON(ctx context.Context, key string, v any) error {
	b, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding %s: %w", key, err)
	}
	return nil
}

// Exists reports whether key exists.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, s.fail("looking up", key, err)
	}
	return ok, nil
}

// Fetch makes key available as a local file: the store's own file for a file:// store,
// otherwise a download into dir. The caller removes downloads (the second result is true).
func (s *Store) Fetch(ctx context.Context, key, dir string) (string, bool, error) {
	if p, ok := s.LocalPath(key); ok {
		return p, false, nil
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return "", false, s.fail("reading", key, err)
	}
	defer r.Close()
	f, err := os.CreateTemp(dir, "fetch-*-"+path.Base(key))
	if err != nil {
		return "", false, err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", false, s.fail("reading", key, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", false, err
	}
	return f.Name(), true, nil
}

// List returns the keys under prefix (a folder: "a/b/"), in lexical order.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, s.fail("listing", prefix, err)
		}
		if !obj.IsDir {
			keys = append(keys, obj.Key)
		}
	}
	return keys, nil
}

// Delete removes key; a key that does not exist is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return s.fail("deleting", key, err)
	}
	return nil
}

// ErrNotFound is returned for keys that do not exist.
var ErrNotFound = layout.ErrNotFound

// Head reads at most the first n bytes of key: enough of a large object (a rejects file)
// to show its first lines without reading it whole.
func (s *Store) Head(ctx context.Context, key string, n int64) ([]byte, error) {
	r, err := s.bucket.NewRangeReader(ctx, key, 0, n, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fmt.Errorf("reading %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return b, nil
}
