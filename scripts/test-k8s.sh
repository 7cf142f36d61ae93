#!/usr/bin/env bash
# Validate deploy/kubernetes offline against the Kubernetes schemas, strict mode (unknown fields
# are errors), for every version from 1.28 to the newest that PyPI's kubernetes-validate ships.
# The tool is installed into a venv under target/. A deliberately misspelt field must fail, so a
# validator that passes everything cannot pass this script. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/k8s-validate
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate==1.37.0
fi
kv="$venv/bin/kubernetes-validate"
schemas=$(ls -d "$venv"/lib/python3*/site-packages/kubernetes_validate/kubernetes-json-schema/v*-local-strict)
versions=$(for d in $schemas; do basename "$d" | sed 's/^v\([0-9.]*\)-local-strict$/\1/'; done \
  | awk -F. '$1 > 1 || $2 >= 28' | sort -V)
[ -n "$versions" ] || { echo "no schemas for 1.28 or newer in kubernetes-validate" >&2; exit 1; }
base=deploy/kubernetes/base
manifests=("$base"/serviceaccount.yaml "$base"/configmap-fleet.yaml "$base"/secret-xnat.example.yaml
  "$base"/cronjob-sync.yaml "$base"/cronjob-status.yaml deploy/kubernetes/overlays/persistent-cache/pvc.yaml)
n=0
for v in $versions; do
  "$kv" --strict --quiet -k "$v" "${manifests[@]}"
  n=$((n + 1))
done
bad=$(mktemp)
trap 'rm -f "$bad"' EXIT
sed 's/^  concurrencyPolicy: Forbid$/  concurencyPolicy: Forbid/' "$base/cronjob-sync.yaml" >"$bad"
if "$kv" --strict --quiet -k "$(tail -n 1 <<<"$versions")" "$bad" >/dev/null 2>&1; then
  echo "kubernetes-validate accepted a misspelt field: the check proves nothing" >&2
  exit 1
fi
if command -v kubectl >/dev/null 2>&1; then
  for k in "$base" deploy/kubernetes/overlays/persistent-cache; do
    kubectl kustomize "$k" >"$bad"
    "$kv" --strict --quiet -k "$(tail -n 1 <<<"$versions")" "$bad"
  done
  rendered="and their kustomize output"
else
  rendered="(kubectl not installed: kustomize output not rendered)"
fi
echo "== ${#manifests[@]} manifests valid (strict) for $n Kubernetes versions ($(head -n 1 <<<"$versions")..$(tail -n 1 <<<"$versions")) $rendered" >&2
