package controllers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// IndicatorReconciler checks an Indicator against its Initiative and sources and publishes
// in its status what the Initiative's latest aggregation computed for it, read from the
// result in the store (never recomputed).
type IndicatorReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Store    *store.Store
	// Publisher, when set, publishes the result the Indicator reads (if the Initiative's
	// reconciler has not yet) and tells whether its series are capped.
	Publisher Publisher
	// Aggregate are the operator's settings of aggregation plans (the cell size floor).
	Aggregate plan.AggregateOptions
	// MaxConcurrentReconciles is how many Indicators are reconciled at once (default 1).
	MaxConcurrentReconciles int

	results *indicatorResults
	// plans and manifests remember compiled plans and result manifests (nil: nothing).
	plans     *plans
	manifests *manifests
	// decoding bounds how many results are decoded at once (nil: no bound).
	decoding chan struct{}
}

type indicatorStep func(ctx context.Context, ind *impactv1.Indicator, st *indicatorState) (outcome, error)

type indicatorState struct {
	ini *impactv1.Initiative
	agg *aggregation
	// man and key are the result read (set by reconcileResult).
	man *result.Manifest
	key string
}

// Reconcile gets the Indicator, runs its steps and patches its status once.
func (r *IndicatorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	ind := &impactv1.Indicator{}
	if err := r.Get(ctx, req.NamespacedName, ind); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ind.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	base := ind.DeepCopy()
	var out outcome
	var err error
	defer func() {
		res, retErr = summarize(&ind.Status.CommonStatus, ind.Generation, out, err)
		if perr := patchStatus(ctx, r.Client, ind, base); perr != nil {
			retErr = errors.Join(retErr, perr)
		}
	}()
	if v := requestedAt(ind); v != "" {
		ind.Status.LastHandledRequestedAt = v
	}
	st := &indicatorState{}
	for _, step := range []indicatorStep{r.reconcilePlan, r.reconcileStale, r.reconcileResult, r.reconcileSeries} {
		out, err = step(ctx, ind, st)
		var sp *stalled
		if errors.As(err, &sp) {
			r.Recorder.Eventf(ind, nil, corev1.EventTypeWarning, sp.Reason, "Reconcile", "%s", trim(sp.Message))
		}
		if err != nil || out.Waiting != nil || out.Failed != nil {
			return
		}
	}
	return
}

// reconcilePlan compiles the Initiative's aggregation and stalls on this Indicator's
// problems (internal/plan's checks: sources, columns, dimensions, cell floor).
func (r *IndicatorReconciler) reconcilePlan(ctx context.Context, ind *impactv1.Indicator, st *indicatorState) (outcome, error) {
	ini := &impactv1.Initiative{}
	err := r.Get(ctx, types.NamespacedName{Namespace: ind.Namespace, Name: ind.Spec.InitiativeRef.Name}, ini)
	if apierrors.IsNotFound(err) {
		return outcome{}, stall(ReasonInvalidSpec, "Indicator %s: spec.initiativeRef.name: Initiative %q not found in namespace %q", ind.Name, ind.Spec.InitiativeRef.Name, ind.Namespace)
	}
	if err != nil {
		return outcome{}, fmt.Errorf("getting Initiative %s/%s: %w", ind.Namespace, ind.Spec.InitiativeRef.Name, err)
	}
	st.ini = ini
	a, err := compileAggregation(ctx, r.Client, ini, r.Aggregate, r.plans)
	if err != nil {
		return outcome{}, err
	}
	st.agg = a
	var mine plan.Errors
	for _, e := range a.Errors {
		if e.Kind == "Indicator" && e.Name == ind.Name {
			mine = append(mine, e)
		}
	}
	if len(mine) > 0 {
		return outcome{}, stall(ReasonInvalidSpec, "%s", mine.Error())
	}
	for _, si := range a.Plan.Indicators {
		if si.Name == ind.Name {
			ind.Status.EffectiveMinCellSize = int32(si.MinCellSize)
		}
	}
	if src := a.Waiting[ind.Name]; len(src) > 0 {
		return wait(ReasonWaiting, "waiting for a snapshot of DataSource %s", strings.Join(src, ", ")), nil
	}
	return outcome{}, nil
}

