#!/usr/bin/env bash
# Smoke test of the container image (scripts/build-image.sh): it runs, validates a mounted
# command file, installs into the XNAT emulator on the host with the password from a mounted
# file, and a second run writes nothing. Then the sync CronJob's pod spec from
# deploy/kubernetes runs as written under `podman kube play` (ConfigMap from the same manifests,
# placeholders filled in) against the emulator and a token registry on the host; a second play
# writes nothing; a third play at -vv, and the logs of every run, are scanned for the test
# secrets (the XNAT password, the registry password and their base64 forms). Every check
# fails the script.
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
  podman pod rm -f xnat-cmd-sync >/dev/null 2>&1 || true
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
[ "$(podman run --rm "$tag" --version)" = "xnat-cmd $version" ] || fail "--version"
[ "$(podman image inspect "$tag" --format '{{.Config.User}}')" = "65532:65532" ] || fail "numeric non-root user"
[ "$(podman image inspect "$tag" --format '{{index .Labels "org.opencontainers.image.licenses"}}')" = "Apache-2.0" ] || fail "OCI labels"
out=$(podman run --rm -v "$PWD/examples/hello-xnat:/w:ro" "$tag" validate --image lab/hello /w/command.json) || fail "validate: $out"
grep -q '1 command checked: 1 valid, 0 invalid' <<<"$out" || fail "validate output: $out"

cargo build -q -p xnat-emulator --bin xnat-emulator
target/debug/xnat-emulator --bind 127.0.0.1:0 --test-hooks --project DEMO \
  --user "admin:$xnat_pw:Administrator,ContainerManager" >"$w/emu.log" 2>&1 &
emu=$!
url=""
for _ in $(seq 100); do url=$(sed -n 's/^xnat-emulator listening on //p' "$w/emu.log" | head -n 1); [ -n "$url" ] && break; sleep 0.05; done
[ -n "$url" ] || fail "emulator did not start"
mkdir "$w/secret"; printf '%s\n' "$xnat_pw" >"$w/secret/token"
install() {
  podman run --rm --network host -e "XNAT_HOST=$url" -e XNAT_USER=admin -e XNAT_PASS_FILE=/var/run/secrets/xnat/token \
    -v "$w/secret:/var/run/secrets/xnat:ro" -v "$PWD/examples/hello-xnat:/w:ro" \
    "$tag" "$@" install oci-archive:/w/image.oci.tar --enable-site --enable-project DEMO 2>&1
}
out=$(install) || fail "install: $out"
grep -q '2 created, 0 updated, 0 unchanged, 0 failed or in conflict' <<<"$out" || fail "first install: $out"
out=$(install) || fail "second install: $out"
grep -q '0 created, 0 updated, 2 unchanged, 0 failed or in conflict; 0 writes' <<<"$out" || fail "re-run wrote: $out"
install -vv >"$w/install-vv.log" || fail "install -vv: $(cat "$w/install-vv.log")"
grep -q DEBUG "$w/install-vv.log" || fail "install -vv logged no DEBUG line"
scan_secrets "$w/install-vv.log" "install -vv"
echo "== image: --version, user, labels, validate, install, re-run without writes: ok" >&2

# The CronJob's pod spec, as written, under podman kube play. Substitutions, the least that
# lets it run here: `hostNetwork: true` (the emulator and registry listen on the host's
# loopback), the local image tag, and the two Secret volumes as hostPath directories holding
# the same keys — podman 4.3 mounts a Secret's data still base64-encoded (and, without
# `optional` spelt out, crashes on it). The ConfigMap comes from the same manifests.
cargo build -q --example registry_testbed
mkfifo "$w/tbctl"
IMAGES=1 target/debug/examples/registry_testbed <"$w/tbctl" >"$w/tb.env" &
tb=$!
exec 3>"$w/tbctl"
for _ in $(seq 300); do grep -q READY "$w/tb.env" 2>/dev/null && break; sleep 0.1; done
registry=$(sed -n 's/^REGISTRY=//p' "$w/tb.env")
[ -n "$registry" ] || fail "test registry did not start"
mkdir -p "$w/xnat" "$w/registry"
printf '%s\n' "$url" >"$w/xnat/url"; printf 'admin\n' >"$w/xnat/user"; printf '%s\n' "$xnat_pw" >"$w/xnat/token"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$registry" "$(printf %s "$reg_user:$reg_pw" | base64 -w0)" >"$w/registry/.dockerconfigjson"
chmod -R a+rX "$w/xnat" "$w/registry"; chmod a+x "$w"
[ -x target/k8s-validate/bin/python ] || bash scripts/test-k8s.sh
target/k8s-validate/bin/python - "$registry" "$tag" "$w" >"$w/pod.yaml" <<'PY'
import sys, yaml
registry, tag, w = sys.argv[1:4]
base = "deploy/kubernetes/base/"
cm = yaml.safe_load(open(base + "configmap-fleet.yaml"))
cm["data"]["fleet.yaml"] = f"images:\n  - image: {registry}/xnat/bench-0:v1\n    enable: {{site: true}}\n"
cj = yaml.safe_load(open(base + "cronjob-sync.yaml"))
tpl = cj["spec"]["jobTemplate"]["spec"]["template"]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "xnat-cmd-sync", "labels": tpl["metadata"]["labels"]}, "spec": tpl["spec"]}
pod["spec"]["containers"][0]["image"] = tag
pod["spec"]["hostNetwork"] = True
for v in pod["spec"]["volumes"]:
    if v["name"] in ("xnat", "registry"):
        v.pop("secret")
        v["hostPath"] = {"path": f"{w}/{v['name']}", "type": "Directory"}
print(yaml.safe_dump_all([cm, pod]))
PY
# The same pod at -vv (the CronJob's verbosity plus two), for the secret scan.
target/k8s-validate/bin/python - "$w/pod.yaml" >"$w/pod-vv.yaml" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
docs[1]["spec"]["containers"][0]["args"].insert(0, "-vv")
print(yaml.safe_dump_all(docs))
PY
writes() { python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$url/__emulator/counters'))['writes'])"; }
play() {
  podman pod rm -f xnat-cmd-sync >/dev/null 2>&1 || true
  podman kube play "${1:-$w/pod.yaml}" >/dev/null || fail "kube play"
  code=$(podman wait xnat-cmd-sync-xnat-cmd) || fail "podman wait"
  podman logs xnat-cmd-sync-xnat-cmd >"$w/pod.log" 2>&1 || true
  [ "$code" = 0 ] || fail "the pod exited $code: $(cat "$w/pod.log")"
}
before=$(writes)
play
grep -q '^default  1        0        0          0        0$' "$w/pod.log" || fail "first play: $(cat "$w/pod.log")"
after=$(writes)
[ $((after - before)) -gt 0 ] || fail "first play wrote nothing"
play
grep -q '^default  0        0        1          0        0$' "$w/pod.log" || fail "second play: $(cat "$w/pod.log")"
[ "$(writes)" = "$after" ] || fail "second play wrote to XNAT"
scan_secrets "$w/pod.log" "the pod"
play "$w/pod-vv.yaml"
grep -q DEBUG "$w/pod.log" || fail "the -vv pod logged no DEBUG line: $(cat "$w/pod.log")"
grep -q '^default  0        0        1          0        0$' "$w/pod.log" || fail "-vv play: $(cat "$w/pod.log")"
scan_secrets "$w/pod.log" "the pod at -vv"
echo "== kube play of the sync CronJob's pod spec: synced, second play wrote nothing, no secret in the logs at -vv: ok" >&2
