//! Weights of the lambdas pallet's calls.
//!
//! Not yet measured: these count each call's storage accesses at the runtime's database
//! weights and add a fixed execution allowance. They are replaced by the output of the FRAME
//! benchmarks when those land (issue 3).

use core::marker::PhantomData;
use polkadot_sdk::{
	frame_support::{
		traits::Get,
		weights::{constants::RocksDbWeight, Weight},
	},
	frame_system,
};

/// Weight functions of this pallet.
pub trait WeightInfo {
	/// `publish`: reads and writes `NextLambdaId`, writes one lambda.
	fn publish() -> Weight;
	/// `reprice`: reads and writes one lambda.
	fn reprice() -> Weight;
	/// `retire`: reads and writes one lambda.
	fn retire() -> Weight;
}

/// Execution allowance per call, on top of storage: 50 µs and one lambda's proof size.
fn base() -> Weight {
	Weight::from_parts(50_000_000, 2_000)
}

/// Weights for a runtime, from its database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn publish() -> Weight {
		base().saturating_add(T::DbWeight::get().reads_writes(1, 2))
	}
	fn reprice() -> Weight {
		base().saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn retire() -> Weight {
		base().saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
}

/// For tests: the same estimates at RocksDB's weights.
impl WeightInfo for () {
	fn publish() -> Weight {
		base().saturating_add(RocksDbWeight::get().reads_writes(1, 2))
	}
	fn reprice() -> Weight {
		base().saturating_add(RocksDbWeight::get().reads_writes(1, 1))
	}
	fn retire() -> Weight {
		base().saturating_add(RocksDbWeight::get().reads_writes(1, 1))
	}
}
