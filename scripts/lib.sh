# Shared by the scripts: where builds go and where the node binary is.
# Build output lives outside the work tree so that repeated runs are incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vouch-target}"
# One profile for the demo and the tests (see Cargo.toml): the `dev` profile.
export VOUCH_NODE="${VOUCH_NODE:-$CARGO_TARGET_DIR/debug/vouch-node}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

step() { printf '\n==> %s\n' "$*" >&2; }

build_node() {
	step "building vouch-node (first build ~12 min on 2 cores, then incremental)"
	(cd "$ROOT" && cargo build --locked -p vouch-node)
}
