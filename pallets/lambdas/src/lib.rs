//! # Lambdas
//!
//! Bob's side of Vouch (DESIGN §1, step 1): a developer publishes a *lambda*, a Docker job
//! named by content (code CID, image digest and CID) with a manifest of how it runs and a
//! price per use. Requesters post tasks against it (the tasks pallet); the price is paid to the
//! owner at settlement. The owner may reprice or retire it. The chain keeps the lambda's public
//! record: how many runs settled and how many failed by the job's own fault.
//!
//! Other pallets reach lambdas through [`LambdaRegistry`], not through storage.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use polkadot_sdk::{frame_support::dispatch::DispatchResult, sp_runtime::DispatchError};
use vouch_primitives::LambdaId;

/// Longest content identifier, in bytes (a CIDv1 in base32 is about 60).
pub const MAX_CID_LEN: u32 = 128;
/// Longest entrypoint, argument or env entry of a manifest, in bytes.
pub const MAX_MANIFEST_STRING_LEN: u32 = 256;
/// Most arguments, and most env entries, of a manifest.
pub const MAX_ARGS: u32 = 32;

/// What the tasks pallet needs of a lambda.
pub trait LambdaRegistry<AccountId, Balance> {
	/// The lambda, if it exists and takes new tasks.
	fn usable(id: LambdaId) -> Result<Lambda<AccountId, Balance>, DispatchError>;
	/// Counts one settled run of `id`, and whether it failed by the job's own fault.
	fn note_run(id: LambdaId, failed: bool) -> DispatchResult;
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;
	use polkadot_sdk::{
		frame_support::{pallet_prelude::*, traits::fungible},
		frame_system::{self, pallet_prelude::*},
	};

	/// The balance type of the currency prices are counted in.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A lambda as this runtime stores it.
	pub type LambdaOf<T> = Lambda<<T as frame_system::Config>::AccountId, BalanceOf<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency prices are counted in.
		type Currency: fungible::Inspect<Self::AccountId>;
		/// Largest memory limit a manifest may ask for, in MiB.
		#[pallet::constant]
		type MaxMemoryMib: Get<u32>;
		/// Longest run a manifest may ask for, in seconds.
		#[pallet::constant]
		type MaxTimeLimitSecs: Get<u32>;
		/// Largest result a manifest may allow, in bytes.
		#[pallet::constant]
		type MaxOutputBytes: Get<u64>;
		/// Most CPU a manifest may ask for, in thousandths of a core.
		#[pallet::constant]
		type MaxCpuMillicores: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// The id the next published lambda gets.
	#[pallet::storage]
	pub type NextLambdaId<T> = StorageValue<_, LambdaId, ValueQuery>;

	/// Every lambda ever published, retired ones included: tasks and records refer to them.
	#[pallet::storage]
	pub type Lambdas<T: Config> = StorageMap<_, Blake2_128Concat, LambdaId, LambdaOf<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A developer published a lambda.
		Published {
			/// The new lambda's id.
			lambda: LambdaId,
			/// Its developer.
			owner: T::AccountId,
			/// What one run costs.
			price: BalanceOf<T>,
			/// Whether its code is encrypted.
			encrypted: bool,
		},
		/// The owner changed the price; tasks posted from now on pay the new one.
		Repriced {
			/// The lambda.
			lambda: LambdaId,
			/// The price before.
			old: BalanceOf<T>,
			/// The price now.
			new: BalanceOf<T>,
		},
		/// The owner retired the lambda: it takes no new tasks.
		Retired {
			/// The lambda.
			lambda: LambdaId,
		},
		/// A run of the lambda settled.
		RunRecorded {
			/// The lambda.
			lambda: LambdaId,
			/// Whether the job failed by its own fault.
			failed: bool,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No lambda has this id.
		UnknownLambda,
		/// Only the lambda's owner may do this.
		NotOwner,
		/// The lambda is retired and takes no new tasks or changes.
		Retired,
		/// A CID is empty or not printable ASCII.
		MalformedCid,
		/// The manifest's entrypoint is empty.
		EmptyEntrypoint,
		/// The manifest's CPU limit is zero or above `MaxCpuMillicores`.
		CpuLimitOutOfRange,
		/// The manifest's memory limit is zero or above `MaxMemoryMib`.
		MemoryLimitOutOfRange,
		/// The manifest's time limit is zero or above `MaxTimeLimitSecs`.
		TimeLimitOutOfRange,
		/// The manifest's output limit is zero or above `MaxOutputBytes`.
		OutputLimitOutOfRange,
		/// An env entry is not of the form `NAME=value`.
		MalformedEnv,
		/// All lambda ids are used.
		TooManyLambdas,
		/// The lambda's run counter is full.
		RunCounterOverflow,
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
		/// Publishes a lambda owned by the caller.
		///
		/// - `code_cid`: where the code is stored (encrypted if `encrypted`).
		/// - `image_digest`: sha256 digest of the image the code runs in.
		/// - `image_cid`: where that image is stored.
		/// - `manifest`: entrypoint, arguments, env and resource limits.
		/// - `price`: what each run costs the requester, paid to the caller.
		/// - `encrypted`: whether the caller must release the code's key to each executor.
		///
		/// Emits `Published` with the new lambda's id.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::publish())]
		pub fn publish(
			origin: OriginFor<T>,
			code_cid: Cid,
			image_digest: [u8; 32],
			image_cid: Cid,
			manifest: Manifest,
			price: BalanceOf<T>,
			encrypted: bool,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::check_cid(&code_cid)?;
			Self::check_cid(&image_cid)?;
			Self::check_manifest(&manifest)?;
			let lambda = NextLambdaId::<T>::get();
			NextLambdaId::<T>::put(lambda.checked_add(1).ok_or(Error::<T>::TooManyLambdas)?);
			Lambdas::<T>::insert(
				lambda,
				Lambda {
					owner: owner.clone(),
					code_cid,
					image_digest,
					image_cid,
					manifest,
					price,
					encrypted,
					retired: false,
					runs: 0,
					failures: 0,
				},
			);
			Self::deposit_event(Event::Published { lambda, owner, price, encrypted });
			Ok(())
		}

		/// Sets a new price for the caller's lambda. Tasks already posted keep the price they
		/// were posted at.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::reprice())]
		pub fn reprice(
			origin: OriginFor<T>,
			lambda: LambdaId,
			price: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Lambdas::<T>::try_mutate(lambda, |entry| {
				let l = entry.as_mut().ok_or(Error::<T>::UnknownLambda)?;
				ensure!(l.owner == who, Error::<T>::NotOwner);
				ensure!(!l.retired, Error::<T>::Retired);
				let old = core::mem::replace(&mut l.price, price);
				Self::deposit_event(Event::Repriced { lambda, old, new: price });
				Ok(())
			})
		}

		/// Retires the caller's lambda: no new task may use it. Its record stays.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::retire())]
		pub fn retire(origin: OriginFor<T>, lambda: LambdaId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Lambdas::<T>::try_mutate(lambda, |entry| {
				let l = entry.as_mut().ok_or(Error::<T>::UnknownLambda)?;
				ensure!(l.owner == who, Error::<T>::NotOwner);
				ensure!(!l.retired, Error::<T>::Retired);
				l.retired = true;
				Self::deposit_event(Event::Retired { lambda });
				Ok(())
			})
		}
	}

