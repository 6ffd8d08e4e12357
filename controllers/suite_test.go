package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/config/crd"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
	"github.com/backbone-dev/backbone/internal/publish/live"
	"github.com/backbone-dev/backbone/internal/publish/metrics"
	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"
)

// The suite runs a real kube-apiserver and etcd (envtest) and the manager's reconcilers
// against them, with a file:// store. There is no kubelet: a test completes a Job by
// running the Job's own plan (from its ConfigMap) through internal/run against the same
// store, then writing the Job's status as the Job controller would.
var (
	k8s       client.Client
	testCfg   *rest.Config // the API server's admin
	testMgr   ctrl.Manager
	testStore *store.Store
	storeURL  string
	samples   string // config/samples, the base folder of relative file locations
	jobOpts   = JobOptions{Image: "backbone:test"}
	// testPub publishes what the suite's reconcilers read; resultsURL serves its
	// exposition at /metrics and pagesURL its community pages, over HTTP.
	testPub              *live.Publisher
	resultsURL, pagesURL string
	testDashboards       = DashboardOptions{ConfigMap: dashboard.ConfigMapOptions{LabelKey: "grafana_dashboard", LabelValue: "backbone", FolderAnnotation: "grafana_folder"}}
	testMetricsOptions   = metrics.Options{Region: "us-west"}
	// testAggregate is the operator's floor under every Initiative's minimum cell size
	// (--min-cell-size-floor): below the samples' 11.
	testAggregate = plan.AggregateOptions{MinCellSizeFloor: 5}
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "controllers: KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(hack/controlplane.sh)")
		return 1
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	crds, err := crd.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := &envtest.Environment{CRDInstallOptions: envtest.CRDInstallOptions{CRDs: crds}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	testCfg = cfg
	dir, err := os.MkdirTemp("", "backbone-controllers-store-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	storeURL, _ = store.FileURL(dir)
	jobOpts.StoreURL = storeURL
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if testStore, err = store.Open(ctx, storeURL); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	samples, _ = filepath.Abs("../config/samples")

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = impactv1.AddToScheme(scheme)
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The manager runs as a user bound to nothing but config/rbac/role.yaml, so the
	// generated role is what the tests exercise.
	mgrCfg, err := managerUser(ctx, env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager user:", err)
		return 1
	}
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   CacheOptions(""),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rr, err := report.New(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testPub = live.New(metrics.New(testMetricsOptions), report.NewHandler(rr))
	mux := http.NewServeMux()
	mux.Handle("/metrics", testPub.Metrics)
	resultsSrv := httptest.NewServer(mux)
	defer resultsSrv.Close()
	pagesSrv := httptest.NewServer(testPub.Pages)
	defer pagesSrv.Close()
	resultsURL, pagesURL = resultsSrv.URL, pagesSrv.URL
	if err := Setup(ctx, mgr, Options{
		Store: testStore, Jobs: jobOpts, Plan: plan.IngestOptions{AllowFileLocations: true, BaseDir: samples},
		Publisher: testPub, Dashboards: testDashboards, ReportURL: "https://impact.example.org/",
		Aggregate: testAggregate,
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	testMgr = mgr
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		fmt.Fprintln(os.Stderr, "cache did not sync")
		return 1
	}
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

func zapLevel() zapcore.Level {
	if os.Getenv("TEST_LOG") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}

// managerUser binds the ClusterRole of config/rbac/role.yaml to a new user and returns
// that user's client configuration.
func managerUser(ctx context.Context, env *envtest.Environment) (*rest.Config, error) {
	data, err := os.ReadFile("../config/rbac/role.yaml")
	if err != nil {
		return nil, err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		return nil, fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	const user = "system:serviceaccount:backbone-system:backbone-manager"
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := k8s.Create(ctx, o); err != nil {
			return nil, err
		}
	}
	u, err := env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// eventually polls f until it returns nil, failing with its last error after timeout.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// condition returns the condition t of a status, or an error naming what it is instead.
func condition(conds []metav1.Condition, t string) *metav1.Condition {
	return meta.FindStatusCondition(conds, t)
}

func wantCondition(conds []metav1.Condition, t string, s metav1.ConditionStatus) error {
	c := condition(conds, t)
	if c == nil {
		return fmt.Errorf("no %s condition (conditions: %+v)", t, conds)
	}
	if c.Status != s {
		return fmt.Errorf("%s is %s (%s: %s), want %s", t, c.Status, c.Reason, c.Message, s)
	}
	return nil
}

// jobPlan reads the plan a Job runs from the ConfigMap its pod mounts at PlanDir.
func jobPlan(t *testing.T, job *batchv1.Job, v any) {
	t.Helper()
	var cmName string
	for _, vol := range job.Spec.Template.Spec.Volumes {
		if vol.ConfigMap != nil {
			for _, m := range job.Spec.Template.Spec.Containers[0].VolumeMounts {
				if m.Name == vol.Name && m.MountPath == PlanDir {
					cmName = vol.ConfigMap.Name
				}
			}
		}
	}
	if cmName == "" {
		t.Fatalf("Job %s mounts no plan ConfigMap at %s", job.Name, PlanDir)
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: job.Namespace, Name: cmName}, cm); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(cm.Data[PlanKey]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("plan of Job %s: %v", job.Name, err)
	}
}

// runJob does a Job's real work in-process: the command its container names, on the plan
// its ConfigMap holds, against the store it names. It returns the command's error.
func runJob(t *testing.T, job *batchv1.Job) error {
	t.Helper()
	c := job.Spec.Template.Spec.Containers[0]
	if len(c.Command) != 1 || c.Command[0] != JobCommand || len(c.Args) != 5 || c.Args[1] != "--plan" || c.Args[2] != PlanFile || c.Args[3] != "--store" || c.Args[4] != storeURL {
		t.Fatalf("Job %s runs %q %q, not backbone-job <command> --plan %s --store %s", job.Name, c.Command, c.Args, PlanFile, storeURL)
	}
	ctx := context.Background()
	switch c.Args[0] {
	case "ingest":
		var p spec.Ingest
		jobPlan(t, job, &p)
		_, err := run.Ingest(ctx, testStore, &p, ingest.Options{TempDir: t.TempDir()})
		return err
	case "aggregate":
		var p spec.Aggregate
		jobPlan(t, job, &p)
		_, err := run.Aggregate(ctx, testStore, &p, run.AggregateOptions{TempDir: t.TempDir()})
		return err
	}
	t.Fatalf("Job %s runs an unknown command %q", job.Name, c.Args[0])
	return nil
}

// finishJob runs the Job's work and writes its status as the Job controller would: Complete
// when the command succeeded; otherwise Failed, with a Pod whose container terminated with
// the error the command prints last (what the pod's termination message holds under
// FallbackToLogsOnError).
func finishJob(t *testing.T, job *batchv1.Job) error {
	t.Helper()
	ctx := context.Background()
	runErr := runJob(t, job)
	now := metav1.Now()
	job.Status.StartTime = &now
	if runErr == nil {
		job.Status.CompletionTime = &now
		job.Status.Succeeded = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "CompletionsReached"},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "CompletionsReached"},
		}
	} else {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-pod", Namespace: job.Namespace,
				Labels: map[string]string{LabelManagedBy: ManagedBy, "batch.kubernetes.io/job-name": job.Name}},
			Spec: *job.Spec.Template.Spec.DeepCopy(),
		}
		if err := k8s.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		pod.Status.Phase = corev1.PodFailed
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, Image: job.Spec.Template.Spec.Containers[0].Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "Error: " + runErr.Error() + "\n"}}}}
		if err := k8s.Status().Update(ctx, pod); err != nil {
			t.Fatal(err)
		}
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"},
		}
	}
	if err := k8s.Status().Update(ctx, job); err != nil {
		t.Fatalf("completing Job %s: %v", job.Name, err)
	}
	return runErr
}

// waitJob waits for a Job to exist.
func waitJob(t *testing.T, namespace, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	eventually(t, "Job "+name, func() error {
		return k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, job)
	})
	return job
}

// events returns the notes of the events about an object.
func events(namespace, name string) ([]string, error) {
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Reason+": "+e.Note)
		}
	}
	return out, nil
}

func wantEvent(namespace, name, contains string) error {
	evs, err := events(namespace, name)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if strings.Contains(e, contains) {
			return nil
		}
	}
	return fmt.Errorf("no event about %s contains %q (events: %q)", name, contains, evs)
}

// requestRun annotates an object to run now.
func requestRun(t *testing.T, obj client.Object, at string) {
	t.Helper()
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[impactv1.RequestedAtAnnotation] = at
	obj.SetAnnotations(ann)
	if err := k8s.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

// readLatest reads the promoted snapshot manifest of a source from the store.
func readLatest(t *testing.T, namespace, initiative, source string) *store.SnapshotManifest {
	t.Helper()
	m := &store.SnapshotManifest{}
	if err := testStore.GetJSON(context.Background(), store.SourcePrefix(namespace, initiative, source)+"/latest.json", m); err != nil {
		t.Fatal(err)
	}
	return m
}
