#!/usr/bin/env bash
# The soak: a steady mixed load (logins, power actions, callback reads and records left
# unread, PIN checks, tags, noVNC, remote-hands tickets, throttled wrong keys) against one
# emulator for a bounded time, printing the database's size on disk, the emulator's RSS
# and the rows of the growing tables at intervals, then the growth over the last third of
# the run. With the retention periods shortened to seconds, both must level off.
#
#   bench/soak.sh                        5 minutes, a sample every 15 s, about 150 requests/s
#   SOAK_SECONDS=60 bench/soak.sh        a shorter run
#   HOSTKEY_EMU_BIN=target/debug/hostkey-emu bench/soak.sh   an existing binary, no build
#
# Loopback only; the emulator is stopped at the end. Needs cargo (unless HOSTKEY_EMU_BIN is
# given) and python3. Knobs (environment): SOAK_SECONDS, SOAK_INTERVAL, SOAK_RATE,
# SOAK_THREADS, KEEP=1 (keep the scratch directory). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "bench/soak.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac
command -v python3 >/dev/null || { echo "bench/soak.sh: python3 is needed" >&2; exit 1; }

WORK=$(mktemp -d /tmp/hostkey-emu-soak.XXXXXX)
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "[soak] kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

BIN=${HOSTKEY_EMU_BIN:-}
if [ -z "$BIN" ]; then
  command -v cargo >/dev/null || { echo "bench/soak.sh: cargo is needed" >&2; exit 1; }
  echo "[soak] building the emulator (cargo build --release)" >&2
  cargo build --release --quiet --bin hostkey-emu
  BIN=target/release/hostkey-emu
fi
# A copy, so that another build during the run cannot swap the binary under it.
cp "$BIN" "$WORK/hostkey-emu"
python3 bench/soak.py --emu "$WORK/hostkey-emu" --work "$WORK"
