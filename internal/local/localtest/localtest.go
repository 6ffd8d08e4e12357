// Package localtest runs the shipped example (config/samples) as `backbone local` does, for
// the tests of the packages that publish its results.
package localtest

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/store"
)

// AsOf is the date the samples' periods are judged complete on in these tests.
var AsOf = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// Samples is one run of the example.
type Samples struct {
	Store     *store.Store
	Manifests *local.Manifests
	Output    *local.Output
}

// Run loads config/samples in namespace default and runs them into an in-memory store,
// closed when the test ends, as of AsOf.
func Run(t testing.TB) *Samples {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, file, _, _ := runtime.Caller(0)
	m, err := local.Load(ctx, filepath.Join(filepath.Dir(file), "..", "..", "..", "config", "samples"), "default")
	if err != nil {
		t.Fatal(err)
	}
	out, err := local.Run(ctx, m, local.Options{Store: st, AsOf: AsOf})
	if err != nil {
		t.Fatal(err)
	}
	return &Samples{Store: st, Manifests: m, Output: out}
}
