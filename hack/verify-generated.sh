#!/usr/bin/env bash
# Fails when the generated files (deepcopy, CRDs, RBAC) differ from what the markers produce.
# Generates into a copy of the module, so a working tree is never modified.
#   hack/verify-generated.sh '<object args>' '<manifests args>'
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gen=${CONTROLLER_GEN:?set CONTROLLER_GEN to the controller-gen binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The packages controller-gen reads, the packages they import, and the module files they need.
(cd "$root" && tar cf - go.mod go.sum hack/boilerplate.go.txt api controllers internal config/crd config/rbac) | (cd "$tmp" && tar xf -)
(cd "$tmp" && rm -f api/v1alpha1/zz_generated.deepcopy.go && rm -f config/crd/bases/*.yaml config/rbac/role.yaml \
  && $gen $1 && $gen $2)

status=0
diff -ru "$root/api" "$tmp/api" || status=1
diff -ru "$root/config/crd/bases" "$tmp/config/crd/bases" || status=1
diff -u "$root/config/rbac/role.yaml" "$tmp/config/rbac/role.yaml" || status=1
if [[ $status -ne 0 ]]; then
  echo "generated files are stale: run 'make generate manifests' and commit the result" >&2
  exit 1
fi
echo "generated files are up to date"
