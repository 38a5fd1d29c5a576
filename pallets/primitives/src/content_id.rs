//! Content identifiers of Vouch blobs: CIDv1 with the raw codec (0x55) over a SHA-256
//! multihash (0x12), printed in the lowercase base32 form IPFS prints (`bafkrei...`). Any store
//! can serve any blob, because whoever fetches it recomputes the identifier from the bytes.
//!
//! Parsing and printing go through the `cid` crate; this module only narrows it to the one
//! kind of CID a Vouch store holds, so every refusal names what was wrong.

use core::{fmt, str::FromStr};

use cid::{multihash::Multihash, Cid, Version};
use sha2::{Digest, Sha256};

/// The multicodec of raw bytes: a blob is its own bytes, no IPLD structure.
pub const RAW_CODEC: u64 = 0x55;
/// The multihash code of SHA2-256.
pub const SHA2_256: u64 = 0x12;

/// The identifier of one blob: the SHA-256 of its bytes, as a CIDv1 (raw, sha2-256).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId {
	digest: [u8; 32],
}

/// Why a string is not the identifier of a Vouch blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidError {
	/// Not a CID at all (bad multibase, varint or multihash): the parser's words.
	Malformed(String),
	/// A CIDv0 (`Qm...`): those are dag-pb, never raw bytes.
	NotVersion1,
	/// A CIDv1 of another codec than raw (0x55), e.g. dag-pb (0x70).
	NotRaw {
		/// The codec found.
		codec: u64,
	},
	/// A multihash other than a 32-byte SHA2-256.
	NotSha256 {
		/// The multihash code found.
		code: u64,
		/// The digest length found.
		length: u8,
	},
}

impl fmt::Display for CidError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::Malformed(why) => write!(f, "not a CID: {why}"),
			Self::NotVersion1 => write!(f, "a CIDv0; Vouch blobs are CIDv1 (raw, sha2-256)"),
			Self::NotRaw { codec } => {
				write!(f, "codec 0x{codec:x}; Vouch blobs use the raw codec 0x55")
			},
			Self::NotSha256 { code, length } => write!(
				f,
				"multihash 0x{code:x} of {length} bytes; Vouch blobs use sha2-256 (0x12, 32 bytes)"
			),
		}
	}
}

impl std::error::Error for CidError {}

impl ContentId {
	/// The identifier of `bytes`.
	pub fn of(bytes: &[u8]) -> Self {
		Self::from_digest(Sha256::digest(bytes).into())
	}

	/// The identifier of the blob whose SHA-256 is `digest` (a streaming hasher's result).
	pub fn from_digest(digest: [u8; 32]) -> Self {
		Self { digest }
	}

	/// The SHA-256 of the blob's bytes.
	pub fn digest(&self) -> &[u8; 32] {
		&self.digest
	}

	/// The identifier as a `cid` crate value, for IPFS tooling.
	pub fn to_cid(&self) -> Cid {
		let hash =
			Multihash::wrap(SHA2_256, &self.digest).expect("32 bytes fit a 64-byte multihash");
		Cid::new_v1(RAW_CODEC, hash)
	}

	/// The binary CID (version, codec, multihash), as IPFS gateways and CAR files carry it.
	pub fn to_bytes(&self) -> Vec<u8> {
		self.to_cid().to_bytes()
	}

	/// Parses the string form (any multibase the `cid` crate reads; IPFS prints base32).
	pub fn parse(text: &str) -> Result<Self, CidError> {
		let cid = Cid::try_from(text).map_err(|e| CidError::Malformed(e.to_string()))?;
		if cid.version() != Version::V1 {
			return Err(CidError::NotVersion1);
		}
		if cid.codec() != RAW_CODEC {
			return Err(CidError::NotRaw { codec: cid.codec() });
		}
		let hash = cid.hash();
		if hash.code() != SHA2_256 || hash.size() != 32 {
			return Err(CidError::NotSha256 { code: hash.code(), length: hash.size() });
		}
		let mut digest = [0u8; 32];
		digest.copy_from_slice(hash.digest());
		Ok(Self { digest })
	}
}

impl FromStr for ContentId {
	type Err = CidError;
	fn from_str(text: &str) -> Result<Self, CidError> {
		Self::parse(text)
	}
}

impl fmt::Display for ContentId {
	/// The base32 string form, `bafkrei...` (59 characters).
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "{}", self.to_cid())
	}
}

impl fmt::Debug for ContentId {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "ContentId({self})")
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	// The raw-leaf CIDv1 of "hello world\n" (what `ipfs add --cid-version 1 --raw-leaves`
	// prints), computed independently: "b" ++ base32(01 55 12 20 ++ sha256(bytes)).
	const HELLO: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

	#[test]
	fn the_identifier_of_bytes_is_the_one_ipfs_prints() {
		let id = ContentId::of(b"hello world\n");
		assert_eq!(id.to_string(), HELLO);
		assert_eq!(HELLO.parse::<ContentId>(), Ok(id));
		// Binary form: version 1, raw, sha2-256 of 32 bytes, then the digest.
		assert_eq!(&id.to_bytes()[..4], &[0x01, 0x55, 0x12, 0x20]);
		assert_eq!(&id.to_bytes()[4..], id.digest());
	}

	#[test]
	fn other_kinds_of_cid_are_refused_by_name() {
		// An IPFS file (CIDv0, dag-pb).
		assert_eq!(
			ContentId::parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
			Err(CidError::NotVersion1)
		);
		// CIDv1 dag-pb of the same kind of content.
		let dag_pb = Cid::new_v1(0x70, Multihash::wrap(SHA2_256, &[7; 32]).unwrap());
		assert_eq!(ContentId::parse(&dag_pb.to_string()), Err(CidError::NotRaw { codec: 0x70 }));
		// Raw, but blake2b-256 (0xb220).
		let blake = Cid::new_v1(RAW_CODEC, Multihash::wrap(0xb220, &[7; 32]).unwrap());
		assert_eq!(
			ContentId::parse(&blake.to_string()),
			Err(CidError::NotSha256 { code: 0xb220, length: 32 })
		);
		for garbage in ["", "bafy input", "bafkrei", "zzzz", "b!!!!"] {
			assert!(matches!(ContentId::parse(garbage), Err(CidError::Malformed(_))), "{garbage}");
		}
	}

	proptest::proptest! {
		#[test]
		fn every_identifier_round_trips_through_its_string(digest: [u8; 32]) {
			let id = ContentId::from_digest(digest);
			proptest::prop_assert_eq!(id.to_string().parse::<ContentId>(), Ok(id));
		}

		#[test]
		fn parsing_arbitrary_text_never_panics(text in "\\PC{0,80}") {
			let _ = ContentId::parse(&text);
		}
	}
}
