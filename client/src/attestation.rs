//! A worker's attestation API (`vouch-executor run --api-listen`, JSON-RPC over HTTP) from
//! the client side: its answers' wire types and [`ApiClient`], shared by the monitors (which
//! challenge an executor), the `vouch` CLI (an operator's `worker register`) and the tests.

use anyhow::{anyhow, Context as _, Result};
use serde::{Deserialize, Serialize};
use vouch_primitives::{tpm::nonce::Measurements, Phase, TaskId};

use crate::calls::EvidenceSpec;

/// Measurements as JSON: hex digests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasurementsJson {
	/// The image ID.
	pub image_id: String,
	/// `code_input_hash`.
	pub code_input_hash: String,
	/// The sandbox policy hash.
	pub sandbox_policy_hash: String,
	/// SHA-256 of the encrypted result (`After`).
	pub result_hash: Option<String>,
	/// The commitment to the result keys (`After`).
	#[serde(default)]
	pub keys_commitment: Option<String>,
	/// The job's exit status (`After`).
	pub exit_status: Option<i32>,
}

impl From<&Measurements> for MeasurementsJson {
	fn from(m: &Measurements) -> Self {
		Self {
			image_id: hex::encode(m.image_id),
			code_input_hash: hex::encode(m.code_input_hash),
			sandbox_policy_hash: hex::encode(m.sandbox_policy_hash),
			result_hash: m.result_hash.map(hex::encode),
			keys_commitment: m.keys_commitment.map(hex::encode),
			exit_status: m.exit_status,
		}
	}
}

/// A 32-byte digest in hex, as the API's JSON carries them; the error names `field`.
pub fn digest(field: &str, hex_text: &str) -> Result<[u8; 32]> {
	hex::decode(hex_text)
		.ok()
		.and_then(|b| b.try_into().ok())
		.ok_or_else(|| anyhow!("{field} is not 32 bytes of hex"))
}

impl TryFrom<&MeasurementsJson> for Measurements {
	type Error = anyhow::Error;
	fn try_from(m: &MeasurementsJson) -> Result<Self> {
		Ok(Self {
			image_id: digest("image_id", &m.image_id)?,
			code_input_hash: digest("code_input_hash", &m.code_input_hash)?,
			sandbox_policy_hash: digest("sandbox_policy_hash", &m.sandbox_policy_hash)?,
			result_hash: m.result_hash.as_deref().map(|h| digest("result_hash", h)).transpose()?,
			keys_commitment: m
				.keys_commitment
				.as_deref()
				.map(|h| digest("keys_commitment", h))
				.transpose()?,
			exit_status: m.exit_status,
		})
	}
}

/// `vouch_challenge`'s answer: the measurements and a quote over
/// `challenge_nonce(task, round, phase, nonce, measurements)` by the worker's AK.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChallengeAnswer {
	/// The round the measurements are of.
	pub round: u32,
	/// What the executor measured.
	pub measurements: MeasurementsJson,
	/// The quote (TPMS_ATTEST), hex.
	pub attest: String,
	/// Its signature (TPMT_SIGNATURE), hex.
	pub signature: String,
}

/// `vouch_health`'s answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Health {
	/// The worker's account, hex.
	pub account: String,
	/// The tasks it is executing.
	pub executing: Vec<TaskId>,
}

/// `vouch_registrationEvidence`'s answer: the TPM's evidence, bound to `account`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegistrationEvidence {
	/// The account the sealing key's certification is bound to (hex): the one that must sign
	/// `Registry.register`.
	pub account: String,
	/// The evidence.
	pub evidence: EvidenceSpec,
}

/// A client of a worker's attestation API: a monitor's of the executor's, an operator's of
/// its own (`vouch worker register`).
pub struct ApiClient {
	client: jsonrpsee::http_client::HttpClient,
}

impl ApiClient {
	/// A client of the API at `endpoint` (`http://host:port`).
	pub fn new(endpoint: &str) -> Result<Self> {
		let client = jsonrpsee::http_client::HttpClientBuilder::default()
			.request_timeout(std::time::Duration::from_secs(30))
			.build(endpoint)
			.with_context(|| format!("a bad attestation endpoint {endpoint:?}"))?;
		Ok(Self { client })
	}

	/// Challenges the executor of `task` with `nonce` for `phase`.
	pub async fn challenge(
		&self,
		task: TaskId,
		phase: Phase,
		nonce: [u8; 32],
	) -> Result<ChallengeAnswer> {
		use jsonrpsee::core::client::ClientT;
		let phase = match phase {
			Phase::Before => "Before",
			Phase::After => "After",
		};
		Ok(self
			.client
			.request("vouch_challenge", jsonrpsee::rpc_params![task, phase, hex::encode(nonce)])
			.await?)
	}

	/// The executor's health.
	pub async fn health(&self) -> Result<Health> {
		use jsonrpsee::core::client::ClientT;
		Ok(self.client.request("vouch_health", jsonrpsee::rpc_params![]).await?)
	}

	/// The worker's registration evidence, bound to its account.
	pub async fn registration_evidence(&self) -> Result<RegistrationEvidence> {
		use jsonrpsee::core::client::ClientT;
		Ok(self.client.request("vouch_registrationEvidence", jsonrpsee::rpc_params![]).await?)
	}
}
