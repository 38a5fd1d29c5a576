//! What the hook does each block: it walks the deadline queue ([`Pallet::do_tick`]) and, for
//! each task whose deadline falls due, moves it on as its status says ([`Pallet::on_deadline`]):
//! the round starts, the claim window closes, the phase is concluded from the verdicts cast,
//! the key release closes, or the executor that missed its duty is penalised. The moves
//! themselves are `lifecycle`'s, shared with the calls that end a phase early.

use crate::*;
use pallet_vouch_credit::CreditLedger;
use pallet_vouch_registry::WorkerRegistry;
use polkadot_sdk::{
	frame_support::pallet_prelude::*, frame_system::pallet_prelude::*, sp_runtime::Weight,
};
use vouch_primitives::{deadline_queue, TaskId};

/// An executor's duty with a deadline.
#[derive(Clone, Copy)]
pub(crate) enum Duty {
	/// The `Before` attestation.
	Attestation,
	/// The result and its `After` attestation.
	Result,
	/// The reveal of the result keys.
	Reveal,
}

impl<T: Config> Pallet<T> {
	/// Moves on the tasks whose deadlines have fallen due, at most `MaxDeadlinesPerBlock` a
	/// block, oldest first; returns the weight used. Deadlines a block could not handle stay
	/// queued and the earliest of their blocks is kept in [`Backlog`], so a block full of
	/// deadlines delays their handling by a few blocks but never refuses a transition, and the
	/// hook's work stays bounded: at most that many tasks and that many queues read a block.
	pub(crate) fn do_tick(now: BlockNumberFor<T>) -> Weight {
		let drained = deadline_queue::drain(
			now,
			Backlog::<T>::get(),
			T::MaxDeadlinesPerBlock::get(),
			Deadlines::<T>::iter_key_prefix,
			|block, task: TaskId| {
				Deadlines::<T>::remove(block, task);
				Self::on_deadline(task, block);
			},
		);
		Backlog::<T>::set(drained.backlog);
		// Measured with every task concluding a phase, electing, or redrawing a committee of
		// the largest size: the worst cases; plus the queues read and the backlog written.
		T::WeightInfo::on_initialize_concluding(drained.handled)
			.max(T::WeightInfo::on_initialize_electing(drained.handled))
			.max(T::WeightInfo::on_initialize_redrawing(drained.handled))
			.saturating_add(T::DbWeight::get().reads_writes(u64::from(drained.steps) + 2, 1))
	}

	/// The deadline `due` of `task` is being handled (in its own block, or a few later when
	/// a block had more deadlines than it handles).
	pub(crate) fn on_deadline(task: TaskId, due: BlockNumberFor<T>) {
		let Some(mut info) = Tasks::<T>::get(task) else { return };
		match info.status.clone() {
			TaskStatus::Posted { until } if until == due => {
				Self::start_first_round(task, &mut info)
			},
			TaskStatus::Sortition { round, until } if until == due => {
				Self::close_sortition(task, &mut info, round)
			},
			TaskStatus::Elected { round, executor, until, .. } if until == due => {
				Self::executor_missed_duty(task, &mut info, round, executor, Duty::Attestation)
			},
			TaskStatus::Attesting { round, executor, phase, until } if until == due => {
				Self::conclude_phase(task, &mut info, round, executor, phase)
			},
			TaskStatus::KeyRelease { executor, until, .. } if until == due => {
				Self::close_key_release(task, &mut info, &executor)
			},
			TaskStatus::Running { round, executor, until, .. } if until == due => {
				Self::executor_missed_duty(task, &mut info, round, executor, Duty::Result)
			},
			TaskStatus::Revealing { round, executor, until } if until == due => {
				Self::executor_missed_duty(task, &mut info, round, executor, Duty::Reveal)
			},
			// The task moved on (or ended) before this deadline: nothing to do.
			_ => return,
		}
		Tasks::<T>::insert(task, info);
	}

	/// The executor of `task`'s `round` let the deadline of its `duty` pass: the `Before`
	/// attestation (elected), the result with its `After` one (running), or the reveal of the
	/// result keys (revealing). It loses credit, and a new committee is drawn or the task ends
	/// refunded. After key release it also loses `MissedDutySlash` of its deposit (a missed
	/// deadline is proof enough: the chain saw it, and the owners' keys were at stake); before
	/// it, credit only, since a requester can make the `Before` quote impossible (an image or
	/// input that cannot be fetched) and must not be able to slash an honest executor so.
	pub(crate) fn executor_missed_duty(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		executor: T::AccountId,
		duty: Duty,
	) {
		T::Credit::penalize_missed_duty(&executor);
		let slash = || T::Workers::slash(&executor, T::MissedDutySlash::get(), None).0;
		let event = match duty {
			Duty::Attestation => Event::ExecutorMissedAttestation { task, executor },
			Duty::Result => Event::ExecutorMissedResult { task, slashed: slash(), executor },
			Duty::Reveal => Event::ExecutorMissedReveal { task, slashed: slash(), executor },
		};
		Self::deposit_event(event);
		Self::retry_or_fault(task, info, round);
	}
}
