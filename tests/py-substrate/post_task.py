"""The story's first steps with py-substrate-interface, as a new Python user would write them.

Bob publishes a lambda and Alice posts a task on it; a payment too small for the price is
refused with the pallet error; the `TasksApi.sortition` runtime API is read with `state_call`.
Two things a new user hits, shown here (docs/clients.md):

- scalecodec 1.2 does not know the path `bounded_collections::bounded_vec::BoundedVec` of the
  runtime's bounded vectors and fails with "Provided value is not a list" on any call taking
  one, until the type registry maps that path to its own `BoundedVec`;
- it reads runtime APIs from its own list, not from the metadata: `TasksApi` is reached with
  the `state_call` RPC and its SCALE answer decoded by hand.

Usage: post_task.py [ws://127.0.0.1:9944]; prints one JSON line (the `py_substrate` test).
"""

import json
import struct
import sys

from substrateinterface import Keypair, SubstrateInterface

URL = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9944"
UNIT = 10**12
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"

# The one type-registry entry that makes bounded vectors encode.
chain = SubstrateInterface(
    url=URL,
    type_registry={"types": {"bounded_collections::bounded_vec::BoundedVec": "BoundedVec"}},
)
alice = Keypair.create_from_uri("//Alice")
bob = Keypair.create_from_uri("//Bob")


def send(keypair, pallet, function, params):
    """Signs and submits a call, waits for its block; (success, error, events)."""
    call = chain.compose_call(call_module=pallet, call_function=function, call_params=params)
    extrinsic = chain.create_signed_extrinsic(call=call, keypair=keypair)
    receipt = chain.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    events = [
        {"event": f"{e.value['module_id']}.{e.value['event_id']}", "fields": e.value["attributes"]}
        for e in receipt.triggered_events
    ]
    return receipt.is_success, receipt.error_message, events


def found(events, name):
    return next(e["fields"] for e in events if e["event"] == name)


ok, _, events = send(bob, "Lambdas", "publish", {
    "code_cid": CID,
    "image_digest": "0x" + "11" * 32,
    "image_cid": CID,
    "manifest": {
        "entrypoint": "/bin/sh",
        "args": ["/code/main.sh"],
        "env": [],
        "cpu_millicores": 1000,
        "memory_mib": 128,
        "time_limit_secs": 60,
        "max_output_bytes": 1 << 20,
    },
    "price": 3 * UNIT,
    "encrypted": False,
})
lambda_id = found(events, "Lambdas.Published")["lambda"]


def post(payment):
    return send(alice, "Tasks", "post_task", {
        "lambda": lambda_id,
        "inputs": [{"cid": CID, "owner": alice.ss58_address}],
        "recipients": [{"who": alice.ss58_address, "x25519": "0x" + "22" * 32}],
        "requirements": {
            "min_credit": 0,
            "committee_size": 3,
            "max_rounds": 3,
            "deadlines": {"sortition": 10, "attestation": 40, "key_release": 40, "run": 60, "verdicts": 40},
            "network_none": True,
            "wipe": True,
        },
        "payment": payment,
    })


refused_ok, refused_error, _ = post(3 * UNIT)
posted_ok, _, events = post(10 * UNIT)
task = found(events, "Tasks.TaskPosted")

# TasksApi_sortition(task: u64) -> Option<SortitionRecord>: task u64, round u32, seed [u8; 32],
# eligible u32, target u32, min_credit u32, then the seats.
answer = chain.rpc_request("state_call", ["TasksApi_sortition", "0x" + struct.pack("<Q", task["task"]).hex()])
raw = bytes.fromhex(answer["result"][2:])
record = None
if raw[:1] == b"\x01":
    t, rnd = struct.unpack_from("<QI", raw, 1)
    eligible, target, min_credit = struct.unpack_from("<III", raw, 1 + 12 + 32)
    record = {"task": t, "round": rnd, "eligible": eligible, "target": target, "min_credit": min_credit}

print(json.dumps({
    "alice": alice.ss58_address,
    "published": ok,
    "lambda": lambda_id,
    "refused": {"ok": refused_ok, "error": refused_error},
    "posted": posted_ok,
    "task_posted": task,
    "sortition": record,
}))
