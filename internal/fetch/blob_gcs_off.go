//go:build nogcs

package fetch

import (
	"context"

	"gocloud.dev/blob"

	"github.com/backbone-dev/backbone/internal/store"
)

// openGCS fails: this build leaves the Cloud Storage driver out.
func openGCS(context.Context, string, string) (*blob.Bucket, error) {
	return nil, store.DriverLeftOut("gs")
}
