//! Workers' TPMs for the dev-node tests: one swtpm per worker, provisioned by the test
//! manufacturer CA that the dev chain trusts, launched with [`test_launch`] (its executor PCR
//! extended, as `vouch-executor launch` does) and driven by the executor's TPM service; and
//! the registration evidence and quotes in the shape the runtime's calls take. These workers
//! run no executor, so their launch measures stand-ins, which [`allow_test_launch`] puts on
//! the chain's allowed-build list.

use std::path::Path;

use anyhow::Result;
use subxt::dynamic::Value;
use vouch_executor::{
	launch::{Kind, Measurement},
	swtpm::{test_ca_issuer, Swtpm},
	tpm::{Tpm, TpmConfig},
};
use vouch_primitives::{
	tpm::nonce::{quote_nonce, registration_nonce, Measurements},
	Phase, TaskId,
};

/// What every test TPM's launch measures: stand-ins for an executor build, a job runtime
/// binary and a sandbox configuration.
pub fn test_launch() -> Vec<Measurement> {
	let digest = |what: &[u8]| polkadot_sdk::sp_crypto_hashing::sha2_256(what);
	vec![
		Measurement::new(Kind::Executor, digest(b"vouch test executor"), "test executor"),
		Measurement::new(Kind::JobRuntime, digest(b"vouch test runtime"), "test job runtime"),
		Measurement::new(Kind::SandboxConfig, digest(b"vouch test config"), "test sandbox config"),
	]
}

/// Root's `allow_build` of every [`test_launch`] measurement, in one batch (signed by Alice,
/// the dev chain's sudo).
pub fn allow_test_launch() -> impl subxt::transactions::Payload {
	let builds = vouch_client::launch_log::builds(&test_launch()).expect("hex digests");
	vouch_client::calls::sudo_allow_builds(&builds)
}

/// A worker's TPM: a running swtpm and the TPM service on it.
pub struct WorkerTpm {
	/// The TPM service.
	pub tpm: Tpm,
	/// The digests its launch extended the executor PCR with.
	pub launch_log: Vec<[u8; 32]>,
	_swtpm: Swtpm,
}

impl WorkerTpm {
	/// Provisions and starts a swtpm in `dir`, launches it with [`test_launch`], and starts the
	/// TPM service on it (which creates the AK and the sealing key, bound to that launch).
	pub async fn start(dir: &Path) -> Result<Self> {
		let dir = dir.to_owned();
		let (swtpm, log) = tokio::task::spawn_blocking({
			let dir = dir.clone();
			move || -> Result<_> {
				let swtpm = Swtpm::start(&dir)?;
				let log = vouch_executor::launch::launch(
					&swtpm.tcti(),
					&dir.join("launch-log.json"),
					test_launch(),
				)?;
				Ok((swtpm, log))
			}
		})
		.await??;
		let tpm = Tpm::start(TpmConfig { tcti: swtpm.tcti(), key_file: dir.join("keys") }).await?;
		Ok(Self { tpm, launch_log: log.digests()?, _swtpm: swtpm })
	}

	/// The boot PCRs' values, as registration submits them.
	pub async fn boot_pcrs(&self) -> Result<Vec<[u8; 32]>> {
		Ok(self.tpm.pcrs().await?[..vouch_primitives::tpm::BOOT_PCRS.len()].to_vec())
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
		let digests =
			|list: &[[u8; 32]]| Value::unnamed_composite(list.iter().map(Value::from_bytes));
		let boot = self.boot_pcrs().await?;
		Ok(Value::named_composite([
			("ek_cert", Value::from_bytes(&id.ek_cert)),
			("intermediates", Value::unnamed_composite([Value::from_bytes(test_ca_issuer()?)])),
			("ek_public", Value::from_bytes(&id.ek_public)),
			("ak_public", Value::from_bytes(&id.ak_public)),
			("sealing_public", Value::from_bytes(&id.sealing_public)),
			("certify_attest", Value::from_bytes(&certified.attest)),
			("certify_signature", Value::from_bytes(&certified.signature)),
			("boot_pcrs", digests(&boot)),
			("launch_log", digests(&self.launch_log)),
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
		("keys_commitment", option(m.keys_commitment.map(Value::from_bytes))),
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
