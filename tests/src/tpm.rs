//! Workers' TPMs for the dev-node tests: one swtpm per worker, provisioned by the test
//! manufacturer CA that the dev chain trusts, driven by the executor's TPM service; and the
//! registration evidence and quotes in the shape the runtime's calls take.

use std::path::Path;

use anyhow::Result;
use subxt::dynamic::Value;
use vouch_executor::{
	swtpm::{test_ca_issuer, Swtpm},
	tpm::{Tpm, TpmConfig},
};
use vouch_primitives::{
	tpm::nonce::{quote_nonce, registration_nonce, Measurements},
	Phase, TaskId,
};

/// A worker's TPM: a running swtpm and the TPM service on it.
pub struct WorkerTpm {
	/// The TPM service.
	pub tpm: Tpm,
	_swtpm: Swtpm,
}

impl WorkerTpm {
	/// Provisions and starts a swtpm in `dir` and the TPM service on it (which creates the AK
	/// and the sealing key).
	pub async fn start(dir: &Path) -> Result<Self> {
		let dir = dir.to_owned();
		let swtpm = tokio::task::spawn_blocking({
			let dir = dir.clone();
			move || Swtpm::start(&dir)
		})
		.await??;
		let tpm = Tpm::start(TpmConfig { tcti: swtpm.tcti(), key_file: dir.join("keys") }).await?;
		Ok(Self { tpm, _swtpm: swtpm })
	}

	/// Starts one worker TPM per entry of `count` under `dir`, all at once.
	pub async fn start_many(dir: &Path, count: usize) -> Result<Vec<Self>> {
		let starting: Vec<_> = (0..count)
			.map(|i| {
				let dir = dir.join(format!("worker-{i}"));
				tokio::spawn(async move { Self::start(&dir).await })
			})
			.collect();
		let mut workers = Vec::with_capacity(count);
		for handle in starting {
			workers.push(handle.await??);
		}
		Ok(workers)
	}

	/// `Registry.register`'s `evidence` argument for `account`: the EK certificate and its
	/// issuing CA, the public areas, and the sealing key certified for this account.
	pub async fn evidence(&self, account: [u8; 32]) -> Result<Value> {
		let id = self.tpm.identity().await?;
		let certified = self.tpm.certify_sealing_key(registration_nonce(&account).to_vec()).await?;
		Ok(Value::named_composite([
			("ek_cert", Value::from_bytes(&id.ek_cert)),
			("intermediates", Value::unnamed_composite([Value::from_bytes(test_ca_issuer()?)])),
			("ek_public", Value::from_bytes(&id.ek_public)),
			("ak_public", Value::from_bytes(&id.ak_public)),
			("sealing_public", Value::from_bytes(&id.sealing_public)),
			("certify_attest", Value::from_bytes(&certified.attest)),
			("certify_signature", Value::from_bytes(&certified.signature)),
		]))
	}

	/// A quote of `phase` of `task`'s committee `round` with `measured`, made after block
	/// `block` (of hash `block_hash`): the `quote` argument of `attest_before`,
	/// `submit_result` and `report_lie`.
	pub async fn quote(
		&self,
		(task, round): (TaskId, u32),
		phase: Phase,
		(block, block_hash): (u64, [u8; 32]),
		measured: &Measurements,
	) -> Result<Value> {
		let nonce = quote_nonce(task, round, phase, &block_hash, measured);
		let signed = self.tpm.quote(nonce.to_vec()).await?;
		Ok(Value::named_composite([
			("block", Value::u128(block.into())),
			("measurements", measurements(measured)),
			("attest", Value::from_bytes(&signed.attest)),
			("signature", Value::from_bytes(&signed.signature)),
		]))
	}
}

/// `measured` as a call argument.
pub fn measurements(m: &Measurements) -> Value {
	let option = |v: Option<Value>| match v {
		Some(v) => Value::unnamed_variant("Some", [v]),
		None => Value::unnamed_variant("None", []),
	};
	Value::named_composite([
		("image_id", Value::from_bytes(m.image_id)),
		("code_input_hash", Value::from_bytes(m.code_input_hash)),
		("sandbox_policy_hash", Value::from_bytes(m.sandbox_policy_hash)),
		("result_hash", option(m.result_hash.map(Value::from_bytes))),
		("exit_status", option(m.exit_status.map(|s| Value::i128(s.into())))),
	])
}

/// The phase as a call argument.
pub fn phase(phase: Phase) -> Value {
	match phase {
		Phase::Before => Value::unnamed_variant("Before", []),
		Phase::After => Value::unnamed_variant("After", []),
	}
}
