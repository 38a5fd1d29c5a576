//! Credential activation (TPM 2.0 Part 1 §24, "Credential Protection"): the one check that
//! binds an AK to the TPM holding an EK. A verifier makes a credential (a secret of its own)
//! for the pair `(EK public key, Name(AK))` with [`make_credential`]; only the TPM holding that
//! EK's private key, and holding a loaded object of exactly that name, can recover the secret
//! with `TPM2_ActivateCredential`. A software AK, however well-formed, never can.
//!
//! The chain never sees a secret before it is answered: a verifier posts the credential and
//! [`commitment`] of its secret; the newcomer posts the secret it recovered; anyone checks one
//! against the other.
//!
//! A challenge can also be checked after the fact. Every random value in it (the credential's
//! secret, the seed, the OAEP padding's seed) is derived from one 32-byte [`Reveal`] of the
//! verifier's ([`derive`]), so the commitment to the secret binds the whole credential: when a
//! newcomer's TPM refuses a challenge, the verifier reveals that value and anyone (the runtime)
//! remakes the credential with [`make_credential`] and compares. A verifier cannot post a
//! credential no TPM can open and then show a good one.
//!
//! The construction, for an RSA EK with name algorithm SHA-256 and an AES-128-CFB symmetric
//! definition (the TCG default EK template):
//! - `seed`: 32 bytes, encrypted to the EK with RSA-OAEP-SHA256, label `"IDENTITY\0"`;
//! - `symKey = KDFa(SHA-256, seed, "STORAGE", Name(AK), "", 128)`;
//! - `encIdentity = AES-128-CFB(symKey, IV = 0, TPM2B_DIGEST(credential))`;
//! - `HMACkey = KDFa(SHA-256, seed, "INTEGRITY", "", "", 256)`;
//! - `outerHMAC = HMAC-SHA-256(HMACkey, encIdentity || Name(AK))`;
//! - credential blob `TPM2B_ID_OBJECT(TPM2B_DIGEST(outerHMAC) || encIdentity)`, secret
//!   `TPM2B_ENCRYPTED_SECRET(encrypted seed)`.
//!
//! `tests/tpm.rs` of the executor checks this against a real TPM (swtpm):
//! `TPM2_ActivateCredential` returns the credential for the TPM's own AK, and refuses a blob
//! made for another name.

use alloc::vec::Vec;

use hmac::{Mac, SimpleHmac};
use sha2::{Digest, Sha256};

/// The secret a verifier puts in a credential: 32 bytes.
pub type CredentialSecret = [u8; 32];

/// The one value a verifier's challenge is made from, revealed when a challenge is disputed.
pub type Reveal = [u8; 32];

/// What a verifier posts before the answer: `SHA-256("vouch/credential" || secret)`.
pub fn commitment(secret: &CredentialSecret) -> [u8; 32] {
	Sha256::new().chain_update(b"vouch/credential").chain_update(secret).finalize().into()
}

/// The random values of a challenge made from `reveal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derived {
	/// The credential's secret, which only the newcomer's TPM recovers.
	pub secret: CredentialSecret,
	/// The seed of the credential's keys, encrypted to the EK.
	pub seed: [u8; 32],
	/// The seed of the OAEP padding of that encryption.
	pub oaep_seed: [u8; 32],
}

/// Derives a challenge's random values from `reveal`: `SHA-256("vouch/credential/<part>" ||
/// reveal)` each, so that revealing it shows all of them and nothing before.
pub fn derive(reveal: &Reveal) -> Derived {
	let part = |name: &[u8]| -> [u8; 32] {
		Sha256::new()
			.chain_update(b"vouch/credential/")
			.chain_update(name)
			.chain_update(reveal)
			.finalize()
			.into()
	};
	Derived { secret: part(b"secret"), seed: part(b"seed"), oaep_seed: part(b"oaep") }
}

/// Why a credential cannot be made for this EK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
	/// The EK is not RSA-2048 with SHA-256 names and an AES-128-CFB symmetric definition.
	UnsupportedEk,
	/// The EK's modulus is not a valid RSA public key.
	BadEkKey,
	/// The AK name is not a SHA-256 name (`0x000B || 32 bytes`).
	BadName,
}

/// A credential made for one EK and one AK name: the two arguments of
/// `TPM2_ActivateCredential`, each as its TPM2B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadeCredential {
	/// `TPM2B_ID_OBJECT`.
	pub credential_blob: Vec<u8>,
	/// `TPM2B_ENCRYPTED_SECRET`.
	pub encrypted_secret: Vec<u8>,
}

