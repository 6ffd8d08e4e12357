//go:build linux

package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// hostIP is the address of the node and of every Pod: processes share the host's network.
const hostIP = "127.0.0.1"

// Options configure a Kubelet.
type Options struct {
	// Client talks to the API server; it needs to read and bind Pods, write their status,
	// delete them, read ConfigMaps and Secrets, and write its Node.
	Client kubernetes.Interface
	// NodeName is the Node registered and bound to (default "process-kubelet").
	NodeName string
	// RootDir holds a folder per Pod: its volumes, HOME, TMPDIR and working directory.
	RootDir string
	// LogDir holds one log file per container (default RootDir/logs).
	LogDir string
	// Binaries maps a command name to a local binary: a command whose first element is the
	// name, or a path ending in "/name", runs the binary.
	Binaries map[string]string
	// DefaultCommand runs, followed by the args, for a container that has no command:
	// the image's entrypoint.
	DefaultCommand []string
	// Env (KEY=value) is added to every process's environment; a container's own env wins.
	Env []string
	// MaxPods is how many Pods run at once (default 2); the others wait, Pending.
	MaxPods int
	// MaxGrace caps the time between SIGTERM and SIGKILL for a deleted Pod (default 10 s).
	MaxGrace time.Duration
	// Log receives what the kubelet does, one line per step of a Pod.
	Log logr.Logger
}

// Kubelet runs the Pods bound to its Node as local processes. See the package comment.
type Kubelet struct {
	opts   Options
	client kubernetes.Interface
	queue  workqueue.TypedRateLimitingInterface[string]
	pods   corelisters.PodLister
	slots  chan struct{}

	mu       sync.Mutex
	runs     map[types.UID]*podRun
	finished map[types.UID]bool
	wg       sync.WaitGroup
}

type podRun struct {
	namespace, name string
	cancel          context.CancelCauseFunc
}

var (
	errDeleted  = errors.New("the Pod was deleted")
	errShutdown = errors.New("the kubelet is stopping")
	errDeadline = errors.New("the Pod passed its activeDeadlineSeconds")
)

// New checks opts and returns a Kubelet; Run starts it.
func New(opts Options) (*Kubelet, error) {
	if opts.Client == nil {
		return nil, errors.New("kubelet: Options.Client is nil")
	}
	if opts.RootDir == "" {
		return nil, errors.New("kubelet: Options.RootDir is empty")
	}
	if opts.NodeName == "" {
		opts.NodeName = "process-kubelet"
	}
	if opts.LogDir == "" {
		opts.LogDir = filepath.Join(opts.RootDir, "logs")
	}
	if opts.MaxPods <= 0 {
		opts.MaxPods = 2
	}
	if opts.MaxGrace <= 0 {
		opts.MaxGrace = 10 * time.Second
	}
	for _, d := range []string{opts.RootDir, opts.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("kubelet: %w", err)
		}
	}
	return &Kubelet{
		opts:     opts,
		client:   opts.Client,
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		slots:    make(chan struct{}, opts.MaxPods),
		runs:     map[types.UID]*podRun{},
		finished: map[types.UID]bool{},
	}, nil
}

// NodeName is the name of the Node the kubelet registers.
func (k *Kubelet) NodeName() string { return k.opts.NodeName }

// LogPath is the log file of a container of a Pod (stdout and stderr together; every run
// of a Pod of that name appends to it).
func (k *Kubelet) LogPath(namespace, pod, container string) string {
	return filepath.Join(k.opts.LogDir, namespace+"_"+pod+"_"+container+".log")
}

