package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/backbone-dev/backbone/config/crd"
	"github.com/backbone-dev/backbone/internal/store"
)

// TestManagerCommand starts `backbone manager` against a real API server, waits for its
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
	defer env.Stop()
	user, err := env.AddUser(envtest.User{Name: "manager", Groups: []string{"system:masters"}}, nil)
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
	t.Setenv("KUBECONFIG", kc)
	storeURL, _ := store.FileURL(t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	probes := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCommand()
	cmd.SetArgs([]string{"manager", "--store", storeURL, "--metrics-bind-address", "0", "--health-probe-bind-address", probes,
		"--watch-namespaces", "a,b", "--allow-file-locations", "--zap-log-level", "error"})
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
