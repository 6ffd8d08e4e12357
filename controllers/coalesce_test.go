package controllers

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

// A burst of changes of an Initiative's Indicators makes one request for the Initiative,
// after the delay; an Indicator of another Initiative makes its own.
func TestToInitiativeAfterCoalesces(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("coalesce-test")
	defer q.ShutDown()
	var rl workqueue.TypedRateLimitingInterface[reconcile.Request] = q
	h := toInitiativeAfter(300*time.Millisecond, func(o client.Object) string {
		return o.(*impactv1.Indicator).Spec.InitiativeRef.Name
	})
	ind := func(name, ini string) *impactv1.Indicator {
		i := &impactv1.Indicator{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		i.Spec.InitiativeRef.Name = ini
		return i
	}
	ctx := context.Background()
	start := time.Now()
	for i := range 50 {
		o := ind("i"+string(rune('a'+i%26)), "north")
		h.Update(ctx, event.UpdateEvent{ObjectOld: o, ObjectNew: o}, rl)
	}
	h.Create(ctx, event.CreateEvent{Object: ind("x", "south")}, rl)
	if n := q.Len(); n != 0 {
		t.Fatalf("%d requests ready before the delay", n)
	}
	got := map[string]int{}
	for range 2 {
		req, _ := q.Get()
		got[req.Name]++
		q.Done(req)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("the requests were ready after %s, before the delay", waited)
	}
	if got["north"] != 1 || got["south"] != 1 {
		t.Errorf("requests %v, want one for each Initiative", got)
	}
	time.Sleep(400 * time.Millisecond)
	if n := q.Len(); n != 0 {
		t.Errorf("%d more requests after the burst, want none", n)
	}
}
