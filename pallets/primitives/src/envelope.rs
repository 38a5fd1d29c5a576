//! Sealed envelopes: how Vouch encrypts an object (code, input, result) and hands its key to
//! exactly one party. Shared by the executor and every client, so both sides read one format.
//!
//! - An object is encrypted under a fresh 256-bit [`DataKey`] with XChaCha20-Poly1305 in the
//!   STREAM construction (`aead::stream`, big-endian 32-bit counter and last-segment flag), in
//!   fixed segments of [`SEGMENT_SIZE`] bytes, so objects of any size stream in constant memory
//!   and a reordered, dropped or truncated segment fails to decrypt.
//! - An input's (or encrypted code's) data key is sealed to the executor's certified TPM
//!   sealing key with RSA-OAEP-SHA256 and a label naming the task and the slot
//!   ([`sealed_key_label`], [`seal_to_tpm`]): only that TPM can open it, and only for that
//!   task's slot.
//! - A result's data key is sealed to each recipient's X25519 key with HPKE (RFC 9180, base
//!   mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305) ([`seal_to_recipient`]).
//!
//! Byte layout of an envelope (all integers big-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 8 | magic `VOUCHEV1` |
//! | 4 | segment size `S` in plaintext bytes (65 536) |
//! | 19 | STREAM nonce prefix, random per envelope |
//! | ... | segments: each `S` plaintext bytes + a 16-byte tag; the last holds 0 to `S` bytes |
//!
//! The 31 header bytes are every segment's associated data, so the header cannot be altered.
//! An envelope of `n` plaintext bytes is `31 + n + 16 * max(1, ceil(n / S))` bytes long.

use std::io::{self, Read, Write};

use chacha20poly1305::{
	aead::{
		stream::{DecryptorBE32, EncryptorBE32},
		KeyInit,
	},
	XChaCha20Poly1305,
};
use rand_core::{OsRng, RngCore, UnwrapErr};

/// The operating system's generator, as the infallible kind hpke and key generation take.
fn os_rng() -> UnwrapErr<OsRng> {
	UnwrapErr(OsRng)
}

/// The magic that starts every envelope (and its format version).
pub const MAGIC: [u8; 8] = *b"VOUCHEV1";
/// Plaintext bytes per segment.
pub const SEGMENT_SIZE: usize = 64 * 1024;
/// The Poly1305 tag after each segment.
pub const TAG_SIZE: usize = 16;
/// The STREAM nonce prefix: XChaCha20's 24-byte nonce less the 5 bytes of counter and flag.
pub const NONCE_PREFIX_SIZE: usize = 19;
/// The header: magic, segment size, nonce prefix.
pub const HEADER_SIZE: usize = 8 + 4 + NONCE_PREFIX_SIZE;

/// The OAEP label's prefix of data keys sealed to a worker's TPM ([`sealed_key_label`]).
pub const SEALED_KEY_LABEL_PREFIX: &str = "vouch-sealed-key";

/// The OAEP label of the data key released for `slot` of `task`: the ASCII text
/// `vouch-sealed-key/<task>/<slot>` (both in decimal) and one zero byte, which the TPM requires
/// at a label's end and hashes with it. OAEP binds the label into the ciphertext, so a key
/// released to one task's slot fails to decrypt under any other task or slot: replaying
/// another owner's public `release_key` bytes into one's own task opens nothing.
pub fn sealed_key_label(task: crate::TaskId, slot: u32) -> String {
	format!("{SEALED_KEY_LABEL_PREFIX}/{task}/{slot}\0")
}
/// The HPKE `info` of result keys sealed to a recipient.
pub const RESULT_KEY_INFO: &[u8] = b"vouch/result-key";

/// A 256-bit object key. Wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl DataKey {
	/// A fresh key from the operating system's generator.
	pub fn generate() -> Self {
		let mut key = [0u8; 32];
		os_rng().fill_bytes(&mut key);
		Self(key)
	}

	/// The key of these bytes (as unsealed from a TPM or an HPKE envelope).
	pub fn from_bytes(bytes: [u8; 32]) -> Self {
		Self(bytes)
	}

	/// The key's bytes, to seal.
	pub fn as_bytes(&self) -> &[u8; 32] {
		&self.0
	}
}

