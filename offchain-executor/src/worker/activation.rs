//! Credential activation, both sides (`pallets/registry/src/activation.rs`):
//!
//! - **Verifier.** An `Active` worker evaluates its VRF on every `Pending` newcomer's
//!   activation round (`vouch-activation` transcript); when its draw wins a seat it makes a
//!   credential for the newcomer's registered EK and `Name(AK)` with a fresh secret
//!   (`vouch_primitives::tpm::credential`) and posts it with the secret's commitment. The
//!   secret is not kept: the chain checks the answer against the commitment.
//! - **Newcomer.** Once every challenge is in, the worker's TPM recovers each secret with
//!   `TPM2_ActivateCredential` and the worker posts them; the chain makes it `Active`.
//!
//! Level-triggered like the task duties: derived from `Registry.Activations` at the newest
//! finalized state, re-checked before submitting, one at a time per (newcomer, round, side),
//! with the task duties' bookkeeping ([`super::duties::Duties`]).

use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use vouch_client::{calls, reads};
use vouch_primitives::{
	sortition,
	tpm::{credential, public::Public},
};

use super::{duties::Failure, Worker};

/// A side of an activation this worker plays: `(newcomer, round, answering)`.
pub(super) type ActivationKey = ([u8; 32], u32, bool);

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
			if newcomer == me && !a.challenging {
				self.start_activation((newcomer, a.round, true));
			} else if newcomer != me
				&& active && a.challenging
				&& !a.challenges.iter().any(|c| c.verifier == me)
			{
				self.start_activation((newcomer, a.round, false));
			}
		}
		Ok(())
	}

	fn start_activation(self: &Arc<Self>, key: ActivationKey) {
		let worker = self.clone();
		tokio::spawn(async move {
			if worker.shutdown.is_cancelled() {
				return;
			}
			let (newcomer, round, answering) = key;
			let duty = || {
				let newcomer_id = vouch_client::AccountId::from(newcomer);
				let span =
					tracing::info_span!("activation", newcomer = %newcomer_id, round, answering);
				let duty = async {
					if answering {
						worker.answer_challenges(round).await
					} else {
						worker.challenge_newcomer(newcomer, round).await
					}
				};
				tracing::Instrument::instrument(duty, span)
			};
			// Unlike a task duty's, a given-up activation duty is not counted in `tasks_failed`:
			// the activation round ends on-chain by itself (answered, rejected or expired).
			let failed = |e: &anyhow::Error, Failure { attempt, .. }| {
				let newcomer_id = vouch_client::AccountId::from(newcomer);
				tracing::warn!(newcomer = %newcomer_id, round, answering, attempt, error = %format!("{e:#}"), "activation duty failed");
			};
			worker.activations.run(key, duty, failed).await;
		});
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

	/// Verifier: claims a seat on `newcomer`'s `round` if the draw wins, with a credential only
	/// its TPM can open.
	async fn challenge_newcomer(&self, newcomer: [u8; 32], round: u32) -> Result<()> {
		let me = self.account();
		let (at, Some(a)) = self.activation(newcomer).await? else { return Ok(()) };
		if !a.challenging || a.round != round || a.challenges.iter().any(|c| c.verifier == me) {
			return Ok(());
		}
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
		let worker = reads::worker(&at, newcomer)
			.await?
			.ok_or_else(|| anyhow!("the newcomer is not registered"))?;
		let ek = Public::from_tpm2b(&worker.ek_public)
			.map_err(|e| anyhow!("the newcomer's EK public area: {e:?}"))?;
		let ak = Public::from_tpm2b(&worker.ak_public)
			.map_err(|e| anyhow!("the newcomer's AK public area: {e:?}"))?;
		let mut secret = [0u8; 32];
		getrandom::getrandom(&mut secret).map_err(|e| anyhow!("no randomness: {e}"))?;
		let made = credential::make_credential(&ek, &ak.name(), &secret)
			.map_err(|e| anyhow!("making the credential: {e:?}"))?;
		self.submit(&calls::challenge_worker(
			newcomer,
			round,
			&claim,
			&made.credential_blob,
			&made.encrypted_secret,
			credential::commitment(&secret),
		))
		.await?;
		tracing::info!(draw = claim.draw, "challenged the newcomer");
		Ok(())
	}

	/// Newcomer: recovers every challenge's secret in the TPM and posts them.
	async fn answer_challenges(&self, round: u32) -> Result<()> {
		let (_, Some(a)) = self.activation(self.account()).await? else { return Ok(()) };
		if a.challenging || a.round != round {
			return Ok(());
		}
		let mut secrets = Vec::with_capacity(a.challenges.len());
		for (i, c) in a.challenges.iter().enumerate() {
			let secret = self
				.tpm
				.activate_credential(c.credential_blob.clone(), c.encrypted_secret.clone())
				.await
				.with_context(|| format!("challenge {i}"))?;
			secrets.push(
				<[u8; 32]>::try_from(secret.as_slice())
					.map_err(|_| anyhow!("challenge {i}'s secret is not 32 bytes"))?,
			);
		}
		self.submit(&calls::answer_activation(secrets)).await?;
		tracing::info!(challenges = a.challenges.len(), "answered every challenge: active");
		Ok(())
	}
}
