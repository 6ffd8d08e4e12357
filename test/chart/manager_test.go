package chart

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// TestManagerAsRendered runs the real `backbone manager` with the args of the Deployment the
// chart renders for a namespace-scoped release (only --store and the listen addresses
// replaced), authenticated as the release's ServiceAccount, so with exactly the chart's
// RBAC: it becomes ready, takes the Lease the chart names in the release's namespace,
// reconciles an Initiative in a watched namespace and leaves one in another alone. The
// release has the community pages (served, on the rendered --report-bind-address's
// replacement), a store credentials Secret, custom dashboard labels and a cell size floor of
// 5 (an Initiative below it is Stalled) and GrafanaDashboards on, so every flag these values render is one the
// manager knows.
func TestManagerAsRendered(t *testing.T) {
	c := apiServer(t)
	ctx := context.Background()
	const release, ns = "region-east", "backbone-east"
	r := mustRender(t, release, ns, values("store.url", storeURL, "region", "east", "watchNamespaces", []any{"east-county"},
		"minCellSize", 5, "store.credentialsSecret", "backbone-store", "report.enabled", true,
		"report.ingress.enabled", true, "report.ingress.host", "impact.example.org", "report.ingress.tls.enabled", true,
		"grafana.dashboards.label", "dashboards", "grafana.dashboards.labelValue", "backbone", "grafana.dashboards.folderAnnotation", "folder",
		"grafana.dashboardCRs.enabled", true))
	for _, flag := range []string{"min-cell-size-floor", "store-credentials-secret", "report-bind-address", "report-url", "dashboard-label", "dashboard-label-value", "dashboard-folder-annotation", "grafana-dashboard-crs"} {
		if _, ok := arg(r.managerArgs(t), flag); !ok {
			t.Fatalf("the chart renders no --%s: %v", flag, r.managerArgs(t))
		}
	}
	ensureNamespaces(ctx, t, c, ns, "east-county", "west-county")
	installCRDs(ctx, t, c, r)
	if err := apply(ctx, c, r.Objects); err != nil {
		t.Fatalf("installing %s: %v", release, err)
	}
	sample, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", "initiative.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"east-county", "west-county", "east-county/below-floor"} {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(sample, &u.Object); err != nil {
			t.Fatal(err)
		}
		if ns, name, ok := strings.Cut(target, "/"); ok {
			target = ns
			u.SetName(name)
			_ = unstructured.SetNestedField(u.Object, int64(3), "spec", "equity", "minCellSize")
		}
		u.SetNamespace(target)
		if err := c.Create(ctx, u); err != nil {
			t.Fatalf("Initiative in %s: %v", target, err)
		}
	}

	bin := backboneBinary(t)
	user, err := apiEnv.AddUser(envtest.User{Name: "system:serviceaccount:" + ns + ":" + release + "-backbone-manager"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	probes := l.Addr().String()
	l.Close()
	if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	pages := l.Addr().String()
	l.Close()

	// The kubelet expands $(BACKBONE_MEMORY_LIMIT) to the container's memory limit in bytes
	// (the downward API's limits.memory): 512Mi by default.
	env, _, _ := unstructured.NestedSlice(r.managerContainer(t), "env")
	if got := fmt.Sprint(env); !strings.Contains(got, "name:BACKBONE_MEMORY_LIMIT") || !strings.Contains(got, "resource:limits.memory") {
		t.Errorf("the manager's env has no BACKBONE_MEMORY_LIMIT from limits.memory: %s", got)
	}
	if v, ok := arg(r.managerArgs(t), "memory-limit"); !ok || v != "$(BACKBONE_MEMORY_LIMIT)" {
		t.Errorf("--memory-limit=%q (%v), want $(BACKBONE_MEMORY_LIMIT)", v, ok)
	}
	var args []string
	for _, a := range r.managerArgs(t) {
		switch {
		case a == "--memory-limit=$(BACKBONE_MEMORY_LIMIT)":
			a = "--memory-limit=536870912"
		case strings.HasPrefix(a, "--store="):
			a = "--store=file://" + filepath.ToSlash(t.TempDir())
		case strings.HasPrefix(a, "--metrics-bind-address="):
			a = "--metrics-bind-address=0"
		case strings.HasPrefix(a, "--results-metrics-bind-address="):
			a = "--results-metrics-bind-address=0"
		case strings.HasPrefix(a, "--health-probe-bind-address="):
			a = "--health-probe-bind-address=" + probes
		case strings.HasPrefix(a, "--report-bind-address="):
			a = "--report-bind-address=" + pages
		}
		args = append(args, a)
	}
	var logs strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the manager stopped with %v\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the manager did not stop within 30 s of SIGTERM")
		}
	}()

	deadline := time.Now().Add(60 * time.Second)
	wait := func(what string, ok func() (bool, error)) {
		t.Helper()
		for {
			done, err := ok()
			if done {
				return
			}
			select {
			case err := <-exited:
				t.Fatalf("the manager exited (%v) while waiting for %s:\n%s", err, what, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v\n%s", what, err, logs.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	wait("/readyz", func() (bool, error) {
		resp, err := http.Get("http://" + probes + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("status %s", resp.Status)
	})
	wait("the leader Lease", func() (bool, error) {
		var lease coordinationv1.Lease
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: release + "-backbone.impact.backbone.dev"}, &lease)
		return err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "", err
	})
	wait("the community pages", func() (bool, error) {
		resp, err := http.Get("http://" + pages + "/")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("status %s", resp.Status)
	})
	statusOf := func(target, name string) (map[string]any, error) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("impact.backbone.dev/v1alpha1")
		u.SetKind("Initiative")
		err := c.Get(ctx, client.ObjectKey{Namespace: target, Name: name}, u)
		s, _, _ := unstructured.NestedMap(u.Object, "status")
		return s, err
	}
	status := func(target string) (map[string]any, error) { return statusOf(target, "ready-by-five") }
	wait("the Initiative below the floor Stalled", func() (bool, error) {
		s, err := statusOf("east-county", "below-floor")
		conds, _, _ := unstructured.NestedSlice(s, "conditions")
		for _, cond := range conds {
			m := cond.(map[string]any)
			if m["type"] == "Stalled" && m["status"] == "True" {
				msg := fmt.Sprint(m["message"])
				return strings.Contains(msg, "spec.equity.minCellSize") && strings.Contains(msg, "below the floor of 5"), fmt.Errorf("Stalled: %s", msg)
			}
		}
		return false, fmt.Errorf("conditions %v (%v)", conds, err)
	})
	wait("the watched namespace's Initiative's status", func() (bool, error) {
		s, err := status("east-county")
		return err == nil && fmt.Sprint(s["partners"]) == "6", err
	})
	if s, err := status("west-county"); err != nil || len(s) != 0 {
		t.Errorf("the Initiative of a namespace not watched has status %v (%v)", s, err)
	}
	if strings.Contains(logs.String(), "forbidden") {
		t.Errorf("the manager was refused something under the chart's RBAC:\n%s", logs.String())
	}
}

// The backbone binary, built once from ./cmd/backbone by the first test that needs it.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func backboneBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "backbone-chart-test-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "backbone")
		build := exec.Command("go", "build", "-o", binPath, "./cmd/backbone")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/backbone: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// managerFlags returns the flags `backbone manager --help` lists.
func managerFlags(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command(backboneBinary(t), "manager", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("backbone manager --help: %v\n%s", err, out)
	}
	flags := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if name, ok := strings.CutPrefix(f, "--"); ok && name != "" {
				flags[strings.TrimRight(name, ",")] = true
			}
		}
	}
	if !flags["store"] || !flags["leader-elect"] {
		t.Fatalf("backbone manager --help lists no --store or --leader-elect:\n%s", out)
	}
	return flags
}
