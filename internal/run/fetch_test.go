package run_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/backbone-dev/backbone/internal/fetch"
	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"
)

// An unchanged input makes no new snapshot and no new aggregation: from a ConfigMap (no
// validator: the same content gives the same snapshot id) and over https (the ETag: not
// even downloaded). A changed input gives a new snapshot.
func TestUnchangedInput(t *testing.T) {
	ctx := context.Background()
	m, err := local.Load(ctx, "../../config/samples", "default")
	if err != nil {
		t.Fatal(err)
	}
	ini := &m.Initiatives[0]
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	file := filepath.Join("../../config/samples/data", "ncusd-kindergarten.csv")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ds = m.DataSources[0]
	for _, d := range m.DataSources {
		if d.Name == "ncusd-kindergarten" {
			ds = d
		}
	}
	var gets atomic.Int32
	var body atomic.Value
	body.Store(data)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := body.Load().([]byte)
		sum := sha256.Sum256(b)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		gets.Add(1)
		w.Header().Set("ETag", etag)
		w.Write(b)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	ip, err := plan.Ingest(ini, &ds, plan.IngestOptions{AllowFileLocations: true})
	if err != nil {
		t.Fatal(err)
	}
	ip.Fetch = &spec.Fetch{Kind: spec.FetchHTTP, URL: srv.URL + "/k.csv", AllowedNetworks: []string{"127.0.0.1/32"}}
	ingestOnce := func(p *spec.Ingest) *ingest.Result {
		t.Helper()
		res, err := run.IngestFetched(ctx, st, p, ingest.Options{TempDir: t.TempDir()}, fetch.Options{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := ingestOnce(ip)
	second := ingestOnce(ip)
	if gets.Load() != 1 || second.Manifest.ID != first.Manifest.ID || !second.Manifest.Created.Equal(first.Manifest.Created) {
		t.Fatalf("an unchanged ETag: %d downloads, ids %s then %s", gets.Load(), first.Manifest.ID, second.Manifest.ID)
	}
	// A changed input is downloaded and gives a new snapshot.
	body.Store(append(append([]byte{}, data...), []byte("S9999999,2021-08-18,Riverside,Alder Creek Elementary,4,0,true,70.0\n")...))
	third := ingestOnce(ip)
	if gets.Load() != 2 || third.Manifest.ID == first.Manifest.ID {
		t.Fatalf("a changed input: %d downloads, id %s (was %s)", gets.Load(), third.Manifest.ID, first.Manifest.ID)
	}

	// A ConfigMap has no validator: it is read again, and the same content gives the same id.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k.csv"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := *ip
	cp.Source = "kindergarten-configmap"
	cp.Fetch = &spec.Fetch{Kind: spec.FetchConfigMap, File: filepath.Join(dir, "k.csv")}
	a, b := ingestOnce(&cp), ingestOnce(&cp)
	if a.Manifest.ID != b.Manifest.ID || a.Manifest.ID != first.Manifest.ID {
		t.Fatalf("the same content gave ids %s, %s and %s", first.Manifest.ID, a.Manifest.ID, b.Manifest.ID)
	}
}
