//! Benchmarks of the lambdas pallet's calls, each at its worst case: the largest manifest and
//! CIDs the bounds allow.

use super::*;
use alloc::vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::{traits::Get, BoundedVec},
	frame_system::RawOrigin,
	sp_runtime::traits::Zero,
};

fn full<S: Get<u32>>(byte: u8) -> BoundedVec<u8, S> {
	vec![byte; S::get() as usize].try_into().expect("exactly the bound")
}

/// The largest manifest: every string and list at its bound, limits at the runtime's maxima.
fn largest_manifest<T: Config>() -> Manifest {
	let mut env_entry: ManifestString = full(b'A');
	env_entry[0] = b'K';
	env_entry[1] = b'=';
	Manifest {
		entrypoint: full(b'/'),
		args: vec![full(b'a'); MAX_ARGS as usize].try_into().expect("MAX_ARGS"),
		env: vec![env_entry; MAX_ARGS as usize].try_into().expect("MAX_ARGS"),
		cpu_millicores: T::MaxCpuMillicores::get(),
		memory_mib: T::MaxMemoryMib::get(),
		time_limit_secs: T::MaxTimeLimitSecs::get(),
		max_output_bytes: T::MaxOutputBytes::get(),
	}
}

fn publish_one<T: Config>(owner: &T::AccountId) -> LambdaId {
	let id = NextLambdaId::<T>::get();
	Pallet::<T>::publish(
		RawOrigin::Signed(owner.clone()).into(),
		full(b'c'),
		[7; 32],
		full(b'i'),
		largest_manifest::<T>(),
		Zero::zero(),
		true,
	)
	.expect("a valid lambda");
	id
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn publish() {
		let owner: T::AccountId = whitelisted_caller();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			full(b'c'),
			[7; 32],
			full(b'i'),
			largest_manifest::<T>(),
			Zero::zero(),
			true,
		);
		assert!(Lambdas::<T>::contains_key(0));
	}

	#[benchmark]
	fn reprice() {
		let owner: T::AccountId = whitelisted_caller();
		let id = publish_one::<T>(&owner);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, Zero::zero());
	}

	#[benchmark]
	fn retire() {
		let owner: T::AccountId = whitelisted_caller();
		let id = publish_one::<T>(&owner);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id);
		assert!(Lambdas::<T>::get(id).is_some_and(|l| l.retired));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
