//go:build noazure

package fetch

import (
	"context"

	"gocloud.dev/blob"
)

// AzureLinked reports whether this build has the azblob:// driver.
const AzureLinked = false

// openAzure fails: this build leaves the Azure Blob Storage driver out.
func openAzure(context.Context, string, string) (*blob.Bucket, error) {
	return nil, errLeftOut("azblob", "noazure")
}
