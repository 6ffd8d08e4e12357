package fetch

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

const table = "year,count\n2025,3\n"

// tlsServer starts a real TLS server and returns it with fetch options that trust it.
func tlsServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, Options) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, Options{TempDir: t.TempDir(), RootCAs: pool, Attempts: 3, Backoff: 10 * time.Millisecond, HeaderTimeout: 500 * time.Millisecond}
}

func httpPlan(url string) *spec.Ingest {
	return &spec.Ingest{Namespace: "ns", Source: "feed", Format: "CSV", Fetch: &spec.Fetch{
		Kind: spec.FetchHTTP, URL: url, AllowedNetworks: []string{"127.0.0.1/32"},
	}}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got none", parts)
	}
	for _, p := range append([]string{"DataSource ns/feed"}, parts...) {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func TestHTTPHeadersAndETag(t *testing.T) {
	secret := t.TempDir()
	os.WriteFile(filepath.Join(secret, "Authorization"), []byte("Bearer s3cr3t\n"), 0o600)
	os.Mkdir(filepath.Join(secret, "..data"), 0o700) // what a Secret volume holds besides its keys
	var gets atomic.Int32
	srv, opts := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cr3t" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		gets.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte(table))
	})
	p := httpPlan(srv.URL + "/k.csv")
	p.Fetch.HeadersDir = secret
	in, err := Fetch(context.Background(), p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	b, _ := os.ReadFile(in.Path)
	if string(b) != table || in.Validator.ETag != `"v1"` || in.Unchanged {
		t.Fatalf("got %q, validator %+v, unchanged %v", b, in.Validator, in.Unchanged)
	}
	again, err := Fetch(context.Background(), p, &in.Validator, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged || again.Path != "" || gets.Load() != 1 {
		t.Fatalf("an unchanged ETag must give Unchanged without a download: %+v, %d downloads", again, gets.Load())
	}
	// A validator of another URL is not sent.
	other := &Validator{URL: srv.URL + "/other.csv", ETag: `"v1"`}
	third, err := Fetch(context.Background(), p, other, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if third.Unchanged {
		t.Fatal("a validator of another URL made the input unchanged")
	}
}

func TestHTTPBasicAuth(t *testing.T) {
	secret := t.TempDir()
	os.WriteFile(filepath.Join(secret, "username"), []byte("partner"), 0o600)
	os.WriteFile(filepath.Join(secret, "password"), []byte("pw\n"), 0o600)
	srv, opts := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "partner" || p != "pw" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write([]byte(table))
	})
	p := httpPlan(srv.URL)
	p.Fetch.HeadersDir = secret
	in, err := Fetch(context.Background(), p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
}

func TestHTTPFailures(t *testing.T) {
	var flaky atomic.Int32
	srv, opts := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/private":
			if r.Header.Get("Authorization") != "Bearer right" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(table))
		case "/forbidden":
			http.Error(w, "no", http.StatusForbidden)
		case "/slow":
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		case "/flaky":
			if flaky.Add(1) < 3 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(table))
		case "/down":
			http.Error(w, "down", http.StatusBadGateway)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 2048)))
		case "/big-chunked":
			for i := 0; i < 4; i++ {
				w.Write([]byte(strings.Repeat("x", 512)))
				w.(http.Flusher).Flush()
			}
		case "/stall":
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(table))
			w.(http.Flusher).Flush()
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		case "/truncated":
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(table))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection breaks mid-body
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/plain":
			http.Redirect(w, r, "http://example.org/k.csv", http.StatusFound)
		}
	})
	ctx := context.Background()
	t.Run("404", func(t *testing.T) {
		_, err := Fetch(ctx, httpPlan(srv.URL+"/missing"), nil, opts)
		wantErr(t, err, "404 Not Found", "check spec.location.http.url")
	})
	t.Run("wrong credentials", func(t *testing.T) {
		secret := t.TempDir()
		os.WriteFile(filepath.Join(secret, "Authorization"), []byte("Bearer wrong"), 0o600)
		p := httpPlan(srv.URL + "/private")
		p.Fetch.HeadersDir = secret
		_, err := Fetch(ctx, p, nil, opts)
		wantErr(t, err, "401 Unauthorized", "headersSecretRef")
		_, err = Fetch(ctx, httpPlan(srv.URL+"/forbidden"), nil, opts)
		wantErr(t, err, "403 Forbidden", "headersSecretRef")
	})
	t.Run("missing headers Secret", func(t *testing.T) {
		p := httpPlan(srv.URL + "/private")
		p.Fetch.HeadersDir = filepath.Join(t.TempDir(), "absent")
		_, err := Fetch(ctx, p, nil, opts)
		wantErr(t, err, "headersSecretRef", "mounted")
	})
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		_, err := Fetch(ctx, httpPlan(srv.URL+"/slow"), nil, opts)
		wantErr(t, err, "timeout", "gave up after 3 attempts")
		if el := time.Since(start); el > 2500*time.Millisecond {
			t.Errorf("three attempts of 500 ms took %v", el)
		}
	})
	t.Run("5xx then success", func(t *testing.T) {
		in, err := Fetch(ctx, httpPlan(srv.URL+"/flaky"), nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		if b, _ := os.ReadFile(in.Path); string(b) != table || flaky.Load() != 3 {
			t.Fatalf("got %q after %d requests", b, flaky.Load())
		}
	})
	t.Run("5xx", func(t *testing.T) {
		_, err := Fetch(ctx, httpPlan(srv.URL+"/down"), nil, opts)
		wantErr(t, err, "502 Bad Gateway", "gave up after 3 attempts")
	})
	t.Run("oversize", func(t *testing.T) {
		for _, path := range []string{"/big", "/big-chunked"} {
			p := httpPlan(srv.URL + path)
			p.Fetch.MaxBytes = 1024
			_, err := Fetch(ctx, p, nil, opts)
			wantErr(t, err, "limit of 1024 bytes")
		}
		if left, _ := os.ReadDir(opts.TempDir); len(left) != 0 {
			t.Errorf("a refused download left %d files", len(left))
		}
	})
	t.Run("broken mid-body", func(t *testing.T) {
		_, err := Fetch(ctx, httpPlan(srv.URL+"/truncated"), nil, opts)
		wantErr(t, err, "reading the response", "gave up after 3 attempts")
		if left, _ := os.ReadDir(opts.TempDir); len(left) != 0 {
			t.Errorf("a broken download left %d files", len(left))
		}
	})
	t.Run("stalled mid-body", func(t *testing.T) {
		o := opts
		o.AttemptTimeout = 300 * time.Millisecond
		_, err := Fetch(ctx, httpPlan(srv.URL+"/stall"), nil, o)
		wantErr(t, err, "reading the response", "gave up after 3 attempts")
	})
	t.Run("redirect loop", func(t *testing.T) {
		_, err := Fetch(ctx, httpPlan(srv.URL+"/loop"), nil, opts)
		wantErr(t, err, "more than 5 redirects")
	})
	t.Run("redirect to http", func(t *testing.T) {
		_, err := Fetch(ctx, httpPlan(srv.URL+"/plain"), nil, opts)
		wantErr(t, err, "not https")
	})
	t.Run("refused address", func(t *testing.T) {
		p := httpPlan(srv.URL + "/missing")
		p.Fetch.AllowedNetworks = nil
		_, err := Fetch(ctx, p, nil, opts)
		wantErr(t, err, "refused to connect to 127.0.0.1, a loopback address")
		p = httpPlan("https://169.254.169.254/latest/meta-data/")
		p.Fetch.AllowedNetworks = nil
		_, err = Fetch(ctx, p, nil, opts)
		wantErr(t, err, "refused to connect to 169.254.169.254, a link-local address")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		o := opts
		o.RootCAs = x509.NewCertPool()
		_, err := Fetch(ctx, httpPlan(srv.URL+"/flaky"), nil, o)
		wantErr(t, err, "TLS: the server's certificate is not trusted")
	})
}
