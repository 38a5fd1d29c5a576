//! What the runtime checks of a worker's TPM (DESIGN §5): the attestation key's and the
//! sealing key's public areas, the sealing key's certification by the AK, and quotes.

use super::{
	attest::{Attest, Attested, ClockInfo, EcdsaSignature},
	public::{qualified_name, KeyParams, Public},
	wire::{alg, attr, curve, WireError},
};
use alloc::vec::Vec;
use p256::ecdsa::{signature::hazmat::PrehashVerifier, Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// The attributes of an attestation key, exactly: a restricted signing key made inside the TPM
/// and bound to it. A key without `restricted` can sign any bytes, including a forged quote.
pub const AK_ATTRIBUTES: u32 = attr::FIXED_TPM
	| attr::FIXED_PARENT
	| attr::SENSITIVE_DATA_ORIGIN
	| attr::USER_WITH_AUTH
	| attr::RESTRICTED
	| attr::SIGN;

/// Attributes a sealing key must have: a decryption key made inside the TPM and bound to it.
pub const SEALING_REQUIRED: u32 =
	attr::FIXED_TPM | attr::FIXED_PARENT | attr::SENSITIVE_DATA_ORIGIN | attr::DECRYPT;
/// Attributes a sealing key must not have: it must not sign, as a restricted (storage) key it
/// could not decrypt released keys, and with `userWithAuth` its (empty) password would open
/// them from any shell on the host: it must be usable through its policy only.
pub const SEALING_FORBIDDEN: u32 = attr::SIGN | attr::RESTRICTED | attr::USER_WITH_AUTH;

/// Why an attestation key's or a sealing key's public area is refused (at registration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
	/// The public area does not parse.
	Malformed(WireError),
	/// The AK is not an ECC P-256 key with an ECDSA/SHA-256 scheme and SHA-256 name.
	AkNotP256Ecdsa,
	/// The AK's attributes are not exactly the restricted-signing ones.
	AkAttributes,
	/// The sealing key is not RSA-2048 with an OAEP/SHA-256 scheme.
	SealingKeyNotRsaOaep,
	/// The sealing key's attributes do not bind it to the TPM as a decryption-only key usable
	/// through its policy only.
	SealingKeyAttributes,
	/// The sealing key's `authPolicy` is not PolicyPCR of the registered launch state
	/// ([`super::launch::LaunchState::sealing_policy`]): another state could use it.
	SealingKeyPolicy,
}

/// Why a signed attestation is refused, by the checks a certification and a quote share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedError {
	/// The attestation or the signature does not parse.
	Malformed(WireError),
	/// The signature is not ECDSA over SHA-256 (a downgrade, or another scheme).
	SignatureScheme,
	/// The signature does not verify with the AK.
	BadSignature,
	/// The attestation is of another kind than expected (quote or certification).
	WrongAttestationType,
	/// The signer's qualified name is not the registered AK's.
	WrongSigner,
	/// The qualifying data is not the expected nonce.
	WrongNonce,
}

/// Why the AK's `TPM2_Certify` of the sealing key is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificationError {
	/// The signature, type, signer or nonce.
	Signed(SignedError),
	/// The certified name is not the sealing key's.
	WrongCertifiedKey,
	/// The certified qualified name is not the sealing key's under the EK: the key the AK
	/// certified lives under another parent (one whose own policy the chain never saw).
	WrongQualifiedName,
}

/// Why a quote is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteError {
	/// The signature, type, signer or nonce.
	Signed(SignedError),
	/// The quoted PCR selection is not the chain's policy.
	WrongPcrSelection,
	/// The quoted PCR digest is not an allowed boot state.
	PcrDigestNotAllowed,
	/// The TPM clock is not safe, or ran backwards since this AK's last quote.
	ClockWentBackwards,
}

impl From<WireError> for KeyError {
	fn from(e: WireError) -> Self {
		Self::Malformed(e)
	}
}

impl From<WireError> for SignedError {
	fn from(e: WireError) -> Self {
		Self::Malformed(e)
	}
}

impl From<SignedError> for CertificationError {
	fn from(e: SignedError) -> Self {
		Self::Signed(e)
	}
}

impl From<SignedError> for QuoteError {
	fn from(e: SignedError) -> Self {
		Self::Signed(e)
	}
}

