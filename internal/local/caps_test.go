package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/store"
)

// An Indicator's spec.publish.maxSeries, read from its YAML, cuts its series to its
// totals in what `backbone local` publishes, and the series preview says so; the other
// Indicators keep the default cap.
func TestSpecSeriesCap(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(samples)); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "indicator-kindergarteners-assessed.yaml")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, append(b, "  publish: {maxSeries: 5}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := Load(ctx, dir, "default")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(ctx, m, Options{Store: st, AsOf: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	x := metrics.New(metrics.Options{})
	if err := Publish(ctx, st, out, x); err != nil {
		t.Fatal(err)
	}
	for _, s := range x.Series() {
		capped := s.Indicator == "kindergarteners-assessed"
		if s.Capped != capped || s.ByIndicator != capped {
			t.Errorf("%s: capped %v by its own cap %v (cap %d, %d of %d series)", s.Indicator, s.Capped, s.ByIndicator, s.Cap, s.Published, s.Full)
		}
		if capped && (s.Cap != 5 || s.Full <= 5) {
			t.Errorf("%s: cap %d, %d series with its groups; want the spec's 5, exceeded", s.Indicator, s.Cap, s.Full)
		}
	}
	var p bytes.Buffer
	if err := PrintSeries(&p, x); err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(p.String()) {
		noted := strings.Contains(line, "totals only")
		if strings.Contains(line, "/kindergarteners-assessed ") != noted || (noted && !strings.Contains(line, "cap of 5")) {
			t.Errorf("series preview line %q", line)
		}
	}
	var text bytes.Buffer
	if _, err := x.WriteTo(&text, metrics.Text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), `backbone_indicator_series_capped{namespace="default",initiative="ready-by-five",indicator="kindergarteners-assessed",region=""} 1`) {
		t.Error("the exposition does not flag kindergarteners-assessed as capped")
	}
}
