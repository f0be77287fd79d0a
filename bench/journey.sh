#!/usr/bin/env bash
# Times a full order-to-online journey at --task-speed instant on loopback: login, order a
# VM, poll eq_callback until the deployment record is OK. Usage: bench/journey.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
cargo build --release --quiet
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
./target/release/hostkey-emu --db :memory: --listen "127.0.0.1:$PORT" --task-speed instant >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf "$BASE/_emu/health" >/dev/null; do sleep 0.01; done
TOKEN=$(curl -s "$BASE/auth.php" -d action=login -d key=deadbeef00000001-0123456789abcdef | sed -E 's/.*"token":"([0-9a-f]+)".*/\1/')
total=0
for i in $(seq 1 "$RUNS"); do
  start=$(date +%s%N)
  KEY=$(curl -s "$BASE/eq.php" -d action=order_instance -d token="$TOKEN" -d deploy_period=monthly \
        -d deploy_notify=true -d preset=vm.pico -d location_name=NL -d os_id=187 -d traffic_plan=25 \
        -d 'root_pass=Secret-pass1' | sed -E 's/.*"callback":"([0-9a-f]+)".*/\1/')
  polls=0
  until curl -s "$BASE/eq_callback.php" -d action=check -d key="$KEY" | grep -q '"result":"OK"'; do
    polls=$((polls + 1)); [ $polls -lt 2000 ] || { echo "run $i: not online after $polls polls" >&2; exit 1; }
  done
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  total=$((total + ms))
  echo "run $i: order to online in $ms ms ($polls polls)"
done
echo "average: $((total / RUNS)) ms over $RUNS runs"
