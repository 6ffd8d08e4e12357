package controllers

import (
	"context"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

// Field indexes of the manager's cache.
const (
	// IndexInitiative indexes DataSources and Indicators by spec.initiativeRef.name.
	IndexInitiative = "spec.initiativeRef.name"
	// IndexSource indexes Indicators by the DataSources their operands read.
	IndexSource = "spec.measure.sourceRef.name"
)

// indicatorSources returns the DataSources an Indicator reads, sorted and unique.
func indicatorSources(ind *impactv1.Indicator) []string {
	out := []string{ind.Spec.Measure.Numerator.SourceRef.Name}
	if d := ind.Spec.Measure.Denominator; d != nil && !slices.Contains(out, d.SourceRef.Name) {
		out = append(out, d.SourceRef.Name)
	}
	slices.Sort(out)
	return out
}

// SetupIndexes registers the field indexes the reconcilers list by.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &impactv1.DataSource{}, IndexInitiative, func(o client.Object) []string {
		return []string{o.(*impactv1.DataSource).Spec.InitiativeRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &impactv1.Indicator{}, IndexInitiative, func(o client.Object) []string {
		return []string{o.(*impactv1.Indicator).Spec.InitiativeRef.Name}
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &impactv1.Indicator{}, IndexSource, func(o client.Object) []string {
		return indicatorSources(o.(*impactv1.Indicator))
	})
}

// requestedAtChanged passes updates that change the run-now annotation.
func requestedAtChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return requestedAt(e.ObjectOld) != requestedAt(e.ObjectNew)
		},
	}
}

// snapshotChanged passes DataSource updates that change the promoted snapshot or the Stale
// condition: what the Indicators and the Initiative that read the source depend on.
func snapshotChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*impactv1.DataSource), e.ObjectNew.(*impactv1.DataSource)
			return snapshotID(o) != snapshotID(n) || staleStatus(o) != staleStatus(n)
		},
	}
}

func snapshotID(ds *impactv1.DataSource) string {
	if ds.Status.Snapshot == nil {
		return ""
	}
	return ds.Status.Snapshot.ID
}

func staleStatus(ds *impactv1.DataSource) string {
	for _, c := range ds.Status.Conditions {
		if c.Type == impactv1.ConditionStale {
			return string(c.Status)
		}
	}
	return ""
}

// readinessChanged passes Indicator updates that change its Ready or OnTrack condition: what
// the Initiative counts.
func readinessChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*impactv1.Indicator), e.ObjectNew.(*impactv1.Indicator)
			for _, t := range []string{impactv1.ConditionReady, impactv1.ConditionOnTrack} {
				if conditionStatus(o.Status.Conditions, t) != conditionStatus(n.Status.Conditions, t) {
					return true
				}
			}
			return false
		},
	}
}

func conditionStatus(conds []metav1.Condition, t string) metav1.ConditionStatus {
	for _, c := range conds {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// jobCreatedOrEnded passes the events of a Job that change what a DataSource shows of it:
// the Jobs running and the latest finished. Its start and progress (three or four status
// updates by the Job controller) change neither.
func jobCreatedOrEnded() predicate.Predicate {
	ended := jobEnded()
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		UpdateFunc:  ended.Update,
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return true },
	}
}

// lastScheduleChanged passes the updates of a CronJob whose status.lastScheduleTime
// changed, which a DataSource's status echoes. (Its spec and metadata pass by their own
// predicates; its list of active Jobs changes with the Jobs, which are watched
// themselves.)
func lastScheduleChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, oOK := e.ObjectOld.(*batchv1.CronJob)
			n, nOK := e.ObjectNew.(*batchv1.CronJob)
			if !oOK || !nOK {
				return false
			}
			return !o.Status.LastScheduleTime.Equal(n.Status.LastScheduleTime)
		},
	}
}

// jobEnded passes the events of a Job that tell its end: its creation finished (as the
// cache lists it after a restart), its completion or failure, its deletion. An
// Indicator's status names the Job its result waits for from its plan alone, and reads
// the Job only once it failed.
func jobEnded() predicate.Predicate {
	ended := func(o client.Object) bool {
		j, ok := o.(*batchv1.Job)
		if !ok {
			return false
		}
		done, _, _ := jobFinished(j)
		return done
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return ended(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return ended(e.ObjectOld) != ended(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(e event.GenericEvent) bool { return true },
	}
}
