package local

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/fetch"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/testserver"
)

var asOf = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

var fileLocation = regexp.MustCompile(`(?m)^    file: \{path: data/([^}]+)\}$`)

// samplesWith copies the samples into a folder, replacing each DataSource's file location
// by what location returns for its data file ("" keeps the file), and adding extra files.
func samplesWith(t *testing.T, location func(file string) string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(samples)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(samples, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := fileLocation.ReplaceAllStringFunc(string(b), func(line string) string {
			file := fileLocation.FindStringSubmatch(line)[1]
			if loc := location(file); loc != "" {
				return loc
			}
			return line
		})
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(mustAbs(t, filepath.Join(samples, "data")), filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	for name, content := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runDir runs the manifests of dir into the store at storeURL.
func runDir(t *testing.T, dir, storeURL string, opts Options) (*Output, error) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := Load(ctx, dir, "default")
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.AsOf = st, asOf
	return Run(ctx, m, opts)
}

// ids are what a run produced: each source's snapshot id and the result keys.
func ids(out *Output) []string {
	var s []string
	for _, m := range out.Snapshots {
		s = append(s, m.Source+"="+m.ID)
	}
	slices.Sort(s)
	return append(s, out.ResultKeys...)
}

// reference runs the samples as they are, from files into a file:// store.
func reference(t *testing.T) []string {
	t.Helper()
	u, err := store.FileURL(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := runDir(t, samples, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ids(out)
}

func sameIDs(t *testing.T, kind string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: the run gave other snapshots or results than from files:\n got %q\nwant %q", kind, got, want)
	}
}

// TestLocations runs the samples with their data behind each location kind, against real
// servers, and with an S3 store: every variant gives the snapshot and result ids of the
// files.
func TestLocations(t *testing.T) {
	want := reference(t)

	t.Run("http", func(t *testing.T) {
		var full, notModified atomic.Int32
		files := http.FileServer(http.Dir(filepath.Join(samples, "data")))
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer partner-token" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			rec := &statusRecorder{ResponseWriter: w}
			files.ServeHTTP(rec, r)
			switch rec.status {
			case http.StatusOK:
				full.Add(1)
			case http.StatusNotModified:
				notModified.Add(1)
			}
		}))
		defer srv.Close()
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: partner-token}\nstringData: {Authorization: Bearer partner-token}\n"
		dir := samplesWith(t, func(file string) string {
			return fmt.Sprintf("    http: {url: %q, headersSecretRef: {name: partner-token}}", srv.URL+"/"+file)
		}, map[string]string{"secret.yaml": secret})
		u, _ := store.FileURL(t.TempDir())
		opts := Options{AllowedNetworks: []string{"127.0.0.1/32"}, Fetch: fetch.Options{RootCAs: pool}}
		out, err := runDir(t, dir, u, opts)
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "http", ids(out), want)
		if full.Load() != 5 {
			t.Fatalf("%d downloads, want 5", full.Load())
		}
		// Unchanged inputs (Last-Modified) are not downloaded again, and give the same ids.
		out, err = runDir(t, dir, u, opts)
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "http again", ids(out), want)
		if full.Load() != 5 || notModified.Load() != 5 {
			t.Fatalf("second run: %d downloads in all, %d not modified; want 5 and 5", full.Load(), notModified.Load())
		}
		// Without the network allowed, the loopback server is refused, naming the source.
		_, err = runDir(t, dir, u, Options{Fetch: fetch.Options{RootCAs: pool}})
		if err == nil || !strings.Contains(err.Error(), "DataSource default/census-population") || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("want a refused loopback address naming the DataSource, got %v", err)
		}
	})

	t.Run("objectStore", func(t *testing.T) {
		s3 := testserver.NewS3(t, "partner")
		s3.AccessKeys = map[string]string{"partner": "partner-secret"} // the Secret's keys, checked
		for _, f := range dataFiles(t) {
			b, _ := os.ReadFile(filepath.Join(samples, "data", f))
			s3.Put(t, "partner", "exports/"+f, b)
		}
		secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: partner-s3}\nstringData: {accessKeyId: partner, secretAccessKey: partner-secret}\n"
		dir := samplesWith(t, func(file string) string {
			return fmt.Sprintf("    objectStore: {url: \"s3://partner/exports/%s\", endpoint: %q, region: us-east-1, pathStyle: true, credentialsSecretRef: {name: partner-s3}}", file, s3.URL)
		}, map[string]string{"secret.yaml": secret})
		u, _ := store.FileURL(t.TempDir())
		out, err := runDir(t, dir, u, Options{AllowedNetworks: []string{"127.0.0.1/32"}})
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "objectStore", ids(out), want)
	})

	t.Run("configMap", func(t *testing.T) {
		var cms strings.Builder
		dir := samplesWith(t, func(file string) string {
			name := strings.TrimSuffix(file, filepath.Ext(file))
			b, err := os.ReadFile(filepath.Join(samples, "data", file))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&cms, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\nbinaryData:\n  %s: %s\n", name, file, base64.StdEncoding.EncodeToString(b))
			return fmt.Sprintf("    configMap: {name: %s, key: %s}", name, file)
		}, nil)
		if err := os.WriteFile(filepath.Join(dir, "configmaps.yaml"), []byte(cms.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		u, _ := store.FileURL(t.TempDir())
		out, err := runDir(t, dir, u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "configMap", ids(out), want)
		// A missing ConfigMap names the source and what to do.
		if err := os.Remove(filepath.Join(dir, "configmaps.yaml")); err != nil {
			t.Fatal(err)
		}
		_, err = runDir(t, dir, u, Options{})
		if err == nil || !strings.Contains(err.Error(), "DataSource default/census-population") || !strings.Contains(err.Error(), "put the ConfigMap's manifest in the folder") {
			t.Fatalf("want a missing ConfigMap naming the DataSource, got %v", err)
		}
	})

	t.Run("postgres", func(t *testing.T) {
		pg := testserver.NewPostgres(t)
		// The district's export as a table of text columns: the query's rows are validated
		// and mapped exactly as the CSV's cells are.
		pg.Exec(t, `create table kindergarten (line serial, student_id text, assessed_on text,
			school_district text, school text, race text, frl text, ready text, score text)`)
		copyCSV(t, pg, "kindergarten", filepath.Join(samples, "data", "ncusd-kindergarten.csv"))
		secret := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: district-db}\nstringData: {dsn: %q}\n", pg.DSN)
		dir := samplesWith(t, func(file string) string {
			if file != "ncusd-kindergarten.csv" {
				return ""
			}
			return "    postgres:\n      dsnSecretRef: {name: district-db, key: dsn}\n" +
				"      query: select student_id, assessed_on, school_district, school, race, frl, ready, score from kindergarten order by line"
		}, map[string]string{"secret.yaml": secret})
		u, _ := store.FileURL(t.TempDir())
		out, err := runDir(t, dir, u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "postgres", ids(out), want)
	})

	t.Run("s3 store", func(t *testing.T) {
		s3 := testserver.NewS3(t, "backbone")
		s3.AccessKeys = map[string]string{"backbone": "backbone-secret"} // the environment's keys, checked
		out, err := runDir(t, samples, s3.StoreURL("backbone"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "s3 store", ids(out), want)
		// The store holds what a file:// store holds: manifests, snapshots, results.
		keys := bucketKeys(t, s3, "backbone")
		for _, suffix := range []string{"/latest.json", ".parquet", ".arrow"} {
			if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, suffix) }) {
				t.Errorf("no key ending in %s in the S3 store (%d keys)", suffix, len(keys))
			}
		}
		// A second run reads the snapshots and the result back from S3.
		out, err = runDir(t, samples, s3.StoreURL("backbone"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, "s3 store again", ids(out), want)
	})
}

