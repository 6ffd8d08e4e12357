package controllers

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The run-now history keeps the newest Jobs: by finish time, then creation time, which
// have whole seconds and tie for requests made in quick succession, then by the request.
func TestNewestFirst(t *testing.T) {
	sec := func(s int) metav1.Time { return metav1.NewTime(time.Date(2026, 12, 5, 12, 0, s, 0, time.UTC)) }
	job := func(name, requested string, created int) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
			Name: name, CreationTimestamp: sec(created),
			Annotations: map[string]string{AnnotationRequestedAt: requested},
		}}
	}
	for _, tc := range []struct {
		name string
		in   []finishedJob
		want []string
	}{
		{"by finish time", []finishedJob{
			{job("a", "2026-12-05T12:04:00Z", 0), sec(1)},
			{job("b", "2026-12-05T12:00:00Z", 0), sec(3)},
			{job("c", "2026-12-05T12:01:00Z", 0), sec(2)},
		}, []string{"b", "c", "a"}},
		{"ties on finish, by creation", []finishedJob{
			{job("a", "2026-12-05T12:04:00Z", 1), sec(5)},
			{job("b", "2026-12-05T12:00:00Z", 2), sec(5)},
		}, []string{"b", "a"}},
		{"ties on both, by request", []finishedJob{
			{job("r2", "2026-12-05T12:02:00Z", 1), sec(5)},
			{job("r4", "2026-12-05T12:04:00Z", 1), sec(5)},
			{job("r0", "2026-12-05T12:00:00Z", 1), sec(5)},
			{job("r3", "2026-12-05T12:03:00.5Z", 1), sec(5)},
			{job("r1", "2026-12-05T12:01:00Z", 1), sec(5)},
		}, []string{"r4", "r3", "r2", "r1", "r0"}},
		{"requests that do not parse, by name", []finishedJob{
			{job("x-1", "one", 1), sec(5)},
			{job("x-3", "three", 1), sec(5)},
			{job("x-2", "two", 1), sec(5)},
		}, []string{"x-3", "x-2", "x-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newestFirst(tc.in)
			var got []string
			for _, f := range tc.in {
				got = append(got, f.job.Name)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%v", got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("order %v, want %v", got, tc.want)
				}
			}
		})
	}
}
