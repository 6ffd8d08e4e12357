package metrics_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/local"
	"github.com/backbone-dev/backbone/internal/local/localtest"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
)

// samplesExposition runs the shipped example and publishes it, as backbone local --listen.
func samplesExposition(t *testing.T) (*metrics.Exposition, *local.Output) {
	t.Helper()
	r := localtest.Run(t)
	x := metrics.New(metrics.Options{Region: "us-west"})
	if err := local.Publish(context.Background(), r.Store, r.Output, x); err != nil {
		t.Fatal(err)
	}
	out := r.Output
	return x, out
}

// TestSamplesExposition checks the exposition of the samples: promtool's checks (the
// parser and linter Prometheus ships), the label schema, and that no suppressed cell's
// labels carry a number.
func TestSamplesExposition(t *testing.T) {
	x, out := samplesExposition(t)
	text := metrics.Render(t, x, metrics.Text)
	fams, order := metrics.Parse(t, text)
	metrics.CheckSchema(t, fams, order)
	metrics.CheckSuppressed(t, fams, out.Results[0].Cells)
	for _, name := range []string{"backbone_indicator_value", "backbone_indicator_value_ratio", "backbone_equity_difference", "backbone_source_input_rows"} {
		if len(fams[name].GetMetric()) == 0 {
			t.Errorf("the samples publish no %s", name)
		}
	}
	var b bytes.Buffer
	if err := local.PrintSeries(&b, x); err != nil {
		t.Fatal(err)
	}
	// One line per Indicator, a header and the total.
	if lines := strings.Count(b.String(), "\n"); lines != len(out.Results[0].Indicators)+2 {
		t.Errorf("series preview has %d lines for %d indicators:\n%s", lines, len(out.Results[0].Indicators), b.String())
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is missing (Debian package prometheus; .ci/run installs it)")
		}
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	res, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(res)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, res)
	}
}

// TestSamplesMatchDocs: every metric of the samples' exposition is listed in
// docs/metrics.md, and each of its series carries exactly the labels the page gives it.
func TestSamplesMatchDocs(t *testing.T) {
	x, _ := samplesExposition(t)
	fams, _ := metrics.Parse(t, metrics.Render(t, x, metrics.Text))
	docs := metrics.DocumentedFamilies(t)
	for name, f := range fams {
		want, ok := docs[name]
		if !ok {
			t.Errorf("the samples publish %s, which docs/metrics.md does not list", name)
			continue
		}
		want = slices.Sorted(slices.Values(want))
		for _, m := range f.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetName())
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s has a series with the labels %v, docs/metrics.md gives %v", name, got, want)
				break
			}
		}
	}
	if len(fams) < len(docs)*3/4 {
		t.Errorf("the samples publish %d of the %d documented metrics", len(fams), len(docs))
	}
}
