//go:build linux

package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/backbone-dev/backbone/internal/version"
	"github.com/backbone-dev/backbone/test/e2e"
)

// A Job running `backbone version -o json` completes through the Job controller and the
// process kubelet: exit code 0, reason Completed, and the log holds the built version.
func TestJobRunsBackboneVersion(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	if err := c.Client.Create(ctx, job(ns, "version", podTemplate("backbone", "version", "-o", "json"))); err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, ns, "version", batchv1.JobComplete)
	pod := onlyPod(t, c, ns, "version")
	if pod.Status.Phase != corev1.PodSucceeded || pod.Spec.NodeName != c.Kubelet.NodeName() {
		t.Fatalf("pod %s: phase %s on node %q, want Succeeded on %s", pod.Name, pod.Status.Phase, pod.Spec.NodeName, c.Kubelet.NodeName())
	}
	if pod.Status.StartTime == nil {
		t.Error("pod has no start time")
	}
	term := terminatedState(t, pod)
	if term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("container terminated with %d (%s), want 0 (Completed)", term.ExitCode, term.Reason)
	}
	var info version.Info
	log := c.PodLog(t, ns, pod.Name, "main")
	if err := json.Unmarshal([]byte(log), &info); err != nil {
		t.Fatalf("log %q: %v", log, err)
	}
	if info.Version != e2e.Version {
		t.Errorf("version %q in the log, want %q", info.Version, e2e.Version)
	}
}

// cronJob is a CronJob whose Jobs run command; its schedule never comes in a test unless
// given.
func cronJob(ns, name, schedule string, command ...string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: batchv1.CronJobSpec{
			Schedule:          schedule,
			ConcurrencyPolicy: batchv1.ForbidConcurrent,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit: new(int32(0)),
				Template:     podTemplate(command...),
			}},
		},
	}
}

// A Job created from a CronJob's template with `kubectl create job --from`, as a "run
// now" does, runs, and is owned by the CronJob.
func TestJobFromCronJobTemplate(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	cj := cronJob(ns, "nightly", "0 3 1 1 *", "backbone", "version")
	if err := c.Client.Create(t.Context(), cj); err != nil {
		t.Fatal(err)
	}
	c.KubectlT(t, "create", "job", "nightly-manual", "--from=cronjob/nightly", "-n", ns)
	j := waitJob(t, c, ns, "nightly-manual", batchv1.JobComplete)
	if len(j.OwnerReferences) != 1 || j.OwnerReferences[0].Kind != "CronJob" || j.OwnerReferences[0].UID != cj.UID {
		t.Errorf("job owners %+v, want the CronJob %s", j.OwnerReferences, cj.UID)
	}
	pod := onlyPod(t, c, ns, "nightly-manual")
	if log := c.PodLog(t, ns, pod.Name, "main"); !strings.Contains(log, "backbone "+e2e.Version) {
		t.Errorf("log %q does not name version %s", log, e2e.Version)
	}
}

// A CronJob scheduled every minute gets its first Job from the CronJob controller, and the
// Job completes.
func TestCronJobScheduleRuns(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	cj := cronJob(ns, "every-minute", "* * * * *", "backbone", "version")
	ctx := t.Context()
	if err := c.Client.Create(ctx, cj); err != nil {
		t.Fatal(err)
	}
	var name string
	eventually(t, 90*time.Second, "the CronJob's first Job", func() (bool, error) {
		var jobs batchv1.JobList
		if err := c.Client.List(ctx, &jobs, client.InNamespace(ns)); err != nil {
			return false, err
		}
		if len(jobs.Items) == 0 {
			return false, nil
		}
		name = jobs.Items[0].Name
		return true, nil
	})
	waitJob(t, c, ns, name, batchv1.JobComplete)
	// Stop further runs: the rest of the package does not need them.
	c.KubectlT(t, "patch", "cronjob", "every-minute", "-n", ns, "-p", `{"spec":{"suspend":true}}`)
	eventually(t, 30*time.Second, "the CronJob's last successful time", func() (bool, error) {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(cj), cj); err != nil {
			return false, err
		}
		return cj.Status.LastSuccessfulTime != nil, nil
	})
}

