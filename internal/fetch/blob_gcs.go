//go:build !nogcs

package fetch

import (
	"context"
	"fmt"

	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob" // also registers the gs:// URL opener (ambient credentials)
	"gocloud.dev/gcp"
	"golang.org/x/oauth2/google"
)

// openGCS opens a GCS bucket with a service account key from a mounted Secret (the key
// credentials.json, or key.json).
func openGCS(ctx context.Context, bucket, dir string) (*blob.Bucket, error) {
	key, err := secretValue(dir, "credentials.json", "key.json")
	if err != nil || key == "" {
		return nil, fmt.Errorf("the credentials Secret at %s needs a service account key under credentials.json (%v)", dir, err)
	}
	creds, err := google.CredentialsFromJSON(ctx, []byte(key), "https://www.googleapis.com/auth/devstorage.read_write")
	if err != nil {
		return nil, fmt.Errorf("the service account key in the credentials Secret at %s: %w", dir, err)
	}
	client, err := gcp.NewHTTPClient(gcp.DefaultTransport(), gcp.CredentialsTokenSource(creds))
	if err != nil {
		return nil, err
	}
	return gcsblob.OpenBucket(ctx, client, bucket, nil)
}
