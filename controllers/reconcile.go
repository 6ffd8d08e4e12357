package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

// Reasons of the conditions the reconcilers set.
const (
	ReasonSucceeded    = "Succeeded"
	ReasonProgressing  = "Progressing"
	ReasonInvalidSpec  = "InvalidSpec"
	ReasonSuspended    = "Suspended"
	ReasonWaiting      = "WaitingForSnapshot"
	ReasonJobRunning   = "JobRunning"
	ReasonJobFailed    = "JobFailed"
	ReasonNotPromoted  = "SnapshotNotPromoted"
	ReasonPlanTooLarge = "PlanTooLarge"
	ReasonError        = "ReconcileError"
	ReasonFresh        = "Fresh"
	ReasonStale        = "NoRecentSnapshot"
	ReasonInputStale   = "InputStale"
)

// stalled is a step's error that retrying cannot fix: the spec (or what it refers to) must
// change. It becomes Stalled=True, and the object is not requeued.
type stalled struct {
	Reason, Message string
}

func (s *stalled) Error() string { return s.Message }

// stall makes a stalling error.
func stall(reason, format string, args ...any) error {
	return &stalled{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// outcome is what a step says when it returns no error: done, or waiting for something
// (a Job, a snapshot) that a watch or RequeueAfter will bring back.
type outcome struct {
	// Waiting, when set, is why the object is not reconciled yet (Reconciling=True).
	Waiting *waiting
	// Failed, when set, is why the last run failed (a Job, not the spec): Ready=False, but
	// nothing is in progress, and a new run (the next schedule, a new plan) may succeed.
	Failed *waiting
	// RequeueAfter asks to be reconciled again after a while, e.g. at the next schedule.
	RequeueAfter time.Duration
	// Message of Ready=True when done.
	Message string
}

type waiting struct {
	Reason, Message string
	// NotReady keeps Ready=False while waiting (a failure that a new run may fix); otherwise
	// Ready is Unknown.
	NotReady bool
}

func wait(reason, format string, args ...any) outcome {
	return outcome{Waiting: &waiting{Reason: reason, Message: fmt.Sprintf(format, args...)}}
}

// summarize is the one place that maps a reconciliation's outcome to the kstatus
// conditions and to the controller's result:
//   - a stalling error → Stalled=True, Ready=False, Reconciling removed; no requeue;
//   - any other error → Reconciling=True, Ready=False; returned, so it is retried with backoff;
//   - a failed run → Ready=False, Reconciling and Stalled removed; requeued when asked;
//   - waiting → Reconciling=True, Ready Unknown (or False); requeued when asked;
//   - done → Ready=True, Reconciling and Stalled removed.
//
// Every condition and the status carry the object's generation.
func summarize(st *impactv1.CommonStatus, gen int64, out outcome, err error) (ctrl.Result, error) {
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: trim(msg), ObservedGeneration: gen})
	}
	st.ObservedGeneration = gen
	var sp *stalled
	switch {
	case errors.As(err, &sp):
		set(impactv1.ConditionStalled, metav1.ConditionTrue, sp.Reason, sp.Message)
		set(impactv1.ConditionReady, metav1.ConditionFalse, sp.Reason, sp.Message)
		meta.RemoveStatusCondition(&st.Conditions, impactv1.ConditionReconciling)
		return ctrl.Result{}, nil
	case err != nil:
		set(impactv1.ConditionReconciling, metav1.ConditionTrue, ReasonError, err.Error())
		set(impactv1.ConditionReady, metav1.ConditionFalse, ReasonError, err.Error())
		meta.RemoveStatusCondition(&st.Conditions, impactv1.ConditionStalled)
		return ctrl.Result{}, err
	case out.Failed != nil:
		f := out.Failed
		set(impactv1.ConditionReady, metav1.ConditionFalse, f.Reason, f.Message)
		meta.RemoveStatusCondition(&st.Conditions, impactv1.ConditionReconciling)
		meta.RemoveStatusCondition(&st.Conditions, impactv1.ConditionStalled)
		return ctrl.Result{RequeueAfter: out.RequeueAfter}, nil
	case out.Waiting != nil:
		w := out.Waiting
		set(impactv1.ConditionReconciling, metav1.ConditionTrue, w.Reason, w.Message)
		ready := metav1.ConditionUnknown
		if w.NotReady {
			ready = metav1.ConditionFalse
		}
		set(impactv1.ConditionReady, ready, w.Reason, w.Message)
		meta.RemoveStatusCondition(&st.Conditions, impactv1.ConditionStalled)
		return ctrl.Result{RequeueAfter: out.RequeueAfter}, nil
	}
	msg := out.Message
	if msg == "" {
		msg = "reconciled"
	}
	set(impactv1.ConditionReady, metav1.ConditionTrue, ReasonSucceeded, msg)
	meta.RemoveStatusCondition(&st.Conditions, impactv1.ConditionReconciling)
	meta.RemoveStatusCondition(&st.Conditions, impactv1.ConditionStalled)
	return ctrl.Result{RequeueAfter: out.RequeueAfter}, nil
}

// trim bounds a condition message (the API allows 32768 bytes; a message is for people).
func trim(s string) string {
	const max = 4096
	if len(s) > max {
		return s[:max-3] + "..."
	}
	return s
}

// patchStatus patches the status of obj from its state at base: one merge patch, so the
// reconciler writes status at most once per reconciliation, whatever the steps did, and
// not at all when they changed nothing (an empty patch is a request the API server
// decodes, admits and answers for nothing).
func patchStatus(ctx context.Context, c client.Client, obj, base client.Object) error {
	patch := client.MergeFrom(base)
	data, err := patch.Data(obj)
	if err != nil {
		return fmt.Errorf("computing the status patch of %s %s/%s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	if string(data) == "{}" {
		return nil
	}
	if err := c.Status().Patch(ctx, obj, client.RawPatch(patch.Type(), data)); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil
		}
		return fmt.Errorf("patching the status of %s %s/%s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// requestedAt returns the run-now annotation's value.
func requestedAt(obj client.Object) string {
	return obj.GetAnnotations()[impactv1.RequestedAtAnnotation]
}

// setCondition sets one condition carrying the object's generation.
func setCondition(st *impactv1.CommonStatus, gen int64, t string, s metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: trim(msg), ObservedGeneration: gen})
}
