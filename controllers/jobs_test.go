package controllers

import (
	"testing"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
)

// TestSourceSecretsMounted checks that the Secrets a location names are mounted by name,
// read-only, and that nothing else about the pod changes.
func TestSourceSecretsMounted(t *testing.T) {
	ds := &impactv1.DataSource{Spec: impactv1.DataSourceSpec{Location: impactv1.Location{
		HTTP: &impactv1.HTTPLocation{URL: "https://example.org/k.csv", HeadersSecretRef: &impactv1.LocalObjectReference{Name: "ncusd-token"}},
	}}}
	secrets := sourceSecrets(ds)
	if len(secrets) != 1 || secrets[0] != "ncusd-token" {
		t.Fatalf("secrets %v", secrets)
	}
	pod := podTemplate(JobOptions{Image: "img", StoreURL: "file:///s"}, nil, "cm", "ingest", secrets).Spec
	var vol string
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "ncusd-token" {
			vol = v.Name
		}
	}
	if vol == "" {
		t.Fatalf("no volume of Secret ncusd-token: %+v", pod.Volumes)
	}
	found := false
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.Name == vol {
			found = m.MountPath == SecretDir("ncusd-token") && m.ReadOnly
		}
	}
	if !found {
		t.Errorf("Secret volume %s not mounted read-only at %s: %+v", vol, SecretDir("ncusd-token"), pod.Containers[0].VolumeMounts)
	}
	if len(pod.Containers[0].Env) != 0 || len(pod.Containers[0].EnvFrom) != 0 {
		t.Errorf("the Job container has environment variables: %+v %+v", pod.Containers[0].Env, pod.Containers[0].EnvFrom)
	}
}
