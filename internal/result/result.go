// Package result writes and reads the result of an aggregation: the one contract every
// surface reads (the controller's status, /metrics, dashboards, the community page and
// `backbone local`). A result is three objects under <namespace>/<initiative>/results/:
//
//	<hex>.parquet          the cells (one column per field of aggregate.Cell)
//	<hex>.indicators.json  per indicator: headline, on-track judgement, equity per dimension
//	                       and period, counts (the JSON of aggregate.IndicatorResult)
//	<hex>.json             the manifest, written last: what the result was computed from
//
// <hex> is the plan's hash (spec.Aggregate.Hash with the engine version): the same pinned
// inputs, as-of date and specs name the same result, so they are never computed twice,
// and a result always says what it was computed from. Read returns exactly what Write
// was given.
package result

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

// Manifest describes one result and names its objects. It is written after them, so its
// presence means the result is complete.
type Manifest struct {
	// ID is the hash of Plan computed by Engine (spec.Aggregate.Hash).
	ID         string `json:"id"`
	Namespace  string `json:"namespace"`
	Initiative string `json:"initiative"`
	// Engine is the version of the engine that computed the result.
	Engine string `json:"engine"`
	// AsOf is the date that decided which periods are complete.
	AsOf string `json:"asOf"`
	// Created is when the result was written; it is not part of the ID.
	Created time.Time `json:"created"`

	// Parquet is the key of the cells table, Indicators of the per-indicator results; their
	// hashes (sha256:<hex>) let a reader check it reads what was written.
	Parquet        string `json:"parquet"`
	ParquetHash    string `json:"parquetHash"`
	Indicators     string `json:"indicators"`
	IndicatorsHash string `json:"indicatorsHash"`
	// Cells and Suppressed count the cells.
	Cells      int `json:"cells"`
	Suppressed int `json:"suppressed"`

	Inputs     map[string]string `json:"inputs"`     // source → snapshot id
	SpecHashes map[string]string `json:"specHashes"` // indicator → spec hash
	// WithheldRowCounts lists the sources whose snapshot row counts must not be published
	// beside this result: with its cells, they would disclose a suppressed cell.
	WithheldRowCounts []string `json:"withheldRowCounts,omitempty"`
	// Plan is the plan computed, pinned inputs and as-of date included.
	Plan *spec.Aggregate `json:"plan"`
}

// ID returns the id of the result of p computed by an engine version.
func ID(p *spec.Aggregate, engine string) (string, error) { return p.Hash(engine) }

// Key is the key of the manifest of result id of an initiative.
func Key(namespace, initiative, id string) string {
	return path.Join(layout.ResultPrefix(namespace, initiative), layout.HexOf(id)+".json")
}

// LatestKey is the key of the copy of the latest result's manifest of an initiative.
func LatestKey(namespace, initiative string) string {
	return path.Join(layout.ResultPrefix(namespace, initiative), "latest.json")
}

// Write writes res, the result of p computed by engine, and points latest.json at it. It
// returns the manifest's key.
func Write(ctx context.Context, st *store.Store, p *spec.Aggregate, engine string, res *aggregate.Result, created time.Time) (string, *Manifest, error) {
	id, err := ID(p, engine)
	if err != nil {
		return "", nil, err
	}
	prefix := layout.ResultPrefix(p.Namespace, p.Initiative)
	hx := layout.HexOf(id)
	man := &Manifest{
		ID: id, Namespace: p.Namespace, Initiative: p.Initiative, Engine: engine, AsOf: p.AsOf,
		Created:           created.UTC(),
		Parquet:           path.Join(prefix, hx+".parquet"),
		Indicators:        path.Join(prefix, hx+".indicators.json"),
		Cells:             len(res.Cells),
		Inputs:            res.Inputs,
		WithheldRowCounts: res.WithheldRowCounts,
		SpecHashes:        map[string]string{},
		Plan:              p,
	}
	for _, c := range res.Cells {
		if c.Suppressed {
			man.Suppressed++
		}
	}
	for _, ind := range p.Indicators {
		man.SpecHashes[ind.Name] = ind.SpecHash
	}
	var cells bytes.Buffer
	if err := WriteCells(&cells, res.Cells); err != nil {
		return "", nil, fmt.Errorf("result %s: %w", id, err)
	}
	inds, err := json.MarshalIndent(res.Indicators, "", "  ")
	if err != nil {
		return "", nil, fmt.Errorf("result %s: encoding the indicators: %w", id, err)
	}
	inds = append(inds, '\n')
	man.ParquetHash, man.IndicatorsHash = digest(cells.Bytes()), digest(inds)
	if err := st.Put(ctx, man.Parquet, cells.Bytes()); err != nil {
		return "", nil, err
	}
	if err := st.Put(ctx, man.Indicators, inds); err != nil {
		return "", nil, err
	}
	key := Key(p.Namespace, p.Initiative, id)
	if err := st.PutJSON(ctx, key, man); err != nil {
		return "", nil, err
	}
	if err := st.PutJSON(ctx, LatestKey(p.Namespace, p.Initiative), man); err != nil {
		return "", nil, err
	}
	return key, man, nil
}

