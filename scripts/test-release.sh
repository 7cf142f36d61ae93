#!/usr/bin/env bash
# End-to-end check of every distribution channel, offline except PyPI and crates.io: builds
# dist/ with scripts/release.sh, then installs each artifact the way a user would, into a fresh
# place, and runs `--version` and a real command:
#   - SHA256SUMS verifies; the tarball's binary is static, its completions and man pages work;
#   - the wheel, in a clean venv, puts `xnat-cmd` on PATH: --version, validate, and the emulator
#     demo's install (twice: the second run writes nothing);
#   - the container image (oci-archive) loads into podman and validates a mounted file;
#   - the SBOM validates as CycloneDX JSON (PyPI cyclonedx-python-lib, pinned) and lists only
#     what the binary links;
#   - `cargo package` builds the .crate (verified) with only what it needs; `cargo install
#     --locked --path .` works from a clean clone with a clean CARGO_HOME;
#   - reproducible: release.sh run again in that clone (another path, another CARGO_HOME, its
#     own target dir) gives the same SHA256SUMS;
#   - `pre-commit try-repo` on a sample repository: a valid command file passes, an invalid one
#     fails with XNAT's message (both hooks);
#   - the `xnat-cmd` lines of docs/ci-recipes.md run on the bundled example image (archive and
#     daemon), and on an image with an invalid label they fail with XNAT's message.
# One line per check ("ok …" or "FAIL …"); exits non-zero at the first failure. The cheap checks
# come first; the last three each compile the project from nothing (cargo install in a clean
# CARGO_HOME, pre-commit's build of the hook, release.sh in the fresh clone): about an hour on
# 2 busy cores. Needs podman, python3 with venv, git; run it on a committed tree.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
w=$root/target/release-test
PRE_COMMIT_VERSION=4.7.0
CYCLONEDX_LIB_VERSION=11.6.0
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
short=$(git rev-parse --short=7 HEAD)

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  podman rmi -f localhost/hello-xnat:ci >/dev/null 2>&1 || true
}
trap cleanup EXIT
ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; exit 1; }
log() { echo "== $*" >&2; }
rm -rf "$w"
mkdir -p "$w"

# podman 4.3 here runs containers with runc and explicit ulimits (as scripts/test-image.sh).
if [ -z "${CONTAINERS_CONF:-}" ]; then
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' >"$w/containers.conf"
  export CONTAINERS_CONF="$w/containers.conf"
fi

# A venv with the pinned test tools from PyPI.
tools=$w/tools-venv
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION" \
  "cyclonedx-python-lib[json-validation]==$CYCLONEDX_LIB_VERSION" || fail "install pre-commit and cyclonedx-python-lib from PyPI"

