//! What every part of the worker works with, below all of them: its account, the one
//! submitter (nonces come from the pool, so transactions go one at a time), the task as of the
//! newest finalized block, a task's directory and the stores blobs are fetched from. Kept apart
//! from the wiring in `mod.rs` so that the follower, the duties and the roles call down into it
//! and nothing calls back up.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use vouch_client::{reads, reads::TaskView, SubmitError, Submitted};
use vouch_primitives::TaskId;

use super::Worker;

impl Worker {
	pub(super) fn account(&self) -> [u8; 32] {
		self.key.account()
	}

	/// Submits `call`, one at a time, counting the outcome.
	pub(super) async fn submit<Call: subxt::transactions::Payload>(
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

	/// The task as of the newest finalized block: every duty re-reads it before it submits.
	pub(super) async fn current(
		&self,
		task: TaskId,
	) -> Result<(vouch_client::chain::AtBlock, TaskView)> {
		let at = self.chain.at_finalized().await?;
		let view = reads::task(&at, task).await?.ok_or_else(|| anyhow!("task {task} is gone"))?;
		Ok((at, view))
	}

	pub(super) fn task_dir(&self, task: TaskId) -> PathBuf {
		self.data_dir.join("tasks").join(task.to_string())
	}

	/// Fetches `cid` from the first store that has it (each download checked against it).
	pub(super) async fn fetch(&self, cid: &str, path: &std::path::Path) -> Result<()> {
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
