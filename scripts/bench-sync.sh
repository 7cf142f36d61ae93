#!/usr/bin/env bash
# Benchmark `xnat-cmd sync` of N images (default 40; try 400) from a token-auth docker-registry
# on 127.0.0.1 into the XNAT emulator, every command enabled site-wide:
#   1. cold sync (empty XNAT, empty digest cache): wall time, XNAT requests and writes,
#      registry requests (access log, token requests not included), peak RSS;
#   2. unchanged re-sync with the persistent digest cache (goal: 0 XNAT writes, <= 1 registry
#      request per image);
#   3. reading all N labels: one `xnat-cmd inspect` of N references vs N sequential
#      `skopeo inspect --config` calls, side by side; and vs the floor, the same 2N requests
#      (manifest + config, one token) made by `curl --parallel`;
#   4. the same through a proxy that adds DELAY ms (default 30) to every registry request, as a
#      registry across the internet does (goal: <= 0.05 of skopeo's time);
#   5. the XNAT side (issue 20): the same N images enabled site-wide and in project DEMO, synced
#      into emulators each behind a proxy that adds XNAT_DELAY ms (default DELAY) to every XNAT
#      request, as a remote or busy XNAT does: cold and unchanged re-sync into one site, then a
#      cold sync into SITES sites (default 5) from one fleet file; wall time, XNAT requests
#      (every site's), and requests x delay (what strictly one-at-a-time requests cost); each
#      run with the default --xnat-concurrency and with --xnat-concurrency 1 (one command after
#      another on each site; the sites of a fleet run still go up to 8 at once), side by side,
#      into separate fresh emulators; with the peak RSS of the default column's run.
# Needs: docker-registry, skopeo, curl, python3.
# XNAT_CONCURRENCY=N runs part 5's first column with --xnat-concurrency N (default: the
# binary's default); XNAT_ONLY=1 runs part 5 alone.
# Usage: [SITES=5] [XNAT_DELAY=MS] [XNAT_CONCURRENCY=N] [XNAT_ONLY=1] scripts/bench-sync.sh [N=40] [DELAY=30]
set -euo pipefail
N=${1:-40}
DELAY=${2:-30}
XNAT_DELAY=${XNAT_DELAY:-$DELAY}
SITES=${SITES:-5}
XNAT_CONCURRENCY=${XNAT_CONCURRENCY:-}
XNAT_ONLY=${XNAT_ONLY:-}
cd "$(dirname "$0")/.."
cargo build -q --release --workspace --bins --example registry_testbed --example latency_proxy
BIN=$PWD/target/release
W=$(mktemp -d)
mkfifo "$W/ctl"
IMAGES=$N target/release/examples/registry_testbed <"$W/ctl" >"$W/env" &
TB=$!
exec 3>"$W/ctl"
"$BIN/xnat-emulator" --bind 127.0.0.1:0 --test-hooks >"$W/emu.log" 2>&1 &
EMU=$!
mkfifo "$W/pctl"
PX=""
XPIDS=()
cleanup() {
  # The XNAT-side emulators and proxies first: a child started after fd 3 was opened holds
  # the testbed's stdin too, which would then never see its end.
  exec 5>&- 2>/dev/null || true
  for p in "${XPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  exec 3>&- || true; exec 4>&- 2>/dev/null || true
  kill "$EMU" 2>/dev/null || true; wait "$TB" 2>/dev/null || true
  [ -n "$PX" ] && wait "$PX" 2>/dev/null || true
  rm -rf "$W"
}
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
if [ -z "$XNAT_ONLY" ]; then
echo "sync of $N images ($N commands, $N wrappers enabled site-wide), token registry + emulator on loopback"
run cold
run re-sync

REFS=(); for i in $(seq 0 $((N - 1))); do REFS+=("$REGISTRY/xnat/bench-$i:v1"); done
read -r X _ <<<"$(measure "$BIN/xnat-cmd" inspect --no-registry-cache --insecure-registry "$REGISTRY" "${REFS[@]}")"
skopeo_all() { for r in "$@"; do skopeo inspect --tls-verify=false --config "docker://$r" >/dev/null; done; }
t0=$(date +%s%N); skopeo_all "${REFS[@]}"; S=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "reading $N labels on loopback: xnat-cmd $X ms (cold, one run), skopeo x$N $S ms, ratio $(awk -v a="$X" -v b="$S" 'BEGIN{printf "%.3f", a/b}')"

