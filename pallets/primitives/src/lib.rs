//! Where the chain and its clients meet: the identifiers and the rules that the runtime, the
//! offchain executor and the CLI must agree on, kept once so that they cannot drift apart.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "std")]
pub mod content_id;
pub mod deadline_queue;
#[cfg(feature = "std")]
pub mod envelope;
pub mod sandbox;
pub mod settlement;
pub mod sortition;
pub mod tpm;

#[cfg(all(test, feature = "std"))]
mod fuzz_tests;

/// Identifies a published lambda (Bob's job).
pub type LambdaId = u64;
/// Identifies a posted task (Alice's request to run a lambda).
pub type TaskId = u64;

/// `blake2_256(SCALE("vouch/result-keys", keys))`: the commitment an executor submits with a
/// result to the result key sealed to each recipient (`keys`, in the recipients' order), and
/// must later reveal exactly. The chain checks it; the executor and clients compute it here.
pub fn result_keys_commitment(keys: &[&[u8]]) -> [u8; 32] {
	use codec::Encode;
	polkadot_sdk::sp_crypto_hashing::blake2_256(&(b"vouch/result-keys", keys).encode())
}

/// Whether `cid` looks like a content identifier: non-empty printable ASCII. The chain does not
/// resolve CIDs; it refuses what no store could ever serve.
pub fn is_well_formed_cid(cid: &[u8]) -> bool {
	!cid.is_empty() && cid.iter().all(u8::is_ascii_graphic)
}

/// The attestations of a task: the executor quotes each, the monitors give a verdict on each.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	codec::Encode,
	codec::Decode,
	codec::DecodeWithMemTracking,
	scale_info::TypeInfo,
	codec::MaxEncodedLen,
)]
pub enum Phase {
	/// The sandbox before any key is released.
	Before,
	/// The run, its result and its wipe.
	After,
}
