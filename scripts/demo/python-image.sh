#!/usr/bin/env bash
# Bob's job image: Debian bookworm's python3 and python3-pil in a root filesystem made by
# `debootstrap` (minbase; Debian's mirror is the one registry reachable), turned into a
# `docker save` tarball by `vouch-executor image build-rootfs`, which leaves out logs, caches,
# bytecode and account databases so that the image ID is the same for the same package set.
# Both are cached under $VOUCH_IMAGE_CACHE (default ~/.cache/vouch-images): the first build
# takes a minute or so, later ones nothing. Prints "TARBALL IMAGE_ID" on stdout.
# Needs root (debootstrap) and the vouch-executor binary ($VOUCH_EXECUTOR).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

SUITE=${VOUCH_DEBIAN_SUITE:-bookworm}
MIRROR=${VOUCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=python3-minimal,python3-pil
cache="${VOUCH_IMAGE_CACHE:-$HOME/.cache/vouch-images}/python-$SUITE"
mkdir -p "$cache"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

if [[ ! -f "$cache/rootfs.done" ]]; then
	step "debootstrap: Debian $SUITE minbase with $PACKAGES into $cache/rootfs (once)"
	$sudo rm -rf "$cache/rootfs"
	$sudo debootstrap --variant=minbase --include="$PACKAGES" --exclude=apt \
		"$SUITE" "$cache/rootfs" "$MIRROR" > "$cache/debootstrap.log" 2>&1 || {
		tail -20 "$cache/debootstrap.log" >&2
		echo "error: debootstrap failed (log: $cache/debootstrap.log)" >&2
		exit 1
	}
	touch "$cache/rootfs.done"
fi
if [[ ! -f "$cache/image.id" || "$cache/rootfs.done" -nt "$cache/image.id" ]]; then
	step "building the image of $cache/rootfs"
	id=$($sudo "$VOUCH_EXECUTOR" image build-rootfs --rootfs "$cache/rootfs" \
		--out "$cache/image.tar" --env PATH=/usr/local/bin:/usr/bin:/bin \
		--env PYTHONDONTWRITEBYTECODE=1 --cmd /usr/bin/python3)
	echo "$id" > "$cache/image.id"
fi
echo "$cache/image.tar $(cat "$cache/image.id")"
