//! Registration: the TPM's evidence for this worker's account, which the attestation API also
//! serves (what `vouch worker register` submits), and the registration `--register-deposit`
//! asks for, at start and again after an activation expired.

use std::path::Path;

use anyhow::{Context as _, Result};
use vouch_client::reads;

use super::Worker;
use crate::{launch::LaunchLog, tpm::Tpm};

/// Registrations one process makes at most: the first, and again after activations that
/// expired (no round filled its verifier seats, which is no fault of the worker's).
const MAX_REGISTRATIONS: u32 = 4;

/// The worker's registration: its endpoint, deposit, EK intermediates and launch log.
pub(super) struct Registration {
	pub endpoint: String,
	pub deposit: u128,
	pub intermediates: Vec<Vec<u8>>,
	pub launch_log: Vec<[u8; 32]>,
}

/// Reads the launch log at `path` and checks it against the TPM's executor PCR: a worker
/// whose log does not explain its TPM's state could never open a released key, so it does
/// not start. Returns the log's digests, what registration submits.
pub(super) async fn checked_launch_log(tpm: &Tpm, path: &Path) -> Result<Vec<[u8; 32]>> {
	let log = LaunchLog::read(path)?;
	let pcrs = tpm.pcrs().await?;
	log.check_against(pcrs.last().context("no executor PCR read")?)?;
	for entry in &log.entries {
		tracing::info!(kind = entry.kind.as_str(), digest = %entry.digest, what = %entry.what, "launch measured");
	}
	log.digests()
}

/// The TPM's registration evidence for `account`: its identity, the AK's certification of
/// the sealing key with the account's registration nonce, the boot PCRs and the launch log
/// (what `Registry.register` checks).
pub(super) async fn registration_evidence(
	tpm: &Tpm,
	account: [u8; 32],
	intermediates: Vec<Vec<u8>>,
	launch_log: Vec<[u8; 32]>,
) -> Result<vouch_client::calls::EvidenceSpec> {
	let id = tpm.identity().await?;
	let pcrs = tpm.pcrs().await?;
	let boot_pcrs = pcrs[..vouch_primitives::tpm::BOOT_PCRS.len()].to_vec();
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
		boot_pcrs,
		launch_log,
	})
}

impl Worker {
	/// Registers this worker with its TPM's evidence if `--register-deposit` asks, unless it
	/// already is (or this process registered [`MAX_REGISTRATIONS`] times).
	pub(super) async fn register_if_needed(&self) -> Result<()> {
		let Some(Registration { endpoint, deposit, intermediates, launch_log }) =
			&self.registration
		else {
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
		let evidence = registration_evidence(
			&self.tpm,
			self.account(),
			intermediates.clone(),
			launch_log.clone(),
		)
		.await?;
		self.submit(&vouch_client::calls::register(&evidence, endpoint, deposit)).await?;
		*registrations += 1;
		tracing::info!(endpoint, deposit, "registered; waiting for activation");
		Ok(())
	}
}
