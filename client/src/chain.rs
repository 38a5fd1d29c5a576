//! One connection to a Vouch node: finalized blocks by number, typed storage reads at a block,
//! the `TasksApi` runtime API, and transactions submitted mortal and watched to finalization,
//! with a failed dispatch decoded to the pallet error's name.

use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use codec::{Decode, Encode};
use subxt::{
	config::polkadot::PolkadotExtrinsicParamsBuilder,
	error::{DispatchError, TransactionEventsError},
	rpcs::{
		client::{ReconnectingRpcClient, RpcClient},
		methods::LegacyRpcMethods,
	},
	transactions::TransactionStatus,
	utils::H256,
	OnlineClient,
};
use subxt_signer::sr25519::Keypair;
use vouch_primitives::{sortition::SortitionRecord, TaskId};

use crate::{runtime, AccountId, VouchConfig};

/// Blocks a transaction stays valid for: long enough for a busy pool, short enough that a
/// transaction the executor gave up on cannot land much later.
pub const MORTALITY_BLOCKS: u64 = 64;

/// How long a submission is watched before it counts as lost: a mortal transaction is dead by
/// then on a chain of 3 s blocks, so signing again cannot make it land twice.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(300);

type Legacy = LegacyRpcMethods<subxt::config::RpcConfigFor<VouchConfig>>;
/// The client pinned at one block.
pub type AtBlock =
	subxt::client::ClientAtBlock<VouchConfig, subxt::client::OnlineClientAtBlockImpl<VouchConfig>>;

/// A connection to one node, over a WebSocket RPC client that reconnects by itself (with
/// exponential backoff) when the node goes away and comes back.
#[derive(Clone)]
pub struct Chain {
	api: OnlineClient<VouchConfig>,
	legacy: Legacy,
	url: String,
}

/// A finalized transaction that succeeded.
#[derive(Debug, Clone)]
pub struct Submitted {
	/// The block it is in.
	pub block: H256,
	/// The events it emitted, as `Pallet.Event`.
	pub events: Vec<String>,
	/// Each event's SCALE-encoded fields, in the same order.
	pub event_fields: Vec<Vec<u8>>,
	/// Its fee (`TransactionPayment.TransactionFeePaid`'s `actual_fee`): 0 for a free duty.
	pub fee: u128,
}

impl Submitted {
	/// The first field of the first `name` event (`Pallet.Event`) as a u64: the new task's
	/// id of `Tasks.TaskPosted`, the new lambda's of `Lambdas.Published`.
	pub fn id_from(&self, name: &str) -> Option<u64> {
		let at = self.events.iter().position(|e| e == name)?;
		u64::decode(&mut &self.event_fields[at][..]).ok()
	}

	/// Whether it emitted `name` (`Pallet.Event`).
	pub fn emitted(&self, name: &str) -> bool {
		self.events.iter().any(|e| e == name)
	}
}

/// Why a transaction did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
	/// It was included and failed: the pallet's error, e.g. `Tasks::WrongState`.
	#[error("{call} failed on-chain: {error}")]
	Dispatch {
		/// The call, `Pallet.call`.
		call: String,
		/// The error as `Pallet::Variant` (or the dispatch error's text).
		error: String,
		/// The error's documentation from the metadata (empty when it has none).
		docs: String,
	},
	/// The pool refused it, or it was dropped (stale nonce, outdated, full pool).
	#[error("{call} was not included: {reason}")]
	NotIncluded {
		/// The call.
		call: String,
		/// What the pool said.
		reason: String,
	},
	/// The node could not be reached or answered nonsense.
	#[error("{call}: {source:#}")]
	Rpc {
		/// The call.
		call: String,
		/// The cause.
		source: anyhow::Error,
	},
}

impl SubmitError {
	/// The pallet error's variant name, if the call failed on-chain (`WrongState`).
	pub fn pallet_error(&self) -> Option<&str> {
		match self {
			Self::Dispatch { error, .. } => error.rsplit("::").next(),
			_ => None,
		}
	}
}

