//! Weights of the registry pallet's calls and hooks.
//!
//! The runtime uses the weights measured by `vouch-node benchmark pallet` (see
//! `runtime/src/weights/`). The `()` implementation here, for tests and for runtimes that have not
//! measured yet, counts each call's worst-case storage accesses at RocksDB's weights plus a
//! fixed execution allowance.

use polkadot_sdk::frame_support::weights::{constants::RocksDbWeight, Weight};

/// Weight functions of this pallet.
pub trait WeightInfo {
	/// `register`, with registration evidence whose EK chain has one P-256 issuing CA.
	fn register() -> Weight;
	/// `force_activate`.
	fn force_activate() -> Weight;
	/// `force_reject`.
	fn force_reject() -> Weight;
	/// `challenge_worker`, with every seat taken (a lower draw evicting the highest).
	fn challenge_worker() -> Weight;
	/// `answer_activation`, with the most challenges.
	fn answer_activation() -> Weight;
	/// The hook, with `n` activation deadlines due, each starting a new round.
	fn on_initialize_activations(n: u32) -> Weight;
	/// `set_endpoint`.
	fn set_endpoint() -> Weight;
	/// `deregister`.
	fn deregister() -> Weight;
	/// `withdraw`.
	fn withdraw() -> Weight;
	/// Verifying an EK certificate chain to an RSA-2048 root in the runtime.
	fn verify_ek_chain_rsa_root() -> Weight;
	/// Verifying an EK certificate chain to a P-384 root in the runtime.
	fn verify_ek_chain_p384_root() -> Weight;
	/// `set_trusted_roots` with the most roots.
	fn set_trusted_roots() -> Weight;
	/// `set_quote_policy`.
	fn set_quote_policy() -> Weight;
	/// `bond_extra`, reactivating an underbonded worker.
	fn bond_extra() -> Weight;
	/// `allow_build`.
	fn allow_build() -> Weight;
	/// `revoke_build`.
	fn revoke_build() -> Weight;
	/// `dispute_challenge`.
	fn dispute_challenge() -> Weight;
	/// `reveal_challenge`, at its worst: the challenge remade (one RSA-2048 public operation,
	/// KDFa, AES and HMAC) and the verifier slashed, its credit reset, and a new round started.
	fn reveal_challenge() -> Weight;
}

/// `base` of execution plus `reads` and `writes` at RocksDB's weights.
fn estimate(ref_time: u64, proof: u64, reads: u64, writes: u64) -> Weight {
	Weight::from_parts(ref_time, proof)
		.saturating_add(RocksDbWeight::get().reads_writes(reads, writes))
}

impl WeightInfo for () {
	fn register() -> Weight {
		estimate(10_000_000_000, 13_000, 5, 5)
	}
	fn force_activate() -> Weight {
		estimate(30_000_000, 13_000, 5, 4)
	}
	fn force_reject() -> Weight {
		estimate(50_000_000, 13_000, 5, 4)
	}
	fn challenge_worker() -> Weight {
		estimate(100_000_000, 30_000, 3, 1)
	}
	fn answer_activation() -> Weight {
		estimate(60_000_000, 30_000, 6 + 16, 5 + 16)
	}
	fn on_initialize_activations(n: u32) -> Weight {
		estimate(20_000_000, 0, 1, 1)
			.saturating_add(estimate(30_000_000, 30_000, 68, 3).saturating_mul(n.into()))
	}
	fn set_endpoint() -> Weight {
		estimate(30_000_000, 13_000, 1, 1)
	}
	fn deregister() -> Weight {
		estimate(30_000_000, 13_000, 3, 2)
	}
	fn withdraw() -> Weight {
		estimate(50_000_000, 13_000, 3, 3)
	}
	fn verify_ek_chain_rsa_root() -> Weight {
		estimate(5_000_000_000, 0, 0, 0)
	}
	fn verify_ek_chain_p384_root() -> Weight {
		estimate(5_000_000_000, 0, 0, 0)
	}
	fn set_trusted_roots() -> Weight {
		estimate(30_000_000, 0, 0, 1)
	}
	fn set_quote_policy() -> Weight {
		estimate(20_000_000, 0, 0, 1)
	}
	fn bond_extra() -> Weight {
		estimate(50_000_000, 13_000, 4, 3)
	}
	fn allow_build() -> Weight {
		estimate(15_000_000, 0, 0, 1)
	}
	fn revoke_build() -> Weight {
		estimate(15_000_000, 2_500, 1, 1)
	}
	fn dispute_challenge() -> Weight {
		estimate(40_000_000, 30_000, 1, 3)
	}
	fn reveal_challenge() -> Weight {
		estimate(2_000_000_000, 40_000, 9, 9)
	}
}
