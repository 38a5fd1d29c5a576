//! The attestation API (JSON-RPC over HTTP and WebSocket, jsonrpsee), served at the endpoint
//! the worker registered: monitors challenge the executor here before, during and after a run.
//!
//! Methods:
//! - `vouch_health()`: the worker's account and the tasks it is executing.
//! - `vouch_measurements(task)`: what the executor measured of a task it executes.
//! - `vouch_challenge(task, phase, nonce)`: a fresh TPM quote of those measurements.
//!
//! **The executor never signs qualifying data chosen by a caller.** A challenge quote's
//! qualifying data is `challenge_nonce(task, round, phase, nonce, measurements)`, a hash in its
//! own domain (`"vouch/challenge"`), so no answer can equal an on-chain attestation nonce
//! (`"vouch/quote"`): a monitor cannot obtain a quote that would "prove" a lie the executor
//! never told. What it does obtain is a signed statement of what this build measured live for
//! that round and phase: if that is not what was attested, it is the evidence of the lie.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use anyhow::{Context as _, Result};
use jsonrpsee::{
	server::{Server, ServerHandle},
	types::{ErrorObject, ErrorObjectOwned},
	RpcModule,
};
use tokio::sync::RwLock;
use vouch_primitives::{
	tpm::nonce::{challenge_nonce, Measurements},
	Phase, TaskId,
};

use crate::tpm::Tpm;
use vouch_client::attestation::digest;
/// The API's answers and its client live with the other chain clients; re-exported for the
/// monitor role and the tests.
pub use vouch_client::attestation::{ApiClient, ChallengeAnswer, Health, MeasurementsJson};

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
	/// The measured launch's log (digests).
	launch_log: Vec<[u8; 32]>,
	/// The registration evidence, made once: its certification is for a fixed nonce, so
	/// asking again costs the TPM nothing.
	evidence: tokio::sync::OnceCell<vouch_client::calls::EvidenceSpec>,
	metrics: super::metrics::Metrics,
}

/// Starts the API on `listen`; it stops when the handle is stopped or dropped.
pub async fn serve(
	listen: SocketAddr,
	tpm: Tpm,
	executing: Executing,
	account: [u8; 32],
	intermediates: Vec<Vec<u8>>,
	launch_log: Vec<[u8; 32]>,
	metrics: super::metrics::Metrics,
) -> Result<(ServerHandle, SocketAddr)> {
	let evidence = tokio::sync::OnceCell::new();
	let mut module = RpcModule::new(Context {
		tpm,
		executing,
		account,
		intermediates,
		launch_log,
		evidence,
		metrics,
	});
	// What `vouch worker register` submits: public (it goes on-chain as it is), bound to this
	// worker's account by the registration nonce, so only that account can register with it.
	module.register_async_method("vouch_registrationEvidence", |_, ctx, _| async move {
		let evidence = ctx
			.evidence
			.get_or_try_init(|| {
				super::registration::registration_evidence(
					&ctx.tpm,
					ctx.account,
					ctx.intermediates.clone(),
					ctx.launch_log.clone(),
				)
			})
			.await
			.map_err(|e| failed(format!("{e:#}")))?;
		Ok::<_, ErrorObjectOwned>(vouch_client::attestation::RegistrationEvidence {
			account: hex::encode(ctx.account),
			evidence: evidence.clone(),
		})
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
		let qualifying = challenge_nonce(task, live.round, phase, &nonce, &measured);
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
