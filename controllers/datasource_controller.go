package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/store"
)

// DataSourceReconciler turns a DataSource into its ingestion CronJob and reports the
// snapshot the store holds for it.
type DataSourceReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Store    *store.Store
	Jobs     JobOptions
	// Plan are the settings plans are compiled with (file locations, their base folder).
	Plan plan.IngestOptions
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxConcurrentReconciles is how many DataSources are reconciled at once (default 1).
	MaxConcurrentReconciles int

	accounts *jobAccounts
	// cronJobs remembers what was written last into each CronJob (cronJobWrites).
	cronJobs *cronJobWrites
}

// dataSourceStep is one ordered step of a DataSource's reconciliation.
type dataSourceStep func(ctx context.Context, ds *impactv1.DataSource, st *dataSourceState) (outcome, error)

// dataSourceState carries what one step finds for the next.
type dataSourceState struct {
	ini      *impactv1.Initiative
	plan     []byte
	planHash string
	cronJob  *batchv1.CronJob
}

// Reconcile gets the DataSource, runs its steps in order and patches its status once.
func (r *DataSourceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	ds := &impactv1.DataSource{}
	if err := r.Get(ctx, req.NamespacedName, ds); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ds.DeletionTimestamp.IsZero() {
		// The CronJob, its Jobs and the plan ConfigMap go with the DataSource (owner
		// references); the store keeps its snapshots (the API has no field asking otherwise).
		return ctrl.Result{}, nil
	}
	base := ds.DeepCopy()
	var out outcome
	var err error
	defer func() {
		result, retErr = summarize(&ds.Status.CommonStatus, ds.Generation, out, err)
		if perr := patchStatus(ctx, r.Client, ds, base); perr != nil {
			retErr = errors.Join(retErr, perr)
		}
	}()
	st := &dataSourceState{}
	for _, step := range []dataSourceStep{r.reconcilePlan, r.reconcileCronJob, r.reconcileRunNow, r.reconcileHistory, r.reconcileSnapshot} {
		out, err = step(ctx, ds, st)
		var sp *stalled
		if errors.As(err, &sp) {
			r.Recorder.Eventf(ds, nil, corev1.EventTypeWarning, sp.Reason, "Reconcile", "%s", trim(sp.Message))
		}
		if err != nil {
			return
		}
	}
	return
}

// reconcilePlan compiles the ingestion plan with internal/plan's checks; a spec that cannot
// succeed stalls here, before any Job exists, and an existing CronJob is suspended.
func (r *DataSourceReconciler) reconcilePlan(ctx context.Context, ds *impactv1.DataSource, st *dataSourceState) (outcome, error) {
	ini := &impactv1.Initiative{}
	err := r.Get(ctx, types.NamespacedName{Namespace: ds.Namespace, Name: ds.Spec.InitiativeRef.Name}, ini)
	if apierrors.IsNotFound(err) {
		return outcome{}, r.refuse(ctx, ds, stall(ReasonInvalidSpec, "DataSource %s: spec.initiativeRef.name: Initiative %q not found in namespace %q", ds.Name, ds.Spec.InitiativeRef.Name, ds.Namespace))
	}
	if err != nil {
		return outcome{}, fmt.Errorf("getting Initiative %s/%s: %w", ds.Namespace, ds.Spec.InitiativeRef.Name, err)
	}
	st.ini = ini
	p, err := plan.Ingest(ini, ds, r.Plan)
	if err != nil {
		return outcome{}, r.refuse(ctx, ds, stall(ReasonInvalidSpec, "%s", err.Error()))
	}
	b, h, err := planBytes("DataSource", ds.Name, p)
	if err != nil {
		return outcome{}, r.refuse(ctx, ds, err)
	}
	st.plan, st.planHash = b, h
	return outcome{}, nil
}

// refuse suspends the DataSource's CronJob, if any, so nothing runs a plan that cannot
// succeed, and returns err.
func (r *DataSourceReconciler) refuse(ctx context.Context, ds *impactv1.DataSource, err error) error {
	cj := &batchv1.CronJob{}
	if gerr := r.Get(ctx, types.NamespacedName{Namespace: ds.Namespace, Name: cronJobName(ds)}, cj); gerr == nil && !ptr.Deref(cj.Spec.Suspend, false) {
		patch := client.MergeFrom(cj.DeepCopy())
		cj.Spec.Suspend = ptr.To(true)
		if perr := r.Patch(ctx, cj, patch); perr != nil {
			return errors.Join(err, fmt.Errorf("suspending CronJob %s/%s: %w", cj.Namespace, cj.Name, perr))
		}
	}
	return err
}

