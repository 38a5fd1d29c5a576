//! Weights of the tasks pallet's calls and hooks.
//!
//! The runtime uses the weights measured by `vouch-node benchmark pallet` (see
//! `runtime/src/weights/`). The `()` implementation here, for tests and for runtimes that have not
//! measured yet, counts each call's worst-case storage accesses at RocksDB's weights plus a
//! fixed execution allowance.

use polkadot_sdk::frame_support::weights::{constants::RocksDbWeight, Weight};

/// Weight functions of this pallet.
pub trait WeightInfo {
	/// `post_task`.
	fn post_task() -> Weight;
	/// `cancel_task`.
	fn cancel_task() -> Weight;
	/// `claim_seat`, its VRF verification included.
	fn claim_seat(w: u32) -> Weight;
	/// One sr25519 VRF verification inside the runtime (part of `claim_seat`).
	fn vrf_verify() -> Weight;
	/// One TPM quote verification inside the runtime (part of the attestation calls).
	fn verify_tpm_quote() -> Weight;
	/// `attest_before`, verifying a real TPM quote.
	fn attest_before() -> Weight;
	/// `report_lie`, verifying a real TPM quote, failing the current round.
	fn report_lie() -> Weight;
	/// `release_key`.
	fn release_key() -> Weight;
	/// `submit_result`, verifying a real TPM quote.
	fn submit_result() -> Weight;
	/// `submit_verdict`: the last verdict of the largest committee, which concludes the phase.
	fn submit_verdict() -> Weight;
	/// `reveal_result_keys` for the most recipients, settling the largest committee.
	fn reveal_result_keys() -> Weight;
	/// `submit_verdict` that only records the verdict (not the last of its phase).
	fn record_verdict() -> Weight;
	/// `reap_task`: an ended task's records removed, its deposit returned.
	fn reap_task() -> Weight;
	/// `back_keys` by the owner of the most key slots.
	fn back_keys() -> Weight;
	/// `on_initialize` with `n` tasks concluding the `After` phase of the largest committee.
	fn on_initialize_concluding(n: u32) -> Weight;
	/// `on_initialize` with `n` tasks whose executor missed its reveal: each redraws the
	/// largest committee.
	fn on_initialize_redrawing(n: u32) -> Weight;
	/// `on_initialize` with `n` tasks electing a committee of the largest size.
	fn on_initialize_electing(n: u32) -> Weight;
}

/// `base` of execution plus `reads` and `writes` at RocksDB's weights.
fn estimate(ref_time: u64, proof: u64, reads: u64, writes: u64) -> Weight {
	Weight::from_parts(ref_time, proof)
		.saturating_add(RocksDbWeight::get().reads_writes(reads, writes))
}

impl WeightInfo for () {
	fn post_task() -> Weight {
		estimate(80_000_000, 20_000, 6, 5)
	}
	fn cancel_task() -> Weight {
		estimate(40_000_000, 10_000, 2, 2)
	}
	fn claim_seat(_w: u32) -> Weight {
		estimate(1_500_000_000, 20_000, 4, 1)
	}
	fn vrf_verify() -> Weight {
		estimate(1_400_000_000, 0, 0, 0)
	}
	fn verify_tpm_quote() -> Weight {
		estimate(3_000_000_000, 0, 0, 0)
	}
	fn attest_before() -> Weight {
		estimate(3_050_000_000, 20_000, 6, 4)
	}
	fn report_lie() -> Weight {
		estimate(3_100_000_000, 30_000, 10 + 2 * 32, 8 + 32)
	}
	fn release_key() -> Weight {
		estimate(50_000_000, 20_000, 12, 3)
	}
	fn submit_result() -> Weight {
		estimate(3_080_000_000, 30_000, 10 + 2 * 32, 7 + 32)
	}
	fn submit_verdict() -> Weight {
		estimate(200_000_000, 60_000, 6 + 4 * 32, 6 + 3 * 32)
	}
	fn reveal_result_keys() -> Weight {
		estimate(200_000_000, 60_000, 6 + 4 * 32, 6 + 3 * 32)
	}
	fn back_keys() -> Weight {
		estimate(40_000_000, 13_000, 3, 3)
	}
	fn reap_task() -> Weight {
		estimate(40_000_000, 13_000, 4, 7)
	}
	fn record_verdict() -> Weight {
		estimate(30_000_000, 13_000, 2 + 32, 1)
	}
	fn on_initialize_redrawing(n: u32) -> Weight {
		estimate(50_000_000, 60_000, 8 + 3 * 32, 8 + 3 * 32).saturating_mul(n.into())
	}
	fn on_initialize_concluding(n: u32) -> Weight {
		estimate(10_000_000, 1_000, 1, 1).saturating_add(
			estimate(200_000_000, 60_000, 6 + 4 * 32, 6 + 3 * 32).saturating_mul(n.into()),
		)
	}
	fn on_initialize_electing(n: u32) -> Weight {
		estimate(10_000_000, 1_000, 1, 1)
			.saturating_add(estimate(50_000_000, 20_000, 3 + 32, 2).saturating_mul(n.into()))
	}
}
