package controllers

import (
	"context"
	"testing"
	"time"
)

// With one slot, a second result waits to be decoded until the first is released; a
// result asked for twice is read once; a cancelled wait returns the context's error.
func TestResultOnceSlots(t *testing.T) {
	slots := make(chan struct{}, 1)
	first := &resultOnce{store: testStore, key: "results/none.json", slots: slots}
	if _, _, err := first.get(context.Background()); err == nil {
		t.Fatal("reading a result the store does not hold gave no error")
	}
	if _, _, err := first.get(context.Background()); err == nil || !first.done {
		t.Fatalf("the second get: %v, done %v; want the first read's error, kept", err, first.done)
	}
	second := &resultOnce{store: testStore, key: "results/none.json", slots: slots}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := second.acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("acquiring while the first holds the slot: %v, want the deadline", err)
	}
	first.release()
	if first.held || first.done || len(slots) != 0 {
		t.Fatalf("after release: held %v, done %v, %d slots taken", first.held, first.done, len(slots))
	}
	if err := second.acquire(context.Background()); err != nil || !second.held {
		t.Fatalf("acquiring a free slot: %v, held %v", err, second.held)
	}
	second.release()
}
