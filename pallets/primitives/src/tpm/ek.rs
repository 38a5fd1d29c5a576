//! The endorsement key's certificate chain: from the EK certificate, through the issuing CAs
//! the worker submits, to a root the chain trusts (`TrustedTpmRoots`). P-256 for the test CA,
//! and RSA-2048/3072 and P-384, which real manufacturers use.
//!
//! Checked as RFC 5280 path validation for this one purpose: the EK certificate is an end
//! entity (not a CA) for the TCG EK purpose whose key may encrypt; every issuer is a CA allowed
//! to sign certificates, within its path length; every certificate is valid at the chain's
//! time; a critical extension this verifier does not know refuses the certificate; and every
//! trusted root whose subject matches is tried, so a manufacturer's root rollover (two roots of
//! one name) works. RSA keys are 2048 or 3072 bits with exponent 65537 only, so that the
//! verification cost is bounded by what `register` is weighed for.

use super::public::{KeyParams, Public};
use super::wire::curve;
use alloc::vec::Vec;
use sha2::{Digest, Sha256, Sha384};
use x509_cert::{
	der::{asn1::ObjectIdentifier, Decode, Encode},
	ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage},
	Certificate,
};

/// Most issuing CAs between an EK certificate and its root.
pub const MAX_INTERMEDIATES: usize = 4;
/// Largest certificate accepted, in bytes.
pub const MAX_CERT_LEN: usize = 4096;

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
/// `tcg-kp-EKCertificate`: the extended key usage of an EK certificate (TCG EK Credential
/// Profile).
const TCG_KP_EK_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.8.1");
/// The critical extensions this verifier understands: basic constraints, key usage and
/// extended key usage are checked; the subject alternative name (where TCG puts the TPM's
/// manufacturer and model, critical because the subject is empty) and certificate policies
/// constrain nothing this verifier relies on.
const KNOWN_CRITICAL: [ObjectIdentifier; 5] =
	[BASIC_CONSTRAINTS, KEY_USAGE, SUBJECT_ALT_NAME, EXTENDED_KEY_USAGE, CERTIFICATE_POLICIES];
/// The only RSA public exponent accepted.
const RSA_EXPONENT: u32 = 65537;

/// Why an EK certificate chain is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EkError {
	/// A certificate is not DER X.509, or too large.
	MalformedCertificate,
	/// More issuing CAs than [`MAX_INTERMEDIATES`].
	ChainTooLong,
	/// A certificate's issuer is not the next certificate's subject, or no trusted root is.
	UnknownIssuer,
	/// An issuing certificate is not a CA.
	IssuerNotCa,
	/// A signature or key algorithm this verifier does not support.
	UnsupportedAlgorithm,
	/// A certificate's signature does not verify with its issuer's key.
	BadCertificateSignature,
	/// The EK public area is not the certificate's key.
	EkKeyMismatch,
	/// The EK certificate is a CA's, or lacks the TCG EK purpose (extended key usage
	/// `2.23.133.8.1`) or a key usage that lets its key encrypt.
	EkNotEndEntity,
	/// An issuing certificate may not sign certificates (no `keyCertSign` key usage), or
	/// has more CAs below it than its path length allows.
	IssuerNotAllowedToSign,
	/// A certificate is not valid at the chain's time (not yet, or no longer).
	OutsideValidity,
	/// A certificate carries a critical extension this verifier does not process.
	UnknownCriticalExtension,
	/// An RSA key is not 2048 or 3072 bits with exponent 65537.
	RsaKeyNotAllowed,
}

/// A public key from a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertKey {
	/// An uncompressed SEC1 P-256 point.
	P256(Vec<u8>),
	/// An uncompressed SEC1 P-384 point.
	P384(Vec<u8>),
	/// An RSA key: big-endian modulus without leading zeros, and the exponent.
	Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
}

/// The identity of a TPM for "one worker per TPM": `SHA-256("vouch/ek-key" || kind || key)`
/// of its EK certificate's public key, normalised (an RSA modulus and exponent without
/// leading zeros, an EC point as certified). A public area with other attributes or policy
/// gives another qualified name for the same key, but never another key id.
pub fn key_id(key: &CertKey) -> [u8; 32] {
	let mut hash = Sha256::new().chain_update(b"vouch/ek-key");
	match key {
		CertKey::P256(point) => {
			hash.update([1u8]);
			hash.update(point);
		},
		CertKey::P384(point) => {
			hash.update([2u8]);
			hash.update(point);
		},
		CertKey::Rsa { modulus, exponent } => {
			hash.update([3u8]);
			hash.update((strip(modulus).len() as u32).to_be_bytes());
			hash.update(strip(modulus));
			hash.update(strip(exponent));
		},
	}
	hash.finalize().into()
}

