//! The task's state machine: every move from one status to the next, used both by the calls
//! (`dispatchable_impls`) that end a phase early and by the hook (`tick_impls`) when a deadline
//! falls due: the deadline queue's entries, round starts, the election, entering and concluding
//! the monitors' check of a phase, closing the key release, retrying a failed round or faulting
//! the task, settling it, and the elected committee's seats. It calls only what lies below it:
//! the block hash of `attestation`, the payment's exits in `escrow`, the records in `types`.
use crate::*;
use pallet_vouch_credit::CreditLedger;
use pallet_vouch_registry::WorkerRegistry;
use polkadot_sdk::{
	frame_support::traits::Get,
	frame_system::{self, pallet_prelude::*},
	sp_runtime::traits::Saturating,
};
use vouch_primitives::{sortition, TaskId};

impl<T: Config> Pallet<T> {
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

	/// Round 0 of a posted `task` starts: its seed is from this block's parent, the block the
	/// task was posted in (or a later one, if deadlines spilled over).
	pub(crate) fn start_first_round(task: TaskId, info: &mut TaskOf<T>) {
		let until = Self::schedule(task, info.requirements.deadlines.sortition);
		Self::restart(task, info, 0, until);
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

	/// Starts `round` of `task`, its claim window closing at `until`: a new seed, the eligible
	/// workers counted anew, and no seats.
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

	/// Whether every key owner of `task` other than its requester has backed its keys.
	pub(crate) fn keys_backed(task: TaskId, info: &TaskOf<T>) -> bool {
		(0..info.key_slots())
			.filter_map(|s| info.key_owner(s))
			.all(|owner| owner == info.requester || KeyBonds::<T>::contains_key(task, &owner))
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
				// The chain's window, not the requester's (see `RevealBlocks`).
				let until = Self::schedule(task, T::RevealBlocks::get());
				info.status = TaskStatus::Revealing { round, executor, until };
			},
		}
	}

	/// Concludes `phase` from the verdicts cast (DESIGN §7). A monitor without a verdict
	/// loses credit, and its silence counts for nothing: neither against the executor nor
	/// for it. Fewer verdicts than [`sortition::min_turnout`] of the monitor seats is
	/// inconclusive: the round is drawn again and nobody who voted is blamed. A phase is
	/// rejected only by at least [`MIN_REJECTIONS`] rejections outnumbering the
	/// confirmations, and a tie of that many is inconclusive. Fewer rejections cannot
	/// reject: a lone dissent beside a confirmation confirms, blaming nobody, so one liar
	/// cannot void an honest run by tying the vote (a lone honest monitor proves a lie
	/// instead, `report_lie`); a lone dissent with no confirmation at all is inconclusive,
	/// since no phase is confirmed without one.
	/// Otherwise the majority decides and the monitors on the losing side lose credit;
	/// confirmed moves the task on, rejected costs the executor credit and draws a new round.
	/// Neither slashes: a slash needs proof (a proven lie or a missed deadline), and a vote
	/// is none.
	pub(crate) fn conclude_phase(
		task: TaskId,
		info: &mut TaskOf<T>,
		round: u32,
		executor: T::AccountId,
		phase: Phase,
	) {
		let monitors = info.monitors(&executor);
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
		let rejected = rejections >= MIN_REJECTIONS && rejections > confirmations;
		let confirmed =
			confirmations > 0 && (confirmations > rejections || rejections < MIN_REJECTIONS);
		if confirmations + rejections < turnout || !(rejected || confirmed) {
			Self::deposit_event(Event::PhaseInconclusive {
				task,
				phase,
				confirmations,
				rejections,
			});
			Self::retry_or_fault(task, info, round);
			return;
		}
		// The losing side of a majority; a lone dissent that decides nothing is no loss.
		let outvoted = match (confirmed, confirmations > rejections) {
			(true, true) => &no[..],
			(true, false) => &[][..],
			(false, _) => &yes[..],
		};
		for m in outvoted {
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

	/// The key release deadline of `task` passed with keys missing. If only the requester's
	/// are, the committee is paid from the escrow at the requester's cost ([`Pallet::settle`],
	/// failed). If another owner withheld one, that owner pays: its bond goes to the executor
	/// and the monitors who confirmed the sandbox, it counts on its record, and the requester
	/// is refunded in full.
	pub(crate) fn close_key_release(task: TaskId, info: &mut TaskOf<T>, executor: &T::AccountId) {
		let mut withholders = alloc::vec::Vec::new();
		for slot in 0..info.key_slots() {
			if ReleasedKeys::<T>::contains_key(task, slot) {
				continue;
			}
			if let Some(owner) = info.key_owner(slot) {
				if owner != info.requester && !withholders.contains(&owner) {
					withholders.push(owner);
				}
			}
		}
		if withholders.is_empty() {
			// The committee did its part; the requester's side did not.
			Self::deposit_event(Event::KeysWithheld { task });
			Self::settle(task, info, executor, Phase::Before, true);
			return;
		}
		let mut committee = alloc::vec![executor.clone()];
		committee.extend(
			info.monitors(executor)
				.into_iter()
				.filter(|m| MonitorVerdicts::<T>::get(task, m).before == Some(true)),
		);
		for owner in withholders {
			let forfeited = Self::forfeit_key_bond(task, &owner, &committee);
			KeysWithheldBy::<T>::mutate(&owner, |n| *n = n.saturating_add(1));
			Self::deposit_event(Event::KeysWithheldByOwner { task, owner, forfeited });
		}
		Self::release_seats(info);
		Self::end_failed_with_refund(task, info);
	}

	/// The task ends paid: the committee's seats are released, then the escrow is split
	/// ([`Pallet::split_escrow`]) and the task ends `Settled`, or `Failed` if the job failed by
	/// its own fault or its keys were withheld. Monitors are paid if they confirmed every phase
	/// up to `last_phase`.
	pub(crate) fn settle(
		task: TaskId,
		info: &mut TaskOf<T>,
		executor: &T::AccountId,
		last_phase: Phase,
		failed: bool,
	) {
		Self::release_seats(info);
		Self::split_escrow(task, info, executor, last_phase, failed)
	}
}