// TestS3StoreFailsMidWrite makes the S3 server fail every upload of a snapshot's engine
// layout: the run fails naming the source, and no snapshot manifest is written, so no
// half-written snapshot is ever read.
func TestS3StoreFailsMidWrite(t *testing.T) {
	s3 := testserver.NewS3(t, "backbone")
	s3.Fail = func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".arrow")
	}
	_, err := runDir(t, samples, s3.StoreURL("backbone"), Options{})
	if err == nil || !strings.Contains(err.Error(), "DataSource census-population") || !strings.Contains(err.Error(), ".arrow") {
		t.Fatalf("want the failed upload naming the DataSource and the object, got %v", err)
	}
	keys := bucketKeys(t, s3, "backbone")
	for _, k := range keys {
		if strings.Contains(k, "/snapshots/") || strings.HasSuffix(k, "/latest.json") || strings.HasSuffix(k, ".arrow") {
			t.Errorf("a failed upload left %s in the store", k)
		}
	}
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, ".parquet") }) {
		t.Errorf("the uploads before the failure did not reach the store (keys %q): the failure was not mid-write", keys)
	}
	// An unreachable store.
	s3.Fail = func(*http.Request) bool { return true }
	_, err = runDir(t, samples, s3.StoreURL("backbone"), Options{})
	if err == nil || !strings.Contains(err.Error(), "DataSource census-population") {
		t.Fatalf("want an unreachable store naming the DataSource, got %v", err)
	}
	if !strings.Contains(err.Error(), "check that the store is reachable") {
		t.Errorf("the error does not say what to check: %v", err)
	}
	// A store nobody listens on.
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	closed := l.Addr().String()
	l.Close()
	_, err = runDir(t, samples, "s3://backbone?endpoint=http://"+closed+"&region=us-east-1&use_path_style=true", Options{})
	if err == nil || !strings.Contains(err.Error(), "DataSource census-population") || !strings.Contains(err.Error(), "check that the store is reachable") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("want an unreachable store naming the DataSource and what to check, got %v", err)
	}
}

func dataFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(samples, "data"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
