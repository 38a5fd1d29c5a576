//! TPMS_ATTEST (what a TPM signs for a quote or a certification) and TPMT_SIGNATURE.

use super::wire::{alg, Reader, WireError};
use alloc::vec::Vec;

/// `TPM_GENERATED_VALUE`: the magic that only the TPM puts at the head of what it signs.
pub const TPM_GENERATED: u32 = 0xFF54_4347;
/// `TPM_ST_ATTEST_CERTIFY`.
pub const ST_ATTEST_CERTIFY: u16 = 0x8017;
/// `TPM_ST_ATTEST_QUOTE`.
pub const ST_ATTEST_QUOTE: u16 = 0x8018;
/// Largest name (algorithm id and a SHA-512 digest).
const MAX_NAME: usize = 66;
/// Largest qualifying data (TPM2B_DATA on SHA-512 TPMs).
const MAX_DATA: usize = 66;
/// Most PCR banks in a selection.
const MAX_BANKS: u32 = 16;

/// The TPM's clock when it signed (TPMS_CLOCK_INFO). The chain keeps the last one per
/// attestation key, so that a quote cannot be older than one already seen.
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
pub struct ClockInfo {
	/// Milliseconds the TPM has been powered since its clock was last set.
	pub clock: u64,
	/// TPM Resets (reboots) so far.
	pub reset_count: u32,
	/// TPM Restarts (resumes) since the last reset.
	pub restart_count: u32,
	/// Whether the clock has not run backwards since it was last set.
	pub safe: bool,
}

/// One bank of a PCR selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcrBank {
	/// The bank's hash algorithm.
	pub hash: u16,
	/// The selection bitmap: bit `i % 8` of byte `i / 8` selects PCR `i`.
	pub select: Vec<u8>,
}

/// What a TPMS_ATTEST attests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attested {
	/// `TPM2_Quote`: a digest of the selected PCRs.
	Quote {
		/// The PCRs quoted.
		selection: Vec<PcrBank>,
		/// Hash of the selected PCR values, in selection order.
		pcr_digest: Vec<u8>,
	},
	/// `TPM2_Certify`: a loaded key's name.
	Certify {
		/// The certified key's name.
		name: Vec<u8>,
		/// Its qualified name.
		qualified_name: Vec<u8>,
	},
}

/// A parsed TPMS_ATTEST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attest {
	/// The qualified name of the signing key.
	pub qualified_signer: Vec<u8>,
	/// The caller's qualifying data (Vouch's nonce).
	pub extra_data: Vec<u8>,
	/// The TPM's clock.
	pub clock: ClockInfo,
	/// The TPM firmware version.
	pub firmware_version: u64,
	/// The attested content.
	pub attested: Attested,
}

impl Attest {
	/// Parses a TPMS_ATTEST: the magic must be `TPM_GENERATED_VALUE` and the type a quote or a
	/// certification.
	pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
		let mut r = Reader::new(bytes);
		if r.u32()? != TPM_GENERATED {
			return Err(WireError::Unsupported);
		}
		let kind = r.u16()?;
		let qualified_signer = r.sized(MAX_NAME)?.to_vec();
		let extra_data = r.sized(MAX_DATA)?.to_vec();
		let clock = ClockInfo {
			clock: r.u64()?,
			reset_count: r.u32()?,
			restart_count: r.u32()?,
			safe: match r.u8()? {
				0 => false,
				1 => true,
				_ => return Err(WireError::Unsupported),
			},
		};
		let firmware_version = r.u64()?;
		let attested = match kind {
			ST_ATTEST_QUOTE => {
				let banks = r.u32()?;
				if banks > MAX_BANKS {
					return Err(WireError::TooLarge);
				}
				let mut selection = Vec::new();
				for _ in 0..banks {
					let hash = r.u16()?;
					let size = usize::from(r.u8()?);
					selection.push(PcrBank { hash, select: r.take(size)?.to_vec() });
				}
				Attested::Quote { selection, pcr_digest: r.sized(MAX_NAME)?.to_vec() }
			},
			ST_ATTEST_CERTIFY => Attested::Certify {
				name: r.sized(MAX_NAME)?.to_vec(),
				qualified_name: r.sized(MAX_NAME)?.to_vec(),
			},
			_ => return Err(WireError::Unsupported),
		};
		r.finish()?;
		Ok(Self { qualified_signer, extra_data, clock, firmware_version, attested })
	}
}

/// A parsed ECDSA TPMT_SIGNATURE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcdsaSignature {
	/// The hash the TPM signed with.
	pub hash: u16,
	/// `r`, left-padded to 32 bytes.
	pub r: [u8; 32],
	/// `s`, left-padded to 32 bytes.
	pub s: [u8; 32],
}

impl EcdsaSignature {
	/// Parses a TPMT_SIGNATURE that must be ECDSA with a P-256-sized `r` and `s`.
	pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
		let mut r = Reader::new(bytes);
		if r.u16()? != alg::ECDSA {
			return Err(WireError::Unsupported);
		}
		let hash = r.u16()?;
		let sig_r = pad32(r.sized(32)?);
		let sig_s = pad32(r.sized(32)?);
		r.finish()?;
		Ok(Self { hash, r: sig_r, s: sig_s })
	}
}

fn pad32(bytes: &[u8]) -> [u8; 32] {
	let mut out = [0u8; 32];
	out[32 - bytes.len()..].copy_from_slice(bytes);
	out
}
