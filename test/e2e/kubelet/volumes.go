//go:build linux

package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waitError is a condition a kubelet waits out (a ConfigMap or Secret not created yet):
// the Pod stays Pending and the step is tried again.
type waitError struct{ err error }

func (e *waitError) Error() string { return e.err.Error() }
func (e *waitError) Unwrap() error { return e.err }

// podError fails the Pod with a reason (UnsupportedVolume, InvalidCommand, …).
type podError struct {
	reason string
	err    error
}

func (e *podError) Error() string { return e.err.Error() }
func (e *podError) Unwrap() error { return e.err }

func failPod(reason, format string, args ...any) error {
	return &podError{reason: reason, err: fmt.Errorf(format, args...)}
}

// makeVolumes writes every volume of pod into root/volumes and returns the host folder
// of each volume by name, and the files written from ConfigMaps' data (text) keys by
// volume name: the files whose container paths are rewritten (see rewriteFiles).
func (k *Kubelet) makeVolumes(ctx context.Context, pod *corev1.Pod, root string) (map[string]string, map[string][]string, error) {
	base := filepath.Join(root, "volumes")
	if err := os.RemoveAll(base); err != nil {
		return nil, nil, err
	}
	dirs := make(map[string]string, len(pod.Spec.Volumes))
	texts := map[string][]string{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir := filepath.Join(base, v.Name)
		if v.HostPath != nil {
			if v.HostPath.Type != nil && *v.HostPath.Type == corev1.HostPathDirectoryOrCreate {
				if err := os.MkdirAll(v.HostPath.Path, 0o755); err != nil {
					return nil, nil, fmt.Errorf("volume %s: %w", v.Name, err)
				}
			}
			dirs[v.Name] = v.HostPath.Path
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		dirs[v.Name] = dir
		var err error
		var files []string
		switch {
		case v.EmptyDir != nil:
		case v.ConfigMap != nil:
			files, err = k.writeConfigMap(ctx, pod, dir, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.DefaultMode, v.ConfigMap.Optional)
			texts[v.Name] = files
		case v.Secret != nil:
			err = k.writeSecret(ctx, pod, dir, v.Secret.SecretName, v.Secret.Items, v.Secret.DefaultMode, v.Secret.Optional)
		case v.DownwardAPI != nil:
			err = writeDownwardAPI(pod, dir, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode)
		case v.Projected != nil:
			for j := range v.Projected.Sources {
				s := &v.Projected.Sources[j]
				switch {
				case s.ConfigMap != nil:
					files, err = k.writeConfigMap(ctx, pod, dir, s.ConfigMap.Name, s.ConfigMap.Items, v.Projected.DefaultMode, s.ConfigMap.Optional)
					texts[v.Name] = append(texts[v.Name], files...)
				case s.Secret != nil:
					err = k.writeSecret(ctx, pod, dir, s.Secret.Name, s.Secret.Items, v.Projected.DefaultMode, s.Secret.Optional)
				case s.DownwardAPI != nil:
					err = writeDownwardAPI(pod, dir, s.DownwardAPI.Items, v.Projected.DefaultMode)
				default:
					err = failPod("UnsupportedVolume", "volume %s: projected source %d: only configMap, secret and downwardAPI sources are supported", v.Name, j)
				}
				if err != nil {
					break
				}
			}
		default:
			err = failPod("UnsupportedVolume", "volume %s: only configMap, secret, emptyDir, projected, downwardAPI and hostPath volumes are supported", v.Name)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	return dirs, texts, nil
}

// writeConfigMap writes a ConfigMap's keys into dir and returns the files written from
// its data keys (text; binaryData keys are left out).
func (k *Kubelet) writeConfigMap(ctx context.Context, pod *corev1.Pod, dir, name string, items []corev1.KeyToPath, mode *int32, optional *bool) ([]string, error) {
	cm, err := k.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, &waitError{fmt.Errorf("configmap %q not found", name)}
	}
	if err != nil {
		return nil, &waitError{fmt.Errorf("configmap %q: %w", name, err)}
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for key, v := range cm.Data {
		data[key] = []byte(v)
	}
	for key, v := range cm.BinaryData {
		data[key] = v
	}
	written, err := writeKeys(dir, data, items, mode, optional)
	if err != nil {
		return nil, fmt.Errorf("configmap %q: %w", name, err)
	}
	var texts []string
	for key, file := range written {
		if _, ok := cm.Data[key]; ok {
			texts = append(texts, file...)
		}
	}
	sort.Strings(texts)
	return texts, nil
}

func (k *Kubelet) writeSecret(ctx context.Context, pod *corev1.Pod, dir, name string, items []corev1.KeyToPath, mode *int32, optional *bool) error {
	s, err := k.client.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if optional != nil && *optional {
			return nil
		}
		return &waitError{fmt.Errorf("secret %q not found", name)}
	}
	if err != nil {
		return &waitError{fmt.Errorf("secret %q: %w", name, err)}
	}
	if _, err := writeKeys(dir, s.Data, items, mode, optional); err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	return nil
}

// writeKeys writes every key of data (or the listed items) as a file of dir, and returns
// the files written for each key.
func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath, mode *int32, optional *bool) (map[string][]string, error) {
	if len(items) == 0 {
		for key := range data {
			items = append(items, corev1.KeyToPath{Key: key, Path: key})
		}
	}
	written := map[string][]string{}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return nil, &waitError{fmt.Errorf("no key %q", it.Key)}
		}
		m := fileMode(it.Mode, mode)
		if err := writeFile(dir, it.Path, v, m); err != nil {
			return nil, fmt.Errorf("key %q: %w", it.Key, err)
		}
		written[it.Key] = append(written[it.Key], filepath.Join(dir, it.Path))
	}
	return written, nil
}

