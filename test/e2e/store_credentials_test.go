//go:build linux

package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/testserver"
)

// TestOperatorStoreCredentials runs the operator on an S3-compatible store that checks
// every request's signature and accepts writes only when signed with the access key of the
// Secret --store-credentials-secret names. The manager (which only reads the store) and
// every Pod's process have another key in their environment, as a node or workload
// identity would give them: the ingestion and aggregation Jobs writing their snapshot and
// result to the bucket, and the Indicator becoming Ready, show the Secret reaching every
// Job pod and taking precedence over that environment.
func TestOperatorStoreCredentials(t *testing.T) {
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	// NewS3 sets AWS_ACCESS_KEY_ID=backbone (and the secret key and region) in this
	// process's environment, which the manager's process inherits.
	s3 := testserver.NewS3(t, "results")
	const writerID, writerSecret = "store-writer", "store-writer-secret"
	s3.AccessKeys = map[string]string{testserver.S3AccessKeyID: testserver.S3SecretAccessKey, writerID: writerSecret}
	var refused atomic.Int64
	s3.Fail = func(r *http.Request) bool {
		if r.Method == http.MethodGet || r.Method == http.MethodHead ||
			strings.Contains(r.Header.Get("Authorization"), "Credential="+writerID+"/") {
			return false
		}
		refused.Add(1)
		return true
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "store-credentials"}, StringData: map[string]string{
		"AWS_ACCESS_KEY_ID": writerID, "AWS_SECRET_ACCESS_KEY": writerSecret, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
	}}
	if err := c.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	mgr := c.StartBackbone(t, "manager-"+ns, "manager",
		"--store", s3.StoreURL("results"), "--store-credentials-secret", "store-credentials",
		"--allow-file-locations", "--file-root", samplesDir(c),
		"--watch-namespaces", ns,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
	)
	for _, f := range []string{"initiative.yaml", "datasource-ncusd-kindergarten.yaml", "indicator-readiness-score.yaml"} {
		c.KubectlT(t, "apply", "-f", "config/samples/"+f, "-n", ns)
	}
	c.KubectlT(t, "annotate", "datasource/ncusd-kindergarten", "-n", ns, impactv1.RequestedAtAnnotation+"=2026-12-05T15:00:00Z")
	if _, _, err := c.RunKubectl(ctx, "wait", "--for=condition=Ready", "indicator/readiness-score", "-n", ns, "--timeout=180s"); err != nil {
		describe(t, c, ns)
		t.Fatalf("%v (%d requests refused)\nmanager log: %s", err, refused.Load(), mgr.LogPath)
	}

	var jobs batchv1.JobList
	if err := c.Client.List(ctx, &jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, j := range jobs.Items {
		kinds[j.Labels["app.kubernetes.io/component"]] = true
		ef := j.Spec.Template.Spec.Containers[0].EnvFrom
		if len(ef) != 1 || ef[0].SecretRef == nil || ef[0].SecretRef.Name != "store-credentials" {
			t.Errorf("Job %s: envFrom %+v", j.Name, ef)
		}
	}
	if len(kinds) != 2 {
		t.Errorf("Jobs of kinds %v, want an ingestion and an aggregation", kinds)
	}
	keys, err := s3.Keys("results")
	if err != nil {
		t.Fatal(err)
	}
	prefix := ns + "/ready-by-five/"
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, prefix+"sources/ncusd-kindergarten/") }) ||
		!slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, prefix+"results/") }) {
		t.Errorf("the bucket lacks the snapshot or the result under %s: %v", prefix, keys)
	}
}