// reconcileStale sets Stale when a source the Indicator reads is stale.
func (r *IndicatorReconciler) reconcileStale(_ context.Context, ind *impactv1.Indicator, st *indicatorState) (outcome, error) {
	var stale []string
	for _, name := range indicatorSources(ind) {
		for _, ds := range st.agg.Sources {
			if ds.Name == name && meta.IsStatusConditionTrue(ds.Status.Conditions, impactv1.ConditionStale) {
				stale = append(stale, name)
			}
		}
	}
	if len(stale) > 0 {
		setCondition(&ind.Status.CommonStatus, ind.Generation, impactv1.ConditionStale, metav1.ConditionTrue, ReasonInputStale,
			fmt.Sprintf("DataSource %s has no recent snapshot", strings.Join(stale, ", ")))
	} else {
		setCondition(&ind.Status.CommonStatus, ind.Generation, impactv1.ConditionStale, metav1.ConditionFalse, ReasonFresh, "every source has a recent snapshot")
	}
	return outcome{}, nil
}

// reconcileResult reads the result of the current plan and publishes the Indicator's part.
func (r *IndicatorReconciler) reconcileResult(ctx context.Context, ind *impactv1.Indicator, st *indicatorState) (outcome, error) {
	a := st.agg
	man, key, err := findResult(ctx, r.Store, a, r.manifests)
	if err != nil {
		return outcome{}, err
	}
	if man == nil {
		job := &batchv1.Job{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: ind.Namespace, Name: a.JobName}, job); err == nil {
			if done, failed, _ := jobFinished(job); done && failed {
				return outcome{Failed: &waiting{Reason: ReasonJobFailed, Message: jobFailure(ctx, r.Client, job)}}, nil
			}
		}
		return wait(ReasonJobRunning, "waiting for aggregation Job %s to compute result %s", a.JobName, a.ID), nil
	}
	sums, err := r.results.read(ctx, r.Store, man)
	if err != nil {
		return outcome{}, err
	}
	sum, ok := sums[ind.Name]
	if !ok {
		return outcome{}, fmt.Errorf("result %s has no indicator %s", man.ID, ind.Name)
	}
	st.man, st.key = man, key
	ind.Status.EffectiveMinCellSize = int32(sum.minCellSize)
	ind.Status.Headline = sum.headline.DeepCopy()
	ind.Status.Equity = slices.Clone(sum.equity)
	ref := &impactv1.ResultRef{URI: r.Store.URI(key), Checksum: man.ParquetHash}
	for _, src := range indicatorSources(ind) {
		if id, ok := man.Inputs[src]; ok {
			ref.Inputs = append(ref.Inputs, impactv1.SnapshotID(id))
		}
	}
	ind.Status.Result = ref
	created := metav1.NewTime(man.Created)
	ind.Status.LastRunTime = &created
	setOnTrack(ind, sum.onTrack)
	msg := fmt.Sprintf("result %s", man.ID)
	if h := ind.Status.Headline; h != nil && h.Period != "" {
		msg = fmt.Sprintf("period %s: %s (n=%d); result %s", h.Period, orDash(string(h.Value)), h.N, man.ID)
	}
	return outcome{Message: msg}, nil
}

