package version

import (
	"runtime"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	old, oldCommit := Version, Commit
	t.Cleanup(func() { Version, Commit = old, oldCommit })

	Version, Commit = "v0.1.0", "abc123"
	got := Get()
	if got.Version != "v0.1.0" || got.Commit != "abc123" || got.GoVersion != runtime.Version() {
		t.Fatalf("Get() = %+v", got)
	}
	if s := got.String(); !strings.Contains(s, "v0.1.0") || !strings.Contains(s, "abc123") || !strings.Contains(s, runtime.Version()) {
		t.Fatalf("String() = %q", s)
	}

	Version, Commit = "", ""
	got = Get()
	if got.Version == "" || got.Commit == "" {
		t.Fatalf("fallbacks must not be empty: %+v", got)
	}
}

func TestImage(t *testing.T) {
	old := Version
	defer func() { Version = old }()
	Version = "v0.3.0"
	if got, want := Image(), "ghcr.io/backbone-dev/backbone:v0.3.0"; got != want {
		t.Errorf("Image() = %q, want %q", got, want)
	}
}
