package ingest

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/store"
)

// A named pipe, a device or a directory as the input is refused at once with what it is,
// rather than blocking in open (a pipe) or being read as empty (/dev/zero).
func TestIngestRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct{ path, want string }{
		{fifo, "is a named pipe, not a regular file"},
		{"/dev/zero", "/dev/zero is a device, not a regular file"},
		{t.TempDir(), "is a directory, not a regular file"},
	} {
		p := plan(t, "day\n")
		p.Path = tc.path
		tmp := t.TempDir()
		done := make(chan error, 1)
		go func() {
			_, err := Run(ctx, p, Options{Store: st, TempDir: tmp})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want %q", tc.path, err, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still running after 10 s", tc.path)
		}
	}
}

// A long rejected value is shown by its first 256 bytes (whole characters), its length
// and its hash; a short one whole.
func TestRejectValue(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes; byte 256 is inside no character
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"},
		{"Le\xf3n", `Le\xf3n`}, // invalid UTF-8 is shown escaped
		{strings.Repeat("x", 256), strings.Repeat("x", 256)},
		{strings.Repeat("x", 257), strings.Repeat("x", 256) + "… (257 bytes, sha256:"},
		{long, strings.Repeat("é", 128) + "… (400 bytes, sha256:"},
	} {
		got := rejectValue(tc.in)
		if !strings.HasPrefix(got, tc.want) || len(got) > 256+100 {
			t.Errorf("rejectValue(%d bytes) = %q, want it to start with %q", len(tc.in), got, tc.want)
		}
	}
}
