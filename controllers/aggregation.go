package controllers

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
	"github.com/backbone-dev/backbone/internal/store/layout"
	"github.com/backbone-dev/backbone/internal/version"
)

// aggregation is the aggregation an Initiative's current specs and snapshots call for.
// The Initiative and Indicator reconcilers compile it the same way, from the same objects,
// so they agree on the plan, its result id and the Job's name.
type aggregation struct {
	Plan *spec.Aggregate
	// Errors are the problems of the Indicators left out of the plan (internal/plan's checks).
	Errors plan.Errors
	// Waiting maps an Indicator left out of the plan to the sources it reads that have no
	// snapshot yet.
	Waiting map[string][]string
	// ID is the id of the plan's result (its hash with the engine version); JobName the
	// name of the Job computing it.
	ID, JobName string
	Sources     []impactv1.DataSource
	Indicators  []impactv1.Indicator
}

// compileAggregation compiles the aggregation plan of an Initiative: every Indicator that
// passes internal/plan's checks and whose sources have a promoted snapshot, pinned to those
// snapshots, as of the date of the newest of them (so the same inputs always give the
// same plan, and a restarted manager computes the same id).
//
// An Initiative the operator's settings refuse as a whole (a minCellSize below
// --min-cell-size-floor) stalls, and with it its Indicators.
//
// memo, when not nil, remembers the plan compiled from the same objects (planFingerprint):
// the Sources and Indicators returned are always the ones listed now, the plan may be
// shared with other reconciliations (read only).
//
// When the plan does not compile, the aggregation returned with the error still holds the
// Sources and Indicators listed (the Initiative counts its Indicators all the same); it is
// nil only when they could not be listed.
func compileAggregation(ctx context.Context, c client.Reader, ini *impactv1.Initiative, opts plan.AggregateOptions, memo *plans) (*aggregation, error) {
	var sources impactv1.DataSourceList
	if err := c.List(ctx, &sources, client.InNamespace(ini.Namespace), client.MatchingFields{IndexInitiative: ini.Name}); err != nil {
		return nil, fmt.Errorf("listing the DataSources of Initiative %s: %w", ini.Name, err)
	}
	var inds impactv1.IndicatorList
	if err := c.List(ctx, &inds, client.InNamespace(ini.Namespace), client.MatchingFields{IndexInitiative: ini.Name}); err != nil {
		return nil, fmt.Errorf("listing the Indicators of Initiative %s: %w", ini.Name, err)
	}
	sort.Slice(sources.Items, func(i, j int) bool { return sources.Items[i].Name < sources.Items[j].Name })
	sort.Slice(inds.Items, func(i, j int) bool { return inds.Items[i].Name < inds.Items[j].Name })
	a := &aggregation{Sources: sources.Items, Indicators: inds.Items, Waiting: map[string][]string{}}
	nn := types.NamespacedName{Namespace: ini.Namespace, Name: ini.Name}
	var fp [sha256.Size]byte
	if memo != nil {
		fp = planFingerprint(ini, sources.Items, inds.Items, opts)
		if cp := memo.get(nn, fp); cp != nil {
			a.Plan, a.Errors, a.Waiting, a.ID, a.JobName = cp.plan, cp.errors, cp.waiting, cp.id, cp.job
			return a, nil
		}
	}
	if err := compilePlan(ini, a, opts); err != nil {
		return &aggregation{Sources: a.Sources, Indicators: a.Indicators}, err
	}
	memo.put(nn, fp, &compiledPlan{plan: a.Plan, errors: a.Errors, waiting: a.Waiting, id: a.ID, job: a.JobName})
	return a, nil
}

