#!/usr/bin/env bash
# Run every check and test of xnat-cmd on this machine, installing what the tests need first.
#   scripts/test.sh            # fmt check, clippy -D warnings, all tests
# Needs root (or passwordless sudo) for apt-get when skopeo, docker-registry, podman or python3 are
# missing. The tests start their own services (registry, token server, podman; the XNAT
# emulator in-process) on loopback ports and stop them; no build step is needed before them.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)
# The README's emulator shell example (run by emulator/tests/it/state.rs) uses curl.
command -v curl >/dev/null 2>&1 || need+=(curl)
# The container image smoke test (scripts/test-image.sh): podman 4.3 runs containers with runc
# here, and needs catatonit for its init.
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/bin/catatonit ] || [ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
# The manifest check (scripts/test-k8s.sh) installs kubernetes-validate into a venv.
command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && need+=(python3-venv)
if ((${#need[@]})); then
  echo "== installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The Prometheus text written by `status --prometheus` is checked with the reference parser
# (PyPI's prometheus-client).
if ! python3 -c 'import prometheus_client' >/dev/null 2>&1; then
  echo "== installing: prometheus-client (PyPI)" >&2
  python3 -m pip install --quiet prometheus-client==0.26.0 2>/dev/null \
    || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-prometheus-client >/dev/null; }
fi

# The JSON Schemas of `xnat-cmd schema` are checked with a standard validator (PyPI's jsonschema,
# pinned) in a venv under target/; tests/it/schema.rs fails, not skips, without it.
if [ ! -x target/schema-venv/bin/python ] || ! target/schema-venv/bin/python -c 'import jsonschema' >/dev/null 2>&1; then
  echo "== installing: jsonschema (PyPI) into target/schema-venv" >&2
  python3 -m venv target/schema-venv
  target/schema-venv/bin/pip install --quiet --disable-pip-version-check jsonschema==4.26.0
fi

# The emulator is tested with XNAT's own Python clients (emulator/tests/it/clients.rs and the
# README's Python example): PyPI `xnat` (xnatpy) and `pyxnat`, pinned, in a venv under target/
# that the tests find (a missing venv fails them). pyxnat imports nibabel and pandas when it
# starts without declaring them, so they are pinned here too.
clients_venv=target/py-clients
clients_pins="xnat==0.8.1 pyxnat==1.6.4 nibabel==5.4.2 pandas==3.1.1"
if ! "$clients_venv/bin/python" - $clients_pins >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
then
  echo "== installing: $clients_pins (PyPI, into $clients_venv)" >&2
  python3 -m venv "$clients_venv"
  "$clients_venv/bin/pip" install --quiet --disable-pip-version-check $clients_pins
fi

# The corpus of real command files lives next to the project (../shared). Without it the
# corpus tests are skipped (the project's own fixtures cover every validation rule); with
# XNAT_CMD_CORPUS set to a missing folder they fail.
if [ -z "${XNAT_CMD_CORPUS:-}" ] && [ -d ../shared/corpus/commands ]; then
  export XNAT_CMD_CORPUS="$PWD/../shared/corpus/commands"
fi
if [ -z "${XNAT_CMD_CORPUS:-}" ]; then
  echo "skipped: corpus not found (set XNAT_CMD_CORPUS)" >&2
fi

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
echo "== MSRV $msrv: locked dependencies" >&2
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
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q "^$msrv"; then
  echo "== cargo +$msrv check" >&2
  cargo "+$msrv" check --workspace --all-targets --locked
fi

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo check: the library without the cli feature (no clap, no log subscriber)" >&2
cargo check -p xnat-cmd --lib --no-default-features
echo "== Kubernetes manifests: strict schema validation" >&2
bash scripts/test-k8s.sh
echo "== container image: build and smoke test" >&2
bash scripts/test-image.sh
# Fuzzing (fuzz/, scripts/fuzz.sh): every target for 10 s, where the nightly toolchain is
# installed (cargo-fuzz needs it, and rustup cannot download one on these machines). A crash
# fails the run and leaves its input under target/fuzz/artifacts/.
echo "== cargo fmt --check (fuzz/, a package of its own)" >&2
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
  echo "== fuzzing: every target for 10 s" >&2
  bash scripts/fuzz.sh 10
else
  echo "skipped: fuzzing (no nightly toolchain: rustup toolchain list)" >&2
fi
echo "== cargo test" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary, the last often a
# doc-test binary with nothing in it).
awk '/^test result:/ { p += $4; f += $6; s += $8 }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
