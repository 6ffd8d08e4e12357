package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./test/chart -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `make chart` (go test ./test/chart -run %s -update) and review the diff", path, t.Name())
	}
}
