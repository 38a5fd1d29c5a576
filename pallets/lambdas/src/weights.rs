//! Weights of the lambdas pallet's calls.
//!
//! The runtime uses the weights measured by `vouch-node benchmark pallet` (see
//! `runtime/src/weights/`). The `()` implementation here, for tests and for runtimes that have
//! not measured yet, counts each call's storage accesses at RocksDB's weights plus a fixed
//! execution allowance.

use polkadot_sdk::frame_support::weights::{constants::RocksDbWeight, Weight};

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

/// Estimates for tests and unmeasured runtimes, at RocksDB's weights.
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
