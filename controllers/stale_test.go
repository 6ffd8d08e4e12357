package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

// TestStale checks the Stale condition: no new snapshot within twice the schedule's
// interval, measured on the schedule itself.
func TestStale(t *testing.T) {
	sched, err := parseSchedule("0 6 * * *", "America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	snap := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC) // 06:00 in Los Angeles
	for _, tc := range []struct {
		now  time.Time
		want metav1.ConditionStatus
	}{
		{snap.Add(47 * time.Hour), metav1.ConditionFalse},
		{snap.Add(49 * time.Hour), metav1.ConditionTrue},
	} {
		ds := &impactv1.DataSource{Status: impactv1.DataSourceStatus{Snapshot: &impactv1.SnapshotStatus{Time: &metav1.Time{Time: snap}}}}
		next := sched.Next(tc.now)
		var requeue time.Duration
		(&DataSourceReconciler{}).setStale(ds, sched.Next(next).Sub(next), tc.now, &requeue)
		if err := wantCondition(ds.Status.Conditions, impactv1.ConditionStale, tc.want); err != nil {
			t.Errorf("%s after the snapshot: %v", tc.now.Sub(snap), err)
		}
	}
	// Without a schedule there is no interval, and no Stale condition.
	ds := &impactv1.DataSource{Status: impactv1.DataSourceStatus{Snapshot: &impactv1.SnapshotStatus{Time: &metav1.Time{Time: snap}}}}
	var requeue time.Duration
	(&DataSourceReconciler{}).setStale(ds, 0, snap.Add(1000*time.Hour), &requeue)
	if c := condition(ds.Status.Conditions, impactv1.ConditionStale); c != nil {
		t.Errorf("Stale without a schedule: %+v", c)
	}
}

// TestDecimal checks the status decimals against the API's pattern and their rounding.
func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		sign bool
		want impactv1.Decimal
	}{
		{0.641234, false, "0.6412"}, {0.02, true, "+0.02"}, {-0.16, false, "-0.16"}, {1234.56, false, "1235"},
		{12.345, false, "12.35"}, {0, true, "+0"}, {1e-9, false, "0"}, {-1e-9, false, "0"}, {3112, false, "3112"},
	} {
		if got := decimal(tc.v, tc.sign); got != tc.want {
			t.Errorf("decimal(%v, %v) = %q, want %q", tc.v, tc.sign, got, tc.want)
		}
	}
}
