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
