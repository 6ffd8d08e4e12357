package chart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The test API server, started once by the first test that needs it and stopped by TestMain.
var (
	apiOnce sync.Once
	apiEnv  *envtest.Environment
	apiCli  client.Client
	apiErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if apiEnv != nil {
		_ = apiEnv.Stop()
	}
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// apiServer returns a client of the real kube-apiserver and etcd (envtest), with the
// Prometheus Operator's minimal CRDs (testdata/monitoring-crds.yaml) installed.
func apiServer(t *testing.T) client.Client {
	t.Helper()
	apiOnce.Do(func() {
		if os.Getenv("KUBEBUILDER_ASSETS") == "" {
			apiErr = fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$(hack/controlplane.sh)")
			return
		}
		scheme := runtime.NewScheme()
		if apiErr = clientgoscheme.AddToScheme(scheme); apiErr != nil {
			return
		}
		if apiErr = apiextensionsv1.AddToScheme(scheme); apiErr != nil {
			return
		}
		apiEnv = &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join("testdata", "monitoring-crds.yaml")},
			ErrorIfCRDPathMissing: true,
			Scheme:                scheme,
		}
		cfg, err := apiEnv.Start()
		if err != nil {
			apiErr = fmt.Errorf("starting the test control plane: %w", err)
			return
		}
		apiCli, apiErr = client.New(cfg, client.Options{Scheme: scheme})
	})
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	return apiCli
}

// ensureNamespaces creates namespaces that do not exist yet.
func ensureNamespaces(ctx context.Context, t *testing.T, c client.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("namespace %s: %v", n, err)
		}
	}
}

