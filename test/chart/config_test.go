package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/backbone-dev/backbone/config/crd"
	"github.com/backbone-dev/backbone/config/prometheus"
)

var repoRoot = filepath.Join("..", "..")

// TestLint runs Helm's linter (`helm lint --strict` reports warnings as failures) on the
// chart with each values of the matrix.
func TestLint(t *testing.T) {
	kv, err := common.ParseKubeVersion("v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range matrix() {
		t.Run(c.name, func(t *testing.T) {
			res := lint.RunAll(chartDir, c.vals, c.namespace, lint.WithKubeVersion(kv))
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				}
			}
		})
	}
	// `helm lint charts/backbone` with the chart's own values is clean too: the linter renders
	// `required` leniently (TestValuesSchema checks that an install without store.url fails).
	res := lint.RunAll(chartDir, nil, "backbone-system", lint.WithKubeVersion(kv))
	for _, m := range res.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("lint with the default values: %s", m)
		}
	}
}

// roleRules reads config/rbac/role.yaml's rules, which controller-gen writes from the markers
// in controllers/rbac.go.
func roleRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &role); err != nil {
		t.Fatalf("config/rbac/role.yaml: %v", err)
	}
	if len(role.Rules) == 0 {
		t.Fatal("config/rbac/role.yaml has no rules")
	}
	return role.Rules
}

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

// TestRBACMatchesConfig: the chart's ClusterRole, and each Role of the namespace-scoped
// mode, holds exactly config/rbac/role.yaml's rules.
func TestRBACMatchesConfig(t *testing.T) {
	want := roleRules(t)
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL))
	cr := convert[rbacv1.ClusterRole](t, r.one(t, "ClusterRole"))
	if !reflect.DeepEqual(cr.Rules, want) {
		t.Errorf("ClusterRole rules differ from config/rbac/role.yaml:\n got %v\nwant %v", cr.Rules, want)
	}
	crb := convert[rbacv1.ClusterRoleBinding](t, r.one(t, "ClusterRoleBinding"))
	sa := r.one(t, "ServiceAccount")
	if crb.RoleRef.Name != cr.Name || len(crb.Subjects) != 1 || crb.Subjects[0].Name != sa.GetName() || crb.Subjects[0].Namespace != "backbone-system" {
		t.Errorf("ClusterRoleBinding %s binds %v to %v, not the ServiceAccount %s", crb.Name, crb.RoleRef, crb.Subjects, sa.GetName())
	}

	r = mustRender(t, "region-north", "backbone-north", values("store.url", storeURL, "watchNamespaces", []any{"north-county", "north-city"}))
	n := 0
	for _, u := range r.find("Role") {
		if u.GetNamespace() == "backbone-north" {
			continue // the leader election's
		}
		n++
		role := convert[rbacv1.Role](t, u)
		if !reflect.DeepEqual(role.Rules, want) {
			t.Errorf("Role %s/%s rules differ from config/rbac/role.yaml:\n got %v\nwant %v", role.Namespace, role.Name, role.Rules, want)
		}
	}
	if n != 2 {
		t.Errorf("%d Roles in watched namespaces, want 2", n)
	}
}

// TestCRDsMatchConfig: the rendered CRDs are config/crd/bases' (the same spec and name),
// with only labels and the keep annotation added; the copies in files/crds are byte-identical.
func TestCRDsMatchConfig(t *testing.T) {
	want, err := crd.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL))
	got := r.find("CustomResourceDefinition")
	if len(got) != len(want) {
		t.Fatalf("%d CRDs rendered, config/crd/bases has %d", len(got), len(want))
	}
	for i, u := range got {
		c := convert[apiextensionsv1.CustomResourceDefinition](t, u)
		if c.Name != want[i].Name || !reflect.DeepEqual(c.Spec, want[i].Spec) {
			t.Errorf("rendered CRD %s differs from config/crd/bases' %s", c.Name, want[i].Name)
		}
		for k, v := range want[i].Annotations {
			if c.Annotations[k] != v {
				t.Errorf("CRD %s: annotation %s=%q, config has %q", c.Name, k, c.Annotations[k], v)
			}
		}
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "config", "crd", "bases"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		a, err := os.ReadFile(filepath.Join(repoRoot, "config", "crd", "bases", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(chartDir, "files", "crds", e.Name()))
		if err != nil || string(a) != string(b) {
			t.Errorf("files/crds/%s is not config/crd/bases/%s (%v): run make chart", e.Name(), e.Name(), err)
		}
	}
}

// TestPrometheusRuleMatchesConfig: the chart's PrometheusRule has the groups of
// config/prometheus/rules.yaml.
func TestPrometheusRuleMatchesConfig(t *testing.T) {
	var rf prometheus.RuleFile
	if err := yaml.UnmarshalStrict(prometheus.Rules, &rf); err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "metrics.prometheusRule.enabled", true))
	pr := r.one(t, "PrometheusRule")
	groups, _, _ := unstructured.NestedSlice(pr.Object, "spec", "groups")
	// Compare as JSON-shaped values: the rendered ones went through YAML too.
	var want, got any
	wb, _ := yaml.Marshal(rf.Groups)
	gb, _ := yaml.Marshal(groups)
	if err := yaml.Unmarshal(wb, &want); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(gb, &got); err != nil {
		t.Fatal(err)
	}
	if len(groups) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("PrometheusRule groups differ from config/prometheus/rules.yaml")
	}
}

// TestMonitoringObjectsDecode: the ServiceMonitor and PrometheusRule decode strictly into the
// Prometheus Operator's own Go types (monitoring.coreos.com/v1): no unknown field, no wrong
// type. The API server in the tests has only minimal CRDs for them.
func TestMonitoringObjectsDecode(t *testing.T) {
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "region", "north",
		"metrics.serviceMonitor.enabled", true, "metrics.serviceMonitor.interval", "30s",
		"metrics.serviceMonitor.labels", map[string]any{"release": "prometheus"},
		"metrics.prometheusRule.enabled", true, "metrics.prometheusRule.labels", map[string]any{"release": "prometheus"}))
	sm := convert[monitoringv1.ServiceMonitor](t, r.one(t, "ServiceMonitor"))
	if len(sm.Spec.Endpoints) != 2 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Interval != "30s" ||
		sm.Spec.Endpoints[1].Port != "results" || sm.Spec.Endpoints[1].Interval != "30s" || len(sm.Spec.Endpoints[1].RelabelConfigs) != 0 {
		t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	}
	if sm.Labels["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v", sm.Labels)
	}
	// The strict decoding does refuse a misspelt field.
	bad := r.one(t, "ServiceMonitor").DeepCopy()
	_ = unstructured.SetNestedField(bad.Object, "metrics", "spec", "endpoints_")
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(bad.Object, &monitoringv1.ServiceMonitor{}, true); err == nil {
		t.Error("a ServiceMonitor with spec.endpoints_ decoded")
	}
	pr := convert[monitoringv1.PrometheusRule](t, r.one(t, "PrometheusRule"))
	n := 0
	for _, g := range pr.Spec.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "" || rule.Expr.String() == "" {
				t.Errorf("group %s: rule %+v without alert or expr", g.Name, rule)
			}
			n++
		}
	}
	if n == 0 || pr.Labels["release"] != "prometheus" {
		t.Errorf("PrometheusRule with %d rules, labels %v", n, pr.Labels)
	}
}