# ---- release.sh
log "scripts/release.sh dist"
t0=$(date +%s)
bash scripts/release.sh dist >"$w/release.out" 2>"$w/release.err" || { tail -n 30 "$w/release.err" >&2; fail "scripts/release.sh"; }
ok "release.sh built dist/ in $(($(date +%s) - t0)) s: $(grep -c . dist/SHA256SUMS) artifacts"
(cd dist && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not verify"
ok "SHA256SUMS verifies"

# ---- reproducibility (same checkout, another folder)
# Before the emulator is built below: its features would make cargo rebuild the binary.
log "scripts/release.sh again, into another folder"
bash scripts/release.sh "$w/dist-again" >"$w/release-again.out" 2>"$w/release-again.err" || { tail -n 30 "$w/release-again.err" >&2; fail "second release.sh"; }
if ! cmp -s dist/SHA256SUMS "$w/dist-again/SHA256SUMS"; then
  diff dist/SHA256SUMS "$w/dist-again/SHA256SUMS" >&2 || true
  fail "not reproducible: a second release.sh from the same commit gave other checksums"
fi
ok "reproducible: a second release.sh into another folder gives the same SHA256SUMS"

# ---- tarball
tarball=$(ls dist/xnat-cmd-"$version"-x86_64-linux.tar.gz)
mkdir "$w/tarball"
tar -C "$w/tarball" -xzf "$tarball"
t=$w/tarball/xnat-cmd-$version-x86_64-linux
for f in xnat-cmd README.md LICENSE CHANGELOG.md complete/xnat-cmd.bash complete/_xnat-cmd \
  complete/xnat-cmd.fish complete/_xnat-cmd.ps1 doc/man/xnat-cmd.1 doc/man/xnat-cmd-install.1; do
  [ -s "$t/$f" ] || fail "tarball lacks $f"
done
# static-pie (glibc crt-static on x86_64): `file` says "static-pie linked", ldd "statically linked".
file "$t/xnat-cmd" | grep -Eq 'statically linked|static-pie linked' || fail "tarball binary not static: $(file "$t/xnat-cmd")"
ldd "$t/xnat-cmd" 2>&1 | grep -Eq 'statically linked|not a dynamic executable' || fail "ldd finds dynamic libraries: $(ldd "$t/xnat-cmd" 2>&1)"
[ "$("$t/xnat-cmd" --version)" = "xnat-cmd $version ($short)" ] || fail "tarball --version: $("$t/xnat-cmd" --version)"
out=$("$t/xnat-cmd" validate --image lab/hello examples/hello-xnat/command.json) || fail "tarball validate: $out"
grep -q '1 command checked: 1 valid, 0 invalid' <<<"$out" || fail "tarball validate output: $out"
ok "tarball: $(file -b "$t/xnat-cmd" | grep -Eo 'static(-pie)? linked|statically linked'), --version '$("$t/xnat-cmd" --version)', validate, README/LICENSE/CHANGELOG/completions/man"
got=$(bash -c 'source "$1"; COMP_WORDS=(xnat-cmd install --enable-s); COMP_CWORD=2; _xnat__cmd xnat-cmd --enable-s install; printf "%s\n" "${COMPREPLY[@]}"' bash "$t/complete/xnat-cmd.bash")
[ "$got" = "--enable-site" ] || fail "shipped bash completion of 'install --enable-s': '$got'"
got=$(bash -c 'source "$1"; COMP_WORDS=(xnat-cmd ins); COMP_CWORD=1; _xnat__cmd xnat-cmd ins xnat-cmd; printf "%s\n" "${COMPREPLY[@]}"' bash "$t/complete/xnat-cmd.bash" | sort | tr '\n' ' ')
[ "$got" = "inspect install " ] || fail "shipped bash completion of 'ins': '$got'"
head -n 5 "$t/doc/man/xnat-cmd.1" | grep -q '^\.TH xnat-cmd 1' || fail "man page header"
ok "tarball: bash completion completes 'ins' and 'install --enable-s'; man pages are section 1"

# ---- wheel
wheel=$(ls dist/xnat_cmd-"$version"-*.whl)
case "$wheel" in *manylinux*_x86_64.whl) ;; *) fail "wheel not manylinux-tagged: $wheel" ;; esac
python3 -m venv "$w/wheel-venv"
"$w/wheel-venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel" || fail "pip install $wheel"
[ "$(PATH="$w/wheel-venv/bin:/usr/bin:/bin" command -v xnat-cmd)" = "$w/wheel-venv/bin/xnat-cmd" ] || fail "the wheel puts no xnat-cmd on the venv's PATH"
export PATH="$w/wheel-venv/bin:$PATH"
[ "$(xnat-cmd --version)" = "xnat-cmd $version ($short)" ] || fail "wheel --version: $(xnat-cmd --version)"
out=$(xnat-cmd validate --image lab/hello examples/hello-xnat/command.json) || fail "wheel validate: $out"
grep -q '1 command checked: 1 valid, 0 invalid' <<<"$out" || fail "wheel validate output: $out"
# The emulator as scripts/demo.sh starts it (built with release.sh's flags, which reuses its
# dependencies instead of compiling them a second time).
flags=(-C target-feature=+crt-static "--remap-path-prefix=$root=/xnat-cmd"
  "--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo" "--remap-path-prefix=${RUSTUP_HOME:-$HOME/.rustup}=/rustup")
