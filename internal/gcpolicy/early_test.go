package gcpolicy

import (
	"reflect"
	"testing"
)

func TestBatchPolicy(t *testing.T) {
	tests := []struct {
		args []string
		want string // the command whose policy applies, "" for none
	}{
		{[]string{"backbone", "aggregate", "--plan", "p.json"}, "aggregate"},
		{[]string{"backbone", "--v=2", "aggregate"}, "aggregate"},
		{[]string{"bbrun", "aggregate", "-plan", "aggregate.json"}, "aggregate"},
		{[]string{"backbone", "manager", "--store", "file:///s"}, ""},
		{[]string{"backbone", "local", "-f", "aggregate"}, ""},
		{[]string{"backbone-job", "ingest", "--plan", "p.json"}, "ingest"},
		{[]string{"backbone"}, ""},
		{[]string{}, ""},
		{[]string{"backbone", "", "aggregate"}, ""},
	}
	for _, tc := range tests {
		got, want := batchPolicy(tc.args), batchPolicies[tc.want]
		if (got == nil) != (want == nil) || (got != nil && reflect.ValueOf(got).Pointer() != reflect.ValueOf(want).Pointer()) {
			t.Errorf("batchPolicy(%q) is not %q's policy", tc.args, tc.want)
		}
	}
}
