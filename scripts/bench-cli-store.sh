#!/usr/bin/env bash
# Store throughput through the `vouch` CLI against the store alone: `vouch store put` (seal
# under a fresh key, hash, upload) and `vouch store get` (download, check the CID, open) of
# one file, beside curl's PUT and GET of an envelope of the same size to the same store.
# Prints MB/s of each and the CLI's share of the bare transfer's speed.
# Usage: scripts/bench-cli-store.sh [MIB] [RUNS]   (default 256 MiB, 3 runs; the best run counts)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MIB="${1:-256}"
RUNS="${2:-3}"
"$ROOT/scripts/setup.sh"
build_binaries

dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
store="http://127.0.0.1:$port"
"$VOUCH_EXECUTOR" store --dir "$dir/store" --listen "127.0.0.1:$port" 2>"$dir/store.log" &
pid=$!
for _ in $(seq 50); do curl -fs "$store/health" >/dev/null && break; sleep 0.1; done
head -c "$((MIB << 20))" /dev/urandom >"$dir/file"
vouch=("$VOUCH_CLI" --home "$dir/home" --store "$store" --json)

# The best of RUNS wall-clock seconds of a command.
best() {
	local best=""
	for _ in $(seq "$RUNS"); do
		local start end
		start=$(date +%s.%N)
		"$@" >/dev/null
		end=$(date +%s.%N)
		best=$(python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); b=sys.argv[3]; print(t if not b or t<float(b) else b)" "$start" "$end" "$best")
	done
	echo "$best"
}
# Each put is a fresh key, so a fresh envelope and CID: none is deduplicated by the store.
put_seconds=$(best "${vouch[@]}" store put "$dir/file")
cid=$("${vouch[@]}" store put "$dir/file" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
get_seconds=$(best "${vouch[@]}" store get "$cid" --out "$dir/out")
cmp "$dir/file" "$dir/out"

# The bare store: the envelope's bytes by curl, under a CID of their own each run.
envelope=$(find "$dir/store/blobs" -type f -size +1M | head -1)
# Each run's blob differs in its last bytes (a CID of its own), made and hashed before the
# clock starts: only curl's transfer is timed.
cidof() { python3 -c 'import hashlib,base64,sys; d=hashlib.sha256(open(sys.argv[1],"rb").read()).digest(); print("b"+base64.b32encode(bytes([1,0x55,0x12,0x20])+d).decode().lower().rstrip("="))' "$1"; }
put_bare=""
for i in $(seq "$RUNS"); do
	cp "$envelope" "$dir/blob" && printf '%016d' "$i" >>"$dir/blob"
	c=$(cidof "$dir/blob")
	start=$(date +%s.%N)
	curl -fs -T "$dir/blob" "$store/blobs/$c" >/dev/null
	end=$(date +%s.%N)
	put_bare=$(python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); b=sys.argv[3]; print(t if not b or t<float(b) else b)" "$start" "$end" "$put_bare")
done
get_bare=$(best curl -fs "$store/blobs/$c" -o "$dir/bare-out")

python3 - "$MIB" "$put_seconds" "$put_bare" "$get_seconds" "$get_bare" <<'PY'
import sys
mib = float(sys.argv[1])
put, put_bare, get, get_bare = map(float, sys.argv[2:])
mb = mib * 1.048576
print(f"{mib:.0f} MiB file, best of runs:")
print(f"  vouch store put  {mb / put:8.1f} MB/s  ({put:.2f} s: seal + hash + upload)")
print(f"  curl PUT         {mb / put_bare:8.1f} MB/s  ({put_bare:.2f} s: the store alone)   CLI at {put_bare / put:.0%}")
print(f"  vouch store get  {mb / get:8.1f} MB/s  ({get:.2f} s: download + CID check + open)")
print(f"  curl GET         {mb / get_bare:8.1f} MB/s  ({get_bare:.2f} s: the store alone)   CLI at {get_bare / get:.0%}")
PY