impl Chain {
	/// Connects to `url` (`ws://` on loopback or any `wss://`), retrying for at most `patience`
	/// while the node is not up yet.
	pub async fn connect(url: &str, patience: Duration) -> Result<Self> {
		let deadline = tokio::time::Instant::now() + patience;
		loop {
			// The reconnecting client retries a refused first connection by itself, for
			// ever: bound each attempt by what is left of the patience.
			let left = deadline.saturating_duration_since(tokio::time::Instant::now());
			let attempt =
				tokio::time::timeout(left.max(Duration::from_secs(2)), Self::try_connect(url));
			let attempt = attempt.await.unwrap_or_else(|_| {
				Err(anyhow!("connecting to {url}: no answer within {patience:?}"))
			});
			match attempt {
				Ok(chain) => return Ok(chain),
				Err(e) if tokio::time::Instant::now() >= deadline => {
					return Err(e.context(format!("no Vouch node answers at {url}")))
				},
				Err(e) => {
					tracing::debug!(url, error = %format!("{e:#}"), "node not reachable yet");
					tokio::time::sleep(Duration::from_millis(500)).await;
				},
			}
		}
	}

	async fn try_connect(url: &str) -> Result<Self> {
		let inner = ReconnectingRpcClient::builder()
			.request_timeout(Duration::from_secs(60))
			.build(url)
			.await
			.map_err(|e| anyhow!("connecting to {url}: {e}"))?;
		let rpc = RpcClient::new(inner);
		// The legacy backend only: plain requests, each under the client's timeout. The
		// chainHead backend's follow subscription could leave a caller waiting for ever on a
		// block pinned before the node restarted (seen as a monitor that fell silent).
		let backend = subxt::backend::LegacyBackend::builder().build(rpc.clone());
		let api = OnlineClient::<VouchConfig>::from_backend(std::sync::Arc::new(backend))
			.await
			.with_context(|| format!("reading the chain's metadata at {url}"))?;
		Ok(Self { api, legacy: Legacy::new(rpc), url: url.into() })
	}

	/// The node's address.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// The subxt client.
	pub fn api(&self) -> &OnlineClient<VouchConfig> {
		&self.api
	}

	/// The last finalized block's number and hash.
	pub async fn finalized(&self) -> Result<(u64, H256)> {
		let hash = self.legacy.chain_get_finalized_head().await?;
		let header = self
			.legacy
			.chain_get_header(Some(hash))
			.await?
			.ok_or_else(|| anyhow!("the node has no header for its finalized head {hash:?}"))?;
		Ok((header.number, hash))
	}

	/// The hash and parent hash of block `number` on the node's best chain.
	pub async fn block(&self, number: u64) -> Result<Option<(H256, H256)>> {
		let Some(hash) = self.legacy.chain_get_block_hash(Some(number.into())).await? else {
			return Ok(None);
		};
		let header = self
			.legacy
			.chain_get_header(Some(hash))
			.await?
			.ok_or_else(|| anyhow!("block {number} has a hash but no header"))?;
		Ok(Some((hash, header.parent_hash)))
	}

	/// Whether the node is still catching up with its peers (`system_health`).
	pub async fn is_syncing(&self) -> Result<bool> {
		Ok(self.legacy.system_health().await?.is_syncing)
	}

	/// The client pinned at block `hash`.
	pub async fn at(&self, hash: H256) -> Result<AtBlock> {
		Ok(self.api.at_block(hash).await?)
	}

	/// The client pinned at the last finalized block.
	pub async fn at_finalized(&self) -> Result<AtBlock> {
		Ok(self.api.at_current_block().await?)
	}

	/// Submits `call` signed by `signer` (nonce from the pool-aware `system_accountNextIndex`,
	/// mortal for [`MORTALITY_BLOCKS`]), waits until it is finalized and returns its events,
	/// or the pallet error it failed with. A transaction the pool refuses for its nonce (a
	/// stale one after another client used the account) is signed again with a fresh nonce,
	/// up to three times.
	pub async fn submit<Call: subxt::transactions::Payload>(
		&self,
		signer: &Keypair,
		call: &Call,
	) -> Result<Submitted, SubmitError> {
		let name = call_name(call);
		let mut last = String::new();
		for attempt in 0..3 {
			let once = tokio::time::timeout(SUBMIT_TIMEOUT, self.submit_once(signer, call, &name));
			let outcome = once.await.unwrap_or_else(|_| {
				Err(SubmitError::Rpc {
					call: name.clone(),
					source: anyhow!("not finalized within {SUBMIT_TIMEOUT:?}"),
				})
			});
			match outcome {
				Err(SubmitError::NotIncluded { reason, .. }) if stale_nonce(&reason) => {
					tracing::warn!(call = %name, attempt, %reason, "nonce was stale: signing again");
					last = reason;
				},
				outcome => return outcome,
			}
		}
		Err(SubmitError::NotIncluded { call: name, reason: last })
	}

