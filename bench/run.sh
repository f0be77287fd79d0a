#!/usr/bin/env bash
# The repository's benchmark, one command: builds (release) the emulator and a bare axum
# ceiling (examples/ceiling.rs), starts both on 127.0.0.1, drives every row of issue 9's
# table against each with wrk, and prints one Markdown table with ratios and p99s.
#
#   bench/run.sh                      full run (10 s per load row, 10,000-server scenarios)
#   bench/run.sh --quick              smoke run (2 s loads, 1,000 servers, 10 x 100)
#   BASELINE=d5e669f bench/run.sh     also builds that revision (temporary git worktree
#                                     under /tmp) and adds its column: before and after
#
# Loopback only; every load runs for a fixed time and every start has a deadline. Needs
# cargo, python3 and wrk (installed with apt-get when missing and running as root).
# Knobs (environment): BENCH_SECONDS, BENCH_ROUNDS, BENCH_LATENCY_SECONDS, BENCH_IDLE_SECONDS,
# BENCH_STARTS, BENCH_SERVERS, BENCH_ACCOUNTS, BENCH_SERVERS_PER_ACCOUNT, BENCH_ROWS (groups:
# startup,hot,password,big), KEEP=1 (keep the scratch directory). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
QUICK=()
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=(--quick) ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

command -v cargo >/dev/null || { echo "bench/run.sh: cargo is needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench/run.sh: python3 is needed" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[bench] installing wrk (apt-get install -y wrk)" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; } || true
  fi
  command -v wrk >/dev/null || { echo "bench/run.sh: wrk is needed and could not be installed: apt-get install -y wrk" >&2; exit 1; }
fi

WORK=$(mktemp -d /tmp/hostkey-emu-bench.XXXXXX)
BASE_WT=""
cleanup() {
  if [ -n "$BASE_WT" ]; then
    git -C "$REPO" worktree remove --force "$BASE_WT" 2>/dev/null || true
    git -C "$REPO" worktree prune 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "[bench] kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "[bench] building the emulator and the ceiling (cargo build --release)" >&2
cargo build --release --quiet --bin hostkey-emu --example ceiling
# Copies, so that another build during the run cannot swap the binaries under it.
cp target/release/hostkey-emu "$WORK/hostkey-emu"
cp target/release/examples/ceiling "$WORK/ceiling"

BASE_ARGS=()
if [ -n "${BASELINE:-}" ]; then
  rev=$(git rev-parse --verify --quiet "${BASELINE}^{commit}") \
    || { echo "bench/run.sh: BASELINE=$BASELINE is not a commit here" >&2; exit 2; }
  name="$BASELINE"
  [ "$(git rev-parse --short "$rev")" = "$BASELINE" ] || name="$BASELINE ($(git rev-parse --short "$rev"))"
  BASE_WT="$WORK/baseline-src"
  git worktree add --detach --quiet "$BASE_WT" "$rev"
  # Its own target directory (kept between runs, so the next baseline build is quick),
  # seeded from this tree's release build so that unchanged dependencies are not rebuilt.
  BASE_TARGET="$REPO/target/bench-baseline"
  if [ ! -d "$BASE_TARGET/release" ]; then
    mkdir -p "$BASE_TARGET"
    cp -a target/release "$BASE_TARGET/"
  fi
  echo "[bench] building baseline $name in $BASE_WT" >&2
  if CARGO_TARGET_DIR="$BASE_TARGET" cargo build --release --quiet --bin hostkey-emu \
      --manifest-path "$BASE_WT/Cargo.toml"; then
    cp "$BASE_TARGET/release/hostkey-emu" "$WORK/hostkey-emu-baseline"
    BASE_ARGS=(--baseline "$WORK/hostkey-emu-baseline" --baseline-name "$name")
  else
    echo "[bench] the baseline build failed: its column shows -" >&2
    BASE_ARGS=(--baseline-name "$name")
  fi
  git worktree remove --force "$BASE_WT"
  BASE_WT=""
fi

python3 bench/bench.py --work "$WORK" --emu "$WORK/hostkey-emu" --ceiling "$WORK/ceiling" \
  "${BASE_ARGS[@]}" "${QUICK[@]}"
