package managercmd

import (
	"strings"
	"testing"
)

// --memory-limit sets Go's memory limit to a share of the container's; GOMEMLIMIT wins.
func TestGoMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		limit      string
		ratio      float64
		gomemlimit string
		want       int64
		wantErr    string
	}{
		{limit: "", ratio: 0.9, want: 0},
		{limit: "512Mi", ratio: 0.9, want: 483183820},
		{limit: "536870912", ratio: 0.5, want: 268435456}, // bytes, as the downward API gives them
		{limit: "1G", ratio: 1, want: 1000000000},
		{limit: "512Mi", ratio: 0.9, gomemlimit: "300MiB", want: 0},
		{limit: "lots", ratio: 0.9, wantErr: "not a quantity"},
		{limit: "0", ratio: 0.9, wantErr: "positive"},
		{limit: "512Mi", ratio: 1.5, wantErr: "--memory-limit-ratio"},
		{limit: "512Mi", ratio: 0, wantErr: "--memory-limit-ratio"},
	} {
		got, err := goMemoryLimit(tc.limit, tc.ratio, tc.gomemlimit)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q × %g: error %v, want one about %s", tc.limit, tc.ratio, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q × %g (GOMEMLIMIT %q): %d, %v; want %d", tc.limit, tc.ratio, tc.gomemlimit, got, err, tc.want)
		}
	}
}
