#!/usr/bin/env bash
# The seeds' first story, typed as Alice and Bob would, on a running network (scripts/run-dev.sh
# starts one: ten workers with credit 100 on the dev chain). Bob publishes his grayscale lambda
# (Python on Debian's python3-pil), its code sealed, at price 3, and serves its key; Alice
# posts her colour picture, sealed, with payment 10, minimum credit 100 and a committee of 10,
# and `vouch task post --wait` follows the task to her decrypted result. The script then
# checks the picture pixel by pixel and prints the settlement: burn 1, Bob 3, the executor 3,
# each monitor 1/3, and each member's credit before and after. Exits non-zero if any of it
# is wrong.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
COMMITTEE=${VOUCH_STORY_COMMITTEE:-10}
MIN_CREDIT=${VOUCH_STORY_MIN_CREDIT:-100}
story alice-and-bob

step "Bob publishes his grayscale lambda, its code sealed, at price 3 (image $image_id)"
lambda=$("${bob[@]}" --json lambda publish "$ROOT/scripts/demo/grayscale" \
	--image "$image" --image-id "$image_id" --price 3 \
	--entrypoint /usr/bin/python3 --arg -B --arg /code/grayscale.py --encrypt | field id)
"${bob[@]}" lambda show "$lambda"

step "Bob serves his code key: each task's executor gets it only after his own checks"
"${bob[@]}" lambda serve --id "$lambda" --expect-image "$image_id" > "$work/bob-serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT

step "Alice's colour picture: $work/picture.png"
python3 "$ROOT/scripts/demo/picture.py" make "$work/picture.png"

step "Alice posts it: payment 10, minimum credit $MIN_CREDIT, a committee of $COMMITTEE; --wait follows it to her result"
# A 20-block sortition window: the dev chain seals a block per transaction, so ten claims
# alone fill ten blocks within a second, and Bob's `lambda serve` must back his code key
# before the window closes (with 10 blocks it sometimes did not: Expired, KeysNotBacked).
"${alice[@]}" --json task post --lambda "$lambda" --input "$work/picture.png" --payment 10 \
	--committee "$COMMITTEE" --min-credit "$MIN_CREDIT" --quorum $(((COMMITTEE - 1) * 2 / 3)) \
	--deadlines 20,40,40,60,40 --expect-image "$image_id" --wait --out "$work/result" > "$work/task.json"
task=$(field id < "$work/task.json")
echo "task $task settled in $(field seconds < "$work/task.json") s; Alice's result: $work/result"

step "Alice checks her black-and-white picture"
python3 "$ROOT/scripts/demo/picture.py" check "$work/picture.png" "$work/result/grayscale.png"

step "the settlement of task $task"
"${alice[@]}" task settlement "$task"
"${alice[@]}" --json task settlement "$task" > "$work/settlement.json"
python3 - "$work/settlement.json" "$COMMITTEE" <<'PY'
import json, sys
s, committee = json.load(open(sys.argv[1])), int(sys.argv[2])
p = s["payout"]
checks = {
    "settled": s["outcome"] == "Settled",
    "the shares add up to the payment, to the unit": p["total_units"] == s["payment_units"],
    "burn 1": p["burn"] == "1",
    "Bob's price 3": p["developer"] == "3",
    "every monitor honest and paid": p["honest_monitors"] == committee - 1,
    "every member earned credit": all(c["after"] > c["before"] for c in s["credit"]),
}
for what, ok in checks.items():
    print(f"    {'ok ' if ok else 'NO '} {what}")
sys.exit(0 if all(checks.values()) else 1)
PY