/// Parses and checks an attestation key's TPM2B_PUBLIC: ECC P-256, ECDSA with SHA-256, name
/// algorithm SHA-256, no symmetric part, no KDF, and exactly [`AK_ATTRIBUTES`].
pub fn check_ak(tpm2b_public: &[u8]) -> Result<Public, KeyError> {
	let ak = Public::from_tpm2b(tpm2b_public)?;
	let KeyParams::Ecc { symmetric, scheme, curve, kdf, .. } = &ak.params else {
		return Err(KeyError::AkNotP256Ecdsa);
	};
	let p256_ecdsa = ak.name_alg == alg::SHA256
		&& *symmetric == alg::NULL
		&& scheme.alg == alg::ECDSA
		&& scheme.hash == alg::SHA256
		&& *curve == curve::NIST_P256
		&& kdf.alg == alg::NULL
		&& ak.p256_point().is_some();
	if !p256_ecdsa {
		return Err(KeyError::AkNotP256Ecdsa);
	}
	if ak.attributes != AK_ATTRIBUTES {
		return Err(KeyError::AkAttributes);
	}
	Ok(ak)
}

/// Parses and checks a sealing key's TPM2B_PUBLIC: RSA-2048 with an OAEP/SHA-256 scheme, the
/// [`SEALING_REQUIRED`] attributes, none of [`SEALING_FORBIDDEN`], and `policy` (the launch
/// state's PolicyPCR digest) as its `authPolicy`.
pub fn check_sealing_key(tpm2b_public: &[u8], policy: &[u8; 32]) -> Result<Public, KeyError> {
	let key = Public::from_tpm2b(tpm2b_public)?;
	let KeyParams::Rsa { symmetric, scheme, key_bits, exponent, modulus } = &key.params else {
		return Err(KeyError::SealingKeyNotRsaOaep);
	};
	let rsa_oaep = *symmetric == alg::NULL
		&& scheme.alg == alg::OAEP
		&& scheme.hash == alg::SHA256
		&& *key_bits == 2048
		&& modulus.len() == 256
		&& matches!(*exponent, 0 | 65537);
	if !rsa_oaep {
		return Err(KeyError::SealingKeyNotRsaOaep);
	}
	if key.attributes & SEALING_REQUIRED != SEALING_REQUIRED
		|| key.attributes & SEALING_FORBIDDEN != 0
	{
		return Err(KeyError::SealingKeyAttributes);
	}
	if key.name_alg != alg::SHA256 || key.auth_policy[..] != policy[..] {
		return Err(KeyError::SealingKeyPolicy);
	}
	Ok(key)
}

/// Verifies that `signature` (TPMT_SIGNATURE) is `ak`'s ECDSA/SHA-256 signature of `attest`
/// and parses `attest`. `ak` is a key [`check_ak`] accepted; no signature verifies with any
/// other.
pub fn verify_signed(ak: &Public, attest: &[u8], signature: &[u8]) -> Result<Attest, SignedError> {
	let sig = EcdsaSignature::parse(signature)?;
	if sig.hash != alg::SHA256 {
		return Err(SignedError::SignatureScheme);
	}
	let key = ak
		.p256_point()
		.and_then(|point| VerifyingKey::from_sec1_bytes(&point).ok())
		.ok_or(SignedError::BadSignature)?;
	let signature = Signature::from_scalars(sig.r, sig.s).map_err(|_| SignedError::BadSignature)?;
	key.verify_prehash(&Sha256::digest(attest), &signature)
		.map_err(|_| SignedError::BadSignature)?;
	Ok(Attest::parse(attest)?)
}

/// The checks every attestation gets after its type: signed by the AK named `ak_qn`, over
/// `nonce`.
fn check_signer_and_nonce(parsed: &Attest, ak_qn: &[u8], nonce: &[u8]) -> Result<(), SignedError> {
	if parsed.qualified_signer != ak_qn {
		return Err(SignedError::WrongSigner);
	}
	if parsed.extra_data != nonce {
		return Err(SignedError::WrongNonce);
	}
	Ok(())
}

