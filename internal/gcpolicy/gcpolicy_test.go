package gcpolicy

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
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
		{"aggregate, GOGC set", forAggregate, map[string]string{"GOGC": "50"}, false, 77, 0},
		{"aggregate, GOMEMLIMIT set", forAggregate, map[string]string{"GOMEMLIMIT": "1GiB"}, false, 77, 0},
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

// An aggregation does not collect until its heap reaches AggregateFirstGoal; after that
// first collection, it runs under the batch policy without a memory limit.
func TestAggregateAfterFirstCollection(t *testing.T) {
	old := debug.SetGCPercent(77)
	defer debug.SetGCPercent(old)
	oldLimit := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(oldLimit)
	if !forAggregate(func(string) (string, bool) { return "", false }) {
		t.Fatal("not applied")
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent before the first collection = %d, want -1 (off)", got)
	}
	if got := debug.SetMemoryLimit(-1); got != AggregateFirstGoal {
		t.Errorf("memory limit before the first collection = %d, want %d", got, AggregateFirstGoal)
	}
	runtime.GC()
	deadline := time.Now().Add(10 * time.Second)
	want := containerLimit(cgroupMemoryMax)
	for debug.SetMemoryLimit(-1) != want {
		if time.Now().After(deadline) {
			t.Fatalf("the memory limit is still %d 10 s after a collection, want %d", debug.SetMemoryLimit(-1), want)
		}
		runtime.GC() // the cleanup runs once a collection has seen the sentinel unreachable
		time.Sleep(time.Millisecond)
	}
	if got := debug.SetGCPercent(BatchPercent); got != BatchPercent {
		t.Errorf("GC percent after the first collection = %d, want %d", got, BatchPercent)
	}
}

// Past its first collection an aggregation keeps nine tenths of its container's memory
// limit as its own; without a limit ("max", or no cgroup file), none.
func TestContainerLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    int64
	}{
		{"1073741824\n", 966367638},
		{"max\n", math.MaxInt64},
		{"", math.MaxInt64},
		{"0\n", math.MaxInt64},
	} {
		file := filepath.Join(dir, "memory.max")
		if err := os.WriteFile(file, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := containerLimit(file); got != tc.want {
			t.Errorf("containerLimit(%q) = %d, want %d", tc.content, got, tc.want)
		}
	}
	if got := containerLimit(filepath.Join(dir, "absent")); got != math.MaxInt64 {
		t.Errorf("containerLimit(absent) = %d, want no limit", got)
	}
}
