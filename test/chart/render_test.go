// Package chart tests the Helm chart in charts/backbone with Helm's own Go SDK (helm.sh/helm/v4):
// it renders the chart as `helm template` does, lints it, checks what it renders against
// config/ (CRDs, RBAC, alerts), and applies the rendered objects to a real API server.
//
// It is a module of its own: Helm's dependencies stay out of the operator's go.mod.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in charts/backbone/testdata")

// chartDir is the chart under test.
var chartDir = filepath.Join("..", "..", "charts", "backbone")

// storeURL is the one value the chart requires.
const storeURL = "s3://backbone-results/north?region=eu-west-1"

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading %s: %v", chartDir, err)
	}
	return ch
}

// rendered is one release's output: its objects in order, its manifest and its notes.
type rendered struct {
	Manifest string
	Notes    string
	Objects  []*unstructured.Unstructured
}

// render renders the chart as `helm template --namespace ns name charts/backbone` with vals.
func render(t testing.TB, name, ns string, vals map[string]any) (*rendered, error) {
	t.Helper()
	inst := action.NewInstall(action.NewConfiguration())
	inst.DryRunStrategy = action.DryRunClient
	inst.Replace = true
	inst.ReleaseName = name
	inst.Namespace = ns
	kv, err := common.ParseKubeVersion("v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	inst.KubeVersion = kv
	rel, err := inst.Run(loadChart(t), vals)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		t.Fatalf("release of type %T", rel)
	}
	objs, err := decode(r.Manifest)
	if err != nil {
		t.Fatalf("decoding the manifest of %s: %v\n%s", name, err, r.Manifest)
	}
	return &rendered{Manifest: r.Manifest, Notes: r.Info.Notes, Objects: objs}, nil
}

func mustRender(t testing.TB, name, ns string, vals map[string]any) *rendered {
	t.Helper()
	r, err := render(t, name, ns, vals)
	if err != nil {
		t.Fatalf("rendering %s with %v: %v", name, vals, err)
	}
	return r
}

// decode splits a multi-document manifest into objects (integers as int64, as the API
// machinery decodes them).
func decode(manifest string) ([]*unstructured.Unstructured, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		objs = append(objs, u)
	}
}

// find returns the objects of a kind.
func (r *rendered) find(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.Objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only object of a kind.
func (r *rendered) one(t testing.TB, kind string) *unstructured.Unstructured {
	t.Helper()
	objs := r.find(kind)
	if len(objs) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(objs), kind)
	}
	return objs[0]
}

// kinds counts the objects by kind, as "Kind=n" sorted.
func (r *rendered) kinds() string {
	n := map[string]int{}
	for _, o := range r.Objects {
		n[o.GetKind()]++
	}
	var out []string
	for k, c := range n {
		out = append(out, fmt.Sprintf("%s=%d", k, c))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// managerArgs returns the manager container's args.
func (r *rendered) managerArgs(t testing.TB) []string {
	t.Helper()
	c := r.managerContainer(t)
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	return args
}

func (r *rendered) managerContainer(t testing.TB) map[string]any {
	t.Helper()
	d := r.one(t, "Deployment")
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0].(map[string]any)
}

// arg returns the value of --name=value among args, and whether it is there.
func arg(args []string, name string) (string, bool) {
	for _, a := range args {
		if a == "--"+name {
			return "", true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// values builds a values map from dotted paths, as --set does.
func values(kv ...any) map[string]any {
	out := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		path := strings.Split(kv[i].(string), ".")
		m := out
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[path[len(path)-1]] = kv[i+1]
	}
	return out
}

// matrix is the set of values every test renders: name, release, namespace, values.
type matrixCase struct {
	name, release, namespace string
	vals                     map[string]any
}

func matrix() []matrixCase {
	return []matrixCase{
		{"defaults", "backbone", "backbone-system", values("store.url", storeURL)},
		{"namespaced", "region-north", "backbone-north", values("store.url", storeURL,
			"region", "north", "watchNamespaces", []any{"north-county", "north-city"})},
		{"crds-disabled", "region-south", "backbone-south", values("store.url", storeURL, "crds.enabled", false)},
		{"monitoring", "backbone", "backbone-system", values("store.url", storeURL, "region", "north",
			"metrics.serviceMonitor.enabled", true, "metrics.serviceMonitor.interval", "30s",
			"metrics.prometheusRule.enabled", true, "networkPolicy.enabled", true,
			"networkPolicy.apiServerCIDRs", []any{"10.0.0.1/32"}, "networkPolicy.metricsFrom",
			[]any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}}})},
		{"digest", "backbone", "backbone-system", values("store.url", storeURL,
			"image.digest", "sha256:"+strings.Repeat("ab", 32), "replicas", 2, "log.level", "debug", "log.format", "console",
			"imagePullSecrets", []any{map[string]any{"name": "ghcr"}}, "nodeSelector", map[string]any{"kubernetes.io/os": "linux"},
			"tolerations", []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "backbone", "effect": "NoSchedule"}},
			"priorityClassName", "system-cluster-critical", "crds.keep", false)},
		{"report", "region-west", "backbone-west", values("store.url", storeURL, "region", "west", "watchNamespaces", []any{"west-county"},
			"store.credentialsSecret", "backbone-store", "minCellSize", 20, "report.enabled", true,
			"report.ingress.enabled", true, "report.ingress.host", "impact.example.org", "report.ingress.className", "nginx",
			"report.ingress.annotations", map[string]any{"cert-manager.io/cluster-issuer": "letsencrypt"},
			"report.ingress.tls.enabled", true, "report.ingress.tls.secretName", "impact-tls",
			"grafana.dashboards.label", "dashboards", "grafana.dashboards.labelValue", "backbone",
			"grafana.dashboardCRs.enabled", true, "networkPolicy.enabled", true,
			"networkPolicy.reportFrom", []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}}})},
	}
}