/// Verifies a `TPM2_Certify` of `sealing_key` by `ak` (whose qualified name is `ak_qn`), with
/// `nonce` as qualifying data, and that the certified key is the EK's child (`ek_qn`): its
/// qualified name is `QN(EK) || Name(key)` hashed, as the TPM computed it when loading it.
pub fn verify_certification(
	ak: &Public,
	ak_qn: &[u8],
	ek_qn: &[u8],
	sealing_key: &Public,
	nonce: &[u8],
	attest: &[u8],
	signature: &[u8],
) -> Result<(), CertificationError> {
	let parsed = verify_signed(ak, attest, signature)?;
	let Attested::Certify { name, qualified_name: certified_qn } = &parsed.attested else {
		return Err(SignedError::WrongAttestationType.into());
	};
	check_signer_and_nonce(&parsed, ak_qn, nonce)?;
	if *name != sealing_key.name() {
		return Err(CertificationError::WrongCertifiedKey);
	}
	if *certified_qn != qualified_name(ek_qn, sealing_key) {
		return Err(CertificationError::WrongQualifiedName);
	}
	Ok(())
}

/// The chain's PCR policy: which boot PCRs are quoted, and which digests of them are allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcrPolicy<'a> {
	/// The SHA-256 PCRs to quote, as a bitmap (bit `i % 8` of byte `i / 8` is PCR `i`).
	pub select: &'a [u8],
	/// The allowed SHA-256 digests of the selected PCR values.
	pub allowed: &'a [[u8; 32]],
}

/// A verified quote: what the chain records per AK to keep the clock honest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoteOutcome {
	/// The TPM clock in the quote.
	pub clock: ClockInfo,
}

/// Verifies a `TPM2_Quote` by the registered `ak` (qualified name `ak_qn`): signature, type,
/// signer, `nonce` as qualifying data, the policy's PCR selection and an allowed digest, and a
/// safe clock that has not gone backwards since `last_clock` (this AK's previous quote).
pub fn verify_quote(
	ak: &Public,
	ak_qn: &[u8],
	nonce: &[u8; 32],
	policy: &PcrPolicy,
	last_clock: Option<ClockInfo>,
	attest: &[u8],
	signature: &[u8],
) -> Result<QuoteOutcome, QuoteError> {
	let parsed = verify_signed(ak, attest, signature)?;
	let Attested::Quote { selection, pcr_digest } = &parsed.attested else {
		return Err(SignedError::WrongAttestationType.into());
	};
	check_signer_and_nonce(&parsed, ak_qn, nonce)?;
	if selection.len() != 1
		|| selection[0].hash != alg::SHA256
		|| selection[0].select != policy.select
	{
		return Err(QuoteError::WrongPcrSelection);
	}
	if !policy.allowed.iter().any(|d| d[..] == pcr_digest[..]) {
		return Err(QuoteError::PcrDigestNotAllowed);
	}
	if !clock_moves_forward(last_clock, parsed.clock) {
		return Err(QuoteError::ClockWentBackwards);
	}
	Ok(QuoteOutcome { clock: parsed.clock })
}

/// Whether `now` may follow `last` on one TPM: safe, and no counter going back (a reset or
/// restart starts the clock again; otherwise it must advance).
pub fn clock_moves_forward(last: Option<ClockInfo>, now: ClockInfo) -> bool {
	if !now.safe {
		return false;
	}
	let Some(last) = last else { return true };
	match (now.reset_count.cmp(&last.reset_count), now.restart_count.cmp(&last.restart_count)) {
		(core::cmp::Ordering::Less, _) => false,
		(core::cmp::Ordering::Greater, _) => true,
		(_, core::cmp::Ordering::Less) => false,
		(_, core::cmp::Ordering::Greater) => true,
		_ => now.clock > last.clock,
	}
}

/// `QN(AK)` for an AK created under the EK: the qualified name the chain stores at
/// registration and every quote must carry.
pub fn ak_qualified_name(ek_qn: &[u8], ak: &Public) -> Vec<u8> {
	qualified_name(ek_qn, ak)
}

/// The PCR digest a quote carries for `values` (the selected PCRs' SHA-256 values, in
/// selection order): what a chain's policy lists as allowed.
pub fn pcr_digest(values: &[[u8; 32]]) -> [u8; 32] {
	let mut h = Sha256::new();
	for v in values {
		h.update(v);
	}
	h.finalize().into()
}

/// Each refusal reads as its variant, e.g. "TPM evidence refused: Signed(WrongNonce)".
macro_rules! refusal_display {
	($($error:ty),*) => {$(
		impl core::fmt::Display for $error {
			fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
				write!(f, "TPM evidence refused: {self:?}")
			}
		}

		impl core::error::Error for $error {}
	)*};
}

refusal_display!(KeyError, SignedError, CertificationError, QuoteError);
