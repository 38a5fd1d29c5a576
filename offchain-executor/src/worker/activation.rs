//! Credential activation, every side (`pallets/registry/src/activation.rs`):
//!
//! - **Verifier.** An `Active` worker evaluates its VRF on every `Pending` newcomer's
//!   activation round (`vouch-activation` transcript); when its draw wins a seat it makes a
//!   credential for the newcomer's registered EK and `Name(AK)` from a reveal only it can
//!   compute ([`AccountKey::derive_secret`](vouch_client::keys::AccountKey::derive_secret) of
//!   the round: nothing to store, it is remade after a restart) and posts it with the
//!   commitment to the credential's secret.
//! - **Newcomer.** Once every challenge is in, the worker's TPM recovers each secret with
//!   `TPM2_ActivateCredential` and the worker posts them; the chain makes it `Active`. A
//!   challenge its TPM refuses (or whose secret does not open its commitment) it disputes
//!   instead: the verifier must then show the challenge was sound.
//! - **Disputed verifier.** It reveals the value its challenge was made from; the chain
//!   remakes the credential and judges.
//!
//! Level-triggered like the task duties: derived from `Registry.Activations` at the newest
//! finalized state, re-checked before submitting, one at a time per (newcomer, round seed,
//! side), with the task duties' bookkeeping ([`super::duties::Duties`]). The seed, not the round
//! number, names a round: a round repeated after a refuted dispute keeps its number.

use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use vouch_client::{
	calls,
	reads::{self, ActivationStep},
};
use vouch_primitives::{
	sortition,
	tpm::{credential, public::Public},
};

use super::{duties::Failure, Worker};
use crate::tpm::CredentialAnswer;

/// A side of an activation this worker plays: `(newcomer, round seed, side)`.
pub(super) type ActivationKey = ([u8; 32], [u8; 32], Side);

/// What this worker does in an activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Side {
	/// Challenges the newcomer, if its draw wins a seat.
	Verify,
	/// Answers (or disputes) its own challenges.
	Answer,
	/// Reveals its disputed challenge.
	Reveal,
}

impl Worker {
	/// What the activations under way at `at` ask of this worker: starts those duties.
	pub(super) async fn reconcile_activations(
		self: &Arc<Self>,
		at: &vouch_client::chain::AtBlock,
	) -> Result<()> {
		let activations = reads::activations(at).await?;
		if activations.is_empty() {
			return Ok(());
		}
		let me = self.account();
		let active =
			reads::worker(at, me).await?.is_some_and(|w| w.status == reads::WorkerStatus::Active);
		for (newcomer, a) in activations {
			let side = match a.stage {
				ActivationStep::Answering if newcomer == me => Side::Answer,
				ActivationStep::Challenging
					if newcomer != me
						&& active && !a.challenges.iter().any(|c| c.verifier == me) =>
				{
					Side::Verify
				},
				ActivationStep::Disputed { index }
					if a.challenges.get(index as usize).is_some_and(|c| c.verifier == me) =>
				{
					Side::Reveal
				},
				_ => continue,
			};
			self.start_activation((newcomer, a.seed, side));
		}
		Ok(())
	}

	fn start_activation(self: &Arc<Self>, key: ActivationKey) {
		let worker = self.clone();
		tokio::spawn(async move {
			if worker.shutdown.is_cancelled() {
				return;
			}
			let (newcomer, seed, side) = key;
			let duty = || {
				let newcomer_id = vouch_client::AccountId::from(newcomer);
				let span = tracing::info_span!("activation", newcomer = %newcomer_id, ?side);
				let duty = async {
					match side {
						Side::Verify => worker.challenge_newcomer(newcomer, seed).await,
						Side::Answer => worker.answer_challenges(seed).await,
						Side::Reveal => worker.reveal_challenge(newcomer, seed).await,
					}
				};
				tracing::Instrument::instrument(duty, span)
			};
			// Unlike a task duty's, a given-up activation duty is not counted in `tasks_failed`:
			// the activation round ends on-chain by itself (answered, rejected or expired).
			let failed = |e: &anyhow::Error, Failure { attempt, .. }| {
				let newcomer_id = vouch_client::AccountId::from(newcomer);
				tracing::warn!(newcomer = %newcomer_id, ?side, attempt, error = %format!("{e:#}"), "activation duty failed");
			};
			worker.activations.run(key, duty, failed).await;
		});
	}

	/// The value this worker makes its challenge of `newcomer`'s round (named by its `seed`)
	/// from: secret to it, and remade the same on a dispute.
	fn challenge_reveal(&self, newcomer: [u8; 32], seed: [u8; 32]) -> credential::Reveal {
		let mut context = b"activation-challenge".to_vec();
		context.extend_from_slice(&newcomer);
		context.extend_from_slice(&seed);
		self.key.derive_secret(&context)
	}

	/// The newcomer's activation as of the newest finalized block.
	async fn activation(
		&self,
		newcomer: [u8; 32],
	) -> Result<(vouch_client::chain::AtBlock, Option<reads::ActivationView>)> {
		let at = self.chain.at_finalized().await?;
		let found = reads::activations(&at).await?.into_iter().find(|(w, _)| *w == newcomer);
		Ok((at, found.map(|(_, a)| a)))
	}

