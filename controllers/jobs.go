package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/backbone-dev/backbone/internal/plan"
)

// The contract of the Job containers: `backbone <ingest|aggregate> --plan PlanFile --store URL`,
// the plan mounted from a ConfigMap (key PlanKey) at PlanDir, an emptyDir at /tmp.
const (
	PlanDir  = "/etc/backbone/plan"
	PlanKey  = "plan.json"
	PlanFile = PlanDir + "/" + PlanKey
	// JobServiceAccount is the ServiceAccount of every Job pod: it has no permissions and
	// its token is not mounted.
	JobServiceAccount = "backbone-job"
	// ContainerName is the name of the one container of a Job pod.
	ContainerName = "backbone"
	// JobCommand is the binary the Jobs' containers run: the image's lean backbone-job,
	// which links no Kubernetes client and starts in half the time (cmd/backbone-job).
	JobCommand = "backbone-job"

	// maxPlanBytes keeps a plan ConfigMap under the API's 1 MiB object limit, with room for
	// its metadata.
	maxPlanBytes = 1000 * 1024
)

// Labels of what the manager creates. LabelManagedBy selects everything the manager's
// cache watches.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	ManagedBy       = "backbone"
	LabelComponent  = "app.kubernetes.io/component"
	LabelInitiative = "impact.backbone.dev/initiative"
	LabelDataSource = "impact.backbone.dev/datasource"
	// AnnotationPlanHash is the hash of the plan a Job runs (sha256 of the ConfigMap's plan).
	AnnotationPlanHash = "impact.backbone.dev/plan-hash"
	// AnnotationResultID is the id of the result an aggregation Job writes.
	AnnotationResultID = "impact.backbone.dev/result-id"
	// AnnotationRequestedAt on a Job echoes the run-now request that started it.
	AnnotationRequestedAt = "impact.backbone.dev/requestedAt"
)

// JobOptions are the settings of every Job the manager creates.
type JobOptions struct {
	// Image runs `backbone ingest` and `backbone aggregate`.
	Image string
	// StoreURL is passed to the Job as --store.
	StoreURL string
	// PullPolicy of the Job containers; default IfNotPresent.
	PullPolicy corev1.PullPolicy
	// StoreCredentialsSecret, when set, names a Secret in the Job's namespace holding the
	// store's credentials: every Job pod gets its keys as environment variables
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, …, which the store's client
	// reads) and as files under StoreCredentialsDir (for a variable naming a file, e.g.
	// AWS_SHARED_CREDENTIALS_FILE). The kubelet reads it; the manager never does.
	StoreCredentialsSecret string
}

// StoreCredentialsDir is where the store credentials Secret (JobOptions.StoreCredentialsSecret)
// is mounted in every Job pod, one file per key.
const StoreCredentialsDir = "/var/run/backbone/store-credentials"

// planBytes encodes a plan for a ConfigMap, refusing one over the ConfigMap limit.
func planBytes(kind, name string, plan any) ([]byte, string, error) {
	b, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return nil, "", fmt.Errorf("encoding the plan of %s %s: %w", kind, name, err)
	}
	b = append(b, '\n')
	if len(b) > maxPlanBytes {
		return nil, "", stall(ReasonPlanTooLarge, "the compiled plan of %s %s is %d bytes, over the %d bytes a ConfigMap can carry: split the %s", kind, name, len(b), maxPlanBytes, planSplitHint(kind))
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

func planSplitHint(kind string) string {
	if kind == "Initiative" {
		return "Initiative's indicators over several Initiatives or shorten valueMaps"
	}
	return "DataSource's valueMaps or columns"
}

// podTemplate is the pod of every Job: the restricted Pod Security profile, no
// ServiceAccount token, the plan mounted read-only, an emptyDir for /tmp, and the store
// credentials Secret when one is set.
func podTemplate(opts JobOptions, labels map[string]string, planConfigMap, command string, src sourceMounts) corev1.PodTemplateSpec {
	pull := opts.PullPolicy
	if pull == "" {
		pull = corev1.PullIfNotPresent
	}
	volumes := []corev1.Volume{
		{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: planConfigMap},
			Items:                []corev1.KeyToPath{{Key: PlanKey, Path: PlanKey}},
		}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "plan", MountPath: PlanDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}
	for i, s := range src.secrets {
		vol := fmt.Sprintf("secret-%d", i)
		volumes = append(volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s}}})
		mounts = append(mounts, corev1.VolumeMount{Name: vol, MountPath: SecretDir(s), ReadOnly: true})
	}
	var envFrom []corev1.EnvFromSource
	if name := opts.StoreCredentialsSecret; name != "" {
		volumes = append(volumes, corev1.Volume{Name: "store-credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "store-credentials", MountPath: StoreCredentialsDir, ReadOnly: true})
		envFrom = append(envFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
	}
	for i, c := range src.configMaps {
		vol := fmt.Sprintf("configmap-%d", i)
		volumes = append(volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: c}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: vol, MountPath: ConfigMapDir(c), ReadOnly: true})
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			ServiceAccountName:           JobServiceAccount,
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](65532),
				RunAsGroup:     ptr.To[int64](65532),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            ContainerName,
				Image:           opts.Image,
				ImagePullPolicy: pull,
				Command:         []string{JobCommand},
				Args:            []string{command, "--plan", PlanFile, "--store", opts.StoreURL},
				EnvFrom:         envFrom,
				VolumeMounts:    mounts,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					RunAsNonRoot:             ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
			Volumes: volumes,
		},
	}
}

