//! A client of a worker's attestation API (`vouch-executor run --api-listen`), JSON-RPC over
//! HTTP: what the `vouch` CLI asks a worker operator's own executor for.

use anyhow::{anyhow, bail, Context as _, Result};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{json, Value};

use crate::calls::EvidenceSpec;

/// What `vouch_registrationEvidence` answers: the TPM's evidence, bound to `account`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct RegistrationEvidence {
	/// The account the sealing key's certification is bound to (hex), the one that must sign
	/// `Registry.register`.
	pub account: String,
	/// The evidence.
	pub evidence: EvidenceSpec,
}

/// Calls `method` with `params` on the API at `endpoint` (`http://host:port`).
pub async fn call(endpoint: &str, method: &str, params: Value) -> Result<Value> {
	let http = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
	let body = serde_json::to_vec(
		&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }),
	)?;
	let request = Request::builder()
		.method(Method::POST)
		.uri(endpoint)
		.header(hyper::header::CONTENT_TYPE, "application/json")
		.body(Full::new(bytes::Bytes::from(body)))?;
	let response = tokio::time::timeout(std::time::Duration::from_secs(60), http.request(request))
		.await
		.map_err(|_| anyhow!("the attestation API at {endpoint} did not answer in 60 s"))?
		.with_context(|| format!("the attestation API at {endpoint} is unreachable"))?;
	let body = response.into_body().collect().await?.to_bytes();
	let answer: Value = serde_json::from_slice(&body).with_context(|| {
		format!("{endpoint} did not answer JSON-RPC: {}", String::from_utf8_lossy(&body))
	})?;
	if let Some(error) = answer.get("error") {
		bail!(
			"{endpoint} refused {method}: {}",
			error["message"].as_str().unwrap_or("(no message)")
		);
	}
	answer
		.get("result")
		.cloned()
		.ok_or_else(|| anyhow!("{endpoint} answered {method} without a result"))
}

/// The registration evidence of the worker whose API is at `endpoint`.
pub async fn registration_evidence(endpoint: &str) -> Result<RegistrationEvidence> {
	let result = call(endpoint, "vouch_registrationEvidence", json!([])).await?;
	serde_json::from_value(result).context("the registration evidence is not in the expected form")
}