func cronJobName(ds *impactv1.DataSource) string { return ds.Name }
func planConfigMapName(ds *impactv1.DataSource) string {
	return ds.Name + "-plan"
}

func dataSourceLabels(ds *impactv1.DataSource) map[string]string {
	return map[string]string{
		LabelManagedBy:  ManagedBy,
		LabelComponent:  "ingest",
		LabelInitiative: ds.Spec.InitiativeRef.Name,
		LabelDataSource: ds.Name,
	}
}

// sourceMountsOf names the Secrets and ConfigMaps a DataSource's location reads; they are
// mounted in its Job pods.
func sourceMountsOf(ds *impactv1.DataSource) sourceMounts {
	m := sourceMounts{secrets: sourceSecrets(ds)}
	if c := ds.Spec.Location.ConfigMap; c != nil {
		m.configMaps = append(m.configMaps, c.Name)
	}
	return m
}

// sourceSecrets names the Secrets a DataSource's location needs; they are mounted in the
// Job pod by name (the manager never reads them).
func sourceSecrets(ds *impactv1.DataSource) []string {
	var out []string
	loc := ds.Spec.Location
	if loc.HTTP != nil && loc.HTTP.HeadersSecretRef != nil {
		out = append(out, loc.HTTP.HeadersSecretRef.Name)
	}
	if loc.ObjectStore != nil && loc.ObjectStore.CredentialsSecretRef != nil {
		out = append(out, loc.ObjectStore.CredentialsSecretRef.Name)
	}
	if loc.Postgres != nil {
		out = append(out, loc.Postgres.DSNSecretRef.Name)
	}
	return out
}

// reconcileCronJob writes the plan ConfigMap and the CronJob, both owned by the DataSource.
func (r *DataSourceReconciler) reconcileCronJob(ctx context.Context, ds *impactv1.DataSource, st *dataSourceState) (outcome, error) {
	if err := r.accounts.ensure(ctx, r.Client, ds.Namespace); err != nil {
		return outcome{}, err
	}
	labels := dataSourceLabels(ds)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: planConfigMapName(ds), Namespace: ds.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		before := cm.DeepCopy()
		cm.Labels = labels
		metav1.SetMetaDataAnnotation(&cm.ObjectMeta, AnnotationPlanHash, st.planHash)
		if err := controllerutil.SetControllerReference(ds, cm, r.Scheme()); err != nil {
			return err
		}
		// The cache holds the plan's hash, not the plan (stripConfigMap): a ConfigMap
		// whose hash, labels and owner are as they should be is left alone, any other is
		// written with its plan.
		if !equality.Semantic.DeepEqual(before, cm) {
			cm.Data, cm.BinaryData = map[string]string{PlanKey: string(st.plan)}, nil
		}
		return nil
	}); err != nil {
		return outcome{}, fmt.Errorf("writing ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	spec := cronJobSpec(ds, r.Jobs, labels, cm.Name, st.planHash)
	hash := specHash(spec)
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: cronJobName(ds), Namespace: ds.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, cj, func() error {
		cj.Labels = labels
		// The API server defaults a dozen fields of the pod template: the spec written is
		// never equal to the one read back. It is written again only when it changed, or
		// when someone else changed the CronJob's since (its generation moved).
		if !r.cronJobs.unchanged(cj, hash) {
			cj.Spec = spec
		}
		return controllerutil.SetControllerReference(ds, cj, r.Scheme())
	}); err != nil {
		return outcome{}, fmt.Errorf("writing CronJob %s/%s: %w", cj.Namespace, cj.Name, err)
	}
	r.cronJobs.wrote(cj, hash)
	st.cronJob = cj
	return outcome{}, nil
}

