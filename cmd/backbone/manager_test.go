package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/backbone-dev/backbone/config/crd"
	"github.com/backbone-dev/backbone/internal/store"
)

// TestManagerCommand checks that the API server accepts config/default, then starts
// `backbone manager` against it, waits for its
// readiness probe, and checks that cancelling its context (what SIGTERM does) stops it
// cleanly.
func TestManagerCommand(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(hack/controlplane.sh)")
	}
	crds, err := crd.Load()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{CRDInstallOptions: envtest.CRDInstallOptions{CRDs: crds}}
	if _, err := env.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	admin := writeKubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})
	// config/default is what `kubectl apply -k` installs: the API server accepts all of it.
	kubectl := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), append([]string{"--kubeconfig", admin}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := kubectl("apply", "-k", "../../config/default"); err != nil {
		t.Fatalf("kubectl apply -k config/default: %v\n%s", err, out)
	}
	// An Initiative in a watched namespace and one in another.
	for _, ns := range []string{"a", "c"} {
		if out, err := kubectl("create", "namespace", ns); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if out, err := kubectl("apply", "-n", ns, "-f", "../../config/samples/initiative.yaml"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	// The manager runs as the ServiceAccount config/default binds to the generated role.
	t.Setenv("KUBECONFIG", writeKubeconfig(t, env, envtest.User{Name: "system:serviceaccount:backbone-system:backbone-manager"}))
	storeURL, _ := store.FileURL(t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	probes := l.Addr().String()
	l.Close()
	results, pages := freeAddr(t), freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCommand()
	cmd.SetArgs([]string{"manager", "--store", storeURL, "--metrics-bind-address", "0", "--health-probe-bind-address", probes,
		"--watch-namespaces", "a,b", "--leader-elect", "--leader-election-namespace", "backbone-system", "--allow-file-locations", "--zap-log-level", "error",
		"--results-metrics-bind-address", results, "--report-bind-address", pages, "--region", "test"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + probes + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case err := <-done:
			t.Fatalf("the manager exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("ready after %s", time.Since(deadline.Add(-30*time.Second)))
	// It becomes the leader: the role lets it hold the Lease.
	for {
		out, err := kubectl("get", "lease", "-n", "backbone-system", "backbone.impact.backbone.dev", "-o", "jsonpath={.spec.holderIdentity}")
		if err == nil && out != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader Lease: %v %s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// It reconciles the watched namespace only.
	for {
		out, err := kubectl("get", "initiative", "-n", "a", "ready-by-five", "-o", "jsonpath={.status.partners}")
		if err == nil && out == "6" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Initiative of a watched namespace has no status: %v %q", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := kubectl("get", "initiative", "-n", "c", "ready-by-five", "-o", "jsonpath={.status}"); err != nil || out != "" {
		t.Errorf("the Initiative of a namespace not watched has status %q (%v)", out, err)
	}
	// The metrics of the results and the community pages are served on their own
	// addresses (nothing is computed yet: an empty exposition, an index without pages).
	for _, u := range []string{"http://" + results + "/metrics", "http://" + pages + "/"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, resp.Status)
		}
	}
	stopAt := time.Now()
	cancel()
	defer func() { t.Logf("stopped in %s", time.Since(stopAt)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the manager stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not stop within 30 s of its context's end")
	}
}

// writeKubeconfig writes a kubeconfig of a new user of env and returns its path.
func writeKubeconfig(t *testing.T, env *envtest.Environment, u envtest.User) string {
	t.Helper()
	user, err := env.AddUser(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}

// freeAddr returns a local address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// --grafana-instance-selector must be key=value labels, and at least one with
// --grafana-dashboard-crs; it is checked before the manager connects to anything.
func TestManagerGrafanaSelector(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--grafana-instance-selector", "dashboards"}, `--grafana-instance-selector "dashboards"`},
		{[]string{"--grafana-dashboard-crs", "--grafana-instance-selector", ""}, "a GrafanaDashboard needs an instanceSelector"},
	} {
		cmd := newRootCommand()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(append([]string{"manager", "--store", "mem://"}, tc.args...))
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("manager %v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// The pipeline's commands recycle Arrow's buffers; the long-running manager does not keep
// released buffers resident.
func TestRecyclingAllocatorNotForTheManager(t *testing.T) {
	root := newRootCommand()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"manager"}, false},
		{[]string{"local"}, true},
		{[]string{"ingest"}, true},
		{[]string{"aggregate"}, true},
		{[]string{"version"}, true},
	} {
		cmd, _, err := root.Find(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := recyclesBuffers(cmd); got != tc.want {
			t.Errorf("%s: recycles buffers %v, want %v", cmd.Name(), got, tc.want)
		}
	}
}