// rewriteFiles replaces container paths by host paths in the text of files (those of
// ConfigMaps' data keys a container mounts): configuration that names a mounted file,
// such as a plan naming a mounted Secret, then names the folder standing for it. Files
// are rewritten once, by the first container mounting them; done records them.
func rewriteFiles(files []string, rw rewriter, done map[string]bool) error {
	for _, f := range files {
		if done[f] {
			continue
		}
		done[f] = true
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		out := rw.rewrite(string(b))
		if out == string(b) {
			continue
		}
		info, err := os.Stat(f)
		if err != nil {
			return err
		}
		// The volume's file mode may be read-only (0444): the kubelet still writes it.
		perm := info.Mode().Perm()
		if err := os.Chmod(f, perm|0o200); err != nil {
			return err
		}
		if err := os.WriteFile(f, []byte(out), perm); err != nil {
			return err
		}
		if err := os.Chmod(f, perm); err != nil {
			return err
		}
	}
	return nil
}

func fileMode(item, def *int32) os.FileMode {
	switch {
	case item != nil:
		return os.FileMode(*item) & os.ModePerm
	case def != nil:
		return os.FileMode(*def) & os.ModePerm
	}
	return 0o644
}

// writeFile writes data at the relative path rel of dir, refusing paths that leave dir.
func writeFile(dir, rel string, data []byte, mode os.FileMode) error {
	if rel == "" || filepath.IsAbs(rel) || strings.HasPrefix(filepath.Clean(rel), "..") {
		return failPod("InvalidVolume", "path %q is not relative inside the volume", rel)
	}
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// The owner must read what it runs on: a mode such as 0400 still reads, 0 would not.
	return os.WriteFile(p, data, mode|0o400)
}

func writeDownwardAPI(pod *corev1.Pod, dir string, items []corev1.DownwardAPIVolumeFile, mode *int32) error {
	for _, it := range items {
		if it.FieldRef == nil {
			return failPod("UnsupportedVolume", "downwardAPI %s: only fieldRef is supported", it.Path)
		}
		v, err := fieldValue(pod, it.FieldRef.FieldPath)
		if err != nil {
			return err
		}
		if err := writeFile(dir, it.Path, []byte(v), fileMode(it.Mode, mode)); err != nil {
			return fmt.Errorf("downwardAPI %s: %w", it.Path, err)
		}
	}
	return nil
}

// fieldValue resolves a downward API field path of pod.
func fieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP":
		return hostIP, nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels['": pod.Labels, "metadata.annotations['": pod.Annotations} {
		if key, ok := strings.CutPrefix(fieldPath, prefix); ok {
			if key, ok = strings.CutSuffix(key, "']"); ok {
				return m[key], nil
			}
		}
	}
	return "", failPod("UnsupportedField", "fieldRef %q is not supported", fieldPath)
}

// formatMap writes labels or annotations as the downward API does: key="value" lines,
// sorted by key.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, key := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(key + "=" + strconv.Quote(m[key]))
	}
	return b.String()
}

// isWait reports whether err is one to wait out.
func isWait(err error) bool {
	var w *waitError
	return errors.As(err, &w)
}
