package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/store"
)

// InitiativeReconciler runs one aggregation Job per Initiative whenever its plan changes (an
// input snapshot, an Indicator's spec, the Initiative's vocabulary or equity settings), and
// summarises its partners and Indicators in its status.
type InitiativeReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Store    *store.Store
	Jobs     JobOptions
	// Publisher, when set, publishes the Initiative's latest result (metrics, pages).
	Publisher Publisher
	// Dashboards configure the dashboard ConfigMap written with each result.
	Dashboards DashboardOptions
	// ReportURL is the public address the Publisher's community pages are served at; the
	// Initiative's page is linked in status.reportURL. Empty leaves the field unset.
	ReportURL string
	// Aggregate are the operator's settings of aggregation plans (the cell size floor).
	Aggregate plan.AggregateOptions
	// MaxConcurrentReconciles is how many Initiatives are reconciled at once (default 1).
	MaxConcurrentReconciles int

	accounts *jobAccounts
	// plans and manifests remember compiled plans and result manifests (nil: nothing).
	plans     *plans
	manifests *manifests
	// decoding bounds how many results are decoded at once (nil: no bound).
	decoding chan struct{}
}

// Reconcile gets the Initiative, compiles its aggregation, runs its steps and patches its
// status once.
func (r *InitiativeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	ini := &impactv1.Initiative{}
	if err := r.Get(ctx, req.NamespacedName, ini); err != nil {
		if apierrors.IsNotFound(err) && r.Publisher != nil {
			return ctrl.Result{}, r.Publisher.Remove(ctx, req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ini.DeletionTimestamp.IsZero() {
		if r.Publisher != nil {
			return ctrl.Result{}, r.Publisher.Remove(ctx, ini.Namespace, ini.Name)
		}
		return ctrl.Result{}, nil
	}
	base := ini.DeepCopy()
	if base.Status.Indicators.Summary == "" {
		// The counts have never been written: make every field differ from the base, so the
		// merge patch carries the whole (required) counts, zeros included.
		base.Status.Indicators = impactv1.IndicatorCounts{Total: -1, Ready: -1, OnTrack: -1}
	}
	var out outcome
	var err error
	defer func() {
		result, retErr = summarize(&ini.Status.CommonStatus, ini.Generation, out, err)
		if perr := patchStatus(ctx, r.Client, ini, base); perr != nil {
			retErr = errors.Join(retErr, perr)
		}
	}()
	if v := requestedAt(ini); v != "" {
		ini.Status.LastHandledRequestedAt = v
	}
	a, err := compileAggregation(ctx, r.Client, ini, r.Aggregate, r.plans)
	if a != nil {
		// The counts follow the Indicators whether or not the plan compiles.
		r.reconcileSummary(ini, a)
	}
	if err != nil {
		return
	}
	if out, err = r.reconcileAggregation(ctx, ini, a); err == nil {
		// The latest result is published also while the next one is computed.
		err = r.reconcilePublish(ctx, ini, a)
	}
	return
}

// reconcilePublish publishes the Initiative's latest result: the current plan's, else the
// last one computed (while a Job computes the next, or after it failed). It writes the
// dashboard ConfigMap and hands the result to the Publisher, which leaves out the
// Indicators that no longer exist. Without Indicators nothing is published.
func (r *InitiativeReconciler) reconcilePublish(ctx context.Context, ini *impactv1.Initiative, a *aggregation) error {
	man, key, err := latestResult(ctx, r.Store, a, ini, r.manifests)
	if err != nil {
		return err
	}
	ini.Status.ReportURL = ""
	if man == nil || len(a.Indicators) == 0 {
		if r.Publisher != nil {
			return r.Publisher.Remove(ctx, ini.Namespace, ini.Name)
		}
		return nil
	}
	// The publication and the dashboard read the same result: it is decoded once, when one
	// of them needs its cells, and dropped when both are done.
	res := &resultOnce{store: r.Store, key: key, slots: r.decoding}
	defer res.release()
	if r.Publisher != nil {
		p, err := publication(ctx, r.Publisher, r.Store, ini, a, man, res)
		if err != nil {
			return err
		}
		if err := r.Publisher.Publish(ctx, p); err != nil {
			return err
		}
		if r.ReportURL != "" {
			ini.Status.ReportURL = strings.TrimRight(r.ReportURL, "/") + "/initiatives/" + url.PathEscape(ini.Namespace) + "/" + url.PathEscape(ini.Name)
		}
	}
	if err := applyDashboard(ctx, r.Client, r.Dashboards, ini, a, man, res); err != nil {
		return err
	}
	return applyGrafanaDashboard(ctx, r.Client, r.Dashboards, ini)
}

// reconcileSummary counts partners, sectors and Indicators.
func (r *InitiativeReconciler) reconcileSummary(ini *impactv1.Initiative, a *aggregation) {
	ini.Status.Partners = int32(len(ini.Spec.Partners))
	var sectors []impactv1.Sector
	for _, p := range ini.Spec.Partners {
		if p.Sector != "" && !slices.Contains(sectors, p.Sector) {
			sectors = append(sectors, p.Sector)
		}
	}
	slices.Sort(sectors)
	ini.Status.Sectors = sectors
	c := impactv1.IndicatorCounts{Total: int32(len(a.Indicators))}
	for _, ind := range a.Indicators {
		if meta.IsStatusConditionTrue(ind.Status.Conditions, impactv1.ConditionReady) {
			c.Ready++
		}
		if meta.IsStatusConditionTrue(ind.Status.Conditions, impactv1.ConditionOnTrack) {
			c.OnTrack++
		}
	}
	c.Summary = fmt.Sprintf("%d/%d", c.Ready, c.Total)
	ini.Status.Indicators = c
}

// aggregationJobLabels are the labels of an Initiative's aggregation Jobs and their pods.
func aggregationJobLabels(ini *impactv1.Initiative) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelComponent: "aggregate", LabelInitiative: ini.Name}
}

// reconcileAggregation makes sure the result of the current plan exists: it is in the
// store already, or its Job (named from the plan's hash) computes it.
func (r *InitiativeReconciler) reconcileAggregation(ctx context.Context, ini *impactv1.Initiative, a *aggregation) (outcome, error) {
	if a.JobName == "" {
		if len(a.Waiting) > 0 {
			return wait(ReasonWaiting, "no indicator can be computed yet: %s", waitingMessage(a)), nil
		}
		return outcome{Message: "no indicator to compute"}, nil
	}
	man, _, err := findResult(ctx, r.Store, a, r.manifests)
	if err != nil {
		return outcome{}, err
	}
	if man != nil {
		msg := fmt.Sprintf("result %s computes %d indicators from %d snapshots as of %s", man.ID, len(a.Plan.Indicators), len(man.Inputs), man.AsOf)
		if len(a.Waiting) > 0 {
			msg += "; waiting: " + waitingMessage(a)
		}
		return outcome{Message: msg}, nil
	}
	job := &batchv1.Job{}
	err = r.Get(ctx, types.NamespacedName{Namespace: ini.Namespace, Name: a.JobName}, job)
	if apierrors.IsNotFound(err) {
		pending, recheck, perr := ingestionPending(ctx, r.Client, ini, a, time.Now())
		if perr != nil {
			return outcome{}, perr
		}
		if len(pending) > 0 {
			// An aggregation started now would be replaced as soon as their snapshots land.
			out := wait(ReasonWaitingForIngestion, "waiting for the ingestion of DataSource %s before computing the Indicators", strings.Join(pending, ", "))
			out.RequeueAfter = recheck
			return out, nil
		}
		if job, err = r.startAggregation(ctx, ini, a); err != nil {
			return outcome{}, err
		}
		r.Recorder.Eventf(ini, job, corev1.EventTypeNormal, "AggregationStarted", "Aggregate", "started Job %s for result %s", job.Name, a.ID)
		return wait(ReasonJobRunning, "Job %s computes result %s", job.Name, a.ID), nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("getting Job %s/%s: %w", ini.Namespace, a.JobName, err)
	}
	if err := r.handOverPlan(ctx, ini, job); err != nil {
		return outcome{}, err
	}
	done, failed, _ := jobFinished(job)
	switch {
	case !done:
		return wait(ReasonJobRunning, "Job %s computes result %s", job.Name, a.ID), nil
	case failed:
		msg := jobFailure(ctx, r.Client, job)
		if prev := meta.FindStatusCondition(ini.Status.Conditions, impactv1.ConditionReady); prev == nil || prev.Message != trim(msg) {
			r.Recorder.Eventf(ini, job, corev1.EventTypeWarning, ReasonJobFailed, "Aggregate", "%s", trim(msg))
		}
		// Not retried for the same plan: a change of input or spec makes a new one.
		return outcome{Failed: &waiting{Reason: ReasonJobFailed, Message: msg}}, nil
	}
	return outcome{}, fmt.Errorf("aggregation Job %s completed but the store holds no result %s", job.Name, a.ID)
}

// startAggregation creates the plan ConfigMap and the Job. The Job's name derives from the
// plan's hash: AlreadyExists means the work is started already, which is success.
func (r *InitiativeReconciler) startAggregation(ctx context.Context, ini *impactv1.Initiative, a *aggregation) (*batchv1.Job, error) {
	b, h, err := planBytes("Initiative", ini.Name, a.Plan)
	if err != nil {
		return nil, err
	}
	if err := r.accounts.ensure(ctx, r.Client, ini.Namespace); err != nil {
		return nil, err
	}
	labels := aggregationJobLabels(ini)
	annotations := map[string]string{AnnotationPlanHash: h, AnnotationResultID: a.ID}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: a.JobName, Namespace: ini.Namespace, Labels: labels, Annotations: annotations},
		Data:       map[string]string{PlanKey: string(b)},
	}
	if err := controllerutil.SetControllerReference(ini, cm, r.Scheme()); err != nil {
		return nil, err
	}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: a.JobName, Namespace: ini.Namespace, Labels: labels, Annotations: annotations},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](1),
			TTLSecondsAfterFinished: ptr.To[int32](24 * 3600),
			Template:                podTemplate(r.Jobs, labels, cm.Name, "aggregate", sourceMounts{}),
		},
	}
	if err := controllerutil.SetControllerReference(ini, job, r.Scheme()); err != nil {
		return nil, err
	}
	if err := r.Create(ctx, job); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating Job %s/%s: %w", job.Namespace, job.Name, err)
		}
		if err := r.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			return nil, err
		}
	}
	if err := r.handOver(ctx, cm, job); err != nil {
		return nil, err
	}
	return job, nil
}

