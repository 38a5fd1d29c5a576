//! The escrow: the payment held on the requester's account from posting, and its exits. Every
//! exit of the payment is an exit of the state machine, so each one is here: the full refund
//! (`Cancelled`, `Expired`, `Faulted`, and `Failed` when another key owner withheld a key), and
//! the settlement split paid out (`Settled`, `Failed`); beside them, the key owners' bonds
//! (released when the task ends, forfeited to the committee for a withheld key) and the
//! storage deposit. `lifecycle` decides which exit a task takes; this file only moves funds.

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

	/// Pays `owner`'s bond for the keys it withheld from `task` to `committee` (its executor
	/// first, then the monitors who confirmed the sandbox), in equal shares; returns the bond.
	pub(crate) fn forfeit_key_bond(
		task: TaskId,
		owner: &T::AccountId,
		committee: &[T::AccountId],
	) -> BalanceOf<T> {
		let reason = HoldReason::KeyBond.into();
		let forfeited = KeyBonds::<T>::take(task, owner).unwrap_or_default();
		let share = forfeited / (committee.len() as u32).into();
		// The executor takes the division's dust, as in the settlement split.
		let dust = forfeited.saturating_sub(share.saturating_mul((committee.len() as u32).into()));
		for (i, member) in committee.iter().enumerate() {
			let amount = if i == 0 { share.saturating_add(dust) } else { share };
			let _ = T::Currency::transfer_on_hold(
				&reason,
				owner,
				member,
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			);
		}
		forfeited
	}

	/// Ends the task `Failed` with the whole payment refunded: another key owner withheld a
	/// key, and its bond, not the requester, paid the committee.
	pub(crate) fn end_failed_with_refund(task: TaskId, info: &mut TaskOf<T>) {
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
	/// Called by [`Pallet::settle`], once the committee's seats are released.
	pub(crate) fn split_escrow(
		task: TaskId,
		info: &mut TaskOf<T>,
		executor: &T::AccountId,
		last_phase: Phase,
		failed: bool,
	) {
		let monitors = info.monitors(executor);
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
