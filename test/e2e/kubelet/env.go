//go:build linux

package kubelet

import (
	"context"
	"fmt"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// envVar is one variable of a process's environment, in order.
type envVar struct{ name, value string }

// containerEnv resolves c's envFrom and env, in Kubernetes' order: envFrom first, then
// env, a later variable replacing an earlier one; $(VAR) references in values expand
// against the variables defined before them.
func (k *Kubelet) containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]envVar, error) {
	var out []envVar
	vars := map[string]string{}
	set := func(name, value string) {
		if _, ok := vars[name]; ok {
			for i := range out {
				if out[i].name == name {
					out[i].value = value
				}
			}
		} else {
			out = append(out, envVar{name, value})
		}
		vars[name] = value
	}
	for _, from := range c.EnvFrom {
		var data map[string]string
		var err error
		switch {
		case from.ConfigMapRef != nil:
			data, err = k.configMapData(ctx, pod.Namespace, from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
		case from.SecretRef != nil:
			data, err = k.secretData(ctx, pod.Namespace, from.SecretRef.Name, from.SecretRef.Optional)
		}
		if err != nil {
			return nil, fmt.Errorf("container %s: envFrom: %w", c.Name, err)
		}
		keys := make([]string, 0, len(data))
		for key := range data {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			set(from.Prefix+key, data[key])
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		var v string
		var err error
		switch src := e.ValueFrom; {
		case src.FieldRef != nil:
			v, err = fieldValue(pod, src.FieldRef.FieldPath)
		case src.ConfigMapKeyRef != nil:
			var data map[string]string
			data, err = k.configMapData(ctx, pod.Namespace, src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Optional)
			v, err = key(data, err, src.ConfigMapKeyRef.Key, src.ConfigMapKeyRef.Optional)
		case src.SecretKeyRef != nil:
			var data map[string]string
			data, err = k.secretData(ctx, pod.Namespace, src.SecretKeyRef.Name, src.SecretKeyRef.Optional)
			v, err = key(data, err, src.SecretKeyRef.Key, src.SecretKeyRef.Optional)
		default:
			err = failPod("UnsupportedEnv", "only fieldRef, configMapKeyRef and secretKeyRef are supported")
		}
		if err != nil {
			return nil, fmt.Errorf("container %s: env %s: %w", c.Name, e.Name, err)
		}
		set(e.Name, v)
	}
	return out, nil
}

func key(data map[string]string, err error, k string, optional *bool) (string, error) {
	if err != nil {
		return "", err
	}
	v, ok := data[k]
	if !ok && (optional == nil || !*optional) {
		return "", &waitError{fmt.Errorf("no key %q", k)}
	}
	return v, nil
}

func (k *Kubelet) configMapData(ctx context.Context, ns, name string, optional *bool) (map[string]string, error) {
	cm, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil, nil
	}
	if err != nil {
		return nil, &waitError{fmt.Errorf("configmap %q: %w", name, err)}
	}
	return cm.Data, nil
}

func (k *Kubelet) secretData(ctx context.Context, ns, name string, optional *bool) (map[string]string, error) {
	s, err := k.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil, nil
	}
	if err != nil {
		return nil, &waitError{fmt.Errorf("secret %q: %w", name, err)}
	}
	data := make(map[string]string, len(s.Data))
	for key, v := range s.Data {
		data[key] = string(v)
	}
	return data, nil
}

// processSpec is what runs for one container.
type processSpec struct {
	path string   // binary on the host
	argv []string // argv[0] as written, then the args
	env  []string // KEY=value
	dir  string   // working directory on the host
}

// process resolves c's command line, environment and working directory: $(VAR)
// references expanded, container paths rewritten to host paths, the binary found.
func (k *Kubelet) process(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rw rewriter, base []envVar, workDir string) (*processSpec, error) {
	cenv, err := k.containerEnv(ctx, pod, c)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, e := range base {
		vars[e.name] = e.value
	}
	for _, e := range cenv {
		vars[e.name] = e.value
	}
	// The container's variables come first and win; only their values are rewritten, the
	// base ones already name host paths.
	var env []string
	seen := map[string]bool{}
	for _, e := range cenv {
		seen[e.name] = true
		env = append(env, e.name+"="+rw.rewrite(e.value))
	}
	for _, e := range base {
		if !seen[e.name] {
			seen[e.name] = true
			env = append(env, e.name+"="+e.value)
		}
	}
	argv := append(append([]string(nil), c.Command...), c.Args...)
	if len(c.Command) == 0 {
		argv = append(append([]string(nil), k.opts.DefaultCommand...), c.Args...)
	}
	if len(argv) == 0 {
		return nil, failPod("InvalidCommand", "container %s: no command, and no default command is configured", c.Name)
	}
	for i := range argv {
		argv[i] = rw.rewrite(expand(argv[i], vars))
	}
	bin, err := k.resolve(argv[0])
	if err != nil {
		return nil, failPod("InvalidCommand", "container %s: %v", c.Name, err)
	}
	dir := workDir
	if c.WorkingDir != "" {
		dir = rw.rewrite(c.WorkingDir)
		if _, err := os.Stat(dir); err != nil {
			return nil, failPod("InvalidWorkingDir", "container %s: workingDir %s: %v", c.Name, c.WorkingDir, err)
		}
	}
	return &processSpec{path: bin, argv: argv, env: env, dir: dir}, nil
}
