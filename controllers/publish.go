package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/live"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// ConditionSeriesCapped is the condition of an Indicator whose series on the results'
// /metrics are cut to its totals by a series cap.
const ConditionSeriesCapped = "SeriesCapped"

// Reasons of the SeriesCapped condition.
const (
	ReasonIndicatorCap = "IndicatorSeriesCap"
	ReasonGlobalCap    = "GlobalSeriesCap"
	ReasonWithinCap    = "WithinSeriesCap"
)

// AnnotationDashboardInputs on a dashboard ConfigMap is the hash of what it was rendered
// from (the result id and the generations of the Initiative and its Indicators): the
// ConfigMap is rendered again only when it changes.
const AnnotationDashboardInputs = "impact.backbone.dev/dashboard-inputs"

// Publisher publishes results outside the cluster's objects: the metrics of the results
// and the community pages. The reconcilers call it when they read a result; it must be
// idempotent (the same result is published by the Initiative's and every Indicator's
// reconciler) and safe for concurrent use.
type Publisher interface {
	// Publish publishes an Initiative's result and its DataSources' data health,
	// replacing what was published for the Initiative.
	Publish(ctx context.Context, p *live.Publication) error
	// NeedsResult reports whether Publish needs the result's cells (p.Result) to publish
	// p; p.Result is not read.
	NeedsResult(p *live.Publication) bool
	// Published returns the id of the result published for an Initiative, or "".
	Published(namespace, initiative string) string
	// PublishedWith returns the id of the result published for an Initiative and the
	// generation of the Indicator it was published with, or "" and 0.
	PublishedWith(namespace, initiative, indicator string) (string, int64)
	// Remove removes everything published for an Initiative.
	Remove(ctx context.Context, namespace, initiative string) error
	// Capped reports whether an Indicator's series are cut to its totals, and whether its
	// own cap (else the global cap) decided it, with its full and published series counts.
	Capped(namespace, initiative, indicator string) (capped, byIndicator bool, full, published int)
}

// DashboardOptions configure the dashboard ConfigMaps the Initiative reconciler applies.
type DashboardOptions struct {
	// Disabled turns dashboards off for every Initiative.
	Disabled bool
	// ConfigMap holds the Grafana sidecar's label and folder annotation.
	ConfigMap dashboard.ConfigMapOptions
	// GrafanaDashboards also keeps a GrafanaDashboard (grafana-operator) per Initiative,
	// reading its dashboard ConfigMap, when that resource's CRD is installed.
	GrafanaDashboards bool
	// GrafanaInstanceSelector is the GrafanaDashboards' spec.instanceSelector.matchLabels:
	// the Grafana instances that load them.
	GrafanaInstanceSelector map[string]string
}

// publication reads what an Initiative's result is published from: its DataSources'
// promoted snapshot manifests and, only when the publisher needs them (it keeps no
// result), the result's cells (else Result is nil). Indicators that no longer exist are
// left out of the result.
func publication(ctx context.Context, pub Publisher, st *store.Store, ini *impactv1.Initiative, a *aggregation, man *result.Manifest, res *resultOnce) (*live.Publication, error) {
	p := &live.Publication{Initiative: ini, Indicators: a.Indicators, DataSources: a.Sources, Manifest: man}
	var err error
	if p.Snapshots, err = snapshots(ctx, st, a.Sources); err != nil {
		return nil, err
	}
	if pub.NeedsResult(p) {
		m, cells, err := res.get(ctx)
		if err != nil {
			return nil, fmt.Errorf("initiative %s: reading result %s: %w", ini.Name, man.ID, err)
		}
		p.Manifest, p.Result = m, cells
	}
	return p, nil
}

// snapshots reads the promoted snapshot manifests of DataSources, in their order.
func snapshots(ctx context.Context, st *store.Store, sources []impactv1.DataSource) ([]store.SnapshotManifest, error) {
	var out []store.SnapshotManifest
	for _, ds := range sources {
		if ds.Status.Snapshot == nil {
			continue
		}
		key := path.Join(store.SourcePrefix(ds.Namespace, ds.Spec.InitiativeRef.Name, ds.Name), "latest.json")
		m := store.SnapshotManifest{}
		if err := st.GetJSON(ctx, key, &m); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return nil, fmt.Errorf("DataSource %s: reading %s: %w", ds.Name, st.URI(key), err)
		}
		out = append(out, m)
	}
	return out, nil
}

