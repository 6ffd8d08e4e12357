package controllers

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/plan"
)

// TestSourceMountsMatchThePlan checks, for every location kind, that each file the compiled
// ingestion plan reads from a Secret or a ConfigMap is under a folder the Job pod mounts
// from that object, by name and read-only, and that the container has no environment.
func TestSourceMountsMatchThePlan(t *testing.T) {
	ini := &impactv1.Initiative{ObjectMeta: metav1.ObjectMeta{Name: "ini", Namespace: "ns"}, Spec: impactv1.InitiativeSpec{
		DisplayName: "I", TimeZone: "UTC",
		Partners: []impactv1.Partner{{Name: "p", DisplayName: "P", Sector: "Nonprofit"}},
	}}
	ref := &impactv1.LocalObjectReference{Name: "ncusd-token"}
	for _, c := range []struct {
		loc       impactv1.Location
		object    string // the Secret or ConfigMap
		configMap bool
		file      func(f *spec.Fetch) string // a path the plan reads from it
	}{
		{impactv1.Location{HTTP: &impactv1.HTTPLocation{URL: "https://example.org/k.csv", HeadersSecretRef: ref}},
			"ncusd-token", false, func(f *spec.Fetch) string { return f.HeadersDir + "/Authorization" }},
		{impactv1.Location{ObjectStore: &impactv1.ObjectStoreLocation{URL: "s3://b/k.csv", CredentialsSecretRef: ref}},
			"ncusd-token", false, func(f *spec.Fetch) string { return f.CredentialsDir + "/accessKeyId" }},
		{impactv1.Location{Postgres: &impactv1.PostgresLocation{DSNSecretRef: impactv1.SecretKeyReference{Name: "db", Key: "dsn"}, Query: "select 1"}},
			"db", false, func(f *spec.Fetch) string { return f.DSNFile }},
		{impactv1.Location{ConfigMap: &impactv1.ConfigMapLocation{Name: "small-table", Key: "t.csv"}},
			"small-table", true, func(f *spec.Fetch) string { return f.File }},
	} {
		ds := &impactv1.DataSource{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"}, Spec: impactv1.DataSourceSpec{
			InitiativeRef: impactv1.LocalObjectReference{Name: "ini"}, Partner: "p", Format: "CSV", Location: c.loc,
			Schema: impactv1.Schema{Columns: []impactv1.Column{{Name: "n", Type: "Integer"}}},
		}}
		p, err := plan.Ingest(ini, ds, plan.IngestOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.object, err)
		}
		file := c.file(p.Fetch)
		pod := podTemplate(JobOptions{Image: "img", StoreURL: "file:///s"}, nil, "cm", "ingest", sourceMountsOf(ds)).Spec
		vols := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			vols[v.Name] = v
		}
		found := false
		for _, m := range pod.Containers[0].VolumeMounts {
			v := vols[m.Name]
			named := (c.configMap && v.ConfigMap != nil && v.ConfigMap.Name == c.object) ||
				(!c.configMap && v.Secret != nil && v.Secret.SecretName == c.object)
			if named && m.ReadOnly && strings.HasPrefix(file, m.MountPath+"/") {
				found = true
			}
		}
		if !found {
			t.Errorf("the plan reads %s, which no read-only mount of %s holds: %+v", file, c.object, pod.Containers[0].VolumeMounts)
		}
		if len(pod.Containers[0].Env) != 0 || len(pod.Containers[0].EnvFrom) != 0 {
			t.Errorf("the Job container has environment variables: %+v %+v", pod.Containers[0].Env, pod.Containers[0].EnvFrom)
		}
	}
}

// TestStoreCredentialsSecret checks that with a store credentials Secret every Job pod (the
// ingestion CronJob's and the aggregation Job's) gets that Secret, by name, as environment
// variables and as read-only files, besides the source's own mounts; and that without one
// the pod has neither.
func TestStoreCredentialsSecret(t *testing.T) {
	src := sourceMounts{secrets: []string{"ncusd-token"}}
	opts := JobOptions{Image: "img", StoreURL: "s3://bucket/backbone?region=eu-west-1", StoreCredentialsSecret: "backbone-store"}
	for _, command := range []string{"ingest", "aggregate"} {
		pod := podTemplate(opts, nil, "cm", command, src).Spec
		c := pod.Containers[0]
		if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "backbone-store" ||
			c.EnvFrom[0].ConfigMapRef != nil || c.EnvFrom[0].Prefix != "" || c.EnvFrom[0].SecretRef.Optional != nil {
			t.Errorf("%s: envFrom %+v, want the Secret backbone-store's keys", command, c.EnvFrom)
		}
		if len(c.Env) != 0 {
			t.Errorf("%s: env %+v", command, c.Env)
		}
		vols := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			vols[v.Name] = v
		}
		var store, source bool
		for _, m := range c.VolumeMounts {
			v := vols[m.Name]
			if v.Secret == nil {
				continue
			}
			if !m.ReadOnly {
				t.Errorf("%s: Secret %s mounted read-write", command, v.Secret.SecretName)
			}
			switch {
			case v.Secret.SecretName == "backbone-store" && m.MountPath == StoreCredentialsDir:
				store = true
			case v.Secret.SecretName == "ncusd-token" && m.MountPath == SecretDir("ncusd-token"):
				source = true
			}
		}
		if !store || !source {
			t.Errorf("%s: mounts %+v lack the store's Secret at %s (%v) or the source's (%v)", command, c.VolumeMounts, StoreCredentialsDir, store, source)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: the ServiceAccount token is mounted", command)
		}
	}
	opts.StoreCredentialsSecret = ""
	pod := podTemplate(opts, nil, "cm", "aggregate", sourceMounts{}).Spec
	if len(pod.Containers[0].EnvFrom) != 0 {
		t.Errorf("envFrom %+v without a store credentials Secret", pod.Containers[0].EnvFrom)
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			t.Errorf("Secret volume %s without a store credentials Secret", v.Secret.SecretName)
		}
	}
}

