//go:build linux

package kubelet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Limits of a termination message, as a kubelet's.
const (
	maxMessageBytes = 4096
	maxLogLines     = 80
	maxLogBytes     = 2048
)

// container is one container of a Pod, ready to run.
type container struct {
	spec     *corev1.Container
	proc     *processSpec
	logPath  string
	termPath string
}

// exit is how a container ended.
type exit struct {
	code               int
	reason, message    string
	started, finished  time.Time
	containerID, image string
}

// run runs one Pod: wait for a slot, make its volumes, run its init containers then its
// containers, write the final status. ctx is the kubelet's; rctx is cancelled with a
// cause when the Pod is deleted or the kubelet stops.
func (k *Kubelet) run(ctx, rctx context.Context, pod *corev1.Pod) {
	log := k.opts.Log.WithValues("pod", pod.Namespace+"/"+pod.Name)
	select {
	case k.slots <- struct{}{}:
		defer func() { <-k.slots }()
	case <-rctx.Done():
		k.abandon(ctx, rctx, pod, log)
		return
	}
	started := metav1.Now()
	if err := k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.StartTime = &started
		s.HostIP, s.PodIP = hostIP, hostIP
		s.HostIPs, s.PodIPs = []corev1.HostIP{{IP: hostIP}}, []corev1.PodIP{{IP: hostIP}}
		setCondition(s, corev1.PodScheduled, corev1.ConditionTrue, "")
		s.ContainerStatuses = waiting(pod.Spec.Containers, "ContainerCreating", "")
	}); err != nil {
		log.Error(err, "writing status")
	}
	// The deadline counts from the start time, as a kubelet's.
	if s := pod.Spec.ActiveDeadlineSeconds; s != nil {
		var cancel context.CancelFunc
		rctx, cancel = context.WithDeadlineCause(rctx, started.Add(time.Duration(*s)*time.Second), errDeadline)
		defer cancel()
	}

	inits, mains, err := k.prepareUntilReady(ctx, rctx, pod, log)
	var pe *podError
	switch {
	case errors.As(err, &pe):
		log.Info("failed", "reason", pe.reason, "error", err.Error())
		k.finish(ctx, pod, corev1.PodFailed, pe.reason, err.Error(), nil, nil)
		return
	case errors.Is(context.Cause(rctx), errDeadline):
		k.finish(ctx, pod, corev1.PodFailed, "DeadlineExceeded", deadlineMessage, nil, nil)
		return
	case err != nil:
		if rctx.Err() == nil {
			log.Error(err, "preparing")
		}
		k.abandon(ctx, rctx, pod, log)
		return
	}

	initExits, exits := k.runContainers(ctx, rctx, pod, inits, mains, log)

	cause := context.Cause(rctx)
	if errors.Is(cause, errShutdown) || ctx.Err() != nil {
		return // the kubelet is stopping: the Pod's status is left as it is
	}
	phase, reason, message := corev1.PodSucceeded, "", ""
	for _, x := range append(append([]exit(nil), initExits...), exits...) {
		if x.code != 0 {
			phase = corev1.PodFailed
		}
	}
	if len(initExits) < len(inits) || len(exits) < len(mains) {
		phase = corev1.PodFailed
	}
	if errors.Is(cause, errDeadline) {
		phase, reason, message = corev1.PodFailed, "DeadlineExceeded", deadlineMessage
	}
	log.Info("finished", "phase", phase, "reason", reason)
	k.finish(ctx, pod, phase, reason, message, initExits, exits)
	if errors.Is(cause, errDeleted) {
		if err := k.remove(ctx, pod); err != nil {
			log.Error(err, "removing")
		}
	}
}

// abandon removes a Pod that was deleted before its processes started.
func (k *Kubelet) abandon(ctx, rctx context.Context, pod *corev1.Pod, log logr.Logger) {
	if errors.Is(context.Cause(rctx), errDeleted) {
		if err := k.remove(ctx, pod); err != nil {
			log.Error(err, "removing")
		}
	}
}

