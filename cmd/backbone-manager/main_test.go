package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The manager's binary links neither local mode, nor the Jobs' steps, nor the connectors
// they read with, and it links every store driver: what makes it lean is checked here,
// not assumed.
func TestLinksNoStepsNorConnectors(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/backbone-dev/backbone/controllers") {
		t.Fatalf("backbone-manager does not link the controllers; go list printed %d packages", len(deps))
	}
	// It reads the store the Jobs write, whatever its scheme (the gs:// driver failed
	// the manager's start-up when only the connectors linked it).
	for _, driver := range []string{"gocloud.dev/blob/s3blob", "gocloud.dev/blob/gcsblob", "gocloud.dev/blob/azureblob"} {
		if !slices.Contains(deps, driver) {
			t.Errorf("backbone-manager does not link the store driver %s", driver)
		}
	}
	for _, p := range deps {
		for _, banned := range []string{
			"github.com/backbone-dev/backbone/internal/local", "github.com/backbone-dev/backbone/internal/jobcmd",
			"github.com/backbone-dev/backbone/internal/run", "github.com/backbone-dev/backbone/internal/fetch",
			"github.com/backbone-dev/backbone/internal/pipeline/ingest", "github.com/backbone-dev/backbone/internal/pipeline/read",
			"github.com/xuri/excelize", "github.com/jackc/pgx",
		} {
			if p == banned || strings.HasPrefix(p, banned+"/") {
				t.Errorf("backbone-manager links %s", p)
			}
		}
	}
}

// Its commands: the manager's and version.
func TestCommands(t *testing.T) {
	root := newRootCommand()
	var names []string
	for _, c := range root.Commands() {
		names = append(names, c.Name())
	}
	for _, want := range []string{"manager", "version"} {
		if !slices.Contains(names, want) {
			t.Errorf("commands %v, want %s among them", names, want)
		}
	}
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"version", "-o", "json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"goVersion"`) && !strings.Contains(out.String(), `"version"`) {
		t.Errorf("version -o json printed %q", out.String())
	}
}
