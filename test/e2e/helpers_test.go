//go:build linux

package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/backbone-dev/backbone/test/e2e"
)

// eventually polls cond every 250 ms until it returns true or timeout passes; the last
// error (or the message) then fails the test.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// podTemplate is a Pod template running one container "main" with command, as
// Backbone's Jobs do: no service account token, restartPolicy Never.
func podTemplate(command ...string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: new(false),
		Containers: []corev1.Container{{
			Name:    "main",
			Image:   "ghcr.io/backbone-dev/backbone:e2e",
			Command: command,
		}},
	}}
}

func job(ns, name string, tmpl corev1.PodTemplateSpec) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       batchv1.JobSpec{BackoffLimit: new(int32(0)), Template: tmpl},
	}
}

// waitJob waits until the Job has the condition (Complete or Failed) and returns it.
func waitJob(t *testing.T, c *e2e.Cluster, ns, name string, cond batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	j := &batchv1.Job{}
	eventually(t, 90*time.Second, fmt.Sprintf("job %s/%s %s", ns, name, cond), func() (bool, error) {
		if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, j); err != nil {
			return false, err
		}
		for _, jc := range j.Status.Conditions {
			if jc.Status == corev1.ConditionTrue && (jc.Type == batchv1.JobComplete || jc.Type == batchv1.JobFailed) {
				if jc.Type != cond {
					return false, fmt.Errorf("job is %s (%s: %s), want %s", jc.Type, jc.Reason, jc.Message, cond)
				}
				return true, nil
			}
		}
		return false, fmt.Errorf("job status %+v", j.Status)
	})
	return j
}

// jobPods lists the Pods of a Job.
func jobPods(t *testing.T, c *e2e.Cluster, ns, jobName string) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := c.Client.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: jobName}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// onlyPod returns the one Pod of a Job.
func onlyPod(t *testing.T, c *e2e.Cluster, ns, jobName string) corev1.Pod {
	t.Helper()
	pods := jobPods(t, c, ns, jobName)
	if len(pods) != 1 {
		t.Fatalf("job %s/%s has %d pods, want 1", ns, jobName, len(pods))
	}
	return pods[0]
}

// terminatedState returns the terminated state of the Pod's first container.
func terminatedState(t *testing.T, pod corev1.Pod) *corev1.ContainerStateTerminated {
	t.Helper()
	if len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("pod %s: container statuses %+v, want one terminated", pod.Name, pod.Status.ContainerStatuses)
	}
	return pod.Status.ContainerStatuses[0].State.Terminated
}

// gone waits until the object no longer exists.
func gone(t *testing.T, c *e2e.Cluster, obj client.Object, timeout time.Duration) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	eventually(t, timeout, fmt.Sprintf("%T %s deleted", obj, key), func() (bool, error) {
		err := c.Client.Get(context.Background(), key, obj)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}
