// Package layout names the objects of Backbone's store and describes the manifests that
// list them, as plain values: it links no blob SDK, so the engine (internal/pipeline) can
// read a snapshot's manifest and the ingest writer can name its keys without linking
// gocloud.dev. internal/store does the I/O.
package layout

import (
	"errors"
	"path"
	"strings"
	"time"
)

// Keys of the store's layout. Everything of an initiative lives under
// <namespace>/<initiative>/, so a Job pod can be limited to that prefix.
//
//	<ns>/<initiative>/sources/<source>/data/<sha256>.parquet      snapshot (content-addressed)
//	<ns>/<initiative>/sources/<source>/data/<sha256>.arrow        engine layout of it
//	<ns>/<initiative>/sources/<source>/rejects/<sha256>.csv       rows that failed, with reasons
//	<ns>/<initiative>/sources/<source>/snapshots/<sha256>.json    manifest, written last
//	<ns>/<initiative>/sources/<source>/latest.json                the promoted snapshot's manifest
//	<ns>/<initiative>/results/<sha256>.parquet                    result cells
//	<ns>/<initiative>/results/<sha256>.indicators.json            result per indicator
//	<ns>/<initiative>/results/<sha256>.json                       result manifest, written last
//	<ns>/<initiative>/results/latest.json
//
// A snapshot's <sha256> is the hash of its Parquet file; a result's is its plan's hash
// (internal/result), so the same plan names the same result.

// ErrNotFound is what a store returns for a key that does not exist (errors.Is), so
// packages that write through a store interface of their own can tell it from a failure.
var ErrNotFound = errors.New("not found")

// Prefix is the folder of one initiative.
func Prefix(namespace, initiative string) string { return path.Join(namespace, initiative) }

// SourcePrefix is the folder of one source.
func SourcePrefix(namespace, initiative, source string) string {
	return path.Join(namespace, initiative, "sources", source)
}

// HexOf strips the "sha256:" prefix of an id.
func HexOf(id string) string { return strings.TrimPrefix(id, "sha256:") }

// SnapshotManifest describes one snapshot of a source. It is written after every file it
// names, so its presence means the snapshot is complete.
type SnapshotManifest struct {
	ID         string    `json:"id"` // sha256:<hex of the Parquet file>
	Namespace  string    `json:"namespace"`
	Initiative string    `json:"initiative"`
	Source     string    `json:"source"`
	Partner    string    `json:"partner"`
	SchemaHash string    `json:"schemaHash"`
	Created    time.Time `json:"created"`

	RowsIn       int64 `json:"rowsIn"`
	RowsOK       int64 `json:"rowsOk"`
	RowsRejected int64 `json:"rowsRejected"`
	RowsExcluded int64 `json:"rowsExcluded"`
	// Units is the number of units of the accepted rows: rows, or the sum of the frequency column.
	Units int64 `json:"units"`

	Parquet      string `json:"parquet"` // key
	ParquetBytes int64  `json:"parquetBytes"`
	Engine       string `json:"engine"` // key of the Arrow IPC engine layout
	EngineBytes  int64  `json:"engineBytes"`
	Rejects      string `json:"rejects,omitempty"`

	// Columns of the snapshot, in order, with their vocabulary groups. The engine layout
	// holds them in the same order, except those that are ParquetOnly.
	Columns []SnapshotColumn `json:"columns"`
	// MinDay and MaxDay bound the day numbers (days since 1970-01-01, local) of time columns.
	MinDay int32 `json:"minDay"`
	MaxDay int32 `json:"maxDay"`
	// UnknownShare is, per dimension column, the share of units in the unknown group.
	UnknownShare map[string]float64 `json:"unknownShare,omitempty"`
	// Promoted is false when the reject share exceeded maxRejectPercent.
	Promoted bool   `json:"promoted"`
	Reason   string `json:"reason,omitempty"`
}

// SnapshotColumn is one column of a snapshot.
type SnapshotColumn struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Dimension string   `json:"dimension,omitempty"`
	Groups    []string `json:"groups,omitempty"` // code i is Groups[i]; the unknown group last
	ValueKind string   `json:"valueKind,omitempty"`
	Frequency bool     `json:"frequency,omitempty"`
	// ParquetOnly says the column is in the Parquet snapshot only, not in the engine layout
	// (text other than vocabulary codes).
	ParquetOnly bool `json:"parquetOnly,omitempty"`
}

// SnapshotManifestKey is the key of the manifest of snapshot id of one source.
func SnapshotManifestKey(namespace, initiative, source, id string) string {
	return path.Join(SourcePrefix(namespace, initiative, source), "snapshots", HexOf(id)+".json")
}

// ResultPrefix is the folder of one initiative's results.
func ResultPrefix(namespace, initiative string) string {
	return path.Join(Prefix(namespace, initiative), "results")
}
