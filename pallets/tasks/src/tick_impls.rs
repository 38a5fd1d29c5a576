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
	/// Moves on every task whose deadline falls in block `now`; returns the weight used.
	pub(crate) fn do_tick(now: BlockNumberFor<T>) -> Weight {
		let due = Deadlines::<T>::take(now);
		let handled = due.len() as u32;
		for task in due {
			Self::on_deadline(task, now);
		}
		// Measured with every task concluding a phase, electing, or redrawing a committee of
		// the largest size: the worst cases.
		T::WeightInfo::on_initialize_concluding(handled)
			.max(T::WeightInfo::on_initialize_electing(handled))
			.max(T::WeightInfo::on_initialize_redrawing(handled))
	}

	/// A deadline of `task` fell due at `now`.
	pub(crate) fn on_deadline(task: TaskId, now: BlockNumberFor<T>) {
		let Some(mut info) = Tasks::<T>::get(task) else { return };
		match info.status.clone() {
			TaskStatus::Posted { until } if until == now => {
				Self::start_first_round(task, &mut info)
			},
			TaskStatus::Sortition { round, until } if until == now => {
				Self::close_sortition(task, &mut info, round)
			},
			TaskStatus::Elected { round, executor, until, .. } if until == now => {
				Self::executor_missed_duty(task, &mut info, round, executor, Duty::Attestation)
			},
			TaskStatus::Attesting { round, executor, phase, until } if until == now => {
				Self::conclude_phase(task, &mut info, round, executor, phase)
			},
			TaskStatus::KeyRelease { executor, until, .. } if until == now => {
				// The committee did its part; the requester's side did not.
				Self::deposit_event(Event::KeysWithheld { task });
				Self::pay_out(task, &mut info, &executor, Phase::Before, true);
			},
			TaskStatus::Running { round, executor, until, .. } if until == now => {
				Self::executor_missed_duty(task, &mut info, round, executor, Duty::Result)
			},
			TaskStatus::Revealing { round, executor, until } if until == now => {
				Self::executor_missed_duty(task, &mut info, round, executor, Duty::Reveal)
			},
			// The task moved on (or ended) before this deadline: nothing to do.
			_ => return,
		}
		Tasks::<T>::insert(task, info);
	}

	/// Queues `task`'s next deadline at the first block, `blocks` from now or up to
	/// [`DEADLINE_SLACK`] - 1 blocks later, whose queue has room; returns that block. A phase
	/// thus lasts at least what was asked, and a block full of deadlines spills over into the
	/// next ones instead of refusing work.
	pub(crate) fn schedule(task: TaskId, blocks: u32) -> Result<BlockNumberFor<T>, DispatchError> {
		let first = frame_system::Pallet::<T>::block_number().saturating_add(blocks.into());
		for extra in 0..DEADLINE_SLACK {
			let until = first.saturating_add(extra.into());
			if Deadlines::<T>::try_mutate(until, |due| due.try_push(task)).is_ok() {
				return Ok(until);
			}
		}
		Err(Error::<T>::DeadlineBlockFull.into())
	}

	/// Takes `task` off the queue of its current status's deadline: it moved on early, and
	/// a stale entry would take room from tasks that still need it.
	pub(crate) fn unschedule(task: TaskId, status: &StatusOf<T>) {
		if let Some(until) = status.deadline() {
			Deadlines::<T>::mutate_exists(until, |queue| {
				if let Some(q) = queue {
					q.retain(|t| *t != task);
					if q.is_empty() {
						*queue = None;
					}
				}
			});
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
		match Self::schedule(task, info.requirements.deadlines.sortition) {
			Ok(until) => Self::restart(task, info, 0, until),
			// Every block in reach is full of deadlines: end the task, refunded.
			Err(_) => Self::end_with_refund(task, info, TaskStatus::Expired),
		}
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
		let Some(index) = sortition::elect(&info.committee) else { return };
		let Ok(until) = Self::schedule(task, info.requirements.deadlines.attestation) else {
			// Every block in reach is full of deadlines: end the task, refunded.
			Self::end_with_refund(task, info, TaskStatus::Expired);
			return;
		};
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
		let Ok(until) = Self::schedule(task, info.requirements.deadlines.sortition) else {
			// Every block in reach is full of deadlines: end the task, refunded.
			return false;
		};
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
	) -> DispatchResult {
		if info.committee.len() <= 1 {
			Self::deposit_event(Event::PhaseConfirmed { task, phase, confirmations: 0 });
			return Self::after_confirmed(task, info, round, executor, phase);
		}
		let until = Self::schedule(task, info.requirements.deadlines.verdicts)?;
		info.status = TaskStatus::Attesting { round, executor, phase, until };
		Ok(())
	}

	/// What follows a confirmed attestation: key release after `Before`; after `After`, the
	/// executor's reveal of the result keys, which settles the task.
	pub(crate) fn after_confirmed(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		executor: T::AccountId,
		phase: Phase,
	) -> DispatchResult {
		match phase {
			Phase::Before => {
				let until = Self::schedule(task, info.requirements.deadlines.key_release)?;
				info.status = TaskStatus::KeyRelease { round, executor, until };
			},
			Phase::After => {
				// As long as the verdicts took at most: the executor has the keys at hand.
				let until = Self::schedule(task, info.requirements.deadlines.verdicts)?;
				info.status = TaskStatus::Revealing { round, executor, until };
			},
		}
		Ok(())
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
			if Self::after_confirmed(task, info, round, executor.clone(), phase).is_err() {
				// No room to schedule the next deadline: the executor cannot be blamed, the
				// requester is refunded in full.
				Self::release_seats(info);
				Self::end_with_refund(task, info, TaskStatus::Faulted);
			}
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