# The floor: the registry's own time for the same 2N GETs (manifest, config) with one token,
# from curl --parallel over kept-alive connections.
challenge=$(curl -s -D - -o /dev/null "http://$REGISTRY/v2/xnat/bench-0/manifests/v1" | tr -d '\r' | sed -n 's/^[Ww]ww-[Aa]uthenticate: Bearer //p')
realm=$(sed -n 's/.*realm="\([^"]*\)".*/\1/p' <<<"$challenge")
service=$(sed -n 's/.*service="\([^"]*\)".*/\1/p' <<<"$challenge")
scopes=""; for i in $(seq 0 $((N - 1))); do scopes+="&scope=repository:xnat/bench-$i:pull"; done
token=$(curl -s "$realm?service=$service$scopes" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("token") or d["access_token"])')
"$BIN/xnat-cmd" inspect --json --no-registry-cache --insecure-registry "$REGISTRY" "${REFS[@]}" \
  | python3 -c '
import json, sys
reg = sys.argv[1]
for i, o in enumerate(json.load(sys.stdin)):
    d = o["config_digest"]
    print(f"url = \"http://{reg}/v2/xnat/bench-{i}/manifests/v1\"\noutput = /dev/null")
    print(f"url = \"http://{reg}/v2/xnat/bench-{i}/blobs/{d}\"\noutput = /dev/null")
' "$REGISTRY" >"$W/curl.cfg"
curl_all() {
  curl -s --parallel --parallel-max 64 -H "Authorization: Bearer $token" \
    -H "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" \
    -K "$W/curl.cfg"
}
t0=$(date +%s%N); curl_all; C=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "floor: curl --parallel, the same $((2 * N)) GETs with one token: $C ms; xnat-cmd takes $(awk -v a="$X" -v b="$C" 'BEGIN{printf "%.1f", a/b}')x that (with its 401, tokens and digest checks)"

# Through a proxy that delays every registry request by DELAY ms.
target/release/examples/latency_proxy "$REGISTRY" "$DELAY" <"$W/pctl" >"$W/penv" 2>"$W/pstats" &
PX=$!
exec 4>"$W/pctl"
for _ in $(seq 100); do grep -q PROXY= "$W/penv" 2>/dev/null && break; sleep 0.05; done
PROXY=$(sed -n 's/^PROXY=//p' "$W/penv")
PREFS=(); for i in $(seq 0 $((N - 1))); do PREFS+=("$PROXY/xnat/bench-$i:v1"); done
read -r XP _ <<<"$(measure "$BIN/xnat-cmd" inspect --no-registry-cache --insecure-registry "$PROXY" "${PREFS[@]}")"
t0=$(date +%s%N); skopeo_all "${PREFS[@]}"; SP=$(( ($(date +%s%N) - t0) / 1000000 ))
exec 4>&-; wait "$PX" 2>/dev/null || true; PX=""
echo "reading $N labels, +${DELAY} ms per request: xnat-cmd $XP ms, skopeo x$N $SP ms, ratio $(awk -v a="$XP" -v b="$SP" 'BEGIN{printf "%.3f", a/b}') (goal <= 0.05)"
echo "  $(cat "$W/pstats") (both tools together)"

fi

# ---- 5. The XNAT side: emulators behind a delaying proxy (the registry is read directly).
mkfifo "$W/xctl"
# start_site I: an emulator and its proxy; sets SITE_URL (through the proxy) and SITE_DIRECT.
start_site() {
  local i=$1 url="" purl=""
  "$BIN/xnat-emulator" --bind 127.0.0.1:0 --test-hooks >"$W/emu$i.log" 2>&1 3>&- 4>&- &
  XPIDS+=($!)
  for _ in $(seq 100); do url=$(sed -n 's/^xnat-emulator listening on //p' "$W/emu$i.log" | head -n 1); [ -n "$url" ] && break; sleep 0.05; done
  target/release/examples/latency_proxy "${url#http://}" "$XNAT_DELAY" <"$W/xctl" >"$W/xpenv$i" 2>/dev/null 3>&- 4>&- &
  XPIDS+=($!)
  SITE_DIRECT=$url
  SITE_PROXY_ENV=$W/xpenv$i
}
sum_counters() {
  local total_r=0 total_w=0 u r w
  for u in "$@"; do
    read -r r w <<<"$(python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('$u/__emulator/counters')); print(c['requests'], c['writes'])")"
    total_r=$((total_r + r)); total_w=$((total_w + w))
  done
  echo "$total_r $total_w"
}
DIRECT=(); PROXIED=()
# Two sets of 1 + SITES sites: one for the default concurrency, one for --xnat-concurrency 1.
for i in $(seq 0 $((2 * SITES + 1))); do
  start_site "$i"; DIRECT+=("$SITE_DIRECT"); PROXY_ENVS+=("$SITE_PROXY_ENV")
