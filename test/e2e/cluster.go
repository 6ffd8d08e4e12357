//go:build linux

// Package e2e starts a control plane in which Backbone can be proven end to end without a
// container runtime: kube-apiserver and etcd (envtest), kube-controller-manager running the
// CronJob, Job, garbage-collector and service-account controllers, a process kubelet
// (package kubelet) that runs Pods as local processes of a freshly built backbone binary,
// and a kubeconfig for the kubectl built beside them.
//
// Start it once per test binary, in TestMain; docs/testing.md describes it.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/test/e2e/kubelet"
)

// Version is the version the harness links into the backbone binary it builds.
const Version = "v0.0.0-e2e"

// Controllers are the kube-controller-manager controllers the harness runs.
var Controllers = []string{"cronjob-controller", "job-controller", "garbage-collector-controller", "serviceaccount-controller"}

// ControllerManagerFlags tune kube-controller-manager's client as production control
// planes tune theirs: with its defaults (20 requests a second, bursts of 30) its Job
// controller, which creates each Job's Pod, removes the Pod's tracking finalizer and
// updates the Job's status several times, started ≈ 3.5 Jobs a second and set the pace of
// a fleet of 200 DataSources (docs/performance.md, Operator at scale).
var ControllerManagerFlags = []string{"--kube-api-qps=100", "--kube-api-burst=200"}

// ErrNoControlPlane means the control-plane binaries are not there: tests skip.
var ErrNoControlPlane = errors.New("no test control plane")

// Options configure Start.
type Options struct {
	// Assets is the folder of kube-apiserver, etcd, kube-controller-manager and kubectl
	// (KUBEBUILDER_ASSETS, as hack/controlplane.sh prints it).
	Assets string
	// LogDir receives the logs of the control plane, the kubelet and every container.
	// Empty: a folder in the work directory, removed by Stop.
	LogDir string
	// MaxPods is how many Pods run at once (default 2).
	MaxPods int
	// KubeletEnv (KEY=value) is added to the environment of every Pod's processes: what a
	// node or a workload identity gives a real Pod without its spec naming it, such as the
	// credentials of a store on S3 or the certificate authorities of a test https server
	// (SSL_CERT_FILE).
	KubeletEnv []string
	// WorkRoot holds the work folder (kubeconfigs, the Pods' folders and TempDir's
	// folders, removed by Stop) and the backbone binary, kept per source tree so that
	// go build skips linking it again when nothing changed. Default: backbone/e2e in the user cache folder. Not /tmp:
	// Backbone's Jobs mount an emptyDir at /tmp, and the kubelet rewrites /tmp/... in
	// their args, so a host path handed to a Pod must lie elsewhere.
	WorkRoot string
}

// Cluster is a running control plane with its process kubelet.
type Cluster struct {
	Config     *rest.Config
	Client     client.Client
	Clientset  kubernetes.Interface
	Kubeconfig string // admin kubeconfig file, for kubectl and processes
	Kubectl    string // path of the kubectl binary
	// BackboneBinary is the backbone built from this tree; the kubelet runs it for any
	// container command "backbone" or ".../backbone".
	BackboneBinary string
	// JobBinary is the backbone-job built from this tree, which the Jobs' containers run.
	JobBinary string
	// ManagerBinary is the backbone-manager built from this tree, which runs the manager
	// as the image does.
	ManagerBinary string
	RepoRoot      string
	LogDir        string
	WorkDir       string
	Kubelet       *kubelet.Kubelet

	env         *envtest.Environment
	kcm         *exec.Cmd
	kcmDone     chan error
	stopKubelet context.CancelFunc
	kubeletErr  chan error
	logFiles    []*os.File
	mu          sync.Mutex
	nsCount     int
}