impl TryFrom<&[u8]> for DataKey {
	type Error = EnvelopeError;
	fn try_from(bytes: &[u8]) -> Result<Self, EnvelopeError> {
		Ok(Self(bytes.try_into().map_err(|_| EnvelopeError::KeyLength(bytes.len()))?))
	}
}

impl core::fmt::Debug for DataKey {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str("DataKey(..)")
	}
}

impl Drop for DataKey {
	fn drop(&mut self) {
		// Volatile writes: the compiler may not drop the wipe of a value about to die.
		for byte in self.0.iter_mut() {
			unsafe { core::ptr::write_volatile(byte, 0) };
		}
	}
}

/// Why an envelope could not be made or opened.
#[derive(Debug)]
pub enum EnvelopeError {
	/// Reading the input or writing the output failed.
	Io(io::Error),
	/// The object does not start with [`MAGIC`]: not an envelope, or another version.
	NotAnEnvelope,
	/// The header names a segment size this version does not use.
	SegmentSize(u32),
	/// The envelope ends inside its header or before its last segment.
	Truncated,
	/// Segment `index` does not authenticate under this key: wrong key, or altered,
	/// reordered or cut bytes.
	Forged {
		/// The first segment that failed (0-based).
		index: u64,
	},
	/// A key of the wrong length (data keys are 32 bytes).
	KeyLength(usize),
	/// The public key to seal to is unusable (named).
	BadRecipientKey(&'static str),
	/// A sealed key does not open with this secret key.
	Unseal,
}

impl core::fmt::Display for EnvelopeError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::Io(e) => write!(f, "I/O error: {e}"),
			Self::NotAnEnvelope => write!(f, "not a Vouch envelope (no VOUCHEV1 header)"),
			Self::SegmentSize(s) => {
				write!(f, "segment size {s} in the header; this version uses {SEGMENT_SIZE}")
			},
			Self::Truncated => write!(f, "the envelope is cut short"),
			Self::Forged { index } => write!(
				f,
				"segment {index} does not authenticate: wrong key, or altered or reordered bytes"
			),
			Self::KeyLength(n) => write!(f, "a data key is 32 bytes, not {n}"),
			Self::BadRecipientKey(why) => write!(f, "unusable recipient key: {why}"),
			Self::Unseal => write!(f, "the sealed key does not open with this secret key"),
		}
	}
}

impl std::error::Error for EnvelopeError {}

