//! TPM 2.0 evidence (DESIGN §5): parsers and verifiers that run inside the wasm runtime and in
//! the executor and CLI alike. Every parser bounds its input, rejects trailing bytes and never
//! panics on garbage; the cryptography is RustCrypto's (`p256`, `p384`, `rsa`, `sha2`,
//! `x509-cert`), none of it hand-written.
//!
//! What a verified quote proves: a genuine TPM (its EK certificate chains to a trusted
//! manufacturer root), through the attestation key registered for it, in an allowed boot state
//! (the policy's PCR digest), signed Vouch's nonce — the task's measurements and a recent block
//! hash — after that block. It does not prove honest software unless the boot PCRs pin a
//! known-good OS and executor.

pub mod attest;
pub mod ek;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod nonce;
pub mod public;
pub mod registration;
pub mod verify;
pub mod wire;

#[cfg(test)]
mod tests;
