//! The measured launch (DESIGN §5.1): which executor build, job runtime and sandbox
//! configuration a worker's TPM is in, as one PCR and its event log, and the sealing-key
//! policy that only that state satisfies.
//!
//! The executor PCR is [`EXECUTOR_PCR`] (11): not resettable at locality 0 (unlike 16 and 23),
//! and on hardware the PCR the OS's own measured launch fills (systemd-stub measures a unified
//! kernel image's sections into it, so an immutable OS image holding the executor lands
//! there). On swtpm, `vouch-executor launch` extends it itself: a simulation of that launch.
//! Either way the log is a list of SHA-256 digests, each extended in turn
//! (`PCR = SHA256(PCR || digest)`), and the chain replays it against the quote.

use super::{pcr_bitmap, verify::pcr_digest, BOOT_PCRS};
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

/// The SHA-256 PCR the measured launch extends: see the module documentation.
pub const EXECUTOR_PCR: u8 = 11;
/// Most entries in a launch log.
pub const MAX_LAUNCH_LOG: usize = 16;
/// `TPM_CC_PolicyPCR`.
const CC_POLICY_PCR: u32 = 0x0000_017F;
/// `TPM_ALG_SHA256`.
const SHA256_ALG: u16 = 0x000B;

/// Every PCR a Vouch quote and the sealing key's policy cover: the boot PCRs and
/// [`EXECUTOR_PCR`], in index order.
pub const QUOTED_PCRS: [u8; 9] = {
	let mut all = [0u8; 9];
	let mut i = 0;
	while i < BOOT_PCRS.len() {
		all[i] = BOOT_PCRS[i];
		i += 1;
	}
	all[8] = EXECUTOR_PCR;
	all
};

/// [`QUOTED_PCRS`] as a selection bitmap.
pub const QUOTED_PCR_SELECT: [u8; 3] = pcr_bitmap(&QUOTED_PCRS);

/// `PCR' = SHA256(PCR || digest)`: one SHA-256 PCR extension.
pub fn extend(pcr: &[u8; 32], digest: &[u8; 32]) -> [u8; 32] {
	let mut h = Sha256::new();
	h.update(pcr);
	h.update(digest);
	h.finalize().into()
}

/// The value of a PCR that started at zero and was extended with `log`, in order.
pub fn replay(log: &[[u8; 32]]) -> [u8; 32] {
	log.iter().fold([0u8; 32], |pcr, digest| extend(&pcr, digest))
}

/// The `authPolicy` of a key usable only while the SHA-256 PCRs selected by `select` (a
/// bitmap) have values whose [`pcr_digest`] is `values_digest`:
/// `SHA256(0^32 || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || values_digest)` (TPM 2.0 Part 3,
/// PolicyPCR), what a trial session running `TPM2_PolicyPCR` ends with.
pub fn policy_pcr(select: &[u8], values_digest: &[u8; 32]) -> [u8; 32] {
	let mut h = Sha256::new();
	h.update([0u8; 32]);
	h.update(CC_POLICY_PCR.to_be_bytes());
	// TPML_PCR_SELECTION: one TPMS_PCR_SELECTION (hash, sizeofSelect, pcrSelect).
	h.update(1u32.to_be_bytes());
	h.update(SHA256_ALG.to_be_bytes());
	h.update([select.len() as u8]);
	h.update(select);
	h.update(values_digest);
	h.finalize().into()
}

/// A worker's launch state, as registration establishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchState {
	/// The digest of the boot PCRs' values: an allowed boot state of the chain's policy.
	pub boot_digest: [u8; 32],
	/// The executor PCR's value, the replay of the log.
	pub executor_pcr: [u8; 32],
	/// The PCR digest every quote of this worker must carry: [`pcr_digest`] of the boot
	/// values and the executor PCR, over [`QUOTED_PCR_SELECT`].
	pub quote_digest: [u8; 32],
	/// The `authPolicy` the sealing key must have: [`policy_pcr`] of that state.
	pub sealing_policy: [u8; 32],
}

/// Why a launch state is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchError {
	/// Not one value per boot PCR.
	WrongBootPcrCount,
	/// The log is empty (nothing was measured) or longer than [`MAX_LAUNCH_LOG`].
	LogLength,
}

/// The launch state of a TPM whose boot PCRs hold `boot_values` (in [`BOOT_PCRS`] order) and
/// whose executor PCR was extended with `log`. That the TPM is in this state is what its
/// quotes show; that each logged build is allowed is the chain's to check.
pub fn launch_state(
	boot_values: &[[u8; 32]],
	log: &[[u8; 32]],
) -> Result<LaunchState, LaunchError> {
	if boot_values.len() != BOOT_PCRS.len() {
		return Err(LaunchError::WrongBootPcrCount);
	}
	if log.is_empty() || log.len() > MAX_LAUNCH_LOG {
		return Err(LaunchError::LogLength);
	}
	let executor_pcr = replay(log);
	let mut all: Vec<[u8; 32]> = boot_values.to_vec();
	all.push(executor_pcr);
	let quote_digest = pcr_digest(&all);
	Ok(LaunchState {
		boot_digest: pcr_digest(boot_values),
		executor_pcr,
		quote_digest,
		sealing_policy: policy_pcr(&QUOTED_PCR_SELECT, &quote_digest),
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_quoted_pcrs_are_the_boot_pcrs_and_pcr_11() {
		assert_eq!(QUOTED_PCR_SELECT, [0xff, 0x08, 0x00]);
	}

	#[test]
	fn replay_extends_in_order_from_zero() {
		let (a, b) = ([1u8; 32], [2u8; 32]);
		assert_eq!(replay(&[]), [0; 32]);
		assert_eq!(replay(&[a, b]), extend(&extend(&[0; 32], &a), &b));
		assert_ne!(replay(&[a, b]), replay(&[b, a]));
	}

	#[test]
	fn a_launch_state_needs_every_boot_pcr_and_a_bounded_nonempty_log() {
		let boot = [[0u8; 32]; 8];
		assert_eq!(launch_state(&boot[..7], &[[1; 32]]), Err(LaunchError::WrongBootPcrCount));
		assert_eq!(launch_state(&boot, &[]), Err(LaunchError::LogLength));
		assert_eq!(
			launch_state(&boot, &[[1; 32]; MAX_LAUNCH_LOG + 1]),
			Err(LaunchError::LogLength)
		);
		let state = launch_state(&boot, &[[1; 32]]).unwrap();
		let other = launch_state(&boot, &[[2; 32]]).unwrap();
		assert_eq!(state.boot_digest, other.boot_digest);
		assert_ne!(state.quote_digest, other.quote_digest);
		assert_ne!(state.sealing_policy, other.sealing_policy);
	}
}
