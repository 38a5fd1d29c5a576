//! The worker on the chain: it follows finalized blocks, discovers tasks from their events,
//! and for every task it follows does what its role asks at the newest finalized state. This
//! file only wires it up: the [`Config`], the [`Worker`] every part shares, and [`run`].
//!
//! - [`follower`]: finalized blocks in order from the cursor, the tasks their events name.
//! - [`duties`]: what a followed task asks of this worker, and the bookkeeping every duty goes
//!   through (at most one at a time, retried up to [`MAX_ATTEMPTS`] times).
//! - [`sortition`]: claims a seat when its VRF draw wins and the task pays enough
//!   ([`PayPolicy`]).
//! - [`executor`]: fetches, verifies and measures, attests `Before`, runs the job once the keys
//!   are released, submits the result with its `After` quote, reveals the result keys.
//! - [`monitor`]: challenges the executor's attestation API before, during and after the run,
//!   checks the answers against the registered AK and the on-chain attestation, votes.
//! - [`activation`]: as a verifier, challenges newcomers with credentials only their TPMs can
//!   open; as a newcomer, answers its own challenges with its TPM.
//! - [`registration`]: the TPM's registration evidence, and registering with it.
//! - [`context`]: what all of them share: the account, the submitter, the task at the newest
//!   finalized block, the stores.
//!
//! Calls go one way, down: this file calls the follower, registration and the API (and waits
//! for the duties at shutdown); the follower calls the duties, activation and registration; the
//! duties call the roles; the API calls registration for its evidence; all of them call
//! [`context`], [`state`] and [`metrics`], which call nothing back up.

mod activation;
pub mod api;
mod context;
mod duties;
mod executor;
mod follower;
pub mod metrics;
mod monitor;
mod registration;
mod sortition;
pub mod state;

pub use duties::MAX_ATTEMPTS;
pub use executor::Fault;
pub use follower::FIRST_START_LOOKBACK;
pub use sortition::PayPolicy;

use std::{
	collections::{HashMap, HashSet},
	net::SocketAddr,
	path::PathBuf,
	sync::Arc,
	time::Duration,
};

use anyhow::{Context as _, Result};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use vouch_client::{keys::AccountKey, store::StoreClient, Chain};
use vouch_primitives::TaskId;

use crate::{
	runner::Runner,
	tpm::{Tpm, TpmConfig},
};
use duties::{Duties, DutyKey};
use registration::Registration;
use state::State;

/// Everything the worker needs.
#[derive(Clone, Debug)]
pub struct Config {
	/// The measured launch's event log (`crate::launch`), submitted at registration.
	pub launch_log: PathBuf,
	/// The node's WebSocket RPC.
	pub node_url: String,
	/// The TPM.
	pub tpm: TpmConfig,
	/// The Docker daemon's socket.
	pub docker_socket: String,
	/// Where state, downloads and staging live.
	pub data_dir: PathBuf,
	/// The content store's listen address (results are served from here).
	pub store_listen: SocketAddr,
	/// The largest blob the store takes.
	pub store_max_blob_bytes: u64,
	/// The attestation API's listen address.
	pub api_listen: SocketAddr,
	/// The endpoint registered on-chain (the attestation API's public URL); defaults to
	/// `http://<api_listen>`.
	pub endpoint: Option<String>,
	/// Where Prometheus scrapes `/metrics`, if anywhere.
	pub metrics_listen: Option<SocketAddr>,
	/// Stores or gateways to fetch blobs from, in order; results are also put to the first.
	pub gateways: Vec<String>,
	/// Which tasks to take.
	pub pay: PayPolicy,
	/// Register with this deposit when the account is not registered yet.
	pub register_deposit: Option<u128>,
	/// The EK certificate's issuing CAs (DER), submitted at registration.
	pub ek_intermediates: Vec<PathBuf>,
	/// How often the node's finalized head is read.
	pub poll: Duration,
	/// A test-only fault.
	pub fault: Option<Fault>,
}

/// The running worker, shared by its duties.
pub(crate) struct Worker {
	chain: Chain,
	key: AccountKey,
	tpm: Tpm,
	runner: Runner,
	state: State,
	gateways: Vec<StoreClient>,
	own_store: StoreClient,
	data_dir: PathBuf,
	executing: api::Executing,
	metrics: metrics::Metrics,
	pay: PayPolicy,
	fault: Option<Fault>,
	/// Whether the [`Fault::BogusChallenge`] was posted already.
	bogus_challenge_posted: std::sync::atomic::AtomicBool,
	/// One transaction at a time: nonces come from the pool and stay in order.
	submitting: Mutex<()>,
	/// The task duties this process started.
	duties: Duties<DutyKey>,
	/// Images verified and loaded into the daemon by this process: a task's attest, run and
	/// restart preparations load each once.
	loaded: Mutex<HashSet<crate::image::ImageId>>,
	/// Monitors' findings during runs: `false` if a live answer contradicted the attestation.
	observations: Mutex<HashMap<(TaskId, u32), bool>>,
	/// The activation duties this process started.
	activations: Duties<activation::ActivationKey>,
	/// What to register with (`--register-deposit`), and how many registrations this
	/// process made.
	registration: Option<Registration>,
	registrations: Mutex<u32>,
	shutdown: CancellationToken,
}

