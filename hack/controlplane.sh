#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kubectl, etcd)
# from the Go module proxy into a cache outside the clone, and prints the folder to use
# as KUBEBUILDER_ASSETS. Release downloads are not needed.
#
#   KUBEBUILDER_ASSETS=$(hack/controlplane.sh)
#
# An existing KUBEBUILDER_ASSETS wins. The cache key covers the Kubernetes version, the
# Go version and the build flags; binaries are built into a temporary folder that is
# renamed when complete, and every cached binary's --version is checked before use.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mod="$here/controlplane"

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

k8s_version=$(cd "$mod" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(cd "$mod" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
go_version=$(go env GOVERSION)
major=${k8s_version#v}; major=${major%%.*}
minor=${k8s_version#v*.}; minor=${minor%%.*}
vpkg=k8s.io/component-base/version
ldflags="-s -w -X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=$major -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
tags=timetzdata
key_src="$k8s_version $etcd_version $go_version $ldflags tags=$tags $(cat "$mod/go.sum" | sha256sum)"
key=$(printf '%s' "$key_src" | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/backbone/k8s"
dest="$cache/$k8s_version-$key"

check() { # dir -> 0 when every binary reports the expected version
  local d=$1 out
  [[ -x "$d/kube-apiserver" && -x "$d/kube-controller-manager" && -x "$d/kubectl" && -x "$d/etcd" ]] || return 1
  # Capture before matching: grep -q closing the pipe early would fail the pipeline.
  out=$("$d/kube-apiserver" --version 2>&1) && [[ $out == *"$k8s_version"* ]] || return 1
  out=$("$d/kube-controller-manager" --version 2>&1) && [[ $out == *"$k8s_version"* ]] || return 1
  out=$("$d/kubectl" version --client 2>&1) && [[ $out == *"$k8s_version"* ]] || return 1
  out=$("$d/etcd" --version 2>&1) && [[ $out == *"${etcd_version#v}"* ]] || return 1
}

if check "$dest"; then
  echo "$dest"
  exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log() { echo "controlplane: $*" >&2; }
build() { # output package
  local start=$SECONDS
  log "building $1 ($2)"
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$tmp/$1" "$2")
  log "built $1 in $((SECONDS - start)) s"
}
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl k8s.io/kubernetes/cmd/kubectl
build etcd go.etcd.io/etcd/server/v3
check "$tmp" || { log "built binaries do not report $k8s_version / etcd $etcd_version"; exit 1; }
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
log "control plane ready in $dest"
echo "$dest"
