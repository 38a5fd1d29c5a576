#!/usr/bin/env bash
# The main job: set up and build, then run on this machine a Vouch dev chain
# (ws://127.0.0.1:9944) with a content store, a Docker daemon if none answers, and ten
# workers, each a swtpm-backed TPM and its `vouch-executor launch` (a measured launch: the
# executor build, job runtime and sandbox configuration root allowed, in the TPM's executor
# PCR, to which the sealing key is bound), registered with their TPM evidence and activated: root bootstraps the first (nobody can verify it), the others by
# credential activation (their TPMs answer the active workers' challenges). Then the seeds'
# two stories, from the command line (scripts/demo/): Alice and Bob's grayscale picture
# (Python image built by debootstrap, committee of 10, minimum credit 100: the dev chain
# seeds the demo workers with credit 100) with its settlement, and a private set
# intersection of two parties' lists. The network then stays up for polkadot.js apps; Ctrl-C
# stops everything. Extra arguments go to vouch-node; VOUCH_DEV_EXIT=1 stops after the
# stories (the tests do); VOUCH_DEV_WORKERS sets the number of workers (at most ten).
# Logs: $VOUCH_DEV_DIR (default /tmp/vouch-dev).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"
build_binaries

DEV=${VOUCH_DEV_DIR:-/tmp/vouch-dev}
WORKERS=${VOUCH_DEV_WORKERS:-10}
rm -rf "$DEV" && mkdir -p "$DEV"
pids=()
tpm_ports=()
cleanup() {
	trap - EXIT INT TERM
	step "stopping everything this script started"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	# Each process stops cleanly on SIGTERM; one that has not after 30 s is killed.
	for _ in $(seq 60); do
		alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[[ $alive == 0 ]] && break
		sleep 0.5
	done
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	for port in "${tpm_ports[@]}"; do bash "$ROOT/scripts/tpm/swtpm.sh" stop "$port" || true; done
}
trap cleanup EXIT INT TERM

# Bob's job image (debootstrap, cached after the first build).
"$ROOT/scripts/demo/python-image.sh" > /dev/null

step "starting the dev chain (logs: $DEV/node.log); polkadot.js apps: ws://127.0.0.1:9944"
"$VOUCH_NODE" --dev --rpc-port 9944 "$@" > "$DEV/node.log" 2>&1 &
pids+=($!)

DOCKER_SOCKET=/var/run/docker.sock
if ! curl -fsS --unix-socket "$DOCKER_SOCKET" http://localhost/_ping > /dev/null 2>&1; then
	step "no Docker daemon answers: starting one of ours under $DEV/docker"
	DOCKER_SOCKET="$DEV/docker/docker.sock"
	mkdir -p "$DEV/docker"
	dockerd --host="unix://$DOCKER_SOCKET" --data-root="$DEV/docker/data" \
		--exec-root="$DEV/docker/exec" --pidfile="$DEV/docker/dockerd.pid" \
		--bridge=none --iptables=false --ip-masq=false --log-level=warn \
		> "$DEV/docker/dockerd.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 120); do
		curl -fsS --unix-socket "$DOCKER_SOCKET" http://localhost/_ping > /dev/null 2>&1 && break
		sleep 0.5
	done
fi

step "starting the content store on http://127.0.0.1:8700"
"$VOUCH_EXECUTOR" store --dir "$DEV/store" --listen 127.0.0.1:8700 > "$DEV/store.log" 2>&1 &
pids+=($!)

# The measured launch (simulated on swtpm: `vouch-executor launch` extends the executor PCR
# itself). Root allows exactly what it will measure here: this executor build, the job runtime
# serving the socket and its sandbox configuration; the chain refuses any other.
step "allowing this executor build, job runtime and sandbox configuration (vouch build allow)"
"$VOUCH_EXECUTOR" measure --json --docker-socket "$DOCKER_SOCKET" > "$DEV/measured.json"
"$VOUCH_CLI" --suri //Alice build allow --from "$DEV/measured.json"

names=(Charlie Dave Eve Ferdie Alice//stash Bob//stash Charlie//stash Dave//stash Eve//stash Ferdie//stash)
for i in $(seq 0 $((WORKERS - 1))); do
	w="$DEV/worker-$i"
	mkdir -p "$w"
	# Two consecutive free ports: the TPM's and its control channel's.
	port=$(python3 -c 'import socket
for _ in range(100):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    try:
        b = socket.socket(); b.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass')
	bash "$ROOT/scripts/tpm/swtpm.sh" provision "$w/tpm-state" > "$w/swtpm.log" 2>&1
	bash "$ROOT/scripts/tpm/swtpm.sh" start "$w/tpm-state" "$port" >> "$w/swtpm.log" 2>&1
	tpm_ports+=("$port")
	(umask 077 && echo "//${names[$i]}" > "$w/key")
	step "starting worker $i (//${names[$i]}): TPM swtpm:$port, logs $w/executor.log"
	VOUCH_ACCOUNT_KEY_FILE="$w/key" "$VOUCH_EXECUTOR" launch \
		--node-url ws://127.0.0.1:9944 \
		--tcti "swtpm:host=127.0.0.1,port=$port" --key-file "$w/tpm-keys" \
		--docker-socket "$DOCKER_SOCKET" --data-dir "$w/data" \
		--store-listen "127.0.0.1:$((8710 + i))" --api-listen "127.0.0.1:$((8720 + i))" \
		--metrics-listen "127.0.0.1:$((9620 + i))" --gateway http://127.0.0.1:8700 \
		--register-deposit 100000000000000 \
		--ek-intermediate "$ROOT/chain-spec/test-tpm-ca/issuer.der" \
		> "$w/executor.log" 2>&1 &
	pids+=($!)
done

step "activating the workers: root bootstraps one, credential activation the others"
"$VOUCH_CLI" --suri //Alice worker bootstrap --count "$WORKERS" --timeout-secs 600

VOUCH_STORY_COMMITTEE=$WORKERS "$ROOT/scripts/demo/alice-and-bob.sh"
VOUCH_PSI_COMMITTEE=$((WORKERS < 3 ? WORKERS : 3)) "$ROOT/scripts/demo/private-set-intersection.sh"

if [[ -n "${VOUCH_DEV_EXIT:-}" ]]; then exit 0; fi
step "the network keeps running: ws://127.0.0.1:9944, metrics on 127.0.0.1:9620.. (Ctrl-C stops it)"
wait "${pids[0]}"
