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

// TestStoreCredentialsSecret checks that with a store credentials Secret every Job pod (the
// ingestion CronJob's and the aggregation Job's) gets that Secret, by name, as environment
// variables and as read-only files, besides the source's own mounts; and that without one
// the pod has neither.
func TestStoreCredentialsSecret(t *testing.T) {
	src := sourceMounts{secrets: []string{"ncusd-token"}}
	opts := JobOptions{Image: "img", StoreURL: "s3://bucket/backbone?region=eu-west-1", StoreCredentialsSecret: "backbone-store"}
	for _, command := range []string{"ingest", "aggregate"} {
		pod := podTemplate(opts, nil, "cm", command, src).Spec
		c := pod.Containers[0]
		if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "backbone-store" ||
			c.EnvFrom[0].ConfigMapRef != nil || c.EnvFrom[0].Prefix != "" || c.EnvFrom[0].SecretRef.Optional != nil {
			t.Errorf("%s: envFrom %+v, want the Secret backbone-store's keys", command, c.EnvFrom)
		}
		if len(c.Env) != 0 {
			t.Errorf("%s: env %+v", command, c.Env)
		}
		vols := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			vols[v.Name] = v
		}
		var store, source bool
		for _, m := range c.VolumeMounts {
			v := vols[m.Name]
			if v.Secret == nil {
				continue
			}
			if !m.ReadOnly {
				t.Errorf("%s: Secret %s mounted read-write", command, v.Secret.SecretName)
			}
			switch {
			case v.Secret.SecretName == "backbone-store" && m.MountPath == StoreCredentialsDir:
				store = true
			case v.Secret.SecretName == "ncusd-token" && m.MountPath == SecretDir("ncusd-token"):
				source = true
			}
		}
		if !store || !source {
			t.Errorf("%s: mounts %+v lack the store's Secret at %s (%v) or the source's (%v)", command, c.VolumeMounts, StoreCredentialsDir, store, source)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: the ServiceAccount token is mounted", command)
		}
	}
	opts.StoreCredentialsSecret = ""
	pod := podTemplate(opts, nil, "cm", "aggregate", sourceMounts{}).Spec
	if len(pod.Containers[0].EnvFrom) != 0 {
		t.Errorf("envFrom %+v without a store credentials Secret", pod.Containers[0].EnvFrom)
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			t.Errorf("Secret volume %s without a store credentials Secret", v.Secret.SecretName)
		}
	}
}
