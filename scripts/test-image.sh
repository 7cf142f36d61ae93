#!/usr/bin/env bash
# Smoke test of the container image (scripts/build-image.sh): it runs, validates a mounted
# command file, installs into the XNAT emulator on the host with the password from a mounted
# file, and a second run writes nothing. Then the CronJobs' pod specs from deploy/kubernetes
# run as written under `podman kube play` (ConfigMap from the same manifests, the fleet's images
# filled in) against the emulator and a token registry on the host: without `regcred` (public
# images synced, status in sync, a second sync writes nothing); a private image (refused
# without `regcred`, synced with it); an image dropped from the fleet (status exits 3, the sync
# prunes it, status then exits 0). The logs of every sync, one of them at -vv, are scanned for
# the test secrets (the XNAT password, the registry password and their base64 forms). Every
# check fails the script.
# Needs podman (with runc and catatonit), run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=localhost/xnat-cmd:test
w=$(mktemp -d)
emu=""
tb=""
cleanup() {
  [ -n "$emu" ] && kill "$emu" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  [ -n "$tb" ] && wait "$tb" 2>/dev/null || true
  podman pod rm -f xnat-cmd-sync xnat-cmd-status >/dev/null 2>&1 || true
  rm -rf "$w"
}
trap cleanup EXIT
# podman 4.3 on these machines: runc (crun cannot set rlimits here) and explicit ulimits.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' >"$w/containers.conf"
  export CONTAINERS_CONF="$w/containers.conf"
fi
fail() { echo "image test FAILED: $*" >&2; exit 1; }
# The test secrets: distinctive, so a leak cannot hide among ordinary words. The registry
# user is the test registry's own (examples/registry_testbed.rs).
xnat_pw=xnat-pod-S3cret-4e1d
reg_user=testuser reg_pw=testpass
# Fail if FILE holds a test secret, as is or base64-encoded (alone or as a user:pass pair).
scan_secrets() {
  local s
  for s in "$xnat_pw" "$reg_pw" "$(printf %s "$xnat_pw" | base64 -w0)" "$(printf %s "$reg_pw" | base64 -w0)" \
    "$(printf %s "admin:$xnat_pw" | base64 -w0)" "$(printf %s "$reg_user:$reg_pw" | base64 -w0)"; do
    ! grep -qF -- "$s" "$1" || fail "a test secret is in the output of $2"
  done
}

bash scripts/build-image.sh "$tag" >"$w/built" || fail "build"
echo "== image $(cat "$w/built")" >&2
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# `xnat-cmd VERSION`, with the commit in parentheses when built from a checkout (build.rs).
[[ "$(podman run --rm "$tag" --version)" =~ ^xnat-cmd\ $version(\ \([0-9a-f]{7,}\))?$ ]] || fail "--version"
[ "$(podman image inspect "$tag" --format '{{.Config.User}}')" = "65532:65532" ] || fail "numeric non-root user"
[ "$(podman image inspect "$tag" --format '{{index .Labels "org.opencontainers.image.licenses"}}')" = "Apache-2.0" ] || fail "OCI labels"
out=$(podman run --rm -v "$PWD/examples/hello-xnat:/w:ro" "$tag" validate --image lab/hello /w/command.json) || fail "validate: $out"
grep -q '1 command checked: 1 valid, 0 invalid' <<<"$out" || fail "validate output: $out"

cargo build -q -p xnat-emulator --bin xnat-emulator
target/debug/xnat-emulator --bind 127.0.0.1:0 --test-hooks --project DEMO \
  --user "admin:$xnat_pw:Administrator,ContainerManager" >"$w/emu.log" 2>&1 &