// A failing container fails its Job; the termination message reaches the Pod status,
// from the log (FallbackToLogsOnError) or from the terminationMessagePath file. A Pod
// past its activeDeadlineSeconds is killed and fails with DeadlineExceeded.
func TestFailingContainerFailsJob(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)

	t.Run("message from the log", func(t *testing.T) {
		t.Parallel()
		tmpl := podTemplate("backbone", "ingest", "--plan", "/etc/backbone/plan/plan.json", "--store", "file:///var/lib/backbone")
		tmpl.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		if err := c.Client.Create(t.Context(), job(ns, "no-plan", tmpl)); err != nil {
			t.Fatal(err)
		}
		j := waitJob(t, c, ns, "no-plan", batchv1.JobFailed)
		if j.Status.Failed != 1 {
			t.Errorf("job status failed = %d, want 1", j.Status.Failed)
		}
		pod := onlyPod(t, c, ns, "no-plan")
		term := terminatedState(t, pod)
		if pod.Status.Phase != corev1.PodFailed || term.ExitCode != 1 || term.Reason != "Error" {
			t.Errorf("pod %s, container exit %d (%s), want Failed, 1 (Error)", pod.Status.Phase, term.ExitCode, term.Reason)
		}
		if !strings.Contains(term.Message, "--plan") || !strings.Contains(term.Message, "no such file") {
			t.Errorf("termination message %q, want the missing --plan file", term.Message)
		}
	})

	t.Run("message from the file", func(t *testing.T) {
		t.Parallel()
		tmpl := podTemplate("sh", "-c", "echo 'the source is gone' > /dev/termination-log; echo ignored; exit 3")
		tmpl.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		if err := c.Client.Create(t.Context(), job(ns, "exit-3", tmpl)); err != nil {
			t.Fatal(err)
		}
		waitJob(t, c, ns, "exit-3", batchv1.JobFailed)
		term := terminatedState(t, onlyPod(t, c, ns, "exit-3"))
		if term.ExitCode != 3 || term.Message != "the source is gone\n" {
			t.Errorf("container exit %d, message %q; want 3, the file's message", term.ExitCode, term.Message)
		}
	})

	t.Run("restartPolicy OnFailure", func(t *testing.T) {
		t.Parallel()
		// The kubelet does not restart the container: the Pod fails and the Job
		// controller makes a new one, within the backoffLimit.
		tmpl := podTemplate("sh", "-c", "exit 2")
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		j := job(ns, "on-failure", tmpl)
		j.Spec.BackoffLimit = new(int32(1))
		if err := c.Client.Create(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		waitJob(t, c, ns, "on-failure", batchv1.JobFailed)
		pods := jobPods(t, c, ns, "on-failure")
		if len(pods) != 2 {
			t.Fatalf("%d pods, want 2 (one retry)", len(pods))
		}
		for _, p := range pods {
			if term := terminatedState(t, p); p.Status.Phase != corev1.PodFailed || term.ExitCode != 2 {
				t.Errorf("pod %s: %s, exit %d; want Failed, 2", p.Name, p.Status.Phase, term.ExitCode)
			}
		}
	})

	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		tmpl := podTemplate("sleep", "600")
		tmpl.Spec.ActiveDeadlineSeconds = new(int64(2))
		if err := c.Client.Create(t.Context(), job(ns, "too-long", tmpl)); err != nil {
			t.Fatal(err)
		}
		waitJob(t, c, ns, "too-long", batchv1.JobFailed)
		pod := onlyPod(t, c, ns, "too-long")
		term := terminatedState(t, pod)
		if pod.Status.Reason != "DeadlineExceeded" || term.ExitCode != 128+int32(syscall.SIGTERM) {
			t.Errorf("pod reason %q, container exit %d; want DeadlineExceeded, %d", pod.Status.Reason, term.ExitCode, 128+int(syscall.SIGTERM))
		}
		if d := term.FinishedAt.Sub(pod.Status.StartTime.Time); d > 10*time.Second {
			t.Errorf("killed %s after the start, want about 2 s", d)
		}
	})
}