	impl<T: Config> Pallet<T> {
		fn check_cid(cid: &Cid) -> DispatchResult {
			ensure!(vouch_primitives::is_well_formed_cid(cid), Error::<T>::MalformedCid);
			Ok(())
		}

		fn check_manifest(m: &Manifest) -> DispatchResult {
			ensure!(!m.entrypoint.is_empty(), Error::<T>::EmptyEntrypoint);
			ensure!(
				(1..=T::MaxCpuMillicores::get()).contains(&m.cpu_millicores),
				Error::<T>::CpuLimitOutOfRange
			);
			ensure!(
				(1..=T::MaxMemoryMib::get()).contains(&m.memory_mib),
				Error::<T>::MemoryLimitOutOfRange
			);
			ensure!(
				(1..=T::MaxTimeLimitSecs::get()).contains(&m.time_limit_secs),
				Error::<T>::TimeLimitOutOfRange
			);
			ensure!(
				(1..=T::MaxOutputBytes::get()).contains(&m.max_output_bytes),
				Error::<T>::OutputLimitOutOfRange
			);
			for entry in m.env.iter() {
				let name_len = entry.iter().position(|b| *b == b'=').unwrap_or(0);
				ensure!(
					name_len > 0
						&& entry[..name_len]
							.iter()
							.all(|b| b.is_ascii_alphanumeric() || *b == b'_'),
					Error::<T>::MalformedEnv
				);
			}
			Ok(())
		}

		/// Invariants: every lambda's id is below `NextLambdaId`, and no lambda failed more
		/// often than it ran.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			let next = NextLambdaId::<T>::get();
			for (id, lambda) in Lambdas::<T>::iter() {
				ensure!(id < next, "a lambda's id is not below NextLambdaId");
				ensure!(lambda.failures <= lambda.runs, "a lambda failed more often than it ran");
			}
			Ok(())
		}
	}

	impl<T: Config> LambdaRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
		fn usable(id: LambdaId) -> Result<LambdaOf<T>, DispatchError> {
			let lambda = Lambdas::<T>::get(id).ok_or(Error::<T>::UnknownLambda)?;
			ensure!(!lambda.retired, Error::<T>::Retired);
			Ok(lambda)
		}

		fn note_run(id: LambdaId, failed: bool) -> DispatchResult {
			Lambdas::<T>::try_mutate(id, |entry| {
				let l = entry.as_mut().ok_or(Error::<T>::UnknownLambda)?;
				l.runs = l.runs.checked_add(1).ok_or(Error::<T>::RunCounterOverflow)?;
				if failed {
					l.failures += 1;
				}
				Self::deposit_event(Event::RunRecorded { lambda: id, failed });
				Ok(())
			})
		}
	}
}