func TestRenderMatrix(t *testing.T) {
	want := map[string]string{
		"defaults":      "ClusterRole=1 ClusterRoleBinding=1 CustomResourceDefinition=3 Deployment=1 Service=1 ServiceAccount=1",
		"namespaced":    "CustomResourceDefinition=3 Deployment=1 Role=3 RoleBinding=3 Service=1 ServiceAccount=1",
		"crds-disabled": "ClusterRole=1 ClusterRoleBinding=1 Deployment=1 Service=1 ServiceAccount=1",
		"monitoring":    "ClusterRole=1 ClusterRoleBinding=1 CustomResourceDefinition=3 Deployment=1 NetworkPolicy=1 PrometheusRule=1 Service=1 ServiceAccount=1 ServiceMonitor=1",
		"digest":        "ClusterRole=1 ClusterRoleBinding=1 CustomResourceDefinition=3 Deployment=1 Service=1 ServiceAccount=1",
		"report":        "CustomResourceDefinition=3 Deployment=1 Ingress=1 NetworkPolicy=1 Role=2 RoleBinding=2 Service=2 ServiceAccount=1",
	}
	for _, c := range matrix() {
		t.Run(c.name, func(t *testing.T) {
			r := mustRender(t, c.release, c.namespace, c.vals)
			if got := r.kinds(); got != want[c.name] {
				t.Errorf("kinds: %s\nwant   %s", got, want[c.name])
			}
			args := r.managerArgs(t)
			if v, _ := arg(args, "store"); v != storeURL {
				t.Errorf("--store=%q, want %q", v, storeURL)
			}
			if v, _ := arg(args, "leader-election-id"); v != c.release+"-backbone.impact.backbone.dev" && v != "backbone.impact.backbone.dev" {
				t.Errorf("--leader-election-id=%q is not derived from release %s", v, c.release)
			}
			if v, _ := arg(args, "leader-election-namespace"); v != c.namespace {
				t.Errorf("--leader-election-namespace=%q, want %q", v, c.namespace)
			}
			for _, o := range r.Objects {
				if ns := o.GetNamespace(); o.GetKind() != "CustomResourceDefinition" && !strings.HasPrefix(o.GetKind(), "Cluster") && ns == "" {
					t.Errorf("%s %s has no namespace", o.GetKind(), o.GetName())
				}
				if l := o.GetLabels()["app.kubernetes.io/instance"]; l != c.release {
					t.Errorf("%s %s: label app.kubernetes.io/instance=%q", o.GetKind(), o.GetName(), l)
				}
			}
			checkSecurity(t, r)
			if !strings.Contains(r.Notes, storeURL) || !strings.Contains(r.Notes, "rollout status deployment/") {
				t.Errorf("NOTES.txt does not name the store and the next steps:\n%s", r.Notes)
			}
		})
	}
}

