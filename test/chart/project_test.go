package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/backbone-dev/backbone/config/crd"
)

// project is the part of kubebuilder's PROJECT file the layout answers for.
type project struct {
	Domain      string   `json:"domain"`
	Layout      []string `json:"layout"`
	ProjectName string   `json:"projectName"`
	Repo        string   `json:"repo"`
	Version     string   `json:"version"`
	Resources   []struct {
		API struct {
			CRDVersion string `json:"crdVersion"`
			Namespaced bool   `json:"namespaced"`
		} `json:"api"`
		Controller bool   `json:"controller"`
		Domain     string `json:"domain"`
		Group      string `json:"group"`
		Kind       string `json:"kind"`
		Path       string `json:"path"`
		Version    string `json:"version"`
	} `json:"resources"`
}

// TestProjectFile: PROJECT describes the repository as it is: the module, the chart's
// name, and exactly the CRDs of config/crd/bases (group, version, kind, scope), each with
// its Go types under the path it names and, when it says so, its reconciler in controllers/.
func TestProjectFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "PROJECT"))
	if err != nil {
		t.Fatal(err)
	}
	var p project
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		t.Fatalf("PROJECT: %v", err)
	}
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(mod), "\n"); first != "module "+p.Repo {
		t.Errorf("PROJECT's repo %q, go.mod says %q", p.Repo, first)
	}
	if ch := loadChart(t); p.ProjectName != ch.Metadata.Name {
		t.Errorf("PROJECT's projectName %q, the chart's name %q", p.ProjectName, ch.Metadata.Name)
	}
	if p.Version != "3" || len(p.Layout) != 1 || p.Layout[0] != "go.kubebuilder.io/v4" {
		t.Errorf("PROJECT version %q, layout %v", p.Version, p.Layout)
	}
	crds, err := crd.Load()
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, c := range crds {
		byKind[c.Spec.Names.Kind] = c
	}
	seen := map[string]bool{}
	for _, r := range p.Resources {
		c, ok := byKind[r.Kind]
		if !ok {
			t.Errorf("PROJECT lists %s, which config/crd/bases has no CRD of", r.Kind)
			continue
		}
		seen[r.Kind] = true
		if r.Domain != p.Domain || r.Group+"."+r.Domain != c.Spec.Group {
			t.Errorf("%s: group %s.%s, the CRD's %s", r.Kind, r.Group, r.Domain, c.Spec.Group)
		}
		if r.API.Namespaced != (c.Spec.Scope == apiextensionsv1.NamespaceScoped) || r.API.CRDVersion != "v1" {
			t.Errorf("%s: namespaced %v, the CRD's scope %s", r.Kind, r.API.Namespaced, c.Spec.Scope)
		}
		storage := ""
		for _, v := range c.Spec.Versions {
			if v.Storage {
				storage = v.Name
			}
		}
		if r.Version != storage {
			t.Errorf("%s: version %s, the CRD stores %s", r.Kind, r.Version, storage)
		}
		dir, ok := strings.CutPrefix(r.Path, p.Repo+"/")
		if !ok || filepath.Base(dir) != r.Version {
			t.Errorf("%s: path %s is not <repo>/…/%s", r.Kind, r.Path, r.Version)
		}
		lower := strings.ToLower(r.Kind)
		if _, err := os.Stat(filepath.Join(repoRoot, dir, lower+"_types.go")); err != nil {
			t.Errorf("%s: %v", r.Kind, err)
		}
		_, err := os.Stat(filepath.Join(repoRoot, "controllers", lower+"_controller.go"))
		if r.Controller != (err == nil) {
			t.Errorf("%s: controller %v, but controllers/%s_controller.go: %v", r.Kind, r.Controller, lower, err)
		}
	}
	for kind := range byKind {
		if !seen[kind] {
			t.Errorf("config/crd/bases has %s, which PROJECT does not list", kind)
		}
	}
}
