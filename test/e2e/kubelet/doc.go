//go:build linux

// Package kubelet is a process kubelet for end-to-end tests: it plays the node and the
// scheduler of a control plane that has neither, so that Jobs and CronJobs created through
// the API actually run, without a container runtime.
//
// It registers one Node (Ready), binds every Pod that has no node to it, and runs each
// container's command and args as a local process. Its model, and where it departs from
// a real kubelet:
//
//   - Images are not pulled or read. A command whose first element is a name given in
//     [Options.Binaries] (or any path ending in "/name") runs that local binary; any other
//     command is looked up in PATH. A container without a command runs
//     [Options.DefaultCommand] (the image's entrypoint) followed by its args.
//   - There is no isolation: processes share the host's file system, network and user.
//     securityContext, resources and probes are ignored.
//   - Volumes are folders in a per-Pod directory: configMap and secret (all keys, or the
//     listed items, with their modes), emptyDir, projected (configMap, secret and
//     downwardAPI sources) and downwardAPI. A hostPath volume is the host folder itself.
//     Any other volume fails the Pod (reason UnsupportedVolume).
//   - Paths are rewritten, not mounted: every occurrence of a volume's mountPath (and of
//     the container's terminationMessagePath) in the command, the args, the working
//     directory and the env values is replaced by the path standing for it: a symlink
//     to the volume's folder at mounts/<container>/<mountPath> in the Pod's folder, so
//     that it ends as the mount path does (for a mount inside another one, the volume's
//     folder itself).
//     An occurrence counts when it is followed by the end of the string, "/" or a
//     character that cannot continue a path segment, and is not preceded by such a
//     character, so "/etc/plan" matches in "--plan=/etc/plan/p.json" and
//     "file:///etc/plan" but not in "/etc/planner" or "/x/etc/plan". The text of the
//     files of ConfigMaps' data keys (not binaryData) is rewritten the same way, with
//     the mounts of the first container that mounts them: a plan in a ConfigMap that names
//     a Secret at its mount path (/var/run/backbone/secrets/n/dsn) then names the folder
//     standing for it. A real kubelet mounts and rewrites nothing; a process cannot see
//     mounts, so what would read a mounted path must be told the host one. Secrets and
//     other files are not rewritten.
//   - Env: value (with $(VAR) references expanded as Kubernetes does), configMapKeyRef,
//     secretKeyRef, fieldRef (metadata.name, metadata.namespace, metadata.uid,
//     spec.nodeName, spec.serviceAccountName, status.hostIP, status.podIP), and envFrom.
//     The process also gets PATH (the host's), HOME and TMPDIR (folders of its Pod) and
//     HOSTNAME (the Pod's name), and [Options.Env].
//   - stdout and stderr go to one log file per container in [Options.LogDir]; `kubectl
//     logs` does not work (there is no kubelet API), read the file ([Kubelet.LogPath]).
//   - Status follows a real kubelet's: Pending until a slot is free and the volumes can be
//     made (a missing ConfigMap or Secret is waited for, as a kubelet does), Running with
//     running container states and a start time, then Succeeded or Failed with terminated
//     states (exit code, reason Completed or Error, the termination message from the
//     terminationMessagePath file or, with FallbackToLogsOnError and a failure, the last
//     80 lines of the log, at most 2 KiB).
//   - restartPolicy OnFailure and Always are treated as Never: a failed container fails
//     its Pod, and the Job controller creates a new Pod if the Job's backoffLimit allows.
//   - activeDeadlineSeconds is honoured to the second: the processes are killed and the
//     Pod fails with reason DeadlineExceeded. A deleted Pod's processes get SIGTERM, then
//     SIGKILL after the grace period (at most [Options.MaxGrace]); the Pod's final status
//     is written and it is removed with a zero grace period, as a kubelet does.
//   - Init containers run one after another before the containers, which run together.
//   - At most [Options.MaxPods] Pods run at once; the others wait, Pending.
package kubelet