// cronJobSpec is the spec of a DataSource's ingestion CronJob.
func cronJobSpec(ds *impactv1.DataSource, jobs JobOptions, labels map[string]string, planConfigMap, planHash string) batchv1.CronJobSpec {
	spec := batchv1.CronJobSpec{
		Schedule:                   ds.Spec.Schedule,
		Suspend:                    ptr.To(ds.Spec.Suspend || ds.Spec.Schedule == ""),
		ConcurrencyPolicy:          batchv1.ForbidConcurrent,
		StartingDeadlineSeconds:    ptr.To[int64](600),
		SuccessfulJobsHistoryLimit: ptr.To[int32](3),
		FailedJobsHistoryLimit:     ptr.To[int32](3),
	}
	if spec.Schedule == "" {
		// No schedule: the CronJob stays suspended and only run-now requests start Jobs.
		spec.Schedule = "0 0 1 1 *"
	}
	if ds.Spec.TimeZone != "" {
		spec.TimeZone = ptr.To(ds.Spec.TimeZone)
	}
	tmpl := podTemplate(jobs, labels, planConfigMap, "ingest", sourceMountsOf(ds))
	tmpl.Annotations = map[string]string{AnnotationPlanHash: planHash}
	spec.JobTemplate = batchv1.JobTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{AnnotationPlanHash: planHash}},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](1),
			Template:     tmpl,
		},
	}
	return spec
}

// specHash is the hash of a spec's JSON encoding (struct fields in order, map keys
// sorted: the same spec, the same hash).
func specHash(spec any) string {
	b, err := json.Marshal(spec)
	if err != nil {
		panic(fmt.Sprintf("encoding a spec: %v", err)) // a Kubernetes spec always encodes
	}
	return shortHash(string(b), 64)
}

// cronJobWrites remembers, by CronJob, the hash of the spec the reconciler wrote last and
// the generation the CronJob had after the write. The same spec at the same generation
// needs no write: the API server's defaults make a written spec differ from the one read
// back, so comparing the two would write every CronJob at every reconciliation. A CronJob
// not remembered (a restarted manager, or one forgotten beyond the bound) is written
// once. A nil *cronJobWrites remembers nothing.
type cronJobWrites struct {
	kept *bounded[types.UID, cronJobWrite]
}

type cronJobWrite struct {
	generation int64
	hash       string
}

// cronJobsKept bounds cronJobWrites: an entry is a few dozen bytes.
const cronJobsKept = 8192

func newCronJobWrites(n int) *cronJobWrites {
	return &cronJobWrites{kept: newBounded[types.UID, cronJobWrite](n)}
}

func (w *cronJobWrites) unchanged(cj *batchv1.CronJob, hash string) bool {
	if w == nil || cj.UID == "" {
		return false
	}
	last, ok := w.kept.get(cj.UID)
	return ok && last.generation == cj.Generation && last.hash == hash
}

func (w *cronJobWrites) wrote(cj *batchv1.CronJob, hash string) {
	if w != nil && cj.UID != "" {
		w.kept.set(cj.UID, cronJobWrite{generation: cj.Generation, hash: hash})
	}
}

// runNowJobName derives the name of a run-now Job from the request, so a request is run
// once however often it is reconciled.
func runNowJobName(ds *impactv1.DataSource, requested string) string {
	suffix := "-now-" + shortHash(requested, 10)
	return truncate(ds.Name, len(suffix)) + suffix
}

