//! The records this pallet keeps: a lambda and its manifest.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;

/// A content identifier (IPFS CID or similar), printable ASCII.
pub type Cid = BoundedVec<u8, ConstU32<{ crate::MAX_CID_LEN }>>;
/// A short string of the manifest: entrypoint, one argument, one env entry.
pub type ManifestString = BoundedVec<u8, ConstU32<{ crate::MAX_MANIFEST_STRING_LEN }>>;

/// How the executor runs the job, and within what limits. The executor enforces the limits in
/// its sandbox (DESIGN §8); monitors attest that it did.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Manifest {
	/// The program started in the container.
	pub entrypoint: ManifestString,
	/// Its arguments.
	pub args: BoundedVec<ManifestString, ConstU32<{ crate::MAX_ARGS }>>,
	/// Environment entries, each `NAME=value`.
	pub env: BoundedVec<ManifestString, ConstU32<{ crate::MAX_ARGS }>>,
	/// CPU limit in thousandths of a core (1000 = one core).
	pub cpu_millicores: u32,
	/// Memory limit in MiB (no swap).
	pub memory_mib: u32,
	/// Wall-clock limit of one run, in seconds.
	pub time_limit_secs: u32,
	/// Largest result the job may produce, in bytes.
	pub max_output_bytes: u64,
}

impl Manifest {
	/// The limits the sandbox enforces for this manifest's job: with the task's network
	/// requirement, they make the sandbox policy every party computes.
	pub fn limits(&self) -> vouch_primitives::sandbox::JobLimits {
		vouch_primitives::sandbox::JobLimits {
			cpu_millicores: self.cpu_millicores,
			memory_mib: self.memory_mib,
			time_limit_secs: self.time_limit_secs,
			max_output_bytes: self.max_output_bytes,
		}
	}
}

/// A published lambda: Bob's code, the image it runs in, how it runs, and its price per use.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Lambda<AccountId, Balance> {
	/// The developer: sets the price, receives it, may retire the lambda.
	pub owner: AccountId,
	/// Where the (possibly encrypted) code is stored.
	pub code_cid: Cid,
	/// The image's digest (sha256 of its config): what the executor must run, exactly.
	pub image_digest: [u8; 32],
	/// Where the image is stored.
	pub image_cid: Cid,
	/// How it runs.
	pub manifest: Manifest,
	/// What one run costs the requester, paid to the owner at settlement.
	pub price: Balance,
	/// Whether the code is encrypted: the owner then releases its key to each executor.
	pub encrypted: bool,
	/// Retired lambdas take no new tasks; tasks already posted run to their end.
	pub retired: bool,
	/// Settled runs: the developer's public record.
	pub runs: u32,
	/// Runs that failed by the job's own fault.
	pub failures: u32,
}
