//! TPMT_PUBLIC: a TPM key's public area, and the names that identify keys by hash.

use super::wire::{alg, curve, put_sized, Reader, WireError};
use alloc::vec::Vec;
use sha2::{Digest, Sha256, Sha384};

/// Largest RSA modulus accepted (RSA-4096).
const MAX_RSA_BYTES: usize = 512;
/// Largest ECC coordinate accepted (P-521 fits, for parsing; only P-256/P-384 verify).
const MAX_ECC_BYTES: usize = 66;
/// Largest policy digest (SHA-512).
const MAX_DIGEST: usize = 64;
/// `TPM_RH_ENDORSEMENT`: the endorsement hierarchy, the EK's parent.
pub const RH_ENDORSEMENT: u32 = 0x4000_000B;

/// A key's scheme: an algorithm and, for most, a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheme {
	/// `TPM_ALG_NULL` for none.
	pub alg: u16,
	/// The scheme's hash, `TPM_ALG_NULL` if it has none.
	pub hash: u16,
}

/// The key-type-specific part of a public area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyParams {
	/// An RSA key.
	Rsa {
		/// The symmetric algorithm of a storage key, `TPM_ALG_NULL` otherwise.
		symmetric: u16,
		/// The signing or encryption scheme.
		scheme: Scheme,
		/// Modulus size in bits.
		key_bits: u16,
		/// Public exponent; 0 means the default 65537.
		exponent: u32,
		/// The modulus, big-endian.
		modulus: Vec<u8>,
	},
	/// An elliptic-curve key.
	Ecc {
		/// The symmetric algorithm of a storage key, `TPM_ALG_NULL` otherwise.
		symmetric: u16,
		/// The signing or key-exchange scheme.
		scheme: Scheme,
		/// `TPM_ECC_CURVE`.
		curve: u16,
		/// The KDF scheme, `TPM_ALG_NULL` for none.
		kdf: Scheme,
		/// The point's x coordinate, big-endian.
		x: Vec<u8>,
		/// The point's y coordinate.
		y: Vec<u8>,
	},
}

/// A parsed TPMT_PUBLIC, with the bytes it was parsed from (its name hashes them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Public {
	/// The hash algorithm of the key's name.
	pub name_alg: u16,
	/// `TPMA_OBJECT`.
	pub attributes: u32,
	/// The policy that authorises use of the key (empty for none).
	pub auth_policy: Vec<u8>,
	/// Type-specific parameters and the public key.
	pub params: KeyParams,
	/// The TPMT_PUBLIC bytes.
	pub bytes: Vec<u8>,
}

fn symmetric(r: &mut Reader) -> Result<u16, WireError> {
	let algorithm = r.u16()?;
	if algorithm != alg::NULL {
		// keyBits and mode of a storage key's symmetric definition.
		r.u16()?;
		r.u16()?;
	}
	Ok(algorithm)
}

fn scheme(r: &mut Reader) -> Result<Scheme, WireError> {
	let a = r.u16()?;
	let hash = match a {
		alg::NULL | alg::RSAES => alg::NULL,
		alg::RSASSA
		| alg::RSAPSS
		| alg::OAEP
		| alg::ECDSA
		| alg::ECDH
		| alg::SM2
		| alg::ECSCHNORR => r.u16()?,
		alg::ECDAA => {
			let hash = r.u16()?;
			r.u16()?; // count
			hash
		},
		_ => return Err(WireError::Unsupported),
	};
	Ok(Scheme { alg: a, hash })
}

fn kdf(r: &mut Reader) -> Result<Scheme, WireError> {
	let a = r.u16()?;
	let hash = if a == alg::NULL { alg::NULL } else { r.u16()? };
	Ok(Scheme { alg: a, hash })
}

impl Public {
	/// Parses a TPM2B_PUBLIC (size, then TPMT_PUBLIC), as the TPM outputs it.
	pub fn from_tpm2b(bytes: &[u8]) -> Result<Self, WireError> {
		let mut r = Reader::new(bytes);
		let inner = r.sized(bytes.len())?;
		r.finish()?;
		Self::parse(inner)
	}

