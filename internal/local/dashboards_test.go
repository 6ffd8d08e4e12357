package local

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/backbone-dev/backbone/internal/publish/dashboard"
)

// WriteDashboards writes one dashboard per Initiative of the samples: the JSON that
// dashboard.JSON builds from the Initiative, its Indicators and the run's result.
func TestWriteDashboardsSamples(t *testing.T) {
	out := runSamples(t)
	m, err := Load(context.Background(), samples, "default")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "dashboards")
	files, err := WriteDashboards(dir, m, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || filepath.Base(files[0]) != "ready-by-five.json" {
		t.Fatalf("wrote %v, want ready-by-five.json", files)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	want, err := dashboard.JSON(&m.Initiatives[0], m.Indicators, out.Results[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the file is not the dashboard built from the run's result")
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(got, &d); err != nil {
		t.Fatal(err)
	}
	stats := 0
	for _, p := range d.Panels {
		if p.Type == "stat" {
			stats++
		}
	}
	if stats != len(m.Indicators) {
		t.Errorf("%d headline stats for %d indicators", stats, len(m.Indicators))
	}
}