CARGO_ENCODED_RUSTFLAGS=$(IFS=$'\x1f'; printf '%s' "${flags[*]}") \
  cargo build -q --release --locked -p xnat-emulator --bin xnat-emulator --target x86_64-unknown-linux-gnu || fail "build xnat-emulator"
target/x86_64-unknown-linux-gnu/release/xnat-emulator --bind 127.0.0.1:0 --project DEMO >"$w/emu.log" 2>&1 &
pids+=($!)
url=""
for _ in $(seq 100); do url=$(sed -n 's/^xnat-emulator listening on //p' "$w/emu.log" | head -n 1); [ -n "$url" ] && break; sleep 0.05; done
[ -n "$url" ] || fail "the emulator did not start: $(cat "$w/emu.log")"
out=$(XNAT_HOST="$url" XNAT_USER=admin XNAT_PASS=admin xnat-cmd install oci-archive:examples/hello-xnat/image.oci.tar --enable-site --enable-project DEMO --json) || fail "wheel install: $out"
again=$(XNAT_HOST="$url" XNAT_USER=admin XNAT_PASS=admin xnat-cmd install oci-archive:examples/hello-xnat/image.oci.tar --enable-site --enable-project DEMO --json) || fail "wheel install again: $again"
listed=$(XNAT_HOST="$url" XNAT_USER=admin XNAT_PASS=admin xnat-cmd list --json) || fail "wheel list: $listed"
"$tools/bin/python" - "$out" "$again" "$listed" <<'PY' || fail "wheel install: unexpected reports (see above)"
import json, sys
first, again, listed = (json.loads(a) for a in sys.argv[1:])
assert [c["status"] for c in first["commands"]] == ["created", "created"], first
assert first["requests"]["writes"] > 0, first
assert [c["status"] for c in again["commands"]] == ["unchanged", "unchanged"], again
assert again["requests"]["writes"] == 0, again
text = json.dumps(listed)
assert "hello-xnat" in text and "hello-xnat-setup" in text, listed
PY
ok "wheel: $(basename "$wheel") in a clean venv: xnat-cmd on PATH, --version, validate, emulator demo install (re-run writes nothing), list"

# ---- container image
podman load -q -i "dist/xnat-cmd-$version-image.oci.tar" >"$w/load.out" 2>&1 || fail "podman load: $(cat "$w/load.out")"
img=$(sed -n 's/^Loaded image.*: //p' "$w/load.out" | head -n 1)
[ -n "$img" ] || fail "podman load named no image: $(cat "$w/load.out")"
[ "$(podman run --rm "$img" --version)" = "xnat-cmd $version ($short)" ] || fail "image --version: $(podman run --rm "$img" --version 2>&1)"
out=$(podman run --rm -v "$root/examples/hello-xnat:/w:ro" "$img" validate --image lab/hello /w/command.json) || fail "image validate: $out"
grep -q '1 command checked: 1 valid, 0 invalid' <<<"$out" || fail "image validate output: $out"
ok "image: oci-archive loads as $img, --version, validate of a mounted file"

