package cli

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spf13/cobra"
)

// A failing command is reported once, as "Error: <err>", with status 1, without usage; a
// command that succeeds writes nothing there.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"fails", errors.New("plan.json: no such file"), 1, "Error: plan.json: no such file\n"},
		{"succeeds", nil, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := Root("backbone-test", "a test")
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.AddCommand(&cobra.Command{Use: "step", RunE: func(*cobra.Command, []string) error { return tc.err }})
			root.SetArgs([]string{"step"})
			var stderr bytes.Buffer
			if code := run(root, &stderr); code != tc.code {
				t.Errorf("status %d, want %d", code, tc.code)
			}
			if stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
			if out.Len() != 0 {
				t.Errorf("the command printed %q (usage or error) besides Main's line", out.String())
			}
		})
	}
}
