//! The key owner's side of a task: whoever owes it a key (the requester for its own inputs,
//! another input's owner, the developer of encrypted code). It follows the task, backs its
//! keys with a key bond when it is not the requester, and once the task asks for keys checks
//! off-chain, with the primitives crate, what the chain already checked: that the
//! committee's VRF proofs verify and elect this executor, that the executor's own `Before`
//! quote (read from the block that carried it) verifies against its registered AK, the
//! chain's PCR policy and the nonce of this task and round, that the image is the one
//! expected, and that enough monitors confirmed the sandbox (`docs/formats.md` §6). Only then
//! does it release its keys, sealed to the executor's TPM. A key owner who trusts no node
//! re-checks it all.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use subxt_signer::sr25519::Keypair;
use vouch_primitives::{
	envelope::{self, DataKey},
	sortition,
	tpm::{
		launch::{policy_pcr as policy_pcr_digest, QUOTED_PCR_SELECT},
		nonce::quote_nonce,
		verify::{check_ak, check_sealing_key, verify_quote, PcrPolicy},
	},
	Phase, TaskId,
};

use crate::{
	calls,
	chain::AtBlock,
	reads::{self, Outcome, Status, TaskView},
	runtime::tasks::calls::AttestBefore,
	Chain,
};

/// What a task went through, as the requester saw it: each status with the block it was
/// first seen at.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
	/// `(status, block number, seconds since the watch began)`.
	pub steps: Vec<(String, u64, f64)>,
}

fn status_name(status: &Status) -> String {
	match status {
		Status::Attesting { phase, .. } => format!("Attesting({phase:?})"),
		Status::Final(outcome) => outcome.to_string(),
		other => format!("{other:?}").split([' ', '{']).next().unwrap_or_default().to_string(),
	}
}

/// Follows `task` until it ends (or `timeout`), releasing `keys` (slot, data key) sealed to
/// the executor's TPM as soon as the task asks for them and the default [`Policy`]'s off-chain
/// checks pass; `progress` is told of each new status. Returns how the task ended and the
/// timeline.
pub async fn follow_task(
	chain: &Chain,
	owner: &Keypair,
	task: TaskId,
	keys: &[(u32, DataKey)],
	timeout: Duration,
	mut progress: impl FnMut(&str, u64),
) -> Result<(Outcome, Timeline)> {
	watch_task(chain, owner, task, keys, &Policy::default(), timeout, |event| {
		if let Watched::Status { name, block } = event {
			progress(name, *block)
		}
	})
	.await
}

/// What [`watch_task`] reports.
#[derive(Debug)]
pub enum Watched<'a> {
	/// The task reached a new status.
	Status {
		/// Its name (`Sortition`, `Attesting(Before)`, ...).
		name: &'a str,
		/// The finalized block it was seen at.
		block: u64,
	},
	/// The owner backed the keys it owes (its key bond is held until the task ends).
	Backed,
	/// The release checks passed.
	Checked(&'a Checked),
	/// The key of a slot was released.
	Released(u32),
}

/// Why a watch stopped without the task ending.
#[derive(Debug, thiserror::Error)]
#[error("keys withheld from task {task}: {reason}")]
pub struct Withheld {
	/// The task.
	pub task: TaskId,
	/// The check that failed.
	pub reason: String,
}

