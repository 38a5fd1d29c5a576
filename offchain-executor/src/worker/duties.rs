//! The duties: what a followed task asks of this worker at the newest finalized state, and the
//! one bookkeeping every duty goes through, task duties and activation duties alike.
//!
//! Level-triggered: each duty is derived from the chain's state, not from an event stream,
//! and re-checks that state right before it submits, so a restart, a backfill or a repeated
//! block never submits a duty twice. Duties run as their own tokio tasks (a job may take
//! minutes), at most one per key (for a task: task, round, duty); a duty that fails is retried
//! at the next block, up to [`MAX_ATTEMPTS`] times (a failed transaction pays its fee).

use std::{
	collections::{HashMap, HashSet},
	future::Future,
	hash::Hash,
	sync::Arc,
};

use anyhow::Result;
use tokio::sync::Mutex;
use vouch_client::reads::{self, Status};
use vouch_primitives::{Phase, TaskId};

use super::Worker;

/// Attempts of one duty before the worker gives up on it.
pub const MAX_ATTEMPTS: u32 = 3;

/// A duty: one thing one role owes one task's round.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(super) enum Duty {
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

pub(super) type DutyKey = (TaskId, u32, Duty);

/// A failed attempt of a duty, as its caller reports it.
pub(super) struct Failure {
	/// How many attempts of this duty have failed, this one included.
	pub attempt: u32,
	/// This was the last attempt: the duty is not started again.
	pub gave_up: bool,
}

/// The duties of one kind this process started: which run now, which succeeded, and how often
/// each failed.
pub(super) struct Duties<K> {
	in_flight: Mutex<HashSet<K>>,
	done: Mutex<HashSet<K>>,
	attempts: Mutex<HashMap<K, u32>>,
}

impl<K> Default for Duties<K> {
	fn default() -> Self {
		Self { in_flight: Mutex::default(), done: Mutex::default(), attempts: Mutex::default() }
	}
}

impl<K: Copy + Eq + Hash> Duties<K> {
	/// Runs the duty `key` with `duty` unless it runs, succeeded, or failed [`MAX_ATTEMPTS`]
	/// times; a failure is counted and handed to `failed` with the attempt it was.
	pub(super) async fn run<F: Future<Output = Result<()>>>(
		&self,
		key: K,
		duty: impl FnOnce() -> F,
		failed: impl FnOnce(&anyhow::Error, Failure),
	) {
		if self.done.lock().await.contains(&key) {
			return;
		}
		if *self.attempts.lock().await.get(&key).unwrap_or(&0) >= MAX_ATTEMPTS {
			return;
		}
		if !self.in_flight.lock().await.insert(key) {
			return;
		}
		match duty().await {
			Ok(()) => {
				self.done.lock().await.insert(key);
			},
			Err(e) => {
				let mut attempts = self.attempts.lock().await;
				let n = attempts.entry(key).or_default();
				*n += 1;
				failed(&e, Failure { attempt: *n, gave_up: *n >= MAX_ATTEMPTS });
			},
		}
		self.in_flight.lock().await.remove(&key);
	}

	/// No duty of this kind is running.
	pub(super) async fn idle(&self) -> bool {
		self.in_flight.lock().await.is_empty()
	}
}

impl Worker {
	/// What `task` asks of this worker at `at`: starts the duty, if any.
	pub(super) async fn reconcile(
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
		let worker = self.clone();
		tokio::spawn(async move {
			if worker.shutdown.is_cancelled() {
				return;
			}
			let perform = || {
				let span = tracing::info_span!("duty", task, round, duty = ?duty);
				tracing::Instrument::instrument(worker.clone().perform(task, round, duty), span)
			};
			let failed = |e: &anyhow::Error, Failure { attempt, gave_up }| {
				if gave_up {
					worker.metrics.tasks_failed.inc();
					tracing::error!(task, round, ?duty, error = %format!("{e:#}"), "giving up on the duty");
				} else {
					tracing::warn!(task, round, ?duty, attempt, error = %format!("{e:#}"), "duty failed: retrying at the next block");
				}
			};
			worker.duties.run((task, round, duty), perform, failed).await;
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
}