// dashboardInputs hashes what a dashboard is rendered from.
func dashboardInputs(ini *impactv1.Initiative, a *aggregation, resultID string, opts DashboardOptions) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\x00", resultID, ini.Generation, opts.ConfigMap.LabelKey, opts.ConfigMap.LabelValue, opts.ConfigMap.FolderAnnotation)
	for _, ind := range a.Indicators {
		h.Write([]byte(ind.Name + "\x00" + strconv.FormatInt(ind.Generation, 10) + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// applyDashboard writes the Initiative's dashboard ConfigMap (owned by the Initiative) when
// what it is rendered from changed, and names it in status.dashboard. With dashboards
// disabled (spec.dashboard.enabled: false, or for every Initiative) it deletes the
// ConfigMap and clears the status field.
func applyDashboard(ctx context.Context, c client.Client, opts DashboardOptions, ini *impactv1.Initiative, a *aggregation, man *result.Manifest, res *resultOnce) error {
	name := dashboard.ConfigMapName(ini.Name)
	nn := types.NamespacedName{Namespace: ini.Namespace, Name: name}
	cur := &corev1.ConfigMap{}
	err := c.Get(ctx, nn, cur)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("getting ConfigMap %s: %w", nn, err)
	}
	exists := err == nil
	if opts.Disabled || !dashboard.Enabled(ini) {
		ini.Status.Dashboard = ""
		if exists && metav1.IsControlledBy(cur, ini) {
			if err := c.Delete(ctx, cur); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting ConfigMap %s: %w", nn, err)
			}
		}
		return nil
	}
	if exists && !metav1.IsControlledBy(cur, ini) {
		return stall(ReasonInvalidSpec, "Initiative %s: ConfigMap %s exists and is not the Initiative's: its dashboard cannot be written", ini.Name, name)
	}
	inputs := dashboardInputs(ini, a, man.ID, opts)
	if exists && cur.Annotations[AnnotationDashboardInputs] == inputs {
		ini.Status.Dashboard = name
		return nil
	}
	_, cells, err := res.get(ctx)
	if err != nil {
		return fmt.Errorf("initiative %s: reading result %s: %w", ini.Name, man.ID, err)
	}
	b, err := dashboard.JSON(ini, a.Indicators, cells)
	if err != nil {
		return fmt.Errorf("initiative %s: rendering its dashboard: %w", ini.Name, err)
	}
	want := dashboard.ConfigMap(ini, b, opts.ConfigMap)
	if want.Annotations == nil {
		want.Annotations = map[string]string{}
	}
	want.Annotations[AnnotationDashboardInputs] = inputs
	want.Labels[LabelInitiative] = ini.Name
	want.Labels[LabelComponent] = "dashboard"
	if err := controllerutil.SetControllerReference(ini, want, c.Scheme()); err != nil {
		return err
	}
	if !exists {
		if err := c.Create(ctx, want); err != nil {
			if apierrors.IsAlreadyExists(err) {
				// Not in the cache, which holds only the manager's own ConfigMaps: someone else's.
				return stall(ReasonInvalidSpec, "Initiative %s: ConfigMap %s exists and is not the Initiative's: its dashboard cannot be written", ini.Name, name)
			}
			return fmt.Errorf("creating ConfigMap %s: %w", nn, err)
		}
	} else {
		cur.Labels, cur.Annotations, cur.Data, cur.OwnerReferences = want.Labels, want.Annotations, want.Data, want.OwnerReferences
		if err := c.Update(ctx, cur); err != nil {
			return fmt.Errorf("updating ConfigMap %s: %w", nn, err)
		}
	}
	ini.Status.Dashboard = name
	return nil
}

var _ Publisher = (*live.Publisher)(nil)

// resultOnce reads a result from the store the first time it is asked for, at most once.
// With slots, it waits for a free one before decoding and holds it until released: a
// decoded result takes several times its file's size, and Initiatives whose Jobs finish
// together would otherwise all hold theirs at once.
type resultOnce struct {
	store *store.Store
	key   string
	slots chan struct{}

	held bool
	man  *result.Manifest
	res  *aggregate.Result
	err  error
	done bool
}

// get returns the result, read on the first call.
func (o *resultOnce) get(ctx context.Context) (*result.Manifest, *aggregate.Result, error) {
	if o.done {
		return o.man, o.res, o.err
	}
	if err := o.acquire(ctx); err != nil {
		return nil, nil, err
	}
	o.man, o.res, o.err = result.Read(ctx, o.store, o.key)
	o.done = true
	return o.man, o.res, o.err
}

// acquire waits for a slot to decode in, unless it holds one already.
func (o *resultOnce) acquire(ctx context.Context) error {
	if o.slots == nil || o.held {
		return nil
	}
	select {
	case o.slots <- struct{}{}:
		o.held = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release drops the decoded result and frees its slot.
func (o *resultOnce) release() {
	o.man, o.res, o.done = nil, nil, false
	if o.held {
		<-o.slots
		o.held = false
	}
}
