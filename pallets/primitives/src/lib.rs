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

/// The X25519 public keys of small order (`u` coordinates, little endian, top bit clear): 0,
/// 1, the two points of order 8, p - 1, p and p + 1. A Diffie-Hellman with any of them gives
/// the all-zero secret whatever the other key, so HPKE refuses to seal to them; the list is
/// libsodium's, and `envelope`'s tests check each is refused.
pub const SMALL_ORDER_X25519: [[u8; 32]; 7] = [
	edged(0x00, 0x00, 0x00),
	edged(0x01, 0x00, 0x00),
	[
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
		0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
		0xb8, 0x00,
	],
	[
		0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
		0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
		0x11, 0x57,
	],
	// p - 1, p and p + 1, with p = 2^255 - 19.
	edged(0xec, 0xff, 0x7f),
	edged(0xed, 0xff, 0x7f),
	edged(0xee, 0xff, 0x7f),
];

/// 32 bytes: `first`, then `fill` thirty times, then `last`.
const fn edged(first: u8, fill: u8, last: u8) -> [u8; 32] {
	let mut bytes = [fill; 32];
	bytes[0] = first;
	bytes[31] = last;
	bytes
}

/// Whether a result can be sealed to the X25519 public key `key`: it is not of small order.
/// X25519 ignores the top bit of `u`, so neither does this.
pub fn is_usable_x25519_key(key: &[u8; 32]) -> bool {
	let mut u = *key;
	u[31] &= 0x7f;
	!SMALL_ORDER_X25519.contains(&u)
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