// reconcileSeries publishes the result read (unless the Initiative's reconciler did
// already) and sets SeriesCapped: True, with a Warning Event when it becomes True, when a
// series cap cuts the Indicator's series on the results' /metrics to its totals.
func (r *IndicatorReconciler) reconcileSeries(ctx context.Context, ind *impactv1.Indicator, st *indicatorState) (outcome, error) {
	if r.Publisher == nil || st.man == nil {
		return outcome{}, nil
	}
	// The Initiative's reconciler publishes its result again whenever what it is published
	// from changes; an Indicator publishes only a result not yet published, or published
	// with an earlier generation of its spec (spec.publish.maxSeries changes its series,
	// not the result).
	unpublished := func() bool {
		id, gen := r.Publisher.PublishedWith(ind.Namespace, st.ini.Name, ind.Name)
		return id != st.man.ID || gen != ind.Generation
	}
	if unpublished() {
		// The Indicators of one result are reconciled together: once a slot to decode in is
		// free, another of them may have published it already.
		res := &resultOnce{store: r.Store, key: st.key, slots: r.decoding}
		defer res.release()
		if err := res.acquire(ctx); err != nil {
			return outcome{}, err
		}
		if unpublished() {
			p, err := publication(ctx, r.Publisher, r.Store, st.ini, st.agg, st.man, res)
			if err != nil {
				return outcome{}, err
			}
			if err := r.Publisher.Publish(ctx, p); err != nil {
				return outcome{}, err
			}
		}
	}
	capped, own, full, published := r.Publisher.Capped(ind.Namespace, st.ini.Name, ind.Name)
	if !capped {
		setCondition(&ind.Status.CommonStatus, ind.Generation, ConditionSeriesCapped, metav1.ConditionFalse, ReasonWithinCap,
			fmt.Sprintf("%d series published", published))
		return outcome{}, nil
	}
	reason, which := ReasonGlobalCap, "the global series cap"
	if own {
		reason, which = ReasonIndicatorCap, "the manager's series cap of an Indicator (--series-cap)"
		if p := ind.Spec.Publish; p != nil && p.MaxSeries != nil {
			which = fmt.Sprintf("its spec.publish.maxSeries of %d", *p.MaxSeries)
		}
	}
	msg := fmt.Sprintf("only the totals are published (%d series): its %d series with every group exceed %s", published, full, which)
	if !meta.IsStatusConditionTrue(ind.Status.Conditions, ConditionSeriesCapped) {
		r.Recorder.Eventf(ind, nil, corev1.EventTypeWarning, reason, "Publish", "%s", msg)
	}
	setCondition(&ind.Status.CommonStatus, ind.Generation, ConditionSeriesCapped, metav1.ConditionTrue, reason, msg)
	return outcome{}, nil
}

func orDash(s string) string {
	if s == "" {
		return "suppressed"
	}
	return s
}

func setOnTrack(ind *impactv1.Indicator, t *aggregate.Track) {
	gen := ind.Generation
	switch {
	case t == nil:
		meta.RemoveStatusCondition(&ind.Status.Conditions, impactv1.ConditionOnTrack)
	case !t.Judged:
		setCondition(&ind.Status.CommonStatus, gen, impactv1.ConditionOnTrack, metav1.ConditionUnknown, reasonOf(t.Method, "NotJudged"), t.Reason)
	case t.OnTrack:
		setCondition(&ind.Status.CommonStatus, gen, impactv1.ConditionOnTrack, metav1.ConditionTrue, reasonOf(t.Method, "OnTrack"), t.Reason)
	default:
		setCondition(&ind.Status.CommonStatus, gen, impactv1.ConditionOnTrack, metav1.ConditionFalse, reasonOf(t.Method, "OffTrack"), t.Reason)
	}
}

// reasonOf makes a condition reason (UpperCamel, letters only) of a method name.
func reasonOf(method, fallback string) string {
	var b strings.Builder
	up := true
	for _, c := range method {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && b.Len() > 0:
			if up && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			b.WriteRune(c)
			up = false
		default:
			up = true
		}
	}
	if b.Len() == 0 {
		return fallback
	}
	return b.String()
}

// headline copies the result's headline into status, as decimal strings. A suppressed
// value is nil in the result and stays absent here.
func headline(h *aggregate.Headline) *impactv1.Headline {
	if h == nil {
		return nil
	}
	out := &impactv1.Headline{Period: h.Period, Reliable: h.Reliable}
	if h.Value != nil {
		out.Value = decimal(*h.Value, false)
	}
	if h.N != nil {
		out.N = *h.N
	}
	if h.Change != nil {
		out.Change = decimal(*h.Change, true)
	}
	if h.Gap != nil {
		out.Gap = decimal(*h.Gap, false)
	}
	if h.Progress != nil && !math.IsNaN(*h.Progress) && !math.IsInf(*h.Progress, 0) {
		out.Progress = strconv.FormatFloat(math.Round(*h.Progress*100), 'f', 0, 64) + "%"
	}
	return out
}

// equity summarises each dimension in the headline period.
func equity(ir *aggregate.IndicatorResult) []impactv1.EquitySummary {
	if ir.Headline == nil {
		return nil
	}
	var out []impactv1.EquitySummary
	for _, e := range ir.Equity {
		if e.Period != ir.Headline.Period {
			continue
		}
		s := impactv1.EquitySummary{
			Dimension: impactv1.DimensionName(e.Dimension), Reference: impactv1.GroupName(e.Reference),
			Worst: impactv1.GroupName(e.Worst), Best: impactv1.GroupName(e.Best),
			SuppressedGroups: int32(e.SuppressedGroups), Groups: int32(e.Groups),
		}
		if e.IndexOfDisparity != nil {
			s.IndexOfDisparity = decimal(*e.IndexOfDisparity, false)
		}
		out = append(out, s)
	}
	return out
}

