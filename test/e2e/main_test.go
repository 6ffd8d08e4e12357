//go:build linux

package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

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
	c, err := e2e.Start(context.Background(), e2e.Options{Assets: os.Getenv("KUBEBUILDER_ASSETS"), LogDir: dir, MaxPods: maxPods})
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

// cl returns the cluster, or skips the test when there is no control plane.
func cl(t *testing.T) *e2e.Cluster {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return cluster
}
