//go:build linux

package e2e

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/plan"
)

// The generated fleet has the requested shape, its files are CSV rows of the sample, the
// same arguments write the same bytes, and every DataSource and Indicator compiles
// (internal/plan's checks) against its Initiative with no error.
func TestFleetWrite(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	samples := filepath.Join(root, "config", "samples")
	f := Fleet{Prefix: "fleet", Namespaces: 2, Sources: 3}
	dir := t.TempDir()
	manifests, err := f.Write(dir, samples)
	if err != nil {
		t.Fatal(err)
	}
	if len(manifests) != 2 {
		t.Fatalf("%d manifests, want one per namespace", len(manifests))
	}
	if ini, src, ind := f.Objects(); ini != 2 || src != 6 || ind != 30 {
		t.Errorf("Objects() = %d, %d, %d; want 2, 6, 30", ini, src, ind)
	}
	again, err := f.Write(t.TempDir(), samples)
	if err != nil {
		t.Fatal(err)
	}
	for i := range manifests {
		a, _ := os.ReadFile(manifests[i])
		b, _ := os.ReadFile(again[i])
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", filepath.Base(manifests[i]))
		}
	}

	var files [][]byte
	for _, m := range manifests {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var ini impactv1.Initiative
		var sources []impactv1.DataSource
		var inds []impactv1.Indicator
		for _, doc := range strings.Split(string(b), "\n---\n") {
			var tm struct {
				Kind     string         `json:"kind"`
				Metadata map[string]any `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			if labels, _ := tm.Metadata["labels"].(map[string]any); labels[FleetLabel] != "fleet" {
				t.Errorf("%s %v: labels %v, want %s=fleet", tm.Kind, tm.Metadata["name"], labels, FleetLabel)
			}
			var err error
			switch tm.Kind {
			case "Initiative":
				err = yaml.UnmarshalStrict([]byte(doc), &ini)
			case "DataSource":
				var ds impactv1.DataSource
				err = yaml.UnmarshalStrict([]byte(doc), &ds)
				sources = append(sources, ds)
			case "Indicator":
				var ind impactv1.Indicator
				err = yaml.UnmarshalStrict([]byte(doc), &ind)
				inds = append(inds, ind)
			default:
				t.Fatalf("%s: kind %q", m, tm.Kind)
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", m, tm.Kind, err)
			}
		}
		if ini.Name != FleetInitiative || len(sources) != 3 || len(inds) != 15 {
			t.Fatalf("%s: Initiative %q, %d DataSources, %d Indicators; want %s, 3, 15", m, ini.Name, len(sources), len(inds), FleetInitiative)
		}
		for i := range sources {
			p, err := plan.Ingest(&ini, &sources[i], plan.IngestOptions{AllowFileLocations: true, BaseDir: dir})
			if err != nil {
				t.Fatalf("DataSource %s: %v", sources[i].Name, err)
			}
			if !strings.HasPrefix(p.Path, dir) {
				t.Errorf("DataSource %s reads %s, want a file in %s", sources[i].Name, p.Path, dir)
			}
			data, err := os.ReadFile(p.Path)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, data)
		}
		agg, err := plan.Aggregate(&ini, sources, inds)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(agg.Indicators) != 15 {
			t.Errorf("%s: the aggregation computes %d Indicators, want 15", m, len(agg.Indicators))
		}
	}
	sample, err := os.ReadFile(filepath.Join(samples, "data", "ncusd-kindergarten.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range files {
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if len(rows) < 1000 || len(rows) > 2200 {
			t.Errorf("file %d: %d rows, want about 1,500", i, len(rows))
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:5] {
			if !bytes.Contains(sample, []byte(line+"\n")) {
				t.Errorf("file %d: row %q is not in the sample", i, line)
			}
		}
		for j := range i {
			if bytes.Equal(files[j], data) {
				t.Errorf("files %d and %d are the same", j, i)
			}
		}
	}
}
