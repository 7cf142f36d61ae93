#!/usr/bin/env bash
# Build the xnat-cmd container image offline:
#   scripts/build-image.sh [TAG]      # default localhost/xnat-cmd:VERSION
# The binary is built here, statically linked (glibc with crt-static: since glibc 2.34 the
# `files` and `dns` name services are part of libc, so a static binary resolves names on
# scratch), and copied with the host's CA bundle onto `scratch`: no base image is pulled.
# Uses podman, or docker when podman is missing. Prints the tag and the image size.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
tag=${1:-localhost/xnat-cmd:$version}
target="$(uname -m)-unknown-linux-gnu"
engine=podman; command -v podman >/dev/null 2>&1 || engine=docker
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || { echo "error: no CA bundle at $ca: install it with \`apt-get install ca-certificates\`" >&2; exit 1; }

echo "== building a static xnat-cmd for $target" >&2
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --bin xnat-cmd --target "$target"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "target/$target/release/xnat-cmd" "$ctx/xnat-cmd"
strip "$ctx/xnat-cmd" 2>/dev/null || true
cp "$ca" "$ctx/ca-certificates.crt"
cp Containerfile "$ctx/Containerfile"

echo "== $engine build $tag" >&2
# With SOURCE_DATE_EPOCH set (scripts/release.sh), the image's dates and file times are that
# time, so the same binary gives the same image.
"$engine" build --quiet ${SOURCE_DATE_EPOCH:+--timestamp "$SOURCE_DATE_EPOCH"} --build-arg "VERSION=$version" -f "$ctx/Containerfile" -t "$tag" "$ctx" >/dev/null
size=$("$engine" image inspect "$tag" --format '{{.Size}}')
echo "$tag $(awk -v b="$size" 'BEGIN{printf "%.1f MB", b/1e6}')"
