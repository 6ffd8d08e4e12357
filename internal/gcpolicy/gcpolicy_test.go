package gcpolicy

import (
	"runtime/debug"
	"testing"
)

// Each policy sets its GOGC unless the environment already chose: GOGC for all, and
// GOMEMLIMIT too for a batch step; an ingestion's also sets its memory limit.
func TestPolicies(t *testing.T) {
	tests := []struct {
		name    string
		policy  func(func(string) (string, bool)) bool
		env     map[string]string
		applied bool
		percent int
		limit   int64 // the memory limit set, 0 for none
	}{
		{"batch, nothing set", forBatch, map[string]string{}, true, BatchPercent, 0},
		{"batch, GOGC set", forBatch, map[string]string{"GOGC": "50"}, false, 77, 0},
		{"batch, GOGC set empty", forBatch, map[string]string{"GOGC": ""}, false, 77, 0},
		{"batch, GOMEMLIMIT set", forBatch, map[string]string{"GOMEMLIMIT": "1GiB"}, false, 77, 0},
		{"ingest, nothing set", forIngest, map[string]string{}, true, BatchPercent, IngestMemoryLimit},
		{"ingest, GOGC set", forIngest, map[string]string{"GOGC": "50"}, false, 77, 0},
		{"ingest, GOMEMLIMIT set", forIngest, map[string]string{"GOMEMLIMIT": "1GiB"}, false, 77, 0},
		{"service, nothing set", forService, map[string]string{}, true, ServicePercent, 0},
		{"service, GOGC set", forService, map[string]string{"GOGC": "200"}, false, 77, 0},
		{"service, GOMEMLIMIT set: GOGC still applies below it", forService, map[string]string{"GOMEMLIMIT": "1GiB"}, true, ServicePercent, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := debug.SetGCPercent(77)
			defer debug.SetGCPercent(old)
			oldLimit := debug.SetMemoryLimit(1 << 40)
			defer debug.SetMemoryLimit(oldLimit)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if got := tc.policy(lookup); got != tc.applied {
				t.Errorf("applied = %v, want %v", got, tc.applied)
			}
			if got := debug.SetGCPercent(77); got != tc.percent {
				t.Errorf("GC percent = %d, want %d", got, tc.percent)
			}
			wantLimit := int64(1 << 40)
			if tc.limit != 0 {
				wantLimit = tc.limit
			}
			if got := debug.SetMemoryLimit(-1); got != wantLimit {
				t.Errorf("memory limit = %d, want %d", got, wantLimit)
			}
		})
	}
}
