package gcpolicy

import (
	"runtime/debug"
	"testing"
)

func TestForBatch(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		applied bool
		percent int
	}{
		{"nothing set", map[string]string{}, true, BatchPercent},
		{"GOGC set", map[string]string{"GOGC": "50"}, false, 77},
		{"GOGC set empty", map[string]string{"GOGC": ""}, false, 77},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, false, 77},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := debug.SetGCPercent(77)
			defer debug.SetGCPercent(old)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if got := forBatch(lookup); got != tc.applied {
				t.Errorf("forBatch = %v, want %v", got, tc.applied)
			}
			if got := debug.SetGCPercent(77); got != tc.percent {
				t.Errorf("GC percent = %d, want %d", got, tc.percent)
			}
		})
	}
}

func TestForService(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		applied bool
		percent int
	}{
		{"nothing set", map[string]string{}, true, ServicePercent},
		{"GOGC set", map[string]string{"GOGC": "200"}, false, 77},
		{"GOMEMLIMIT set: GOGC still applies below it", map[string]string{"GOMEMLIMIT": "1GiB"}, true, ServicePercent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := debug.SetGCPercent(77)
			defer debug.SetGCPercent(old)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if got := forService(lookup); got != tc.applied {
				t.Errorf("forService = %v, want %v", got, tc.applied)
			}
			if got := debug.SetGCPercent(77); got != tc.percent {
				t.Errorf("GC percent = %d, want %d", got, tc.percent)
			}
		})
	}
}
