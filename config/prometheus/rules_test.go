package prometheus_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/backbone-dev/backbone/config/prometheus"
)

var update = flag.Bool("update", false, "rewrite prometheusrule.yaml from rules.yaml")

// prometheusrule.yaml is what PrometheusRule builds from rules.yaml, and its spec holds
// exactly the groups of rules.yaml.
func TestPrometheusRuleIsGeneratedFromRules(t *testing.T) {
	got, err := prometheus.PrometheusRule("backbone", prometheus.DefaultLabels)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("prometheusrule.yaml", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.ReadFile("prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, got) {
		t.Fatal("prometheusrule.yaml is not generated from rules.yaml: run go test ./config/prometheus -update")
	}
	var obj struct {
		APIVersion string                 `json:"apiVersion"`
		Kind       string                 `json:"kind"`
		Spec       prometheus.RuleFile    `json:"spec"`
		Metadata   map[string]interface{} `json:"metadata"`
	}
	if err := yaml.UnmarshalStrict(file, &obj); err != nil {
		t.Fatal(err)
	}
	var rf prometheus.RuleFile
	if err := yaml.UnmarshalStrict(prometheus.Rules, &rf); err != nil {
		t.Fatal(err)
	}
	if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" || !reflect.DeepEqual(obj.Spec, rf) {
		t.Errorf("prometheusrule.yaml is a %s %s whose spec differs from rules.yaml", obj.APIVersion, obj.Kind)
	}
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is missing (Debian package prometheus; .ci/run installs it)")
		}
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	return p
}

// promtool check rules accepts the rule file and the PrometheusRule's groups, and its
// unit tests (tests/*.yaml: each alert fires on synthetic series, and only then) pass.
func TestPromtool(t *testing.T) {
	bin := promtool(t)
	// The PrometheusRule's spec, written back out as a rule file.
	var obj struct {
		Spec any `json:"spec"`
	}
	file, err := os.ReadFile("prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(file, &obj); err != nil {
		t.Fatal(err)
	}
	spec, err := yaml.Marshal(obj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(t.TempDir(), "prometheusrule-spec.yaml")
	if err := os.WriteFile(specFile, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := filepath.Glob("tests/*.yaml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no unit tests in tests/: %v", err)
	}
	for _, args := range [][]string{
		{"check", "rules", "rules.yaml", specFile},
		append([]string{"test", "rules"}, tests...),
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every metric a rule reads is one docs/metrics.md documents, and every rule has a
// section in docs/alerts.md and a unit test.
func TestRulesUseDocumentedMetrics(t *testing.T) {
	metricsDoc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	alertsDoc, err := os.ReadFile("../../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	var tests []byte
	names, _ := filepath.Glob("tests/*.yaml")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, b...)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(prometheus.Rules, &rf); err != nil {
		t.Fatal(err)
	}
	metric := regexp.MustCompile(`backbone_[a-z_]+`)
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			for _, m := range metric.FindAllString(r.Expr, -1) {
				if !bytes.Contains(metricsDoc, []byte("`"+m+"`")) {
					t.Errorf("%s reads %s, which docs/metrics.md does not document", r.Alert, m)
				}
			}
			if !bytes.Contains(alertsDoc, []byte("## "+r.Alert)) {
				t.Errorf("docs/alerts.md has no section ## %s", r.Alert)
			}
			if !bytes.Contains(tests, []byte("alertname: "+r.Alert)) {
				t.Errorf("no unit test in tests/ evaluates %s", r.Alert)
			}
		}
	}
	want := []string{"BackboneAggregationFailing", "BackboneDataSourceStale", "BackboneIndicatorOffTrack", "BackboneIngestionFailing", "BackboneRejectRatioHigh", "BackboneSeriesCapReached"}
	slices.Sort(alerts)
	if !slices.Equal(alerts, want) {
		t.Errorf("alerts %v, want %v", alerts, want)
	}
}
