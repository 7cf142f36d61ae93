#!/usr/bin/env bash
# The main job, offline, in one step: build, start the bundled XNAT emulator on a free loopback
# port, install every command of the bundled example image (enabled site-wide and in project
# DEMO), run the install again to show that a re-run writes nothing, list what XNAT now holds,
# and stop the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building xnat-cmd and xnat-emulator (release; a few minutes the first time)" >&2
cargo build --release --workspace --bins
bin=target/release
image=examples/hello-xnat/image.oci.tar

log=$(mktemp)
"$bin/xnat-emulator" --bind 127.0.0.1:0 --project DEMO >"$log" 2>&1 &
emu=$!
trap 'kill "$emu" 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^xnat-emulator listening on //p' "$log" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$emu" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.05
done
[ -n "$url" ] || { echo "the emulator did not start" >&2; cat "$log" >&2; exit 1; }

# The emulator's default site administrator (a Container Manager). Credentials travel in the
# environment, never in argv.
export XNAT_HOST="$url" XNAT_USER=admin XNAT_PASS=admin

echo "\$ xnat-cmd inspect oci-archive:$image"
"$bin/xnat-cmd" inspect "oci-archive:$image"
echo
echo "\$ xnat-cmd install oci-archive:$image --enable-site --enable-project DEMO"
"$bin/xnat-cmd" install "oci-archive:$image" --enable-site --enable-project DEMO
echo
echo "\$ xnat-cmd install oci-archive:$image --enable-site --enable-project DEMO   # again: nothing to write"
"$bin/xnat-cmd" install "oci-archive:$image" --enable-site --enable-project DEMO
echo
echo "\$ xnat-cmd list"
"$bin/xnat-cmd" list
