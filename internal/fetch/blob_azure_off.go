//go:build noazure

package fetch

import (
	"context"

	"gocloud.dev/blob"

	"github.com/backbone-dev/backbone/internal/store"
)

// openAzure fails: this build leaves the Azure Blob Storage driver out.
func openAzure(context.Context, string, string) (*blob.Bucket, error) {
	return nil, store.DriverLeftOut("azblob")
}