// checkSecurity requires the restricted Pod Security profile of the manager's pod.
func checkSecurity(t *testing.T, r *rendered) {
	t.Helper()
	d := r.one(t, "Deployment")
	pod, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	c := r.managerContainer(t)
	for _, chk := range []struct {
		obj  map[string]any
		path []string
		want any
	}{
		{pod, []string{"securityContext", "runAsNonRoot"}, true},
		{pod, []string{"securityContext", "runAsUser"}, int64(65532)},
		{pod, []string{"securityContext", "seccompProfile", "type"}, "RuntimeDefault"},
		{c, []string{"securityContext", "runAsNonRoot"}, true},
		{c, []string{"securityContext", "runAsUser"}, int64(65532)},
		{c, []string{"securityContext", "readOnlyRootFilesystem"}, true},
		{c, []string{"securityContext", "allowPrivilegeEscalation"}, false},
		{c, []string{"livenessProbe", "httpGet", "port"}, "probes"},
		{c, []string{"readinessProbe", "httpGet", "port"}, "probes"},
	} {
		got, _, _ := unstructured.NestedFieldNoCopy(chk.obj, chk.path...)
		if got != chk.want {
			t.Errorf("%s = %#v, want %#v", strings.Join(chk.path, "."), got, chk.want)
		}
	}
	drop, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop")
	if strings.Join(drop, ",") != "ALL" {
		t.Errorf("capabilities.drop = %v, want [ALL]", drop)
	}
	ports, _, _ := unstructured.NestedSlice(c, "ports")
	probes := int64(0)
	for _, p := range ports {
		if p.(map[string]any)["name"] == "probes" {
			probes = p.(map[string]any)["containerPort"].(int64)
		}
	}
	if v, _ := arg(r.managerArgs(t), "health-probe-bind-address"); v != fmt.Sprintf(":%d", probes) {
		t.Errorf("--health-probe-bind-address=%q but the probes port is %d", v, probes)
	}
}

func TestDefaults(t *testing.T) {
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL))
	args := r.managerArgs(t)
	c := r.managerContainer(t)
	ch := loadChart(t)
	wantImage := "ghcr.io/backbone-dev/backbone:" + ch.Metadata.AppVersion
	if c["image"] != wantImage {
		t.Errorf("image %v, want %s", c["image"], wantImage)
	}
	if v, _ := arg(args, "job-image"); v != wantImage {
		t.Errorf("--job-image=%q, want the manager's image %s", v, wantImage)
	}
	if _, ok := arg(args, "watch-namespaces"); ok {
		t.Errorf("cluster-wide by default, but args hold --watch-namespaces: %v", args)
	}
	for _, flag := range []string{"leader-elect", "zap-log-level", "zap-encoder", "metrics-bind-address"} {
		if _, ok := arg(args, flag); !ok {
			t.Errorf("no --%s in %v", flag, args)
		}
	}
	for _, crd := range r.find("CustomResourceDefinition") {
		if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy=keep", crd.GetName())
		}
	}
	// A URL with YAML's special characters reaches the manager as it is.
	odd := "s3://bucket/prefix?endpoint=http://minio:9000&region=us-east-1#x: y"
	if v, _ := arg(mustRender(t, "backbone", "backbone-system", values("store.url", odd)).managerArgs(t), "store"); v != odd {
		t.Errorf("--store=%q, want %q", v, odd)
	}
	if !strings.Contains(r.Notes, "every namespace") {
		t.Errorf("NOTES.txt: %s", r.Notes)
	}
}

func TestNamespaced(t *testing.T) {
	r := mustRender(t, "region-north", "backbone-north", values("store.url", storeURL,
		"region", "north", "watchNamespaces", []any{"north-county", "north-city"}))
	if v, _ := arg(r.managerArgs(t), "watch-namespaces"); v != "north-county,north-city" {
		t.Errorf("--watch-namespaces=%q", v)
	}
	var got []string
	for _, role := range r.find("Role") {
		got = append(got, role.GetNamespace()+"/"+role.GetName())
	}
	sort.Strings(got)
	want := "backbone-north/region-north-backbone-manager-leader-election north-city/region-north-backbone-manager north-county/region-north-backbone-manager"
	if strings.Join(got, " ") != want {
		t.Errorf("Roles %v, want %s", got, want)
	}
	for _, rb := range r.find("RoleBinding") {
		subjects, _, _ := unstructured.NestedSlice(rb.Object, "subjects")
		s := subjects[0].(map[string]any)
		if s["namespace"] != "backbone-north" || s["name"] != "region-north-backbone-manager" {
			t.Errorf("RoleBinding %s/%s binds %v", rb.GetNamespace(), rb.GetName(), s)
		}
	}
	for _, o := range r.Objects {
		if o.GetLabels()["impact.backbone.dev/region"] != "north" {
			t.Errorf("%s %s lacks the region label", o.GetKind(), o.GetName())
		}
	}
	d := r.one(t, "Deployment")
	podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	if podLabels["impact.backbone.dev/region"] != "north" {
		t.Errorf("pod labels %v lack the region", podLabels)
	}
}

