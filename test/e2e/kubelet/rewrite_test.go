//go:build linux

package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	rw, err := newRewriter([]mapping{
		{container: "/etc/backbone/plan", host: "/tmp/p/volumes/plan"},
		{container: "/etc/backbone/", host: "/tmp/p/volumes/config"},
		{container: "/dev/termination-log", host: "/tmp/p/containers/c/termination-log"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"/etc/backbone/plan/plan.json", "/tmp/p/volumes/plan/plan.json"},
		{"--plan=/etc/backbone/plan/plan.json", "--plan=/tmp/p/volumes/plan/plan.json"},
		{"file:///etc/backbone/plan", "file:///tmp/p/volumes/plan"},
		{"/etc/backbone/other.yaml", "/tmp/p/volumes/config/other.yaml"},
		{"/etc/backbone", "/tmp/p/volumes/config"},
		{"/etc/backbone/planner", "/tmp/p/volumes/config/planner"},
		{"/etc/backbonez", "/etc/backbonez"},
		{"/x/etc/backbone/plan", "/x/etc/backbone/plan"},
		{"a/etc/backbone", "a/etc/backbone"},
		{"echo hi > /dev/termination-log; cat /etc/backbone/plan/a /etc/backbone/plan/b", "echo hi > /tmp/p/containers/c/termination-log; cat /tmp/p/volumes/plan/a /tmp/p/volumes/plan/b"},
		{"", ""},
		{"no paths", "no paths"},
	} {
		if got := rw.rewrite(tc.in); got != tc.want {
			t.Errorf("rewrite(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, err := newRewriter([]mapping{{container: "/", host: "/tmp"}}); err == nil {
		t.Error("a mount at / is accepted, want an error")
	}
	if _, err := newRewriter([]mapping{{container: "relative", host: "/tmp"}}); err == nil {
		t.Error("a relative mount path is accepted, want an error")
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "POD": "p-1"}
	for _, tc := range []struct{ in, want string }{
		{"$(A)", "x"},
		{"--name=$(POD)/$(A)", "--name=p-1/x"},
		{"$$(A)", "$(A)"},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$(A", "$(A"},
		{"cost $5", "cost $5"},
		{"end$", "end$"},
	} {
		if got := expand(tc.in, vars); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTail(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat("x", i%10) + "\n")
	}
	got := tail([]byte(b.String()), 3, 1000)
	if got != "xxxxxxx\nxxxxxxxx\nxxxxxxxxx" {
		t.Errorf("last 3 lines = %q", got)
	}
	if got := tail([]byte("one line"), 80, 1000); got != "one line" {
		t.Errorf("a single line = %q", got)
	}
	if got := tail([]byte("abcdef\n"), 80, 3); got != "def" {
		t.Errorf("byte cap = %q", got)
	}
	if got := tail(nil, 80, 10); got != "" {
		t.Errorf("empty log = %q", got)
	}
}

// The text of a ConfigMap's files names mounted paths as the container sees them; after
// rewriteFiles it names the host folders, once, keeping the file's mode, and a file
// without such a path is left as it is.
func TestRewriteFiles(t *testing.T) {
	dir := t.TempDir()
	rw, err := newRewriter([]mapping{{container: "/var/run/backbone/secrets/db", host: "/host/pod/volumes/secret-0"}})
	if err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(dir, "plan.json")
	other := filepath.Join(dir, "other.csv")
	if err := os.WriteFile(plan, []byte(`{"dsnFile": "/var/run/backbone/secrets/db/dsn", "x": "/var/run/backbone/secrets/dbx"}`), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	if err := rewriteFiles([]string{plan, other}, rw, done); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"dsnFile": "/host/pod/volumes/secret-0/dsn", "x": "/var/run/backbone/secrets/dbx"}`; string(b) != want {
		t.Errorf("plan after rewriting:\n got %s\nwant %s", b, want)
	}
	if info, err := os.Stat(plan); err != nil {
		t.Error(err)
	} else if info.Mode().Perm() != 0o444 {
		t.Errorf("plan mode %v, want 0444 kept", info.Mode())
	}
	if b, _ := os.ReadFile(other); string(b) != "a,b\n1,2\n" {
		t.Errorf("a file without mounted paths changed: %q", b)
	}
	// A second container's mounts do not rewrite it again.
	rw2, _ := newRewriter([]mapping{{container: "/host", host: "/elsewhere"}})
	if err := rewriteFiles([]string{plan}, rw2, done); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(plan); string(b2) != string(b) {
		t.Errorf("rewritten twice: %s", b2)
	}
}

// A mount's host path is a link ending as its mount path does; a mount inside another
// mount is its volume's folder, and nothing is created inside the outer volume.
func TestMountLink(t *testing.T) {
	root := t.TempDir()
	mounts := filepath.Join(root, "mounts", "c")
	outer, inner := filepath.Join(root, "volumes", "secret-0"), filepath.Join(root, "volumes", "plan")
	for _, d := range []string{outer, inner} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outer, "dsn"), []byte("host=x"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, err := mountLink(mounts, "/var/run/backbone/secrets/district-db", outer)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(host) != "district-db" {
		t.Errorf("host path %s does not end as the mount path does", host)
	}
	if b, err := os.ReadFile(filepath.Join(host, "dsn")); err != nil || string(b) != "host=x" {
		t.Errorf("reading through the link: %q, %v", b, err)
	}
	host, err = mountLink(mounts, "/var/run/backbone/secrets/district-db/nested", inner)
	if err != nil {
		t.Fatal(err)
	}
	if host != inner {
		t.Errorf("a nested mount's host path is %s, want its volume's folder %s", host, inner)
	}
	if entries, _ := os.ReadDir(outer); len(entries) != 1 {
		t.Errorf("the outer volume holds %d entries, want its one file", len(entries))
	}
}
