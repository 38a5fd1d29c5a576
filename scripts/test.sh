#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite. CI runs exactly this.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"
build_binaries
step "installing @polkadot/api for the polkadot.js check (tests/polkadot-js)"
(cd "$ROOT/tests/polkadot-js" && npm ci --no-audit --no-fund --loglevel=error)
step "installing py-substrate-interface for the Python client check (tests/py-substrate/.venv)"
venv="$ROOT/tests/py-substrate/.venv"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/py-substrate/requirements.txt"
step "formatting"
(cd "$ROOT" && cargo fmt --all -- --check)
step "running the tests (pallets, runtime, chain specs, dev node, local testnet, polkadot.js, py-substrate-interface, executors, CLI)"
(cd "$ROOT" && cargo test --locked --workspace --exclude vouch-node -- --test-threads 1)
step "running the FRAME benchmarks once each, as tests, in the pallets' mock runtimes"
(cd "$ROOT" && cargo test --locked -p pallet-vouch-lambdas -p pallet-vouch-registry \
	-p pallet-vouch-tasks --features runtime-benchmarks -- --test-threads 1 benchmarking)
# The runtime's benchmark helpers only compile with `runtime-benchmarks`, which no test above
# enables for the runtime; a native check keeps them from breaking unseen.
step "checking the runtime with its benchmarks (what scripts/benchmark.sh builds)"
(cd "$ROOT" && SKIP_WASM_BUILD=1 cargo check --locked -p vouch-runtime --features runtime-benchmarks)
# README command one, as a user runs it, minus the wait at the end: the dev chain, dockerd,
# ten swtpm workers with their executors, and both stories (the grayscale picture settled to
# the unit, the private set intersection).
step "the main command's story (scripts/run-dev.sh with VOUCH_DEV_EXIT=1)"
VOUCH_DEV_EXIT=1 VOUCH_DEV_DIR=/tmp/vouch-dev-test "$ROOT/scripts/run-dev.sh"
