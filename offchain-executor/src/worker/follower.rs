//! The chain follower: finalized blocks only, in order, from the cursor kept in the state. Each
//! block's events name the tasks to follow (and whether this worker's activation expired);
//! after each step the duties are derived afresh from the newest state, so a missed event is
//! caught up by the next look.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use anyhow::{anyhow, bail, Result};
use codec::Decode;
use vouch_client::reads;
use vouch_primitives::TaskId;

use super::{state::Cursor, Worker};

/// Blocks looked back on the first start (no cursor yet), to find tasks already open.
pub const FIRST_START_LOOKBACK: u64 = 100;
/// Most blocks processed before the worker acts on the newest state again.
const BLOCKS_PER_STEP: u64 = 200;
/// The longest one step of the follower may take (a step of a full [`BLOCKS_PER_STEP`] takes
/// seconds).
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

impl Worker {
	/// Follows finalized blocks until shutdown; a lost node is retried every second (the RPC
	/// client reconnects by itself; the cursor makes the follower resume where it stopped).
	pub(super) async fn follow(self: &Arc<Self>, poll: Duration) {
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
}
