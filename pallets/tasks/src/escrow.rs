//! The escrow: the payment held on the requester's account from posting, and its exits. Every
//! exit of the payment is an exit of the state machine, so each one is here: the full refund
//! (`Cancelled`, `Expired`, `Faulted`), and the settlement split paid out (`Settled`, `Failed`).

use crate::*;
use pallet_vouch_credit::CreditLedger;
use pallet_vouch_lambdas::LambdaRegistry;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	frame_system,
	sp_runtime::traits::Saturating,
};
use vouch_primitives::TaskId;

impl<T: Config> Pallet<T> {
	/// Releases the task's escrow back to its requester.
	pub(crate) fn refund(info: &TaskOf<T>) -> Result<BalanceOf<T>, DispatchError> {
		T::Currency::release(
			&HoldReason::TaskEscrow.into(),
			&info.requester,
			info.payment,
			Precision::Exact,
		)
	}

	/// Ends the task in `status`, refunding the whole payment.
	pub(crate) fn end_with_refund(task: TaskId, info: &mut TaskOf<T>, status: StatusOf<T>) {
		let refunded = Self::refund(info).unwrap_or_default();
		info.committee = Default::default();
		let event = match status {
			TaskStatus::Expired => Event::TaskExpired { task, refunded },
			TaskStatus::Cancelled => Event::TaskCancelled { task, refunded },
			_ => Event::TaskFaulted { task, refunded },
		};
		info.status = status;
		Self::mark_ended(task);
		Self::deposit_event(event);
	}

	/// `task` just ended: what only an open task needs (verdicts, keys released to the
	/// executor, key owners' bonds, which go back) is cleared at once, and the rest may be
	/// reaped after `Retention`.
	pub(crate) fn mark_ended(task: TaskId) {
		let _ = MonitorVerdicts::<T>::clear_prefix(task, MAX_COMMITTEE, None);
		let _ = ReleasedKeys::<T>::clear_prefix(task, MAX_INPUTS + 1, None);
		for (owner, bond) in KeyBonds::<T>::drain_prefix(task) {
			let _ = T::Currency::release(
				&HoldReason::KeyBond.into(),
				&owner,
				bond,
				Precision::BestEffort,
			);
		}
		Ended::<T>::insert(task, frame_system::Pallet::<T>::block_number());
	}

	/// The key release deadline of `task` passed with keys missing. If only the requester's
	/// are, the committee is paid from the escrow at the requester's cost (`pay_out`, failed).
	/// If another owner withheld one, that owner pays: its bond goes to the executor and the
	/// monitors who confirmed the sandbox, it counts on its record, and the requester is
	/// refunded in full.
	pub(crate) fn keys_withheld(task: TaskId, info: &mut TaskOf<T>, executor: &T::AccountId) {
		let mut withholders = alloc::vec::Vec::new();
		for slot in 0..Self::key_slots(info) {
			if ReleasedKeys::<T>::contains_key(task, slot) {
				continue;
			}
			if let Some(owner) = Self::key_owner(info, slot) {
				if owner != info.requester && !withholders.contains(&owner) {
					withholders.push(owner);
				}
			}
		}
		if withholders.is_empty() {
			// The committee did its part; the requester's side did not.
			Self::deposit_event(Event::KeysWithheld { task });
			Self::pay_out(task, info, executor, Phase::Before, true);
			return;
		}
		let mut committee = alloc::vec![executor.clone()];
		committee.extend(
			Self::monitors(info, executor)
				.into_iter()
				.filter(|m| MonitorVerdicts::<T>::get(task, m).before == Some(true)),
		);
		let reason = HoldReason::KeyBond.into();
		for owner in withholders {
			let forfeited = KeyBonds::<T>::take(task, &owner).unwrap_or_default();
			let share = forfeited / (committee.len() as u32).into();
			// The executor takes the division's dust, as in the settlement split.
			let dust =
				forfeited.saturating_sub(share.saturating_mul((committee.len() as u32).into()));
			for (i, member) in committee.iter().enumerate() {
				let amount = if i == 0 { share.saturating_add(dust) } else { share };
				let _ = T::Currency::transfer_on_hold(
					&reason,
					&owner,
					member,
					amount,
					Precision::BestEffort,
					Restriction::Free,
					Fortitude::Force,
				);
			}
			KeysWithheldBy::<T>::mutate(&owner, |n| *n = n.saturating_add(1));
			Self::deposit_event(Event::KeysWithheldByOwner { task, owner, forfeited });
		}
		Self::release_seats(info);
		let refund = Self::refund(info).unwrap_or_default();
		info.status = TaskStatus::Failed;
		Self::mark_ended(task);
		let payout = vouch_primitives::settlement::Payout {
			refund,
			burn: Zero::zero(),
			developer: Zero::zero(),
			executor: Zero::zero(),
			per_monitor: Zero::zero(),
			honest_monitors: 0,
		};
		Self::deposit_event(Event::TaskFailed { task, payout });
	}

