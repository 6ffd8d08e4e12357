//go:build !nogcs

package store

// The gs:// store driver, with ambient credentials (GKE workload identity,
// GOOGLE_APPLICATION_CREDENTIALS): every binary that opens a store can open a gs:// one,
// the manager as much as the Jobs. The nogcs build tag leaves it out (docs/image.md).
import _ "gocloud.dev/blob/gcsblob"

const gcsLinked = true