impl From<io::Error> for EnvelopeError {
	fn from(e: io::Error) -> Self {
		Self::Io(e)
	}
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(input: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
	let mut filled = 0;
	while filled < buf.len() {
		match input.read(&mut buf[filled..]) {
			Ok(0) => break,
			Ok(n) => filled += n,
			Err(e) if e.kind() == io::ErrorKind::Interrupted => {},
			Err(e) => return Err(e),
		}
	}
	Ok(filled)
}

fn header(nonce_prefix: &[u8; NONCE_PREFIX_SIZE]) -> [u8; HEADER_SIZE] {
	let mut h = [0u8; HEADER_SIZE];
	h[..8].copy_from_slice(&MAGIC);
	h[8..12].copy_from_slice(&(SEGMENT_SIZE as u32).to_be_bytes());
	h[12..].copy_from_slice(nonce_prefix);
	h
}

/// Encrypts everything `input` yields into `output` under `key`, with a random nonce prefix.
/// Returns the envelope's length.
pub fn encrypt(key: &DataKey, input: impl Read, output: impl Write) -> Result<u64, EnvelopeError> {
	let mut prefix = [0u8; NONCE_PREFIX_SIZE];
	os_rng().fill_bytes(&mut prefix);
	encrypt_with_nonce_prefix(key, &prefix, input, output)
}

/// [`encrypt`] with a given nonce prefix: for test vectors only. Reusing a prefix under one
/// key reveals plaintext; [`encrypt`] draws a fresh one.
pub fn encrypt_with_nonce_prefix(
	key: &DataKey,
	prefix: &[u8; NONCE_PREFIX_SIZE],
	mut input: impl Read,
	mut output: impl Write,
) -> Result<u64, EnvelopeError> {
	encrypt_dyn(key, prefix, &mut input, &mut output)
}

// The work is done behind `dyn` so that the cipher is instantiated here, in this (optimised)
// crate, and not in every caller's.
fn encrypt_dyn(
	key: &DataKey,
	prefix: &[u8; NONCE_PREFIX_SIZE],
	input: &mut dyn Read,
	output: &mut dyn Write,
) -> Result<u64, EnvelopeError> {
	let aad = header(prefix);
	output.write_all(&aad)?;
	let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
	let mut stream = EncryptorBE32::from_aead(cipher, prefix.into());
	let mut written = HEADER_SIZE as u64;
	let mut segments = Segments::new(input, SEGMENT_SIZE);
	// Only a counter overflow (2^32 segments, 256 TiB) fails to seal.
	let overflow = |_| EnvelopeError::Forged { index: u32::MAX.into() };
	while let Some((segment, last)) = segments.next()? {
		if last {
			// Sealing the last segment consumes the encryptor: nothing can follow it.
			stream.encrypt_last_in_place(&aad, segment).map_err(overflow)?;
			output.write_all(segment)?;
			written += segment.len() as u64;
			break;
		}
		stream.encrypt_next_in_place(&aad, segment).map_err(overflow)?;
		output.write_all(segment)?;
		written += segment.len() as u64;
	}
	output.flush()?;
	Ok(written)
}

/// Reads its input in segments of `size` bytes, one segment ahead, so that each segment comes
/// with whether it is the last: a full segment is the last only if nothing follows it.
struct Segments<'a> {
	input: &'a mut dyn Read,
	size: usize,
	current: Vec<u8>,
	ahead: Vec<u8>,
	have_ahead: bool,
	done: bool,
}

impl<'a> Segments<'a> {
	fn new(input: &'a mut dyn Read, size: usize) -> Self {
		let buffer = || Vec::with_capacity(size + TAG_SIZE);
		Self { input, size, current: buffer(), ahead: buffer(), have_ahead: false, done: false }
	}

	fn fill(input: &mut dyn Read, size: usize, buf: &mut Vec<u8>) -> io::Result<()> {
		buf.clear();
		buf.resize(size, 0);
		let n = read_full(input, buf)?;
		buf.truncate(n);
		Ok(())
	}

	/// The next segment (to transform in place) and whether it is the last; `None` after it.
	fn next(&mut self) -> io::Result<Option<(&mut Vec<u8>, bool)>> {
		if self.done {
			return Ok(None);
		}
		if self.have_ahead {
			core::mem::swap(&mut self.current, &mut self.ahead);
		} else {
			Self::fill(self.input, self.size, &mut self.current)?;
		}
		self.have_ahead = self.current.len() == self.size;
		if self.have_ahead {
			Self::fill(self.input, self.size, &mut self.ahead)?;
			self.have_ahead = !self.ahead.is_empty();
		}
		self.done = !self.have_ahead;
		Ok(Some((&mut self.current, self.done)))
	}
}

/// Decrypts the envelope `input` into `output` with `key`; returns the plaintext's length.
///
/// Segments are authenticated one at a time and written as they pass, so a forged or cut
/// envelope can leave its authentic leading segments in `output` before the error: write into
/// a staging area that is wiped on error (the executor's) or into a temporary file.
pub fn decrypt(
	key: &DataKey,
	mut input: impl Read,
	mut output: impl Write,
) -> Result<u64, EnvelopeError> {
	decrypt_dyn(key, &mut input, &mut output)
}

