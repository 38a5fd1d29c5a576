//! # Registry
//!
//! The workers of Vouch (DESIGN §2): each is an account (whose sr25519 key is also its VRF key)
//! bound to a TPM, reachable at an executor endpoint, with a deposit held as its bond.
//!
//! A worker's life: [`register`](Pallet::register) (status `Pending`, deposit held) →
//! `Active` once its TPM material is verified → [`deregister`](Pallet::deregister)
//! (`Unbonding` for [`Config::UnbondingPeriod`] blocks, so that lies found late can still be
//! slashed) → [`withdraw`](Pallet::withdraw) (`Removed`, deposit released).
//!
//! Until TPM verification lands (issue #5), [`approve`](Pallet::approve), a root call, stands in
//! for it and moves a worker from `Pending` to `Active`.
//!
//! Sortition needs the number of active workers with at least some credit. The registry keeps
//! those counts per credit bucket ([`ActiveByBucket`]), updated on every status and credit
//! change, so reading them costs at most [`MAX_BUCKETS`] reads, never a walk over workers.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use weights::WeightInfo;

pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_vouch_credit::Credit;
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;

/// Longest TPM blob (EK certificate, AK public key, certified sealing key), in bytes.
pub const MAX_TPM_BLOB_LEN: u32 = 4096;
/// Longest executor endpoint URL, in bytes.
pub const MAX_ENDPOINT_LEN: u32 = 256;
/// Credit buckets kept: the last one holds every credit above the others.
pub const MAX_BUCKETS: u32 = 64;

/// A TPM blob (DER certificate or TPM2B structure).
pub type TpmBlob = BoundedVec<u8, ConstU32<MAX_TPM_BLOB_LEN>>;
/// An executor endpoint, `http://` or `https://`.
pub type Endpoint = BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>>;

/// The TPM a worker is bound to. Verified against the chain's trusted roots by the TPM issue;
/// stored as given until then.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct TpmMaterial {
	/// The endorsement key certificate, from the TPM's manufacturer.
	pub ek_cert: TpmBlob,
	/// The attestation key's public part: signs the worker's quotes.
	pub ak_public: TpmBlob,
	/// The sealing key's public part, certified by the AK: data keys are sealed to it.
	pub sealing_key: TpmBlob,
}

/// Where a worker is in its life.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum WorkerStatus<BlockNumber> {
	/// Registered; its TPM material is not verified yet. Not eligible for tasks.
	Pending,
	/// Verified and eligible for tasks.
	Active,
	/// Leaving: not eligible, deposit still held (and slashable) until the given block.
	Unbonding {
		/// From this block on, the worker may withdraw its deposit.
		until: BlockNumber,
	},
	/// Gone: deposit released. May register again.
	Removed,
}

/// A registered worker.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct Worker<Balance, BlockNumber> {
	/// Its TPM.
	pub tpm: TpmMaterial,
	/// Where its executor sidecar listens.
	pub endpoint: Endpoint,
	/// The deposit held as its bond (less any slash).
	pub deposit: Balance,
	/// Where it is in its life.
	pub status: WorkerStatus<BlockNumber>,
}

/// What the tasks pallet needs of the registry.
pub trait WorkerRegistry<AccountId, Balance> {
	/// Whether `who` is an active worker.
	fn is_active(who: &AccountId) -> bool;
	/// How many active workers have at least `min_credit`, which must be a multiple of the
	/// bucket width (see [`Pallet::check_min_credit`]).
	fn eligible_count(min_credit: Credit) -> u32;
	/// Whether `min_credit` may be a task's requirement (see [`Pallet::check_min_credit`]).
	fn valid_min_credit(min_credit: Credit) -> bool;
	/// Burns up to `amount` of `who`'s deposit for a proven fault; returns what was burnt.
	fn slash(who: &AccountId, amount: Balance) -> Balance;
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;
	use pallet_vouch_credit::{CreditLedger, OnCreditChange};
	use polkadot_sdk::{
		frame_support::{
			pallet_prelude::*,
			traits::{
				fungible::{self, MutateHold},
				tokens::{Fortitude, Precision},
			},
		},
		frame_system::{self, pallet_prelude::*},
		sp_runtime::Saturating,
	};

