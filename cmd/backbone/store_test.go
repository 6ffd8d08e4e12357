package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/testserver"
)

// runLocal runs `backbone local` on the samples into a store and returns its JSON output.
func runLocal(t *testing.T, storeURL string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := newRootCommand()
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"local", "-f", "../../config/samples", "--store", storeURL, "--as-of", "2026-11-23", "-o", "json"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("backbone local --store %s: %v", storeURL, err)
	}
	return out.String()
}

// backbone local with its store on an S3-compatible server prints what it prints with a
// folder store: the same results, ids included.
func TestLocalS3Store(t *testing.T) {
	s3 := testserver.NewS3(t, "backbone")
	dir := t.TempDir()
	u, err := store.FileURL(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := runLocal(t, u)
	got := runLocal(t, s3.StoreURL("backbone"))
	if got != want {
		t.Fatalf("an S3 store printed other results than a file store:\n got %.400s\nwant %.400s", got, want)
	}
	// The same objects: snapshot, result and manifest keys are content hashes and plan
	// hashes, so equal keys are equal ids.
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s3.Keys("backbone")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	slices.Sort(keys)
	if !slices.Equal(keys, files) {
		t.Fatalf("the S3 store holds other objects than the file store:\n s3 %q\nfile %q", keys, files)
	}
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "/results/") }) {
		t.Fatalf("no result in the stores: %q", keys)
	}
}
