//! The sortition role: for each round of a task it may enter, the worker evaluates its VRF
//! draw with the primitives crate and claims a seat when the draw wins and the task meets its
//! pay policy.

use anyhow::Result;
use vouch_primitives::{sortition, TaskId};

use vouch_client::reads::{self, Status};

use super::Worker;

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
			Some(w) if w.status == "Active" => {},
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
