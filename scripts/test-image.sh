#!/usr/bin/env bash
# Smoke test of the container image (scripts/build-image.sh): it runs, validates a mounted
# command file, installs into the XNAT emulator on the host with the password from a mounted
# file, and a second run writes nothing. Every check fails the script.
# Needs podman (with runc and catatonit), run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=localhost/xnat-cmd:test
w=$(mktemp -d)
emu=""
cleanup() { [ -n "$emu" ] && kill "$emu" 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT
# podman 4.3 on these machines: runc (crun cannot set rlimits here) and explicit ulimits.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' >"$w/containers.conf"
  export CONTAINERS_CONF="$w/containers.conf"
fi
fail() { echo "image test FAILED: $*" >&2; exit 1; }

bash scripts/build-image.sh "$tag" >"$w/built" || fail "build"
echo "== image $(cat "$w/built")" >&2
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
[ "$(podman run --rm "$tag" --version)" = "xnat-cmd $version" ] || fail "--version"
[ "$(podman image inspect "$tag" --format '{{.Config.User}}')" = "65532:65532" ] || fail "numeric non-root user"
[ "$(podman image inspect "$tag" --format '{{index .Labels "org.opencontainers.image.licenses"}}')" = "Apache-2.0" ] || fail "OCI labels"
out=$(podman run --rm -v "$PWD/examples/hello-xnat:/w:ro" "$tag" validate --image lab/hello /w/command.json) || fail "validate: $out"
grep -q '1 command checked: 1 valid, 0 invalid' <<<"$out" || fail "validate output: $out"

cargo build -q -p xnat-emulator --bin xnat-emulator
target/debug/xnat-emulator --bind 127.0.0.1:0 >"$w/emu.log" 2>&1 &
emu=$!
url=""
for _ in $(seq 100); do url=$(sed -n 's/^xnat-emulator listening on //p' "$w/emu.log" | head -n 1); [ -n "$url" ] && break; sleep 0.05; done
[ -n "$url" ] || fail "emulator did not start"
mkdir "$w/secret"; printf 'admin\n' >"$w/secret/token"
install() {
  podman run --rm --network host -e "XNAT_HOST=$url" -e XNAT_USER=admin -e XNAT_PASS_FILE=/var/run/secrets/xnat/token \
    -v "$w/secret:/var/run/secrets/xnat:ro" -v "$PWD/examples/hello-xnat:/w:ro" \
    "$tag" install oci-archive:/w/image.oci.tar --enable-site --enable-project DEMO
}
out=$(install) || fail "install: $out"
grep -q '2 created, 0 updated, 0 unchanged, 0 failed or in conflict' <<<"$out" || fail "first install: $out"
out=$(install) || fail "second install: $out"
grep -q '0 created, 0 updated, 2 unchanged, 0 failed or in conflict; 0 writes' <<<"$out" || fail "re-run wrote: $out"
echo "== image: --version, user, labels, validate, install, re-run without writes: ok" >&2