/// The policy of the TCG default EK templates: `PolicySecret(TPM_RH_ENDORSEMENT)`.
pub const DEFAULT_EK_POLICY: [u8; 32] = [
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
	0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
];
/// The object attributes of the TCG default EK templates: fixedTPM, fixedParent,
/// sensitiveDataOrigin, adminWithPolicy, restricted, decrypt.
pub const DEFAULT_EK_ATTRIBUTES: u32 = 0x0003_00b2;

/// Whether `ek` is an EK made from the TCG default RSA-2048 template (EK Credential Profile,
/// template L-1): SHA-256 names, the default attributes and policy, AES-128-CFB, no scheme,
/// a 2048-bit key with the default exponent. Credential activation assumes this shape.
pub fn is_default_rsa_ek(ek: &Public) -> bool {
	use super::wire::alg;
	let KeyParams::Rsa { symmetric, scheme, key_bits, exponent, modulus } = &ek.params else {
		return false;
	};
	// type, nameAlg, objectAttributes, authPolicy (2 + 32), then AES (0x0006), 128, CFB (0x0043).
	let sym_definition = ek.bytes.get(42..48);
	ek.name_alg == alg::SHA256
		&& ek.attributes == DEFAULT_EK_ATTRIBUTES
		&& ek.auth_policy[..] == DEFAULT_EK_POLICY
		&& *symmetric == 0x0006
		&& sym_definition == Some(&[0x00, 0x06, 0x00, 0x80, 0x00, 0x43][..])
		&& scheme.alg == alg::NULL
		&& *key_bits == 2048
		&& matches!(*exponent, 0 | 65_537)
		&& modulus.len() == 256
}

/// Parses a DER X.509 certificate of at most [`MAX_CERT_LEN`] bytes.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate, EkError> {
	if der.len() > MAX_CERT_LEN {
		return Err(EkError::MalformedCertificate);
	}
	Certificate::from_der(der).map_err(|_| EkError::MalformedCertificate)
}

fn strip(bytes: &[u8]) -> Vec<u8> {
	let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
	bytes[first..].to_vec()
}

/// The subject public key of `cert`.
pub fn cert_key(cert: &Certificate) -> Result<CertKey, EkError> {
	let spki = &cert.tbs_certificate.subject_public_key_info;
	let key = spki.subject_public_key.as_bytes().ok_or(EkError::MalformedCertificate)?;
	if spki.algorithm.oid == EC_PUBLIC_KEY {
		let named: ObjectIdentifier = spki
			.algorithm
			.parameters
			.as_ref()
			.and_then(|p| p.decode_as().ok())
			.ok_or(EkError::UnsupportedAlgorithm)?;
		match named {
			SECP256R1 => Ok(CertKey::P256(key.to_vec())),
			SECP384R1 => Ok(CertKey::P384(key.to_vec())),
			_ => Err(EkError::UnsupportedAlgorithm),
		}
	} else if spki.algorithm.oid == RSA_ENCRYPTION {
		use rsa::{pkcs1::DecodeRsaPublicKey, traits::PublicKeyParts, BigUint};
		let rsa =
			rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|_| EkError::MalformedCertificate)?;
		if !matches!(rsa.n().bits(), 2048 | 3072) || *rsa.e() != BigUint::from(RSA_EXPONENT) {
			return Err(EkError::RsaKeyNotAllowed);
		}
		Ok(CertKey::Rsa { modulus: rsa.n().to_bytes_be(), exponent: rsa.e().to_bytes_be() })
	} else {
		Err(EkError::UnsupportedAlgorithm)
	}
}