/// Follows `task` until it ends (or `timeout`) as the owner of `keys` (slot, data key): backs
/// them if `owner` is not the requester, and once the task asks for keys, releases them
/// sealed to the executor's TPM only if [`check_release`] passes `policy` (else it
/// stops with [`Withheld`], and the task expires refunded).
pub async fn watch_task(
	chain: &Chain,
	owner: &Keypair,
	task: TaskId,
	keys: &[(u32, DataKey)],
	policy: &Policy,
	timeout: Duration,
	mut report: impl FnMut(&Watched),
) -> Result<(Outcome, Timeline)> {
	let started = tokio::time::Instant::now();
	let mut timeline = Timeline::default();
	let mut released = false;
	let mut backed = false;
	let mut name = String::from("unknown");
	let me = owner.public_key().0;
	loop {
		// One look at the chain. An error here (the node restarting, a dropped connection)
		// is retried until the timeout: every step re-reads what it needs, so none is
		// repeated.
		let step = async {
			let at = chain.at_finalized().await?;
			let number = at.block_number();
			let view = reads::task(&at, task).await?.ok_or_else(|| anyhow!("no task {task}"))?;
			let mut now = status_name(&view.status);
			// A redraw keeps the status: name the round, so a watcher sees the lottery retried.
			if view.round > 0 && matches!(view.status, Status::Sortition { .. }) {
				now = format!("{now}(round {} of {})", view.round + 1, view.max_rounds);
			}
			if timeline.steps.last().map(|s| &s.0) != Some(&now) {
				report(&Watched::Status { name: &now, block: number });
				timeline.steps.push((now.clone(), number, started.elapsed().as_secs_f64()));
			}
			name = now;
			if let Status::Final(end) = view.status {
				return Ok::<_, anyhow::Error>(Some(end));
			}
			if !backed
				&& !keys.is_empty()
				&& view.requester != me
				&& matches!(view.status, Status::Posted | Status::Sortition { .. })
			{
				if reads::key_bond(&at, task, me).await?.is_none() {
					chain.submit(owner, &calls::back_keys(task)).await?;
				}
				backed = true;
				report(&Watched::Backed);
			}
			if let Status::KeyRelease { executor } = view.status {
				if !released {
					let checked = check_release(chain, &at, &view, policy)
						.await?
						.map_err(|reason| Withheld { task, reason })?;
					report(&Watched::Checked(&checked));
					let worker = reads::worker(&at, executor)
						.await?
						.ok_or_else(|| anyhow!("the executor is not registered"))?;
					for (slot, key) in keys {
						if reads::released_key(&at, task, *slot).await?.is_some() {
							continue;
						}
						let sealed =
							envelope::seal_to_tpm(&worker.sealing_public, task, *slot, key)
								.map_err(|e| anyhow!("sealing to the executor's TPM: {e:?}"))?;
						chain.submit(owner, &calls::release_key(task, *slot, &sealed)).await?;
						report(&Watched::Released(*slot));
					}
					released = true;
				}
			}
			Ok(None)
		};
		match step.await {
			Ok(Some(end)) => return Ok((end, timeline)),
			Ok(None) => {},
			// A transaction that failed on-chain will fail again, and a failed check stays
			// failed: those are answers.
			Err(e)
				if e.downcast_ref::<crate::chain::SubmitError>()
					.is_some_and(|e| matches!(e, crate::chain::SubmitError::Dispatch { .. }))
					|| e.downcast_ref::<Withheld>().is_some() =>
			{
				return Err(e)
			},
			Err(e) => {
				tracing::warn!(task, error = %format!("{e:#}"), "reading the task failed; retrying")
			},
		}
		if started.elapsed() > timeout {
			bail!("task {task} did not end within {timeout:?} (now {name})");
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// The keys `owner` owes `task`, from `keyring` (data keys by CID): each input it owns,
/// and the code key if the lambda is encrypted and it is the developer. A key it owes but
/// does not hold is an error naming the CID.
pub fn owed_keys(
	view: &reads::TaskView,
	code_cid: &str,
	owner: [u8; 32],
	keyring: impl Fn(&str) -> Result<Option<DataKey>>,
) -> Result<Vec<(u32, DataKey)>> {
	let mut keys = Vec::new();
	for (slot, (cid, who)) in view.inputs.iter().enumerate() {
		if *who == owner {
			let key = keyring(cid)?.ok_or_else(|| {
				anyhow!("input {slot} ({cid}) is yours but its key is not in the keyring")
			})?;
			keys.push((slot as u32, key));
		}
	}
	if view.encrypted_code && view.developer == owner {
		let key = keyring(code_cid)?.ok_or_else(|| {
			anyhow!("the lambda's code ({code_cid}) is yours but its key is not in the keyring")
		})?;
		keys.push((view.inputs.len() as u32, key));
	}
	Ok(keys)
}

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
	// The executor's launch state as registered (the chain checked its boot state and builds
	// against its policy): its quote must show it, and the key we seal to opens only in it.
	let allowed = [worker.launch_quote_digest];
	let policy_pcr = PcrPolicy { select: &QUOTED_PCR_SELECT, allowed: &allowed };
	let sealing_policy = policy_pcr_digest(&QUOTED_PCR_SELECT, &worker.launch_quote_digest);
	if let Err(e) = check_sealing_key(&worker.sealing_public, &sealing_policy) {
		return Ok(Err(format!("the executor's sealing key is not bound to its launch: {e:?}")));
	}
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
