#!/usr/bin/env bash
# Regenerates chain-spec/{dev,local}.json from the runtime's genesis presets.
# Run after every runtime or genesis change; the chain_specs test fails until you do.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build_binaries
for chain in dev local; do
	"$VOUCH_NODE" export-chain-spec --chain "$chain" --output "$ROOT/chain-spec/$chain.json" >/dev/null
	echo "chain-spec/$chain.json"
done
