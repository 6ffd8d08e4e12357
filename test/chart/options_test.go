package chart

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// containerPort returns the manager container's port of a name (0 when none).
func (r *rendered) containerPort(t *testing.T, name string) int64 {
	t.Helper()
	ports, _, _ := unstructured.NestedSlice(r.managerContainer(t), "ports")
	for _, p := range ports {
		if p.(map[string]any)["name"] == name {
			return p.(map[string]any)["containerPort"].(int64)
		}
	}
	return 0
}

// named returns the object of a kind and name, or nil.
func (r *rendered) named(kind, name string) *unstructured.Unstructured {
	for _, o := range r.find(kind) {
		if o.GetName() == name {
			return o
		}
	}
	return nil
}

// TestReport: report.enabled serves the community pages (--report-bind-address on
// report.port, a container port and a Service in front of it); the Ingress routes its host
// to that Service, with the class, annotations and TLS asked for; --report-url follows the
// host (https with TLS) unless report.url says otherwise; the NetworkPolicy lets
// reportFrom in. Off by default.
func TestReport(t *testing.T) {
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL))
	for _, flag := range []string{"report-bind-address", "report-url"} {
		if _, ok := arg(r.managerArgs(t), flag); ok {
			t.Errorf("--%s by default", flag)
		}
	}
	if r.named("Service", "backbone-report") != nil || len(r.find("Ingress")) != 0 || r.containerPort(t, "report") != 0 {
		t.Error("the community pages are exposed by default")
	}

	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "report.enabled", true, "report.port", 9000))
	args := r.managerArgs(t)
	if v, _ := arg(args, "report-bind-address"); v != ":9000" || r.containerPort(t, "report") != 9000 {
		t.Errorf("--report-bind-address=%q, container port %d; want :9000 and 9000", v, r.containerPort(t, "report"))
	}
	if _, ok := arg(args, "report-url"); ok {
		t.Errorf("--report-url without an Ingress host or report.url: %v", args)
	}
	svc := r.named("Service", "backbone-report")
	if svc == nil {
		t.Fatalf("no Service backbone-report: %s", r.kinds())
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(ports) != 1 || ports[0].(map[string]any)["port"] != int64(80) || ports[0].(map[string]any)["targetPort"] != "report" {
		t.Errorf("Service ports %v, want 80 → report", ports)
	}
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	podLabels, _, _ := unstructured.NestedStringMap(r.one(t, "Deployment").Object, "spec", "template", "metadata", "labels")
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("the report Service selects %s=%s, not on the pods", k, v)
		}
	}

	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "report.enabled", true,
		"report.ingress.enabled", true, "report.ingress.host", "impact.example.org", "report.ingress.className", "nginx",
		"report.ingress.annotations", map[string]any{"cert-manager.io/cluster-issuer": "letsencrypt"},
		"report.ingress.tls.enabled", true, "report.ingress.tls.secretName", "impact-tls",
		"networkPolicy.enabled", true, "networkPolicy.reportFrom", []any{map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}}}))
	if v, _ := arg(r.managerArgs(t), "report-url"); v != "https://impact.example.org" {
		t.Errorf("--report-url=%q, want https://impact.example.org", v)
	}
	ing := r.one(t, "Ingress")
	spec, _, _ := unstructured.NestedMap(ing.Object, "spec")
	rules := spec["rules"].([]any)
	rule := rules[0].(map[string]any)
	paths, _, _ := unstructured.NestedSlice(rule, "http", "paths")
	svcName, _, _ := unstructured.NestedString(paths[0].(map[string]any), "backend", "service", "name")
	portName, _, _ := unstructured.NestedString(paths[0].(map[string]any), "backend", "service", "port", "name")
	tls, _, _ := unstructured.NestedSlice(spec, "tls")
	if len(rules) != 1 || rule["host"] != "impact.example.org" || svcName != "backbone-report" || portName != "http" ||
		spec["ingressClassName"] != "nginx" || ing.GetAnnotations()["cert-manager.io/cluster-issuer"] != "letsencrypt" ||
		len(tls) != 1 || tls[0].(map[string]any)["secretName"] != "impact-tls" || strings.Join(toStrings(tls[0].(map[string]any)["hosts"]), ",") != "impact.example.org" {
		t.Errorf("Ingress %v", ing.Object)
	}
	np := r.one(t, "NetworkPolicy")
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	found := false
	for _, rl := range ingress {
		ps, _, _ := unstructured.NestedSlice(rl.(map[string]any), "ports")
		from, _, _ := unstructured.NestedSlice(rl.(map[string]any), "from")
		if len(ps) == 1 && ps[0].(map[string]any)["port"] == "report" && len(from) == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("the NetworkPolicy lets no reportFrom peer reach the report port: %v", ingress)
	}
	// NOTES.txt says where the pages are.
	if !strings.Contains(r.Notes, "service/backbone-report") || !strings.Contains(r.Notes, "https://impact.example.org") {
		t.Errorf("NOTES.txt does not name the report Service and URL:\n%s", r.Notes)
	}

	// Without TLS the link is http://; report.url wins over the host.
	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "report.enabled", true,
		"report.ingress.enabled", true, "report.ingress.host", "impact.example.org"))
	if v, _ := arg(r.managerArgs(t), "report-url"); v != "http://impact.example.org" {
		t.Errorf("--report-url=%q, want http://impact.example.org", v)
	}
	if tls, ok, _ := unstructured.NestedSlice(r.one(t, "Ingress").Object, "spec", "tls"); ok {
		t.Errorf("Ingress TLS %v without report.ingress.tls.enabled", tls)
	}
	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "report.enabled", true,
		"report.ingress.enabled", true, "report.ingress.host", "impact.example.org", "report.url", "https://example.org/impact"))
	if v, _ := arg(r.managerArgs(t), "report-url"); v != "https://example.org/impact" {
		t.Errorf("--report-url=%q, want report.url", v)
	}

	for _, c := range []struct {
		vals map[string]any
		want string
	}{
		{values("store.url", storeURL, "report.ingress.enabled", true), "report.ingress.enabled needs report.enabled"},
		{values("store.url", storeURL, "report.enabled", true, "report.ingress.enabled", true, "report.ingress.tls.enabled", true), "report.ingress.tls.enabled needs"},
	} {
		if _, err := render(t, "backbone", "backbone-system", c.vals); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rendering %v: %v, want an error saying %q", c.vals, err, c.want)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestGrafana: the dashboard ConfigMaps' label, value and folder annotation reach the manager
// as flags (the Grafana sidecar's defaults by default); grafana.dashboards.enabled=false turns
// the ConfigMaps off; grafana.dashboardCRs.enabled asks for GrafanaDashboard resources.
func TestGrafana(t *testing.T) {
	for _, c := range []struct {
		name string
		vals map[string]any
		want map[string]string // flag → value; "-" for absent
	}{
		{"defaults", values("store.url", storeURL), map[string]string{"dashboard-label": "grafana_dashboard", "dashboard-label-value": "1",
			"dashboard-folder-annotation": "grafana_folder", "dashboards": "-", "grafana-dashboard-crs": "-"}},
		{"custom", values("store.url", storeURL, "grafana.dashboards.label", "dashboards", "grafana.dashboards.labelValue", "backbone",
			"grafana.dashboards.folderAnnotation", "k8s-sidecar-target-directory"), map[string]string{"dashboard-label": "dashboards",
			"dashboard-label-value": "backbone", "dashboard-folder-annotation": "k8s-sidecar-target-directory", "dashboards": "-"}},
		{"off", values("store.url", storeURL, "grafana.dashboards.enabled", false), map[string]string{"dashboards": "false",
			"dashboard-label": "-", "dashboard-label-value": "-", "dashboard-folder-annotation": "-"}},
		{"crs", values("store.url", storeURL, "grafana.dashboardCRs.enabled", true), map[string]string{"grafana-dashboard-crs": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := mustRender(t, "backbone", "backbone-system", c.vals)
			args := r.managerArgs(t)
			for flag, want := range c.want {
				got, ok := arg(args, flag)
				if want == "-" && ok {
					t.Errorf("--%s=%q, want none", flag, got)
				} else if want != "-" && (!ok || got != want) {
					t.Errorf("--%s=%q (%v), want %q", flag, got, ok, want)
				}
			}
			if strings.Contains(r.Notes, "sidecar") != (c.name != "off") {
				t.Errorf("NOTES.txt and the dashboards:\n%s", r.Notes)
			}
		})
	}
}

// TestStoreCredentials: store.credentialsSecret names the Secret to the manager
// (--store-credentials-secret, which mounts it into every Job pod) and gives the manager's own
// pod its keys, as environment variables and read-only files, through the kubelet: the
// manager's rules still hold no Secrets.
func TestStoreCredentials(t *testing.T) {
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL))
	c := r.managerContainer(t)
	if _, ok := arg(r.managerArgs(t), "store-credentials-secret"); ok || c["envFrom"] != nil {
		t.Errorf("store credentials by default: %v", c)
	}
	r = mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "store.credentialsSecret", "backbone-store"))
	if v, _ := arg(r.managerArgs(t), "store-credentials-secret"); v != "backbone-store" {
		t.Errorf("--store-credentials-secret=%q", v)
	}
	c = r.managerContainer(t)
	envFrom, _, _ := unstructured.NestedSlice(c, "envFrom")
	if len(envFrom) != 1 || envFrom[0].(map[string]any)["secretRef"].(map[string]any)["name"] != "backbone-store" {
		t.Errorf("envFrom %v", envFrom)
	}
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	vols, _, _ := unstructured.NestedSlice(r.one(t, "Deployment").Object, "spec", "template", "spec", "volumes")
	mounted := false
	for _, m := range mounts {
		mm := m.(map[string]any)
		if mm["mountPath"] != "/var/run/backbone/store-credentials" || mm["readOnly"] != true {
			continue
		}
		for _, v := range vols {
			name, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
			if v.(map[string]any)["name"] == mm["name"] && name == "backbone-store" {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("the Secret backbone-store is not mounted read-only at /var/run/backbone/store-credentials: %v %v", mounts, vols)
	}
	for _, rule := range roleRules(t) {
		for _, res := range rule.Resources {
			if res == "secrets" {
				t.Errorf("the manager's rules hold Secrets: %v", rule)
			}
		}
	}
	if !strings.Contains(r.Notes, "create secret generic backbone-store") {
		t.Errorf("NOTES.txt does not say to create the Secret:\n%s", r.Notes)
	}
}

// TestMinCellSize: minCellSize reaches the manager as --min-cell-size-floor; 0 (the default)
// sets no floor.
func TestMinCellSize(t *testing.T) {
	if v, ok := arg(mustRender(t, "backbone", "backbone-system", values("store.url", storeURL)).managerArgs(t), "min-cell-size-floor"); ok {
		t.Errorf("--min-cell-size-floor=%q by default", v)
	}
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL, "minCellSize", 20))
	if v, _ := arg(r.managerArgs(t), "min-cell-size-floor"); v != "20" {
		t.Errorf("--min-cell-size-floor=%q, want 20", v)
	}
	if !strings.Contains(r.Notes, "below 20") {
		t.Errorf("NOTES.txt does not name the floor:\n%s", r.Notes)
	}
}
