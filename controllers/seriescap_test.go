package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

// TestSpecMaxSeries: an Indicator's spec.publish.maxSeries set on a published result cuts
// its series on the results' /metrics to its totals (series_capped 1), with
// SeriesCapped=True (reason IndicatorSeriesCap, the field named), and a Warning Event;
// removing it publishes every group again. The API server refuses a cap below 1.
func TestSpecMaxSeries(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	m := applySamples(t, ns)
	ini, a := samplesPlan(t, ns, m)
	if err := finishJob(t, waitJob(t, ns, a.JobName)); err != nil {
		t.Fatalf("aggregating: %v", err)
	}
	name := m.Indicators[0].Name
	flag := func(v string) string {
		return fmt.Sprintf(`backbone_indicator_series_capped{namespace=%q,initiative=%q,indicator=%q,region="us-west"} %s`, ns, ini.Name, name, v)
	}
	published := func(v string) error {
		for _, l := range samplesOf(scrape(t), ns) {
			if strings.HasPrefix(l, "backbone_indicator_series_capped{") && strings.Contains(l, `indicator="`+name+`"`) {
				if l != flag(v) {
					return fmt.Errorf("published %s, want %s", l, flag(v))
				}
				return nil
			}
		}
		return fmt.Errorf("no backbone_indicator_series_capped for %s", name)
	}
	eventually(t, "Indicator published within the caps", func() error {
		ind, err := getIndicator(ns, name)
		if err != nil {
			return err
		}
		if err := wantCondition(ind.Status.Conditions, ConditionSeriesCapped, metav1.ConditionFalse); err != nil {
			return err
		}
		return published("0")
	})

	setCap := func(n *int32) {
		t.Helper()
		ind, err := getIndicator(ns, name)
		if err != nil {
			t.Fatal(err)
		}
		ind.Spec.Publish = nil
		if n != nil {
			ind.Spec.Publish = &impactv1.PublishSpec{MaxSeries: n}
		}
		if err := k8s.Update(ctx, ind); err != nil {
			t.Fatal(err)
		}
	}
	five := int32(5)
	setCap(&five)
	eventually(t, "SeriesCapped by spec.publish.maxSeries", func() error {
		ind, err := getIndicator(ns, name)
		if err != nil {
			return err
		}
		if err := wantCondition(ind.Status.Conditions, ConditionSeriesCapped, metav1.ConditionTrue); err != nil {
			return err
		}
		if c := condition(ind.Status.Conditions, ConditionSeriesCapped); c.Reason != ReasonIndicatorCap || !strings.Contains(c.Message, "spec.publish.maxSeries of 5") {
			return fmt.Errorf("SeriesCapped %s: %s", c.Reason, c.Message)
		}
		return published("1")
	})
	eventually(t, "SeriesCapped Event", func() error {
		return wantEvent(ns, name, ReasonIndicatorCap+": only the totals are published")
	})
	for _, l := range samplesOf(scrape(t), ns) {
		if strings.Contains(l, `indicator="`+name+`"`) && strings.Contains(l, `dimension="`) && !strings.Contains(l, `dimension=""`) {
			t.Errorf("a capped Indicator publishes a group: %s", l)
		}
	}

	setCap(nil)
	eventually(t, "every group published again", func() error {
		ind, err := getIndicator(ns, name)
		if err != nil {
			return err
		}
		if err := wantCondition(ind.Status.Conditions, ConditionSeriesCapped, metav1.ConditionFalse); err != nil {
			return err
		}
		return published("0")
	})

	// The API server refuses a cap below 1.
	ind, err := getIndicator(ns, name)
	if err != nil {
		t.Fatal(err)
	}
	zero := int32(0)
	ind.Spec.Publish = &impactv1.PublishSpec{MaxSeries: &zero}
	if err := k8s.Update(ctx, ind); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.publish.maxSeries") {
		t.Errorf("maxSeries 0: %v, want Invalid naming spec.publish.maxSeries", err)
	}
}