# ---- SBOM
sbom=dist/xnat-cmd-$version.cdx.json
"$tools/bin/python" - "$sbom" <<'PY' || fail "SBOM $sbom"
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
text = open(sys.argv[1]).read()
bom = json.loads(text)
spec = {"1.4": SchemaVersion.V1_4, "1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[bom["specVersion"]]
err = JsonStrictValidator(spec).validate_str(text)
if err:
    sys.exit("not valid CycloneDX %s: %s" % (bom["specVersion"], err))
names = {c["name"] for c in bom.get("components", [])}
for need in ("reqwest", "tokio", "rustls", "clap", "serde_json"):
    assert need in names, "SBOM lacks " + need
for dev in ("axum", "assert_cmd", "insta", "xnat-emulator", "xnat-cmd-testkit"):
    assert dev not in names, "SBOM lists dev/test dependency " + dev
PY
ok "SBOM: valid CycloneDX $(sed -n 's/.*"specVersion": "\(.*\)".*/\1/p' "$sbom"), $("$tools/bin/python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$sbom") components, no dev dependencies"

# ---- cargo package
log "cargo package"
cargo package --locked -p xnat-cmd >"$w/package.log" 2>&1 || { tail -n 30 "$w/package.log" >&2; fail "cargo package"; }
crate=target/package/xnat-cmd-$version.crate
listing=$(tar -tzf "$crate")
for need in Cargo.toml Cargo.lock LICENSE README.md CHANGELOG.md build.rs src/lib.rs src/bin/xnat-cmd/main.rs; do
  grep -qx "xnat-cmd-$version/$need" <<<"$listing" || fail ".crate lacks $need"
done
! grep -qE "^xnat-cmd-$version/(tests|examples|emulator|testkit|fuzz|deploy|scripts|docs|target)/" <<<"$listing" || fail ".crate holds files it does not need: $(grep -E "/(tests|examples|emulator|testkit|fuzz|deploy|scripts|docs)/" <<<"$listing" | head -n 3)"
ok "cargo package (verified): $(basename "$crate") $(du -b "$crate" | cut -f1) bytes, $(grep -c . <<<"$listing") files, no tests/examples/emulator/fuzz"

# ---- pre-commit
author=$w/author
mkdir -p "$author/bad"
cp examples/hello-xnat/command.json "$author/command.json"
"$tools/bin/python" - "$author/command.json" "$author/bad/command.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["outputs"][0]["mount"] = "nowhere"
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
git -C "$author" init -q
git -C "$author" -c user.name=t -c user.email=t@example.org add -A
git -C "$author" -c user.name=t -c user.email=t@example.org commit -qm sample
export PRE_COMMIT_HOME=$w/pre-commit-home
# try_hook HOOK_REPO HOOK: a valid file passes, the invalid one fails with XNAT's message.
try_hook() {
  log "pre-commit try-repo $2"
  (cd "$author" && "$tools/bin/pre-commit" try-repo "$1" "$2" --files command.json >"$w/pc-ok.log" 2>&1) \
    || { cat "$w/pc-ok.log" >&2; fail "pre-commit $2 fails on a valid command file"; }
  if (cd "$author" && "$tools/bin/pre-commit" try-repo "$1" "$2" --files bad/command.json >"$w/pc-bad.log" 2>&1); then
    cat "$w/pc-bad.log" >&2; fail "pre-commit $2 passes an invalid command file"
  fi
  grep -qF 'output "report" references unknown mount "nowhere". Known mounts: in, out' "$w/pc-bad.log" \
    || { cat "$w/pc-bad.log" >&2; fail "pre-commit $2: XNAT's message missing"; }
  ok "pre-commit try-repo $2: a valid file passes, an invalid one fails with XNAT's message"
}
# The hook that uses the xnat-cmd on PATH (the wheel's, above).
try_hook "$root" xnat-cmd-validate-system

# ---- CI recipes
ci=$w/ci
mkdir -p "$ci/good" "$ci/bad"
cp examples/hello-xnat/image.oci.tar "$ci/good/image.oci.tar"
"$tools/bin/python" - "$author/bad/command.json" "$ci/label" <<'PY'
import json, sys
json.dump([json.load(open(sys.argv[1]))], open(sys.argv[2], "w"))
PY
python3 examples/hello-xnat/make-image.py "$ci/label" "$ci/bad/image.oci.tar" >/dev/null
"$tools/bin/python" - docs/ci-recipes.md >"$ci/commands" <<'PY' || fail "docs/ci-recipes.md: no snippets"
# Every shell line of the YAML snippets (run: and script: entries) that calls xnat-cmd.
import re, sys, yaml
text = open(sys.argv[1]).read()
lines = []
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k in ("run", "script") and isinstance(x, str):
                lines.extend(x.splitlines())
            elif k == "script" and isinstance(x, list):
                for s in x:
                    lines.extend(s.splitlines())
            else:
                walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
    doc = yaml.safe_load(block)
    walk(doc)
cmds = [l.strip() for l in lines if l.strip().startswith("xnat-cmd ")]
if not cmds:
    sys.exit(1)
print("\n".join(cmds))
PY
# The daemon: podman's Docker-compatible API on a socket of our own, with the example loaded.
podman load -q -i examples/hello-xnat/image.oci.tar >/dev/null
podman tag ghcr.io/xnat-cmd/hello-xnat:1.0 localhost/hello-xnat:ci
podman system service --time=0 "unix://$ci/podman.sock" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$ci/podman.sock" ] && break; sleep 0.05; done
n=0
while IFS= read -r line; do
  n=$((n + 1))
  (cd "$ci/good" && IMAGE=localhost/hello-xnat:ci DOCKER_HOST="unix://$ci/podman.sock" bash -c "$line" >"$ci/out" 2>&1) \
    || { cat "$ci/out" >&2; fail "ci-recipes: '$line' fails on the example image"; }
  case "$line" in
    *"validate oci-archive:"*)
      (cd "$ci/bad" && bash -c "$line" >"$ci/out" 2>&1) && fail "ci-recipes: '$line' passes an invalid label"
      grep -qF 'output "report" references unknown mount "nowhere"' "$ci/out" || { cat "$ci/out" >&2; fail "ci-recipes: XNAT's message missing"; } ;;
  esac
