package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"
)

func TestMoveFileAndJSON(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"mem://", "file://" + filepath.ToSlash(t.TempDir())} {
		st, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		src := filepath.Join(t.TempDir(), "f.bin")
		if err := os.WriteFile(src, []byte("snapshot"), 0o600); err != nil {
			t.Fatal(err)
		}
		key := "ns/ini/sources/s/data/abc.parquet"
		if err := st.MoveFile(ctx, key, src); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.Exists(ctx, key); err != nil || !ok {
			t.Fatalf("%s: key missing after MoveFile (%v)", url, err)
		}
		file, fetched, err := st.Fetch(ctx, key, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(file); err != nil || string(b) != "snapshot" {
			t.Fatalf("%s: read back %q, %v", url, b, err)
		}
		if _, local := st.LocalPath(key); local == fetched {
			t.Errorf("%s: a file store serves its own file, others download (fetched=%v)", url, fetched)
		}
		var m SnapshotManifest
		if err := st.GetJSON(ctx, "nope.json", &m); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: missing manifest: %v", url, err)
		}
		if err := st.PutJSON(ctx, "m.json", SnapshotManifest{ID: "sha256:x", RowsIn: 3}); err != nil {
			t.Fatal(err)
		}
		if err := st.GetJSON(ctx, "m.json", &m); err != nil || m.RowsIn != 3 {
			t.Errorf("%s: manifest round trip %+v %v", url, m, err)
		}
		st.Close()
	}
}

func TestHead(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"mem://", "file://" + filepath.ToSlash(t.TempDir())} {
		st, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, "ns/ini/rejects.csv", []byte("row,column\n1,a\n2,b\n")); err != nil {
			t.Fatal(err)
		}
		for n, want := range map[int64]string{4: "row,", 100: "row,column\n1,a\n2,b\n"} {
			got, err := st.Head(ctx, "ns/ini/rejects.csv", n)
			if err != nil || string(got) != want {
				t.Errorf("%s: Head(%d) = %q, %v; want %q", url, n, got, err, want)
			}
		}
		if _, err := st.Head(ctx, "ns/ini/missing.csv", 10); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Head of a missing key: %v, want ErrNotFound", url, err)
		}
	}
}

// Every URL scheme a store may have is registered wherever the store package is linked:
// the manager reads the store the Jobs write, whatever its scheme. A build tag that
// leaves a driver out makes Open say so.
func TestStoreSchemes(t *testing.T) {
	mux := blob.DefaultURLMux()
	for _, tc := range []struct {
		scheme string
		linked bool
	}{{"s3", true}, {"gs", gcsLinked}, {"azblob", azureLinked}} {
		if got := mux.ValidBucketScheme(tc.scheme); got != tc.linked {
			t.Errorf("%s:// registered: %v, want %v", tc.scheme, got, tc.linked)
		}
		if tag, left := leftOut(tc.scheme); left {
			_, err := Open(context.Background(), tc.scheme+"://bucket")
			if err == nil || !strings.Contains(err.Error(), "built with -tags "+tag) {
				t.Errorf("Open(%s://bucket) = %v, want the driver left out by %s", tc.scheme, err, tag)
			}
		}
	}
}
