package chart

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// configDirs are the kustomize directories of config/, each renderable on its own.
var configDirs = []string{"crd", "default", "grafana", "manager", "prometheus", "rbac", "samples"}

// kustomize renders config/<dir> with the kubectl of the test control plane
// (hack/controlplane.sh builds it), as `kubectl kustomize` or `kubectl apply -k` does.
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(hack/controlplane.sh)")
	}
	cmd := exec.Command(filepath.Join(assets, "kubectl"), "kustomize", filepath.Join(repoRoot, "config", dir))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/%s: %v\n%s", dir, err, stderr.String())
	}
	objs, err := decode(string(out))
	if err != nil {
		t.Fatalf("config/%s: %v", dir, err)
	}
	if len(objs) == 0 {
		t.Fatalf("config/%s renders nothing", dir)
	}
	return objs
}

// clusterScoped are the kinds config/ holds that have no namespace.
var clusterScoped = []string{"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}

// TestConfigKustomize renders every kustomize directory of config/ with kubectl and applies
// what it renders to a real API server with a server-side dry run (the CRDs for real first;
// config/samples into a namespace, as `kubectl apply -k config/samples -n …` does). Every
// directory of config/ with a kustomization is one of them. config/grafana is config/default
// with the manager's dashboard flags, each a flag `backbone manager` knows, as are the
// flags of config/default's manager.
func TestConfigKustomize(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	entries, err := os.ReadDir(filepath.Join(repoRoot, "config"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(repoRoot, "config", e.Name(), "kustomization.yaml")); e.IsDir() && err == nil {
			found = append(found, e.Name())
		}
	}
	sort.Strings(found)
	if !slices.Equal(found, configDirs) {
		t.Errorf("config/ has the kustomizations %v, want %v", found, configDirs)
	}
	installCRDs(ctx, t, c, &rendered{Objects: kustomize(t, "crd")})
	rendered := map[string][]*unstructured.Unstructured{}
	for _, dir := range configDirs {
		t.Run(dir, func(t *testing.T) {
			objs := kustomize(t, dir)
			rendered[dir] = objs
			var namespaces []string
			for _, o := range objs {
				if slices.Contains(clusterScoped, o.GetKind()) {
					continue
				}
				if o.GetNamespace() == "" {
					o.SetNamespace("config-" + dir)
				}
				if !slices.Contains(namespaces, o.GetNamespace()) {
					namespaces = append(namespaces, o.GetNamespace())
				}
			}
			ensureNamespaces(ctx, t, c, namespaces...)
			if err := apply(ctx, c, objs, client.DryRunAll); err != nil {
				t.Errorf("dry run of config/%s: %v", dir, err)
			}
		})
	}

	known := managerFlags(t)
	args := func(dir string) []string {
		for _, o := range rendered[dir] {
			if o.GetKind() == "Deployment" && o.GetName() == "backbone-manager" {
				cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
				a, _, _ := unstructured.NestedStringSlice(cs[0].(map[string]any), "args")
				return a
			}
		}
		t.Fatalf("config/%s has no Deployment backbone-manager", dir)
		return nil
	}
	for _, dir := range []string{"default", "grafana"} {
		for _, a := range args(dir)[1:] {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !known[name] {
				t.Errorf("config/%s gives the manager %s, a flag it does not know", dir, a)
			}
		}
	}
	g := args("grafana")
	for _, want := range []string{"--dashboards=true", "--dashboard-label=grafana_dashboard", "--dashboard-label-value=1", "--dashboard-folder-annotation=grafana_folder"} {
		if !slices.Contains(g, want) {
			t.Errorf("config/grafana's manager args %v lack %s", g, want)
		}
	}
	if !slices.Equal(g[:len(args("default"))], args("default")) || len(rendered["grafana"]) != len(rendered["default"]) {
		t.Errorf("config/grafana is not config/default with more manager args")
	}
}
