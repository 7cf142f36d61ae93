#!/usr/bin/env bash
# Build the release artifacts of the checked-out commit into OUT (default dist/):
#   scripts/release.sh [OUT]
#   xnat-cmd-VERSION-x86_64-linux.tar.gz   the static binary, README, LICENSE, CHANGELOG,
#                                          completions (bash, zsh, fish, powershell), man pages
#   xnat_cmd-VERSION-py3-none-manylinux_*.whl   the same binary as a Python wheel (maturin)
#   xnat-cmd-VERSION-image.oci.tar         the container image (scripts/build-image.sh), oci-archive
#   xnat-cmd-VERSION.cdx.json              CycloneDX SBOM of the binary's dependencies
#   SHA256SUMS                             `sha256sum -c SHA256SUMS` verifies all of the above
# Reproducible: two runs from the same commit give the same bytes. Every timestamp is the
# commit's (SOURCE_DATE_EPOCH), paths are remapped out of the binary, archives are sorted with
# fixed owners and mtimes, gzip drops its name and time, the SBOM's serial number is derived
# from the commit. scripts/test-release.sh checks it with a second run from a fresh clone.
# Needs: x86_64 Linux, git, podman (or docker), python3 with venv; installs, pinned, under
# target/: maturin (PyPI) into target/release-venv and cargo-cyclonedx (crates.io) into
# target/release-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-dist}
MATURIN_VERSION=1.9.6
CYCLONEDX_VERSION=0.5.9

