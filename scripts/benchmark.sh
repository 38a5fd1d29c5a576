#!/usr/bin/env bash
# Measures the Vouch pallets' weights with the FRAME benchmarks and writes them to
# runtime/src/weights/. Builds vouch-node with `--features runtime-benchmarks` (a larger build
# than the everyday one: the benchmarking CLI brings its own crates).
#
#   scripts/benchmark.sh                 # every Vouch pallet
#   STEPS=50 REPEAT=20 scripts/benchmark.sh pallet_vouch_tasks
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"

# frame-benchmarking-cli's storage benchmark carries a test runtime whose wasm build cannot
# resolve inside this workspace; `benchmark pallet` does not need it.
export SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1
step "building vouch-node with runtime benchmarks"
(cd "$ROOT" && cargo build --locked -p vouch-node --features runtime-benchmarks)

pallets=("$@")
((${#pallets[@]})) || pallets=(pallet_vouch_lambdas pallet_vouch_registry pallet_vouch_tasks)
mkdir -p "$ROOT/runtime/src/weights"
for pallet in "${pallets[@]}"; do
	step "benchmarking $pallet (steps ${STEPS:-20}, repeat ${REPEAT:-10})"
	"$VOUCH_NODE" benchmark pallet \
		--runtime "$CARGO_TARGET_DIR/debug/wbuild/vouch-runtime/vouch_runtime.wasm" \
		--genesis-builder runtime \
		--genesis-builder-preset development \
		--pallet "$pallet" \
		--extrinsic '*' \
		--steps "${STEPS:-20}" \
		--repeat "${REPEAT:-10}" \
		--wasm-execution compiled \
		--heap-pages 4096 \
		--header "$ROOT/scripts/weights-header.txt" \
		--output "$ROOT/runtime/src/weights/$pallet.rs"
	# The generated file names frame-support and frame-system as crates; this runtime reaches
	# them through the polkadot-sdk umbrella.
	sed -i 's/^use frame_support::/use polkadot_sdk::{frame_support, frame_system};\nuse polkadot_sdk::frame_support::/' \
		"$ROOT/runtime/src/weights/$pallet.rs"
done
step "rebuilding the everyday vouch-node (without the benchmark CLI)"
(cd "$ROOT" && cargo build --locked -p vouch-node)