// reconcileRunNow starts a Job from the CronJob's template when the requestedAt annotation
// asks for one, and echoes the request in status.lastHandledRequestedAt. As the CronJob's
// concurrencyPolicy Forbid does for scheduled runs, a request waits while another Job of
// the DataSource runs (scheduled, or an earlier request's): two ingestions of one source
// would race to promote their snapshots, and one's retention could remove the other's
// snapshot before it is promoted. The Job's end brings the DataSource back (the Jobs
// watch) and the request runs then.
func (r *DataSourceReconciler) reconcileRunNow(ctx context.Context, ds *impactv1.DataSource, st *dataSourceState) (outcome, error) {
	req := requestedAt(ds)
	if req == "" || req == ds.Status.LastHandledRequestedAt {
		return outcome{}, nil
	}
	name := runNowJobName(ds, req)
	var jobs batchv1.JobList
	if err := r.List(ctx, &jobs, client.InNamespace(ds.Namespace), client.MatchingLabels{LabelDataSource: ds.Name, LabelManagedBy: ManagedBy}); err != nil {
		return outcome{}, fmt.Errorf("listing the Jobs of DataSource %s: %w", ds.Name, err)
	}
	var running []string
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if j.Name == name {
			// Started before the status said so (a manager that stopped in between).
			ds.Status.LastHandledRequestedAt = req
			return outcome{}, nil
		}
		if done, _, _ := jobFinished(j); !done && j.DeletionTimestamp.IsZero() {
			running = append(running, j.Name)
		}
	}
	if len(running) > 0 {
		sort.Strings(running)
		msg := fmt.Sprintf("the run requested at %s waits for Job %s to finish", req, strings.Join(running, ", "))
		r.Recorder.Eventf(ds, nil, corev1.EventTypeNormal, "RunWaiting", "Run", "%s", msg)
		return outcome{}, nil
	}
	tmpl := st.cronJob.Spec.JobTemplate
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ds.Namespace,
			Labels:      tmpl.Labels,
			Annotations: map[string]string{AnnotationRequestedAt: req, AnnotationPlanHash: st.planHash},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	if err := controllerutil.SetControllerReference(ds, job, r.Scheme()); err != nil {
		return outcome{}, err
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return outcome{}, fmt.Errorf("creating run-now Job %s/%s: %w", job.Namespace, job.Name, err)
	}
	r.Recorder.Eventf(ds, job, corev1.EventTypeNormal, "RunRequested", "Run", "started Job %s for the request at %s", job.Name, req)
	ds.Status.LastHandledRequestedAt = req
	return outcome{}, nil
}

// runNowHistory is how many finished run-now Jobs of a DataSource are kept, succeeded and
// failed each: the CronJob's history limits, which its controller applies only to the
// Jobs it starts.
const runNowHistory = 3

// reconcileHistory deletes the DataSource's finished run-now Jobs beyond the history
// limits, oldest first, with their pods; otherwise every request would leave its Job and
// pod behind for as long as the DataSource exists. The newest failed Job, whose failure
// the status reports, is always kept.
func (r *DataSourceReconciler) reconcileHistory(ctx context.Context, ds *impactv1.DataSource, _ *dataSourceState) (outcome, error) {
	var jobs batchv1.JobList
	if err := r.List(ctx, &jobs, client.InNamespace(ds.Namespace), client.MatchingLabels{LabelDataSource: ds.Name, LabelManagedBy: ManagedBy}); err != nil {
		return outcome{}, fmt.Errorf("listing the Jobs of DataSource %s: %w", ds.Name, err)
	}
	var succeeded, failed []finishedJob
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if j.Annotations[AnnotationRequestedAt] == "" || !j.DeletionTimestamp.IsZero() {
			continue // the CronJob's own, or going already
		}
		done, f, at := jobFinished(j)
		switch {
		case !done:
		case f:
			failed = append(failed, finishedJob{j, at})
		default:
			succeeded = append(succeeded, finishedJob{j, at})
		}
	}
	for _, list := range [][]finishedJob{succeeded, failed} {
		newestFirst(list)
		for _, f := range list[min(len(list), runNowHistory):] {
			if err := r.Delete(ctx, f.job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return outcome{}, fmt.Errorf("deleting the finished run-now Job %s/%s: %w", f.job.Namespace, f.job.Name, err)
			}
		}
	}
	return outcome{}, nil
}

// finishedJob is a finished Job and when it finished.
type finishedJob struct {
	job *batchv1.Job
	at  metav1.Time
}

// newestFirst sorts finished Jobs from the newest to the oldest.
func newestFirst(list []finishedJob) {
	// The API server's times have whole seconds: Jobs requested in quick succession tie
	// on them, and then the later request is the newer Job.
	sort.Slice(list, func(a, b int) bool {
		if !list[a].at.Equal(&list[b].at) {
			return list[b].at.Before(&list[a].at)
		}
		if ca, cb := list[a].job.CreationTimestamp, list[b].job.CreationTimestamp; !ca.Equal(&cb) {
			return cb.Before(&ca)
		}
		if ra, rb := jobRequestedAt(list[a].job), jobRequestedAt(list[b].job); !ra.Equal(rb) {
			return rb.Before(ra)
		}
		return list[a].job.Name > list[b].job.Name
	})
}

