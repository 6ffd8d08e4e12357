package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/plan"
)

// TestSourceMountsMatchThePlan checks, for every location kind, that each file the compiled
// ingestion plan reads from a Secret or a ConfigMap is under a folder the Job pod mounts
// from that object, by name and read-only, and that the container has no environment.
func TestSourceMountsMatchThePlan(t *testing.T) {
	ini := &impactv1.Initiative{ObjectMeta: metav1.ObjectMeta{Name: "ini", Namespace: "ns"}, Spec: impactv1.InitiativeSpec{
		DisplayName: "I", TimeZone: "UTC",
		Partners: []impactv1.Partner{{Name: "p", DisplayName: "P", Sector: "Nonprofit"}},
	}}
	ref := &impactv1.LocalObjectReference{Name: "ncusd-token"}
	for _, c := range []struct {
		loc       impactv1.Location
		object    string // the Secret or ConfigMap
		configMap bool
		file      func(f *spec.Fetch) string // a path the plan reads from it
	}{
		{impactv1.Location{HTTP: &impactv1.HTTPLocation{URL: "https://example.org/k.csv", HeadersSecretRef: ref}},
			"ncusd-token", false, func(f *spec.Fetch) string { return f.HeadersDir + "/Authorization" }},
		{impactv1.Location{ObjectStore: &impactv1.ObjectStoreLocation{URL: "s3://b/k.csv", CredentialsSecretRef: ref}},
			"ncusd-token", false, func(f *spec.Fetch) string { return f.CredentialsDir + "/accessKeyId" }},
		{impactv1.Location{Postgres: &impactv1.PostgresLocation{DSNSecretRef: impactv1.SecretKeyReference{Name: "db", Key: "dsn"}, Query: "select 1"}},
			"db", false, func(f *spec.Fetch) string { return f.DSNFile }},
		{impactv1.Location{ConfigMap: &impactv1.ConfigMapLocation{Name: "small-table", Key: "t.csv"}},
			"small-table", true, func(f *spec.Fetch) string { return f.File }},
	} {
		ds := &impactv1.DataSource{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"}, Spec: impactv1.DataSourceSpec{
			InitiativeRef: impactv1.LocalObjectReference{Name: "ini"}, Partner: "p", Format: "CSV", Location: c.loc,
			Schema: impactv1.Schema{Columns: []impactv1.Column{{Name: "n", Type: "Integer"}}},
		}}
		p, err := plan.Ingest(ini, ds, plan.IngestOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.object, err)
		}
		file := c.file(p.Fetch)
		pod := podTemplate(JobOptions{Image: "img", StoreURL: "file:///s"}, nil, "cm", "ingest", sourceMountsOf(ds)).Spec
		vols := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			vols[v.Name] = v
		}
		found := false
		for _, m := range pod.Containers[0].VolumeMounts {
			v := vols[m.Name]
			named := (c.configMap && v.ConfigMap != nil && v.ConfigMap.Name == c.object) ||
				(!c.configMap && v.Secret != nil && v.Secret.SecretName == c.object)
			if named && m.ReadOnly && strings.HasPrefix(file, m.MountPath+"/") {
				found = true
			}
		}
		if !found {
			t.Errorf("the plan reads %s, which no read-only mount of %s holds: %+v", file, c.object, pod.Containers[0].VolumeMounts)
		}
		if len(pod.Containers[0].Env) != 0 || len(pod.Containers[0].EnvFrom) != 0 {
			t.Errorf("the Job container has environment variables: %+v %+v", pod.Containers[0].Env, pod.Containers[0].EnvFrom)
		}
	}
}
