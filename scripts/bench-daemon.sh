#!/usr/bin/env bash
# Benchmark `xnat-cmd inspect docker-daemon:REF` against `docker image inspect REF` and
# `skopeo inspect docker-daemon:REF` on a ~200 MB image in a private Podman API service.
#
# Usage: scripts/bench-daemon.sh [RUNS] (default 9). Needs podman, docker (CLI only), skopeo,
# python3; builds target/release/xnat-cmd unless XNAT_CMD points at a binary.
# Everything lives in a temp dir (vfs storage: no mounts) removed on exit.
set -euo pipefail

RUNS=${1:-9}
SIZE_MB=${SIZE_MB:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
XNAT_CMD=${XNAT_CMD:-$ROOT/target/release/xnat-cmd}
REF=docker.io/xnat/bench:v1

for tool in podman docker skopeo python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (apt-get install podman docker.io skopeo python3)" >&2; exit 1; }
done
if [[ $XNAT_CMD == "$ROOT/target/release/xnat-cmd" ]]; then
  (cd "$ROOT" && cargo build --release --quiet --bin xnat-cmd)
fi
[[ -x $XNAT_CMD ]] || { echo "error: $XNAT_CMD is not an executable" >&2; exit 1; }

W=$(mktemp -d /tmp/bench-daemon.XXXXXX)
PODMAN=(podman --root "$W/root" --runroot "$W/run" --tmpdir "$W/tmp" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file)
SERVICE_PID=
cleanup() {
  [[ -n $SERVICE_PID ]] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# --- a ~200 MB image as a `docker save` tar (one incompressible layer, a real label) -------
echo "building a ${SIZE_MB} MB image..." >&2
mkdir -p "$W/img/layer"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom > "$W/img/layer/big.bin"
tar -C "$W/img/layer" --owner=0 --group=0 --numeric-owner -cf "$W/img/layer.tar" big.bin
DIFF_ID=sha256:$(sha256sum "$W/img/layer.tar" | cut -d' ' -f1)
python3 - "$W/img" "$DIFF_ID" <<'EOF'
import json, sys
d, diff_id = sys.argv[1], sys.argv[2]
commands = [{"name": "bench", "version": "1.0", "image": "xnat/bench:v1", "type": "docker",
             "command-line": "run #IN# > #OUT#", "inputs": [], "outputs": []}]
config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
          "config": {"Labels": {"org.nrg.commands": json.dumps(commands)}},
          "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
open(f"{d}/config.json", "w").write(json.dumps(config))
EOF
CONFIG_HEX=$(sha256sum "$W/img/config.json" | cut -d' ' -f1)
mkdir -p "$W/img/tar/layer0"
mv "$W/img/config.json" "$W/img/tar/$CONFIG_HEX.json"
mv "$W/img/layer.tar" "$W/img/tar/layer0/layer.tar"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer0/layer.tar"]}]' "$CONFIG_HEX" "$REF" > "$W/img/tar/manifest.json"
tar -C "$W/img/tar" -cf "$W/image.tar" .
rm -rf "$W/img"

# --- the Podman service, the image loaded ----------------------------------------------
SOCK=$W/podman.sock
"${PODMAN[@]}" system service --time=0 "unix://$SOCK" > "$W/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 200); do
  [[ -S $SOCK ]] && break
  sleep 0.05
done
"${PODMAN[@]}" load -q -i "$W/image.tar" >&2
rm -f "$W/image.tar"
export DOCKER_HOST=unix://$SOCK

# skopeo ignores DOCKER_HOST: it gets --daemon-host.
# Every tool must read the same label before anything is timed.
want=$(DOCKER_HOST=$DOCKER_HOST docker image inspect "$REF" --format '{{index .Config.Labels "org.nrg.commands"}}')
got=$("$XNAT_CMD" inspect --json "docker-daemon:$REF" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["commands"]))')
[[ $(python3 -c 'import json,sys; print(json.loads(sys.argv[1]) == json.loads(sys.argv[2]))' "$want" "$got") == True ]] \
  || { echo "error: xnat-cmd read a different label: $got" >&2; exit 1; }
skopeo inspect --daemon-host "$DOCKER_HOST" "docker-daemon:$REF" > /dev/null

# --- timing -----------------------------------------------------------------------------
time_runs() { # NAME CMD... → prints the median in ms
  local name=$1; shift
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  python3 -c 'import statistics,sys; v=sorted(map(int,sys.argv[2:])); print(f"{sys.argv[1]} {statistics.median(v)/1000:.1f}")' "$name" "${times[@]}"
}

echo "timing $RUNS runs each (image $SIZE_MB MB, $(podman --version))..." >&2
results=$(
  time_runs xnat-cmd "$XNAT_CMD" inspect --json "docker-daemon:$REF"
  time_runs docker docker image inspect "$REF"
  time_runs skopeo skopeo inspect --daemon-host "$DOCKER_HOST" "docker-daemon:$REF"
)
python3 - "$results" <<'EOF'
import sys
ms = dict((n, float(t)) for n, t in (l.split() for l in sys.argv[1].splitlines()))
print(f"{'tool':<44} {'median ms':>10} {'vs xnat-cmd':>12}")
label = {"xnat-cmd": "xnat-cmd inspect docker-daemon:REF",
         "docker": "docker image inspect REF",
         "skopeo": "skopeo inspect docker-daemon:REF"}
for n in ("xnat-cmd", "docker", "skopeo"):
    print(f"{label[n]:<44} {ms[n]:>10.1f} {ms[n] / ms['xnat-cmd']:>11.1f}x")
ok_docker = ms["docker"] > ms["xnat-cmd"]
ok_skopeo = ms["skopeo"] >= 20 * ms["xnat-cmd"]
print(f"goal faster than docker: {'met' if ok_docker else 'NOT met'}; "
      f">= 20x faster than skopeo: {'met' if ok_skopeo else 'NOT met'}")
EOF