// handOver makes the Job the plan ConfigMap's only owner: the plan goes with its Job.
func (r *InitiativeReconciler) handOver(ctx context.Context, cm *corev1.ConfigMap, job *batchv1.Job) error {
	patch := client.MergeFrom(cm.DeepCopy())
	cm.OwnerReferences = nil
	if err := controllerutil.SetControllerReference(job, cm, r.Scheme()); err != nil {
		return err
	}
	if err := r.Patch(ctx, cm, patch); err != nil {
		return fmt.Errorf("handing ConfigMap %s/%s to its Job: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

// handOverPlan hands an existing Job's plan ConfigMap, still the Initiative's, to the Job:
// the state a manager that stopped between creating the Job and handing over its plan
// leaves behind, which would keep the plan after the Job is gone.
func (r *InitiativeReconciler) handOverPlan(ctx context.Context, ini *impactv1.Initiative, job *batchv1.Job) error {
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(job), cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("getting ConfigMap %s/%s: %w", job.Namespace, job.Name, err)
	}
	if !metav1.IsControlledBy(cm, ini) {
		return nil
	}
	return r.handOver(ctx, cm, job)
}

// ReasonWaitingForIngestion: an Initiative holds its aggregation back while the first
// snapshots of its sources are being ingested.
const ReasonWaitingForIngestion = "WaitingForIngestion"

// How long an ingestion holds back the aggregation of the Indicators waiting for its
// source's first snapshot: while its Job runs, at most ingestionHold after the Job was
// created (a Job stuck longer no longer holds the other Indicators back); after it
// succeeded, at most ingestionSettle, until the DataSource's status shows the snapshot.
const (
	ingestionHold   = 10 * time.Minute
	ingestionSettle = time.Minute
)

// ingestionPending names the DataSources that Indicators left out of the plan wait for
// (no snapshot yet) whose ingestion Job is running, or has succeeded with the snapshot not
// yet in the DataSource's status; and when to look again should nothing else trigger it.
// A fleet's first run would otherwise start one aggregation per snapshot as they land.
func ingestionPending(ctx context.Context, c client.Reader, ini *impactv1.Initiative, a *aggregation, now time.Time) ([]string, time.Duration, error) {
	if len(a.Waiting) == 0 {
		return nil, 0, nil
	}
	waited := map[string]bool{}
	for _, srcs := range a.Waiting {
		for _, s := range srcs {
			waited[s] = true
		}
	}
	var jobs batchv1.JobList
	if err := c.List(ctx, &jobs, client.InNamespace(ini.Namespace), client.MatchingLabels{LabelManagedBy: ManagedBy, LabelComponent: "ingest", LabelInitiative: ini.Name}); err != nil {
		return nil, 0, fmt.Errorf("listing the ingestion Jobs of Initiative %s: %w", ini.Name, err)
	}
	var pending []string
	var recheck time.Duration
	for i := range jobs.Items {
		j := &jobs.Items[i]
		src := j.Labels[LabelDataSource]
		if !waited[src] || slices.Contains(pending, src) {
			continue
		}
		done, failed, at := jobFinished(j)
		var until time.Time
		switch {
		case !done:
			until = j.CreationTimestamp.Add(ingestionHold)
		case !failed:
			until = at.Add(ingestionSettle)
		default:
			continue
		}
		if left := until.Sub(now); left > 0 {
			pending = append(pending, src)
			if recheck == 0 || left < recheck {
				recheck = left
			}
		}
	}
	slices.Sort(pending)
	return pending, recheck, nil
}

// ingestionFinished passes the events of the Jobs the Initiative reconciler maps: every
// event of an aggregation Job; of an ingestion Job, its end and its deletion (the end of
// a hold on the aggregation, see ingestionPending).
func ingestionFinished() predicate.Predicate {
	ingest := func(o client.Object) bool { return o.GetLabels()[LabelComponent] == "ingest" }
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return !ingest(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			if !ingest(e.ObjectNew) {
				return true
			}
			o, oOK := e.ObjectOld.(*batchv1.Job)
			n, nOK := e.ObjectNew.(*batchv1.Job)
			if !oOK || !nOK {
				return false
			}
			od, _, _ := jobFinished(o)
			nd, _, _ := jobFinished(n)
			return od != nd
		},
		GenericFunc: func(e event.GenericEvent) bool { return !ingest(e.Object) },
	}
}

func waitingMessage(a *aggregation) string {
	var parts []string
	for _, ind := range a.Indicators {
		if src := a.Waiting[ind.Name]; len(src) > 0 {
			parts = append(parts, fmt.Sprintf("Indicator %s waits for a snapshot of DataSource %s", ind.Name, strings.Join(src, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

// coalesce is how long an Initiative waits, after a change of one of its DataSources or
// Indicators, before it is reconciled: the changes of a burst (the Indicators of a result
// becoming Ready together, the DataSources of a schedule ingested one after another) make
// one reconciliation and one status patch instead of one each. Changes of the Initiative
// itself and of its Jobs are reconciled at once.
const coalesce = time.Second

// toInitiativeAfter enqueues the Initiative an object names (name; "" for none), after
// delay; a request already waiting keeps its earlier time, so a burst is reconciled once.
func toInitiativeAfter(delay time.Duration, name func(client.Object) string) handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	add := func(q queue, objs ...client.Object) {
		for _, o := range objs {
			if n := name(o); n != "" {
				q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: n}}, delay)
			}
		}
	}
	return handler.Funcs{
		CreateFunc:  func(_ context.Context, e event.CreateEvent, q queue) { add(q, e.Object) },
		UpdateFunc:  func(_ context.Context, e event.UpdateEvent, q queue) { add(q, e.ObjectOld, e.ObjectNew) },
		DeleteFunc:  func(_ context.Context, e event.DeleteEvent, q queue) { add(q, e.Object) },
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { add(q, e.Object) },
	}
}

// SetupWithManager watches Initiatives, their aggregation Jobs, the snapshots of their
// DataSources and their Indicators.
func (r *InitiativeReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toInitiative := func(name func(client.Object) string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if n := name(o); n != "" {
				return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: n}}}
			}
			return nil
		})
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&impactv1.Initiative{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestedAtChanged()))).
		Watches(&batchv1.Job{}, toInitiative(func(o client.Object) string {
			if c := o.GetLabels()[LabelComponent]; c == "aggregate" || c == "ingest" {
				return o.GetLabels()[LabelInitiative]
			}
			return ""
		}), builder.WithPredicates(ingestionFinished())).
		Watches(&impactv1.DataSource{}, toInitiativeAfter(coalesce, func(o client.Object) string {
			return o.(*impactv1.DataSource).Spec.InitiativeRef.Name
		}), builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, snapshotChanged()))).
		Watches(&impactv1.Indicator{}, toInitiativeAfter(coalesce, func(o client.Object) string {
			return o.(*impactv1.Indicator).Spec.InitiativeRef.Name
		}), builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, readinessChanged()))).
		Watches(&corev1.ConfigMap{}, toInitiative(func(o client.Object) string {
			if o.GetLabels()[LabelComponent] == "dashboard" {
				return o.GetLabels()[LabelInitiative]
			}
			return ""
		})).
		Named("initiative").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}
