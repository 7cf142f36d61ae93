#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz + libFuzzer) of every parser that reads foreign bytes:
# the targets in fuzz/fuzz_targets/, run one after the other (the machine has 2 cores).
#   scripts/fuzz.sh                   # every target for 60 s
#   scripts/fuzz.sh SECONDS           # every target for SECONDS
#   scripts/fuzz.sh SECONDS TARGET…   # only these targets
# Prints one line per target: executions, exec/s, seconds, crashes. Exits 1 when any target
# crashed (the input is kept under target/fuzz/artifacts/TARGET/; replay it with
# `cargo +nightly fuzz run -O -a -s none TARGET FILE`), 2 on bad arguments.
# Needs the nightly toolchain (rustup); installs cargo-fuzz when missing (crates.io).
#
# Corpora: target/fuzz/corpus/TARGET (kept between runs, never committed), seeded each run from
# the tests' fixtures: fuzz/seeds/TARGET (text inputs taken from the unit tests), the testkit's
# images written as labels, manifests and archives (examples/fuzz_seeds.rs), the example
# commands, and the real command files of ../shared/corpus when present (copied under target/
# only, never into the repository).
#
# Limits, so that endless loops and huge allocations are crashes too: -timeout (seconds for one
# input), -rss_limit_mb (the whole process), one allocation over 256 MiB (fuzz/fuzz_targets/
# alloc_cap.rs), and -max_len per target (the size of a realistic input, a few times over).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
ALL_TARGETS=(reference www_authenticate label_command manifest docker_archive oci_archive netrc registry_credentials fleet cosign)

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "scripts/fuzz.sh: SECONDS must be a whole number of seconds above 0, got \`$seconds\`" >&2
  exit 2
fi
shift || true
targets=("$@")
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  if ! [[ " ${ALL_TARGETS[*]} " == *" $t "* ]]; then
    echo "scripts/fuzz.sh: unknown target \`$t\`; targets: ${ALL_TARGETS[*]}" >&2
    exit 2
  fi
done

max_len() {
  case "$1" in
    reference | www_authenticate | netrc | cosign) echo 4096 ;;
    registry_credentials | fleet) echo 16384 ;;
    *) echo 65536 ;; # labels, manifests, archives: the seeds are 1–20 KB
  esac
}

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "scripts/fuzz.sh: the nightly toolchain is not installed (rustup toolchain list); cargo-fuzz needs it" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION (crates.io)" >&2
  cargo +nightly install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

out=target/fuzz
# -O: optimised like the release build; -a: with debug assertions and overflow checks, so an
# arithmetic overflow on input-derived sizes is a crash; -s none: see alloc_cap.rs.
build_flags=(-O -a -s none --target-dir "$out")
echo "== building the fuzz targets" >&2
cargo +nightly fuzz build "${build_flags[@]}" >&2

echo "== seeding the corpora" >&2
seeds="$out/seeds"
rm -rf "$seeds"
cargo run --quiet --example fuzz_seeds -- "$seeds" >&2
for dir in fuzz/seeds/*/; do
  t=$(basename "$dir")
  mkdir -p "$seeds/$t"
  cp "$dir"* "$seeds/$t/"
done
mkdir -p "$seeds/label_command"
cp examples/hello-xnat/*.json "$seeds/label_command/"
corpus_src=${XNAT_CMD_CORPUS:-../shared/corpus/commands}
if [ -d "$corpus_src" ]; then
  find "$corpus_src" -maxdepth 1 -type f -name '*.json' -exec cp {} "$seeds/label_command/" \;
fi

crashed=0
printf '%-22s %12s %10s %8s %8s\n' target executions exec/s seconds crashes
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  artifacts="$out/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log="$out/logs/$t.log"
  mkdir -p "$(dirname "$log")"
  before=$(find "$artifacts" -type f | wc -l)
  status=0
  started=$(date +%s)
  cargo +nightly fuzz run "${build_flags[@]}" "$t" "$corpus" "$seeds/$t" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  # Wall-clock seconds: a crash stops the target early, and libFuzzer then prints no "Done".
  took=$(($(date +%s) - started))
  found=$(($(find "$artifacts" -type f | wc -l) - before))
  if ((status != 0 && found == 0)); then
    # A failure that left no input (the build, the harness): nothing to replay.
    echo "scripts/fuzz.sh: $t failed (exit $status) without a crash input; see $log" >&2
    found=1
  fi
  printf '%-22s %12s %10s %8s %8s\n' "$t" "${runs:-?}" "${rate:-?}" "$took" "$found"
  if ((found > 0)); then
    crashed=1
    grep -m 1 -E 'panicked at|ERROR: libFuzzer|alloc_cap:' "$log" >&2 || true
    echo "  crash input(s): $artifacts/ (log: $log)" >&2
  fi
done
exit "$crashed"
