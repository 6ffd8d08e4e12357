package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// TestMinCellSizeFloor checks the operator's floor under every Initiative's minimum cell
// size (--min-cell-size-floor, 5 in this suite): an Initiative asking for 3 stalls with a
// message naming spec.equity.minCellSize and the floor (still counting its Indicators),
// and so do its Indicators; no
// aggregation Job starts although its source has a snapshot; raised to the floor, it is
// computed with it.
func TestMinCellSizeFloor(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	floor := testAggregate.MinCellSizeFloor
	ini := &impactv1.Initiative{}
	loadSample(t, "initiative.yaml", ini, ns)
	ini.Spec.Equity.MinCellSize = ptrInt32(floor - 2)
	create(t, ini)
	ds := &impactv1.DataSource{}
	loadSample(t, "datasource-ncusd-kindergarten.yaml", ds, ns)
	create(t, ds)
	ind := &impactv1.Indicator{}
	loadSample(t, "indicator-readiness-score.yaml", ind, ns)
	create(t, ind)

	wantStalled := func(conds []metav1.Condition) error {
		if err := wantCondition(conds, impactv1.ConditionStalled, metav1.ConditionTrue); err != nil {
			return err
		}
		c := condition(conds, impactv1.ConditionStalled)
		want := fmt.Sprintf("%d is below the floor of %d", floor-2, floor)
		if c.Reason != ReasonInvalidSpec || !strings.Contains(c.Message, "spec.equity.minCellSize") || !strings.Contains(c.Message, want) {
			return fmt.Errorf("Stalled %s: %q names neither spec.equity.minCellSize nor %q", c.Reason, c.Message, want)
		}
		return nil
	}
	eventually(t, "the Initiative and the Indicator Stalled", func() error {
		got := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), got); err != nil {
			return err
		}
		if err := wantStalled(got.Status.Conditions); err != nil {
			return fmt.Errorf("Initiative: %w", err)
		}
		// A stalled Initiative still counts its Indicators.
		if c := got.Status.Indicators; c.Total != 1 || c.Ready != 0 || c.Summary != "0/1" {
			return fmt.Errorf("Initiative counts %+v, want 0/1", c)
		}
		gi, err := getIndicator(ns, ind.Name)
		if err != nil {
			return err
		}
		if err := wantStalled(gi.Status.Conditions); err != nil {
			return fmt.Errorf("Indicator: %w", err)
		}
		return nil
	})

	ingestWithoutAggregation(t, ds, "2026-12-05T14:00:00Z", "an Initiative below the floor")

	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), ini); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ini.DeepCopy())
	ini.Spec.Equity.MinCellSize = ptrInt32(floor)
	if err := k8s.Patch(ctx, ini, patch); err != nil {
		t.Fatal(err)
	}
	jobName := onlyAggregationJob(t, ns)
	job := waitJob(t, ns, jobName)
	var p spec.Aggregate
	jobPlan(t, job, &p)
	if len(p.Indicators) != 1 || p.Indicators[0].MinCellSize != int(floor) {
		t.Fatalf("plan %+v, want the Indicator at minCellSize %d", p.Indicators, floor)
	}
	eventually(t, "no longer Stalled", func() error {
		got := &impactv1.Initiative{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ini), got); err != nil {
			return err
		}
		if c := condition(got.Status.Conditions, impactv1.ConditionStalled); c != nil {
			return fmt.Errorf("still Stalled: %s", c.Message)
		}
		return nil
	})
}
