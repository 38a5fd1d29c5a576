//! The worker on the chain: it follows finalized blocks, discovers tasks from their events,
//! and for every task it follows does what its role asks at the newest finalized state.
//!
//! - [`sortition`]: claims a seat when its VRF draw wins and the task pays enough.
//! - [`executor`]: fetches, verifies and measures, attests `Before`, runs the job once the keys
//!   are released, submits the result with its `After` quote, reveals the result keys.
//! - [`monitor`]: challenges the executor's attestation API before, during and after the run,
//!   checks the answers against the registered AK and the on-chain attestation, votes.
//! - [`activation`]: as a verifier, challenges newcomers with credentials only their TPMs can
//!   open; as a newcomer, answers its own challenges with its TPM.
//!
//! Level-triggered: each duty is derived from the chain's state, not from an event stream,
//! and re-checks that state right before it submits, so a restart, a backfill or a repeated
//! block never submits a duty twice. Duties run as their own tokio tasks (a job may take
//! minutes), at most one per (task, round, duty); a duty that fails is retried at the next
//! block, up to [`MAX_ATTEMPTS`] times (a failed transaction pays its fee).

mod activation;
pub mod api;
mod executor;
pub mod metrics;
mod monitor;
mod sortition;
pub mod state;

use std::{
	collections::{BTreeSet, HashMap, HashSet},
	net::SocketAddr,
	path::PathBuf,
	sync::Arc,
	time::Duration,
};

use anyhow::{anyhow, bail, Context as _, Result};
use codec::Decode;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use vouch_client::{keys::AccountKey, store::StoreClient, Chain, SubmitError, Submitted};
use vouch_primitives::{Phase, TaskId};

use crate::{
	runner::Runner,
	tpm::{Tpm, TpmConfig},
};
use state::{Cursor, State};
use vouch_client::reads::{self, Status, TaskView};

/// Attempts of one duty before the worker gives up on it.
pub const MAX_ATTEMPTS: u32 = 3;
/// Blocks looked back on the first start (no cursor yet), to find tasks already open.
pub const FIRST_START_LOOKBACK: u64 = 100;
/// Most blocks processed before the worker acts on the newest state again.
const BLOCKS_PER_STEP: u64 = 200;
/// The longest one step of the follower may take (a step of a full [`BLOCKS_PER_STEP`] takes
/// seconds).
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Which tasks the worker takes: workers choose tasks by pay.
#[derive(Clone, Debug, Default)]
pub struct PayPolicy {
	/// The least payment per committee seat (`payment / committee_size`), in units.
	pub min_payment_per_seat: u128,
	/// Only these lambdas, if any are listed.
	pub allow_lambdas: Vec<u64>,
	/// Never these lambdas.
	pub deny_lambdas: Vec<u64>,
}

impl PayPolicy {
	/// Why the worker would not take a task of `lambda` paying `payment` for `seats` seats.
	pub fn refusal(&self, lambda: u64, payment: u128, seats: u32) -> Option<String> {
		if self.deny_lambdas.contains(&lambda) {
			return Some(format!("lambda {lambda} is denied"));
		}
		if !self.allow_lambdas.is_empty() && !self.allow_lambdas.contains(&lambda) {
			return Some(format!("lambda {lambda} is not allowed"));
		}
		let per_seat = payment / u128::from(seats.max(1));
		if per_seat < self.min_payment_per_seat {
			return Some(format!(
				"pays {per_seat} per seat, less than the {} asked",
				self.min_payment_per_seat
			));
		}
		None
	}
}

/// A deliberate fault, for the tests that show the committee catches it. Never set in
/// production; the flag is hidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
	/// Run this image (a `docker save` tarball with ID `id`) instead of the lambda's, while
	/// attesting the lambda's on-chain. Its attestation API answers with what it really runs.
	WrongImage {
		/// The tarball.
		tarball: PathBuf,
		/// Its image ID.
		id: crate::image::ImageId,
	},
}

/// Everything the worker needs.
#[derive(Clone, Debug)]
pub struct Config {
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

/// A duty: one thing one role owes one task's round.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Duty {
	Claim,
	Prepare,
	Attest,
	Run,
	Reveal,
	/// The verdict on a phase (`true`: `After`).
	Verdict {
		after: bool,
	},
	During,
}

