#!/usr/bin/env bash
# Installs what building and testing Vouch needs on Debian. Idempotent: quick when done.
set -euo pipefail

packages=(build-essential pkg-config protobuf-compiler git ca-certificates
	# The executor's TPM service (tss-esapi) and the simulated TPMs of the demo and tests.
	libtss2-dev libtss2-tcti-swtpm0 swtpm swtpm-tools openssl
	# The executor's Docker runner: Debian's daemon (Engine API 1.41), which the tests and the
	# demo start on a socket of their own, and the static busybox of the test job image.
	docker.io busybox-static curl
	# Bob's Python job image of the main story: a Debian root filesystem (scripts/demo/).
	debootstrap
	# The py-substrate-interface check of the tests runs in a venv.
	python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the @polkadot/api check in the tests; any Node.js >= 18 on PATH will do.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "==> installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
	echo "error: Rust (rustup + cargo) is required; see https://rustup.rs" >&2
	exit 1
fi
# The runtime builds for wasm32v1-none: no nightly, no rust-src.
rustup target list --installed | grep -qx wasm32v1-none || rustup target add wasm32v1-none