	/// Verifier: claims a seat on `newcomer`'s round if the draw wins, with a credential only
	/// its TPM can open.
	async fn challenge_newcomer(&self, newcomer: [u8; 32], seed: [u8; 32]) -> Result<()> {
		let me = self.account();
		let (at, Some(a)) = self.activation(newcomer).await? else { return Ok(()) };
		// A round that started while nobody was active takes no challenge: it reopens.
		if a.stage != ActivationStep::Challenging
			|| a.seed != seed
			|| a.needed == 0
			|| a.challenges.iter().any(|c| c.verifier == me)
		{
			return Ok(());
		}
		let round = a.round;
		let seats = reads::activation_verifiers(&at)?;
		let claim = sortition::sign_activation(&self.key.pair, &newcomer, &a.seed, round);
		if !sortition::wins_activation(claim.draw, a.eligible, seats) {
			tracing::info!(draw = claim.draw, "the draw lost: not a verifier");
			return Ok(());
		}
		if a.challenges.len() as u32 >= seats
			&& a.challenges.last().is_some_and(|c| c.draw <= claim.draw)
		{
			tracing::info!("every verifier seat holds a lower draw");
			return Ok(());
		}
		let (ek, ak_name) = self.newcomer_keys(&at, newcomer).await?;
		let reveal = self.challenge_reveal(newcomer, seed);
		// The one bogus challenge counts as posted only once the chain took it.
		let bogus = self.fault == Some(super::Fault::BogusChallenge)
			&& !self.bogus_challenge_posted.load(std::sync::atomic::Ordering::SeqCst);
		let name = if bogus {
			tracing::warn!("FAULT: a challenge for the EK's name, which no TPM can activate");
			ek.name()
		} else {
			ak_name
		};
		let made = credential::make_credential(&ek, &name, &reveal)
			.map_err(|e| anyhow!("making the credential: {e:?}"))?;
		self.submit(&calls::challenge_worker(
			newcomer,
			round,
			&claim,
			&made.credential_blob,
			&made.encrypted_secret,
			credential::commitment(&credential::derive(&reveal).secret),
		))
		.await?;
		if bogus {
			self.bogus_challenge_posted.store(true, std::sync::atomic::Ordering::SeqCst);
		}
		tracing::info!(draw = claim.draw, "challenged the newcomer");
		Ok(())
	}

	/// The newcomer's registered EK public area and `Name(AK)`.
	async fn newcomer_keys(
		&self,
		at: &vouch_client::chain::AtBlock,
		newcomer: [u8; 32],
	) -> Result<(Public, Vec<u8>)> {
		let worker = reads::worker(at, newcomer)
			.await?
			.ok_or_else(|| anyhow!("the newcomer is not registered"))?;
		let ek = Public::from_tpm2b(&worker.ek_public)
			.map_err(|e| anyhow!("the newcomer's EK public area: {e:?}"))?;
		let ak = Public::from_tpm2b(&worker.ak_public)
			.map_err(|e| anyhow!("the newcomer's AK public area: {e:?}"))?;
		Ok((ek, ak.name()))
	}

	/// Newcomer: recovers every challenge's secret in the TPM and posts them; disputes the
	/// first challenge the TPM refuses or whose secret does not open its commitment.
	async fn answer_challenges(&self, seed: [u8; 32]) -> Result<()> {
		let (_, Some(a)) = self.activation(self.account()).await? else { return Ok(()) };
		if a.stage != ActivationStep::Answering || a.seed != seed {
			return Ok(());
		}
		let mut secrets = Vec::with_capacity(a.challenges.len());
		for (i, c) in a.challenges.iter().enumerate() {
			let answer = self
				.tpm
				.activate_credential(c.credential_blob.clone(), c.encrypted_secret.clone())
				.await
				.with_context(|| format!("challenge {i}"))?;
			let opened = match answer {
				CredentialAnswer::Secret(secret) => <[u8; 32]>::try_from(secret.as_slice())
					.ok()
					.filter(|s| credential::commitment(s) == c.commitment)
					.ok_or_else(|| "its secret does not open its commitment".to_string()),
				CredentialAnswer::Refused(why) => Err(why),
			};
			match opened {
				Ok(secret) => secrets.push(secret),
				Err(why) => {
					let verifier = vouch_client::AccountId::from(c.verifier);
					tracing::warn!(challenge = i, %verifier, %why, "the TPM refused a challenge: disputing it");
					self.submit(&calls::dispute_challenge(i as u32)).await?;
					return Ok(());
				},
			}
		}
		self.submit(&calls::answer_activation(secrets)).await?;
		tracing::info!(challenges = a.challenges.len(), "answered every challenge: active");
		Ok(())
	}

	/// Disputed verifier: reveals the value its challenge was made from.
	async fn reveal_challenge(&self, newcomer: [u8; 32], seed: [u8; 32]) -> Result<()> {
		let me = self.account();
		let (_, Some(a)) = self.activation(newcomer).await? else { return Ok(()) };
		let ActivationStep::Disputed { index } = a.stage else { return Ok(()) };
		if a.seed != seed || a.challenges.get(index as usize).is_none_or(|c| c.verifier != me) {
			return Ok(());
		}
		self.submit(&calls::reveal_challenge(newcomer, self.challenge_reveal(newcomer, seed)))
			.await?;
		tracing::info!("revealed the disputed challenge");
		Ok(())
	}
}
