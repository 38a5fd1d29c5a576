#!/usr/bin/env bash
# Post-to-settled latency of a trivial busybox job on a dev chain with real executors (swtpm
# TPMs, a Docker daemon of its own, as root), per phase, for committees 3 and 10; then the
# same job through a bare `docker run` and the Engine API, for the executor's share.
# Usage: scripts/bench-latency.sh [RUNS] [COMMITTEE...]   (defaults: 10 runs; 3 and 10)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS="${1:-10}"
shift || true
"$ROOT/scripts/setup.sh"
build_binaries
step "building the benchmark"
(cd "$ROOT" && cargo build --locked -p vouch-tests --bin bench-latency)
step "post-to-settled latency, $RUNS runs per committee"
"$CARGO_TARGET_DIR/debug/bench-latency" "$RUNS" "$@"
step "the same trivial job without the chain: docker run, bare Engine API, the runner"
"$VOUCH_EXECUTOR" bench docker --runs "$RUNS"
