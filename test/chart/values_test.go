package chart

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestObjectNames: every object has the name the README's table gives it, for a release
// whose name holds the chart's ("backbone": <release>-backbone is the release name alone)
// and one whose name does not.
func TestObjectNames(t *testing.T) {
	for _, release := range []string{"backbone", "region-west"} {
		base := release
		if !strings.Contains(release, "backbone") {
			base = release + "-backbone"
		}
		r := mustRender(t, release, "backbone-system", values("store.url", storeURL,
			"metrics.serviceMonitor.enabled", true, "metrics.prometheusRule.enabled", true, "networkPolicy.enabled", true,
			"report.enabled", true, "report.ingress.enabled", true))
		want := map[string][]string{
			"ServiceAccount":     {base + "-manager"},
			"Deployment":         {base + "-manager"},
			"ClusterRole":        {base + "-manager"},
			"ClusterRoleBinding": {base + "-manager"},
			"Service":            {base + "-manager-metrics", base + "-report"},
			"ServiceMonitor":     {base + "-manager"},
			"PrometheusRule":     {base},
			"NetworkPolicy":      {base + "-manager"},
			"Ingress":            {base + "-report"},
			"CustomResourceDefinition": {"datasources.impact.backbone.dev", "indicators.impact.backbone.dev",
				"initiatives.impact.backbone.dev"},
		}
		for kind, names := range want {
			var got []string
			for _, o := range r.find(kind) {
				got = append(got, o.GetName())
			}
			if strings.Join(sorted(got), " ") != strings.Join(sorted(names), " ") {
				t.Errorf("release %s: %s named %v, want %v", release, kind, got, names)
			}
		}
		if n := len(r.Objects); n != 13 {
			t.Errorf("release %s: %d objects (%s), want 13", release, n, r.kinds())
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestValuesReachTheirObjects: each value of the table not checked elsewhere lands where its
// description says.
func TestValuesReachTheirObjects(t *testing.T) {
	aff := map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "pool", "operator": "In", "values": []any{"backbone"}}}}}}}}
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL,
		"serviceAccount.annotations", map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/backbone"},
		"commonLabels", map[string]any{"team": "data"}, "podAnnotations", map[string]any{"example.org/scrape": "no"},
		"affinity", aff, "replicas", 3, "allowFileLocations", true, "region", "north",
		"metrics.port", 9090, "probePort", 9091, "log.level", "debug", "log.format", "console",
		"resources", map[string]any{"requests": map[string]any{"cpu": "1"}},
		"networkPolicy.enabled", true, "networkPolicy.apiServerCIDRs", []any{"10.0.0.1/32"}, "networkPolicy.apiServerPorts", []any{6443},
		"networkPolicy.storeCIDRs", []any{"10.1.0.0/16"}, "networkPolicy.storePorts", []any{9000}))
	if a := r.one(t, "ServiceAccount").GetAnnotations(); a["eks.amazonaws.com/role-arn"] != "arn:aws:iam::1:role/backbone" {
		t.Errorf("ServiceAccount annotations %v", a)
	}
	for _, o := range r.Objects {
		if o.GetLabels()["team"] != "data" {
			t.Errorf("%s %s lacks the common label", o.GetKind(), o.GetName())
		}
	}
	d := r.one(t, "Deployment")
	pod, _, _ := unstructured.NestedMap(d.Object, "spec", "template")
	if a, _, _ := unstructured.NestedStringMap(pod, "metadata", "annotations"); a["example.org/scrape"] != "no" {
		t.Errorf("pod annotations %v", a)
	}
	if got, _, _ := unstructured.NestedMap(pod, "spec", "affinity"); fmt.Sprint(got) != fmt.Sprint(aff) {
		t.Errorf("affinity %v", got)
	}
	if n, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); n != 3 {
		t.Errorf("replicas %d", n)
	}
	args := r.managerArgs(t)
	for flag, want := range map[string]string{"allow-file-locations": "", "region": "north", "metrics-bind-address": ":9090",
		"health-probe-bind-address": ":9091", "zap-log-level": "debug", "zap-encoder": "console"} {
		if v, ok := arg(args, flag); !ok || v != want {
			t.Errorf("--%s=%q (%v), want %q", flag, v, ok, want)
		}
	}
	// NOTES.txt offers the samples (file locations) only where file locations are allowed.
	if !strings.Contains(r.Notes, "kubectl apply -k config/samples") {
		t.Errorf("NOTES.txt with allowFileLocations does not offer the samples:\n%s", r.Notes)
	}
	if n := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL)).Notes; strings.Contains(n, "config/samples") || !strings.Contains(n, "docs/connectors.md") {
		t.Errorf("NOTES.txt without allowFileLocations offers the samples or names no connector:\n%s", n)
	}
	if r.containerPort(t, "metrics") != 9090 || r.containerPort(t, "probes") != 9091 {
		t.Errorf("container ports metrics %d, probes %d", r.containerPort(t, "metrics"), r.containerPort(t, "probes"))
	}
	// Without a memory limit, or with memoryLimitRatio 0, Go's memory limit is left unset.
	for _, v := range []map[string]any{
		values("store.url", storeURL, "resources", map[string]any{"limits": nil}),
		values("store.url", storeURL, "memoryLimitRatio", 0),
	} {
		r := mustRender(t, "backbone", "backbone-system", v)
		if a, ok := arg(r.managerArgs(t), "memory-limit"); ok {
			t.Errorf("--memory-limit=%s rendered without a memory limit or a ratio", a)
		}
		if env, ok, _ := unstructured.NestedSlice(r.managerContainer(t), "env"); ok {
			t.Errorf("env %v rendered without a memory limit or a ratio", env)
		}
	}
	if v, ok := arg(mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "memoryLimitRatio", 0.75)).managerArgs(t), "memory-limit-ratio"); !ok || v != "0.75" {
		t.Errorf("--memory-limit-ratio=%q (%v), want 0.75", v, ok)
	}
	// Helm merges a map value into the default: the CPU request is set, the rest kept.
	want := map[string]any{"requests": map[string]any{"cpu": "1", "memory": "128Mi"}, "limits": map[string]any{"memory": "512Mi"}}
	if res, _, _ := unstructured.NestedMap(r.managerContainer(t), "resources"); !reflect.DeepEqual(res, want) {
		t.Errorf("resources %v", res)
	}
	egress, _, _ := unstructured.NestedSlice(r.one(t, "NetworkPolicy").Object, "spec", "egress")
	eg := fmt.Sprint(egress)
	for _, want := range []string{"10.0.0.1/32", "10.1.0.0/16", "port:6443", "port:9000"} {
		if !strings.Contains(eg, want) {
			t.Errorf("NetworkPolicy egress %s lacks %s", eg, want)
		}
	}

	// Off switches: no metrics Service, no results port, no leader election.
	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "metrics.service.enabled", false,
		"metrics.resultsPort", 0, "leaderElection.enabled", false))
	if len(r.find("Service")) != 0 {
		t.Errorf("a Service with metrics.service.enabled=false: %s", r.kinds())
	}
	args = r.managerArgs(t)
	for _, flag := range []string{"results-metrics-bind-address", "leader-elect", "leader-election-id"} {
		if _, ok := arg(args, flag); ok {
			t.Errorf("--%s with it switched off: %v", flag, args)
		}
	}
	if r.containerPort(t, "results") != 0 {
		t.Error("a results port with metrics.resultsPort=0")
	}
	// The ServiceMonitor brings the Service back.
	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "metrics.service.enabled", false, "metrics.serviceMonitor.enabled", true))
	if len(r.find("Service")) != 1 {
		t.Errorf("no metrics Service with the ServiceMonitor: %s", r.kinds())
	}
}