// jobRequestedAt is the time of the run-now request that started a Job (its annotation);
// zero when it does not parse.
func jobRequestedAt(j *batchv1.Job) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, j.Annotations[AnnotationRequestedAt])
	return t
}

// reconcileSnapshot reads the promoted snapshot from the store into status, reports the
// latest finished Job's failure, the schedule times, and whether the snapshot is stale.
func (r *DataSourceReconciler) reconcileSnapshot(ctx context.Context, ds *impactv1.DataSource, st *dataSourceState) (outcome, error) {
	now := r.now()
	if lst := st.cronJob.Status.LastScheduleTime; lst != nil {
		ds.Status.LastScheduleTime = lst
	}
	var sched cron.Schedule
	var interval time.Duration
	ds.Status.NextScheduleTime = nil
	if ds.Spec.Schedule != "" {
		s, err := parseSchedule(ds.Spec.Schedule, ds.Spec.TimeZone)
		if err != nil {
			return outcome{}, stall(ReasonInvalidSpec, "DataSource %s: spec.schedule: %v", ds.Name, err)
		}
		sched = s
		next := sched.Next(now)
		interval = sched.Next(next).Sub(next)
		if !ds.Spec.Suspend {
			ds.Status.NextScheduleTime = &metav1.Time{Time: next}
		}
	}

	// The promoted snapshot is the store's latest pointer for the source.
	key := path.Join(store.SourcePrefix(ds.Namespace, ds.Spec.InitiativeRef.Name, ds.Name), "latest.json")
	man := &store.SnapshotManifest{}
	if err := r.Store.GetJSON(ctx, key, man); err == nil {
		created := metav1.NewTime(man.Created)
		ds.Status.Snapshot = &impactv1.SnapshotStatus{
			ID: man.ID, URI: r.Store.URI(man.Parquet), Rows: man.RowsOK, RejectedRows: man.RowsRejected,
			ExcludedRows: man.RowsExcluded, Bytes: man.ParquetBytes, SchemaHash: man.SchemaHash, Time: &created,
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return outcome{}, fmt.Errorf("DataSource %s: reading %s: %w", ds.Name, r.Store.URI(key), err)
	}

	// Jobs: the one running, and the latest finished.
	var jobs batchv1.JobList
	if err := r.List(ctx, &jobs, client.InNamespace(ds.Namespace), client.MatchingLabels{LabelDataSource: ds.Name, LabelManagedBy: ManagedBy}); err != nil {
		return outcome{}, fmt.Errorf("listing the Jobs of DataSource %s: %w", ds.Name, err)
	}
	var running []string
	var last *batchv1.Job
	var lastAt metav1.Time
	var lastFailed bool
	for i := range jobs.Items {
		j := &jobs.Items[i]
		done, failed, at := jobFinished(j)
		if !done {
			running = append(running, j.Name)
			continue
		}
		if last == nil || lastAt.Before(&at) {
			last, lastAt, lastFailed = j, at, failed
		}
	}
	sort.Strings(running)

	var requeue time.Duration
	if sched != nil && !ds.Spec.Suspend {
		requeue = time.Until(ds.Status.NextScheduleTime.Time) + time.Second
	}
	r.setStale(ds, interval, now, &requeue)

	if last != nil && lastFailed && (ds.Status.Snapshot == nil || ds.Status.Snapshot.Time.Before(&lastAt)) {
		msg := jobFailure(ctx, r.Client, last)
		reason := ReasonJobFailed
		if strings.Contains(msg, "not promoted") || strings.Contains(msg, "maxRejectPercent") || strings.Contains(msg, "maxShrinkPercent") {
			// The snapshot was written but refused: say why, with the first rejected rows.
			reason = ReasonNotPromoted
			if sum := rejectsSummary(ctx, r.Store, msg, 3); sum != "" {
				msg += "; " + sum
			}
		}
		if prev := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionReady); prev == nil || prev.Message != trim(msg) {
			r.Recorder.Eventf(ds, last, corev1.EventTypeWarning, reason, "Ingest", "%s", trim(msg))
		}
		if len(running) > 0 {
			return outcome{Waiting: &waiting{Reason: ReasonJobRunning, Message: fmt.Sprintf("Job %s running; the previous one failed: %s", strings.Join(running, ", "), msg), NotReady: true}}, nil
		}
		// A failed run is not retried until the next schedule or a run-now request: the
		// data, not the controller, must change.
		return outcome{Failed: &waiting{Reason: reason, Message: msg}, RequeueAfter: requeue}, nil
	}
	if len(running) > 0 && ds.Status.Snapshot == nil {
		return outcome{Waiting: &waiting{Reason: ReasonJobRunning, Message: fmt.Sprintf("waiting for Job %s to ingest the first snapshot", strings.Join(running, ", "))}}, nil
	}
	if ds.Status.Snapshot == nil {
		msg := "no snapshot yet: waiting for the first scheduled run"
		if ds.Status.NextScheduleTime != nil {
			msg += " at " + ds.Status.NextScheduleTime.UTC().Format(time.RFC3339)
		}
		msg += ", or annotate it with " + impactv1.RequestedAtAnnotation + " to run now"
		return outcome{Waiting: &waiting{Reason: ReasonWaiting, Message: msg}, RequeueAfter: requeue}, nil
	}
	s := ds.Status.Snapshot
	return outcome{RequeueAfter: requeue, Message: fmt.Sprintf("snapshot %s: %d rows, %d rejected, %d excluded", s.ID, s.Rows, s.RejectedRows, s.ExcludedRows)}, nil
}

