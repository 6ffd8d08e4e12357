package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// compiledPlan is the part of an aggregation that is a function of the objects' specs and
// snapshots alone: the plan, its problems, the Indicators waiting for a snapshot, its id
// and its Job's name. It is shared between reconciliations: read only.
type compiledPlan struct {
	plan    *spec.Aggregate
	errors  plan.Errors
	waiting map[string][]string
	id, job string
}

// plans remembers the plan last compiled for each Initiative, under the fingerprint of
// everything it was compiled from (planFingerprint): every Indicator of a large Initiative
// is reconciled when a snapshot lands, and each compiled the same plan again. It keeps at
// most max Initiatives (the oldest compiled is forgotten first). A nil *plans remembers
// nothing.
type plans struct {
	kept *bounded[types.NamespacedName, planEntry]
}

type planEntry struct {
	fingerprint [sha256.Size]byte
	plan        *compiledPlan
}

// plansKept bounds plans: a decoded plan of 50 Indicators is tens of KB.
const plansKept = 512

func newPlans(n int) *plans { return &plans{kept: newBounded[types.NamespacedName, planEntry](n)} }

func (c *plans) get(ini types.NamespacedName, fp [sha256.Size]byte) *compiledPlan {
	if c == nil {
		return nil
	}
	if e, ok := c.kept.get(ini); ok && e.fingerprint == fp {
		return e.plan
	}
	return nil
}

func (c *plans) put(ini types.NamespacedName, fp [sha256.Size]byte, p *compiledPlan) {
	if c != nil {
		c.kept.set(ini, planEntry{fingerprint: fp, plan: p})
	}
}

// planFingerprint hashes what compileAggregation reads: the operator's settings, the
// Initiative's identity and spec generation, each DataSource's identity, spec generation
// and promoted snapshot (id and time), each Indicator's identity and spec generation, in
// name order. Status changes other than a DataSource's snapshot leave it unchanged.
func planFingerprint(ini *impactv1.Initiative, sources []impactv1.DataSource, inds []impactv1.Indicator, opts plan.AggregateOptions) [sha256.Size]byte {
	h := sha256.New()
	str := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	num(int64(opts.MinCellSizeFloor))
	str(ini.Namespace)
	str(ini.Name)
	str(string(ini.UID))
	num(ini.Generation)
	num(int64(len(sources)))
	for i := range sources {
		ds := &sources[i]
		str(ds.Name)
		str(string(ds.UID))
		num(ds.Generation)
		if s := ds.Status.Snapshot; s != nil {
			str(string(s.ID))
			if s.Time != nil {
				num(s.Time.UnixNano())
			} else {
				num(-1)
			}
		} else {
			str("")
		}
	}
	num(int64(len(inds)))
	for i := range inds {
		str(inds[i].Name)
		str(string(inds[i].UID))
		num(inds[i].Generation)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// manifests remembers the result manifests read, by key: a result's manifest under its id
// is written once and never changes (the id is the hash of the plan it computed), and
// every Indicator of an Initiative reads the same one. It keeps at most max manifests (the
// oldest read is forgotten first). A nil *manifests remembers nothing; a manifest not found
// is not remembered.
type manifests struct {
	kept *bounded[string, *result.Manifest]
}

// manifestsKept bounds manifests: a decoded manifest (its plan included) is ≈ 50 KB for an
// Initiative of 50 Indicators.
const manifestsKept = 256

func newManifests(n int) *manifests { return &manifests{kept: newBounded[string, *result.Manifest](n)} }

// read returns the manifest at key (shared: read only).
func (c *manifests) read(ctx context.Context, st *store.Store, key string) (*result.Manifest, error) {
	if c == nil {
		return result.ReadManifest(ctx, st, key)
	}
	if man, ok := c.kept.get(key); ok {
		return man, nil
	}
	man, err := result.ReadManifest(ctx, st, key)
	if err != nil {
		return nil, err
	}
	return c.kept.add(key, man), nil
}

// bounded is a map that keeps at most max entries, the oldest added forgotten first. It is
// safe for concurrent use.
type bounded[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order []K // oldest first
	by    map[K]V
}

func newBounded[K comparable, V any](n int) *bounded[K, V] {
	return &bounded[K, V]{max: n, by: map[K]V{}}
}

func (b *bounded[K, V]) get(k K) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.by[k]
	return v, ok
}

// add keeps v under k unless k is held already, and returns what k holds.
func (b *bounded[K, V]) add(k K, v V) V {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur, ok := b.by[k]; ok {
		return cur
	}
	b.insert(k, v)
	return v
}

// set keeps v under k, replacing what k held.
func (b *bounded[K, V]) set(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.by[k]; ok {
		b.by[k] = v
		return
	}
	b.insert(k, v)
}

func (b *bounded[K, V]) insert(k K, v V) {
	b.by[k] = v
	b.order = append(b.order, k)
	for len(b.order) > b.max {
		delete(b.by, b.order[0])
		b.order = b.order[1:]
	}
}

// len is the number of entries kept.
func (b *bounded[K, V]) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.by)
}
