//go:build nogcs

package fetch

import (
	"context"

	"gocloud.dev/blob"
)

// GCSLinked reports whether this build has the gs:// driver.
const GCSLinked = false

// openGCS fails: this build leaves the Cloud Storage driver out.
func openGCS(context.Context, string, string) (*blob.Bucket, error) {
	return nil, errLeftOut("gs", "nogcs")
}
