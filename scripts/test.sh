#!/usr/bin/env bash
# Run every check and test of xnat-cmd on this machine, installing what the tests need first.
#   scripts/test.sh            # installs, all tests, then every other check (CI runs exactly this)
# Order: the installs, then `cargo test --workspace --no-fail-fast` first, then each extra step
# (MSRV, fmt, clippy, the library without the cli feature, Kubernetes manifests, the container
# image and kube play, the fuzz replay). A failing step does not stop the later ones; the end
# names every failed step and prints one closing line `N passed, N failed, N skipped`: the
# tests of cargo's `test result:` lines (ignored tests as skipped), each extra step as one check,
# and each `skipped: …` line of the run as one skipped. Exit 1 when anything failed, else 0.
# Nothing depends on chance: the fuzzers only replay committed inputs (exploring is
# `scripts/fuzz.sh SECONDS`), and the fault runs use fixed seeds.
#
# Side effects (docs/development.md): Debian packages installed with apt-get (root or
# passwordless sudo); PyPI packages in venvs under target/ (and prometheus-client with pip, for
# the user); cargo-fuzz installed into ~/.cargo/bin (nightly); the image localhost/xnat-cmd:test
# left in podman's store. The tests start their own services (registry, token server, podman;
# the XNAT emulator in-process) on loopback ports and stop them.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed_steps=0
failed_steps=()
# Output that the closing counts read (`skipped:` lines) goes through here too.
say() { echo "$*" | tee -a "$log" >&2; }
skip() { say "skipped: $*"; }
# step NAME COMMAND…: run one extra check, its output shown and kept; it passes or fails alone.
step() {
  local name=$1
  shift
  say "== $name"
  "$@" 2>&1 | tee -a "$log"
  local code=${PIPESTATUS[0]}
  if ((code == 0)); then
    passed_steps=$((passed_steps + 1))
  else
    say "FAILED: $name (exit $code)"
    failed_steps+=("$name")
  fi
}

