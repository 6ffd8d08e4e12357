package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// httpClient is a client that applies the address guard, checks TLS against opts.RootCAs,
// follows at most opts.MaxRedirects redirects to https URLs, and uses no proxy (a proxy
// would connect on our behalf, past the guard).
func httpClient(g *guard, opts Options) *http.Client {
	tr := &http.Transport{
		DialContext:           g.dialer(),
		TLSClientConfig:       &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: opts.HeaderTimeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > opts.MaxRedirects {
				return &redirectError{fmt.Sprintf("more than %d redirects (last to %s): the URL redirects in a loop or too far; use the final URL", opts.MaxRedirects, req.URL.Redacted())}
			}
			if req.URL.Scheme != "https" {
				return &redirectError{fmt.Sprintf("redirected to %s, which is not https: data is only fetched over https", req.URL.Redacted())}
			}
			return nil
		},
	}
}

type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// headers reads the mounted headers Secret: each file is a header, except username and
// password, which give basic authentication. Kubernetes' own entries (..data) are skipped.
func headers(dir string, req *http.Request) error {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading the headers Secret (spec.location.http.headersSecretRef) at %s: %w; check the Secret exists and is mounted", dir, err)
	}
	var user, pass string
	var basic bool
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || isDir(err) {
				continue
			}
			return fmt.Errorf("reading key %q of the headers Secret: %w", name, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		switch strings.ToLower(name) {
		case "username":
			user, basic = v, true
		case "password":
			pass, basic = v, true
		default:
			if strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("key %q of the headers Secret holds a line break: a header value is one line", name)
			}
			req.Header.Set(name, v)
		}
	}
	if basic {
		req.SetBasicAuth(user, pass)
	}
	return nil
}

func isDir(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "is a directory")
}

// fetchHTTP downloads f.URL to a temporary file, retrying 5xx answers, timeouts and broken
// connections with exponential backoff.
func fetchHTTP(ctx context.Context, f *spec.Fetch, prev *Validator, opts Options) (*Input, error) {
	g, err := newGuard(f.AllowedNetworks)
	if err != nil {
		return nil, err
	}
	client := httpClient(g, opts)
	defer client.CloseIdleConnections()
	field := "spec.location.http.url"
	var last error
	wait := opts.Backoff
	for attempt := 1; attempt <= opts.Attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			wait *= 2
		}
		in, retry, err := getOnce(ctx, client, f, prev, opts)
		if err == nil {
			return in, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w (gave up after %d attempts; check that the server at %s is up, %s)", last, opts.Attempts, redact(f.URL), field)
}

func redact(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

// getOnce makes one request. retry says the failure is worth another attempt.
func getOnce(ctx context.Context, client *http.Client, f *spec.Fetch, prev *Validator, opts Options) (*Input, bool, error) {
	u := redact(f.URL)
	ctx, cancel := context.WithTimeout(ctx, opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return nil, false, fmt.Errorf("spec.location.http.url %q: %w", u, err)
	}
	if err := headers(f.HeadersDir, req); err != nil {
		return nil, false, err
	}
	if !prev.empty() {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, retryable(err), describeHTTPError(u, err)
	}
	defer resp.Body.Close()
	switch c := resp.StatusCode; {
	case c == http.StatusNotModified:
		return &Input{Unchanged: true, Validator: *prev}, false, nil
	case c == http.StatusOK:
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return nil, false, fmt.Errorf("GET %s: %s: the server refused the credentials; check the headers Secret named by spec.location.http.headersSecretRef (an Authorization header, or username and password)", u, resp.Status)
	case c == http.StatusNotFound || c == http.StatusGone:
		return nil, false, fmt.Errorf("GET %s: %s: there is no data at this URL; check spec.location.http.url", u, resp.Status)
	case c >= 500 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout:
		return nil, true, fmt.Errorf("GET %s: %s", u, resp.Status)
	default:
		return nil, false, fmt.Errorf("GET %s: unexpected answer %s; the URL must give the data itself (200 OK); check spec.location.http.url", u, resp.Status)
	}
	if resp.ContentLength > f.MaxBytes {
		return nil, false, fmt.Errorf("GET %s: the response is %d bytes, above the limit of %d bytes; split the export or raise the limit (--max-fetch-bytes)", u, resp.ContentLength, f.MaxBytes)
	}
	out, err := spool(opts, "fetch-*")
	if err != nil {
		return nil, false, err
	}
	n, err := io.Copy(out, io.LimitReader(resp.Body, f.MaxBytes+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return nil, retryable(err), fmt.Errorf("GET %s: reading the response after %d bytes: %w", u, n, err)
	}
	if n > f.MaxBytes {
		os.Remove(out.Name())
		return nil, false, fmt.Errorf("GET %s: the response is larger than the limit of %d bytes; split the export or raise the limit (--max-fetch-bytes)", u, f.MaxBytes)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		os.Remove(out.Name())
		return nil, true, fmt.Errorf("GET %s: the response ended after %d of %d bytes", u, n, resp.ContentLength)
	}
	v := Validator{URL: f.URL, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	return &Input{Path: out.Name(), Validator: v, temp: true}, false, nil
}

// retryable says a transport error may pass on another attempt: timeouts and broken
// connections, not refused addresses, TLS or redirect problems.
func retryable(err error) bool {
	var ra *RefusedAddressError
	var re *redirectError
	var ce *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.As(err, &ra), errors.As(err, &re), errors.As(err, &ce), errors.As(err, &ue), errors.As(err, &he):
		return false
	case errors.Is(err, context.Canceled):
		return false
	}
	return true
}

func describeHTTPError(u string, err error) error {
	var ra *RefusedAddressError
	var re *redirectError
	var ce *tls.CertificateVerificationError
	var ne net.Error
	switch {
	case errors.As(err, &ra):
		return fmt.Errorf("GET %s: %w", u, ra)
	case errors.As(err, &re):
		return fmt.Errorf("GET %s: %s", u, re.msg)
	case errors.As(err, &ce):
		return fmt.Errorf("GET %s: TLS: the server's certificate is not trusted (%v); the server must present a certificate valid for its name, signed by a known authority", u, ce.Err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("GET %s: timed out: %v", u, err)
	}
	return fmt.Errorf("GET %s: %v", u, err)
}
