package gcpolicy

import "testing"

func TestIsBatch(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"backbone", "aggregate", "--plan", "p.json"}, true},
		{[]string{"backbone", "--v=2", "aggregate"}, true},
		{[]string{"bbrun", "aggregate", "-plan", "aggregate.json"}, true},
		{[]string{"backbone", "manager", "--store", "file:///s"}, false},
		{[]string{"backbone", "local", "-f", "aggregate"}, false},
		{[]string{"backbone", "ingest"}, false},
		{[]string{"backbone"}, false},
		{[]string{}, false},
		{[]string{"backbone", "", "aggregate"}, false},
	}
	for _, tc := range tests {
		if got := isBatch(tc.args); got != tc.want {
			t.Errorf("isBatch(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