// Start builds backbone, starts the control plane, kube-controller-manager and the
// kubelet, and returns when a Node is Ready and the controllers run. An error wrapping
// ErrNoControlPlane means the binaries are missing.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.Assets == "" {
		return nil, fmt.Errorf("%w: KUBEBUILDER_ASSETS is not set; run `make test-e2e`, or export KUBEBUILDER_ASSETS=$(hack/controlplane.sh)", ErrNoControlPlane)
	}
	for _, b := range []string{"kube-apiserver", "etcd", "kube-controller-manager", "kubectl"} {
		if _, err := os.Stat(filepath.Join(opts.Assets, b)); err != nil {
			return nil, fmt.Errorf("%w: %s is not in KUBEBUILDER_ASSETS=%s; hack/controlplane.sh builds it", ErrNoControlPlane, b, opts.Assets)
		}
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if opts.WorkRoot == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no work folder: %w", err)
		}
		opts.WorkRoot = filepath.Join(cache, "backbone", "e2e")
	}
	if err := os.MkdirAll(opts.WorkRoot, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(opts.WorkRoot, "run-")
	if err != nil {
		return nil, err
	}
	c = &Cluster{RepoRoot: root, WorkDir: work, LogDir: opts.LogDir, Kubectl: filepath.Join(opts.Assets, "kubectl")}
	if c.LogDir == "" {
		c.LogDir = filepath.Join(work, "logs")
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
			c = nil
		}
	}()
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		return c, err
	}

	// Build backbone while the API server starts.
	built := make(chan error, 1)
	go func() { built <- c.buildBackbone(ctx, opts.WorkRoot) }()

	apiLog, err := c.logFile("kube-apiserver.log")
	if err != nil {
		return c, err
	}
	c.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: opts.Assets,
		// envtest's 20 s is not enough for kube-apiserver on two cores shared with builds.
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	c.env.ControlPlane.GetAPIServer().Out = apiLog
	c.env.ControlPlane.GetAPIServer().Err = apiLog
	if c.Config, err = c.env.Start(); err != nil {
		<-built
		return c, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	c.Kubeconfig = filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, c.env.KubeConfig, 0o600); err != nil {
		<-built
		return c, err
	}
	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, impactv1.AddToScheme} {
		if err := add(scheme); err != nil {
			<-built
			return c, err
		}
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: scheme}); err != nil {
		<-built
		return c, err
	}
	if c.Clientset, err = kubernetes.NewForConfig(c.Config); err != nil {
		<-built
		return c, err
	}
	if err := c.startControllerManager(ctx, opts.Assets); err != nil {
		<-built
		return c, err
	}
	if err := <-built; err != nil {
		return c, err
	}
	if err := c.startKubelet(ctx, opts.MaxPods, opts.KubeletEnv); err != nil {
		return c, err
	}
	return c, nil
}

// repoRoot is the folder of go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

func (c *Cluster) logFile(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(c.LogDir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c.logFiles = append(c.logFiles, f)
	return f, nil
}

// buildBackbone builds cmd/backbone, cmd/backbone-job and cmd/backbone-manager into workRoot/bin/<hash of the
// source tree's path>: go build leaves an up-to-date binary as it is, which saves the link
// (tens of seconds on a loaded machine) when the sources did not change.
func (c *Cluster) buildBackbone(ctx context.Context, workRoot string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	sum := sha256.Sum256([]byte(c.RepoRoot))
	dir := filepath.Join(workRoot, "bin", hex.EncodeToString(sum[:8]))
	vpkg := "github.com/backbone-dev/backbone/internal/version"
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", dir+string(filepath.Separator),
		"-ldflags", "-X "+vpkg+".Version="+Version+" -X "+vpkg+".Commit=e2e", "./cmd/backbone", "./cmd/backbone-job", "./cmd/backbone-manager")
	cmd.Dir = c.RepoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building backbone, backbone-job and backbone-manager: %v\n%s", err, b)
	}
	c.BackboneBinary = filepath.Join(dir, "backbone")
	c.JobBinary = filepath.Join(dir, "backbone-job")
	c.ManagerBinary = filepath.Join(dir, "backbone-manager")
	return nil
}