fn decrypt_dyn(
	key: &DataKey,
	mut input: &mut dyn Read,
	output: &mut dyn Write,
) -> Result<u64, EnvelopeError> {
	let mut aad = [0u8; HEADER_SIZE];
	if read_full(&mut input, &mut aad)? < HEADER_SIZE {
		return Err(EnvelopeError::Truncated);
	}
	if aad[..8] != MAGIC {
		return Err(EnvelopeError::NotAnEnvelope);
	}
	let segment = u32::from_be_bytes([aad[8], aad[9], aad[10], aad[11]]);
	if segment as usize != SEGMENT_SIZE {
		return Err(EnvelopeError::SegmentSize(segment));
	}
	let mut prefix = [0u8; NONCE_PREFIX_SIZE];
	prefix.copy_from_slice(&aad[12..]);
	let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
	let mut stream = DecryptorBE32::from_aead(cipher, (&prefix).into());
	let mut segments = Segments::new(input, SEGMENT_SIZE + TAG_SIZE);
	let (mut index, mut plaintext) = (0u64, 0u64);
	while let Some((segment, last)) = segments.next()? {
		if segment.len() < TAG_SIZE {
			return Err(EnvelopeError::Truncated);
		}
		if last {
			stream
				.decrypt_last_in_place(&aad, segment)
				.map_err(|_| EnvelopeError::Forged { index })?;
			output.write_all(segment)?;
			plaintext += segment.len() as u64;
			break;
		}
		stream.decrypt_next_in_place(&aad, segment).map_err(|_| EnvelopeError::Forged { index })?;
		output.write_all(segment)?;
		plaintext += segment.len() as u64;
		index += 1;
	}
	output.flush()?;
	Ok(plaintext)
}

/// [`encrypt`] of a byte slice.
pub fn seal_bytes(key: &DataKey, plaintext: &[u8]) -> Vec<u8> {
	let mut out = Vec::with_capacity(sealed_len(plaintext.len() as u64) as usize);
	encrypt(key, plaintext, &mut out).expect("writing to memory cannot fail");
	out
}

/// [`decrypt`] into a vector.
pub fn open_bytes(key: &DataKey, envelope: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
	let mut out = Vec::with_capacity(envelope.len());
	decrypt(key, envelope, &mut out)?;
	Ok(out)
}

/// The length of the envelope of `plaintext_len` bytes.
pub fn sealed_len(plaintext_len: u64) -> u64 {
	// A full last segment is sealed as the last: no empty segment follows it.
	let segments = plaintext_len.div_ceil(SEGMENT_SIZE as u64).max(1);
	HEADER_SIZE as u64 + plaintext_len + TAG_SIZE as u64 * segments
}

/// Seals `key`, released for `slot` of `task`, to a TPM's sealing key, given as the
/// TPM2B_PUBLIC the worker registered: RSA-OAEP with SHA-256 and the label
/// [`sealed_key_label`]`(task, slot)`, which the TPM decrypts inside itself. The key must be
/// RSA with the OAEP/SHA-256 scheme (what registration certifies).
pub fn seal_to_tpm(
	sealing_public: &[u8],
	task: crate::TaskId,
	slot: u32,
	key: &DataKey,
) -> Result<Vec<u8>, EnvelopeError> {
	use crate::tpm::{
		public::{KeyParams, Public},
		wire::alg,
	};
	let public = Public::from_tpm2b(sealing_public)
		.map_err(|_| EnvelopeError::BadRecipientKey("not a TPM2B_PUBLIC"))?;
	let KeyParams::Rsa { scheme, exponent, modulus, .. } = public.params else {
		return Err(EnvelopeError::BadRecipientKey("not an RSA key"));
	};
	if scheme.alg != alg::OAEP || scheme.hash != alg::SHA256 {
		return Err(EnvelopeError::BadRecipientKey("not an RSA-OAEP-SHA256 key"));
	}
	let exponent = if exponent == 0 { 65_537 } else { exponent };
	let rsa_key =
		rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(&modulus), rsa::BigUint::from(exponent))
			.map_err(|_| EnvelopeError::BadRecipientKey("invalid RSA public key"))?;
	let label = sealed_key_label(task, slot);
	rsa_key
		.encrypt(
			&mut rsa_rng::OsRng,
			rsa::Oaep::new_with_label::<sha2::Sha256, _>(label),
			key.as_bytes(),
		)
		.map_err(|_| EnvelopeError::BadRecipientKey("RSA encryption failed"))
}