// sourceMounts are the Secrets and ConfigMaps a source's location reads, mounted into its
// Job pods by name (the manager never reads a Secret).
type sourceMounts struct {
	secrets, configMaps []string
}

// SecretDir is where a Secret a source needs is mounted in the Job pod: the folder the
// compiled plan names for it (plan.DefaultSecretsDir), one file per key.
func SecretDir(name string) string { return path.Join(plan.DefaultSecretsDir, name) }

// ConfigMapDir is where a ConfigMap a source reads is mounted in the Job pod
// (plan.DefaultConfigMapsDir), one file per key.
func ConfigMapDir(name string) string { return path.Join(plan.DefaultConfigMapsDir, name) }

// jobAccounts creates each namespace's Job ServiceAccount when it is missing, and
// remembers for a while the namespaces where it was created or found, so that a
// reconciliation does not ask the API server each time (the manager may only create
// ServiceAccounts, so it does not watch them). A nil *jobAccounts remembers nothing.
type jobAccounts struct {
	mu   sync.Mutex
	seen map[string]time.Time
	// ttl is how long a namespace is remembered: a ServiceAccount deleted meanwhile is
	// created again by the first reconciliation after it.
	ttl time.Duration
	now func() time.Time
}

// jobAccountsTTL is how long the manager trusts that a namespace has its Job ServiceAccount.
const jobAccountsTTL = 5 * time.Minute

func newJobAccounts() *jobAccounts {
	return &jobAccounts{seen: map[string]time.Time{}, ttl: jobAccountsTTL, now: time.Now}
}

// ensure creates the namespace's Job ServiceAccount when it is missing. It has no
// RoleBinding: Job pods need no API access. It is shared by every Job of the namespace,
// so it is not owned by any one object.
func (a *jobAccounts) ensure(ctx context.Context, c client.Client, namespace string) error {
	if a != nil {
		a.mu.Lock()
		at, ok := a.seen[namespace]
		a.mu.Unlock()
		if ok && a.now().Sub(at) < a.ttl {
			return nil
		}
	}
	sa := &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: JobServiceAccount, Namespace: namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		AutomountServiceAccountToken: ptr.To(false),
	}
	if err := c.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ServiceAccount %s/%s: %w", namespace, JobServiceAccount, err)
	}
	if a != nil {
		a.mu.Lock()
		a.seen[namespace] = a.now()
		a.mu.Unlock()
	}
	return nil
}

// jobFinished reports whether a Job is complete or failed, and when.
func jobFinished(j *batchv1.Job) (done, failed bool, at metav1.Time) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false, c.LastTransitionTime
		case batchv1.JobFailed:
			return true, true, c.LastTransitionTime
		}
	}
	return false, false, metav1.Time{}
}

// jobFailure describes why a Job failed: its Failed condition and the termination message of
// its pods' container (the error the command printed last).
func jobFailure(ctx context.Context, c client.Reader, j *batchv1.Job) string {
	var reason string
	for _, cond := range j.Status.Conditions {
		if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue {
			reason = strings.TrimSpace(cond.Reason + ": " + cond.Message)
		}
	}
	msg := fmt.Sprintf("Job %s failed", j.Name)
	if reason != "" {
		msg += " (" + reason + ")"
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(j.Namespace), client.MatchingLabels{"batch.kubernetes.io/job-name": j.Name}); err == nil {
		sort.Slice(pods.Items, func(a, b int) bool { return pods.Items[a].CreationTimestamp.Before(&pods.Items[b].CreationTimestamp) })
		for i := len(pods.Items) - 1; i >= 0; i-- {
			if tm := terminationMessage(&pods.Items[i]); tm != "" {
				return msg + ": " + tm
			}
		}
	}
	return msg
}

// terminationMessage returns the Job container's termination message; with the
// FallbackToLogsOnError policy it is the tail of its output, of which the "Error:" line the
// command prints last is what matters.
func terminationMessage(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != ContainerName || cs.State.Terminated == nil {
			continue
		}
		m := strings.TrimSpace(cs.State.Terminated.Message)
		lines := strings.Split(m, "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], "Error: ") {
				return strings.Join(lines[i:], "\n")
			}
		}
		return m
	}
	return ""
}

// shortHash is the first n hex digits of sha256(s), for deterministic names.
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// truncate shortens a name prefix so that prefix+suffix fits a Job name (63 characters,
// since the Job's name becomes a label value).
func truncate(prefix string, suffixLen int) string {
	max := 63 - suffixLen
	if len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], "-.")
	}
	return prefix
}
