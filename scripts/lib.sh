# Shared by the scripts: where builds go and where the node binary is.
# Build output lives outside the work tree so that repeated runs are incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vouch-target}"
# One profile for the demo and the tests (see Cargo.toml): the `dev` profile.
export VOUCH_NODE="${VOUCH_NODE:-$CARGO_TARGET_DIR/debug/vouch-node}"
export VOUCH_EXECUTOR="${VOUCH_EXECUTOR:-$CARGO_TARGET_DIR/debug/vouch-executor}"
export VOUCH_CLI="${VOUCH_CLI:-$CARGO_TARGET_DIR/debug/vouch}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

step() { printf '\n==> %s\n' "$*" >&2; }

# The node, the executor and the CLI, in one build (one feature resolution).
build_binaries() {
	step "building vouch-node, vouch-executor and vouch (first build ~22 min on 2 cores from a fresh clone, then incremental)"
	(cd "$ROOT" && cargo build --locked -p vouch-node -p vouch-executor -p vouch-client)
}
