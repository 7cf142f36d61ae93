#!/usr/bin/env bash
# Validate deploy/kubernetes offline against the Kubernetes schemas, strict mode (unknown fields
# are errors), for every version from 1.28 to the newest that PyPI's kubernetes-validate ships.
# The tool is installed into a venv under target/. A deliberately misspelt field must fail, so a
# validator that passes everything cannot pass this script. Where kubectl is installed, the
# kustomize output of the base and of every overlay is validated too, and the rendered base is
# checked for what it promises an admin: no Secret, one image for both CronJobs, set by
# kustomization.yaml `images:`, sync `--prune` exactly when the fleet file has `prune:`, status
# `backoffLimit: 0`, the registry pull secret optional. Run by scripts/test.sh.
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
manifests=("$base"/serviceaccount.yaml "$base"/configmap-fleet.yaml "$base"/cronjob-sync.yaml
  "$base"/cronjob-status.yaml deploy/kubernetes/overlays/persistent-cache/pvc.yaml
  deploy/kubernetes/examples/secret-xnat.yaml)
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
# What the shipped base promises an admin (docs/kubernetes.md "Running in Kubernetes"), checked on the
# manifests as kustomize renders them (or on the files where kubectl is missing).
shipped_rules() {
  "$venv/bin/python" - "$@" <<'PY'
import sys, yaml
docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]
def fail(what):
    sys.exit("deploy/kubernetes/base: " + what)
kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
if any(k == "Secret" for k, _ in kinds):
    fail("holds a Secret: `kubectl apply -k` would overwrite the one the admin created")
jobs = {d["metadata"]["name"]: d["spec"]["jobTemplate"]["spec"] for d in docs if d["kind"] == "CronJob"}
if set(jobs) != {"xnat-cmd-sync", "xnat-cmd-status"}:
    fail("expected the CronJobs xnat-cmd-sync and xnat-cmd-status, got %s" % sorted(jobs))
images = {c["image"] for j in jobs.values() for c in j["template"]["spec"]["containers"]}
if len(images) != 1:
    fail("the CronJobs run different images: %s" % sorted(images))
sync = jobs["xnat-cmd-sync"]["template"]["spec"]["containers"][0]["args"]
fleet = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["fleet.yaml"]
if ("prune" in yaml.safe_load(fleet)) != ("--prune" in sync):
    fail("the sync CronJob must prune exactly when the fleet file declares `prune:` (args: %s)" % sync)
if jobs["xnat-cmd-status"].get("backoffLimit") != 0:
    fail("a drifting status Job is re-run (backoffLimit is not 0)")
for name, j in jobs.items():
    vols = {v["name"]: v for v in j["template"]["spec"]["volumes"]}
    if not vols["registry"]["secret"].get("optional"):
        fail(name + ": the registry pull secret must be optional (public images need none)")
print("\n".join(sorted(images)))
PY
}
if command -v kubectl >/dev/null 2>&1; then
  overlays=(deploy/kubernetes/overlays/*/)
  for k in "$base" "${overlays[@]%/}"; do
    kubectl kustomize "$k" >"$bad"
    "$kv" --strict --quiet -k "$(tail -n 1 <<<"$versions")" "$bad"
  done
  kubectl kustomize "$base" >"$bad"
  image=$(shipped_rules "$bad")
  want=$(sed -n '/^images:/,$p' "$base/kustomization.yaml" | "$venv/bin/python" -c '
import sys, yaml
i = yaml.safe_load(sys.stdin)["images"][0]
print("%s:%s" % (i["newName"], i["newTag"]))')
  [ "$image" = "$want" ] || { echo "the rendered base runs $image, not kustomization.yaml's images: $want" >&2; exit 1; }
  rendered="and the kustomize output of the base and ${#overlays[@]} overlay(s); the base's promises hold"
else
  shipped_rules "$base"/*.yaml >/dev/null
  rendered="(kubectl not installed: kustomize output not rendered)"
fi
echo "== ${#manifests[@]} manifests valid (strict) for $n Kubernetes versions ($(head -n 1 <<<"$versions")..$(tail -n 1 <<<"$versions")) $rendered" >&2
