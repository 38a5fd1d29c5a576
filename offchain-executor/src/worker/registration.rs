//! Registration: the TPM's evidence for this worker's account, which the attestation API also
//! serves (what `vouch worker register` submits), and the registration `--register-deposit`
//! asks for, at start and again after an activation expired.

use anyhow::Result;
use vouch_client::reads;

use super::Worker;
use crate::tpm::Tpm;

/// Registrations one process makes at most: the first, and again after activations that
/// expired (no round filled its verifier seats, which is no fault of the worker's).
const MAX_REGISTRATIONS: u32 = 4;

/// The worker's registration: its endpoint, deposit and EK intermediates.
pub(super) struct Registration {
	pub endpoint: String,
	pub deposit: u128,
	pub intermediates: Vec<Vec<u8>>,
}

/// The TPM's registration evidence for `account`: its identity and the AK's certification of
/// the sealing key with the account's registration nonce (what `Registry.register` checks).
pub(super) async fn registration_evidence(
	tpm: &Tpm,
	account: [u8; 32],
	intermediates: Vec<Vec<u8>>,
) -> Result<vouch_client::calls::EvidenceSpec> {
	let id = tpm.identity().await?;
	let nonce = vouch_primitives::tpm::nonce::registration_nonce(&account);
	let certified = tpm.certify_sealing_key(nonce.to_vec()).await?;
	Ok(vouch_client::calls::EvidenceSpec {
		ek_cert: id.ek_cert,
		intermediates,
		ek_public: id.ek_public,
		ak_public: id.ak_public,
		sealing_public: id.sealing_public,
		certify_attest: certified.attest,
		certify_signature: certified.signature,
	})
}

impl Worker {
	/// Registers this worker with its TPM's evidence if `--register-deposit` asks, unless it
	/// already is (or this process registered [`MAX_REGISTRATIONS`] times).
	pub(super) async fn register_if_needed(&self) -> Result<()> {
		let Some(Registration { endpoint, deposit, intermediates }) = &self.registration else {
			return Ok(());
		};
		let deposit = *deposit;
		let mut registrations = self.registrations.lock().await;
		if *registrations >= MAX_REGISTRATIONS {
			return Ok(());
		}
		let at = self.chain.at_finalized().await?;
		// A `Removed` record (withdrawn, expired, rejected) may register again.
		if let Some(worker) = reads::worker(&at, self.account()).await? {
			if worker.status != reads::WorkerStatus::Removed {
				tracing::info!(status = ?worker.status, "already registered");
				return Ok(());
			}
		}
		let evidence =
			registration_evidence(&self.tpm, self.account(), intermediates.clone()).await?;
		self.submit(&vouch_client::calls::register(&evidence, endpoint, deposit)).await?;
		*registrations += 1;
		tracing::info!(endpoint, deposit, "registered; waiting for activation");
		Ok(())
	}
}