emu=$!
url=""
# Waits poll up to a generous bound (60 s, 120 s) so a busy machine does not fail the run.
for _ in $(seq 1200); do url=$(sed -n 's/^xnat-emulator listening on //p' "$w/emu.log" | head -n 1); [ -n "$url" ] && break; sleep 0.05; done
[ -n "$url" ] || fail "emulator did not start"
mkdir "$w/secret"; printf '%s\n' "$xnat_pw" >"$w/secret/token"
install() {
  podman run --rm --network host -e "XNAT_HOST=$url" -e XNAT_USER=admin -e XNAT_PASS_FILE=/var/run/secrets/xnat/token \
    -v "$w/secret:/var/run/secrets/xnat:ro" -v "$PWD/examples/hello-xnat:/w:ro" \
    "$tag" "$@" install oci-archive:/w/image.oci.tar --enable-site --enable-project DEMO 2>&1
}
out=$(install) || fail "install: $out"
grep -q '2 created, 0 updated, 0 enabled, 0 unchanged, 0 failed or in conflict' <<<"$out" || fail "first install: $out"
out=$(install) || fail "second install: $out"
grep -q '0 created, 0 updated, 0 enabled, 2 unchanged, 0 failed or in conflict; 0 writes' <<<"$out" || fail "re-run wrote: $out"
install -vv >"$w/install-vv.log" || fail "install -vv: $(cat "$w/install-vv.log")"
grep -q DEBUG "$w/install-vv.log" || fail "install -vv logged no DEBUG line"
scan_secrets "$w/install-vv.log" "install -vv"
echo "== image: --version, user, labels, validate, install, re-run without writes: ok" >&2

# The CronJobs' pod specs, as written, under podman kube play. Substitutions, the least that
# lets them run here: `hostNetwork: true` (the emulator and registry listen on the host's
# loopback), the local image tag, the fleet file's images and `prune:` glob (the test
# registry's), and the two Secret volumes as hostPath directories holding the same keys —
# podman 4.3 mounts a Secret's data still base64-encoded (and, without `optional` spelt out,
# crashes on it). Without `regcred` the registry folder is empty, as Kubernetes mounts an
# absent optional Secret. The ConfigMap comes from the same manifests.
cargo build -q --example registry_testbed
mkfifo "$w/tbctl"
IMAGES=2 PRIVATE=1 target/debug/examples/registry_testbed <"$w/tbctl" >"$w/tb.env" &
tb=$!
exec 3>"$w/tbctl"
for _ in $(seq 1200); do grep -q READY "$w/tb.env" 2>/dev/null && break; sleep 0.1; done
registry=$(sed -n 's/^REGISTRY=//p' "$w/tb.env")
[ -n "$registry" ] || fail "test registry did not start"
mkdir -p "$w/xnat" "$w/regcred" "$w/no-regcred"
printf '%s\n' "$url" >"$w/xnat/url"; printf 'admin\n' >"$w/xnat/user"; printf '%s\n' "$xnat_pw" >"$w/xnat/token"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$registry" "$(printf %s "$reg_user:$reg_pw" | base64 -w0)" >"$w/regcred/.dockerconfigjson"
chmod -R a+rX "$w/xnat" "$w/regcred" "$w/no-regcred"; chmod a+x "$w"
[ -x target/k8s-validate/bin/python ] || bash scripts/test-k8s.sh
# pod_spec CRONJOB REGISTRY_DIR IMAGES [EXTRA_ARG…] > FILE: the CronJob's pod, fleet of IMAGES
# (comma-separated repositories under the test registry's xnat/), extra args first.
pod_spec() {
  target/k8s-validate/bin/python - "$registry" "$tag" "$w" "$@" <<'PY'
import sys, yaml
registry, tag, w, cronjob, regdir, images = sys.argv[1:7]
extra = sys.argv[7:]
base = "deploy/kubernetes/base/"
cm = yaml.safe_load(open(base + "configmap-fleet.yaml"))
fleet = yaml.safe_load(cm["data"]["fleet.yaml"])
fleet["images"] = [{"image": f"{registry}/xnat/{i}:v1", "enable": {"site": True}}
                   for i in images.split(",")]
fleet["prune"] = [f"{registry}/xnat/*"]
cm["data"]["fleet.yaml"] = yaml.safe_dump(fleet)
cj = yaml.safe_load(open(base + f"cronjob-{cronjob}.yaml"))
tpl = cj["spec"]["jobTemplate"]["spec"]["template"]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": f"xnat-cmd-{cronjob}", "labels": tpl["metadata"]["labels"]},
       "spec": tpl["spec"]}
c = pod["spec"]["containers"][0]
c["image"] = tag
c["args"] = extra + c["args"]
pod["spec"]["hostNetwork"] = True
dirs = {"xnat": "xnat", "registry": regdir}
for v in pod["spec"]["volumes"]:
    if v["name"] in dirs:
        v.pop("secret")
        v["hostPath"] = {"path": f"{w}/{dirs[v['name']]}", "type": "Directory"}
