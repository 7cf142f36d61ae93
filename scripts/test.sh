#!/usr/bin/env bash
# Run every check and test of xnat-cmd on this machine, installing what the tests need first.
#   scripts/test.sh            # fmt check, clippy -D warnings, all tests
# Needs root (or passwordless sudo) for apt-get when skopeo, docker-registry, podman or python3 are
# missing. The tests start their own services (registry, token server, podman, XNAT emulator)
# on loopback ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if ((${#need[@]})); then
  echo "== installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The corpus of real command files lives next to the project (../shared); tests fail, with a
# hint, when it is missing.
if [ -z "${XNAT_CMD_CORPUS:-}" ] && [ -d ../shared/corpus/commands ]; then
  export XNAT_CMD_CORPUS="$PWD/../shared/corpus/commands"
fi

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo build (debug binaries the tests spawn)" >&2
cargo build --workspace --bins
echo "== cargo test" >&2
cargo test --workspace --no-fail-fast
