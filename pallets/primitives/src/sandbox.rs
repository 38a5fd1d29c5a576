//! The sandbox a job runs in (DESIGN §8), as one typed value that the executor turns into a
//! Docker HostConfig, reads back from what the daemon reports after `create`, and hashes into
//! its quotes; a monitor or the chain derives the same value from the lambda's manifest and
//! the task's requirements ([`SandboxPolicy::for_task`]) and so knows which hash to expect.
//!
//! Only what varies per task is a field. What every Vouch sandbox has (read-only root, every
//! capability dropped, no new privileges, the default seccomp profile, no IPC namespace
//! sharing, a non-root user, no core dumps, inputs read-only, nothing mounted but the staging
//! inputs, the work dir and the output dir) is not a choice: the executor refuses a container
//! the daemon reports otherwise, so the hash of a policy stands for all of it.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sha2::{Digest, Sha256};

/// The user and group every job runs as (not root, not in the image's passwd by necessity).
pub const JOB_UID: u32 = 10001;
/// Processes and threads a job may have at once.
pub const PIDS_LIMIT: u32 = 64;
/// Open files per process.
pub const NOFILE_LIMIT: u32 = 256;
/// The job's scratch space (`/work`), a tmpfs counted in the job's memory.
pub const WORK_TMPFS_BYTES: u64 = 64 << 20;
/// What the daemon keeps of the job's stdout and stderr (json-file, one file).
pub const LOG_MAX_BYTES: u64 = 1 << 20;
/// Where the job finds its inputs (read-only), scratch space and output dir.
pub const INPUTS_DIR: &str = "/inputs";
/// The job's scratch dir.
pub const WORK_DIR: &str = "/work";
/// The job's output dir: everything in it is the result.
pub const OUTPUT_DIR: &str = "/output";

/// The limits a lambda's manifest sets for its job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobLimits {
	/// CPU in thousandths of a core.
	pub cpu_millicores: u32,
	/// Memory in MiB (no swap).
	pub memory_mib: u32,
	/// Wall-clock limit in seconds, then the job is killed.
	pub time_limit_secs: u32,
	/// Largest result, in bytes.
	pub max_output_bytes: u64,
}

/// Everything about a job's container that varies per task; see the module documentation
/// for what is fixed.
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
pub struct SandboxPolicy {
	/// No network at all (`network_mode: none`); otherwise Docker's default bridge.
	pub network_none: bool,
	/// Memory in bytes; memory plus swap is the same figure, so no swap.
	pub memory_bytes: u64,
	/// CPU in billionths of a core (`nano_cpus`).
	pub nano_cpus: u64,
	/// Processes and threads.
	pub pids_limit: u32,
	/// Open files per process (soft and hard).
	pub nofile: u32,
	/// Largest file a job may write (`fsize`, soft and hard), in bytes.
	pub fsize_bytes: u64,
	/// Size of the `/work` tmpfs.
	pub work_tmpfs_bytes: u64,
	/// Size of the `/output` tmpfs: the result cap rounded up to pages, and one page more, so
	/// that going over the cap is seen rather than silently cut.
	pub output_tmpfs_bytes: u64,
	/// The job's uid and gid.
	pub uid: u32,
	/// What the daemon keeps of stdout and stderr.
	pub log_max_bytes: u64,
	/// Wall-clock limit in seconds.
	pub time_limit_secs: u32,
}

/// One page: tmpfs sizes are counted in pages.
const PAGE: u64 = 4096;

impl SandboxPolicy {
	/// The policy of a task: the lambda's limits and the requester's network requirement.
	/// The chain, the executor and every monitor compute it with this one function.
	pub fn for_task(limits: &JobLimits, network_none: bool) -> Self {
		// The kernel sizes a tmpfs in whole pages: round up, so the executor's measurement of
		// the mount it made equals the policy.
		let output_tmpfs_bytes =
			limits.max_output_bytes.div_ceil(PAGE).saturating_mul(PAGE).saturating_add(PAGE);
		Self {
			network_none,
			memory_bytes: u64::from(limits.memory_mib) << 20,
			nano_cpus: u64::from(limits.cpu_millicores) * 1_000_000,
			pids_limit: PIDS_LIMIT,
			nofile: NOFILE_LIMIT,
			fsize_bytes: output_tmpfs_bytes.max(WORK_TMPFS_BYTES),
			work_tmpfs_bytes: WORK_TMPFS_BYTES,
			output_tmpfs_bytes,
			uid: JOB_UID,
			log_max_bytes: LOG_MAX_BYTES,
			time_limit_secs: limits.time_limit_secs,
		}
	}

	/// `SHA256("vouch/sandbox/v1" ++ policy)`, SCALE-encoded: the
	/// [`crate::tpm::nonce::Measurements::sandbox_policy_hash`] the executor quotes.
	pub fn hash(&self) -> [u8; 32] {
		Sha256::digest((b"vouch/sandbox/v1", self).encode()).into()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const LIMITS: JobLimits = JobLimits {
		cpu_millicores: 500,
		memory_mib: 128,
		time_limit_secs: 30,
		max_output_bytes: 1 << 20,
	};

	#[test]
	fn a_task_policy_follows_the_manifest_and_the_requirements() {
		let policy = SandboxPolicy::for_task(&LIMITS, true);
		assert_eq!(policy.memory_bytes, 128 << 20);
		assert_eq!(policy.nano_cpus, 500_000_000);
		assert_eq!(policy.output_tmpfs_bytes, (1 << 20) + 4096);
		assert_eq!(policy.time_limit_secs, 30);
		assert_eq!(policy.uid, JOB_UID);
		assert!(policy.network_none);
	}

	#[test]
	fn every_field_changes_the_hash() {
		let base = SandboxPolicy::for_task(&LIMITS, true);
		let variants = [
			SandboxPolicy { network_none: false, ..base },
			SandboxPolicy { memory_bytes: base.memory_bytes + 1, ..base },
			SandboxPolicy { nano_cpus: base.nano_cpus + 1, ..base },
			SandboxPolicy { pids_limit: base.pids_limit + 1, ..base },
			SandboxPolicy { nofile: base.nofile + 1, ..base },
			SandboxPolicy { fsize_bytes: base.fsize_bytes + 1, ..base },
			SandboxPolicy { work_tmpfs_bytes: base.work_tmpfs_bytes + 1, ..base },
			SandboxPolicy { output_tmpfs_bytes: base.output_tmpfs_bytes + 1, ..base },
			SandboxPolicy { uid: 0, ..base },
			SandboxPolicy { log_max_bytes: base.log_max_bytes + 1, ..base },
			SandboxPolicy { time_limit_secs: base.time_limit_secs + 1, ..base },
		];
		for (i, v) in variants.iter().enumerate() {
			assert_ne!(v.hash(), base.hash(), "variant {i}");
		}
		assert_eq!(SandboxPolicy::for_task(&LIMITS, true).hash(), base.hash());
	}

	#[test]
	fn huge_limits_saturate_instead_of_wrapping() {
		let huge = JobLimits { max_output_bytes: u64::MAX, ..LIMITS };
		assert_eq!(SandboxPolicy::for_task(&huge, true).output_tmpfs_bytes, u64::MAX);
		let odd = JobLimits { max_output_bytes: 5000, ..LIMITS };
		assert_eq!(SandboxPolicy::for_task(&odd, true).output_tmpfs_bytes, 3 * 4096);
	}
}
