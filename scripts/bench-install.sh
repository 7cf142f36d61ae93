#!/usr/bin/env bash
# Benchmark: install 100 commands from 20 images into the XNAT emulator, enabled site-wide and in
# one project; then run the same install again. Reports wall time and the requests the emulator
# counted (all, and writes = POST/PUT/DELETE under /xapi) for each run.
#   scripts/bench-install.sh [IMAGES] [COMMANDS_PER_IMAGE]
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-20}
per=${2:-5}

cargo build --release --quiet --workspace --bins
bin=$PWD/target/release
work=$(mktemp -d)
log="$work/emulator.log"
"$bin/xnat-emulator" --bind 127.0.0.1:0 --test-hooks >"$log" 2>&1 &
emu=$!
trap 'kill "$emu" 2>/dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^xnat-emulator listening on //p' "$log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { cat "$log" >&2; exit 1; }

# IMAGES archives, each with PER commands derived from the bundled example command.
sources=()
for i in $(seq 1 "$images"); do
  python3 - "$i" "$per" examples/hello-xnat/command.json >"$work/label-$i.json" <<'PY'
import json, sys
i, per, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = json.load(open(path))
cmds = []
for j in range(1, per + 1):
    c = json.loads(json.dumps(base))
    c["name"] = f"bench-{i}-{j}"
    for w in c["xnat"]:
        w["name"] = f"{w['name']}-{i}-{j}"
    cmds.append(c)
print(json.dumps(cmds, separators=(",", ":")))
PY
  python3 examples/hello-xnat/make-image.py "$work/label-$i.json" "$work/img-$i.tar" "bench/tool-$i:1.0"
  sources+=("oci-archive:$work/img-$i.tar")
done

counters() { curl -s "$url/__emulator/counters"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
export XNAT_HOST="$url" XNAT_USER=admin XNAT_PASS=admin

run() {
  local before after t0 t1
  before=$(counters)
  t0=$(date +%s%N)
  "$bin/xnat-cmd" install "${sources[@]}" --enable-site --enable-project DEMO >/dev/null
  t1=$(date +%s%N)
  after=$(counters)
  local req=$(( $(echo "$after" | field requests) - $(echo "$before" | field requests) ))
  local wr=$(( $(echo "$after" | field writes) - $(echo "$before" | field writes) ))
  printf '%-8s %5d ms  %5d requests  %4d writes\n' "$1" $(( (t1 - t0) / 1000000 )) "$req" "$wr"
}

echo "install of $((images * per)) commands from $images images ($((images * per * 2)) wrappers), --enable-site --enable-project DEMO"
run first
run re-run
echo "machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%d)"
