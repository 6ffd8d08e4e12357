package run

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/mapped"
	"github.com/backbone-dev/backbone/internal/store"
)

// An engine layout up to mapLimit bytes is read in place from a mapping; a larger one
// through the file, so that the aggregate's resident memory does not grow with the
// snapshot. Both read the same bytes.
func TestOpenMappedUpToTheLimit(t *testing.T) {
	ctx := context.Background()
	url, err := store.FileURL(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data := bytes.Repeat([]byte("engine layout "), 1000)
	if err := st.Put(ctx, "layout.arrow", data); err != nil {
		t.Fatal(err)
	}
	old := mapLimit
	t.Cleanup(func() { mapLimit = old })
	for _, tc := range []struct {
		limit  int64
		mapped bool
	}{{int64(len(data)), true}, {int64(len(data)) - 1, false}} {
		mapLimit = tc.limit
		f, closer, err := openMapped(ctx, st, "layout.arrow", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		switch f.(type) {
		case *mapped.File:
			if !tc.mapped {
				t.Errorf("limit %d: %d bytes mapped", tc.limit, len(data))
			}
		case *os.File:
			if tc.mapped {
				t.Errorf("limit %d: %d bytes read through the file", tc.limit, len(data))
			}
		default:
			t.Errorf("limit %d: %T", tc.limit, f)
		}
		got, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("limit %d: read %d bytes, %v", tc.limit, len(got), err)
		}
		closer()
	}
}
