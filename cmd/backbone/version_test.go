package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
		check   func(t *testing.T, out string)
	}{
		{args: []string{"version"}, check: func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "backbone ") || !strings.Contains(out, runtime.Version()) {
				t.Errorf("unexpected output %q", out)
			}
		}},
		{args: []string{"version", "-o", "json"}, check: func(t *testing.T, out string) {
			var v map[string]string
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			if v["goVersion"] != runtime.Version() || v["version"] == "" || v["commit"] == "" {
				t.Errorf("unexpected JSON %v", v)
			}
		}},
		{args: []string{"version", "-o", "yaml"}, wantErr: `--output: unknown format "yaml"`},
		{args: []string{"version", "extra"}, wantErr: "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := newRootCommand()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out.String())
		})
	}
}