/// `KDFa` (TPM 2.0 Part 1 §11.4.10.2) with HMAC-SHA-256: `bits` bits of key from `key`,
/// `label` (a NUL is appended) and the two contexts.
pub fn kdfa(key: &[u8], label: &[u8], context_u: &[u8], context_v: &[u8], bits: u32) -> Vec<u8> {
	let bytes = bits.div_ceil(8) as usize;
	let mut out = Vec::with_capacity(bytes + 32);
	let mut counter: u32 = 1;
	while out.len() < bytes {
		let mut mac = <SimpleHmac<Sha256> as Mac>::new_from_slice(key)
			.expect("HMAC takes a key of any length");
		mac.update(&counter.to_be_bytes());
		mac.update(label);
		mac.update(&[0]);
		mac.update(context_u);
		mac.update(context_v);
		mac.update(&bits.to_be_bytes());
		out.extend_from_slice(&mac.finalize().into_bytes());
		counter += 1;
	}
	out.truncate(bytes);
	out
}

fn tpm2b(bytes: &[u8]) -> Vec<u8> {
	let mut out = Vec::with_capacity(bytes.len() + 2);
	out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
	out.extend_from_slice(bytes);
	out
}

/// The symmetric definition of an RSA public area: `(algorithm, key bits, mode)`.
fn rsa_symmetric(public: &[u8]) -> Option<(u16, u16, u16)> {
	let be = |at: usize| Some(u16::from_be_bytes(public.get(at..at + 2)?.try_into().ok()?));
	// type, nameAlg, objectAttributes (4), authPolicy (TPM2B), then the symmetric definition.
	let policy_len = be(8)? as usize;
	let at = 10 + policy_len;
	Some((be(at)?, be(at + 2)?, be(at + 4)?))
}

/// Hands the OAEP padding its seed: RSA-OAEP draws exactly one hash length (32 bytes) of
/// randomness, so a generator that yields `oaep_seed` once makes the encryption a function of
/// its inputs, which the runtime can recompute.
struct RevealedRng {
	bytes: [u8; 32],
	used: usize,
}

impl rsa::rand_core::RngCore for RevealedRng {
	fn next_u32(&mut self) -> u32 {
		rsa::rand_core::impls::next_u32_via_fill(self)
	}
	fn next_u64(&mut self) -> u64 {
		rsa::rand_core::impls::next_u64_via_fill(self)
	}
	fn fill_bytes(&mut self, dest: &mut [u8]) {
		// A request beyond the 32 bytes (a future padding drawing more) gets zeros, which
		// would make the remade credential differ and the check fail: never a silent pass.
		for byte in dest {
			*byte = self.bytes.get(self.used).copied().unwrap_or(0);
			self.used += 1;
		}
	}
	fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
		self.fill_bytes(dest);
		Ok(())
	}
}

// Only ever fed revealed bytes, for a recomputation; never a source of secrets.
impl rsa::rand_core::CryptoRng for RevealedRng {}

/// Makes the credential of `reveal` ([`derive`]) for the TPM whose EK public area is `ek` and
/// for the object named `ak_name` (`Name(AK)`) in it. A function of its inputs: the verifier
/// makes its challenge with it, and the runtime remakes a disputed one.
pub fn make_credential(
	ek: &super::public::Public,
	ak_name: &[u8],
	reveal: &Reveal,
) -> Result<MadeCredential, CredentialError> {
	use super::{public::KeyParams, wire::alg};
	use aes::cipher::{AsyncStreamCipher, KeyIvInit};

	if ak_name.len() != 34 || ak_name[..2] != alg::SHA256.to_be_bytes() {
		return Err(CredentialError::BadName);
	}
	let KeyParams::Rsa { key_bits: 2048, exponent, modulus, .. } = &ek.params else {
		return Err(CredentialError::UnsupportedEk);
	};
	// AES (0x0006), 128 bits, CFB (0x0043).
	if ek.name_alg != alg::SHA256 || rsa_symmetric(&ek.bytes) != Some((0x0006, 128, 0x0043)) {
		return Err(CredentialError::UnsupportedEk);
	}
	let exponent = if *exponent == 0 { 65_537 } else { *exponent };
	let ek_key =
		rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(modulus), rsa::BigUint::from(exponent))
			.map_err(|_| CredentialError::BadEkKey)?;

	let Derived { secret, seed, oaep_seed } = derive(reveal);
	let sym_key = kdfa(&seed, b"STORAGE", ak_name, &[], 128);
	let mut enc_identity = tpm2b(&secret);
	cfb_mode::Encryptor::<aes::Aes128>::new_from_slices(&sym_key, &[0u8; 16])
		.expect("a 16-byte key and IV")
		.encrypt(&mut enc_identity);
	let hmac_key = kdfa(&seed, b"INTEGRITY", &[], &[], 256);
	let outer_hmac = {
		let mut mac = <SimpleHmac<Sha256> as Mac>::new_from_slice(&hmac_key)
			.expect("HMAC takes a key of any length");
		mac.update(&enc_identity);
		mac.update(ak_name);
		mac.finalize().into_bytes()
	};
	let mut id_object = tpm2b(&outer_hmac);
	id_object.extend_from_slice(&enc_identity);
	let encrypted_seed = ek_key
		.encrypt(
			&mut RevealedRng { bytes: oaep_seed, used: 0 },
			rsa::Oaep::new_with_label::<Sha256, _>("IDENTITY\0"),
			&seed,
		)
		.map_err(|_| CredentialError::BadEkKey)?;
	Ok(MadeCredential {
		credential_blob: tpm2b(&id_object),
		encrypted_secret: tpm2b(&encrypted_seed),
	})
}