done <"$ci/commands"
ok "ci-recipes: $n xnat-cmd lines of docs/ci-recipes.md run on the example image (oci-archive and docker-daemon); validate fails on an invalid label with XNAT's message"

# ---- clean clone: cargo install with a clean CARGO_HOME
git clone -q --no-local "$root" "$w/clone"
git -C "$w/clone" checkout -q "$(git rev-parse HEAD)"
export CARGO_HOME_ORIG=${CARGO_HOME:-$HOME/.cargo}
mkdir -p "$w/cargo-home"
for f in config.toml config credentials.toml; do
  [ -f "$CARGO_HOME_ORIG/$f" ] && cp "$CARGO_HOME_ORIG/$f" "$w/cargo-home/"
done
log "cargo install --locked --path . (clean clone, clean CARGO_HOME)"
(cd "$w/clone" && CARGO_HOME="$w/cargo-home" CARGO_TARGET_DIR="$w/install-target" \
  cargo install --locked --path . --root "$w/cargo-root" >"$w/install.log" 2>&1) || { tail -n 30 "$w/install.log" >&2; fail "cargo install"; }
[ "$("$w/cargo-root/bin/xnat-cmd" --version)" = "xnat-cmd $version ($short)" ] || fail "cargo install --version: $("$w/cargo-root/bin/xnat-cmd" --version)"
out=$("$w/cargo-root/bin/xnat-cmd" validate oci-archive:examples/hello-xnat/image.oci.tar) || fail "cargo install validate: $out"
grep -q '2 commands checked: 2 valid, 0 invalid' <<<"$out" || fail "cargo install validate output: $out"
ok "cargo install --locked --path . from a clean clone, clean CARGO_HOME: --version, validate"


# ---- pre-commit hook built from source
# The python hook builds the wheel from the clean clone with pip and maturin (locked); the
# cargo install's target dir above is reused.
CARGO_TARGET_DIR="$w/install-target" try_hook "$w/clone" xnat-cmd-validate

# ---- reproducibility (fresh clone: another path, CARGO_HOME and target dir)
log "scripts/release.sh in the clean clone (reproducibility)"
(cd "$w/clone" && CARGO_HOME="$w/cargo-home" bash scripts/release.sh "$w/dist2" >"$w/release2.out" 2>"$w/release2.err") || { tail -n 30 "$w/release2.err" >&2; fail "release.sh in the clone"; }
if ! cmp -s dist/SHA256SUMS "$w/dist2/SHA256SUMS"; then
  diff dist/SHA256SUMS "$w/dist2/SHA256SUMS" >&2 || true
  fail "not reproducible: a second release.sh from the same commit (another folder and CARGO_HOME) gave other checksums"
fi
ok "reproducible: release.sh in $w/clone (other path, CARGO_HOME, target dir) gives the same SHA256SUMS"
echo "all release checks passed" >&2