// apply applies objs with server-side apply as Helm's field manager; opts add DryRunAll.
func apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, opts ...client.ApplyOption) error {
	opts = append([]client.ApplyOption{client.FieldOwner("helm"), client.ForceOwnership}, opts...)
	for _, o := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), opts...); err != nil {
			return fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// installCRDs applies the chart's CRDs for real and waits until they are established.
func installCRDs(ctx context.Context, t *testing.T, c client.Client, r *rendered) {
	t.Helper()
	crds := r.find("CustomResourceDefinition")
	if err := apply(ctx, c, crds); err != nil {
		t.Fatal(err)
	}
	for _, u := range crds {
		deadline := time.Now().Add(30 * time.Second)
		for {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: u.GetName()}, &crd); err != nil {
				t.Fatal(err)
			}
			established := false
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if established {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not established after 30s", crd.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestDryRunApply applies every object the chart renders, for each values of the matrix, to a
// real API server with a server-side dry run: the API server's validation (schemas of the
// built-in kinds and of the CRDs, RBAC references, field names) accepts all of it. The
// chart's CRDs are applied for real first.
func TestDryRunApply(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	installCRDs(ctx, t, c, mustRender(t, "backbone", "backbone-system", values("store.url", storeURL)))
	for _, mc := range matrix() {
		t.Run(mc.name, func(t *testing.T) {
			r := mustRender(t, mc.release, mc.namespace, mc.vals)
			namespaces := []string{mc.namespace}
			if ws, ok := mc.vals["watchNamespaces"].([]any); ok {
				for _, w := range ws {
					namespaces = append(namespaces, w.(string))
				}
			}
			ensureNamespaces(ctx, t, c, namespaces...)
			if err := apply(ctx, c, r.Objects, client.DryRunAll); err != nil {
				t.Errorf("dry run: %v", err)
			}
		})
	}
	// The dry run really validates: a Deployment the API server refuses is refused.
	r := mustRender(t, "backbone", "backbone-system", values("store.url", storeURL))
	d := r.one(t, "Deployment").DeepCopy()
	_ = unstructured.SetNestedField(d.Object, "not-a-number", "spec", "replicas")
	if err := apply(ctx, c, []*unstructured.Unstructured{d}, client.DryRunAll); err == nil {
		t.Error("the API server accepted a Deployment with replicas \"not-a-number\"")
	}
}

// TestTwoRegions installs two namespace-scoped releases, region-north (with the CRDs) and
// region-south (crds.enabled=false), on a real API server, and asks the API server's
// authorizer (SubjectAccessReview) what each manager's ServiceAccount may do: its own
// namespaces' resources and Lease, but no Secrets, nothing of the other region, and nothing
// cluster-wide.
func TestTwoRegions(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	type region struct {
		release, ns string
		watch       []string
		vals        map[string]any
	}
	north := region{"region-north", "backbone-north", []string{"north-county", "north-city"}, nil}
	south := region{"region-south", "backbone-south", []string{"south-county"}, nil}
	north.vals = values("store.url", storeURL, "region", "north", "watchNamespaces", []any{"north-county", "north-city"})
	south.vals = values("store.url", storeURL, "region", "south", "watchNamespaces", []any{"south-county"}, "crds.enabled", false)
	for _, rg := range []region{north, south} {
		r := mustRender(t, rg.release, rg.ns, rg.vals)
		ensureNamespaces(ctx, t, c, append([]string{rg.ns}, rg.watch...)...)
		installCRDs(ctx, t, c, r)
		if err := apply(ctx, c, r.Objects); err != nil {
			t.Fatalf("installing %s: %v", rg.release, err)
		}
	}
	// Both Deployments, ServiceAccounts and Leases exist side by side.
	for _, rg := range []region{north, south} {
		var sa corev1.ServiceAccount
		if err := c.Get(ctx, client.ObjectKey{Namespace: rg.ns, Name: rg.release + "-backbone-manager"}, &sa); err != nil {
			t.Errorf("%s: %v", rg.release, err)
		}
	}

	can := func(rg region, verb, group, resource, ns string) bool {
		t.Helper()
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + rg.ns + ":" + rg.release + "-backbone-manager",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + rg.ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: verb, Group: group, Resource: resource,
			},
		}}
		if err := c.Create(ctx, sar); err != nil {
			t.Fatalf("SubjectAccessReview: %v", err)
		}
		return sar.Status.Allowed
	}
	for _, chk := range []struct {
		rg                        region
		verb, group, resource, ns string
		want                      bool
	}{
		{north, "list", "impact.backbone.dev", "initiatives", "north-county", true},
		{north, "patch", "impact.backbone.dev", "indicators/status", "north-city", true},
		{north, "create", "batch", "jobs", "north-county", true},
		{north, "update", "coordination.k8s.io", "leases", "backbone-north", true},
		{south, "watch", "impact.backbone.dev", "datasources", "south-county", true},
		{south, "update", "coordination.k8s.io", "leases", "backbone-south", true},
		// No Secrets, anywhere.
		{north, "get", "", "secrets", "north-county", false},
		{north, "list", "", "secrets", "backbone-north", false},
		{south, "get", "", "secrets", "south-county", false},
		// Nothing of the other region.
		{north, "list", "impact.backbone.dev", "initiatives", "south-county", false},
		{north, "create", "batch", "jobs", "south-county", false},
		{north, "create", "", "configmaps", "south-county", false},
		{north, "update", "coordination.k8s.io", "leases", "backbone-south", false},
		{south, "list", "impact.backbone.dev", "initiatives", "north-county", false},
		{south, "create", "batch", "cronjobs", "north-city", false},
		{south, "update", "coordination.k8s.io", "leases", "backbone-north", false},
		// Nothing cluster-wide, nor in namespaces neither watches.
		{north, "list", "impact.backbone.dev", "initiatives", "", false},
		{south, "list", "batch", "jobs", "", false},
		{north, "list", "impact.backbone.dev", "initiatives", "default", false},
	} {
		if got := can(chk.rg, chk.verb, chk.group, chk.resource, chk.ns); got != chk.want {
			t.Errorf("%s may %s %s.%s in %q: %v, want %v", chk.rg.release, chk.verb, chk.resource, chk.group, chk.ns, got, chk.want)
		}
	}
}