// compilePlan sets the plan, its problems, the waiting Indicators, the id and the Job's name
// of an aggregation from its Initiative, Sources and Indicators.
func compilePlan(ini *impactv1.Initiative, a *aggregation, opts plan.AggregateOptions) error {
	sources := a.Sources
	p, err := plan.AggregateWith(ini, sources, a.Indicators, opts)
	if err != nil && !errors.As(err, &a.Errors) {
		return err
	}
	for _, e := range a.Errors {
		if e.Kind == "Initiative" {
			return stall(ReasonInvalidSpec, "%s", e.Error())
		}
	}
	// Indicators whose sources have no snapshot yet wait; the others are computed.
	pinned := map[string]bool{}
	for _, in := range p.Inputs {
		pinned[in.Source] = true
	}
	kept := p.Indicators[:0]
	for _, si := range p.Indicators {
		var missing []string
		for _, op := range operands(si) {
			if !pinned[op.Source] && !slices.Contains(missing, op.Source) {
				missing = append(missing, op.Source)
			}
		}
		if len(missing) > 0 {
			a.Waiting[si.Name] = missing
			continue
		}
		kept = append(kept, si)
	}
	p.Indicators = kept
	var inputs []spec.Input
	for _, in := range p.Inputs {
		if slices.Contains(p.Sources(), in.Source) {
			inputs = append(inputs, in)
		}
	}
	p.Inputs = inputs
	p.AsOf = asOf(p, sources)
	a.Plan = p
	if len(p.Indicators) == 0 {
		return nil
	}
	if a.ID, err = result.ID(p, version.Engine()); err != nil {
		return err
	}
	suffix := "-agg-" + layout.HexOf(a.ID)[:10]
	a.JobName = truncate(ini.Name, len(suffix)) + suffix
	return nil
}

func operands(si spec.Indicator) []spec.Operand {
	ops := []spec.Operand{si.Numerator}
	if si.Denominator != nil {
		ops = append(ops, *si.Denominator)
	}
	return ops
}

// asOf is the date, in the plan's time zone, of the newest snapshot the plan reads: the
// periods complete when the data was last ingested.
func asOf(p *spec.Aggregate, sources []impactv1.DataSource) string {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	var newest time.Time
	for _, ds := range sources {
		s := ds.Status.Snapshot
		if s == nil || s.Time == nil {
			continue
		}
		if id, ok := p.Snapshot(ds.Name); ok && id == s.ID && s.Time.After(newest) {
			newest = s.Time.Time
		}
	}
	if newest.IsZero() {
		return ""
	}
	return newest.In(loc).Format(time.DateOnly)
}

// findResult returns the manifest of the aggregation's result when the store holds it.
// A Job run by an image of another version writes the same plan under another engine's id:
// the Initiative's latest result is accepted when it was computed from the same plan.
//
// mans, when not nil, remembers the manifests found under the plan's id (shared: read only).
func findResult(ctx context.Context, st *store.Store, a *aggregation, mans *manifests) (*result.Manifest, string, error) {
	p := a.Plan
	key := result.Key(p.Namespace, p.Initiative, a.ID)
	man, err := mans.read(ctx, st, key)
	if err == nil {
		return man, key, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, "", err
	}
	latest, err := result.ReadManifest(ctx, st, result.LatestKey(p.Namespace, p.Initiative))
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	if latest.Plan != nil {
		if id, herr := latest.Plan.Hash(version.Engine()); herr == nil && id == a.ID {
			return latest, result.Key(p.Namespace, p.Initiative, latest.ID), nil
		}
	}
	return nil, "", nil
}

// latestResult returns the result of the aggregation's plan when the store holds it, else
// the Initiative's latest result (computed from an earlier plan), else nil.
func latestResult(ctx context.Context, st *store.Store, a *aggregation, ini *impactv1.Initiative, mans *manifests) (*result.Manifest, string, error) {
	if a.JobName != "" {
		man, key, err := findResult(ctx, st, a, mans)
		if err != nil || man != nil {
			return man, key, err
		}
	}
	latest, err := result.ReadManifest(ctx, st, result.LatestKey(ini.Namespace, ini.Name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return latest, result.Key(ini.Namespace, ini.Name, latest.ID), nil
}
