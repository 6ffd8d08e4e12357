// Package local runs Backbone without a cluster: it reads the manifests in a folder,
// validates them as the API server would (the embedded CRDs' schemas and CEL rules) and with
// the cross-object checks of internal/plan, then ingests every DataSource and aggregates
// every Initiative's indicators into a local store.
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/manifest"
	"github.com/backbone-dev/backbone/internal/validate"
)

// Manifests are the objects of a folder, by kind.
type Manifests struct {
	Dir         string
	Initiatives []impactv1.Initiative
	DataSources []impactv1.DataSource
	Indicators  []impactv1.Indicator
	// ConfigMaps and Secrets of the folder are what configMap locations and secret
	// references read in local mode (a cluster mounts them into the ingestion pod).
	ConfigMaps []corev1.ConfigMap
	Secrets    []corev1.Secret
	// files maps kind/namespace/name to the file it came from, for messages.
	files map[string]string
}

// File returns the file an object was read from.
func (m *Manifests) File(kind, namespace, name string) string {
	return m.files[kind+"/"+namespace+"/"+name]
}

// Load reads every YAML or JSON manifest in dir (not its subfolders; kustomization files
// are skipped), validates each object against the CRDs and decodes it. Objects without a
// namespace get namespace. All problems are reported together, each naming the file, the
// object and the field.
func Load(ctx context.Context, dir, namespace string) (*Manifests, error) {
	v, err := validate.New()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := &Manifests{Dir: dir, files: map[string]string{}}
	var problems []string
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") || strings.HasPrefix(name, "kustomization.") {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		objs, err := manifest.Decode(data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		for i, u := range objs {
			if u.GetNamespace() == "" {
				u.SetNamespace(namespace)
			}
			id := describe(u, i+1)
			if u.GetAPIVersion() == "v1" && (u.GetKind() == "ConfigMap" || u.GetKind() == "Secret") {
				if err := m.addCore(u); err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s: %v", path, id, err))
				}
				continue
			}
			if errs := v.Validate(ctx, u); len(errs) > 0 {
				for _, fe := range errs {
					problems = append(problems, fmt.Sprintf("%s: %s: %s", path, id, fe.Error()))
				}
				continue
			}
			key := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
			if prev, dup := m.files[key]; dup {
				problems = append(problems, fmt.Sprintf("%s: %s is also defined in %s", path, id, prev))
				continue
			}
			m.files[key] = path
			if err := m.add(u); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", path, id, err))
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	if len(m.Initiatives) == 0 {
		return nil, fmt.Errorf("%s: no Initiative found among the manifests", dir)
	}
	sort.Slice(m.DataSources, func(i, j int) bool { return m.DataSources[i].Name < m.DataSources[j].Name })
	return m, nil
}

// addCore decodes a ConfigMap or Secret.
func (m *Manifests) addCore(u *unstructured.Unstructured) error {
	conv := runtime.DefaultUnstructuredConverter
	if u.GetKind() == "ConfigMap" {
		var o corev1.ConfigMap
		if err := conv.FromUnstructured(u.Object, &o); err != nil {
			return err
		}
		m.ConfigMaps = append(m.ConfigMaps, o)
		return nil
	}
	var o corev1.Secret
	if err := conv.FromUnstructured(u.Object, &o); err != nil {
		return err
	}
	m.Secrets = append(m.Secrets, o)
	return nil
}

func (m *Manifests) add(u *unstructured.Unstructured) error {
	conv := runtime.DefaultUnstructuredConverter
	switch u.GetKind() {
	case "Initiative":
		var o impactv1.Initiative
		if err := conv.FromUnstructured(u.Object, &o); err != nil {
			return err
		}
		m.Initiatives = append(m.Initiatives, o)
	case "DataSource":
		var o impactv1.DataSource
		if err := conv.FromUnstructured(u.Object, &o); err != nil {
			return err
		}
		m.DataSources = append(m.DataSources, o)
	case "Indicator":
		var o impactv1.Indicator
		if err := conv.FromUnstructured(u.Object, &o); err != nil {
			return err
		}
		m.Indicators = append(m.Indicators, o)
	default:
		return fmt.Errorf("kind %q is not a Backbone resource", u.GetKind())
	}
	return nil
}

// describe names an object for messages: "Indicator north-county/readiness", or the
// document's position when it has no kind or name.
func describe(u *unstructured.Unstructured, doc int) string {
	if u.GetKind() == "" || u.GetName() == "" {
		return fmt.Sprintf("document %d", doc)
	}
	return fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
}