// decimal writes a number as an API Decimal with four significant digits (at most six
// decimals), e.g. "0.6412", "1234", "+0.02".
func decimal(v float64, sign bool) impactv1.Decimal {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	digits := 0
	if a := math.Abs(v); a > 0 {
		digits = 3 - int(math.Floor(math.Log10(a)))
	}
	digits = max(0, min(digits, 6))
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	if sign && !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return impactv1.Decimal(s)
}

// SetupWithManager watches Indicators, the snapshots of the DataSources they read (through
// the source index), their Initiative and the ends of its aggregation Jobs.
func (r *IndicatorReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&impactv1.Indicator{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestedAtChanged()))).
		Watches(&impactv1.DataSource{}, handler.EnqueueRequestsFromMapFunc(r.readersOf),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, snapshotChanged()))).
		Watches(&impactv1.Initiative{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return r.list(ctx, o.GetNamespace(), IndexInitiative, o.GetName())
		}), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			if o.GetLabels()[LabelComponent] != "aggregate" {
				return nil
			}
			return r.list(ctx, o.GetNamespace(), IndexInitiative, o.GetLabels()[LabelInitiative])
		}), builder.WithPredicates(jobEnded())).
		Named("indicator").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// readersOf enqueues the Indicators that read a DataSource.
func (r *IndicatorReconciler) readersOf(ctx context.Context, o client.Object) []reconcile.Request {
	return r.list(ctx, o.GetNamespace(), IndexSource, o.GetName())
}

func (r *IndicatorReconciler) list(ctx context.Context, namespace, index, value string) []reconcile.Request {
	var list impactv1.IndicatorList
	if err := r.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{index: value}); err != nil {
		log.FromContext(ctx).Error(err, "listing Indicators", "index", index, "value", value)
		return nil
	}
	out := make([]reconcile.Request, len(list.Items))
	for i, ind := range list.Items {
		out[i] = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ind.Namespace, Name: ind.Name}}
	}
	return out
}

// indicatorSummary is what an Indicator's status shows of its part of a result.
type indicatorSummary struct {
	minCellSize int
	headline    *impactv1.Headline
	equity      []impactv1.EquitySummary
	onTrack     *aggregate.Track
}

// summarizeIndicators keeps of a result's per-indicator results what the Indicators'
// status shows, by Indicator.
func summarizeIndicators(inds []aggregate.IndicatorResult) map[string]indicatorSummary {
	out := make(map[string]indicatorSummary, len(inds))
	for i := range inds {
		ir := &inds[i]
		out[ir.Name] = indicatorSummary{minCellSize: ir.MinCellSize, headline: headline(ir.Headline), equity: equity(ir), onTrack: ir.OnTrack}
	}
	return out
}

// indicatorResults remembers what the Indicators' status shows of the results read last
// (indicatorSummary), by result: a result is immutable (its id and its files' hashes are
// of its content), and every Indicator of an Initiative reads the same one, so each is
// read and decoded once rather than once per Indicator. A nil *indicatorResults
// remembers nothing. The maps returned are shared: read only.
type indicatorResults struct {
	kept *bounded[string, map[string]indicatorSummary]
}

// indicatorResultsKept is how many results indicatorResults keeps: a few per Initiative
// of a large fleet's, whose Indicators are reconciled together. A result's summaries are
// ≈ 1 KB an Indicator.
const indicatorResultsKept = 32

func newIndicatorResults(n int) *indicatorResults {
	return &indicatorResults{kept: newBounded[string, map[string]indicatorSummary](n)}
}

func (c *indicatorResults) read(ctx context.Context, st *store.Store, man *result.Manifest) (map[string]indicatorSummary, error) {
	if c == nil {
		inds, err := result.ReadIndicators(ctx, st, man)
		if err != nil {
			return nil, err
		}
		return summarizeIndicators(inds), nil
	}
	key := man.ID + "\x00" + man.Indicators + "\x00" + man.IndicatorsHash
	if sums, ok := c.kept.get(key); ok {
		return sums, nil
	}
	inds, err := result.ReadIndicators(ctx, st, man)
	if err != nil {
		return nil, err
	}
	return c.kept.add(key, summarizeIndicators(inds)), nil
}
