package dashboard

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

// Defaults of ConfigMapOptions: the Grafana sidecar's conventions (kube-prometheus-stack).
const (
	DefaultLabelKey         = "grafana_dashboard"
	DefaultLabelValue       = "1"
	DefaultFolderAnnotation = "grafana_folder"
)

// ConfigMapOptions configure the ConfigMap a dashboard is shipped in.
type ConfigMapOptions struct {
	// LabelKey and LabelValue mark the ConfigMap for the sidecar (default grafana_dashboard: "1").
	LabelKey, LabelValue string
	// FolderAnnotation is the annotation the sidecar reads the folder from (its
	// folderAnnotation setting; default grafana_folder).
	FolderAnnotation string
}

// ConfigMapName is the name of the ConfigMap holding an Initiative's dashboard.
func ConfigMapName(initiative string) string { return initiative + "-dashboard" }

// ConfigMapKey is the key of the dashboard JSON in its ConfigMap.
func ConfigMapKey(initiative string) string { return initiative + ".json" }

// ConfigMap returns the ConfigMap that ships an Initiative's dashboard JSON to Grafana's
// sidecar: in the Initiative's namespace, the JSON under <initiative>.json, the sidecar's
// label, and the folder annotation when spec.dashboard.folder names one. Owner references
// are the caller's.
func ConfigMap(ini *impactv1.Initiative, dashboardJSON []byte, opts ConfigMapOptions) *corev1.ConfigMap {
	if opts.LabelKey == "" {
		opts.LabelKey, opts.LabelValue = DefaultLabelKey, DefaultLabelValue
	}
	if opts.FolderAnnotation == "" {
		opts.FolderAnnotation = DefaultFolderAnnotation
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ConfigMapName(ini.Name),
			Namespace: ini.Namespace,
			Labels: map[string]string{
				opts.LabelKey:                  opts.LabelValue,
				"app.kubernetes.io/managed-by": "backbone",
				"app.kubernetes.io/part-of":    "backbone",
			},
		},
		Data: map[string]string{ConfigMapKey(ini.Name): string(dashboardJSON)},
	}
	if d := ini.Spec.Dashboard; d != nil && d.Folder != "" {
		cm.Annotations = map[string]string{opts.FolderAnnotation: d.Folder}
	}
	return cm
}

// Enabled reports whether an Initiative wants its dashboard (spec.dashboard.enabled,
// default true).
func Enabled(ini *impactv1.Initiative) bool {
	d := ini.Spec.Dashboard
	return d == nil || d.Enabled == nil || *d.Enabled
}