// rsa 0.9 takes a rand_core 0.6 generator; hpke 0.13 a rand_core 0.9 one.
mod rsa_rng {
	pub use rsa::rand_core::OsRng;
}

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// The length of a result key sealed to a recipient: the 32-byte encapsulated key, then the
/// 32-byte data key encrypted with its 16-byte tag.
pub const SEALED_RESULT_KEY_LEN: usize = 32 + 32 + TAG_SIZE;

/// A recipient's X25519 key pair for results: `(secret, public)`, 32 bytes each.
pub fn recipient_keypair() -> ([u8; 32], [u8; 32]) {
	use hpke::{Kem as _, Serializable};
	let (secret, public) = Kem::gen_keypair(&mut os_rng());
	(secret.to_bytes().into(), public.to_bytes().into())
}

/// The public key of a recipient's secret key.
pub fn recipient_public(secret: &[u8; 32]) -> Result<[u8; 32], EnvelopeError> {
	use hpke::{Deserializable, Kem as _, Serializable};
	let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret)
		.map_err(|_| EnvelopeError::BadRecipientKey("not an X25519 secret key"))?;
	Ok(Kem::sk_to_pk(&secret).to_bytes().into())
}

/// Seals a result's data key to a recipient's X25519 public key with HPKE base mode;
/// `context` (e.g. the SCALE-encoded task id) is bound as associated data, so a sealed key
/// cannot be replayed into another task. Layout: encapsulated key (32) ++ ciphertext (48).
pub fn seal_to_recipient(
	recipient: &[u8; 32],
	context: &[u8],
	key: &DataKey,
) -> Result<Vec<u8>, EnvelopeError> {
	use hpke::{Deserializable, OpModeS, Serializable};
	let public = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient)
		.map_err(|_| EnvelopeError::BadRecipientKey("not an X25519 public key"))?;
	let (encapped, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem, _>(
		&OpModeS::Base,
		&public,
		RESULT_KEY_INFO,
		key.as_bytes(),
		context,
		&mut os_rng(),
	)
	.map_err(|_| EnvelopeError::BadRecipientKey("HPKE encapsulation failed"))?;
	let mut sealed = encapped.to_bytes().to_vec();
	sealed.extend_from_slice(&ciphertext);
	Ok(sealed)
}

/// Opens a result key sealed by [`seal_to_recipient`] with the recipient's secret key.
pub fn open_from_sender(
	secret: &[u8; 32],
	context: &[u8],
	sealed: &[u8],
) -> Result<DataKey, EnvelopeError> {
	if sealed.len() != SEALED_RESULT_KEY_LEN {
		return Err(EnvelopeError::Unseal);
	}
	let key = hpke_open(secret, &sealed[..32], RESULT_KEY_INFO, &sealed[32..], context)?;
	DataKey::try_from(&key[..])
}

/// HPKE base-mode single-shot open in Vouch's suite (also what the RFC 9180 vectors check).
fn hpke_open(
	secret: &[u8; 32],
	encapped: &[u8],
	info: &[u8],
	ciphertext: &[u8],
	aad: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
	use hpke::{Deserializable, OpModeR};
	let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret)
		.map_err(|_| EnvelopeError::BadRecipientKey("not an X25519 secret key"))?;
	let encapped =
		<Kem as hpke::Kem>::EncappedKey::from_bytes(encapped).map_err(|_| EnvelopeError::Unseal)?;
	hpke::single_shot_open::<Aead, Kdf, Kem>(
		&OpModeR::Base,
		&secret,
		&encapped,
		info,
		ciphertext,
		aad,
	)
	.map_err(|_| EnvelopeError::Unseal)
}

#[cfg(test)]
mod tests;
