//! The monitor role: challenge the executor's attestation API before, during (at a time only
//! this monitor can compute, from its own VRF output) and after the run; verify every answer
//! with the primitives crate against the executor's registered AK and the chain's PCR policy,
//! and compare what it says it measured with what it attested on-chain; check the result blob
//! against the attested hash; then vote. An answer that verifies but contradicts the
//! attestation is a signed statement of the lie: the monitor reports it (`report_lie` with the
//! answer as evidence), which fails the round and slashes the executor, and votes only if the
//! report did not land.

use std::time::Duration;

use anyhow::{anyhow, Result};
use sha2::{Digest, Sha256};
use vouch_client::calls;
use vouch_primitives::{
	sortition,
	tpm::{
		launch::QUOTED_PCR_SELECT,
		nonce::{challenge_nonce, Measurements},
		verify::{check_ak, verify_quote, PcrPolicy},
	},
	Phase, TaskId,
};

use vouch_client::reads::{self, Status, TaskView};

use super::{api::ApiClient, Worker};

/// Tries of one challenge before the executor counts as not answering.
const CHALLENGE_TRIES: u32 = 5;
/// The window in which the during-run challenge falls, from when the run is seen.
const DURING_WINDOW_MS: u64 = 2_000;

/// Why a check failed, for the log: the verdict is `false` for any of them.
#[derive(Debug)]
struct Finding(String);

/// A verified answer to this monitor's challenge: what the executor measured, and the quote
/// that says so (over `challenge_nonce` of `nonce`).
#[derive(Debug)]
struct Answered {
	measurements: Measurements,
	nonce: [u8; 32],
	attest: Vec<u8>,
	signature: Vec<u8>,
}

impl Answered {
	/// This answer as evidence that the executor lied.
	fn evidence(
		&self,
	) -> vouch_client::runtime::runtime_types::pallet_vouch_tasks::types::LieEvidence<u32> {
		calls::challenge_evidence(self.nonce, &self.measurements, &self.attest, &self.signature)
	}
}

impl Worker {
	/// Challenges the executor of `view` for `phase` and checks the answer: a quote by its
	/// registered AK, under the chain's policy, over `challenge_nonce` of this monitor's fresh
	/// nonce and the measurements it answers with, of this round. Returns the answer.
	async fn challenge(&self, view: &TaskView, phase: Phase) -> Result<Result<Answered, Finding>> {
		let at = self.chain.at_finalized().await?;
		let executor = view.status.executor().ok_or_else(|| anyhow!("no executor"))?;
		let worker = reads::worker(&at, executor)
			.await?
			.ok_or_else(|| anyhow!("the executor is not registered"))?;
		// The executor's registered launch state: its live quote must still show it.
		let allowed = [worker.launch_quote_digest];
		let client = ApiClient::new(&worker.endpoint)?;
		let mut nonce = [0u8; 32];
		getrandom::getrandom(&mut nonce).map_err(|e| anyhow!("no randomness: {e}"))?;
		let mut last = String::new();
		for attempt in 0..CHALLENGE_TRIES {
			match client.challenge(view.id, phase, nonce).await {
				Ok(answer) => {
					let measured = match Measurements::try_from(&answer.measurements) {
						Ok(m) => m,
						Err(e) => return Ok(Err(Finding(format!("a malformed answer: {e}")))),
					};
					if answer.round != view.round {
						return Ok(Err(Finding(format!("an answer about round {}", answer.round))));
					}
					let ak = match check_ak(&worker.ak_public) {
						Ok(ak) => ak,
						Err(e) => return Ok(Err(Finding(format!("the registered AK: {e:?}")))),
					};
					let attest = hex::decode(&answer.attest).unwrap_or_default();
					let signature = hex::decode(&answer.signature).unwrap_or_default();
					let expected = challenge_nonce(view.id, view.round, phase, &nonce, &measured);
					let policy = PcrPolicy { select: &QUOTED_PCR_SELECT, allowed: &allowed };
					return Ok(
						match verify_quote(
							&ak,
							&worker.ak_qualified_name,
							&expected,
							&policy,
							None,
							&attest,
							&signature,
						) {
							Ok(_) => {
								Ok(Answered { measurements: measured, nonce, attest, signature })
							},
							Err(e) => {
								Err(Finding(format!("the challenge quote does not verify: {e:?}")))
							},
						},
					);
				},
				Err(e) => {
					last = format!("{e:#}");
					tracing::debug!(task = view.id, attempt, error = %last, "the executor did not answer yet");
					tokio::time::sleep(Duration::from_millis(500)).await;
				},
			}
		}
		Ok(Err(Finding(format!("the executor does not answer challenges: {last}"))))
	}

	/// Attesting: check the phase's attestation and vote.
	pub(super) async fn verdict(&self, task: TaskId, round: u32, phase: Phase) -> Result<()> {
		let (at, view) = self.current(task).await?;
		let me = self.account();
		let Status::Attesting { executor, phase: now } = view.status else { return Ok(()) };
		if now != phase || view.round != round || executor == me || !view.is_member(&me) {
			return Ok(());
		}
		if reads::verdict(&at, task, me, phase).await?.is_some() {
			return Ok(());
		}
		let attested = reads::attestation(&at, task, phase)
			.await?
			.filter(|a| a.round == round)
			.ok_or_else(|| anyhow!("no {phase:?} attestation of round {round}"))?;
		let (finding, lie) = self.check(&view, phase, &attested.measurements).await?;
		if let Some(answer) = lie {
			if self.report_lie(task, round, phase, &answer).await? {
				return Ok(());
			}
		}
		let ok = finding.is_none();
		match &finding {
			None => tracing::info!(task, round, ?phase, "the executor checks out"),
			Some(Finding(why)) => {
				tracing::warn!(task, round, ?phase, %why, "voting the executor down")
			},
		}
		self.submit(&calls::submit_verdict(task, ok)).await?;
		Ok(())
	}

