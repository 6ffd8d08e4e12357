// Package fetch brings a DataSource's input to a local file before ingestion: an https
// download, an object of an S3-compatible, GCS or Azure blob store, a mounted ConfigMap
// key, or the rows of a PostgreSQL query written as an Arrow IPC stream. The engine
// (internal/pipeline) reads local files only, so it links no network SDK.
//
// A stream is spooled to a temporary file and handed over only when it is complete:
// nothing half-fetched becomes a snapshot. An input whose validator (HTTP ETag or
// Last-Modified, an object's ETag) matches the one recorded with the source's latest
// snapshot is not fetched again.
package fetch

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// DefaultMaxBytes is the largest input fetched when the plan sets no limit.
const DefaultMaxBytes = 4 << 30

// MaxConfigMapBytes is the size limit of a ConfigMap (the API server refuses larger ones).
const MaxConfigMapBytes = 1 << 20

// Validator identifies a fetched input's version without its bytes.
type Validator struct {
	// URL the validator belongs to: a validator of another URL is not sent.
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

func (v *Validator) empty() bool { return v == nil || (v.ETag == "" && v.LastModified == "") }

// Options are the settings of the fetch step that do not belong in a plan.
type Options struct {
	// TempDir receives spooled inputs; default os.TempDir().
	TempDir string
	// RootCAs are the certificate authorities https servers are checked against; nil means
	// the system's.
	RootCAs *x509.CertPool
	// Attempts is how often a request is tried on a 5xx answer, a timeout or a broken
	// connection; default 4.
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each further one;
	// default 1s.
	Backoff time.Duration
	// HeaderTimeout is how long an https server may take to answer; default 60s.
	HeaderTimeout time.Duration
	// AttemptTimeout bounds one attempt, body included (a server that stalls mid-body);
	// default 30 minutes.
	AttemptTimeout time.Duration
	// MaxRedirects followed; default 5.
	MaxRedirects int
	// BatchRows is the number of PostgreSQL rows per Arrow batch; default 65536.
	BatchRows int
}

func (o *Options) defaults() {
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 60 * time.Second
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 30 * time.Minute
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 65536
	}
}

// Input is a fetched input.
type Input struct {
	// Path of the local file to ingest.
	Path string
	// Format to read it as (a PostgreSQL query gives ArrowIPC).
	Format string
	// Unchanged says the input's validator matches prev: nothing was fetched, and Path is
	// empty.
	Unchanged bool
	// Validator of what was fetched, to record with its snapshot (empty when the source
	// gives none).
	Validator Validator
	temp      bool
}

// Close removes a spooled file.
func (in *Input) Close() error {
	if in.temp && in.Path != "" {
		return os.Remove(in.Path)
	}
	return nil
}

// Fetch brings the input of p to a local file. prev is the validator recorded with the
// source's latest snapshot, or nil. Errors name the DataSource, the location field and
// what to fix.
func Fetch(ctx context.Context, p *spec.Ingest, prev *Validator, opts Options) (*Input, error) {
	opts.defaults()
	f := p.Fetch
	if f == nil {
		return &Input{Path: p.Path, Format: p.Format}, nil
	}
	if f.MaxBytes <= 0 {
		g := *f
		g.MaxBytes = DefaultMaxBytes
		f = &g
	}
	if prev != nil && prev.URL != f.URL {
		prev = nil
	}
	var in *Input
	var err error
	switch f.Kind {
	case spec.FetchHTTP:
		in, err = fetchHTTP(ctx, f, prev, opts)
	case spec.FetchObjectStore:
		in, err = fetchObject(ctx, f, prev, opts)
	case spec.FetchConfigMap:
		in, err = fetchConfigMap(f)
	case spec.FetchPostgres:
		in, err = fetchPostgres(ctx, f, opts)
	default:
		err = fmt.Errorf("the plan names an unknown location kind %q", f.Kind)
	}
	if err != nil {
		return nil, &Error{Namespace: p.Namespace, Source: p.Source, Err: err}
	}
	if in.Format == "" {
		in.Format = p.Format
	}
	return in, nil
}

// Error is a failed fetch: it names the DataSource, then the field and what to fix.
type Error struct {
	Namespace, Source string
	Err               error
}

func (e *Error) Error() string {
	return fmt.Sprintf("DataSource %s/%s: %v", e.Namespace, e.Source, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// spool creates a temporary file for a download; the caller removes it on failure.
func spool(opts Options, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(opts.TempDir, pattern)
	if err != nil {
		return nil, fmt.Errorf("creating a temporary file for the download: %w", err)
	}
	return f, nil
}