/// Verifies that `issuer` signed `cert`.
fn check_signature(cert: &Certificate, issuer: &Certificate) -> Result<(), EkError> {
	let tbs = cert.tbs_certificate.to_der().map_err(|_| EkError::MalformedCertificate)?;
	let sig = cert.signature.as_bytes().ok_or(EkError::MalformedCertificate)?;
	let oid = cert.signature_algorithm.oid;
	let digest: Vec<u8> = match oid {
		ECDSA_SHA256 | RSA_SHA256 => Sha256::digest(&tbs).to_vec(),
		ECDSA_SHA384 | RSA_SHA384 => Sha384::digest(&tbs).to_vec(),
		_ => return Err(EkError::UnsupportedAlgorithm),
	};
	let bad = |_| EkError::BadCertificateSignature;
	match (cert_key(issuer)?, oid) {
		(CertKey::P256(point), ECDSA_SHA256 | ECDSA_SHA384) => {
			use p256::ecdsa::{signature::hazmat::PrehashVerifier, Signature, VerifyingKey};
			let key =
				VerifyingKey::from_sec1_bytes(&point).map_err(|_| EkError::UnsupportedAlgorithm)?;
			let sig = Signature::from_der(sig).map_err(bad)?;
			key.verify_prehash(&digest, &sig).map_err(bad)
		},
		(CertKey::P384(point), ECDSA_SHA256 | ECDSA_SHA384) => {
			use p384::ecdsa::{signature::hazmat::PrehashVerifier, Signature, VerifyingKey};
			let key =
				VerifyingKey::from_sec1_bytes(&point).map_err(|_| EkError::UnsupportedAlgorithm)?;
			let sig = Signature::from_der(sig).map_err(bad)?;
			key.verify_prehash(&digest, &sig).map_err(bad)
		},
		(CertKey::Rsa { modulus, exponent }, RSA_SHA256 | RSA_SHA384) => {
			use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
			let key = RsaPublicKey::new(
				BigUint::from_bytes_be(&modulus),
				BigUint::from_bytes_be(&exponent),
			)
			.map_err(|_| EkError::UnsupportedAlgorithm)?;
			let scheme = if oid == RSA_SHA256 {
				Pkcs1v15Sign::new::<Sha256>()
			} else {
				Pkcs1v15Sign::new::<Sha384>()
			};
			key.verify(scheme, &digest, sig).map_err(|_| EkError::BadCertificateSignature)
		},
		_ => Err(EkError::UnsupportedAlgorithm),
	}
}

/// The extension `oid` of `cert`, decoded, if present; an undecodable one is malformed.
fn extension<'a, E: Decode<'a>>(
	cert: &'a Certificate,
	oid: ObjectIdentifier,
) -> Result<Option<E>, EkError> {
	match cert.tbs_certificate.extensions.iter().flatten().find(|ext| ext.extn_id == oid) {
		Some(ext) => E::from_der(ext.extn_value.as_bytes())
			.map(Some)
			.map_err(|_| EkError::MalformedCertificate),
		None => Ok(None),
	}
}

/// What every certificate of the chain must satisfy: valid at `now` (Unix seconds), and no
/// critical extension this verifier does not process.
fn check_common(cert: &Certificate, now: u64) -> Result<(), EkError> {
	let validity = &cert.tbs_certificate.validity;
	let from = validity.not_before.to_unix_duration().as_secs();
	let until = validity.not_after.to_unix_duration().as_secs();
	if now < from || now > until {
		return Err(EkError::OutsideValidity);
	}
	let unknown = cert
		.tbs_certificate
		.extensions
		.iter()
		.flatten()
		.any(|ext| ext.critical && !KNOWN_CRITICAL.contains(&ext.extn_id));
	if unknown {
		return Err(EkError::UnknownCriticalExtension);
	}
	Ok(())
}

/// The EK certificate is an end entity's, for the TCG EK purpose, and its key may encrypt
/// (RSA: `keyEncipherment`; ECC: `keyAgreement` or `keyEncipherment`).
fn check_end_entity(cert: &Certificate, key: &CertKey) -> Result<(), EkError> {
	let bc: Option<BasicConstraints> = extension(cert, BASIC_CONSTRAINTS)?;
	let eku: Option<ExtendedKeyUsage> = extension(cert, EXTENDED_KEY_USAGE)?;
	let ku: Option<KeyUsage> = extension(cert, KEY_USAGE)?;
	let encrypts = ku.is_some_and(|ku| match key {
		CertKey::Rsa { .. } => ku.key_encipherment(),
		CertKey::P256(_) | CertKey::P384(_) => ku.key_agreement() || ku.key_encipherment(),
	});
	let ek_purpose = eku.is_some_and(|eku| eku.0.contains(&TCG_KP_EK_CERTIFICATE));
	if bc.is_some_and(|bc| bc.ca) || !ek_purpose || !encrypts {
		return Err(EkError::EkNotEndEntity);
	}
	Ok(())
}