	/// Reports the lie `answer` proves about `phase` of `task`'s `round`, unless it is proven
	/// already (another monitor was first, or the round is over). Returns whether it landed.
	async fn report_lie(
		&self,
		task: TaskId,
		round: u32,
		phase: Phase,
		answer: &Answered,
	) -> Result<bool> {
		let at = self.chain.at_finalized().await?;
		let open = reads::attestation(&at, task, phase)
			.await?
			.is_some_and(|a| a.round == round && !a.lie_proven);
		if !open {
			return Ok(false);
		}
		match self.submit(&calls::report_lie(task, phase, answer.evidence())).await {
			Ok(_) => {
				tracing::warn!(
					task,
					round,
					?phase,
					"reported the executor's lie: its challenge answer contradicts its attestation"
				);
				Ok(true)
			},
			Err(e) => {
				// Another monitor's report may have landed first: vote as if unreported.
				tracing::info!(task, round, ?phase, error = %format!("{e:#}"), "the lie report did not land");
				Ok(false)
			},
		}
	}

	/// The checks of `phase`: a finding if the executor fails one, and the challenge answer
	/// that proves a lie if it answered with other measurements than it attested.
	async fn check(
		&self,
		view: &TaskView,
		phase: Phase,
		attested: &Measurements,
	) -> Result<(Option<Finding>, Option<Answered>)> {
		// The chain checked these at attestation; a monitor re-checks what costs nothing.
		if attested.image_id != view.image_id
			|| attested.code_input_hash != view.code_input_hash
			|| attested.sandbox_policy_hash != view.sandbox_policy_hash
		{
			return Ok((Some(Finding("the attestation is not of this task".into())), None));
		}
		if phase == Phase::After {
			if self.observations.lock().await.get(&(view.id, view.round)) == Some(&false) {
				let why = "a challenge during the run contradicted the attestation";
				return Ok((Some(Finding(why.into())), None));
			}
			let at = self.chain.at_finalized().await?;
			let (cid, _) =
				reads::result(&at, view.id).await?.ok_or_else(|| anyhow!("no result on-chain"))?;
			let path = self.task_dir(view.id).join("result");
			std::fs::create_dir_all(self.task_dir(view.id))?;
			if let Err(e) = self.fetch(&cid, &path).await {
				let why = format!("the result cannot be fetched: {e:#}");
				return Ok((Some(Finding(why)), None));
			}
			let digest: [u8; 32] = Sha256::digest(std::fs::read(&path)?).into();
			if Some(digest) != attested.result_hash {
				let why = "the stored result is not the attested one";
				return Ok((Some(Finding(why.into())), None));
			}
		}
		Ok(match self.challenge(view, phase).await? {
			Ok(answered) if &answered.measurements == attested => (None, None),
			Ok(answered) => {
				let why = "the executor's live measurements differ from its attestation";
				(Some(Finding(why.into())), Some(answered))
			},
			Err(finding) => (Some(finding), None),
		})
	}

	/// Running: one challenge at a moment derived from this monitor's own VRF output on a
	/// transcript of its own (`vouch-during`), which only it can compute before the fact.
	pub(super) async fn during(&self, task: TaskId, round: u32) -> Result<()> {
		let (at, view) = self.current(task).await?;
		if view.round != round || !matches!(view.status, Status::Running { .. }) {
			return Ok(());
		}
		let seed: [u8; 32] =
			Sha256::new().chain_update(b"vouch/during").chain_update(view.seed).finalize().into();
		let draw = sortition::draw(&self.key.pair, task, &seed, round);
		let delay = Duration::from_millis((draw % u128::from(DURING_WINDOW_MS)) as u64);
		tokio::select! {
			_ = tokio::time::sleep(delay) => {},
			_ = self.shutdown.cancelled() => return Ok(()),
		}
		let attested =
			reads::attestation(&at, task, Phase::Before).await?.filter(|a| a.round == round);
		let Some(attested) = attested else { return Ok(()) };
		let (_, view) = self.current(task).await?;
		if !matches!(view.status, Status::Running { .. }) {
			// The run ended before the moment came: the After checks take over.
			return Ok(());
		}
		let ok = match self.challenge(&view, Phase::Before).await? {
			Ok(answered) if answered.measurements == attested.measurements => true,
			Ok(answered) => {
				// Caught running something else than it attested: proven now, not at the vote.
				self.report_lie(task, round, Phase::Before, &answered).await?;
				false
			},
			Err(Finding(why)) => {
				tracing::warn!(task, round, %why, "the challenge during the run failed");
				false
			},
		};
		tracing::info!(
			task,
			round,
			delay_ms = delay.as_millis() as u64,
			ok,
			"challenged during the run"
		);
		self.observations.lock().await.insert((task, round), ok);
		Ok(())
	}
}
