//! What the worker must not forget across a crash or a restart, in one embedded transactional
//! store (redb): the last finalized block it processed (number and hash), the tasks it
//! follows, and the results it produced but has not yet been paid for (their sealed result
//! keys are needed again at reveal). Everything else is read from the chain again, which is
//! why a restart never submits a duty twice: every duty first checks the chain.

use std::{collections::BTreeSet, path::Path, sync::Arc};

use anyhow::{Context as _, Result};
use codec::{Decode, Encode};
use redb::{Database, ReadableTable, TableDefinition};
use vouch_primitives::{tpm::nonce::Measurements, TaskId};

const CURSOR: TableDefinition<&str, &[u8]> = TableDefinition::new("cursor");
const FOLLOWED: TableDefinition<u64, ()> = TableDefinition::new("followed");
const RESULTS: TableDefinition<u64, &[u8]> = TableDefinition::new("results");

/// The last block the worker processed completely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Cursor {
	/// Its number.
	pub number: u64,
	/// Its hash: the next block's parent must be this.
	pub hash: [u8; 32],
}

/// A result the executor produced for one round, kept from before its submission until the
/// task ends: what it submitted, and the keys it reveals once the run is confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProducedResult {
	/// The round it ran in.
	pub round: u32,
	/// The encrypted result's CID.
	pub cid: String,
	/// The result's data key sealed to each recipient, in the task's order.
	pub sealed_keys: Vec<Vec<u8>>,
	/// Whether the job failed by its own fault.
	pub job_failed: bool,
	/// The `After` measurements.
	pub after: Measurements,
}

/// The worker's state file.
#[derive(Clone)]
pub struct State {
	db: Arc<Database>,
}

impl State {
	/// Opens (or creates) the state in `path`.
	pub fn open(path: &Path) -> Result<Self> {
		let db = Database::create(path)
			.with_context(|| format!("opening the worker state {}", path.display()))?;
		let tx = db.begin_write()?;
		tx.open_table(CURSOR)?;
		tx.open_table(FOLLOWED)?;
		tx.open_table(RESULTS)?;
		tx.commit()?;
		Ok(Self { db: Arc::new(db) })
	}

	/// The last processed block, if any.
	pub fn cursor(&self) -> Result<Option<Cursor>> {
		let tx = self.db.begin_read()?;
		let table = tx.open_table(CURSOR)?;
		let value = table.get("finalized")?;
		Ok(match value {
			Some(bytes) => Some(Cursor::decode(&mut bytes.value()).context("a corrupt cursor")?),
			None => None,
		})
	}

	/// Records `cursor` and the tasks discovered up to it, in one transaction: a crash leaves
	/// either both or neither.
	pub fn advance(&self, cursor: Cursor, discovered: &BTreeSet<TaskId>) -> Result<()> {
		let tx = self.db.begin_write()?;
		{
			let mut followed = tx.open_table(FOLLOWED)?;
			for task in discovered {
				followed.insert(*task, ())?;
			}
			tx.open_table(CURSOR)?.insert("finalized", &cursor.encode()[..])?;
		}
		tx.commit()?;
		Ok(())
	}

	/// The tasks the worker follows.
	pub fn followed(&self) -> Result<BTreeSet<TaskId>> {
		let tx = self.db.begin_read()?;
		let table = tx.open_table(FOLLOWED)?;
		let mut tasks = BTreeSet::new();
		for entry in table.iter()? {
			tasks.insert(entry?.0.value());
		}
		Ok(tasks)
	}

	/// Stops following `task` (it ended) and forgets its result.
	pub fn forget(&self, task: TaskId) -> Result<()> {
		let tx = self.db.begin_write()?;
		tx.open_table(FOLLOWED)?.remove(task)?;
		tx.open_table(RESULTS)?.remove(task)?;
		tx.commit()?;
		Ok(())
	}

	/// Keeps the result produced for `task`, before it is submitted.
	pub fn keep_result(&self, task: TaskId, result: &ProducedResult) -> Result<()> {
		let tx = self.db.begin_write()?;
		tx.open_table(RESULTS)?.insert(task, &result.encode()[..])?;
		tx.commit()?;
		Ok(())
	}

	/// The result produced for `task`, if any.
	pub fn result(&self, task: TaskId) -> Result<Option<ProducedResult>> {
		let tx = self.db.begin_read()?;
		let table = tx.open_table(RESULTS)?;
		let value = table.get(task)?;
		Ok(match value {
			Some(bytes) => Some(
				ProducedResult::decode(&mut bytes.value()).context("a corrupt result record")?,
			),
			None => None,
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_cursor_the_followed_tasks_and_the_results_survive_a_reopen() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("state.redb");
		{
			let state = State::open(&path).unwrap();
			assert_eq!(state.cursor().unwrap(), None);
			state.advance(Cursor { number: 7, hash: [7; 32] }, &BTreeSet::from([3, 5])).unwrap();
			let result = ProducedResult {
				round: 1,
				cid: "bafkreiexample".into(),
				sealed_keys: vec![vec![1; 80]],
				job_failed: false,
				after: Measurements {
					image_id: [1; 32],
					code_input_hash: [2; 32],
					sandbox_policy_hash: [3; 32],
					result_hash: Some([4; 32]),
					keys_commitment: Some([5; 32]),
					exit_status: Some(0),
				},
			};
			state.keep_result(5, &result).unwrap();
		}
		let state = State::open(&path).unwrap();
		assert_eq!(state.cursor().unwrap(), Some(Cursor { number: 7, hash: [7; 32] }));
		assert_eq!(state.followed().unwrap(), BTreeSet::from([3, 5]));
		assert_eq!(state.result(5).unwrap().unwrap().cid, "bafkreiexample");
		state.forget(5).unwrap();
		assert_eq!(state.followed().unwrap(), BTreeSet::from([3]));
		assert_eq!(state.result(5).unwrap(), None);
	}
}
