//! What a key owner checks, off-chain and with the primitives crate, before it releases a key
//! to a task's executor: that the committee's VRF proofs verify and elect this executor, that
//! the executor's own `Before` quote (read from the block that carried it) verifies against
//! its registered AK, the chain's PCR policy and the nonce of this task and round, that the
//! image is the one expected, and that enough monitors confirmed the sandbox. The chain
//! checked all of this already; a key owner who trusts no node re-checks it.

use anyhow::{anyhow, Result};
use vouch_primitives::{
	sortition,
	tpm::{
		nonce::quote_nonce,
		verify::{check_ak, verify_quote, PcrPolicy},
	},
	Phase,
};

use crate::{
	calls,
	chain::AtBlock,
	reads::{self, TaskView},
	runtime::tasks::calls::AttestBefore,
	Chain,
};

/// When a key owner releases its keys: each bound tightens what the chain already demands.
#[derive(Clone, Debug, Default)]
pub struct Policy {
	/// Monitors that must have confirmed the sandbox (`None`: as many as the chain needs).
	pub quorum: Option<u32>,
	/// The executor's least credit.
	pub min_executor_credit: u32,
	/// The image the job must run in (`None`: the lambda's).
	pub expect_image: Option<[u8; 32]>,
}

/// What the checks found.
#[derive(Clone, Debug)]
pub struct Checked {
	/// Every seat: account, draw, credit; the executor's index.
	pub seats: Vec<([u8; 32], u128, u32)>,
	/// The executor's seat.
	pub executor: usize,
	/// The block whose extrinsic carried the verified `Before` quote.
	pub quote_block: u64,
	/// The attested image ID.
	pub image_id: [u8; 32],
	/// Monitors that confirmed the sandbox, and monitors in the committee.
	pub confirmed: (u32, u32),
	/// The executor's credit now.
	pub executor_credit: u32,
}

/// Checks `view` (in `KeyRelease` or later) at `at` against `policy`: `Ok(Err(reason))` when a
/// check fails, `Err` when the chain could not be read.
pub async fn check_release(
	chain: &Chain,
	at: &AtBlock,
	view: &TaskView,
	policy: &Policy,
) -> Result<Result<Checked, String>> {
	let task = view.id;
	let Some(executor) = view.status.executor() else {
		return Ok(Err(format!("task {task} has no executor yet")));
	};
	let Some(record) = chain.sortition(at, task).await? else {
		return Ok(Err(format!("task {task} has no sortition record")));
	};
	let seat = match sortition::recheck(&record) {
		Ok(Some(seat)) => seat,
		Ok(None) => return Ok(Err("the committee elects no executor".into())),
		Err(e) => return Ok(Err(format!("the committee's VRF proofs do not re-check: {e:?}"))),
	};
	if record.seats[seat].who != executor {
		return Ok(Err("the chain's executor is not the one the committee's draws elect".into()));
	}
	let seats = record.seats.iter().map(|s| (s.who, s.draw, s.credit)).collect();

	let Some(attested) = reads::attestation(at, task, Phase::Before).await? else {
		return Ok(Err("no Before attestation on-chain".into()));
	};
	let image_id = attested.measurements.image_id;
	let expected = policy.expect_image.unwrap_or(view.image_id);
	if image_id != expected {
		return Ok(Err(format!(
			"the executor attested image sha256:{}, not sha256:{}",
			hex::encode(image_id),
			hex::encode(expected)
		)));
	}
	let Some(worker) = reads::worker(at, executor).await? else {
		return Ok(Err("the executor is not registered".into()));
	};
	let ak = match check_ak(&worker.ak_public) {
		Ok(ak) => ak,
		Err(e) => return Ok(Err(format!("the executor's registered AK: {e:?}"))),
	};
	let (select, allowed) = reads::quote_policy(at).await?;
	let policy_pcr = PcrPolicy { select: &select, allowed: &allowed };
	let quote_hash = chain
		.block(attested.block.into())
		.await?
		.ok_or_else(|| anyhow!("the chain has no block {}", attested.block))?
		.0;
	let nonce =
		quote_nonce(task, attested.round, Phase::Before, &quote_hash.0, &attested.measurements);
	// The quote travelled in an `attest_before` extrinsic in a block after the one it names.
	let mut verified_in = None;
	for number in u64::from(attested.block) + 1..=at.block_number() {
		let Some((hash, _)) = chain.block(number).await? else { break };
		let block = chain.at(hash).await?;
		let extrinsics = block.extrinsics().fetch().await?;
		for call in extrinsics.find::<AttestBefore>() {
			let Ok(call) = call else { continue };
			if call.task != task || call.quote.block != attested.block {
				continue;
			}
			if calls::from_runtime_measurements(&call.quote.measurements) != attested.measurements {
				continue;
			}
			match verify_quote(
				&ak,
				&worker.ak_qualified_name,
				&nonce,
				&policy_pcr,
				None,
				&call.quote.attest.0,
				&call.quote.signature.0,
			) {
				Ok(_) => verified_in = Some(number),
				Err(e) => return Ok(Err(format!("the executor's Before quote: {e:?}"))),
			}
		}
		if verified_in.is_some() {
			break;
		}
	}
	let Some(quote_block) = verified_in else {
		return Ok(Err("the executor's Before quote was not found on-chain".into()));
	};

	let monitors: Vec<_> =
		view.committee.iter().map(|s| s.who).filter(|w| *w != executor).collect();
	let mut confirmed = 0;
	for m in &monitors {
		if reads::verdict(at, task, *m, Phase::Before).await? == Some(true) {
			confirmed += 1;
		}
	}
	let needed = policy.quorum.unwrap_or(0);
	if confirmed < needed {
		return Ok(Err(format!(
			"{confirmed} of {} monitors confirmed the sandbox; the policy asks {needed}",
			monitors.len()
		)));
	}
	let executor_credit = reads::credit(at, executor).await?;
	if executor_credit < policy.min_executor_credit {
		return Ok(Err(format!(
			"the executor's credit is {executor_credit}; the policy asks {}",
			policy.min_executor_credit
		)));
	}
	Ok(Ok(Checked {
		seats,
		executor: seat,
		quote_block,
		image_id,
		confirmed: (confirmed, monitors.len() as u32),
		executor_credit,
	}))
}
