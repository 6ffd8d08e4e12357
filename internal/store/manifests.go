package store

import "github.com/backbone-dev/backbone/internal/store/layout"

// The manifests and keys of the store's layout live in internal/store/layout, which links
// no blob SDK so the engine can name them; these names let code that opens a store read
// them with one import.
type (
	SnapshotManifest = layout.SnapshotManifest
	SnapshotColumn   = layout.SnapshotColumn
)

// Prefix is the folder of one initiative.
func Prefix(namespace, initiative string) string { return layout.Prefix(namespace, initiative) }

// SourcePrefix is the folder of one source.
func SourcePrefix(namespace, initiative, source string) string {
	return layout.SourcePrefix(namespace, initiative, source)
}