done
exec 5>"$W/xctl"
for e in "${PROXY_ENVS[@]}"; do
  for _ in $(seq 100); do grep -q PROXY= "$e" 2>/dev/null && break; sleep 0.05; done
  PROXIED+=("http://$(sed -n 's/^PROXY=//p' "$e")")
done
# fleet_for FIRST COUNT: the N images, enabled site-wide and in DEMO, into sites FIRST..
fleet_for() {
  echo "images:"
  for i in $(seq 0 $((N - 1))); do
    echo "  - image: $REGISTRY/xnat/bench-$i:v1"
    echo "    enable: {site: true, projects: [DEMO]}"
  done
  echo "sites:"
  for s in $(seq "$1" $(($1 + $2 - 1))); do echo "  s$s: {url: \"${PROXIED[$s]}\"}"; done
}
B=$((SITES + 1))
fleet_for 0 1 >"$W/fleet-1.yaml"
fleet_for 1 "$SITES" >"$W/fleet-s.yaml"
fleet_for "$B" 1 >"$W/fleet-1-seq.yaml"
fleet_for $((B + 1)) "$SITES" >"$W/fleet-s-seq.yaml"
# xsync FILE CONCURRENCY DIRECT_URL...: "wall_s requests writes" of one sync of FILE.
xsync() {
  local file=$1 xc=$2 c0 c1 out ms rss
  shift 2
  read -r -a c0 <<<"$(sum_counters "$@")"
  out=$(measure "$BIN/xnat-cmd" sync "$file" --insecure-registry "$REGISTRY" \
    --registry-cache "$W/xcache-$(basename "$file")" ${xc:+--xnat-concurrency "$xc"})
  read -r -a c1 <<<"$(sum_counters "$@")"
  read -r ms rss <<<"$out"
  echo "$(awk -v m="$ms" 'BEGIN{printf "%.2f", m/1000}') $((c1[0] - c0[0])) $((c1[1] - c0[1])) $(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')"
}
# xrun LABEL FILE FILE_SEQ COUNT FIRST FIRST_SEQ: one table row, default vs --xnat-concurrency 1.
xrun() {
  local label=$1 file=$2 seq_file=$3 count=$4 a b
  read -r -a a <<<"$(xsync "$file" "$XNAT_CONCURRENCY" "${DIRECT[@]:$5:$count}")"
  read -r -a b <<<"$(xsync "$seq_file" 1 "${DIRECT[@]:$6:$count}")"
  local req="${a[1]}" wr="${a[2]}"
  [ "${a[1]}" = "${b[1]}" ] || req="${a[1]} / ${b[1]}"
  [ "${a[2]}" = "${b[2]}" ] || wr="${a[2]} / ${b[2]}"
  printf '| %s | %s s | %s s | %s | %s | %.1f s | %s MB |\n' "$label" "${a[0]}" "${b[0]}" "$req" "$wr" \
    "$(awk -v r="${b[1]}" -v d="$XNAT_DELAY" 'BEGIN{print r*d/1000}')" "${a[3]}"
}
echo
echo "XNAT side: $N images (one command, one wrapper each) enabled site-wide and in DEMO, +$XNAT_DELAY ms per XNAT request"
echo "| run | wall, --xnat-concurrency ${XNAT_CONCURRENCY:-default} | wall, --xnat-concurrency 1 | XNAT requests | XNAT writes | requests x $XNAT_DELAY ms | peak RSS (default) |"
echo "|---|---|---|---|---|---|---|"
xrun "cold sync, 1 site" "$W/fleet-1.yaml" "$W/fleet-1-seq.yaml" 1 0 "$B"
xrun "re-sync, nothing changed" "$W/fleet-1.yaml" "$W/fleet-1-seq.yaml" 1 0 "$B"
xrun "cold sync, $SITES sites" "$W/fleet-s.yaml" "$W/fleet-s-seq.yaml" "$SITES" 1 $((B + 1))
exec 5>&-

echo "machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%d)"