	async fn submit_once<Call: subxt::transactions::Payload>(
		&self,
		signer: &Keypair,
		call: &Call,
		name: &str,
	) -> Result<Submitted, SubmitError> {
		let rpc = |e: anyhow::Error| SubmitError::Rpc { call: name.into(), source: e };
		let params = PolkadotExtrinsicParamsBuilder::new().mortal(MORTALITY_BLOCKS).build();
		let mut progress = self
			.api
			.at_current_block()
			.await
			.map_err(|e| rpc(e.into()))?
			.transactions()
			.sign_and_submit_then_watch(call, signer, params)
			.await
			.map_err(|e| SubmitError::NotIncluded { call: name.into(), reason: e.to_string() })?;
		while let Some(status) = progress.next().await {
			match status.map_err(|e| rpc(e.into()))? {
				TransactionStatus::InFinalizedBlock(in_block) => {
					let block = in_block.block_hash();
					return match in_block.wait_for_success().await {
						Ok(events) => {
							let mut names = Vec::new();
							let mut fields = Vec::new();
							let mut fee = 0;
							for event in events.iter() {
								let event = event.map_err(|e| rpc(e.into()))?;
								if let Some(Ok(paid)) =
									event
										.decode_fields_as::<runtime::transaction_payment::events::TransactionFeePaid>(
										) {
									fee = paid.actual_fee;
								}
								names.push(format!(
									"{}.{}",
									event.pallet_name(),
									event.event_name()
								));
								fields.push(event.field_bytes().to_vec());
							}
							Ok(Submitted { block, events: names, event_fields: fields, fee })
						},
						Err(TransactionEventsError::ExtrinsicFailed(error)) => {
							Err(SubmitError::Dispatch {
								call: name.into(),
								error: dispatch_name(&error),
								docs: dispatch_docs(&error),
							})
						},
						Err(e) => Err(rpc(e.into())),
					};
				},
				TransactionStatus::Error { message }
				| TransactionStatus::Invalid { message }
				| TransactionStatus::Dropped { message } => {
					return Err(SubmitError::NotIncluded { call: name.into(), reason: message })
				},
				_ => {},
			}
		}
		Err(SubmitError::NotIncluded {
			call: name.into(),
			reason: "the node closed the transaction's subscription".into(),
		})
	}

	/// `TasksApi_sortition(task)` at `at`: the round, seed, threshold inputs and seats.
	pub async fn sortition(
		&self,
		at: &AtBlock,
		task: TaskId,
	) -> Result<Option<SortitionRecord<[u8; 32]>>> {
		let answer = at
			.runtime_apis()
			.call_raw("TasksApi_sortition", Some(&task.encode()))
			.await
			.context("calling TasksApi_sortition")?;
		Option::<SortitionRecord<[u8; 32]>>::decode(&mut &answer[..])
			.context("decoding TasksApi_sortition's answer")
	}
}

fn call_name<Call: subxt::transactions::Payload>(call: &Call) -> String {
	format!("{}.{}", call.pallet_name(), call.call_name())
}

fn dispatch_name(error: &DispatchError) -> String {
	match error {
		DispatchError::Module(module) => module.details_string(),
		other => other.to_string(),
	}
}

/// What the metadata says of a pallet error (its doc comment), for people to read.
fn dispatch_docs(error: &DispatchError) -> String {
	match error {
		DispatchError::Module(module) => module
			.details()
			.map(|d| d.variant.docs.join(" ").trim().to_string())
			.unwrap_or_default(),
		_ => String::new(),
	}
}

/// Whether the pool refused a transaction for its nonce or age: worth signing again.
fn stale_nonce(reason: &str) -> bool {
	let reason = reason.to_ascii_lowercase();
	["outdated", "stale", "priority is too low", "future", "bad proof"]
		.iter()
		.any(|s| reason.contains(s))
}

/// An account id from raw bytes.
pub fn account(bytes: [u8; 32]) -> AccountId {
	AccountId::from(bytes)
}