	/// Parses a TPMT_PUBLIC.
	pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
		let mut r = Reader::new(bytes);
		let key_type = r.u16()?;
		let name_alg = r.u16()?;
		if !matches!(name_alg, alg::SHA256 | alg::SHA384) {
			return Err(WireError::Unsupported);
		}
		let attributes = r.u32()?;
		let auth_policy = r.sized(MAX_DIGEST)?.to_vec();
		let params = match key_type {
			alg::RSA => {
				let symmetric = symmetric(&mut r)?;
				let scheme = scheme(&mut r)?;
				let key_bits = r.u16()?;
				let exponent = r.u32()?;
				let modulus = r.sized(MAX_RSA_BYTES)?.to_vec();
				KeyParams::Rsa { symmetric, scheme, key_bits, exponent, modulus }
			},
			alg::ECC => {
				let symmetric = symmetric(&mut r)?;
				let scheme = scheme(&mut r)?;
				let curve = r.u16()?;
				let kdf = kdf(&mut r)?;
				let x = r.sized(MAX_ECC_BYTES)?.to_vec();
				let y = r.sized(MAX_ECC_BYTES)?.to_vec();
				KeyParams::Ecc { symmetric, scheme, curve, kdf, x, y }
			},
			_ => return Err(WireError::Unsupported),
		};
		r.finish()?;
		Ok(Self { name_alg, attributes, auth_policy, params, bytes: bytes.to_vec() })
	}

	/// The key's name: its name algorithm's id, then the hash of the TPMT_PUBLIC bytes.
	pub fn name(&self) -> Vec<u8> {
		named(self.name_alg, &self.bytes)
	}

	/// The SEC1 uncompressed point of a P-256 key (`04 || x || y`), if this is one.
	pub fn p256_point(&self) -> Option<[u8; 65]> {
		match &self.params {
			KeyParams::Ecc { curve: curve::NIST_P256, x, y, .. }
				if x.len() <= 32 && y.len() <= 32 =>
			{
				let mut point = [0u8; 65];
				point[0] = 4;
				// The TPM may strip leading zeros: left-pad each coordinate.
				point[33 - x.len()..33].copy_from_slice(x);
				point[65 - y.len()..].copy_from_slice(y);
				Some(point)
			},
			_ => None,
		}
	}
}

/// `alg || H_alg(data)` for SHA-256 or SHA-384 (anything else hashes with SHA-256; parsing
/// rejects other name algorithms before this is reached).
pub fn named(name_alg: u16, data: &[u8]) -> Vec<u8> {
	let mut out = Vec::with_capacity(50);
	out.extend_from_slice(&name_alg.to_be_bytes());
	match name_alg {
		alg::SHA384 => out.extend_from_slice(&Sha384::digest(data)),
		_ => out.extend_from_slice(&Sha256::digest(data)),
	}
	out
}

/// The qualified name of an EK: `QN(EK) = nameAlg || H(TPM_RH_ENDORSEMENT || Name(EK))`.
pub fn ek_qualified_name(ek: &Public) -> Vec<u8> {
	let mut data = RH_ENDORSEMENT.to_be_bytes().to_vec();
	data.extend_from_slice(&ek.name());
	named(ek.name_alg, &data)
}

/// The qualified name of a key whose parent has qualified name `parent_qn`:
/// `QN = nameAlg || H(QN(parent) || Name(key))`.
pub fn qualified_name(parent_qn: &[u8], key: &Public) -> Vec<u8> {
	let mut data = parent_qn.to_vec();
	data.extend_from_slice(&key.name());
	named(key.name_alg, &data)
}

/// Re-encodes `bytes` as a TPM2B (for tests and tools that hold a bare TPMT_PUBLIC).
pub fn to_tpm2b(bytes: &[u8]) -> Vec<u8> {
	let mut out = Vec::with_capacity(bytes.len() + 2);
	put_sized(&mut out, bytes);
	out
}