type DutyKey = (TaskId, u32, Duty);

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
	/// One transaction at a time: nonces come from the pool and stay in order.
	submitting: Mutex<()>,
	in_flight: Mutex<HashSet<DutyKey>>,
	done: Mutex<HashSet<DutyKey>>,
	attempts: Mutex<HashMap<DutyKey, u32>>,
	/// Images verified and loaded into the daemon by this process: a task's attest, run and
	/// restart preparations load each once.
	loaded: Mutex<HashSet<crate::image::ImageId>>,
	/// Monitors' findings during runs: `false` if a live answer contradicted the attestation.
	observations: Mutex<HashMap<(TaskId, u32), bool>>,
	activation_in_flight: Mutex<HashSet<activation::ActivationKey>>,
	activation_done: Mutex<HashSet<activation::ActivationKey>>,
	activation_attempts: Mutex<HashMap<activation::ActivationKey, u32>>,
	/// What to register with (`--register-deposit`), and how many registrations this
	/// process made.
	registration: Option<Registration>,
	registrations: Mutex<u32>,
	shutdown: CancellationToken,
}

/// The worker's registration: its endpoint, deposit and EK intermediates.
struct Registration {
	endpoint: String,
	deposit: u128,
	intermediates: Vec<Vec<u8>>,
}

