#!/usr/bin/env bash
# The seeds' second story (the Raspberry Pi TPM POC's capsule), on a running network
# (scripts/run-dev.sh starts one). Alice and Bob each seal a list of names and upload it;
# Alice publishes the intersection lambda (its code in the open: both can read what will run
# on their data) and posts one task on both inputs, its result sent to both; Bob follows the
# task with `vouch task watch`, which releases his list's key only after his checks. Each
# opens the result with their own key and finds the names on both lists, and nothing else.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
COMMITTEE=${VOUCH_PSI_COMMITTEE:-3}
story private-set-intersection
printf '%s\n' ada grace eve mallory linus > "$work/alice.txt"
printf '%s\n' carol eve ada trent linus > "$work/bob.txt"

step "Bob seals and uploads his list (the key stays in his keyring)"
bobs_cid=$("${bob[@]}" --json store put "$work/bob.txt" | field cid)
bob_account=$("${bob[@]}" --json key show | field account)
bob_result_key=$("${bob[@]}" --json key show | field result_public)
alice_result_key=$("${alice[@]}" --json key show | field result_public)
alice_account=$("${alice[@]}" --json key show | field account)

step "Alice publishes the intersection lambda, in the open, at price 1"
lambda=$("${alice[@]}" --json lambda publish "$ROOT/scripts/demo/intersection" \
	--image "$image" --image-id "$image_id" --price 1 \
	--entrypoint /usr/bin/python3 --arg -B --arg /code/intersect.py | field id)

step "Alice posts one task on both lists, its result sealed to both of them"
task=$("${alice[@]}" --json task post --lambda "$lambda" --input "$work/alice.txt" \
	--input-cid "$bobs_cid=$bob_account" --payment 5 --committee "$COMMITTEE" --rounds 3 \
	--recipient "$alice_account=$alice_result_key" --recipient "$bob_account=$bob_result_key" | field id)

step "Bob and Alice follow task $task: each releases their own key after their own checks"
"${bob[@]}" task watch "$task" --expect-image "$image_id" --out "$work/bob-result" > "$work/bob-watch.log" 2>&1 &
bob_watch=$!
"${alice[@]}" task watch "$task" --expect-image "$image_id" --out "$work/alice-result"
wait "$bob_watch" || { cat "$work/bob-watch.log" >&2; exit 1; }

step "both read the intersection, and only it"
expected=$(sort -u "$work/alice.txt" | comm -12 - <(sort -u "$work/bob.txt"))
for who in alice bob; do
	got=$(cat "$work/$who-result/common")
	echo "    $who reads: $(echo "$got" | tr '\n' ' ')"
	[[ "$got" == "$expected" ]] || { echo "error: $who's result is not the intersection ($expected)" >&2; exit 1; }
done
"${alice[@]}" task settlement "$task"
