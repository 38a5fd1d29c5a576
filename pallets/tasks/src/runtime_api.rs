//! The tasks pallet's runtime API: what clients read in one call instead of decoding storage.

use vouch_primitives::{sortition::SortitionRecord, TaskId};

polkadot_sdk::sp_api::decl_runtime_apis! {
	/// Reads of the tasks pallet for clients: the executor, the CLI and the tests.
	pub trait TasksApi<AccountId>
	where
		AccountId: codec::Codec,
	{
		/// Everything needed to re-check `task`'s committee (its last round) with
		/// `vouch_primitives::sortition::recheck`; `None` for an unknown task.
		fn sortition(task: TaskId) -> Option<SortitionRecord<AccountId>>;
	}
}
