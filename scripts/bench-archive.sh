#!/usr/bin/env bash
# Time reading the labels of an oci-archive with a large layer: xnat-cmd vs skopeo.
#
# The archive is written by examples/make_bench_archive.rs, which uses the test fixture
# builder (tests/it/support/images.rs): one image, a label, and a layer of SIZE bytes
# (default 1 GiB) streamed to disk. Then, in one run, each reader is timed RUNS times
# (default 5) and the medians are printed with their ratio:
#   - `target/release/xnat-cmd inspect --json oci-archive:FILE:bench`;
#   - `skopeo inspect --config oci-archive:FILE:bench`.
# Needs: cargo, skopeo, ~2×SIZE free disk under $TMPDIR (a temp dir, removed at the end).
#
# Usage: scripts/bench-archive.sh [SIZE_BYTES] [RUNS]
set -euo pipefail

SIZE=${1:-$((1 << 30))}
RUNS=${2:-5}
cd "$(dirname "$0")/.."

command -v skopeo >/dev/null || { echo "error: skopeo not found; install it with: apt-get install skopeo" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-archive.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "building (release)…" >&2
cargo build --release --quiet --bin xnat-cmd --example make_bench_archive

echo "writing a $SIZE-byte layer archive to $WORK…" >&2
ARCHIVE=$(target/release/examples/make_bench_archive "$WORK" "$SIZE")
SRC="oci-archive:$ARCHIVE:bench"
ls -l "$ARCHIVE" >&2

OURS=(target/release/xnat-cmd inspect --json "$SRC")
"${OURS[@]}" | grep -q '"name": "bench"' || { echo "error: ${OURS[*]} did not print the command" >&2; exit 1; }
THEIRS=(skopeo --insecure-policy inspect --config "$SRC")
"${THEIRS[@]}" | grep -q xnat-cmd-bench || { echo "error: skopeo did not print the label" >&2; exit 1; }

# Median wall time in milliseconds of RUNS runs of "$@".
median_ms() {
    local times=() t0 t1
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f", m / 1000}'
}

OURS_MS=$(median_ms "${OURS[@]}")
THEIRS_MS=$(median_ms "${THEIRS[@]}")
printf '%-60s %12s\n' "reader (median of $RUNS, archive $(du -h --apparent-size "$ARCHIVE" | cut -f1))" "ms"
printf '%-60s %12s\n' "xnat-cmd inspect --json" "$OURS_MS"
printf '%-60s %12s\n' "skopeo inspect --config" "$THEIRS_MS"
awk -v a="$OURS_MS" -v b="$THEIRS_MS" 'BEGIN { printf "ratio skopeo / xnat-cmd: %.0fx\n", (a > 0 ? b / a : 0) }'
