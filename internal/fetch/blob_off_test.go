//go:build nogcs && noazure

package fetch

import (
	"context"
	"strings"
	"testing"
)

// A build without the GCS and Azure drivers refuses their URLs, with or without a
// credentials Secret, saying which tag left the driver out.
func TestDriversLeftOut(t *testing.T) {
	for _, tc := range []struct{ url, tag string }{{"gs://b", "nogcs"}, {"azblob://c", "noazure"}} {
		for _, creds := range []string{"", t.TempDir()} {
			_, err := OpenBucket(context.Background(), Bucket{URL: tc.url, CredentialsDir: creds})
			if err == nil || !strings.Contains(err.Error(), "built with -tags "+tc.tag) || !strings.Contains(err.Error(), "use the release image") {
				t.Errorf("%s (credentials %q): %v, want the driver left out by %s", tc.url, creds, err, tc.tag)
			}
		}
	}
}
