//! The measured launch's event log (DESIGN §5.1, `docs/formats.md` §8): what a worker's launch
//! extended into the executor PCR, as `vouch-executor launch` writes it and `vouch-executor
//! measure --json` prints its entries; and the `allow_build` arguments root gives for them.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use vouch_primitives::tpm::launch::{replay, EXECUTOR_PCR};

use crate::runtime::runtime_types::pallet_vouch_registry::tpm::BuildKind;

/// What a measurement is of: the chain's allowed-build list names the same kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
	/// The executor binary.
	Executor,
	/// A binary of the job runtime (the Docker daemon, containerd, the OCI runtime).
	JobRuntime,
	/// The job runtime's sandbox-relevant configuration.
	SandboxConfig,
}

impl Kind {
	/// The kind's name, as the CLI and the log spell it.
	pub fn as_str(self) -> &'static str {
		match self {
			Kind::Executor => "executor",
			Kind::JobRuntime => "job-runtime",
			Kind::SandboxConfig => "sandbox-config",
		}
	}
}

/// One entry of the launch log: a digest extended into the executor PCR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
	/// What was measured.
	pub kind: Kind,
	/// SHA-256 of it, hex.
	pub digest: String,
	/// Which file or setting, for people reading the log.
	pub what: String,
}

impl Measurement {
	/// A measurement of `what`, a `kind`, whose SHA-256 is `digest`.
	pub fn new(kind: Kind, digest: [u8; 32], what: impl Into<String>) -> Self {
		Self { kind, digest: hex::encode(digest), what: what.into() }
	}

	/// The digest's bytes.
	pub fn digest(&self) -> Result<[u8; 32]> {
		let bytes = hex::decode(&self.digest).context("a launch log digest is not hex")?;
		bytes.try_into().map_err(|_| anyhow::anyhow!("a launch log digest is not 32 bytes"))
	}
}

/// The launch log: what the executor PCR was extended with, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchLog {
	/// The PCR extended.
	pub pcr: u8,
	/// The measurements, in the order extended.
	pub entries: Vec<Measurement>,
}

impl LaunchLog {
	/// The digests, in order: what registration submits.
	pub fn digests(&self) -> Result<Vec<[u8; 32]>> {
		self.entries.iter().map(Measurement::digest).collect()
	}

	/// Reads a log written by [`launch`] (or converted from the OS's measured boot).
	pub fn read(path: &Path) -> Result<Self> {
		let text = std::fs::read_to_string(path).with_context(|| {
			format!(
				"reading the launch log {} (start the worker with `vouch-executor launch`, or \
				 point --launch-log at the OS's)",
				path.display()
			)
		})?;
		let log: Self = serde_json::from_str(&text)
			.with_context(|| format!("{} is not a launch log", path.display()))?;
		if log.pcr != EXECUTOR_PCR {
			bail!(
				"{}: a log of PCR {}, not the executor PCR {EXECUTOR_PCR}",
				path.display(),
				log.pcr
			);
		}
		Ok(log)
	}

	/// Checks that this log explains `pcr`, the executor PCR's current value.
	pub fn check_against(&self, pcr: &[u8; 32]) -> Result<()> {
		if replay(&self.digests()?) != *pcr {
			bail!(
				"the launch log does not replay to the TPM's PCR {EXECUTOR_PCR}: the TPM was \
				 extended by something else since (restart the TPM and launch again)"
			);
		}
		Ok(())
	}
}

/// The `(digest, kind, label)` of each measurement, as `calls::sudo_allow_builds` takes them.
pub fn builds(measured: &[Measurement]) -> Result<Vec<([u8; 32], BuildKind, String)>> {
	measured
		.iter()
		.map(|m| {
			let kind = match m.kind {
				Kind::Executor => BuildKind::Executor,
				Kind::JobRuntime => BuildKind::JobRuntime,
				Kind::SandboxConfig => BuildKind::SandboxConfig,
			};
			Ok((m.digest()?, kind, m.what.clone()))
		})
		.collect()
}
