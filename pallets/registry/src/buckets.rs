//! The eligible counts (DESIGN §4): sortition needs the number of active workers with at least
//! some credit, and may not walk over workers to find it. Active workers are counted per credit
//! bucket ([`ActiveByBucket`]), each count moved on every status and credit change, so that a
//! count costs at most [`MAX_BUCKETS`] reads; a task's minimum credit is a multiple of the
//! bucket width so that the counts are exact.

use crate::*;
use pallet_vouch_credit::{Credit, OnCreditChange};
use polkadot_sdk::frame_support::traits::Get;

impl<T: Config> Pallet<T> {
	/// The bucket of a credit score.
	pub fn bucket_of(credit: Credit) -> u32 {
		(credit / T::CreditBucketWidth::get().max(1)).min(MAX_BUCKETS - 1)
	}

	/// Whether `min_credit` can be a task's requirement: a multiple of the bucket width
	/// within the buckets kept, so that eligible counts are exact.
	pub fn check_min_credit(min_credit: Credit) -> bool {
		let width = T::CreditBucketWidth::get().max(1);
		min_credit % width == 0 && min_credit / width < MAX_BUCKETS
	}

	/// Active workers with at least `min_credit` (see [`WorkerRegistry::eligible_count`]).
	pub(crate) fn eligible_workers(min_credit: Credit) -> u32 {
		(Self::bucket_of(min_credit)..MAX_BUCKETS)
			.map(ActiveByBucket::<T>::get)
			.fold(0u32, |sum, n| sum.saturating_add(n))
	}

	/// Active workers of any credit.
	pub(crate) fn active_count() -> u32 {
		Self::eligible_workers(0)
	}

	/// A worker of `credit` became active.
	pub(crate) fn bucket_add(credit: Credit) {
		ActiveByBucket::<T>::mutate(Self::bucket_of(credit), |n| *n = n.saturating_add(1));
	}

	/// A worker of `credit` is no longer active; an emptied bucket is removed from storage.
	pub(crate) fn bucket_remove(credit: Credit) {
		ActiveByBucket::<T>::mutate_exists(Self::bucket_of(credit), |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = (left > 0).then_some(left);
		});
	}
}

impl<T: Config> OnCreditChange<T::AccountId> for Pallet<T> {
	fn credit_changed(who: &T::AccountId, old: Credit, new: Credit) {
		let active = Workers::<T>::get(who).is_some_and(|w| w.status == WorkerStatus::Active);
		if active && Self::bucket_of(old) != Self::bucket_of(new) {
			Self::bucket_remove(old);
			Self::bucket_add(new);
		}
	}
}
