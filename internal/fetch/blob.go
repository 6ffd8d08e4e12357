package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// Bucket says how to open a bucket: what an objectStore location and a store URL share.
type Bucket struct {
	// URL is scheme://bucket (s3, gs, azblob), possibly with gocloud query parameters.
	URL       string
	Endpoint  string
	Region    string
	PathStyle bool
	// CredentialsDir is a mounted Secret of credentials; empty means ambient ones.
	CredentialsDir string
	// AllowedNetworks are reachable although internal (an S3-compatible endpoint on
	// loopback in tests); the guard applies to S3 endpoints only.
	AllowedNetworks []string
}

// secretValue reads the first of names present in dir, trimmed.
func secretValue(dir string, names ...string) (string, error) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// OpenBucket opens a bucket: S3 with the endpoint, region, path style and credentials of
// b; gs:// and azblob:// through gocloud's URL openers with ambient credentials.
func OpenBucket(ctx context.Context, b Bucket) (*blob.Bucket, error) {
	u, err := url.Parse(b.URL)
	if err != nil {
		return nil, err
	}
	if err := store.DriverLeftOut(u.Scheme); err != nil {
		return nil, err
	}
	switch {
	case u.Scheme == "gs" && b.CredentialsDir != "":
		return openGCS(ctx, u.Host, b.CredentialsDir)
	case u.Scheme == "azblob" && b.CredentialsDir != "":
		return openAzure(ctx, u.Host, b.CredentialsDir)
	case u.Scheme != "s3":
		// Ambient credentials: GKE workload identity or GOOGLE_APPLICATION_CREDENTIALS;
		// Azure workload identity with AZURE_STORAGE_ACCOUNT naming the account.
		return blob.OpenBucket(ctx, b.URL)
	}
	q := u.Query()
	region := b.Region
	if region == "" {
		region = q.Get("region")
	}
	if region == "" {
		region = "us-east-1"
	}
	endpoint := b.Endpoint
	if endpoint == "" {
		endpoint = q.Get("endpoint")
	}
	pathStyle := b.PathStyle || q.Get("use_path_style") == "true"
	lopts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if b.CredentialsDir != "" {
		id, err := secretValue(b.CredentialsDir, "accessKeyId", "AWS_ACCESS_KEY_ID", "access_key_id")
		if err != nil {
			return nil, fmt.Errorf("reading the credentials Secret at %s: %w", b.CredentialsDir, err)
		}
		secret, err := secretValue(b.CredentialsDir, "secretAccessKey", "AWS_SECRET_ACCESS_KEY", "secret_access_key")
		if err != nil {
			return nil, fmt.Errorf("reading the credentials Secret at %s: %w", b.CredentialsDir, err)
		}
		token, _ := secretValue(b.CredentialsDir, "sessionToken", "AWS_SESSION_TOKEN")
		if id == "" || secret == "" {
			return nil, fmt.Errorf("the credentials Secret at %s needs the keys accessKeyId and secretAccessKey", b.CredentialsDir)
		}
		lopts = append(lopts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, token)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lopts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	var hc *http.Client
	if endpoint != "" {
		g, err := newGuard(b.AllowedNetworks)
		if err != nil {
			return nil, err
		}
		hc = &http.Client{Transport: &http.Transport{DialContext: g.dialer(), Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 8}}
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.HTTPClient = hc
		}
		o.UsePathStyle = pathStyle
		// S3-compatible servers often send no checksum; the download is checked by its size.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return s3blob.OpenBucket(ctx, client, u.Host, nil)
}

// splitObjectURL splits scheme://bucket/key into the bucket URL and the key.
func splitObjectURL(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	key := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || key == "" {
		return "", "", fmt.Errorf("%q is not scheme://bucket/key", raw)
	}
	return u.Scheme + "://" + u.Host, key, nil
}

// fetchObject downloads one object, unless its ETag matches prev.
func fetchObject(ctx context.Context, f *spec.Fetch, prev *Validator, opts Options) (*Input, error) {
	const field = "spec.location.objectStore"
	bucketURL, key, err := splitObjectURL(f.URL)
	if err != nil {
		return nil, fmt.Errorf("%s.url: %w", field, err)
	}
	b, err := OpenBucket(ctx, Bucket{URL: bucketURL, Endpoint: f.Endpoint, Region: f.Region, PathStyle: f.PathStyle, CredentialsDir: f.CredentialsDir, AllowedNetworks: f.AllowedNetworks})
	if err != nil {
		return nil, fmt.Errorf("%s: opening %s: %w", field, bucketURL, err)
	}
	defer b.Close()
	attrs, err := b.Attributes(ctx, key)
	if err != nil {
		return nil, objectError(f, err)
	}
	v := Validator{URL: f.URL, ETag: attrs.ETag}
	if v.ETag != "" && !prev.empty() && prev.ETag == v.ETag {
		return &Input{Unchanged: true, Validator: v}, nil
	}
	if attrs.Size > f.MaxBytes {
		return nil, fmt.Errorf("%s: %s is %d bytes, above the limit of %d bytes; split the export or raise the limit (--max-fetch-bytes)", field, f.URL, attrs.Size, f.MaxBytes)
	}
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, objectError(f, err)
	}
	defer r.Close()
	out, err := spool(opts, "fetch-*")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(out, io.LimitReader(r, f.MaxBytes+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		os.Remove(out.Name())
		return nil, fmt.Errorf("%s: reading %s after %d bytes: %w", field, f.URL, n, err)
	case n > f.MaxBytes:
		os.Remove(out.Name())
		return nil, fmt.Errorf("%s: %s is larger than the limit of %d bytes", field, f.URL, f.MaxBytes)
	case n != attrs.Size:
		os.Remove(out.Name())
		return nil, fmt.Errorf("%s: reading %s: got %d of %d bytes", field, f.URL, n, attrs.Size)
	}
	return &Input{Path: out.Name(), Validator: v, temp: true}, nil
}

// objectError says what to fix for an object store error.
func objectError(f *spec.Fetch, err error) error {
	const field = "spec.location.objectStore"
	u := f.URL
	var ra *RefusedAddressError
	switch {
	case errors.As(err, &ra):
		return fmt.Errorf("%s.endpoint: %w", field, ra)
	case gcerrors.Code(err) == gcerrors.NotFound:
		return fmt.Errorf("%s.url: %s does not exist: check the bucket and key", field, u)
	case gcerrors.Code(err) == gcerrors.PermissionDenied && f.CredentialsDir != "":
		// The Secret is mounted at <secrets dir>/<name>: its folder's name is the Secret's.
		return fmt.Errorf("%s: access to %s denied: check the credentials Secret %s (%s.credentialsSecretRef): its keys are refused or may not read this object: %v",
			field, u, filepath.Base(f.CredentialsDir), field, err)
	case gcerrors.Code(err) == gcerrors.PermissionDenied:
		return fmt.Errorf("%s: access to %s denied: no credentialsSecretRef is set, so the workload identity's permissions apply; grant it read access or set %s.credentialsSecretRef: %v", field, u, field, err)
	}
	return fmt.Errorf("%s: reading %s: %w (check the endpoint, region and credentials)", field, u, err)
}
