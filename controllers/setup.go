package controllers

import (
	"context"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/store"
)

// Options are the settings of every reconciler.
type Options struct {
	Store *store.Store
	Jobs  JobOptions
	// Plan holds the file-location settings ingestion plans are compiled with.
	Plan plan.IngestOptions
	// Publisher, when set, publishes results (the results' metrics, community pages).
	Publisher Publisher
	// Dashboards configure the Initiatives' dashboard ConfigMaps.
	Dashboards DashboardOptions
	// ReportURL is the public address of the community pages (status.reportURL).
	ReportURL string
	// Aggregate are the operator's settings of aggregation plans: the floor under every
	// Initiative's minimum cell size.
	Aggregate plan.AggregateOptions
	// MaxConcurrentReconciles is how many objects of each kind are reconciled at once
	// (default 1). The reconciliations wait mostly on the API server and the store.
	MaxConcurrentReconciles int
}

// resultsDecodedAtOnce is how many results the manager decodes at once for publication
// (the dashboards and the results' metrics). A decoded result takes several times its
// file's size; Initiatives whose Jobs finish together would otherwise all hold theirs at
// once, and that was the manager's peak of memory.
const resultsDecodedAtOnce = 1

// Setup registers the field indexes and the three reconcilers with a manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return fmt.Errorf("registering field indexes: %w", err)
	}
	accounts := newJobAccounts()
	// The Initiative and Indicator reconcilers compile the same plans and read the same
	// result manifests: they share what they remember.
	plans, mans := newPlans(plansKept), newManifests(manifestsKept)
	// And they decode results for publication one at a time between them.
	decoding := make(chan struct{}, resultsDecodedAtOnce)
	if err := (&DataSourceReconciler{
		Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("backbone-datasource"),
		Store: opts.Store, Jobs: opts.Jobs, Plan: opts.Plan,
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles, accounts: accounts,
		cronJobs: newCronJobWrites(cronJobsKept),
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the DataSource controller: %w", err)
	}
	if err := (&InitiativeReconciler{
		Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("backbone-initiative"), Store: opts.Store, Jobs: opts.Jobs,
		Publisher: opts.Publisher, Dashboards: opts.Dashboards, ReportURL: opts.ReportURL, Aggregate: opts.Aggregate,
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles, accounts: accounts, plans: plans, manifests: mans,
		decoding: decoding,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Initiative controller: %w", err)
	}
	if err := (&IndicatorReconciler{
		Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("backbone-indicator"), Store: opts.Store,
		Publisher: opts.Publisher, Aggregate: opts.Aggregate, MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
		results: newIndicatorResults(indicatorResultsKept), plans: plans, manifests: mans,
		decoding: decoding,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Indicator controller: %w", err)
	}
	return nil
}

// CacheOptions limits the manager's cache to the watched namespaces (comma-separated; empty
// means all), and its cache of Jobs, CronJobs, ConfigMaps and Pods to the objects the
// manager labels as its own. Secrets are never read, so never cached. The cache keeps no
// field the manager never reads (stripUnread, stripPod).
func CacheOptions(namespaces string) cache.Options {
	own := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy})
	opts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&batchv1.Job{}:      {Label: own},
			&batchv1.CronJob{}:  {Label: own},
			&corev1.ConfigMap{}: {Label: own, Transform: stripConfigMap},
			&corev1.Pod{}:       {Label: own, Transform: stripPod},
		},
		DefaultTransform: stripUnread,
	}
	for _, ns := range strings.Split(namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			if opts.DefaultNamespaces == nil {
				opts.DefaultNamespaces = map[string]cache.Config{}
			}
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// stripUnread drops from an object before it is cached what the manager never reads: its
// managedFields (server-side apply's bookkeeping, kept by the API server: an update
// without them leaves them as they are, and the manager patches its objects' status with
// merge patches computed from two cached copies), and on Backbone's own kinds the
// last-applied-configuration annotation `kubectl apply` writes, a second copy of the spec
// (the manager never updates these objects, it patches their status).
func stripUnread(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil // a tombstone: nothing to strip
	}
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	switch in.(type) {
	case *impactv1.Initiative, *impactv1.DataSource, *impactv1.Indicator:
		delete(obj.GetAnnotations(), corev1.LastAppliedConfigAnnotation)
	}
	return in, nil
}

// stripConfigMap drops the data of the manager's ConfigMaps that carry the hash of what
// they hold (the plans' AnnotationPlanHash, the dashboards' AnnotationDashboardInputs)
// before they are cached: the manager compares the annotation and rewrites the whole data
// when it differs, it never reads the data back. A decoded ingestion plan is ≈ 50 KB: 200
// DataSources' plans were a fifth of the manager's live heap without the results' metrics.
func stripConfigMap(in any) (any, error) {
	cm, ok := in.(*corev1.ConfigMap)
	if !ok {
		return in, nil
	}
	cm.ManagedFields = nil
	if cm.Annotations[AnnotationPlanHash] != "" || cm.Annotations[AnnotationDashboardInputs] != "" {
		cm.Data, cm.BinaryData = nil, nil
	}
	return cm, nil
}

// stripPod keeps of a Job's Pod what the manager reads when the Job fails (its metadata
// and its containers' termination states, in jobFailure): the rest of its spec and status
// is most of a cached Pod.
func stripPod(in any) (any, error) {
	p, ok := in.(*corev1.Pod)
	if !ok {
		return in, nil
	}
	p.ManagedFields = nil
	statuses := make([]corev1.ContainerStatus, len(p.Status.ContainerStatuses))
	for i, cs := range p.Status.ContainerStatuses {
		statuses[i] = corev1.ContainerStatus{Name: cs.Name, State: corev1.ContainerState{Terminated: cs.State.Terminated}}
	}
	p.Spec = corev1.PodSpec{}
	p.Status = corev1.PodStatus{Phase: p.Status.Phase, ContainerStatuses: statuses}
	return p, nil
}
