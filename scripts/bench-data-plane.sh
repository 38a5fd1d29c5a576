#!/usr/bin/env bash
# The executor's data-plane figures, printed: one trivial busybox job through `docker run`,
# the bare Engine API and the runner's whole path; store PUT/GET throughput against `cat`;
# envelope throughput; the store's idle RSS. Starts a Docker daemon of its own (as root).
# Usage: scripts/bench-data-plane.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS="${1:-20}"
"$ROOT/scripts/setup.sh"
step "building vouch-executor"
(cd "$ROOT" && cargo build --locked -p vouch-executor)
EXECUTOR="$CARGO_TARGET_DIR/debug/vouch-executor"

step "docker: CLI vs bare Engine API vs runner ($RUNS runs each)"
"$EXECUTOR" bench docker --runs "$RUNS"

step "content store throughput"
"$EXECUTOR" bench store --runs 5

step "envelope throughput"
"$EXECUTOR" bench envelope --runs 5

step "content store idle RSS (after serving a 1 MiB blob)"
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
"$EXECUTOR" store --dir "$dir/store" --listen "127.0.0.1:$port" 2>"$dir/store.log" &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
head -c 1048576 /dev/urandom >"$dir/blob"
cid="$(python3 -c 'import hashlib,base64,sys; d=hashlib.sha256(open(sys.argv[1],"rb").read()).digest(); print("b"+base64.b32encode(bytes([1,0x55,0x12,0x20])+d).decode().lower().rstrip("="))' "$dir/blob")"
curl -fs -X PUT --data-binary @"$dir/blob" "http://127.0.0.1:$port/blobs/$cid" >/dev/null
curl -fs "http://127.0.0.1:$port/blobs/$cid" -o /dev/null
sleep 1
grep VmRSS "/proc/$pid/status" | awk '{printf "store idle RSS: %.1f MB\n", $2 / 1000}'
