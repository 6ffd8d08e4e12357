//go:build !noazure

package store

// The azblob:// store driver, with ambient credentials (Azure workload identity, the
// account AZURE_STORAGE_ACCOUNT names): every binary that opens a store can open an
// azblob:// one. The noazure build tag leaves it out (docs/image.md).
import _ "gocloud.dev/blob/azureblob"

const azureLinked = true
