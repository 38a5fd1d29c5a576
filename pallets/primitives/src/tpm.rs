//! TPM 2.0 evidence (DESIGN §5): parsers and verifiers that run inside the wasm runtime and in
//! the executor and CLI alike. Every parser bounds its input, rejects trailing bytes and never
//! panics on garbage; the cryptography is RustCrypto's (`p256`, `p384`, `rsa`, `sha2`,
//! `x509-cert`), none of it hand-written.
//!
//! What a verified quote proves: a genuine TPM (its EK certificate chains to a trusted
//! manufacturer root), through the attestation key registered for it, in an allowed boot state
//! (the policy's PCR digest), signed Vouch's nonce — the task's measurements and a recent block
//! hash — after that block, in the worker's registered launch state ([`launch`]): the boot
//! PCRs and the executor PCR, whose event log names the executor build, job runtime and
//! sandbox configuration the chain allowed.

/// The SHA-256 PCRs every Vouch quote covers: 0 to 7 (firmware, boot loader, kernel). The
/// executor's TPM service quotes them; the chain's quote policy selects them.
pub const BOOT_PCRS: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

/// [`BOOT_PCRS`] as the selection bitmap a TPMS_PCR_SELECTION carries (PCR `n` is bit `n % 8`
/// of byte `n / 8`), as the chain's quote policy stores it.
pub const BOOT_PCR_SELECT: [u8; 3] = pcr_bitmap(&BOOT_PCRS);

/// The selection bitmap of `pcrs` (PCRs 0 to 23).
pub const fn pcr_bitmap(pcrs: &[u8]) -> [u8; 3] {
	let mut bitmap = [0u8; 3];
	let mut i = 0;
	while i < pcrs.len() {
		bitmap[(pcrs[i] / 8) as usize] |= 1 << (pcrs[i] % 8);
		i += 1;
	}
	bitmap
}

pub mod attest;
pub mod credential;
pub mod ek;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod launch;
pub mod nonce;
pub mod public;
pub mod registration;
pub mod verify;
pub mod wire;

#[cfg(test)]
mod tests;
