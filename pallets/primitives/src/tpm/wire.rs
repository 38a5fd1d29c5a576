//! TPM 2.0 wire structures (TPM 2.0 Library, Part 2), big-endian, parsed from bounded input:
//! every length is checked against what is left, trailing bytes are an error, nothing panics.

use alloc::vec::Vec;

/// Why bytes are not the TPM structure they should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
	/// The input ended inside a structure.
	Truncated,
	/// Bytes were left after the structure.
	TrailingBytes,
	/// A sized field is larger than its type allows.
	TooLarge,
	/// An algorithm, type or magic value this verifier does not accept.
	Unsupported,
}

/// A cursor over bounded input.
pub struct Reader<'a> {
	bytes: &'a [u8],
}

impl<'a> Reader<'a> {
	/// Reads `bytes` from the start.
	pub fn new(bytes: &'a [u8]) -> Self {
		Self { bytes }
	}

	/// The next `n` bytes.
	pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
		if self.bytes.len() < n {
			return Err(WireError::Truncated);
		}
		let (head, rest) = self.bytes.split_at(n);
		self.bytes = rest;
		Ok(head)
	}

	/// A `u8`.
	pub fn u8(&mut self) -> Result<u8, WireError> {
		Ok(self.take(1)?[0])
	}

	/// A big-endian `u16`.
	pub fn u16(&mut self) -> Result<u16, WireError> {
		let b = self.take(2)?;
		Ok(u16::from_be_bytes([b[0], b[1]]))
	}

	/// A big-endian `u32`.
	pub fn u32(&mut self) -> Result<u32, WireError> {
		let b = self.take(4)?;
		Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
	}

	/// A big-endian `u64`.
	pub fn u64(&mut self) -> Result<u64, WireError> {
		let mut b = [0u8; 8];
		b.copy_from_slice(self.take(8)?);
		Ok(u64::from_be_bytes(b))
	}

	/// A TPM2B: a `u16` size, then at most `max` bytes.
	pub fn sized(&mut self, max: usize) -> Result<&'a [u8], WireError> {
		let n = usize::from(self.u16()?);
		if n > max {
			return Err(WireError::TooLarge);
		}
		self.take(n)
	}

	/// Ends the structure: no byte may be left.
	pub fn finish(self) -> Result<(), WireError> {
		if self.bytes.is_empty() {
			Ok(())
		} else {
			Err(WireError::TrailingBytes)
		}
	}
}

/// Writes a TPM2B: `u16` size then the bytes.
pub fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) {
	out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
	out.extend_from_slice(bytes);
}

/// `TPM_ALG_ID`s this verifier knows.
pub mod alg {
	/// RSA.
	pub const RSA: u16 = 0x0001;
	/// SHA-256.
	pub const SHA256: u16 = 0x000B;
	/// SHA-384.
	pub const SHA384: u16 = 0x000C;
	/// No algorithm.
	pub const NULL: u16 = 0x0010;
	/// RSASSA-PKCS1-v1_5.
	pub const RSASSA: u16 = 0x0014;
	/// RSAES-PKCS1-v1_5 (no scheme details).
	pub const RSAES: u16 = 0x0015;
	/// RSASSA-PSS.
	pub const RSAPSS: u16 = 0x0016;
	/// RSAES-OAEP.
	pub const OAEP: u16 = 0x0017;
	/// ECDSA.
	pub const ECDSA: u16 = 0x0018;
	/// ECDH.
	pub const ECDH: u16 = 0x0019;
	/// ECDAA (its details carry a count as well).
	pub const ECDAA: u16 = 0x001A;
	/// SM2.
	pub const SM2: u16 = 0x001B;
	/// EC-Schnorr.
	pub const ECSCHNORR: u16 = 0x001C;
	/// Elliptic-curve keys.
	pub const ECC: u16 = 0x0023;
}

/// `TPM_ECC_CURVE`s.
pub mod curve {
	/// NIST P-256.
	pub const NIST_P256: u16 = 0x0003;
	/// NIST P-384.
	pub const NIST_P384: u16 = 0x0004;
}

/// `TPMA_OBJECT` bits.
pub mod attr {
	/// The key cannot be duplicated at all.
	pub const FIXED_TPM: u32 = 1 << 1;
	/// Cleared at every TPM Startup(CLEAR).
	pub const ST_CLEAR: u32 = 1 << 2;
	/// The key cannot be duplicated to another parent.
	pub const FIXED_PARENT: u32 = 1 << 4;
	/// The TPM made the secret itself.
	pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
	/// Usable with a password or HMAC.
	pub const USER_WITH_AUTH: u32 = 1 << 6;
	/// Administered by policy only.
	pub const ADMIN_WITH_POLICY: u32 = 1 << 7;
	/// Not subject to dictionary-attack protection.
	pub const NO_DA: u32 = 1 << 10;
	/// Signs only TPM-made structures (or decrypts only TPM-made secrets).
	pub const RESTRICTED: u32 = 1 << 16;
	/// A decryption key.
	pub const DECRYPT: u32 = 1 << 17;
	/// A signing key.
	pub const SIGN: u32 = 1 << 18;
}

impl core::fmt::Display for WireError {
	fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
		f.write_str(match self {
			Self::Truncated => "the TPM structure is truncated",
			Self::TrailingBytes => "bytes follow the TPM structure",
			Self::TooLarge => "a sized TPM field is too large",
			Self::Unsupported => "an unsupported TPM algorithm, type or magic value",
		})
	}
}

impl core::error::Error for WireError {}