func (c *Cluster) startControllerManager(ctx context.Context, assets string) error {
	user, err := c.env.AddUser(envtest.User{Name: "kcm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("kube-controller-manager user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kube-controller-manager kubeconfig: %w", err)
	}
	kcPath := filepath.Join(c.WorkDir, "kube-controller-manager.kubeconfig")
	if err := os.WriteFile(kcPath, kc, 0o600); err != nil {
		return err
	}
	log, err := c.logFile("kube-controller-manager.log")
	if err != nil {
		return err
	}
	c.kcm = exec.Command(filepath.Join(assets, "kube-controller-manager"), append([]string{
		"--kubeconfig=" + kcPath,
		"--controllers=" + strings.Join(Controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
	}, ControllerManagerFlags...)...)
	c.kcm.Stdout, c.kcm.Stderr = log, log
	// Its own process group, killed with the test binary should that die first.
	c.kcm.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.kcm.Start(); err != nil {
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	c.kcmDone = make(chan error, 1)
	go func() { c.kcmDone <- c.kcm.Wait() }()

	// The service-account controller creating default/default shows the manager is up.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.Clientset.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		select {
		case err := <-c.kcmDone:
			c.kcmDone <- err
			return fmt.Errorf("kube-controller-manager exited (%v); see %s", err, log.Name())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-controller-manager did not create the default ServiceAccount in 60 s; see %s", log.Name())
		}
	}
}

func (c *Cluster) startKubelet(ctx context.Context, maxPods int, env []string) error {
	log, err := c.logFile("kubelet.log")
	if err != nil {
		return err
	}
	var mu sync.Mutex
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(log, "%s %s %s\n", time.Now().UTC().Format("15:04:05.000"), prefix, args)
	}, funcr.Options{})
	// Like a kubelet, the process kubelet talks protobuf to the API server: it then shares
	// the encoding of Pods' watch events with kube-controller-manager instead of adding
	// JSON's, which is several times dearer to encode and decode.
	cfg := rest.CopyConfig(c.Config)
	cfg.ContentType = k8sruntime.ContentTypeProtobuf
	cfg.AcceptContentTypes = k8sruntime.ContentTypeProtobuf + "," + k8sruntime.ContentTypeJSON
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	k, err := kubelet.New(kubelet.Options{
		Client:         cs,
		RootDir:        filepath.Join(c.WorkDir, "pods"),
		LogDir:         filepath.Join(c.LogDir, "pods"),
		Binaries:       map[string]string{"backbone": c.BackboneBinary, "backbone-job": c.JobBinary, "backbone-manager": c.ManagerBinary},
		DefaultCommand: []string{"backbone-manager"}, // the image's entrypoint
		Env:            env,
		MaxPods:        maxPods,
		Log:            logger,
	})
	if err != nil {
		return err
	}
	c.Kubelet = k
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.stopKubelet = cancel
	c.kubeletErr = make(chan error, 1)
	go func() { c.kubeletErr <- k.Run(kctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := c.Clientset.CoreV1().Nodes().Get(ctx, k.NodeName(), metav1.GetOptions{})
		if err == nil && nodeReady(n) {
			return nil
		}
		select {
		case err := <-c.kubeletErr:
			c.kubeletErr <- err
			return fmt.Errorf("kubelet stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not Ready in 30 s", k.NodeName())
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// Stop stops the kubelet (killing its processes), kube-controller-manager and the control
// plane, and removes the work directory (and LogDir when it lies inside it).
func (c *Cluster) Stop() error {
	var errs []error
	if c.stopKubelet != nil {
		c.stopKubelet()
		errs = append(errs, <-c.kubeletErr)
	}
	if c.kcm != nil && c.kcm.Process != nil {
		_ = syscall.Kill(-c.kcm.Process.Pid, syscall.SIGTERM)
		select {
		case <-c.kcmDone:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-c.kcm.Process.Pid, syscall.SIGKILL)
			<-c.kcmDone
		}
	}
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the control plane: %w", err))
		}
	}
	for _, f := range c.logFiles {
		_ = f.Close()
	}
	errs = append(errs, os.RemoveAll(c.WorkDir))
	return errors.Join(errs...)
}

// Namespace creates a namespace for one test, named after it.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.nsCount++
	n := c.nsCount
	c.mu.Unlock()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	name = strings.TrimPrefix(name, "test")
	if len(name) > 40 {
		name = name[:40]
	}
	name = strings.Trim(fmt.Sprintf("e2e-%d-%s", n, name), "-")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// TempDir returns a new folder for the test in the work folder (not under /tmp, see
// Options.WorkRoot), removed when the test ends.
func (c *Cluster) TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp(c.WorkDir, "test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// RunKubectl runs kubectl with the admin kubeconfig in the repository root, so paths
// such as config/samples resolve.
func (c *Cluster) RunKubectl(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, c.Kubectl, append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	cmd.Dir = c.RepoRoot
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), errb.String(), err
}

// KubectlT runs kubectl and returns its stdout; an error fails the test.
func (c *Cluster) KubectlT(t testing.TB, args ...string) string {
	t.Helper()
	out, _, err := c.RunKubectl(t.Context(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// PodLog returns what a container of a Pod wrote (stdout and stderr).
func (c *Cluster) PodLog(t testing.TB, namespace, pod, container string) string {
	t.Helper()
	b, err := os.ReadFile(c.Kubelet.LogPath(namespace, pod, container))
	if err != nil {
		t.Fatalf("log of %s/%s container %s: %v", namespace, pod, container, err)
	}
	return string(b)
}

// Process is a long-running process started by a test, such as `backbone manager`.
type Process struct {
	Cmd     *exec.Cmd
	LogPath string
	done    chan error
}

// StartBackbone runs the built backbone (backbone-manager for the manager command, as the
// image runs it) with args as a local process, with KUBECONFIG
// set to the admin kubeconfig, logging to LogDir/<name>.log; the test's cleanup stops it
// (SIGTERM, then SIGKILL after 10 s).
func (c *Cluster) StartBackbone(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	log, err := os.Create(filepath.Join(c.LogDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	bin := c.BackboneBinary
	if len(args) > 0 && args[0] == "manager" {
		bin = c.ManagerBinary // as the image runs it
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	cmd.Dir = c.RepoRoot
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("starting backbone %s: %v", strings.Join(args, " "), err)
	}
	p := &Process{Cmd: cmd, LogPath: log.Name(), done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); log.Close() }()
	t.Cleanup(func() { p.Stop() })
	return p
}

// Stop ends the process (SIGTERM, SIGKILL after 10 s) and returns how it exited.
func (p *Process) Stop() error {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		err := <-p.done
		p.done <- err
		return err
	}
}

// Kill ends the process at once with SIGKILL, as a crash or a lost node would: no
// shutdown runs. It returns how the process exited; Stop after Kill returns the same.
func (p *Process) Kill() error {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	err := <-p.done
	p.done <- err
	return err
}

// Log returns what the process wrote so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}
