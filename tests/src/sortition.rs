//! VRF sortition from a client's side: read a task's round through the runtime API, sign a
//! claim with a worker's sr25519 key, and re-check the committee the chain elected.

use anyhow::{anyhow, Context, Result};
use codec::{Decode, Encode};
use polkadot_sdk::sp_core::{sr25519, Pair};
use subxt::dynamic::{self, Value};
use vouch_primitives::sortition::{self, SortitionRecord};

use crate::rpc::Rpc;

/// `TasksApi_sortition(task)` at the best block: the task's round, seed, threshold inputs and
/// seats, with account ids as raw 32 bytes.
pub async fn record(rpc: &Rpc, task: u64) -> Result<SortitionRecord<[u8; 32]>> {
	let answer = rpc.state_call("TasksApi_sortition", &task.encode()).await?;
	Option::<SortitionRecord<[u8; 32]>>::decode(&mut &answer[..])
		.context("decoding TasksApi_sortition's answer")?
		.ok_or_else(|| anyhow!("no task {task}"))
}

/// The sr25519 pair of a dev secret URI such as `//Charlie` (the same key subxt-signer derives).
pub fn pair(uri: &str) -> Result<sr25519::Pair> {
	sr25519::Pair::from_string(uri, None).map_err(|e| anyhow!("bad secret URI {uri}: {e:?}"))
}

/// `Tasks.claim_seat` for `pair` on the record's task and round, with a fresh VRF proof.
pub fn claim_seat(
	pair: &sr25519::Pair,
	record: &SortitionRecord<[u8; 32]>,
) -> impl subxt::transactions::Payload {
	let claim = sortition::sign(pair, record.task, &record.seed, record.round);
	dynamic::transaction(
		"Tasks",
		"claim_seat",
		vec![
			Value::u128(record.task.into()),
			Value::u128(record.round.into()),
			Value::from_bytes(record.seed),
			Value::from_bytes(claim.pre_output),
			Value::from_bytes(claim.proof),
		],
	)
}

/// Seals empty blocks until `task`'s committee is elected (its claim window closed), then
/// re-checks it with the primitives crate: every proof, draw, credit and the executor. Returns
/// the record and the executor's seat index.
pub async fn await_election(rpc: &Rpc, task: u64) -> Result<(SortitionRecord<[u8; 32]>, usize)> {
	for _ in 0..200 {
		let r = record(rpc, task).await?;
		if r.executor.is_some() {
			let index = sortition::recheck(&r)
				.map_err(|e| anyhow!("the chain's committee does not re-check: {e:?}"))?
				.ok_or_else(|| anyhow!("an executor without a seat"))?;
			return Ok((r, index));
		}
		rpc.create_block().await?;
	}
	Err(anyhow!("task {task} elected no committee in 200 blocks"))
}