	/// Holds the storage deposit of a task `requester` posts.
	pub(crate) fn hold_storage_deposit(requester: &T::AccountId) -> DispatchResult {
		T::Currency::hold(&HoldReason::TaskStorage.into(), requester, T::TaskDeposit::get())
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	/// Returns the storage deposit of a reaped task to its requester.
	pub(crate) fn release_storage_deposit(requester: &T::AccountId) {
		let _ = T::Currency::release(
			&HoldReason::TaskStorage.into(),
			requester,
			T::TaskDeposit::get(),
			Precision::BestEffort,
		);
	}

	/// Moves `amount` of the requester's escrow to `to`; returns false (moving nothing) if the
	/// transfer is impossible, e.g. below the existential deposit of an empty account.
	pub(crate) fn pay(info: &TaskOf<T>, to: &T::AccountId, amount: BalanceOf<T>) -> bool {
		amount.is_zero()
			|| T::Currency::transfer_on_hold(
				&HoldReason::TaskEscrow.into(),
				&info.requester,
				to,
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Force,
			)
			.is_ok()
	}

	/// Splits the escrow (DESIGN §7) and ends the task `Settled`, or `Failed` if the job
	/// failed by its own fault or its keys were withheld: then the developer's price goes
	/// back to the requester. Monitors are paid if they confirmed every phase up to
	/// `last_phase`. A share that cannot be paid goes back to the requester: nothing is lost.
	pub(crate) fn pay_out(
		task: TaskId,
		info: &mut TaskOf<T>,
		executor: &T::AccountId,
		last_phase: Phase,
		failed: bool,
	) {
		Self::release_seats(info);
		let monitors = Self::monitors(info, executor);
		let honest: alloc::vec::Vec<T::AccountId> = monitors
			.iter()
			.filter(|m| {
				let v = MonitorVerdicts::<T>::get(task, *m);
				v.before == Some(true) && (last_phase == Phase::Before || v.after == Some(true))
			})
			.cloned()
			.collect();
		let Ok(mut payout) = T::Split::get().split(
			info.payment,
			info.price,
			monitors.len() as u32,
			honest.len() as u32,
		) else {
			// Cannot happen: posting checked the payment covers price and burn.
			Self::end_with_refund(task, info, TaskStatus::Faulted);
			return;
		};
		if failed {
			payout.refund = payout.refund.saturating_add(payout.developer);
			payout.developer = Zero::zero();
		}
		let burnt = T::Currency::burn_held(
			&HoldReason::TaskEscrow.into(),
			&info.requester,
			payout.burn,
			Precision::Exact,
			Fortitude::Force,
		)
		.unwrap_or_default();
		payout.refund = payout.refund.saturating_add(payout.burn.saturating_sub(burnt));
		payout.burn = burnt;
		if !Self::pay(info, &info.developer, payout.developer) {
			payout.refund = payout.refund.saturating_add(payout.developer);
			payout.developer = Zero::zero();
		}
		if !Self::pay(info, executor, payout.executor) {
			payout.refund = payout.refund.saturating_add(payout.executor);
			payout.executor = Zero::zero();
		}
		// Credit only for a duty done and paid: a zero share earns nothing, so that a ring
		// cannot farm credit with tasks that pay nobody.
		let mut paid_monitors = 0u32;
		for m in &honest {
			if Self::pay(info, m, payout.per_monitor) {
				paid_monitors += 1;
				if !payout.per_monitor.is_zero() {
					T::Credit::reward_duty(m);
				}
			} else {
				payout.refund = payout.refund.saturating_add(payout.per_monitor);
			}
		}
		payout.honest_monitors = paid_monitors;
		// Whatever is left of this task's escrow goes back: exactly `refund`.
		let _ = T::Currency::release(
			&HoldReason::TaskEscrow.into(),
			&info.requester,
			payout.refund,
			Precision::Exact,
		);
		// An executor whose keys were withheld attested but ran nothing: paid for its time,
		// no credit for a run.
		if last_phase == Phase::After && !payout.executor.is_zero() {
			T::Credit::reward_duty(executor);
		}
		// A run is on the lambda's record only if the job ran: withheld keys are not Bob's.
		if last_phase == Phase::After {
			let _ = T::Lambdas::note_run(info.lambda, failed);
		}
		info.status = if failed { TaskStatus::Failed } else { TaskStatus::Settled };
		Self::mark_ended(task);
		Self::deposit_event(if failed {
			Event::TaskFailed { task, payout }
		} else {
			Event::TaskSettled { task, payout }
		});
	}
}