print(yaml.safe_dump_all([cm, pod]))
PY
}
writes() { python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$url/__emulator/counters'))['writes'])"; }
# play WANT_EXIT CRONJOB REGISTRY_DIR IMAGES [EXTRA_ARG…]: play the pod, wait, keep its log in
# $w/pod.log and the numbers of its summary row (`default …`) in $row.
play() {
  local want=$1 cronjob=$2
  shift 2
  pod_spec "$cronjob" "$@" >"$w/pod.yaml" || fail "pod spec"
  podman pod rm -f "xnat-cmd-$cronjob" >/dev/null 2>&1 || true
  podman kube play "$w/pod.yaml" >/dev/null || fail "kube play ($cronjob $*)"
  code=$(podman wait "xnat-cmd-$cronjob-xnat-cmd") || fail "podman wait"
  podman logs "xnat-cmd-$cronjob-xnat-cmd" >"$w/pod.log" 2>&1 || true
  podman pod rm -f "xnat-cmd-$cronjob" >/dev/null 2>&1 || true
  [ "$code" = "$want" ] || fail "the $cronjob pod ($*) exited $code, not $want: $(cat "$w/pod.log")"
  row=$(awk '$1 == "default" && NF >= 6 { $1 = ""; print substr($0, 2) }' "$w/pod.log")
}
# expect_row WANT WHAT: the summary row (sync: created updated enabled unchanged removed failed;
# status: missing outdated modified enablement orphan conflict unreadable).
expect_row() { [ "$row" = "$1" ] || fail "$2: summary row \`$row\`, not \`$1\`: $(cat "$w/pod.log")"; }

# 1. No `regcred` at all (its folder empty), public images: synced, and status in sync.
before=$(writes)
play 0 sync no-regcred bench-0,bench-1
expect_row "2 0 0 0 0 0" "sync without regcred"
after=$(writes)
[ $((after - before)) -gt 0 ] || fail "the first sync wrote nothing"
scan_secrets "$w/pod.log" "the sync pod"
play 0 status no-regcred bench-0,bench-1
expect_row "0 0 0 0 0 0 0" "status without regcred"
# A second sync writes nothing.
play 0 sync no-regcred bench-0,bench-1
expect_row "0 0 0 2 0 0" "second sync"
[ "$(writes)" = "$after" ] || fail "the second sync wrote to XNAT"
echo "== kube play, no regcred: public images synced, status in sync, a second sync wrote nothing: ok" >&2

# 2. A private image: refused without `regcred` (nothing else changes), synced with it.
play 1 sync no-regcred bench-0,bench-1,private-0
grep -q "private-0:v1. needs credentials and none were found" "$w/pod.log" || fail "private image without regcred: $(cat "$w/pod.log")"
play 0 sync regcred bench-0,bench-1,private-0
expect_row "1 0 0 2 0 0" "sync of a private image with regcred"
scan_secrets "$w/pod.log" "the sync pod with regcred"
# The same pod at -vv (the CronJob's verbosity plus two), for the secret scan.
play 0 sync regcred bench-0,bench-1,private-0 -vv
grep -q DEBUG "$w/pod.log" || fail "the -vv pod logged no DEBUG line: $(cat "$w/pod.log")"
expect_row "0 0 0 3 0 0" "sync at -vv"
scan_secrets "$w/pod.log" "the sync pod at -vv"
echo "== kube play, private image: refused without regcred, synced with it, no secret in the logs at -vv: ok" >&2

# 3. An image leaves the fleet file: status reports the orphan (exit 3) until the next sync
# prunes it; then the shipped status pod exits 0.
play 3 status regcred bench-0,private-0
expect_row "0 0 0 0 1 0 0" "status after bench-1 left the file"
play 0 sync regcred bench-0,private-0
expect_row "0 0 0 2 1 0" "sync after bench-1 left the file"
grep -q "^removed .*bench-1" "$w/pod.log" || fail "bench-1 not pruned: $(cat "$w/pod.log")"
play 0 status regcred bench-0,private-0
expect_row "0 0 0 0 0 0 0" "status after the prune"
echo "== kube play, an image dropped from the fleet: pruned by the sync pod, then the status pod exits 0: ok" >&2