// Run registers the Node, then binds and runs Pods until ctx is done; it then kills the
// processes still running (their Pods' status is left as it is) and returns.
func (k *Kubelet) Run(ctx context.Context) error {
	if err := k.registerNode(ctx); err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(k.client, 0)
	informer := factory.Core().V1().Pods()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return fmt.Errorf("kubelet: watching Pods: %w", err)
	}
	k.pods = informer.Lister()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("kubelet: %v cache did not sync", typ)
		}
	}
	k.opts.Log.Info("node ready", "node", k.opts.NodeName)

	var workers sync.WaitGroup
	for range 2 {
		workers.Go(func() {
			for k.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	k.queue.ShutDown()
	workers.Wait()
	k.mu.Lock()
	for _, r := range k.runs {
		r.cancel(errShutdown)
	}
	k.mu.Unlock()
	k.wg.Wait()
	return nil
}

func (k *Kubelet) registerNode(ctx context.Context) error {
	nodes := k.client.CoreV1().Nodes()
	node, err := nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: k.opts.NodeName,
		Labels: map[string]string{
			"kubernetes.io/hostname": k.opts.NodeName,
			"kubernetes.io/os":       runtime.GOOS,
			"kubernetes.io/arch":     runtime.GOARCH,
		},
	}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		node, err = nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("kubelet: registering node %s: %w", k.opts.NodeName, err)
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(k.opts.MaxPods), resource.DecimalSI),
	}
	node.Status = corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "process kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
		}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: hostIP}, {Type: corev1.NodeHostName, Address: k.opts.NodeName}},
		NodeInfo: corev1.NodeSystemInfo{
			OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
			KubeletVersion: "v0.0.0-process", ContainerRuntimeVersion: "process://",
		},
	}
	if _, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("kubelet: node %s status: %w", k.opts.NodeName, err)
	}
	return nil
}

func (k *Kubelet) processNext(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			k.opts.Log.Error(err, "syncing pod", "pod", key)
		}
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

// sync brings one Pod forward: bind it, start it, or stop it.
func (k *Kubelet) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pod, err := k.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		k.mu.Lock()
		for _, r := range k.runs {
			if r.namespace == ns && r.name == name {
				r.cancel(errDeleted)
			}
		}
		k.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		if pod.DeletionTimestamp != nil || (pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName) {
			return nil
		}
		err := k.client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: k.opts.NodeName},
		}, metav1.CreateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("binding pod %s: %w", key, err)
		}
		k.opts.Log.Info("bound", "pod", key, "node", k.opts.NodeName)
		return nil
	}
	if pod.Spec.NodeName != k.opts.NodeName {
		return nil
	}
	k.mu.Lock()
	r, running := k.runs[pod.UID]
	done := k.finished[pod.UID]
	k.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		if running {
			r.cancel(errDeleted) // the run removes the Pod once its processes are gone
			return nil
		}
		return k.remove(ctx, pod)
	}
	if running || done || terminal(pod) {
		return nil
	}
	k.start(ctx, pod.DeepCopy())
	return nil
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// remove deletes a Pod whose processes are gone with a zero grace period, as a kubelet
// confirms a graceful deletion.
func (k *Kubelet) remove(ctx context.Context, pod *corev1.Pod) error {
	uid := pod.UID
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func (k *Kubelet) start(ctx context.Context, pod *corev1.Pod) {
	rctx, cancel := context.WithCancelCause(ctx)
	k.mu.Lock()
	k.runs[pod.UID] = &podRun{namespace: pod.Namespace, name: pod.Name, cancel: cancel}
	k.mu.Unlock()
	k.wg.Go(func() {
		defer func() {
			cancel(nil)
			k.mu.Lock()
			delete(k.runs, pod.UID)
			k.finished[pod.UID] = true
			k.mu.Unlock()
		}()
		k.run(ctx, rctx, pod)
	})
}

// resolve finds the host binary for a command's first element.
func (k *Kubelet) resolve(cmd string) (string, error) {
	for name, bin := range k.opts.Binaries {
		if cmd == name || strings.HasSuffix(cmd, "/"+name) {
			return bin, nil
		}
	}
	p, err := exec.LookPath(cmd)
	if err != nil {
		return "", fmt.Errorf("command %q: %w", cmd, err)
	}
	return p, nil
}