// prepareUntilReady makes the Pod's volumes and processes, trying again every 500 ms
// while a ConfigMap, Secret or key is missing (the reason goes to the containers' waiting
// state). It returns a *podError for a Pod that cannot run, or rctx's error.
func (k *Kubelet) prepareUntilReady(ctx, rctx context.Context, pod *corev1.Pod, log logr.Logger) (inits, mains []*container, err error) {
	root := filepath.Join(k.opts.RootDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	lastWait := ""
	for {
		inits, mains, err = k.prepare(rctx, pod, root)
		if err == nil || !isWait(err) {
			return inits, mains, err
		}
		if rctx.Err() != nil {
			return nil, nil, rctx.Err()
		}
		if msg := err.Error(); msg != lastWait {
			lastWait = msg
			log.Info("waiting", "reason", msg)
			if err := k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
				s.ContainerStatuses = waiting(pod.Spec.Containers, "ContainerCreating", msg)
			}); err != nil {
				log.Error(err, "writing status")
			}
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-rctx.Done():
		}
	}
}

// runContainers runs the init containers one after another, stopping at the first that
// fails, then the containers together; the Pod is Running once every container's process
// has started. It returns the exits of the containers that ran.
func (k *Kubelet) runContainers(ctx, rctx context.Context, pod *corev1.Pod, inits, mains []*container, log logr.Logger) (initExits, exits []exit) {
	for _, c := range inits {
		x := k.exec(rctx, c, log, func(string) {})
		initExits = append(initExits, x)
		if x.code != 0 {
			return initExits, nil
		}
	}
	if rctx.Err() != nil {
		return initExits, nil
	}
	exits = make([]exit, len(mains))
	ids := make([]string, len(mains))
	var started, ended sync.WaitGroup
	started.Add(len(mains))
	for i, c := range mains {
		ended.Go(func() {
			exits[i] = k.exec(rctx, c, log, func(id string) { ids[i] = id; started.Done() })
		})
	}
	started.Wait()
	now := metav1.Now()
	if err := k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodRunning
		setCondition(s, corev1.PodInitialized, corev1.ConditionTrue, "")
		setCondition(s, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "")
		setCondition(s, corev1.ContainersReady, corev1.ConditionTrue, "")
		setCondition(s, corev1.PodReady, corev1.ConditionTrue, "")
		s.InitContainerStatuses = terminated(pod.Spec.InitContainers, initExits)
		s.ContainerStatuses = nil
		for i, c := range pod.Spec.Containers {
			s.ContainerStatuses = append(s.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: true, Started: new(true), ContainerID: ids[i],
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
	}); err != nil {
		log.Error(err, "writing status")
	}
	ended.Wait()
	return initExits, exits
}

const deadlineMessage = "Pod was active on the node longer than the specified deadline"

// finish writes a Pod's terminal status.
func (k *Kubelet) finish(ctx context.Context, pod *corev1.Pod, phase corev1.PodPhase, reason, message string, inits, mains []exit) {
	if err := k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.Phase, s.Reason, s.Message = phase, reason, message
		condReason := "PodCompleted"
		if phase == corev1.PodFailed {
			condReason = "PodFailed"
		}
		setCondition(s, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "")
		setCondition(s, corev1.ContainersReady, corev1.ConditionFalse, condReason)
		setCondition(s, corev1.PodReady, corev1.ConditionFalse, condReason)
		if inits != nil {
			s.InitContainerStatuses = terminated(pod.Spec.InitContainers, inits)
		}
		if inits != nil || mains != nil {
			s.ContainerStatuses = terminated(pod.Spec.Containers, mains) // those that did not run wait
		} else {
			s.ContainerStatuses = terminatedBefore(pod.Spec.Containers, reason, message)
		}
	}); err != nil {
		k.opts.Log.Error(err, "writing final status", "pod", pod.Namespace+"/"+pod.Name)
	}
}

// updateStatus applies mutate to the Pod's latest status and writes it, retrying on
// conflicts. A Pod already gone is not an error.
func (k *Kubelet) updateStatus(ctx context.Context, pod *corev1.Pod, mutate func(*corev1.PodStatus)) error {
	pods := k.client.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}
		mutate(&cur.Status)
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func setCondition(s *corev1.PodStatus, typ corev1.PodConditionType, status corev1.ConditionStatus, reason string) {
	now := metav1.Now()
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			if s.Conditions[i].Status != status {
				s.Conditions[i].LastTransitionTime = now
			}
			s.Conditions[i].Status, s.Conditions[i].Reason = status, reason
			return
		}
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: typ, Status: status, Reason: reason, LastTransitionTime: now})
}

func waiting(cs []corev1.Container, reason, message string) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		out = append(out, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: new(false),
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}})
	}
	return out
}

