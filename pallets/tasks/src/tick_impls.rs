//! What the hooks do each block: the deadline queues, and what happens when a deadline falls
//! due: the claim window closes (election, or a new round), a phase is concluded from the
//! monitors' verdicts, or an executor that missed its duty loses credit. A call that ends a
//! phase early (the last verdict, the last key) moves the task on through the same functions.

use crate::*;
use pallet_vouch_credit::CreditLedger;
use pallet_vouch_registry::WorkerRegistry;
use polkadot_sdk::{
	frame_support::pallet_prelude::*,
	frame_system::{self, pallet_prelude::*},
	sp_runtime::{traits::Saturating, Weight},
};
use vouch_primitives::{sortition, TaskId};

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
		let max = T::MaxDeadlinesPerBlock::get();
		let (mut handled, mut steps) = (0u32, 0u32);
		let mut block = Backlog::<T>::get().unwrap_or(now).min(now);
		let left_over = loop {
			let room = max.saturating_sub(handled);
			// One more than there is room for tells whether the block's queue is drained.
			let due: alloc::vec::Vec<TaskId> =
				Deadlines::<T>::iter_key_prefix(block).take(room as usize + 1).collect();
			let more = due.len() as u32 > room;
			for task in due.into_iter().take(room as usize) {
				Deadlines::<T>::remove(block, task);
				Self::on_deadline(task, block);
				handled += 1;
			}
			if more {
				break Some(block);
			}
			if block >= now {
				break None;
			}
			block = block.saturating_add(1u32.into());
			steps += 1;
			if steps > max {
				break Some(block);
			}
		};
		Backlog::<T>::set(left_over);
		// Measured with every task concluding a phase, electing, or redrawing a committee of
		// the largest size: the worst cases; plus the queues read and the backlog written.
		T::WeightInfo::on_initialize_concluding(handled)
			.max(T::WeightInfo::on_initialize_electing(handled))
			.max(T::WeightInfo::on_initialize_redrawing(handled))
			.saturating_add(T::DbWeight::get().reads_writes(u64::from(steps) + 2, 1))
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
				Self::keys_withheld(task, &mut info, &executor)
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

	/// Queues `task`'s next deadline, `blocks` from now; returns that block. It always has
	/// room: a block's queue is as long as the deadlines falling in it, and those the hook
	/// cannot handle in their block are handled in the next ones ([`Pallet::do_tick`]).
	pub(crate) fn schedule(task: TaskId, blocks: u32) -> BlockNumberFor<T> {
		let until = frame_system::Pallet::<T>::block_number().saturating_add(blocks.into());
		Deadlines::<T>::insert(until, task, ());
		until
	}

	/// Takes `task` off the queue of its current status's deadline: it moved on early.
	pub(crate) fn unschedule(task: TaskId, status: &StatusOf<T>) {
		if let Some(until) = status.deadline() {
			Deadlines::<T>::remove(until, task);
		}
	}

	/// The public seed of `task`'s `round`, from this block's parent hash.
	pub(crate) fn seed(task: TaskId, round: u32) -> [u8; 32] {
		let parent = frame_system::Pallet::<T>::parent_hash();
		sortition::seed(task, Self::hash_bytes(parent), round)
	}

	/// A block hash as the 32 bytes that seeds and quote nonces take (the runtime's hashes
	/// are 32 bytes; a shorter one would be zero-padded, a longer one cut).
	pub(crate) fn hash_bytes(hash: T::Hash) -> [u8; 32] {
		let mut bytes = [0u8; 32];
		let n = hash.as_ref().len().min(32);
		bytes[..n].copy_from_slice(&hash.as_ref()[..n]);
		bytes
	}

	/// Round 0 of a posted `task` starts: its seed is from this block's parent, the block the
	/// task was posted in (or a later one, if deadlines spilled over).
	pub(crate) fn start_first_round(task: TaskId, info: &mut TaskOf<T>) {
		let until = Self::schedule(task, info.requirements.deadlines.sortition);
		Self::restart(task, info, 0, until);
	}

	/// The claim window of `task`'s `round` closed: elects the committee if enough seats
	/// were claimed, else draws a new round or, after the last, ends the task expired.
	pub(crate) fn close_sortition(task: TaskId, info: &mut TaskOf<T>, round: u32) {
		// Credit and status may have changed since the claims (a member slashed or gone
		// elsewhere): the election reads them now, drops the members no longer active or
		// below the task's minimum, and the seats record the credit it read, so that
		// `sortition::recheck` of the record agrees with the chain.
		let min_credit = info.requirements.min_credit;
		let mut dropped = alloc::vec::Vec::new();
		for seat in info.committee.iter_mut() {
			seat.credit = T::Credit::credit_of(&seat.who);
		}
		info.committee.retain(|seat| {
			let keep =
				T::Workers::is_active(&seat.who) && sortition::is_eligible(seat.credit, min_credit);
			if !keep {
				dropped.push(seat.who.clone());
			}
			keep
		});
		for who in dropped {
			Self::deposit_event(Event::SeatDropped { task, who, round });
		}
		let needed = sortition::min_seats(info.requirements.committee_size);
		let seats = info.committee.len() as u32;
		if seats < needed {
			Self::deposit_event(Event::RoundFailed { task, round, seats, needed });
			if !Self::next_round(task, info, round) {
				Self::end_with_refund(task, info, TaskStatus::Expired);
			}
			return;
		}
		// Nobody works for a task whose keys are not all backed: refunded, no blame.
		if !Self::keys_backed(task, info) {
			Self::deposit_event(Event::KeysNotBacked { task });
			Self::end_with_refund(task, info, TaskStatus::Expired);
			return;
		}
		let Some(index) = sortition::elect(&info.committee) else { return };
		let until = Self::schedule(task, info.requirements.deadlines.attestation);
		let executor = info.committee[index].clone();
		let monitors = info
			.committee
			.iter()
			.filter(|s| s.who != executor.who)
			.map(|s| (s.who.clone(), s.draw));
		Self::deposit_event(Event::CommitteeElected {
			task,
			round,
			executor: executor.who.clone(),
			executor_draw: executor.draw,
			monitors: monitors.collect(),
		});
		let since = frame_system::Pallet::<T>::block_number();
		info.status = TaskStatus::Elected { round, executor: executor.who, since, until };
		Self::hold_seats(info);
	}

	/// The elected committee of `info` takes on its duties: each member's bond stays put
	/// until [`Pallet::release_seats`].
	pub(crate) fn hold_seats(info: &TaskOf<T>) {
		for seat in &info.committee {
			OpenSeats::<T>::mutate(&seat.who, |n| *n = n.saturating_add(1));
		}
	}

	/// The elected committee of `info` is done with the task (its round ended, failed or
	/// not): called once per election, where the task leaves its elected states.
	pub(crate) fn release_seats(info: &TaskOf<T>) {
		for seat in &info.committee {
			OpenSeats::<T>::mutate_exists(&seat.who, |n| {
				let left = n.unwrap_or(0).saturating_sub(1);
				*n = (left > 0).then_some(left);
			});
		}
	}

	/// Starts the next round if one is left; returns false when the rounds are used up.
	pub(crate) fn next_round(task: TaskId, info: &mut TaskOf<T>, round: u32) -> bool {
		let next = round + 1;
		if next >= info.requirements.max_rounds {
			return false;
		}
		let until = Self::schedule(task, info.requirements.deadlines.sortition);
		Self::restart(task, info, next, until);
		true
	}

	pub(crate) fn restart(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		until: BlockNumberFor<T>,
	) {
		info.round = round;
		info.seed = Self::seed(task, round);
		info.eligible = T::Workers::eligible_count(info.requirements.min_credit);
		info.committee = Default::default();
		info.status = TaskStatus::Sortition { round, until };
		Self::deposit_event(Event::RoundStarted { task, round, seed: info.seed });
	}

	/// The monitors of the current committee: everyone but the executor.
	pub(crate) fn monitors(
		info: &TaskOf<T>,
		executor: &T::AccountId,
	) -> alloc::vec::Vec<T::AccountId> {
		info.committee.iter().filter(|s| s.who != *executor).map(|s| s.who.clone()).collect()
	}

	/// Starts the monitors' check of `phase`; with no monitors the phase is confirmed at once.
	pub(crate) fn enter_phase(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		executor: T::AccountId,
		phase: Phase,
	) {
		if info.committee.len() <= 1 {
			Self::deposit_event(Event::PhaseConfirmed { task, phase, confirmations: 0 });
			return Self::after_confirmed(task, info, round, executor, phase);
		}
		let until = Self::schedule(task, info.requirements.deadlines.verdicts);
		info.status = TaskStatus::Attesting { round, executor, phase, until };
	}

	/// What follows a confirmed attestation: key release after `Before`; after `After`, the
	/// executor's reveal of the result keys, which settles the task.
	pub(crate) fn after_confirmed(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		executor: T::AccountId,
		phase: Phase,
	) {
		match phase {
			Phase::Before => {
				let until = Self::schedule(task, info.requirements.deadlines.key_release);
				info.status = TaskStatus::KeyRelease { round, executor, until };
			},
			Phase::After => {
				// As long as the verdicts took at most: the executor has the keys at hand.
				let until = Self::schedule(task, info.requirements.deadlines.verdicts);
				info.status = TaskStatus::Revealing { round, executor, until };
			},
		}
	}

	/// Concludes `phase` from the verdicts cast (DESIGN §7). A monitor without a verdict
	/// loses credit, and its silence counts for nothing: neither against the executor nor
	/// for it. Fewer verdicts than [`sortition::min_turnout`] of the monitor seats, or a tie,
	/// is inconclusive: the round is drawn again and nobody who voted is blamed. Otherwise
	/// the majority decides and the monitors on the losing side lose credit; confirmed moves
	/// the task on, rejected costs the executor credit and draws a new round. Neither slashes:
	/// a slash needs proof (a proven lie or a missed deadline), and a vote is none.
	pub(crate) fn conclude_phase(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		executor: T::AccountId,
		phase: Phase,
	) {
		let monitors = Self::monitors(info, &executor);
		let (mut yes, mut no) = (alloc::vec::Vec::new(), alloc::vec::Vec::new());
		for m in monitors.iter().cloned() {
			match MonitorVerdicts::<T>::get(task, &m).on(phase) {
				Some(true) => yes.push(m),
				Some(false) => no.push(m),
				None => {
					T::Credit::penalize_missed_duty(&m);
					Self::deposit_event(Event::MonitorMissedVerdict { task, monitor: m });
				},
			}
		}
		let (confirmations, rejections) = (yes.len() as u32, no.len() as u32);
		let turnout = sortition::min_turnout(monitors.len() as u32);
		if confirmations + rejections < turnout || confirmations == rejections {
			Self::deposit_event(Event::PhaseInconclusive {
				task,
				phase,
				confirmations,
				rejections,
			});
			Self::retry_or_fault(task, info, round);
			return;
		}
		let confirmed = confirmations > rejections;
		for m in if confirmed { &no } else { &yes } {
			T::Credit::penalize_missed_duty(m);
			Self::deposit_event(Event::MonitorOutvoted { task, monitor: m.clone(), phase });
		}
		if confirmed {
			Self::deposit_event(Event::PhaseConfirmed { task, phase, confirmations });
			Self::after_confirmed(task, info, round, executor, phase);
		} else {
			T::Credit::penalize_missed_duty(&executor);
			Self::deposit_event(Event::PhaseRejected {
				task,
				phase,
				executor,
				confirmations,
				rejections,
			});
			Self::retry_or_fault(task, info, round);
		}
	}

	/// The elected round failed: draws a new committee if rounds are left, else ends the task
	/// refunded in full.
	pub(crate) fn retry_or_fault(task: TaskId, info: &mut TaskOf<T>, round: u32) {
		Self::release_seats(info);
		let _ = MonitorVerdicts::<T>::clear_prefix(task, MAX_COMMITTEE, None);
		let _ = ReleasedKeys::<T>::clear_prefix(task, MAX_INPUTS + 1, None);
		let _ = Attestations::<T>::clear_prefix(task, 2, None);
		Results::<T>::remove(task);
		RevealedKeys::<T>::remove(task);
		if !Self::next_round(task, info, round) {
			Self::end_with_refund(task, info, TaskStatus::Faulted);
		}
	}

	/// The executor of `task`'s `round` let the deadline of its `duty` pass: the `Before`
	/// attestation (elected), the result with its `After` one (running), or the reveal of the
	/// result keys (revealing). It loses credit and `MissedDutySlash` of its deposit (a missed
	/// deadline is proof enough: the chain saw it), and a new committee is drawn or the task
	/// ends refunded.
	pub(crate) fn executor_missed_duty(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		executor: T::AccountId,
		duty: Duty,
	) {
		T::Credit::penalize_missed_duty(&executor);
		let (slashed, _) = T::Workers::slash(&executor, T::MissedDutySlash::get(), None);
		Self::deposit_event(match duty {
			Duty::Attestation => Event::ExecutorMissedAttestation { task, executor, slashed },
			Duty::Result => Event::ExecutorMissedResult { task, executor, slashed },
			Duty::Reveal => Event::ExecutorMissedReveal { task, executor, slashed },
		});
		Self::retry_or_fault(task, info, round);
	}

	/// Punishes `task`'s executor for the lie about its `phase` attestation that `reporter`
	/// proved: its credit is reset and `FaultSlash` of its deposit taken, of which the
	/// reporter is paid `ReporterShare` (the rest burnt) and, if there was a deposit to take,
	/// earns credit. The caller then fails the round if the lie is about the current one.
	pub(crate) fn punish_lie(
		task: TaskId,
		executor: T::AccountId,
		phase: Phase,
		reporter: T::AccountId,
	) {
		T::Credit::reset_for_lie(&executor);
		let (slashed, rewarded) = T::Workers::slash(
			&executor,
			T::FaultSlash::get(),
			Some((&reporter, T::ReporterShare::get())),
		);
		// No stake, no bonus: a sybil with nothing bonded cannot feed its reporter.
		if !slashed.is_zero() {
			T::Credit::reward_reporter(&reporter);
		}
		Self::deposit_event(Event::LieProven {
			task,
			phase,
			executor,
			reporter,
			slashed,
			rewarded,
		});
	}
}
