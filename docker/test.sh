#!/usr/bin/env bash
# Builds the static binary and the image of docker/Dockerfile.prebuilt, runs it, checks
# /_emu/health and a demo login through the published port, restarts the container on the
# same volume and checks the state survived, and prints the image size.
# Needs a running Docker engine. HOSTKEY_EMU_STATIC_TARGET_DIR: cargo's target directory
# for the static build (default: target-static/ in the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${HOSTKEY_EMU_STATIC_TARGET_DIR:-$root/target-static}
image=hostkey-emu:test
name=hostkey-emu-test-$$
volume=hostkey-emu-test-$$
key=deadbeef00000001-0123456789abcdef

echo "== static binary (glibc, crt-static)"
RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$target_dir" \
  cargo build --release --locked --target x86_64-unknown-linux-gnu
bin="$target_dir/x86_64-unknown-linux-gnu/release/hostkey-emu"
if ldd "$bin" 2>&1 | grep -q '=>'; then
  echo "FAIL: $bin is dynamically linked"; exit 1
fi

echo "== image"
context=$(mktemp -d)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker volume rm -f "$volume" >/dev/null 2>&1 || true
  rm -rf "$context"
}
trap cleanup EXIT
mkdir -p "$context/data"
cp "$bin" "$context/hostkey-emu"
# Symbols are no use in the image (a third of the binary).
if command -v strip >/dev/null 2>&1; then strip "$context/hostkey-emu"; fi
docker build -q -f docker/Dockerfile.prebuilt -t "$image" "$context" >/dev/null

start() {
  docker run -d --name "$name" -v "$volume:/data" -p 127.0.0.1::8080 \
    -e HOSTKEY_EMU_ADMIN_TOKEN=test-token -e HOSTKEY_EMU_TASK_SPEED=instant "$image" >/dev/null
  port=$(docker port "$name" 8080/tcp | head -n1 | sed 's/.*://')
  base="http://127.0.0.1:$port"
  # The image's own HEALTHCHECK (the binary's `health` command) must turn healthy.
  for _ in $(seq 1 60); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
    [ "$status" = healthy ] && break
    sleep 1
  done
  if [ "$status" != healthy ]; then
    echo "FAIL: container is $status"; docker logs "$name"; exit 1
  fi
}

echo "== run"
start
health=$(curl -fsS -H 'Authorization: Bearer test-token' "$base/_emu/health")
echo "health: $health"
echo "$health" | grep -q '"status":"ok"' || { echo "FAIL: health"; exit 1; }
login=$(curl -fsS "$base/auth.php" -d action=login -d "key=$key")
echo "$login" | grep -q '"token"' || { echo "FAIL: login: $login"; exit 1; }
token=$(echo "$login" | sed 's/.*"token":"\([^"]*\)".*/\1/')
# State to survive a restart: a new SSH key in the demo account.
added=$(curl -fsS "$base/ssh_keys.php" -d action=add -d "token=$token" -d name=docker-test \
  --data-urlencode "key=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIslOTxq0jgi6hYcg5HqxCwc+LQcpeCaBHNHeLLO2qnt docker@test")
echo "$added" | grep -q '"result":"OK"' || { echo "FAIL: ssh_keys add: $added"; exit 1; }

echo "== restart on the same volume"
docker rm -f "$name" >/dev/null
start
login=$(curl -fsS "$base/auth.php" -d action=login -d "key=$key")
token=$(echo "$login" | sed 's/.*"token":"\([^"]*\)".*/\1/')
listed=$(curl -fsS "$base/ssh_keys.php" -d action=list -d "token=$token")
echo "$listed" | grep -q docker-test || { echo "FAIL: state lost across the restart: $listed"; exit 1; }

size=$(docker image inspect -f '{{.Size}}' "$image")
echo "== image size: $((size / 1024 / 1024)) MB ($size bytes)"
echo "docker/test.sh: OK"