// ReadManifest reads the manifest at key. A missing result gives an error satisfying
// errors.Is(err, store.ErrNotFound).
func ReadManifest(ctx context.Context, st *store.Store, key string) (*Manifest, error) {
	man := &Manifest{}
	if err := st.GetJSON(ctx, key, man); err != nil {
		return nil, fmt.Errorf("result manifest: %w", err)
	}
	return man, nil
}

// Read reads the result whose manifest is at key: the manifest, and the cells, indicators
// and inputs exactly as Write was given them.
func Read(ctx context.Context, st *store.Store, key string) (*Manifest, *aggregate.Result, error) {
	man, err := ReadManifest(ctx, st, key)
	if err != nil {
		return nil, nil, err
	}
	cells, err := getChecked(ctx, st, man.Parquet, man.ParquetHash)
	if err != nil {
		return nil, nil, fmt.Errorf("result %s: %w", man.ID, err)
	}
	inds, err := getChecked(ctx, st, man.Indicators, man.IndicatorsHash)
	if err != nil {
		return nil, nil, fmt.Errorf("result %s: %w", man.ID, err)
	}
	res := &aggregate.Result{Inputs: man.Inputs, WithheldRowCounts: man.WithheldRowCounts}
	if res.Cells, err = ReadCells(ctx, cells); err != nil {
		return nil, nil, fmt.Errorf("result %s: %w", man.ID, err)
	}
	if err := json.Unmarshal(inds, &res.Indicators); err != nil {
		return nil, nil, fmt.Errorf("result %s: decoding %s: %w", man.ID, man.Indicators, err)
	}
	return man, res, nil
}

// Lookup reports the key of the result of p computed by engine, when the store holds it.
func Lookup(ctx context.Context, st *store.Store, p *spec.Aggregate, engine string) (string, bool, error) {
	id, err := ID(p, engine)
	if err != nil {
		return "", false, err
	}
	key := Key(p.Namespace, p.Initiative, id)
	ok, err := st.Exists(ctx, key)
	if err != nil {
		return "", false, fmt.Errorf("looking up result %s: %w", id, err)
	}
	return key, ok, nil
}

// getChecked reads key and checks its hash.
func getChecked(ctx context.Context, st *store.Store, key, want string) ([]byte, error) {
	b, err := st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if got := digest(b); got != want {
		return nil, fmt.Errorf("%s is not the object the manifest names: its hash is %s, the manifest's %s", key, got, want)
	}
	return b, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ReadIndicators reads the per-indicator results a manifest names (headline, on-track
// judgement, equity), checking they are what was written, without reading the cells.
func ReadIndicators(ctx context.Context, st *store.Store, man *Manifest) ([]aggregate.IndicatorResult, error) {
	b, err := getChecked(ctx, st, man.Indicators, man.IndicatorsHash)
	if err != nil {
		return nil, fmt.Errorf("result %s: %w", man.ID, err)
	}
	var inds []aggregate.IndicatorResult
	if err := json.Unmarshal(b, &inds); err != nil {
		return nil, fmt.Errorf("result %s: decoding %s: %w", man.ID, man.Indicators, err)
	}
	return inds, nil
}