// terminated reports the containers that ran; those that did not (after a failed init
// container) are left waiting.
func terminated(cs []corev1.Container, exits []exit) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for i, c := range cs {
		if i >= len(exits) {
			out = append(out, waiting([]corev1.Container{c}, "PodInitializing", "")...)
			continue
		}
		x := exits[i]
		out = append(out, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: x.image, ContainerID: x.containerID, Started: new(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: int32(x.code), Reason: x.reason, Message: x.message,
				StartedAt: metav1.NewTime(x.started), FinishedAt: metav1.NewTime(x.finished), ContainerID: x.containerID,
			}},
		})
	}
	return out
}

// terminatedBefore reports containers that never started because the Pod failed first.
func terminatedBefore(cs []corev1.Container, reason, message string) []corev1.ContainerStatus {
	now := metav1.Now()
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		out = append(out, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: new(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 128, Reason: reason, Message: message, StartedAt: now, FinishedAt: now,
			}}})
	}
	return out
}

// prepare makes the Pod's folders and volumes and resolves every container's process.
func (k *Kubelet) prepare(ctx context.Context, pod *corev1.Pod, root string) (inits, mains []*container, err error) {
	home, tmp, work := filepath.Join(root, "home"), filepath.Join(root, "tmp"), filepath.Join(root, "work")
	for _, d := range []string{home, tmp, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
	}
	vols, texts, err := k.makeVolumes(ctx, pod, root)
	if err != nil {
		return nil, nil, err
	}
	rewritten := map[string]bool{}
	base := []envVar{{"PATH", os.Getenv("PATH")}, {"HOME", home}, {"TMPDIR", tmp}, {"HOSTNAME", pod.Name}}
	for _, e := range k.opts.Env {
		name, value, _ := strings.Cut(e, "=")
		base = append(base, envVar{name, value})
	}
	one := func(c *corev1.Container) (*container, error) {
		termPath := filepath.Join(root, "containers", c.Name, "termination-log")
		if err := os.MkdirAll(filepath.Dir(termPath), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(termPath, nil, 0o644); err != nil {
			return nil, err
		}
		// Each mount's host path is a symlink to its volume's folder at
		// root/mounts/<container>/<mountPath>, so that it ends as the mount path does (a
		// program naming a Secret by its folder's base name gets the same name); a mount
		// inside another one is its volume's folder itself. Shorter mount paths go first.
		mounts := filepath.Join(root, "mounts", c.Name)
		if err := os.RemoveAll(mounts); err != nil {
			return nil, err
		}
		vms := append([]corev1.VolumeMount(nil), c.VolumeMounts...)
		sort.SliceStable(vms, func(i, j int) bool { return len(path.Clean(vms[i].MountPath)) < len(path.Clean(vms[j].MountPath)) })
		var ms, fileMs []mapping
		for _, m := range vms {
			dir, ok := vols[m.Name]
			if !ok {
				return nil, failPod("InvalidVolume", "container %s: volumeMount %s names no volume of the Pod", c.Name, m.Name)
			}
			if m.SubPath != "" {
				dir = filepath.Join(dir, m.SubPath)
			}
			mp := path.Clean(m.MountPath)
			if !path.IsAbs(mp) || mp == "/" {
				return nil, failPod("InvalidVolume", "container %s: mountPath %q: only absolute paths below / can be mounted", c.Name, m.MountPath)
			}
			host, err := mountLink(mounts, mp, dir)
			if err != nil {
				return nil, fmt.Errorf("container %s: mount %s: %w", c.Name, m.MountPath, err)
			}
			ms = append(ms, mapping{container: m.MountPath, host: host})
			if filesVolume(pod, m.Name) {
				fileMs = append(fileMs, mapping{container: m.MountPath, host: host})
			}
		}
		tp := c.TerminationMessagePath
		if tp == "" {
			tp = corev1.TerminationMessagePathDefault
		}
		ms = append(ms, mapping{container: path.Clean(tp), host: termPath})
		rw, err := newRewriter(ms)
		if err != nil {
			return nil, failPod("InvalidVolume", "container %s: %v", c.Name, err)
		}
		// ConfigMap files name the files of other ConfigMap and Secret volumes (a plan names
		// its source's Secrets); scratch mounts such as /tmp are left alone there, so that a
		// host path below them (a checkout in /tmp) stays as written.
		fileRw, err := newRewriter(fileMs)
		if err != nil {
			return nil, failPod("InvalidVolume", "container %s: %v", c.Name, err)
		}
		for _, m := range c.VolumeMounts {
			if err := rewriteFiles(texts[m.Name], fileRw, rewritten); err != nil {
				return nil, fmt.Errorf("container %s: volume %s: %w", c.Name, m.Name, err)
			}
		}
		cbase := base
		if t := rw.rewrite("/tmp"); t != "/tmp" { // a volume at /tmp is the process's TMPDIR
			cbase = append([]envVar(nil), base...)
			cbase[2] = envVar{"TMPDIR", t}
		}
		proc, err := k.process(ctx, pod, c, rw, cbase, work)
		if err != nil {
			return nil, err
		}
		return &container{spec: c, proc: proc, logPath: k.LogPath(pod.Namespace, pod.Name, c.Name), termPath: termPath}, nil
	}
	for i := range pod.Spec.InitContainers {
		c, err := one(&pod.Spec.InitContainers[i])
		if err != nil {
			return nil, nil, err
		}
		inits = append(inits, c)
	}
	for i := range pod.Spec.Containers {
		c, err := one(&pod.Spec.Containers[i])
		if err != nil {
			return nil, nil, err
		}
		mains = append(mains, c)
	}
	return inits, mains, nil
}

// exec runs one container's process to its end, or until ctx is done: then the process
// group gets SIGTERM and, after the grace period, SIGKILL. onStart is called once, with
// the container id, or with "" when the process could not start.
func (k *Kubelet) exec(ctx context.Context, c *container, log logr.Logger, onStart func(containerID string)) exit {
	x := exit{started: time.Now(), image: c.spec.Image}
	startedCalled := false
	finish := func(code int, reason, message string) exit {
		if !startedCalled {
			onStart("")
		}
		x.code, x.reason, x.message, x.finished = code, reason, message, time.Now()
		return x
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return finish(128, "StartError", err.Error())
	}
	defer logFile.Close()
	offset, _ := logFile.Seek(0, io.SeekEnd)
	cmd := &exec.Cmd{
		Path: c.proc.path, Args: c.proc.argv, Env: c.proc.env, Dir: c.proc.dir,
		Stdout: logFile, Stderr: logFile,
		// A process group of its own (killed as one); killed too if the kubelet dies.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if err := cmd.Start(); err != nil {
		return finish(128, "StartError", err.Error())
	}
	x.containerID = "process://" + strconv.Itoa(cmd.Process.Pid)
	onStart(x.containerID)
	startedCalled = true
	log.Info("started", "container", c.spec.Name, "pid", cmd.Process.Pid, "argv", c.proc.argv)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-ctx.Done():
		pgid := -cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		grace := k.opts.MaxGrace
		select {
		case <-done:
		case <-time.After(grace):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-done
		}
	}
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	log.Info("exited", "container", c.spec.Name, "code", code)
	return finish(code, reason, k.message(c, code, offset))
}