// The Job ServiceAccount is created in a namespace where it is missing; within the
// remembering time a namespace where it was made is not asked again (a ServiceAccount
// deleted meanwhile stays missing), and after it the ServiceAccount is created again.
func TestJobAccountsRemember(t *testing.T) {
	ns := newNamespace(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	a := newJobAccounts()
	a.now = func() time.Time { return now }
	key := client.ObjectKey{Namespace: ns, Name: JobServiceAccount}
	exists := func() bool {
		err := k8s.Get(ctx, key, &corev1.ServiceAccount{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	if err := a.ensure(ctx, k8s, ns); err != nil {
		t.Fatal(err)
	}
	if !exists() {
		t.Fatal("no ServiceAccount after the first ensure")
	}
	// Present already: AlreadyExists is success, and the namespace is remembered.
	if err := a.ensure(ctx, k8s, ns); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: JobServiceAccount}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(jobAccountsTTL - time.Second)
	if err := a.ensure(ctx, k8s, ns); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Fatal("a remembered namespace was asked again within the remembering time")
	}
	now = now.Add(2 * time.Second)
	if err := a.ensure(ctx, k8s, ns); err != nil {
		t.Fatal(err)
	}
	if !exists() {
		t.Error("the ServiceAccount deleted was not created again after the remembering time")
	}

	// Without remembering (a nil *jobAccounts) every call creates it when missing.
	var none *jobAccounts
	if err := k8s.Delete(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: JobServiceAccount}}); err != nil {
		t.Fatal(err)
	}
	if err := none.ensure(ctx, k8s, ns); err != nil {
		t.Fatal(err)
	}
	if !exists() {
		t.Error("a nil *jobAccounts did not create the missing ServiceAccount")
	}
}

// TestJobPredicates checks which events of Jobs and CronJobs reach the reconcilers: the
// Indicators get an aggregation Job's end, not its creation, start or progress; a
// DataSource gets an ingestion Job's creation and end, and its CronJob's new schedule time,
// not the CronJob's list of active Jobs.
func TestJobPredicates(t *testing.T) {
	job := func(conds ...batchv1.JobConditionType) *batchv1.Job {
		j := &batchv1.Job{}
		for _, c := range conds {
			j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: c, Status: corev1.ConditionTrue})
		}
		return j
	}
	running, complete, failed := job(), job(batchv1.JobComplete), job(batchv1.JobFailed)
	started := running.DeepCopy()
	started.Status.Active = 1
	cj := &batchv1.CronJob{}
	active := cj.DeepCopy()
	active.Status.Active = []corev1.ObjectReference{{Name: "j"}}
	scheduled := cj.DeepCopy()
	scheduled.Status.LastScheduleTime = &metav1.Time{Time: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	ended, ds, cronJobs := jobEnded(), jobCreatedOrEnded(), lastScheduleChanged()
	for _, c := range []struct {
		name string
		pass bool
		got  bool
	}{
		{"Indicators: Job created", false, ended.Create(event.CreateEvent{Object: running})},
		{"Indicators: Job listed complete", true, ended.Create(event.CreateEvent{Object: complete})},
		{"Indicators: Job started", false, ended.Update(event.UpdateEvent{ObjectOld: running, ObjectNew: started})},
		{"Indicators: Job complete", true, ended.Update(event.UpdateEvent{ObjectOld: started, ObjectNew: complete})},
		{"Indicators: Job failed", true, ended.Update(event.UpdateEvent{ObjectOld: running, ObjectNew: failed})},
		{"Indicators: after its end", false, ended.Update(event.UpdateEvent{ObjectOld: complete, ObjectNew: complete})},
		{"Indicators: Job deleted", true, ended.Delete(event.DeleteEvent{Object: running})},
		{"DataSource: Job created", true, ds.Create(event.CreateEvent{Object: running})},
		{"DataSource: Job started", false, ds.Update(event.UpdateEvent{ObjectOld: running, ObjectNew: started})},
		{"DataSource: Job complete", true, ds.Update(event.UpdateEvent{ObjectOld: started, ObjectNew: complete})},
		{"DataSource: Job deleted", true, ds.Delete(event.DeleteEvent{Object: complete})},
		{"DataSource: CronJob's active Jobs", false, cronJobs.Update(event.UpdateEvent{ObjectOld: cj, ObjectNew: active})},
		{"DataSource: CronJob scheduled", true, cronJobs.Update(event.UpdateEvent{ObjectOld: active, ObjectNew: scheduled})},
	} {
		if c.got != c.pass {
			t.Errorf("%s: passed %v, want %v", c.name, c.got, c.pass)
		}
	}
}
