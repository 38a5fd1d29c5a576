//! # Credit
//!
//! A worker's reputation (DESIGN §7): a number that gates which tasks it may serve (a task's
//! minimum credit) and weighs its claim to be executor. It is not a balance: no call moves it,
//! nobody can buy, sell or give it. It changes only through [`CreditLedger`], which the tasks
//! pallet calls as duties are done, missed or lied about:
//!
//! - an honest duty (executor or monitor) earns [`Config::GainPerDuty`], but no more than
//!   [`Config::CapPerPeriod`] in one period of [`Config::Period`] blocks, so that credit can only
//!   be built by long honest work, never bought by a burst of cheap tasks;
//! - a missed duty costs [`Config::MissPenalty`];
//! - a proven lie resets credit to zero (the deposit slash is the registry's);
//! - the committee member who proves the lie earns [`Config::ReporterBonus`], within the same
//!   cap (the tasks pallet pays it only when the liar had a deposit to lose).
//!
//! Every change is reported to [`Config::OnCreditChange`], so that the registry can keep its
//! per-bucket counts of eligible workers without iterating over them.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use codec::{Decode, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// A credit score (defined with the sortition rules, which read it).
pub use vouch_primitives::sortition::Credit;

/// What the chain knows of one worker's credit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct CreditRecord {
	/// The score.
	pub credit: Credit,
	/// The period (block number / `Period`) in which `earned_in_period` was earned.
	pub period: u32,
	/// Duty credit earned in that period, at most `CapPerPeriod`.
	pub earned_in_period: Credit,
}

/// Told of every change of a worker's credit.
pub trait OnCreditChange<AccountId> {
	/// `who`'s credit went from `old` to `new`.
	fn credit_changed(who: &AccountId, old: Credit, new: Credit);
}

impl<AccountId> OnCreditChange<AccountId> for () {
	fn credit_changed(_: &AccountId, _: Credit, _: Credit) {}
}