/// Whether a posted challenge (`credential_blob`, `encrypted_secret`, `commitment`) is the
/// one `reveal` makes for this EK and AK: what the runtime checks of a disputed challenge.
pub fn challenge_recomputes(
	ek: &super::public::Public,
	ak_name: &[u8],
	reveal: &Reveal,
	credential_blob: &[u8],
	encrypted_secret: &[u8],
	posted_commitment: &[u8; 32],
) -> bool {
	commitment(&derive(reveal).secret) == *posted_commitment
		&& make_credential(ek, ak_name, reveal).is_ok_and(|made| {
			made.credential_blob == credential_blob && made.encrypted_secret == encrypted_secret
		})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn kdfa_matches_the_tpm_specifications_construction() {
		// One block: HMAC(key, 00000001 || label || 00 || u || v || bits), as written out.
		use hmac::{Mac, SimpleHmac};
		let mut mac = <SimpleHmac<Sha256> as Mac>::new_from_slice(b"key").unwrap();
		mac.update(&[0, 0, 0, 1]);
		mac.update(b"STORAGE\0uv");
		mac.update(&256u32.to_be_bytes());
		assert_eq!(kdfa(b"key", b"STORAGE", b"u", b"v", 256), mac.finalize().into_bytes().to_vec());
		// Longer keys continue the counter; shorter ones are a prefix of the same stream only
		// when the length matches (the bit count is in the input).
		let long = kdfa(b"key", b"L", b"", b"", 512);
		assert_eq!(long.len(), 64);
		assert_ne!(long[..32], long[32..]);
		assert_eq!(kdfa(b"key", b"L", b"", b"", 128).len(), 16);
		assert_ne!(kdfa(b"key", b"L", b"", b"", 128)[..], kdfa(b"key", b"L", b"", b"", 256)[..16]);
	}

	#[test]
	fn a_disputed_challenge_recomputes_from_its_reveal_and_nothing_else() {
		use crate::tpm::{
			fixtures::{AK_PUBLIC, EK_PUBLIC},
			public::Public,
		};
		let ek = Public::from_tpm2b(EK_PUBLIC).unwrap();
		let ak = Public::from_tpm2b(AK_PUBLIC).unwrap();
		let reveal = [7u8; 32];
		let made = make_credential(&ek, &ak.name(), &reveal).unwrap();
		assert_eq!(made, make_credential(&ek, &ak.name(), &reveal).unwrap(), "deterministic");
		let posted = commitment(&derive(&reveal).secret);
		let check = |reveal: &Reveal, blob: &[u8], secret: &[u8], c: &[u8; 32]| {
			challenge_recomputes(&ek, &ak.name(), reveal, blob, secret, c)
		};
		assert!(check(&reveal, &made.credential_blob, &made.encrypted_secret, &posted));
		// Another reveal, a blob or seed of another making, a commitment to another secret:
		// the verifier's challenge does not recompute.
		assert!(!check(&[8; 32], &made.credential_blob, &made.encrypted_secret, &posted));
		let other = make_credential(&ek, &ak.name(), &[8; 32]).unwrap();
		assert!(!check(&reveal, &other.credential_blob, &made.encrypted_secret, &posted));
		assert!(!check(&reveal, &made.credential_blob, &other.encrypted_secret, &posted));
		assert!(!check(
			&reveal,
			&made.credential_blob,
			&made.encrypted_secret,
			&commitment(&[1; 32])
		));
		// A credential for another name (the EK's own) is another credential.
		let for_ek = make_credential(&ek, &ek.name(), &reveal).unwrap();
		assert_ne!(for_ek.credential_blob, made.credential_blob);
		assert_eq!(make_credential(&ek, &[0; 34], &reveal), Err(CredentialError::BadName));
	}

	#[test]
	fn a_reveal_derives_distinct_values() {
		let d = derive(&[1; 32]);
		assert!(d.secret != d.seed && d.seed != d.oaep_seed && d.secret != d.oaep_seed);
		assert_ne!(derive(&[2; 32]).secret, d.secret);
	}

	#[test]
	fn a_commitment_binds_its_secret() {
		assert_eq!(commitment(&[1; 32]), commitment(&[1; 32]));
		assert_ne!(commitment(&[1; 32]), commitment(&[2; 32]));
	}
}