// message is a container's termination message: its terminationMessagePath file or, with
// FallbackToLogsOnError after a failure and an empty file, the tail of this run's log.
func (k *Kubelet) message(c *container, code int, logOffset int64) string {
	if b, err := os.ReadFile(c.termPath); err == nil && len(b) > 0 {
		if len(b) > maxMessageBytes {
			b = b[:maxMessageBytes]
		}
		return string(b)
	}
	if code == 0 || c.spec.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		return ""
	}
	f, err := os.Open(c.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, logOffset, 1<<40))
	if err != nil {
		return ""
	}
	return tail(b, maxLogLines, maxLogBytes)
}

// tail returns the last lines of b, at most maxBytes of them.
func tail(b []byte, lines, maxBytes int) string {
	b = bytes.TrimRight(b, "\n")
	start := len(b)
	for n := 0; n < lines; n++ {
		j := bytes.LastIndexByte(b[:start], '\n')
		if j < 0 {
			start = -1
			break
		}
		start = j
	}
	b = b[start+1:]
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	return string(b)
}

// mountLink makes the symlink standing for a mount at mountPath: mounts/<mountPath>,
// pointing at dir. A mount inside another mount (a parent folder of the link is already a
// link) gets dir itself, so that nothing is created inside another volume.
func mountLink(mounts, mountPath, dir string) (string, error) {
	link := filepath.Join(mounts, filepath.FromSlash(mountPath))
	for d := filepath.Dir(link); len(d) > len(mounts); d = filepath.Dir(d) {
		if fi, err := os.Lstat(d); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return dir, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink(dir, link); err != nil {
		return "", err
	}
	return link, nil
}

// filesVolume reports whether the Pod's volume name holds files of the API (a ConfigMap,
// a Secret, a projection or the downward API), the volumes ConfigMap files refer to.
func filesVolume(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v.ConfigMap != nil || v.Secret != nil || v.Projected != nil || v.DownwardAPI != nil
		}
	}
	return false
}