func TestCRDsDisabled(t *testing.T) {
	r := mustRender(t, "region-south", "backbone-south", values("store.url", storeURL, "crds.enabled", false))
	if n := len(r.find("CustomResourceDefinition")); n != 0 {
		t.Errorf("%d CRDs with crds.enabled=false", n)
	}
	for _, crd := range mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "crds.keep", false)).find("CustomResourceDefinition") {
		if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
			t.Errorf("CRD %s keeps helm.sh/resource-policy with crds.keep=false", crd.GetName())
		}
	}
	if !strings.Contains(r.Notes, "does not install the CRDs") {
		t.Errorf("NOTES.txt does not say the CRDs come from elsewhere:\n%s", r.Notes)
	}
}

func TestImageDigest(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "image.digest", digest, "image.tag", "v9.9.9"))
	want := "ghcr.io/backbone-dev/backbone@" + digest
	if c := r.managerContainer(t); c["image"] != want {
		t.Errorf("image %v, want %s", c["image"], want)
	}
	if v, _ := arg(r.managerArgs(t), "job-image"); v != want {
		t.Errorf("--job-image=%q, want %s", v, want)
	}
	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "jobImage", "registry.example/backbone:v1"))
	if v, _ := arg(r.managerArgs(t), "job-image"); v != "registry.example/backbone:v1" {
		t.Errorf("--job-image=%q, want the jobImage value", v)
	}
}

func TestMonitoring(t *testing.T) {
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "region", "north",
		"metrics.serviceMonitor.enabled", true, "metrics.prometheusRule.enabled", true, "networkPolicy.enabled", true))
	sm := r.one(t, "ServiceMonitor")
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	ep := eps[0].(map[string]any)
	if ep["port"] != "metrics" {
		t.Errorf("ServiceMonitor scrapes port %v", ep["port"])
	}
	rl, _, _ := unstructured.NestedSlice(ep, "relabelings")
	if len(rl) != 1 || rl[0].(map[string]any)["targetLabel"] != "region" || rl[0].(map[string]any)["replacement"] != "north" {
		t.Errorf("ServiceMonitor relabelings %v, want region=north", rl)
	}
	svc := r.one(t, "Service")
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	smSel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	d := r.one(t, "Deployment")
	podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("the Service selects %s=%s, not on the pods", k, v)
		}
	}
	for k, v := range smSel {
		if svc.GetLabels()[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, not on the Service", k, v)
		}
	}
	np := r.one(t, "NetworkPolicy")
	types, _, _ := unstructured.NestedStringSlice(np.Object, "spec", "policyTypes")
	if strings.Join(types, ",") != "Ingress,Egress" {
		t.Errorf("NetworkPolicy policyTypes %v", types)
	}
}

// TestValuesSchema: values.schema.json rejects a misspelt value, a value of the wrong type,
// and a missing store URL, with a message naming it.
func TestValuesSchema(t *testing.T) {
	for _, c := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"typo at the top", values("store.url", storeURL, "watchNamespace", []any{"a"}), "watchNamespace"},
		{"typo inside", values("store.url", storeURL, "image.digets", "sha256:00"), "digets"},
		{"wrong type", values("store.url", storeURL, "replicas", "two"), "replicas"},
		{"bad digest", values("store.url", storeURL, "image.digest", "latest"), "digest"},
		{"bad namespace", values("store.url", storeURL, "watchNamespaces", []any{"North_County"}), "watchNamespaces"},
		{"no store", values(), "store.url is required"},
		{"typo in report", values("store.url", storeURL, "report.ingress.hostname", "impact.example.org"), "hostname"},
		{"report url not http", values("store.url", storeURL, "report.url", "impact.example.org"), "/report/url"},
		{"negative floor", values("store.url", storeURL, "minCellSize", -1), "minCellSize"},
		{"bad Secret name", values("store.url", storeURL, "store.credentialsSecret", "Backbone_Store"), "credentialsSecret"},
		{"typo in grafana", values("store.url", storeURL, "grafana.dashboards.lable", "x"), "lable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := render(t, "backbone", "backbone-system", c.vals)
			if err == nil {
				t.Fatalf("rendering with %v succeeded", c.vals)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not name %q: %v", c.want, err)
			}
		})
	}
}

// TestGolden keeps charts/backbone/testdata/default.yaml, `helm template backbone
// charts/backbone -n backbone-system --set store.url=…`, current: go test -update rewrites it.
func TestGolden(t *testing.T) {
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL))
	var b bytes.Buffer
	fmt.Fprintf(&b, "# helm template backbone charts/backbone --namespace backbone-system --set store.url=%s\n", storeURL)
	fmt.Fprintf(&b, "# Generated by `go test ./test/chart -update` (make chart); do not edit.\n")
	b.WriteString(strings.TrimSpace(r.Manifest))
	b.WriteString("\n")
	golden(t, filepath.Join(chartDir, "testdata", "default.yaml"), b.Bytes())
}
