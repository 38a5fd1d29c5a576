#!/usr/bin/env bash
# The main job: set up, build and run a Vouch dev chain on ws://127.0.0.1:9944.
# Extra arguments go to vouch-node (e.g. `--sealing instant`, `--base-path /tmp/vouch`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"
build_node
step "starting the dev chain (Ctrl-C to stop); polkadot.js apps: ws://127.0.0.1:9944"
exec "$VOUCH_NODE" --dev "$@"
