//! The pallet's invariants, checked by `try-runtime` (the `try_state` hook) and by the tests:
//! the escrow matches the open tasks, and the deadline queues match the tasks' states.

use crate::*;
use polkadot_sdk::{
	frame_support::{ensure, traits::fungible},
	frame_system,
	sp_runtime::traits::Saturating,
};
use vouch_primitives::sortition;

impl<T: Config> Pallet<T> {
	/// Invariants: every requester's escrow hold equals the payments of its open tasks;
	/// every open task has a deadline in the future, queued in [`Deadlines`]; every seat
	/// of a forming committee is unique and won its draw; [`OpenSeats`] counts exactly the
	/// seats of elected committees of open tasks; every stored task holds its storage deposit,
	/// and exactly the ended ones have their end recorded.
	#[cfg(any(feature = "try-runtime", test))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use fungible::InspectHold;
		let now = frame_system::Pallet::<T>::block_number();
		let mut open = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		for (id, task) in Tasks::<T>::iter() {
			let sum = open.entry(task.requester.clone()).or_default();
			if task.status.is_final() {
				continue;
			}
			*sum = sum.saturating_add(task.payment);
			ensure!(task.status.round() == Some(task.round), "a task's round disagrees");
			if matches!(task.status, TaskStatus::Sortition { .. }) {
				for (i, seat) in task.committee.iter().enumerate() {
					ensure!(
						sortition::wins(seat.draw, task.eligible, task.requirements.committee_size),
						"a seat holds a losing draw"
					);
					ensure!(
						!task.committee[..i].iter().any(|s| s.who == seat.who),
						"a worker holds two seats"
					);
				}
			}
			let due = task.status.deadline().ok_or("an open task has no deadline")?;
			// A deadline that passed is waiting in the backlog, never forgotten.
			ensure!(
				due > now || Backlog::<T>::get().is_some_and(|first| first <= due),
				"an open task's deadline has passed and is not in the backlog"
			);
			ensure!(Deadlines::<T>::contains_key(due, id), "an open task's deadline is not queued");
		}
		for (block, id, ()) in Deadlines::<T>::iter() {
			let task = Tasks::<T>::get(id).ok_or("a queued deadline names no task")?;
			ensure!(
				task.status.deadline() == Some(block),
				"a queued deadline is stale: its task moved on"
			);
		}
		// Open seats are exactly the members of elected committees of open tasks.
		let mut seats = alloc::collections::BTreeMap::<T::AccountId, u32>::new();
		for (_, task) in Tasks::<T>::iter() {
			if task.status.executor().is_some() {
				for seat in &task.committee {
					*seats.entry(seat.who.clone()).or_default() += 1;
				}
			}
		}
		let counted: alloc::collections::BTreeMap<T::AccountId, u32> =
			OpenSeats::<T>::iter().collect();
		ensure!(counted == seats, "open seats differ from the elected committees of open tasks");
		// Every stored task holds its storage deposit; exactly the ended ones are marked so.
		let mut stored = alloc::collections::BTreeMap::<T::AccountId, u32>::new();
		for (id, task) in Tasks::<T>::iter() {
			*stored.entry(task.requester.clone()).or_default() += 1;
			ensure!(
				Ended::<T>::contains_key(id) == task.status.is_final(),
				"a task's end is not recorded as its status says"
			);
		}
		ensure!(
			Ended::<T>::iter_keys().all(|id| Tasks::<T>::contains_key(id)),
			"an end is recorded for a task not stored"
		);
		for (who, count) in &stored {
			let deposit = <T::TaskDeposit as polkadot_sdk::frame_support::traits::Get<_>>::get()
				.saturating_mul((*count).into());
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::TaskStorage.into(), who) == deposit,
				"a requester's storage deposit differs from its stored tasks'"
			);
		}
		// Key owners' bonds are held, for open tasks only.
		let mut bonds = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		for (task, owner, bond) in KeyBonds::<T>::iter() {
			let open = Tasks::<T>::get(task).is_some_and(|t| !t.status.is_final());
			ensure!(open, "a key bond is held for a task that ended");
			let sum = bonds.entry(owner).or_default();
			*sum = sum.saturating_add(bond);
		}
		for (who, sum) in &bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::KeyBond.into(), who) == *sum,
				"a key owner's held bond differs from its recorded bonds"
			);
		}
		for (who, sum) in &open {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::TaskEscrow.into(), who) == *sum,
				"a requester's escrow differs from its open tasks' payments"
			);
		}
		Ok(())
	}
}
