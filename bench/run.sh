#!/usr/bin/env bash
# Benchmarks on loopback, bounded: startup time to the first answered request, idle memory,
# and requests per second for eq/show (wrk). Usage: bench/run.sh [seconds] [connections]
# The database is a fresh file (the default setup); HOSTKEY_EMU_BENCH_DB=:memory: to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
start=$(date +%s%N)
DB=${HOSTKEY_EMU_BENCH_DB:-$(mktemp -d)/bench.db}
./target/release/hostkey-emu --db "$DB" --listen "127.0.0.1:$PORT" --task-speed instant >/tmp/hostkey-emu-bench.out 2>/tmp/hostkey-emu-bench.err &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf "$BASE/_emu/health" >/dev/null; do sleep 0.005; done
ready=$(date +%s%N)
echo "startup to first answered request: $(( (ready - start) / 1000000 )) ms"
sleep 1
echo "idle memory (RSS): $(awk '/VmRSS/ {print $2, $3}' /proc/$PID/status)"
TOKEN=$(curl -s "$BASE/auth.php" -d action=login -d key=deadbeef00000001-0123456789abcdef -d fix_ip=0 \
  | sed -E 's/.*"token":"([0-9a-f]+)".*/\1/')
echo "== eq/show, ${DURATION}s, $CONNS connections"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$BASE/eq.php?action=show&token=$TOKEN&id=40101" | sed -n '1,20p'
echo "== eq/list, ${DURATION}s, $CONNS connections"
wrk -t2 -c"$CONNS" -d"${DURATION}s" "$BASE/eq.php?action=list&token=$TOKEN" | grep -E 'Requests/sec|Latency'
echo "memory after load (RSS): $(awk '/VmRSS/ {print $2, $3}' /proc/$PID/status)"
