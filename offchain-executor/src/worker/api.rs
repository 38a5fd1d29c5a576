//! The attestation API (JSON-RPC over HTTP and WebSocket, jsonrpsee), served at the endpoint
//! the worker registered: monitors challenge the executor here before, during and after a run.
//!
//! Methods:
//! - `vouch_health()`: the worker's account and the tasks it is executing.
//! - `vouch_measurements(task)`: what the executor measured of a task it executes.
//! - `vouch_challenge(task, phase, nonce)`: a fresh TPM quote of those measurements.
//!
//! **The executor never signs qualifying data chosen by a caller.** A challenge quote's
//! qualifying data is `challenge_nonce(task, phase, nonce, measurements)`, a hash in its own
//! domain (`"vouch/challenge"`), so no answer can equal an on-chain attestation nonce
//! (`"vouch/quote"`): a monitor cannot obtain a quote that would "prove" a lie the executor
//! never told.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use anyhow::{anyhow, Context as _, Result};
use jsonrpsee::{
	server::{Server, ServerHandle},
	types::{ErrorObject, ErrorObjectOwned},
	RpcModule,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use vouch_primitives::{
	tpm::nonce::{challenge_nonce, Measurements},
	Phase, TaskId,
};

use crate::tpm::Tpm;

/// What the executor measured of a task it is executing, per phase: the API's answers.
#[derive(Clone, Debug)]
pub struct Live {
	/// The round.
	pub round: u32,
	/// The `Before` measurements (image, code and inputs, sandbox).
	pub before: Measurements,
	/// The `After` ones, once the job ran.
	pub after: Option<Measurements>,
}

/// The tasks being executed, shared by the executor role (which fills it) and the API.
pub type Executing = Arc<RwLock<HashMap<TaskId, Live>>>;

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
			exit_status: m.exit_status,
		}
	}
}

fn digest(field: &str, hex_text: &str) -> Result<[u8; 32]> {
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
			exit_status: m.exit_status,
		})
	}
}

/// `vouch_challenge`'s answer: the measurements and a quote over
/// `challenge_nonce(task, phase, nonce, measurements)` by the worker's AK.
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

/// A phase in the API: `"Before"` or `"After"`.
pub fn parse_phase(text: &str) -> Option<Phase> {
	match text {
		"Before" => Some(Phase::Before),
		"After" => Some(Phase::After),
		_ => None,
	}
}

fn invalid(message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObject::owned(-32602, message.into(), None::<()>)
}

fn failed(message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObject::owned(-32000, message.into(), None::<()>)
}

struct Context {
	tpm: Tpm,
	executing: Executing,
	account: [u8; 32],
	/// The EK certificate's issuing CAs (`--ek-intermediate`).
	intermediates: Vec<Vec<u8>>,
	/// The registration evidence, made once: its certification is for a fixed nonce, so
	/// asking again costs the TPM nothing.
	evidence: tokio::sync::OnceCell<vouch_client::calls::EvidenceSpec>,
	metrics: crate::worker::metrics::Metrics,
}

/// Starts the API on `listen`; it stops when the handle is stopped or dropped.
pub async fn serve(
	listen: SocketAddr,
	tpm: Tpm,
	executing: Executing,
	account: [u8; 32],
	intermediates: Vec<Vec<u8>>,
	metrics: crate::worker::metrics::Metrics,
) -> Result<(ServerHandle, SocketAddr)> {
	let evidence = tokio::sync::OnceCell::new();
	let mut module =
		RpcModule::new(Context { tpm, executing, account, intermediates, evidence, metrics });
	// What `vouch worker register` submits: public (it goes on-chain as it is), bound to this
	// worker's account by the registration nonce, so only that account can register with it.
	module.register_async_method("vouch_registrationEvidence", |_, ctx, _| async move {
		let evidence = ctx
			.evidence
			.get_or_try_init(|| {
				crate::worker::registration_evidence(
					&ctx.tpm,
					ctx.account,
					ctx.intermediates.clone(),
				)
			})
			.await
			.map_err(|e| failed(format!("{e:#}")))?;
		Ok::<_, ErrorObjectOwned>(serde_json::json!({
			"account": hex::encode(ctx.account),
			"evidence": evidence,
		}))
	})?;
	module.register_async_method("vouch_health", |_, ctx, _| async move {
		let executing = ctx.executing.read().await.keys().copied().collect();
		Ok::<_, ErrorObjectOwned>(Health { account: hex::encode(ctx.account), executing })
	})?;
	module.register_async_method("vouch_measurements", |params, ctx, _| async move {
		let task: TaskId = params.one().map_err(|e| invalid(e.to_string()))?;
		let live = ctx.executing.read().await.get(&task).cloned();
		let live = live.ok_or_else(|| failed(format!("not executing task {task}")))?;
		let current = live.after.as_ref().unwrap_or(&live.before);
		Ok::<_, ErrorObjectOwned>(serde_json::json!({
			"task": task,
			"round": live.round,
			"phase": if live.after.is_some() { "After" } else { "Before" },
			"measurements": MeasurementsJson::from(current),
		}))
	})?;
	module.register_async_method("vouch_challenge", |params, ctx, _| async move {
		let (task, phase, nonce): (TaskId, String, String) =
			params.parse().map_err(|e| invalid(e.to_string()))?;
		let phase = parse_phase(&phase).ok_or_else(|| invalid("phase is Before or After"))?;
		let nonce =
			digest("nonce", nonce.trim_start_matches("0x")).map_err(|e| invalid(e.to_string()))?;
		let live = ctx.executing.read().await.get(&task).cloned();
		let live = live.ok_or_else(|| failed(format!("not executing task {task}")))?;
		let measured = match phase {
			Phase::Before => live.before,
			Phase::After => live.after.ok_or_else(|| failed("the job has not run yet"))?,
		};
		// The domain-separated nonce: the caller's bytes never reach the TPM as they are.
		let qualifying = challenge_nonce(task, phase, &nonce, &measured);
		let started = std::time::Instant::now();
		let signed =
			ctx.tpm.quote(qualifying.to_vec()).await.map_err(|e| failed(format!("{e:#}")))?;
		ctx.metrics.quote_seconds.observe(started.elapsed().as_secs_f64());
		tracing::debug!(task, ?phase, "answered a challenge");
		Ok::<_, ErrorObjectOwned>(ChallengeAnswer {
			round: live.round,
			measurements: MeasurementsJson::from(&measured),
			attest: hex::encode(&signed.attest),
			signature: hex::encode(&signed.signature),
		})
	})?;
	let server = Server::builder()
		.build(listen)
		.await
		.with_context(|| format!("the attestation API cannot listen on {listen}"))?;
	let addr = server.local_addr()?;
	Ok((server.start(module), addr))
}

/// A monitor's client of another worker's attestation API.
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
}
