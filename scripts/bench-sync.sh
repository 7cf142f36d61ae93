#!/usr/bin/env bash
# Benchmark `xnat-cmd sync` of N images (default 40; try 400) from a token-auth docker-registry
# on 127.0.0.1 into the XNAT emulator, every command enabled site-wide:
#   1. cold sync (empty XNAT, empty digest cache): wall time, XNAT requests and writes,
#      registry requests (access log, token requests not included), peak RSS;
#   2. unchanged re-sync with the persistent digest cache (goal: 0 XNAT writes, <= 1 registry
#      request per image);
#   3. reading all N labels: one `xnat-cmd inspect` of N references vs N sequential
#      `skopeo inspect --config` calls, side by side.
# Needs: docker-registry, skopeo, python3. Usage: scripts/bench-sync.sh [N=40]
set -euo pipefail
N=${1:-40}
cd "$(dirname "$0")/.."
cargo build -q --release --workspace --bins --example registry_testbed
BIN=$PWD/target/release
W=$(mktemp -d)
mkfifo "$W/ctl"
IMAGES=$N target/release/examples/registry_testbed <"$W/ctl" >"$W/env" &
TB=$!
exec 3>"$W/ctl"
"$BIN/xnat-emulator" --bind 127.0.0.1:0 --test-hooks >"$W/emu.log" 2>&1 &
EMU=$!
cleanup() { exec 3>&- || true; kill "$EMU" 2>/dev/null || true; wait "$TB" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
for _ in $(seq 600); do grep -q READY "$W/env" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
source <(grep '=' "$W/env")
URL=""
for _ in $(seq 100); do URL=$(sed -n 's/^xnat-emulator listening on //p' "$W/emu.log" | head -n 1); [ -n "$URL" ] && break; sleep 0.05; done
export XNAT_HOST="$URL" XNAT_USER=admin XNAT_PASS=admin

{
  echo "images:"
  for i in $(seq 0 $((N - 1))); do
    echo "  - image: $REGISTRY/xnat/bench-$i:v1"
    echo "    enable: {site: true}"
  done
} >"$W/fleet.yaml"

counters() { python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('$URL/__emulator/counters')); print(c['requests'], c['writes'])"; }
reg_requests() { grep -c '"GET /v2/\|"HEAD /v2/' "$ACCESS_LOG" || true; }
# wall ms and peak RSS (KiB) of one run of "$@"
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
ms = (time.monotonic() - t) * 1000
if r.returncode != 0:
    sys.exit(f"FAILED ({r.returncode}): {' '.join(sys.argv[1:])}\n{r.stderr.decode()}")
print(f"{ms:.0f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}

CACHE="$W/cache"
SYNC=("$BIN/xnat-cmd" sync "$W/fleet.yaml" --insecure-registry "$REGISTRY" --registry-cache "$CACHE")
run() {
  local label=$1 c0 r0 out c1 r1
  read -r -a c0 <<<"$(counters)"; r0=$(reg_requests)
  out=$(measure "${SYNC[@]}")
  read -r -a c1 <<<"$(counters)"; r1=$(reg_requests)
  read -r ms rss <<<"$out"
  printf '%-10s %6d ms  XNAT %5d requests %5d writes  registry %5d requests  peak RSS %5.1f MB\n' \
    "$label" "$ms" $((c1[0] - c0[0])) $((c1[1] - c0[1])) $((r1 - r0)) "$(awk -v k="$rss" 'BEGIN{print k/1024}')"
}
echo "sync of $N images ($N commands, $N wrappers enabled site-wide), token registry + emulator on loopback"
run cold
run re-sync

REFS=(); for i in $(seq 0 $((N - 1))); do REFS+=("$REGISTRY/xnat/bench-$i:v1"); done
read -r X _ <<<"$(measure "$BIN/xnat-cmd" inspect --no-registry-cache --insecure-registry "$REGISTRY" "${REFS[@]}")"
t0=$(date +%s%N)
for r in "${REFS[@]}"; do skopeo inspect --tls-verify=false --config "docker://$r" >/dev/null; done
S=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "reading $N labels: xnat-cmd $X ms (one run, cold), skopeo x$N $S ms, ratio $(awk -v a="$X" -v b="$S" 'BEGIN{printf "%.3f", a/b}')"
echo "machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%d)"