	/// The balance type of the bonding currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A worker as this runtime stores it.
	pub type WorkerOf<T> = Worker<BalanceOf<T>, BlockNumberFor<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why the registry holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A worker's bond.
		WorkerBond,
	}

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which this pallet's [`HoldReason`] is one.
		type RuntimeHoldReason: From<HoldReason>;
		/// Where workers' credit is kept.
		type Credit: CreditLedger<Self::AccountId>;
		/// Smallest deposit a worker may bond.
		#[pallet::constant]
		type MinDeposit: Get<BalanceOf<Self>>;
		/// Blocks between deregistering and withdrawing the deposit.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// Width of a credit bucket: tasks' minimum credits are multiples of it.
		#[pallet::constant]
		type CreditBucketWidth: Get<Credit>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Every worker that ever registered, by account.
	#[pallet::storage]
	pub type Workers<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, WorkerOf<T>>;

	/// Active workers per credit bucket: bucket `b` counts credits in
	/// `[b * width, (b + 1) * width)`, the last bucket everything above.
	#[pallet::storage]
	pub type ActiveByBucket<T> = StorageMap<_, Twox64Concat, u32, u32, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker registered and bonded its deposit; it waits for verification.
		Registered {
			/// The worker.
			who: T::AccountId,
			/// The deposit held.
			deposit: BalanceOf<T>,
		},
		/// A worker was verified and is eligible for tasks.
		Activated {
			/// The worker.
			who: T::AccountId,
		},
		/// A worker changed its executor endpoint.
		EndpointChanged {
			/// The worker.
			who: T::AccountId,
		},
		/// A worker left the pool; its deposit stays held until `until`.
		Unbonding {
			/// The worker.
			who: T::AccountId,
			/// First block at which it may withdraw.
			until: BlockNumberFor<T>,
		},
		/// A worker withdrew its deposit and is removed.
		Removed {
			/// The worker.
			who: T::AccountId,
			/// The deposit released.
			released: BalanceOf<T>,
		},
		/// Part of a worker's deposit was burnt for a proven fault.
		Slashed {
			/// The worker.
			who: T::AccountId,
			/// The amount burnt.
			amount: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// This account is registered already (and not removed).
		AlreadyRegistered,
		/// This account is not a registered worker.
		NotRegistered,
		/// The deposit is below `MinDeposit`.
		DepositBelowMinimum,
		/// The account cannot cover the deposit.
		InsufficientBalance,
		/// A TPM blob is empty.
		EmptyTpmMaterial,
		/// The endpoint is not an `http://` or `https://` URL.
		MalformedEndpoint,
		/// The worker is not `Pending`.
		NotPending,
		/// The worker is already leaving or gone.
		AlreadyLeaving,
		/// The worker is not `Unbonding`.
		NotUnbonding,
		/// The unbonding period has not passed yet.
		StillUnbonding,
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

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the caller as a worker bound to `tpm`, reachable at `endpoint`, and holds
		/// `deposit` (at least `MinDeposit`) as its bond. The worker is `Pending` until its TPM
		/// material is verified.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			tpm: TpmMaterial,
			endpoint: Endpoint,
			deposit: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			if let Some(existing) = Workers::<T>::get(&who) {
				ensure!(existing.status == WorkerStatus::Removed, Error::<T>::AlreadyRegistered);
			}
			ensure!(deposit >= T::MinDeposit::get(), Error::<T>::DepositBelowMinimum);
			ensure!(
				!tpm.ek_cert.is_empty() && !tpm.ak_public.is_empty() && !tpm.sealing_key.is_empty(),
				Error::<T>::EmptyTpmMaterial
			);
			Self::check_endpoint(&endpoint)?;
			T::Currency::hold(&HoldReason::WorkerBond.into(), &who, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Workers::<T>::insert(
				&who,
				Worker { tpm, endpoint, deposit, status: WorkerStatus::Pending },
			);
			Self::deposit_event(Event::Registered { who, deposit });
			Ok(())
		}

		/// Root: marks a `Pending` worker as verified and `Active`. Stands in for the on-chain
		/// TPM verification until it lands.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::approve())]
		pub fn approve(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			ensure_root(origin)?;
			Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				ensure!(worker.status == WorkerStatus::Pending, Error::<T>::NotPending);
				worker.status = WorkerStatus::Active;
				Ok::<_, DispatchError>(())
			})?;
			Self::bucket_add(T::Credit::credit_of(&who));
			Self::deposit_event(Event::Activated { who });
			Ok(())
		}

		/// Changes the caller's executor endpoint.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::set_endpoint())]
		pub fn set_endpoint(origin: OriginFor<T>, endpoint: Endpoint) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_endpoint(&endpoint)?;
			Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				ensure!(worker.status != WorkerStatus::Removed, Error::<T>::NotRegistered);
				worker.endpoint = endpoint;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::EndpointChanged { who });
			Ok(())
		}

		/// Leaves the pool: the caller is no longer eligible for new tasks, and its deposit stays
		/// held for `UnbondingPeriod` blocks.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let until =
				frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
			let was_active = Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				let was_active = match worker.status {
					WorkerStatus::Pending => false,
					WorkerStatus::Active => true,
					WorkerStatus::Unbonding { .. } | WorkerStatus::Removed => {
						return Err(Error::<T>::AlreadyLeaving)
					},
				};
				worker.status = WorkerStatus::Unbonding { until };
				Ok(was_active)
			})?;
			if was_active {
				Self::bucket_remove(T::Credit::credit_of(&who));
			}
			Self::deposit_event(Event::Unbonding { who, until });
			Ok(())
		}

		/// Releases the caller's deposit once its unbonding period has passed.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			let released = Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				let WorkerStatus::Unbonding { until } = worker.status else {
					return Err(Error::<T>::NotUnbonding.into());
				};
				ensure!(now >= until, Error::<T>::StillUnbonding);
				let released = T::Currency::release(
					&HoldReason::WorkerBond.into(),
					&who,
					worker.deposit,
					Precision::Exact,
				)?;
				worker.deposit = Zero::zero();
				worker.status = WorkerStatus::Removed;
				Ok::<_, DispatchError>(released)
			})?;
			Self::deposit_event(Event::Removed { who, released });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		fn check_endpoint(endpoint: &Endpoint) -> DispatchResult {
			let ok = (endpoint.starts_with(b"http://") || endpoint.starts_with(b"https://"))
				&& endpoint.iter().all(|b| b.is_ascii_graphic());
			ensure!(ok, Error::<T>::MalformedEndpoint);
			Ok(())
		}

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

		fn bucket_add(credit: Credit) {
			ActiveByBucket::<T>::mutate(Self::bucket_of(credit), |n| *n = n.saturating_add(1));
		}

		fn bucket_remove(credit: Credit) {
			ActiveByBucket::<T>::mutate_exists(Self::bucket_of(credit), |n| {
				let left = n.unwrap_or(0).saturating_sub(1);
				*n = (left > 0).then_some(left);
			});
		}

		/// Invariants: the bucket counts are exactly the active workers by credit, and every
		/// worker's recorded deposit is held.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			let mut expected = alloc::collections::BTreeMap::<u32, u32>::new();
			for (who, worker) in Workers::<T>::iter() {
				if worker.status == WorkerStatus::Active {
					*expected.entry(Self::bucket_of(T::Credit::credit_of(&who))).or_default() += 1;
				}
				ensure!(
					<T::Currency as fungible::InspectHold<_>>::balance_on_hold(
						&HoldReason::WorkerBond.into(),
						&who,
					) == worker.deposit,
					"a worker's recorded deposit is not what is held"
				);
			}
			let counted: alloc::collections::BTreeMap<u32, u32> =
				ActiveByBucket::<T>::iter().collect();
			ensure!(counted == expected, "bucket counts differ from the active workers");
			Ok(())
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

	impl<T: Config> WorkerRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
		fn is_active(who: &T::AccountId) -> bool {
			Workers::<T>::get(who).is_some_and(|w| w.status == WorkerStatus::Active)
		}

		fn eligible_count(min_credit: Credit) -> u32 {
			(Self::bucket_of(min_credit)..MAX_BUCKETS)
				.map(ActiveByBucket::<T>::get)
				.fold(0u32, |sum, n| sum.saturating_add(n))
		}

		fn valid_min_credit(min_credit: Credit) -> bool {
			Self::check_min_credit(min_credit)
		}

		fn slash(who: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
			let Some(mut worker) = Workers::<T>::get(who) else { return Zero::zero() };
			let amount = amount.min(worker.deposit);
			let burnt = T::Currency::burn_held(
				&HoldReason::WorkerBond.into(),
				who,
				amount,
				Precision::BestEffort,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero());
			worker.deposit = worker.deposit.saturating_sub(burnt);
			Workers::<T>::insert(who, worker);
			Self::deposit_event(Event::Slashed { who: who.clone(), amount: burnt });
			burnt
		}
	}
}