/// Runs the worker until `shutdown` is cancelled: serves the store, the attestation API and
/// the metrics, registers if asked, follows the chain and does its duties. On shutdown it
/// stops taking duties, lets a running job's container be removed and its staging wiped,
/// and keeps the cursor (it is written after every block).
pub async fn run(config: Config, key: AccountKey, shutdown: CancellationToken) -> Result<()> {
	std::fs::create_dir_all(&config.data_dir)
		.with_context(|| format!("creating {}", config.data_dir.display()))?;
	let metrics = metrics::Metrics::new();
	let state = State::open(&config.data_dir.join("state.redb"))?;
	let tpm = Tpm::start(config.tpm.clone()).await?;
	let runner = Runner::connect(&config.docker_socket)
		.await?
		.owned_by(&vouch_client::AccountId::from(key.account()).to_string());
	let removed = runner.remove_leftovers().await?;
	let staging = config.data_dir.join("staging");
	std::fs::create_dir_all(&staging)?;
	let unmounted = crate::staging::remove_leftovers(&staging)?;
	if removed + unmounted > 0 {
		tracing::warn!(
			containers = removed,
			staging = unmounted,
			"cleaned up after an earlier run"
		);
	}

	// The content store: results are served from here.
	let store =
		crate::store::BlobStore::open(&config.data_dir.join("store"), config.store_max_blob_bytes)?;
	let listener = tokio::net::TcpListener::bind(config.store_listen)
		.await
		.with_context(|| format!("the store cannot listen on {}", config.store_listen))?;
	let store_addr = listener.local_addr()?;
	let store_task =
		tokio::spawn(crate::store::serve(store, listener, shutdown.clone().cancelled_owned()));

	let intermediates = config
		.ek_intermediates
		.iter()
		.map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
		.collect::<Result<Vec<_>>>()?;
	let launch_log = registration::checked_launch_log(&tpm, &config.launch_log).await?;
	let executing = api::Executing::default();
	let (api_handle, api_addr) = api::serve(
		config.api_listen,
		tpm.clone(),
		executing.clone(),
		key.account(),
		intermediates.clone(),
		launch_log.clone(),
		metrics.clone(),
	)
	.await?;
	if let Some(listen) = config.metrics_listen {
		let addr =
			metrics::serve(metrics.clone(), listen, shutdown.clone().cancelled_owned()).await?;
		tracing::info!(%addr, "metrics at /metrics");
	}
	let endpoint = config.endpoint.clone().unwrap_or_else(|| format!("http://{api_addr}"));
	tracing::info!(account = %vouch_client::AccountId::from(key.account()), store = %store_addr, api = %api_addr, %endpoint, "worker serving");

	let chain = tokio::select! {
		chain = Chain::connect(&config.node_url, Duration::from_secs(600)) => chain?,
		_ = shutdown.cancelled() => return Ok(()),
	};
	let worker = Arc::new(Worker {
		chain,
		key,
		tpm,
		runner,
		state,
		gateways: config.gateways.iter().map(|g| StoreClient::new(g)).collect(),
		own_store: StoreClient::new(&format!("http://{store_addr}")),
		data_dir: config.data_dir.clone(),
		executing,
		metrics,
		pay: config.pay.clone(),
		fault: config.fault.clone(),
		bogus_challenge_posted: Default::default(),
		submitting: Mutex::new(()),
		duties: Duties::default(),
		loaded: Mutex::default(),
		observations: Mutex::default(),
		activations: Duties::default(),
		registration: config.register_deposit.map(|deposit| Registration {
			endpoint: endpoint.clone(),
			deposit,
			intermediates,
			launch_log,
		}),
		registrations: Mutex::default(),
		shutdown: shutdown.clone(),
	});
	worker.register_if_needed().await?;
	worker.follow(config.poll).await;

	// Shutdown: duties see the token and stop; wait for them to leave (a job's container is
	// removed and its staging wiped on the way out).
	// A duty waiting on a node that is gone is not waited for beyond 20 s.
	for _ in 0..200 {
		if worker.duties.idle().await {
			break;
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	let _ = api_handle.stop();
	// The store drains its connections; idle keep-alive ones (the worker's own clients pool
	// some) never close by themselves, so the drain is bounded.
	if tokio::time::timeout(Duration::from_secs(5), store_task).await.is_err() {
		tracing::debug!("the store's idle connections did not close in 5 s: leaving them");
	}
	tracing::info!("worker stopped");
	Ok(())
}