fail() { echo "error: $*" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || fail "release.sh builds the x86_64 artifacts: run it on x86_64 Linux"
git diff --quiet HEAD -- 2>/dev/null || echo "warning: the work tree has uncommitted changes: the artifacts are not those of commit $(git rev-parse --short HEAD)" >&2
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
target=x86_64-unknown-linux-gnu
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export SOURCE_DATE_EPOCH
start=$(date +%s)

# The static binary: glibc with crt-static (no musl target can be installed offline; since glibc
# 2.34 the files and dns name services are in libc, so names resolve without NSS modules).
# CARGO_ENCODED_RUSTFLAGS wins over RUSTFLAGS, so build-image.sh and maturin below build with
# exactly these flags and reuse this build instead of compiling again. The remaps take this
# folder, cargo's home and rustup's toolchain out of panic messages and debug strings.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
flags=(-C target-feature=+crt-static
  "--remap-path-prefix=$root=/xnat-cmd"
  "--remap-path-prefix=$cargo_home=/cargo"
  "--remap-path-prefix=$rustup_home=/rustup")
CARGO_ENCODED_RUSTFLAGS=$(IFS=$'\x1f'; printf '%s' "${flags[*]}")
export CARGO_ENCODED_RUSTFLAGS

echo "== building the static xnat-cmd $version for $target" >&2
cargo build --release --locked --bin xnat-cmd --target "$target"
bin="target/$target/release/xnat-cmd"
file "$bin" | grep -Eq 'statically linked|static-pie linked' || fail "$bin is not statically linked: $(file "$bin")"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# OUT is emptied first: never the checkout itself, nor a folder above it.
case "$root/" in "$out"/*) fail "OUT must be a folder of its own, not $out" ;; esac
rm -rf "$out"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Deterministic archives: names sorted, the commit's time, root-owned, modes from a fixed umask.
det_tar() { # det_tar ARCHIVE.tar.gz DIR NAME
  tar --sort=name --format=gnu --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$2" -cf - "$3" | gzip -n -9 >"$1"
}

echo "== tarball" >&2
name="xnat-cmd-$version-x86_64-linux"
pkg="$stage/$name"
mkdir -p "$pkg/complete" "$pkg/doc/man"
cp "$bin" "$pkg/xnat-cmd"
strip "$pkg/xnat-cmd"
cp README.md LICENSE CHANGELOG.md "$pkg/"
"$pkg/xnat-cmd" completions bash >"$pkg/complete/xnat-cmd.bash"
"$pkg/xnat-cmd" completions zsh >"$pkg/complete/_xnat-cmd"
"$pkg/xnat-cmd" completions fish >"$pkg/complete/xnat-cmd.fish"
"$pkg/xnat-cmd" completions powershell >"$pkg/complete/_xnat-cmd.ps1"
"$pkg/xnat-cmd" manpage --dir "$pkg/doc/man"
find "$pkg" -type d -exec chmod 755 {} +
find "$pkg" -type f -exec chmod 644 {} +
chmod 755 "$pkg/xnat-cmd"
det_tar "$out/$name.tar.gz" "$stage" "$name"

echo "== wheel (maturin $MATURIN_VERSION)" >&2
venv=target/release-venv
if ! "$venv/bin/maturin" --version 2>/dev/null | grep -qx "maturin $MATURIN_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
fi
# The binary is static, so the wheel takes the lowest manylinux tag; maturin's own auditwheel
# check (not the PyPI auditwheel) fails the build if the binary needed a newer glibc.
"$venv/bin/maturin" build --quiet --release --locked --target "$target" --auditwheel check \
  --out "$stage/wheel" >&2
mv "$stage"/wheel/xnat_cmd-*.whl "$out/"

echo "== container image" >&2
tag="localhost/xnat-cmd:$version"
engine=podman; command -v podman >/dev/null 2>&1 || engine=docker
bash scripts/build-image.sh "$tag" >&2
"$engine" save --format oci-archive -o "$stage/image.tar" "$tag" >/dev/null
# Re-packed sorted, with fixed mtimes and owners: the blobs are content-addressed already, the
# tar around them is not.
mkdir "$stage/image"
tar -C "$stage/image" -xf "$stage/image.tar"
find "$stage/image" -type d -exec chmod 755 {} +
find "$stage/image" -type f -exec chmod 644 {} +
(cd "$stage/image" && tar --sort=name --format=gnu --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 \
  --numeric-owner -cf "$out/xnat-cmd-$version-image.oci.tar" .)

echo "== SBOM (cargo-cyclonedx $CYCLONEDX_VERSION)" >&2
tools=target/release-tools
if ! "$tools/bin/cargo-cyclonedx" cyclonedx --version 2>/dev/null | grep -q "$CYCLONEDX_VERSION"; then
  # Without the release flags: crt-static cannot build the tool's proc-macros.
  env -u CARGO_ENCODED_RUSTFLAGS cargo install --locked --quiet cargo-cyclonedx --version "$CYCLONEDX_VERSION" --root "$tools"
fi
# Only what the binary links: normal dependencies of the default features on this target.
# (--all: every transitive dependency, not only the direct ones; SOURCE_DATE_EPOCH fixes its
# timestamp.) It writes one file per workspace member, next to each Cargo.toml.
"$tools/bin/cargo-cyclonedx" cyclonedx --quiet --format json --spec-version 1.5 --all --no-build-deps \
  --target "$target" --override-filename xnat-cmd-sbom >&2
python3 - "xnat-cmd-sbom.json" "$out/xnat-cmd-$version.cdx.json" "$(git rev-parse HEAD)" "$root" <<'PY'
# The SBOM made reproducible: the commit's time, a serial number derived from the commit, no
# path of this checkout.
import json, os, sys, uuid, datetime
src, dst, commit, root = sys.argv[1:]
text = open(src).read().replace("file://" + root, "file:///xnat-cmd").replace(root, "/xnat-cmd")
bom = json.loads(text)
epoch = int(os.environ["SOURCE_DATE_EPOCH"])
bom["serialNumber"] = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "xnat-cmd@" + commit))
bom.setdefault("metadata", {})["timestamp"] = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
with open(dst, "w") as f:
    json.dump(bom, f, indent=2, sort_keys=True)
    f.write("\n")
os.remove(src)
PY
# Only the CLI's is released: the other members' files go.
find . -path ./target -prune -o -name xnat-cmd-sbom.json -type f -print | xargs -r rm -f

# The artifacts are listed before SHA256SUMS exists: in `sha256sum * | sort >SHA256SUMS` the
# two sides start together, and sort could create the file before the glob was expanded, so
# that SHA256SUMS listed (a partial) itself and never verified.
(cd "$out" && rm -f SHA256SUMS && artifacts=(*) &&
  LC_ALL=C sha256sum -- "${artifacts[@]}" | LC_ALL=C sort -k 2 >SHA256SUMS)
echo "== $out built in $(($(date +%s) - start)) s from commit $(git rev-parse --short HEAD)" >&2
(cd "$out" && for f in *; do printf '%s  %s\n' "$(du -b -- "$f" | cut -f1)" "$f"; done)