/// How the tasks pallet changes credit. Each method returns how much credit moved.
pub trait CreditLedger<AccountId> {
	/// The current score of `who` (0 for unknown accounts).
	fn credit_of(who: &AccountId) -> Credit;
	/// `who` did an honest duty: gains up to `GainPerDuty`, within the period's cap.
	fn reward_duty(who: &AccountId) -> Credit;
	/// `who` missed a duty: loses up to `MissPenalty`.
	fn penalize_missed_duty(who: &AccountId) -> Credit;
	/// `who` was proven to lie: its credit drops to zero.
	fn reset_for_lie(who: &AccountId) -> Credit;
	/// `who` proved someone's lie: gains up to `ReporterBonus`, within the period's cap.
	fn reward_reporter(who: &AccountId) -> Credit;
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use polkadot_sdk::{
		frame_support::pallet_prelude::*,
		frame_system::{self, pallet_prelude::*},
		sp_runtime::{traits::UniqueSaturatedInto, Saturating},
	};

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Credit earned by one honest duty.
		#[pallet::constant]
		type GainPerDuty: Get<Credit>;
		/// Most duty credit a worker can earn in one period.
		#[pallet::constant]
		type CapPerPeriod: Get<Credit>;
		/// Length of a period, in blocks.
		#[pallet::constant]
		type Period: Get<BlockNumberFor<Self>>;
		/// Credit lost for a missed duty.
		#[pallet::constant]
		type MissPenalty: Get<Credit>;
		/// Credit earned for proving another worker's lie.
		#[pallet::constant]
		type ReporterBonus: Get<Credit>;
		/// Told of every change (the registry's eligibility buckets).
		type OnCreditChange: OnCreditChange<Self::AccountId>;
	}

	/// Each worker's credit. Accounts never touched have none (and no entry).
	#[pallet::storage]
	pub type Credits<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, CreditRecord, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker earned credit for an honest duty.
		Earned {
			/// The worker.
			who: T::AccountId,
			/// Credit gained (less than `GainPerDuty` when the period's cap was reached).
			amount: Credit,
			/// The worker's credit now.
			credit: Credit,
		},
		/// A worker lost credit for a missed duty.
		Penalized {
			/// The worker.
			who: T::AccountId,
			/// Credit lost.
			amount: Credit,
			/// The worker's credit now.
			credit: Credit,
		},
		/// A worker was proven to lie and lost all its credit.
		Reset {
			/// The worker.
			who: T::AccountId,
			/// The credit it had.
			lost: Credit,
		},
		/// A worker proved another's lie and earned the reporter's bonus.
		ReporterRewarded {
			/// The reporter.
			who: T::AccountId,
			/// Credit gained.
			amount: Credit,
			/// The reporter's credit now.
			credit: Credit,
		},
	}

	#[pallet::genesis_config]
	#[derive(polkadot_sdk::frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Starting credit of known workers (dev and test chains).
		pub credits: Vec<(T::AccountId, Credit)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (who, credit) in &self.credits {
				Credits::<T>::insert(who, CreditRecord { credit: *credit, ..Default::default() });
				T::OnCreditChange::credit_changed(who, 0, *credit);
			}
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(
			_n: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	impl<T: Config> Pallet<T> {
		/// The current period's index.
		fn current_period() -> u32 {
			let now = frame_system::Pallet::<T>::block_number();
			let period = T::Period::get().max(1u32.into());
			(now / period).unique_saturated_into()
		}

		/// Applies `change` to `who`'s record, stores it (or drops an empty one) and reports the
		/// change.
		fn update(who: &T::AccountId, change: impl FnOnce(&mut CreditRecord)) -> (Credit, Credit) {
			Credits::<T>::mutate_exists(who, |entry| {
				let mut record = entry.unwrap_or_default();
				let old = record.credit;
				change(&mut record);
				let new = record.credit;
				*entry = (record != CreditRecord::default()).then_some(record);
				if old != new {
					T::OnCreditChange::credit_changed(who, old, new);
				}
				(old, new)
			})
		}

		/// Adds up to `gain` to `who`'s credit, within what is left of this period's cap;
		/// returns the credit before and after.
		fn earn_within_cap(who: &T::AccountId, gain: Credit) -> (Credit, Credit) {
			let period = Self::current_period();
			Self::update(who, |r| {
				if r.period != period {
					r.period = period;
					r.earned_in_period = 0;
				}
				let room = T::CapPerPeriod::get().saturating_sub(r.earned_in_period);
				let gain = gain.min(room);
				r.earned_in_period += gain;
				r.credit = r.credit.saturating_add(gain);
			})
		}

		/// Invariant: no worker earned more than the cap in a period.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			for (_, record) in Credits::<T>::iter() {
				ensure!(
					record.earned_in_period <= T::CapPerPeriod::get(),
					"a worker earned more than the period's cap"
				);
				ensure!(record != CreditRecord::default(), "an empty credit record is stored");
			}
			Ok(())
		}
	}

	impl<T: Config> CreditLedger<T::AccountId> for Pallet<T> {
		fn credit_of(who: &T::AccountId) -> Credit {
			Credits::<T>::get(who).credit
		}

		fn reward_duty(who: &T::AccountId) -> Credit {
			let (old, new) = Self::earn_within_cap(who, T::GainPerDuty::get());
			let amount = new - old;
			Self::deposit_event(Event::Earned { who: who.clone(), amount, credit: new });
			amount
		}

		fn penalize_missed_duty(who: &T::AccountId) -> Credit {
			let (old, new) =
				Self::update(who, |r| r.credit.saturating_reduce(T::MissPenalty::get()));
			let amount = old - new;
			Self::deposit_event(Event::Penalized { who: who.clone(), amount, credit: new });
			amount
		}

		fn reset_for_lie(who: &T::AccountId) -> Credit {
			let (lost, _) = Self::update(who, |r| r.credit = 0);
			Self::deposit_event(Event::Reset { who: who.clone(), lost });
			lost
		}

		fn reward_reporter(who: &T::AccountId) -> Credit {
			// Within the period's cap like any duty: else a ring reporting its own members'
			// lies would farm credit faster than honest work earns it.
			let (old, new) = Self::earn_within_cap(who, T::ReporterBonus::get());
			let amount = new - old;
			Self::deposit_event(Event::ReporterRewarded { who: who.clone(), amount, credit: new });
			amount
		}
	}
}
