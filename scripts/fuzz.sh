#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz + libFuzzer) of every parser that reads foreign bytes:
# the targets in fuzz/fuzz_targets/, run one after the other (the machine has 2 cores).
#   scripts/fuzz.sh                   # explore: every target for 60 s
#   scripts/fuzz.sh SECONDS           # explore: every target for SECONDS
#   scripts/fuzz.sh SECONDS TARGET…   # explore: only these targets
#   scripts/fuzz.sh replay [TARGET…]  # replay the committed inputs once (what CI runs)
# Exploring prints one line per target: executions, exec/s, seconds, new corpus inputs,
# crashes; replaying: inputs run, crashes. Exits 1 when any target crashed, 2 on bad arguments.
# Needs the nightly toolchain (rustup); installs cargo-fuzz when missing (crates.io).
#
# Committed inputs (same answer every run, so CI replays only these):
# - fuzz/corpus/TARGET: a small corpus per target, minimised with `cargo fuzz cmin`;
# - fuzz/regressions/TARGET: every crash input found so far (each also a unit test).
# Exploring saves what it finds there for a person to review and commit: inputs that add
# coverage are merged into fuzz/corpus/TARGET (libFuzzer -merge=1, so only new coverage), and
# a crash input is copied to fuzz/regressions/TARGET (and kept under target/fuzz/artifacts/;
# replay it with `cargo +nightly fuzz run -O -a -s none TARGET FILE`).
#
# Exploring starts from target/fuzz/corpus/TARGET (kept between runs), the committed inputs,
# and seeds from the tests' fixtures: fuzz/seeds/TARGET (text inputs taken from the unit
# tests), the testkit's images written as labels, manifests and archives
# (examples/fuzz_seeds.rs), the example commands, and the real command files of
# ../shared/corpus when present (seeds under target/ only, never merged into fuzz/corpus:
# they are not ours to publish; inputs mutated from them may be, so review before committing).
#
# Limits, so that endless loops and huge allocations are crashes too: -timeout (seconds for one
# input), -rss_limit_mb (the whole process), one allocation over 256 MiB (fuzz/fuzz_targets/
# alloc_cap.rs), and -max_len per target (the size of a realistic input, a few times over).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
ALL_TARGETS=(reference www_authenticate label_command manifest docker_archive oci_archive netrc registry_credentials fleet cosign)

mode=explore
seconds=${1:-60}
if [ "$seconds" = replay ]; then
  mode=replay
elif ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "scripts/fuzz.sh: SECONDS must be a whole number of seconds above 0 (or \`replay\`), got \`$seconds\`" >&2
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
    # Fleet and credentials files reach their bounds (64 levels, the alias budget, 4096 images:
    # about 49 KB) only past 16 KB.
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

fuzz_opts=(-timeout=10 -rss_limit_mb=2048)

if [ "$mode" = replay ]; then
  # libFuzzer's individual-files mode: each input runs once, nothing is mutated and nothing
  # is written, so the answer is the same every run. The first crash stops the target.
  crashed=0
  printf '%-22s %8s %8s\n' target inputs crashes
  for t in "${targets[@]}"; do
    inputs=()
    for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do
      [ -d "$d" ] && while IFS= read -r f; do inputs+=("$f"); done < <(find "$d" -type f | sort)
    done
    log="$out/logs/replay-$t.log"
    mkdir -p "$(dirname "$log")"
    if ((${#inputs[@]} == 0)); then
      echo "scripts/fuzz.sh: $t has no committed inputs (fuzz/corpus/$t, fuzz/regressions/$t)" >&2
      crashed=1
      continue
    fi
    status=0
    cargo +nightly fuzz run "${build_flags[@]}" "$t" "${inputs[@]}" -- "${fuzz_opts[@]}" \
      -max_len="$(max_len "$t")" >"$log" 2>&1 || status=$?
    printf '%-22s %8s %8s\n' "$t" "${#inputs[@]}" "$((status != 0))"
    if ((status != 0)); then
      crashed=1
      grep -m 1 -E 'panicked at|ERROR: libFuzzer|alloc_cap:' "$log" >&2 || true
      grep -E '^Running: ' "$log" | tail -n 1 >&2 || true  # the input it stopped on
      echo "  $t failed on a committed input (exit $status; log: $log)" >&2
    fi
  done
  exit "$crashed"
fi

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
# The real command files: seeds only, kept apart so they are never merged into fuzz/corpus.
shared="$out/shared-seeds"
rm -rf "$shared"
mkdir -p "$shared"
corpus_src=${XNAT_CMD_CORPUS:-../shared/corpus/commands}
if [ -d "$corpus_src" ]; then
  find "$corpus_src" -maxdepth 1 -type f -name '*.json' -exec cp {} "$shared/" \;
fi

crashed=0
printf '%-22s %12s %10s %8s %8s %8s\n' target executions exec/s seconds new crashes
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  artifacts="$out/artifacts/$t"
  committed="fuzz/corpus/$t"
  regressions="fuzz/regressions/$t"
  mkdir -p "$corpus" "$artifacts" "$committed" "$seeds/$t"
  log="$out/logs/$t.log"
  mkdir -p "$(dirname "$log")"
  find "$artifacts" -type f | sort >"$log.before"
  before=$(wc -l <"$log.before")
  status=0
  started=$(date +%s)
  extra=()
  [ -d "$regressions" ] && extra+=("$regressions")
  [ "$t" = label_command ] && extra+=("$shared")
  cargo +nightly fuzz run "${build_flags[@]}" "$t" "$corpus" "$committed" "${extra[@]}" "$seeds/$t" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$t")" "${fuzz_opts[@]}" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  # Wall-clock seconds: a crash stops the target early, and libFuzzer then prints no "Done".
  took=$(($(date +%s) - started))
  found=$(($(find "$artifacts" -type f | wc -l) - before))
  if ((status != 0 && found == 0)); then
    # A failure that left no input (the build, the harness): nothing to replay.
    echo "scripts/fuzz.sh: $t failed (exit $status; see $log) without a crash input" >&2
    found=1
  fi
  # Save what was found for a person to commit: inputs with new coverage into the committed
  # corpus (only those: -merge=1 keeps it small), crash inputs into the regressions.
  had=$(find "$committed" -type f | wc -l)
  if ((status == 0)); then
    cargo +nightly fuzz run "${build_flags[@]}" "$t" "$committed" "$corpus" "$seeds/$t" -- -merge=1 \
      -max_len="$(max_len "$t")" "${fuzz_opts[@]}" >"$out/logs/merge-$t.log" 2>&1 \
      || echo "scripts/fuzz.sh: merging $t's new inputs into $committed failed; see $out/logs/merge-$t.log" >&2
  fi
  new=$(($(find "$committed" -type f | wc -l) - had))
  printf '%-22s %12s %10s %8s %8s %8s\n' "$t" "${runs:-?}" "${rate:-?}" "$took" "$new" "$found"
  if ((found > 0)); then
    crashed=1
    grep -m 1 -E 'panicked at|ERROR: libFuzzer|alloc_cap:' "$log" >&2 || true
    mkdir -p "$regressions"
    find "$artifacts" -type f | sort | comm -13 "$log.before" - | while IFS= read -r f; do
      cp "$f" "$regressions/"
    done
    echo "  crash input(s): $artifacts/, copied to $regressions/ (log: $log)" >&2
  fi
done
exit "$crashed"
