//! The sortition role: for each round of a task it may enter, the worker evaluates its VRF
//! draw with the primitives crate and claims a seat when the draw wins and the task meets its
//! pay policy ([`PayPolicy`]: the operator's `--min-payment-per-seat`, `--allow-lambda` and
//! `--deny-lambda`).

use anyhow::Result;
use vouch_primitives::{sortition, TaskId};

use vouch_client::reads::{self, Status};

use super::Worker;

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

impl Worker {
	pub(super) async fn claim(&self, task: TaskId, round: u32) -> Result<()> {
		let (at, view) = self.current(task).await?;
		let me = self.account();
		if !matches!(view.status, Status::Sortition { .. })
			|| view.round != round
			|| view.is_member(&me)
		{
			return Ok(());
		}
		match reads::worker(&at, me).await? {
			Some(w) if w.status == reads::WorkerStatus::Active => {},
			other => {
				tracing::debug!(task, status = ?other.map(|w| w.status), "not an active worker: no claim");
				return Ok(());
			},
		}
		let credit = reads::credit(&at, me).await?;
		if !sortition::is_eligible(credit, view.min_credit) {
			tracing::info!(task, credit, min = view.min_credit, "credit too low for this task");
			return Ok(());
		}
		if let Some(why) = self.pay.refusal(view.lambda, view.payment, view.committee_size) {
			tracing::info!(task, %why, "not taking the task");
			return Ok(());
		}
		let claim = sortition::sign(&self.key.pair, task, &view.seed, round);
		if !sortition::wins(claim.draw, view.eligible, view.committee_size) {
			tracing::info!(task, round, draw = claim.draw, "the draw lost: no seat");
			return Ok(());
		}
		self.submit(&vouch_client::calls::claim_seat(task, round, view.seed, &claim)).await?;
		self.metrics.tasks_claimed.inc();
		tracing::info!(task, round, draw = claim.draw, "seat claimed");
		Ok(())
	}
}
