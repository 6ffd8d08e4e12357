package mapped_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/mapped"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, mapped world")},
		{"pages", bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := mapped.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Bytes(), tc.data) {
				t.Errorf("Bytes: %d bytes, want %d", len(f.Bytes()), len(tc.data))
			}
			// The reader over the same bytes.
			got, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Errorf("ReadAll: %d bytes, %v", len(got), err)
			}
			if len(tc.data) > 3 {
				b := make([]byte, 3)
				if _, err := f.ReadAt(b, int64(len(tc.data)-3)); err != nil || !bytes.Equal(b, tc.data[len(tc.data)-3:]) {
					t.Errorf("ReadAt: %v %v", b, err)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if len(f.Bytes()) != 0 {
				t.Error("Bytes after Close")
			}
		})
	}
	if _, err := mapped.Open(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