// setStale sets the Stale condition: no new snapshot within twice the schedule interval.
func (r *DataSourceReconciler) setStale(ds *impactv1.DataSource, interval time.Duration, now time.Time, requeue *time.Duration) {
	gen := ds.Generation
	if interval <= 0 || ds.Status.Snapshot == nil || ds.Status.Snapshot.Time == nil {
		meta.RemoveStatusCondition(&ds.Status.Conditions, impactv1.ConditionStale)
		return
	}
	deadline := ds.Status.Snapshot.Time.Add(2 * interval)
	if now.After(deadline) {
		setCondition(&ds.Status.CommonStatus, gen, impactv1.ConditionStale, metav1.ConditionTrue, ReasonStale,
			fmt.Sprintf("no new snapshot since %s, twice the schedule's interval (%s) ago", ds.Status.Snapshot.Time.UTC().Format(time.RFC3339), 2*interval))
		return
	}
	setCondition(&ds.Status.CommonStatus, gen, impactv1.ConditionStale, metav1.ConditionFalse, ReasonFresh,
		fmt.Sprintf("the snapshot is stale after %s without a new one", deadline.UTC().Format(time.RFC3339)))
	if d := time.Until(deadline) + time.Second; *requeue == 0 || d < *requeue {
		*requeue = d
	}
}

// parseSchedule parses a cron schedule in the DataSource's time zone. Without one the
// CronJob runs in kube-controller-manager's zone, which the manager takes to be UTC.
func parseSchedule(schedule, tz string) (cron.Schedule, error) {
	if tz == "" {
		tz = "UTC"
	}
	return cron.ParseStandard("CRON_TZ=" + tz + " " + schedule)
}

func (r *DataSourceReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager watches DataSources (spec changes and run-now requests), their
// Initiative, and the Jobs that ingest them.
func (r *DataSourceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&impactv1.DataSource{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, requestedAtChanged()))).
		Owns(&batchv1.CronJob{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{},
			predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}, lastScheduleChanged()))).
		Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if name := o.GetLabels()[LabelDataSource]; name != "" {
				return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
			}
			return nil
		}), builder.WithPredicates(jobCreatedOrEnded())).
		Watches(&impactv1.Initiative{}, handler.EnqueueRequestsFromMapFunc(r.sourcesOfInitiative),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("datasource").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

func (r *DataSourceReconciler) sourcesOfInitiative(ctx context.Context, o client.Object) []reconcile.Request {
	var list impactv1.DataSourceList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{IndexInitiative: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing the DataSources of an Initiative", "initiative", o.GetName())
		return nil
	}
	out := make([]reconcile.Request, len(list.Items))
	for i, ds := range list.Items {
		out[i] = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ds.Namespace, Name: ds.Name}}
	}
	return out
}
