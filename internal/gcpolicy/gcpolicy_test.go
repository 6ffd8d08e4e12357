package gcpolicy

import (
	"runtime/debug"
	"testing"
)

// Each policy sets its GOGC unless the environment already chose: GOGC for both, and
// GOMEMLIMIT too for a batch step.
func TestPolicies(t *testing.T) {
	tests := []struct {
		name    string
		policy  func(func(string) (string, bool)) bool
		env     map[string]string
		applied bool
		percent int
	}{
		{"batch, nothing set", forBatch, map[string]string{}, true, BatchPercent},
		{"batch, GOGC set", forBatch, map[string]string{"GOGC": "50"}, false, 77},
		{"batch, GOGC set empty", forBatch, map[string]string{"GOGC": ""}, false, 77},
		{"batch, GOMEMLIMIT set", forBatch, map[string]string{"GOMEMLIMIT": "1GiB"}, false, 77},
		{"service, nothing set", forService, map[string]string{}, true, ServicePercent},
		{"service, GOGC set", forService, map[string]string{"GOGC": "200"}, false, 77},
		{"service, GOMEMLIMIT set: GOGC still applies below it", forService, map[string]string{"GOMEMLIMIT": "1GiB"}, true, ServicePercent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := debug.SetGCPercent(77)
			defer debug.SetGCPercent(old)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if got := tc.policy(lookup); got != tc.applied {
				t.Errorf("applied = %v, want %v", got, tc.applied)
			}
			if got := debug.SetGCPercent(77); got != tc.percent {
				t.Errorf("GC percent = %d, want %d", got, tc.percent)
			}
		})
	}
}