# ---- Installs. One line per package: `need COMMAND-OR-TEST PACKAGE…`.
need_pkgs=()
need() { if [[ "$1" == /* ]]; then [ -s "$1" ]; else command -v "$1" >/dev/null 2>&1; fi || need_pkgs+=("${@:2}"); }
need skopeo skopeo
need docker-registry docker-registry
need podman podman
need python3 python3 python3-venv
# The emulator shell example of docs/emulator.md (run by emulator/tests/it/state.rs) uses curl.
need curl curl
# The container image test (scripts/test-image.sh): podman 4.3 runs containers with runc here,
# and needs catatonit for its init.
need runc runc
[ -x /usr/libexec/podman/catatonit ] || need /usr/bin/catatonit catatonit
need /etc/ssl/certs/ca-certificates.crt ca-certificates
# `status --pushgateway` is tested against Debian's Pushgateway (tests/it/pushgateway.rs), and
# the shipped alert rules with promtool (tests/it/alerts.rs). On a host with systemd these
# packages also start their services (ports 9090, 9091); the tests start their own on free ports.
need /usr/bin/prometheus-pushgateway prometheus-pushgateway
need promtool prometheus
# The manifest check (scripts/test-k8s.sh) installs kubernetes-validate into a venv.
command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && need_pkgs+=(python3-venv)

install_packages() {
  ((${#need_pkgs[@]})) || return 0
  echo "== installing: ${need_pkgs[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
}

# The Prometheus text written by `status --prometheus` is checked with the reference parser
# (PyPI's prometheus-client).
install_prometheus_client() {
  python3 -c 'import prometheus_client' >/dev/null 2>&1 && return 0
  echo "== installing: prometheus-client (PyPI)"
  python3 -m pip install --quiet prometheus-client==0.26.0 2>/dev/null && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-prometheus-client >/dev/null
}

# venv DIR PIN…: a venv under target/ holding exactly these PyPI pins.
venv() {
  local dir=$1
  shift
  "$dir/bin/python" - "$@" >/dev/null 2>&1 <<'PY' && return 0
import sys
from importlib.metadata import version
sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
  echo "== installing: $* (PyPI, into $dir)"
  python3 -m venv "$dir" && "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}

step "install Debian packages" install_packages
step "install prometheus-client" install_prometheus_client
# The JSON Schemas of `xnat-cmd schema` are checked with a standard validator;
# tests/it/schema.rs fails, not skips, without it.
step "install jsonschema (target/schema-venv)" venv target/schema-venv jsonschema==4.26.0
# The emulator is tested with XNAT's own Python clients (emulator/tests/it/clients.rs and the
# docs/emulator.md Python example): xnatpy and pyxnat; pyxnat imports nibabel and pandas when it
# starts without declaring them, so they are pinned here too.
step "install XNAT's Python clients (target/py-clients)" \
  venv target/py-clients xnat==0.8.1 pyxnat==1.6.4 nibabel==5.4.2 pandas==3.1.1

# The corpus of real command files lives next to the project (../shared). Without it the
# corpus tests are skipped (the project's own fixtures cover every validation rule); with
# XNAT_CMD_CORPUS set to a missing folder they fail.
if [ -z "${XNAT_CMD_CORPUS:-}" ] && [ -d ../shared/corpus/commands ]; then
  export XNAT_CMD_CORPUS="$PWD/../shared/corpus/commands"
fi
[ -n "${XNAT_CMD_CORPUS:-}" ] || skip "corpus not found (set XNAT_CMD_CORPUS)"

# ---- The tests, before every other check.
say "== cargo test"
tests_log=$(mktemp)
trap 'rm -f "$log" "$tests_log"' EXIT
cargo test --workspace --no-fail-fast 2>&1 | tee "$tests_log"
cargo_code=${PIPESTATUS[0]}
cat "$tests_log" >>"$log"
read -r tests_passed tests_failed tests_ignored < <(awk '/^test result:/ { p += $4; f += $6; s += $8 }
  END { printf "%d %d %d\n", p, f, s }' "$tests_log")
if ((cargo_code != 0 && tests_failed == 0)); then
  # No failing test reported, yet cargo failed: a build error or a test binary that crashed.
  say "FAILED: cargo test (exit $cargo_code, no failing test reported: a build error or a crashed test binary)"
  failed_steps+=("cargo test (exit $cargo_code)")
elif ((tests_failed > 0)); then
  failed_steps+=("cargo test ($tests_failed failed)")
fi

# ---- Every other check. One line per step.
# MSRV: `rust-version` in Cargo.toml (1.88). Older toolchains cannot be installed on this
# machine (no rustup downloads), so it is checked rather than built, two ways:
# - our own code: clippy's `incompatible_msrv` lint (default on, -D warnings below) rejects any
#   std API stabilised after rust-version. That is how the code's own floor was found: with
#   rust-version 1.81 clippy fails on `Option::is_none_or` (1.82), with 1.82 it passes. No
#   newer language feature is used (edition 2021: no let-chains, async closures, `use<..>`).
# - the locked dependencies: none may declare a newer rust-version than ours (checked here).
#   They set the floor today: icu_* (via url) and encoding_rs (via reqwest) need 1.88.
# Where the toolchain is installed (`rustup toolchain install 1.88`), it is also built.
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
msrv_dependencies() {
  cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
def version(v):
    return tuple((list(map(int, v.split("."))) + [0, 0])[:3])
msrv = version(sys.argv[1])
m = json.load(sys.stdin)
ids = {n["id"] for n in m["resolve"]["nodes"]}
newer = sorted("%s %s needs %s" % (p["name"], p["version"], p["rust_version"])
               for p in m["packages"]
               if p["id"] in ids and p.get("rust_version") and version(p["rust_version"]) > msrv)
if newer:
    sys.exit("rust-version %s is too old for Cargo.lock:\n  %s" % (sys.argv[1], "\n  ".join(newer)))
' "$msrv"
}
step "MSRV $msrv: locked dependencies" msrv_dependencies
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q "^$msrv"; then
  step "cargo +$msrv check" cargo "+$msrv" check --workspace --all-targets --locked
else
  skip "cargo +$msrv check (toolchain $msrv not installed: rustup toolchain list)"
fi
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo fmt --check (fuzz/, a package of its own)" cargo fmt --manifest-path fuzz/Cargo.toml -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
step "cargo check: the library without the cli feature" cargo check -p xnat-cmd --lib --no-default-features
step "cargo doc -D warnings: every intra-doc link resolves" \
  env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
step "Kubernetes manifests: strict schema validation" bash scripts/test-k8s.sh
step "container image and kube play" bash scripts/test-image.sh
# Fuzzing in CI replays the committed corpora and crash inputs (fuzz/corpus, fuzz/regressions)
# once: the same answer every run. cargo-fuzz needs the nightly toolchain, which rustup cannot
# download on these machines.
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
  step "fuzz replay: committed corpora and regressions" bash scripts/fuzz.sh replay
else
  skip "fuzzing (no nightly toolchain: rustup toolchain list)"
fi

# The release channels (scripts/test-release.sh: release.sh twice for reproducibility, the
# wheel in a clean venv, cargo package and cargo install from a clean clone, the pre-commit
# hooks, the CI recipes) build the release binary from nothing four times: about 50 minutes on
# this 2-core machine, more than CI's budget allows beside the rest. Run it before a release,
# or here with XNAT_CMD_RELEASE_TEST=1.
if [ "${XNAT_CMD_RELEASE_TEST:-}" = 1 ]; then
  step "release channels" bash scripts/test-release.sh
else
  skip "release channels (scripts/test-release.sh, about 50 min: set XNAT_CMD_RELEASE_TEST=1)"
fi

# Information, never a check (issue 18): what the change under test wrote twice (since
# XNAT_CMD_DUPLICATES_BASE, default the commit before HEAD), and the pair count of src/.
# `duplicates` is a tool of the developers' machines; where it is absent this says so and
# counts nothing. Its output stays out of the log the closing counts read.
if command -v duplicates >/dev/null 2>&1; then
  dup_base=${XNAT_CMD_DUPLICATES_BASE:-HEAD~1}
  if git rev-parse -q --verify "$dup_base^{commit}" >/dev/null 2>&1; then
    echo "== info: duplicates --change --base $dup_base" >&2
    duplicates --change --base "$dup_base" --seconds 60 >&2 || true
  fi
  echo "== info: duplicates in src/: $(duplicates --repo src --seconds 60 2>&1 | head -n 1)" >&2
else
  echo "== info: duplicates (what a change writes twice) is not on this machine" >&2
fi

# ---- The answer.
skipped_lines=$(grep -o 'skipped: ' "$log" | wc -l)
passed=$((tests_passed + passed_steps))
failed=$((tests_failed + ${#failed_steps[@]}))
# A cargo failure without a failing test counts as one failed check (it is in failed_steps).
((tests_failed > 0)) && failed=$((failed - 1))
skipped=$((tests_ignored + skipped_lines))
echo >&2
if ((${#failed_steps[@]})); then
  echo "failed:" >&2
  printf '  %s\n' "${failed_steps[@]}" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