// Env values, ConfigMap and Secret keys, the downward API and volumes with items reach the
// process; mount paths in args and env are rewritten to the Pod's folders, and an emptyDir
// at /tmp is the process's TMPDIR.
func TestEnvironmentAndVolumes(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	for _, obj := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: map[string]string{"region": "us-west", "plan.json": `{"a":1}`}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, Data: map[string][]byte{"token": []byte("s3cr3t")}},
	} {
		if err := c.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -e
echo "region=$REGION token=$TOKEN pod=$POD ns=$NS greeting=$GREETING dir=$PLAN_DIR"
cat /etc/plan/renamed.json; echo
cat /etc/creds/token; echo
echo scratch > /tmp/file && cat /tmp/file
test -f "$TMPDIR/file" && echo "TMPDIR holds the file"
test ! -e /etc/plan/region && echo "only the listed item"
`
	tmpl := podTemplate("sh", "-c", script)
	m := &tmpl.Spec.Containers[0]
	m.Env = []corev1.EnvVar{
		{Name: "REGION", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "region"}}},
		{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}},
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "GREETING", Value: "hello-$(REGION)"},
		{Name: "PLAN_DIR", Value: "/etc/plan"},
	}
	m.VolumeMounts = []corev1.VolumeMount{{Name: "plan", MountPath: "/etc/plan"}, {Name: "creds", MountPath: "/etc/creds"}, {Name: "scratch", MountPath: "/tmp"}}
	tmpl.Spec.Volumes = []corev1.Volume{
		{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "settings"},
			Items:                []corev1.KeyToPath{{Key: "plan.json", Path: "renamed.json"}},
		}}},
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if err := c.Client.Create(ctx, job(ns, "env", tmpl)); err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, ns, "env", batchv1.JobComplete)
	pod := onlyPod(t, c, ns, "env")
	log := c.PodLog(t, ns, pod.Name, "main")
	lines := strings.Split(strings.TrimSpace(log), "\n")
	want := []string{
		"region=us-west token=s3cr3t pod=" + pod.Name + " ns=" + ns + " greeting=hello-us-west dir=",
		`{"a":1}`,
		"s3cr3t",
		"scratch",
		"TMPDIR holds the file",
		"only the listed item",
	}
	if len(lines) != len(want) {
		t.Fatalf("log lines %q, want %d", lines, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("log line %d = %q, want it to start with %q", i, lines[i], w)
		}
	}
	// The env value naming the mount path points at the Pod's folder on the host.
	dir := strings.TrimPrefix(lines[0], want[0])
	if b, err := os.ReadFile(filepath.Join(dir, "renamed.json")); err != nil || string(b) != `{"a":1}` {
		t.Errorf("PLAN_DIR=%s: renamed.json reads %q, %v", dir, b, err)
	}
}

// A Pod whose ConfigMap does not exist yet waits, Pending with ContainerCreating and the
// reason, and runs once the ConfigMap is created; its init container runs first. A Pod
// with a volume the kubelet cannot make fails with UnsupportedVolume.
func TestPodWaitsForItsConfigMap(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()

	tmpl := podTemplate("sh", "-c", "cat /shared/from-init /etc/later/greeting")
	tmpl.Spec.InitContainers = []corev1.Container{{
		Name: "init", Image: "busybox", Command: []string{"sh", "-c", "echo from-init > /shared/from-init"},
		VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/shared"}},
	}}
	tmpl.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/shared"}, {Name: "later", MountPath: "/etc/later"}}
	tmpl.Spec.Volumes = []corev1.Volume{
		{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "later", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "later"}}}},
	}
	if err := c.Client.Create(ctx, job(ns, "waits", tmpl)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the Pod waiting for its ConfigMap", func() (bool, error) {
		pods := jobPods(t, c, ns, "waits")
		if len(pods) != 1 || len(pods[0].Status.ContainerStatuses) != 1 {
			return false, nil
		}
		w := pods[0].Status.ContainerStatuses[0].State.Waiting
		return pods[0].Status.Phase == corev1.PodPending && w != nil && w.Reason == "ContainerCreating" && strings.Contains(w.Message, `configmap "later" not found`), fmt.Errorf("status %+v", pods[0].Status)
	})
	if err := c.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}, Data: map[string]string{"greeting": "hello"}}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, ns, "waits", batchv1.JobComplete)
	pod := onlyPod(t, c, ns, "waits")
	if log := c.PodLog(t, ns, pod.Name, "main"); log != "from-init\nhello" {
		t.Errorf("log %q, want the init container's file then the ConfigMap's key", log)
	}
	if len(pod.Status.InitContainerStatuses) != 1 || pod.Status.InitContainerStatuses[0].State.Terminated == nil || pod.Status.InitContainerStatuses[0].State.Terminated.ExitCode != 0 {
		t.Errorf("init container statuses %+v, want one terminated with 0", pod.Status.InitContainerStatuses)
	}

	unsupported := podTemplate("backbone", "version")
	unsupported.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
	if err := c.Client.Create(ctx, job(ns, "unsupported", unsupported)); err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, ns, "unsupported", batchv1.JobFailed)
	if p := onlyPod(t, c, ns, "unsupported"); p.Status.Reason != "UnsupportedVolume" || !strings.Contains(p.Status.Message, "volume data") {
		t.Errorf("pod reason %q message %q, want UnsupportedVolume naming the volume", p.Status.Reason, p.Status.Message)
	}
}

// samplesDir is config/samples as an absolute path: plans name their data files with it,
// and paths inside files are not rewritten.
func samplesDir(c *e2e.Cluster) string { return filepath.Join(c.RepoRoot, "config", "samples") }

// backboneLocal runs `backbone local` on the samples into store, writing the plans into
// plans; it returns stdout.
func backboneLocal(t *testing.T, c *e2e.Cluster, store, plans string, args ...string) []byte {
	t.Helper()
	argv := append([]string{"local", "-f", samplesDir(c), "--store", "file://" + store, "--emit-plans", plans}, args...)
	cmd := exec.CommandContext(t.Context(), c.BackboneBinary, argv...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("backbone %s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	return out
}

// The ingestion plan `backbone local --emit-plans` compiles for one sample source, in a
// ConfigMap volume, runs as `backbone ingest --plan /etc/backbone/plan/plan.json` in a
// Job with the store on a hostPath volume and an emptyDir at /tmp (as the operator's Jobs
// have), and writes the same snapshot as local mode.
func TestIngestPlanFromConfigMap(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	tmp := c.TempDir(t)
	localStore, plans, podStore := filepath.Join(tmp, "local-store"), filepath.Join(tmp, "plans"), filepath.Join(tmp, "pod-store")
	backboneLocal(t, c, localStore, plans)
	plan, err := os.ReadFile(filepath.Join(plans, "ingest-default-county-births.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "county-births-plan"}, Data: map[string]string{"plan.json": string(plan)}}); err != nil {
		t.Fatal(err)
	}
	tmpl := podTemplate("backbone", "ingest", "--plan", "/etc/backbone/plan/plan.json", "--store", "file:///var/lib/backbone/store")
	tmpl.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "plan", MountPath: "/etc/backbone/plan", ReadOnly: true},
		{Name: "store", MountPath: "/var/lib/backbone/store"},
		{Name: "tmp", MountPath: "/tmp"},
	}
	tmpl.Spec.Volumes = []corev1.Volume{
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "county-births-plan"}}}},
		{Name: "store", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: podStore, Type: new(corev1.HostPathDirectoryOrCreate)}}},
	}
	if err := c.Client.Create(ctx, job(ns, "ingest-county-births", tmpl)); err != nil {
		t.Fatal(err)
	}
	waitJob(t, c, ns, "ingest-county-births", batchv1.JobComplete)

	latest := filepath.Join("default", "ready-by-five", "sources", "county-births", "latest.json")
	var fromPod, fromLocal struct {
		ID     string `json:"id"`
		RowsOK int64  `json:"rowsOk"`
	}
	for dst, store := range map[*struct {
		ID     string `json:"id"`
		RowsOK int64  `json:"rowsOk"`
	}]string{&fromPod: podStore, &fromLocal: localStore} {
		b, err := os.ReadFile(filepath.Join(store, latest))
		if err != nil {
			t.Fatalf("the store holds no snapshot: %v", err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if fromPod.ID == "" || fromPod != fromLocal {
		t.Errorf("snapshot from the Job %+v, from backbone local %+v: want the same", fromPod, fromLocal)
	}
	pod := onlyPod(t, c, ns, "ingest-county-births")
	if log := c.PodLog(t, ns, pod.Name, "main"); !strings.Contains(log, fromPod.ID) {
		t.Errorf("the Job's log does not print snapshot %s:\n%s", fromPod.ID, log)
	}
}

// Deleting a CronJob garbage-collects its Jobs and their Pods; a Pod still running is
// stopped by the kubelet (its process killed) before it disappears.
func TestDeletingCronJobCollectsJobsAndPods(t *testing.T) {
	t.Parallel()
	c := cl(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	cj := cronJob(ns, "collected", "0 3 1 1 *", "backbone", "version")
	if err := c.Client.Create(ctx, cj); err != nil {
		t.Fatal(err)
	}
	c.KubectlT(t, "create", "job", "done", "--from=cronjob/collected", "-n", ns)
	waitJob(t, c, ns, "done", batchv1.JobComplete)
	done := onlyPod(t, c, ns, "done")

	// A second Job from the same owner whose process is still running when the CronJob goes.
	long := job(ns, "running", podTemplate("sleep", "600"))
	long.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: new(true)}}
	if err := c.Client.Create(ctx, long); err != nil {
		t.Fatal(err)
	}
	var running corev1.Pod
	eventually(t, 60*time.Second, "the long Job's Pod running", func() (bool, error) {
		pods := jobPods(t, c, ns, "running")
		if len(pods) != 1 || pods[0].Status.Phase != corev1.PodRunning {
			return false, nil
		}
		running = pods[0]
		return true, nil
	})
	pid, err := strconv.Atoi(strings.TrimPrefix(running.Status.ContainerStatuses[0].ContainerID, "process://"))
	if err != nil {
		t.Fatalf("container id %q: %v", running.Status.ContainerStatuses[0].ContainerID, err)
	}
	if !alive(pid) {
		t.Fatalf("process %d of the running Pod is not alive", pid)
	}

	c.KubectlT(t, "delete", "cronjob", "collected", "-n", ns)
	for _, obj := range []client.Object{
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "done"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "running"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: done.Name}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: running.Name}},
	} {
		gone(t, c, obj, 60*time.Second)
	}
	if alive(pid) {
		t.Errorf("process %d of the deleted Pod still runs", pid)
	}
}

// alive reports whether pid is a live process that is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}
