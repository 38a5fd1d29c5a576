#!/usr/bin/env bash
# Builds vouch-executor twice from one commit, in two different directories with their own
# target dirs, and checks that both binaries have the same SHA-256: the executor digest an
# operator reproduces and root puts on the chain's allowed-build list
# (`vouch --suri <root> build allow --digest <sha256> --kind executor --label ...`).
#
#   scripts/reproducible-build.sh [REV]     # default HEAD; prints the digest
#
# What makes it reproducible: the committed Cargo.lock (--locked), one toolchain (the
# script prints `rustc -V`: build with the same one), the release profile with one codegen
# unit and no incremental state, and every build path remapped (the source tree, the target
# dir, the cargo home), so the directory a build runs in leaves no trace in the binary.
# Two release builds of the executor take long on 2 cores (no shared target dir, on purpose):
# this is a script to run by hand, not part of CI; CI checks instead that what a worker's
# launch measured is the binary it runs (tests/tests/executors.rs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
rev=$(git -C "$ROOT" rev-parse "${1:-HEAD}")
work=${VOUCH_REPRO_DIR:-$(mktemp -d /tmp/vouch-repro.XXXXXX)}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
step "toolchain: $(rustc -V); commit $rev; building under $work"
for side in a b; do
	src="$work/$side/src" target="$work/$side/target"
	rm -rf "$src" && mkdir -p "$src" "$target"
	git -C "$ROOT" archive "$rev" | tar -x -C "$src"
	step "build $side: $src"
	(cd "$src" && CARGO_TARGET_DIR="$target" CARGO_INCREMENTAL=0 \
		CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
		RUSTFLAGS="--remap-path-prefix=$src=/vouch --remap-path-prefix=$target=/target --remap-path-prefix=$cargo_home=/cargo" \
		cargo build --locked --release -p vouch-executor)
done
a=$(sha256sum "$work/a/target/release/vouch-executor" | cut -d' ' -f1)
b=$(sha256sum "$work/b/target/release/vouch-executor" | cut -d' ' -f1)
echo "build a: $a"
echo "build b: $b"
if [[ $a != "$b" ]]; then
	echo "the two builds differ: not reproducible" >&2
	exit 1
fi
echo "reproducible: vouch-executor at $rev is sha256 $a"
echo "allow it: vouch --suri <root> build allow --digest $a --kind executor --label 'vouch-executor ${rev:0:12}'"
