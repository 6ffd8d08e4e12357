package metrics

import impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"

// IndicatorCaps returns the series caps Indicators set in spec.publish.maxSeries, by name,
// for SetIndicatorCaps; Indicators without one are left out.
func IndicatorCaps(inds []impactv1.Indicator) map[string]int {
	caps := map[string]int{}
	for _, ind := range inds {
		if p := ind.Spec.Publish; p != nil && p.MaxSeries != nil {
			caps[ind.Name] = int(*p.MaxSeries)
		}
	}
	return caps
}
