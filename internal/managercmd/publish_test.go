package managercmd

import (
	"testing"
)

// Without the results' metrics and the community pages the manager has no publisher:
// nothing renders results that no one can read.
func TestNoPublisherWithoutEndpoints(t *testing.T) {
	for _, f := range []*managerFlags{{}, {resultsMetricsAddr: "0"}} {
		pub, err := addPublishing(nil, f)
		if err != nil || pub != nil {
			t.Errorf("--results-metrics-bind-address %q, no pages: publisher %v, %v; want none", f.resultsMetricsAddr, pub, err)
		}
	}
	// A bad --report-url is still refused.
	if _, err := addPublishing(nil, &managerFlags{reportURL: "ftp://x"}); err == nil {
		t.Error("--report-url ftp://x accepted")
	}
}
