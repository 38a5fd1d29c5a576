//! The monitor role: challenge the executor's attestation API before, during (at a time only
//! this monitor can compute, from its own VRF output) and after the run; verify every answer
//! with the primitives crate against the executor's registered AK and the chain's PCR policy,
//! and compare what it says it measured with what it attested on-chain; check the result blob
//! against the attested hash; then vote.

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

impl Worker {
	/// Challenges the executor of `view` for `phase` and checks the answer: a quote by its
	/// registered AK, under the chain's policy, over `challenge_nonce` of this monitor's fresh
	/// nonce and the measurements it answers with, of this round. Returns those measurements.
	async fn challenge(
		&self,
		view: &TaskView,
		phase: Phase,
	) -> Result<Result<Measurements, Finding>> {
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
					let expected = challenge_nonce(view.id, phase, &nonce, &measured);
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
							Ok(_) => Ok(measured),
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
		let finding = self.check(&view, phase, &attested.measurements).await?;
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

	async fn check(
		&self,
		view: &TaskView,
		phase: Phase,
		attested: &Measurements,
	) -> Result<Option<Finding>> {
		// The chain checked these at attestation; a monitor re-checks what costs nothing.
		if attested.image_id != view.image_id
			|| attested.code_input_hash != view.code_input_hash
			|| attested.sandbox_policy_hash != view.sandbox_policy_hash
		{
			return Ok(Some(Finding("the attestation is not of this task".into())));
		}
		if phase == Phase::After {
			if self.observations.lock().await.get(&(view.id, view.round)) == Some(&false) {
				return Ok(Some(Finding(
					"a challenge during the run contradicted the attestation".into(),
				)));
			}
			let at = self.chain.at_finalized().await?;
			let (cid, _) =
				reads::result(&at, view.id).await?.ok_or_else(|| anyhow!("no result on-chain"))?;
			let path = self.task_dir(view.id).join("result");
			std::fs::create_dir_all(self.task_dir(view.id))?;
			if let Err(e) = self.fetch(&cid, &path).await {
				return Ok(Some(Finding(format!("the result cannot be fetched: {e:#}"))));
			}
			let digest: [u8; 32] = Sha256::digest(std::fs::read(&path)?).into();
			if Some(digest) != attested.result_hash {
				return Ok(Some(Finding("the stored result is not the attested one".into())));
			}
		}
		Ok(match self.challenge(view, phase).await? {
			Ok(answered) if &answered == attested => None,
			Ok(_) => {
				Some(Finding("the executor's live measurements differ from its attestation".into()))
			},
			Err(finding) => Some(finding),
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
			Ok(answered) => answered == attested.measurements,
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
