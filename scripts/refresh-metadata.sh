#!/usr/bin/env bash
# Rewrites client/metadata/vouch.scale, the runtime metadata (V16) that the vouch-client crate's
# static types are generated from, from the runtime as built now (no node needed). The runtime
# test `the_clients_metadata_file_is_this_runtimes` fails while the committed file is stale.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
step "writing client/metadata/vouch.scale from the runtime"
(cd "$ROOT" && VOUCH_WRITE_METADATA=1 cargo test --locked -p vouch-runtime \
	--lib tests::the_clients_metadata_file_is_this_runtimes -- --exact --quiet)
ls -l "$ROOT/client/metadata/vouch.scale"
