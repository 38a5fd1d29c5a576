# Shared by the story scripts: the project's lib, the network's directory, the job image and
# a JSON field reader (python3: no jq needed).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
DEV=${VOUCH_DEV_DIR:-/tmp/vouch-dev}
# `field NAME [NAME...]` prints a field of the JSON document on stdin (nested by the names).
field() {
	python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"
}
# `story NAME`: a fresh $work ($DEV/NAME), Bob's job image ($image, $image_id: built or
# cached by python-image.sh), and the two parties' CLIs, each with a home of its own under
# $work: "${alice[@]}" and "${bob[@]}".
story() {
	work="$DEV/$1"
	rm -rf "$work" && mkdir -p "$work"
	read -r image image_id < <("$ROOT/scripts/demo/python-image.sh")
	alice=("$VOUCH_CLI" --home "$work/alice" --suri //Alice)
	bob=("$VOUCH_CLI" --home "$work/bob" --suri //Bob)
}