/// Registrations one process makes at most: the first, and again after activations that
/// expired (no round filled its verifier seats, which is no fault of the worker's).
const MAX_REGISTRATIONS: u32 = 4;

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
	let executing = api::Executing::default();
	let (api_handle, api_addr) = api::serve(
		config.api_listen,
		tpm.clone(),
		executing.clone(),
		key.account(),
		intermediates.clone(),
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
		submitting: Mutex::new(()),
		in_flight: Mutex::default(),
		done: Mutex::default(),
		attempts: Mutex::default(),
		loaded: Mutex::default(),
		observations: Mutex::default(),
		activation_in_flight: Mutex::default(),
		activation_done: Mutex::default(),
		activation_attempts: Mutex::default(),
		registration: config.register_deposit.map(|deposit| Registration {
			endpoint: endpoint.clone(),
			deposit,
			intermediates,
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
		if worker.in_flight.lock().await.is_empty() {
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

/// The TPM's registration evidence for `account`: its identity and the AK's certification of
/// the sealing key with the account's registration nonce (what `Registry.register` checks).
pub(crate) async fn registration_evidence(
	tpm: &Tpm,
	account: [u8; 32],
	intermediates: Vec<Vec<u8>>,
) -> Result<vouch_client::calls::EvidenceSpec> {
	let id = tpm.identity().await?;
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
	})
}

impl Worker {
	fn account(&self) -> [u8; 32] {
		self.key.account()
	}

	/// Registers this worker with its TPM's evidence if `--register-deposit` asks, unless it
	/// already is (or this process registered [`MAX_REGISTRATIONS`] times).
	async fn register_if_needed(&self) -> Result<()> {
		let Some(Registration { endpoint, deposit, intermediates }) = &self.registration else {
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
			if worker.status != "Removed" {
				tracing::info!(status = ?worker.status, "already registered");
				return Ok(());
			}
		}
		let evidence =
			registration_evidence(&self.tpm, self.account(), intermediates.clone()).await?;
		self.submit(&vouch_client::calls::register(&evidence, endpoint, deposit)).await?;
		*registrations += 1;
		tracing::info!(endpoint, deposit, "registered; waiting for activation");
		Ok(())
	}

	/// Submits `call`, one at a time, counting the outcome.
	async fn submit<Call: subxt::transactions::Payload>(
		&self,
		call: &Call,
	) -> Result<Submitted, SubmitError> {
		let name = format!("{}.{}", call.pallet_name(), call.call_name());
		let _one_at_a_time = self.submitting.lock().await;
		let outcome = self.chain.submit(&self.key.signer, call).await;
		let label = match &outcome {
			Ok(_) => "ok",
			Err(SubmitError::Dispatch { .. }) => "failed",
			Err(SubmitError::NotIncluded { .. }) => "not_included",
			Err(SubmitError::Rpc { .. }) => "rpc",
		};
		self.metrics.transaction(&name, label);
		match &outcome {
			Ok(s) => {
				tracing::info!(call = %name, block = ?s.block, fee = s.fee, "transaction finalized")
			},
			Err(e) => tracing::warn!(call = %name, error = %e, "transaction failed"),
		}
		outcome
	}

	/// Follows finalized blocks until shutdown; a lost node is retried every second (the RPC
	/// client reconnects by itself; the cursor makes the follower resume where it stopped).
	async fn follow(self: &Arc<Self>, poll: Duration) {
		let mut failing = false;
		loop {
			// A step waits on the node, which may be gone for good at shutdown.
			// A step that outlives STEP_TIMEOUT waits on an answer that will not come: drop it
			// and start again from the cursor.
			let stepped = tokio::select! {
				stepped = tokio::time::timeout(STEP_TIMEOUT, self.step()) => stepped
					.unwrap_or_else(|_| Err(anyhow!("no answer from the node within {STEP_TIMEOUT:?}"))),
				_ = self.shutdown.cancelled() => return,
			};
			match stepped {
				Ok(()) => {
					if failing {
						tracing::info!("following the chain again");
						self.metrics.reconnects.inc();
					}
					failing = false;
				},
				Err(e) => {
					if !failing {
						tracing::warn!(error = %format!("{e:#}"), "lost the chain: retrying");
					}
					failing = true;
				},
			}
			let pause = if failing { Duration::from_secs(1) } else { poll };
			tokio::select! {
				_ = tokio::time::sleep(pause) => {},
				_ = self.shutdown.cancelled() => return,
			}
		}
	}

	/// Processes the finalized blocks after the cursor (backfilling by number, each block's
	/// parent checked), then acts on every followed task at the newest of them.
	async fn step(self: &Arc<Self>) -> Result<()> {
		if self.chain.is_syncing().await? {
			tracing::debug!("the node is syncing: waiting");
			return Ok(());
		}
		let (head, head_hash) = self.chain.finalized().await?;
		self.metrics.finalized_head.set(head as i64);
		let mut cursor = self.state.cursor()?;
		if let Some(c) = cursor {
			// A cursor from another chain (a dev chain started afresh) is not ours to follow.
			let known = self.chain.block(c.number).await?.map(|(hash, _)| hash.0);
			if known != Some(c.hash) {
				tracing::warn!(
					block = c.number,
					"the node does not know the last processed block: starting from its head"
				);
				cursor = None;
				for task in self.state.followed()? {
					self.state.forget(task)?;
				}
			}
		}
		let from = match cursor {
			Some(c) => c.number + 1,
			None => head.saturating_sub(FIRST_START_LOOKBACK),
		};
		let to = head.min(from + BLOCKS_PER_STEP - 1);
		let mut followed = self.state.followed()?;
		for number in from..=to {
			let (hash, parent) = self
				.chain
				.block(number)
				.await?
				.ok_or_else(|| anyhow!("finalized block {number} has no hash"))?;
			if let Some(c) = cursor {
				if c.number + 1 == number && parent.0 != c.hash {
					bail!("block {number}'s parent is not block {} as processed", c.number);
				}
			}
			let (discovered, expired) = self.discover(hash).await?;
			if expired {
				tracing::warn!(
					block = number,
					"the activation expired (no round filled its verifier seats; the deposit was released): registering again"
				);
				if let Err(e) = self.register_if_needed().await {
					tracing::warn!(error = %format!("{e:#}"), "could not register again");
				}
			}
			for task in &discovered {
				if followed.insert(*task) {
					self.metrics.tasks_seen.inc();
					tracing::info!(task, block = number, "following a task");
				}
			}
			let next = Cursor { number, hash: hash.0 };
			self.state.advance(next, &discovered)?;
			cursor = Some(next);
			self.metrics.processed_block.set(number as i64);
			self.metrics.processed_lag.set((head - number) as i64);
		}
		let at_hash = if to == head {
			head_hash
		} else {
			self.chain.block(to).await?.map(|(h, _)| h).unwrap_or(head_hash)
		};
		let at = self.chain.at(at_hash).await?;
		for task in followed {
			if let Err(e) = self.reconcile(&at, task).await {
				tracing::warn!(task, error = %format!("{e:#}"), "could not read the task");
			}
		}
		if let Err(e) = self.reconcile_activations(&at).await {
			tracing::warn!(error = %format!("{e:#}"), "could not read the activations");
		}
		self.refresh_balance(&at).await;
		Ok(())
	}

	/// The tasks a block's events name (every Tasks event starts with its task id), and
	/// whether this worker's activation expired in it.
	async fn discover(&self, hash: subxt::utils::H256) -> Result<(BTreeSet<TaskId>, bool)> {
		let at = self.chain.at(hash).await?;
		let events = at.events().fetch().await?;
		let mut tasks = BTreeSet::new();
		let mut expired = false;
		for event in events.iter() {
			let event = event?;
			if event.pallet_name() == "Tasks" {
				if let Ok(task) = TaskId::decode(&mut event.field_bytes()) {
					tasks.insert(task);
				}
			} else if event.pallet_name() == "Registry"
				&& event.event_name() == "ActivationExpired"
				&& <[u8; 32]>::decode(&mut event.field_bytes())
					.is_ok_and(|who| who == self.account())
			{
				expired = true;
			}
		}
		Ok((tasks, expired))
	}

	async fn refresh_balance(&self, at: &vouch_client::chain::AtBlock) {
		if let Ok(free) = reads::free_balance(at, self.account()).await {
			self.metrics.balance.set(free as f64);
		}
	}

	/// What `task` asks of this worker at `at`: starts the duty, if any.
	async fn reconcile(
		self: &Arc<Self>,
		at: &vouch_client::chain::AtBlock,
		task: TaskId,
	) -> Result<()> {
		let Some(view) = reads::task(at, task).await? else {
			self.state.forget(task)?;
			return Ok(());
		};
		let me = self.account();
		if view.status.is_final() {
			if self.executing.write().await.remove(&task).is_some() {
				let _ = std::fs::remove_dir_all(self.task_dir(task));
			}
			tracing::info!(task, status = ?view.status, "task ended");
			self.state.forget(task)?;
			return Ok(());
		}
		let member = view.is_member(&me);
		let executor = view.status.executor() == Some(me);
		let round = view.round;
		match view.status {
			Status::Sortition { .. } if !member => self.start(task, round, Duty::Claim),
			Status::Elected { .. } if executor => self.start(task, round, Duty::Attest),
			Status::Attesting { phase, .. } if member && !executor => {
				self.start(task, round, Duty::Verdict { after: phase == Phase::After })
			},
			Status::Running { .. } if executor => self.start(task, round, Duty::Run),
			Status::Running { .. } if member => self.start(task, round, Duty::During),
			Status::Revealing { .. } if executor => self.start(task, round, Duty::Reveal),
			_ => {},
		}
		// After a restart the attestation API must know what it measured again.
		if executor
			&& !matches!(view.status, Status::Elected { .. })
			&& !self.executing.read().await.contains_key(&task)
		{
			self.start(task, round, Duty::Prepare);
		}
		Ok(())
	}

	/// Starts a duty unless it runs, succeeded, or failed too often.
	fn start(self: &Arc<Self>, task: TaskId, round: u32, duty: Duty) {
		let key = (task, round, duty);
		let worker = self.clone();
		tokio::spawn(async move {
			if worker.shutdown.is_cancelled() || worker.done.lock().await.contains(&key) {
				return;
			}
			if *worker.attempts.lock().await.get(&key).unwrap_or(&0) >= MAX_ATTEMPTS {
				return;
			}
			if !worker.in_flight.lock().await.insert(key) {
				return;
			}
			let span = tracing::info_span!("duty", task, round, duty = ?duty);
			let outcome =
				tracing::Instrument::instrument(worker.clone().perform(task, round, duty), span)
					.await;
			match outcome {
				Ok(()) => {
					worker.done.lock().await.insert(key);
				},
				Err(e) => {
					let mut attempts = worker.attempts.lock().await;
					let n = attempts.entry(key).or_default();
					*n += 1;
					if *n >= MAX_ATTEMPTS {
						worker.metrics.tasks_failed.inc();
						tracing::error!(task, round, ?duty, error = %format!("{e:#}"), "giving up on the duty");
					} else {
						tracing::warn!(task, round, ?duty, attempt = *n, error = %format!("{e:#}"), "duty failed: retrying at the next block");
					}
				},
			}
			worker.in_flight.lock().await.remove(&key);
		});
	}

	async fn perform(self: Arc<Self>, task: TaskId, round: u32, duty: Duty) -> Result<()> {
		match duty {
			Duty::Claim => self.claim(task, round).await,
			Duty::Prepare => self.prepare_live(task, round).await,
			Duty::Attest => self.attest(task, round).await,
			Duty::Run => self.run_job(task, round).await,
			Duty::Reveal => self.reveal(task, round).await,
			Duty::Verdict { after } => {
				let phase = if after { Phase::After } else { Phase::Before };
				self.verdict(task, round, phase).await
			},
			Duty::During => self.during(task, round).await,
		}
	}

	/// The task as of the newest finalized block: every duty re-reads it before it submits.
	async fn current(&self, task: TaskId) -> Result<(vouch_client::chain::AtBlock, TaskView)> {
		let at = self.chain.at_finalized().await?;
		let view = reads::task(&at, task).await?.ok_or_else(|| anyhow!("task {task} is gone"))?;
		Ok((at, view))
	}

	fn task_dir(&self, task: TaskId) -> PathBuf {
		self.data_dir.join("tasks").join(task.to_string())
	}

	/// Fetches `cid` from the first store that has it (each download checked against it).
	async fn fetch(&self, cid: &str, path: &std::path::Path) -> Result<()> {
		let id = vouch_primitives::content_id::ContentId::parse(cid)
			.map_err(|e| anyhow!("the chain names a bad CID {cid:?}: {e:?}"))?;
		if path.exists() && vouch_client::store::cid_of_file(path).await.ok() == Some(id) {
			return Ok(());
		}
		let mut last = anyhow!("no store is configured (--gateway)");
		for store in self.gateways.iter().chain(std::iter::once(&self.own_store)) {
			match store.get_file(&id, path).await {
				Ok(_) => return Ok(()),
				Err(e) => last = e,
			}
		}
		Err(last.context(format!("fetching {cid}")))
	}
}