/// `cert` may issue certificates with `below` issuing CAs under it: a CA with `keyCertSign`
/// whose path length, if any, allows that many.
fn check_issuer(cert: &Certificate, below: usize) -> Result<(), EkError> {
	let bc: Option<BasicConstraints> = extension(cert, BASIC_CONSTRAINTS)?;
	let Some(bc) = bc.filter(|bc| bc.ca) else { return Err(EkError::IssuerNotCa) };
	let ku: Option<KeyUsage> = extension(cert, KEY_USAGE)?;
	let within_path = bc.path_len_constraint.is_none_or(|max| below <= usize::from(max));
	if !ku.is_some_and(|ku| ku.key_cert_sign()) || !within_path {
		return Err(EkError::IssuerNotAllowedToSign);
	}
	Ok(())
}

/// Verifies the chain from `ek_cert` through `intermediates` (each the issuer of the one
/// before) to one of `roots`, at time `now` (Unix seconds), and returns the EK certificate's
/// public key.
pub fn verify_chain(
	ek_cert: &[u8],
	intermediates: &[&[u8]],
	roots: &[&[u8]],
	now: u64,
) -> Result<CertKey, EkError> {
	if intermediates.len() > MAX_INTERMEDIATES {
		return Err(EkError::ChainTooLong);
	}
	let ek = parse_certificate(ek_cert)?;
	let ek_key = cert_key(&ek)?;
	check_common(&ek, now)?;
	check_end_entity(&ek, &ek_key)?;
	let mut chain = Vec::with_capacity(intermediates.len() + 1);
	chain.push(ek);
	for der in intermediates {
		let cert = parse_certificate(der)?;
		check_common(&cert, now)?;
		chain.push(cert);
	}
	for (below, pair) in chain.windows(2).enumerate() {
		let (cert, issuer) = (&pair[0], &pair[1]);
		if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
			return Err(EkError::UnknownIssuer);
		}
		check_issuer(issuer, below)?;
		check_signature(cert, issuer)?;
	}
	let last = chain.last().expect("the EK certificate is in the chain");
	// Every trusted root of the right name is tried: a manufacturer rolling its root over
	// has two of one name, and the first is not necessarily the one that signed.
	let below = chain.len() - 1;
	for root in roots {
		let root = parse_certificate(root)?;
		if root.tbs_certificate.subject != last.tbs_certificate.issuer {
			continue;
		}
		let usable = check_common(&root, now).is_ok() && check_issuer(&root, below).is_ok();
		if usable && check_signature(last, &root).is_ok() {
			return Ok(ek_key);
		}
	}
	Err(EkError::UnknownIssuer)
}

/// Whether the EK public area `ek` (TPMT_PUBLIC) holds the certificate's key.
pub fn check_ek_matches(ek: &Public, key: &CertKey) -> Result<(), EkError> {
	let matches = match (&ek.params, key) {
		(KeyParams::Rsa { modulus, exponent, .. }, CertKey::Rsa { modulus: m, exponent: e }) => {
			let tpm_exponent = if *exponent == 0 { 65537 } else { *exponent };
			strip(modulus) == strip(m) && strip(&tpm_exponent.to_be_bytes()) == strip(e)
		},
		(KeyParams::Ecc { curve: c, x, y, .. }, CertKey::P256(point) | CertKey::P384(point)) => {
			let size = if *c == curve::NIST_P256 {
				32
			} else if *c == curve::NIST_P384 {
				48
			} else {
				0
			};
			let same_curve = matches!(
				(key, *c),
				(CertKey::P256(_), curve::NIST_P256) | (CertKey::P384(_), curve::NIST_P384)
			);
			same_curve
				&& point.len() == 1 + 2 * size
				&& point[0] == 4
				&& strip(&point[1..1 + size]) == strip(x)
				&& strip(&point[1 + size..]) == strip(y)
		},
		_ => false,
	};
	if matches {
		Ok(())
	} else {
		Err(EkError::EkKeyMismatch)
	}
}

impl core::fmt::Display for EkError {
	fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
		write!(f, "EK certificate chain refused: {self:?}")
	}
}

impl core::error::Error for EkError {}
