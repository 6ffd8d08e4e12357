//go:build linux

package e2e_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/backbone-dev/backbone/internal/testserver"
	"github.com/backbone-dev/backbone/test/e2e"
)

// LogDirEnv names a folder that keeps the logs of the control plane, the kubelet and every
// container; by default they go to a temporary folder kept only when a test fails.
const LogDirEnv = "BACKBONE_E2E_LOGS"

// MaxPodsEnv sets how many Pods the process kubelet runs at once (default 3);
// `make bench-operator` raises it, as a cluster of several nodes would.
const MaxPodsEnv = "BACKBONE_E2E_MAX_PODS"

var (
	cluster    *e2e.Cluster
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir := os.Getenv(LogDirEnv)
	keep := dir != ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "backbone-e2e-logs-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// controller-runtime (envtest) logs where the rest of the harness does.
	envtestLog, err := os.Create(filepath.Join(dir, "envtest.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer envtestLog.Close()
	ctrllog.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(envtestLog, prefix, args) }, funcr.Options{}))
	maxPods := 3
	if v := os.Getenv(MaxPodsEnv); v != "" {
		if maxPods, err = strconv.Atoi(v); err != nil || maxPods < 1 {
			fmt.Fprintf(os.Stderr, "%s=%q: want a number of Pods, 1 or more\n", MaxPodsEnv, v)
			return 1
		}
	}
	start := time.Now()
	// The Pods' processes trust the certificate of the tests' https servers and sign S3
	// requests with the test S3 server's store key, as a node's CA bundle and a workload
	// identity would give them.
	ca, err := testCA(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := append(testserver.S3Env(), "SSL_CERT_FILE="+ca)
	c, err := e2e.Start(context.Background(), e2e.Options{Assets: os.Getenv("KUBEBUILDER_ASSETS"), LogDir: dir, MaxPods: maxPods, KubeletEnv: env})
	if errors.Is(err, e2e.ErrNoControlPlane) {
		_ = os.RemoveAll(dir)
		skipReason = err.Error()
		return m.Run()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the e2e cluster: %v\nlogs in %s\n", err, dir)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: backbone built, control plane, kube-controller-manager and kubelet ready in %.1f s\n", time.Since(start).Seconds())
	cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the e2e cluster: %v\n", err)
	}
	if code == 0 && !keep {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: logs kept in %s\n", dir)
	}
	return code
}

// testCA writes the certificate every httptest TLS server presents (one built into
// net/http/httptest, for 127.0.0.1 and example.com) as a PEM file in dir.
func testCA(dir string) (string, error) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	cert := srv.Certificate()
	srv.Close()
	p := filepath.Join(dir, "httptest-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return "", fmt.Errorf("writing the test servers' certificate: %w", err)
	}
	return p, nil
}

// cl returns the cluster, or skips the test when there is no control plane.
func cl(t *testing.T) *e2e.Cluster {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return cluster
}
