//! Evidence made by a real TPM (swtpm) with the executor's TPM module, committed under
//! `fixtures/tpm/` by `scripts/tpm/make-fixtures.sh`, verified here as the runtime verifies it;
//! each tampering is refused with its own error.

use super::{
	attest::{Attest, Attested},
	ek::{check_ek_matches, verify_chain, EkError},
	nonce::{
		challenge_nonce,
		fixture_inputs::{ACCOUNT, BLOCK, MEASUREMENTS, ROUND, TASK},
		quote_nonce, registration_nonce, Measurements,
	},
	public::{ek_qualified_name, Public},
	verify::*,
	wire::WireError,
};

use super::fixtures::*;

fn ek() -> Public {
	Public::from_tpm2b(EK_PUBLIC).unwrap()
}

fn ak() -> Public {
	check_ak(AK_PUBLIC).unwrap()
}

fn ak_qn() -> alloc::vec::Vec<u8> {
	ak_qualified_name(&ek_qualified_name(&ek()), &ak())
}

fn allowed() -> [[u8; 32]; 1] {
	[launch_state().quote_digest]
}

fn sealing_policy() -> [u8; 32] {
	launch_state().sealing_policy
}

fn ek_qn() -> alloc::vec::Vec<u8> {
	ek_qualified_name(&ek())
}

fn quote(attest: &[u8], signature: &[u8]) -> Result<QuoteOutcome, QuoteError> {
	let nonce = quote_nonce(TASK, ROUND, crate::Phase::Before, &BLOCK, &MEASUREMENTS);
	let allowed = allowed();
	let policy = PcrPolicy { select: &PCR_SELECT, allowed: &allowed };
	verify_quote(&ak(), &ak_qn(), &nonce, &policy, None, attest, signature)
}

fn certification(attest: &[u8], signature: &[u8]) -> Result<(), CertificationError> {
	let sealing = check_sealing_key(SEALING_PUBLIC, &sealing_policy()).unwrap();
	verify_certification(
		&ak(),
		&ak_qn(),
		&ek_qn(),
		&sealing,
		&registration_nonce(&ACCOUNT),
		attest,
		signature,
	)
}

/// `bytes` with the byte at `at` flipped.
fn flip(bytes: &[u8], at: usize) -> alloc::vec::Vec<u8> {
	let mut out = bytes.to_vec();
	out[at] ^= 0x01;
	out
}

#[test]
fn the_ek_certificate_chains_to_the_test_root_and_holds_the_ek() {
	let key = verify_chain(EK_CERT, &[ISSUER], &[ROOT], valid_at()).unwrap();
	assert_eq!(check_ek_matches(&ek(), &key), Ok(()));
	// The same EK certified by an RSA-2048 and by a P-384 manufacturer root.
	let key = verify_chain(EK_CERT_BY_RSA, &[], &[RSA_ROOT], valid_at()).unwrap();
	assert_eq!(check_ek_matches(&ek(), &key), Ok(()));
	let key = verify_chain(EK_CERT_BY_P384, &[], &[P384_ROOT], valid_at()).unwrap();
	assert_eq!(check_ek_matches(&ek(), &key), Ok(()));
}

#[test]
fn a_chain_to_an_untrusted_root_or_a_tampered_certificate_is_refused() {
	assert_eq!(
		verify_chain(EK_CERT, &[ISSUER], &[RSA_ROOT], valid_at()),
		Err(EkError::UnknownIssuer)
	);
	assert_eq!(verify_chain(EK_CERT, &[], &[ROOT], valid_at()), Err(EkError::UnknownIssuer));
	// A chain may end at any certificate the chain trusts, an issuing CA included.
	assert!(verify_chain(EK_CERT, &[], &[ISSUER], valid_at()).is_ok());
	// A flipped bit in the signature value (the certificate's last byte).
	let tampered = flip(EK_CERT, EK_CERT.len() - 1);
	assert!(matches!(
		verify_chain(&tampered, &[ISSUER], &[ROOT], valid_at()),
		Err(EkError::BadCertificateSignature | EkError::MalformedCertificate)
	));
	assert_eq!(
		verify_chain(b"not a certificate", &[], &[ROOT], valid_at()),
		Err(EkError::MalformedCertificate)
	);
	// The certificate is not the EK's key: the AK's area is not the certified key.
	let key = verify_chain(EK_CERT, &[ISSUER], &[ROOT], valid_at()).unwrap();
	assert_eq!(check_ek_matches(&ak(), &key), Err(EkError::EkKeyMismatch));
}

#[test]
fn the_issuing_cas_own_certificate_cannot_pass_for_an_ek() {
	// The attack: the issuing CA's certificate submitted as the "EK certificate", its key as
	// the "EK" and a software AK: a worker with no TPM at all. It chains to the root, but it
	// is a CA's certificate, not a TPM's.
	assert_eq!(verify_chain(ISSUER, &[], &[ROOT], valid_at()), Err(EkError::EkNotEndEntity));
	// Nor a root's own certificate, even one the chain trusts.
	assert_eq!(verify_chain(RSA_ROOT, &[], &[RSA_ROOT], valid_at()), Err(EkError::EkNotEndEntity));
}

#[test]
fn every_certificate_is_checked_at_the_chains_time() {
	assert!(verify_chain(EK_CERT, &[ISSUER], &[ROOT], valid_at()).is_ok());
	assert_eq!(
		verify_chain(EK_CERT, &[ISSUER], &[ROOT], valid_at() - 3600),
		Err(EkError::OutsideValidity),
		"before the EK certificate was issued"
	);
	let ek = super::ek::parse_certificate(EK_CERT).unwrap();
	let expiry = ek.tbs_certificate.validity.not_after.to_unix_duration().as_secs();
	assert_eq!(
		verify_chain(EK_CERT, &[ISSUER], &[ROOT], expiry + 1),
		Err(EkError::OutsideValidity),
		"after it expired"
	);
}

#[test]
fn issuers_must_be_cas_allowed_to_sign_within_their_path_length() {
	// A CA with CRL signing only.
	assert_eq!(
		verify_chain(EK_CERT_BY_NOSIGN, &[], &[NOSIGN_ROOT], valid_at()),
		Err(EkError::UnknownIssuer),
		"a root that may not sign certificates anchors nothing"
	);
	assert_eq!(
		verify_chain(EK_CERT_BY_NOSIGN, &[NOSIGN_ROOT], &[NOSIGN_ROOT], valid_at()),
		Err(EkError::IssuerNotAllowedToSign)
	);
	// A sub-CA under the test issuer, whose path length is 0.
	assert_eq!(
		verify_chain(EK_CERT_BY_SUBCA, &[SUBCA, ISSUER], &[ROOT], valid_at()),
		Err(EkError::IssuerNotAllowedToSign)
	);
	// An end entity's certificate as an issuer: not a CA.
	assert_eq!(
		verify_chain(EK_CERT_BY_SUBCA, &[EK_CERT], &[ROOT], valid_at()),
		Err(EkError::UnknownIssuer),
		"its subject is not the issuer's name"
	);
}

#[test]
fn unknown_critical_extensions_and_costly_rsa_keys_are_refused() {
	assert_eq!(
		verify_chain(EK_CERT_CRITICAL_EXT, &[], &[RSA_ROOT], valid_at()),
		Err(EkError::UnknownCriticalExtension)
	);
	// RSA-4096 verifies slower than `register` is weighed for: refused by name.
	assert_eq!(
		verify_chain(EK_CERT_BY_RSA4096, &[], &[RSA4096_ROOT], valid_at()),
		Err(EkError::UnknownIssuer),
		"a 4096-bit root anchors nothing"
	);
	assert_eq!(
		verify_chain(EK_CERT_BY_RSA4096, &[RSA4096_ROOT], &[RSA4096_ROOT], valid_at()),
		Err(EkError::RsaKeyNotAllowed)
	);
}

#[test]
fn every_root_of_the_issuers_name_is_tried_so_root_rollover_works() {
	// The new root first, the old one (that signed) second: before, only the first root of a
	// matching name was tried, and a genuine TPM was refused with a signature error.
	let key = verify_chain(EK_CERT, &[ISSUER], &[ROLLOVER_ROOT, ROOT], valid_at()).unwrap();
	assert_eq!(check_ek_matches(&ek(), &key), Ok(()));
	// A root of the right name that did not sign: the issuer is untrusted, not "a bad
	// signature".
	assert_eq!(
		verify_chain(EK_CERT, &[ISSUER], &[ROLLOVER_ROOT], valid_at()),
		Err(EkError::UnknownIssuer)
	);
}

#[test]
fn the_ak_is_a_restricted_p256_signing_key_and_anything_else_is_refused() {
	let ak = ak();
	assert_eq!(ak.attributes, AK_ATTRIBUTES);
	// Attributes start at byte 2 (size) + 2 (type) + 2 (name alg); `restricted` is bit 16.
	let mut unrestricted = AK_PUBLIC.to_vec();
	unrestricted[7] &= !0x01;
	assert_eq!(check_ak(&unrestricted), Err(KeyError::AkAttributes));
	assert_eq!(check_ak(SEALING_PUBLIC), Err(KeyError::AkNotP256Ecdsa));
	let mut trailing = AK_PUBLIC.to_vec();
	trailing.push(0);
	assert_eq!(check_ak(&trailing), Err(KeyError::Malformed(WireError::TrailingBytes)));
	for cut in 0..AK_PUBLIC.len() {
		assert!(check_ak(&AK_PUBLIC[..cut]).is_err(), "a truncated AK at {cut}");
	}
}

#[test]
fn the_sealing_key_is_certified_by_the_ak_for_this_account() {
	assert_eq!(certification(CERTIFY_ATTEST, CERTIFY_SIGNATURE), Ok(()));
	let sealing = check_sealing_key(SEALING_PUBLIC, &sealing_policy()).unwrap();
	// Another account's nonce: the material cannot be registered by someone else.
	assert_eq!(
		verify_certification(
			&ak(),
			&ak_qn(),
			&ek_qn(),
			&sealing,
			&registration_nonce(&[0x12; 32]),
			CERTIFY_ATTEST,
			CERTIFY_SIGNATURE
		),
		Err(CertificationError::Signed(SignedError::WrongNonce))
	);
	// The certification does not name another key (the AK's own area here).
	assert_eq!(
		verify_certification(
			&ak(),
			&ak_qn(),
			&ek_qn(),
			&ak(),
			&registration_nonce(&ACCOUNT),
			CERTIFY_ATTEST,
			CERTIFY_SIGNATURE
		),
		Err(CertificationError::WrongCertifiedKey)
	);
	// The key certified is the EK's child: under another parent (here, as if the AK were its
	// parent) its qualified name differs, and the TPM computed the real one.
	assert_eq!(
		verify_certification(
			&ak(),
			&ak_qn(),
			&ak_qn(),
			&sealing,
			&registration_nonce(&ACCOUNT),
			CERTIFY_ATTEST,
			CERTIFY_SIGNATURE
		),
		Err(CertificationError::WrongQualifiedName)
	);
	assert_eq!(
		certification(CERTIFY_ATTEST, &flip(CERTIFY_SIGNATURE, CERTIFY_SIGNATURE.len() - 1)),
		Err(CertificationError::Signed(SignedError::BadSignature))
	);
	// A quote is not a certification.
	assert_eq!(
		certification(QUOTE_ATTEST, QUOTE_SIGNATURE),
		Err(CertificationError::Signed(SignedError::WrongAttestationType))
	);
	// The sealing key decrypts only; an AK is not one.
	assert_eq!(
		check_sealing_key(AK_PUBLIC, &sealing_policy()),
		Err(KeyError::SealingKeyNotRsaOaep)
	);
	let mut signing = SEALING_PUBLIC.to_vec();
	signing[7] |= 0x04; // `sign` is bit 18
	assert_eq!(check_sealing_key(&signing, &sealing_policy()), Err(KeyError::SealingKeyAttributes));
}

#[test]
fn the_sealing_key_opens_by_its_launch_policy_only() {
	// Made by the TPM with userWithAuth clear and PolicyPCR of the launch state.
	let key = check_sealing_key(SEALING_PUBLIC, &sealing_policy()).unwrap();
	assert_eq!(key.attributes & super::wire::attr::USER_WITH_AUTH, 0);
	// With userWithAuth set, its empty password would open released keys from any shell.
	let mut with_password = SEALING_PUBLIC.to_vec();
	with_password[9] |= 0x40; // `userWithAuth` is bit 6
	assert_eq!(
		check_sealing_key(&with_password, &sealing_policy()),
		Err(KeyError::SealingKeyAttributes)
	);
	// Bound to another launch (another executor build in the log): not this worker's state.
	let other =
		super::launch::launch_state(boot_pcrs(), &[[0x77; 32], [0x88; 32], [0x98; 32]]).unwrap();
	assert_eq!(
		check_sealing_key(SEALING_PUBLIC, &other.sealing_policy),
		Err(KeyError::SealingKeyPolicy)
	);
	// Registration recomputes the policy from the submitted boot values and log.
	let evidence = super::registration::Evidence {
		launch_log: &[[0x77; 32], [0x88; 32]],
		..registration_evidence()
	};
	assert_eq!(
		super::registration::verify_registration(&evidence, &ACCOUNT, &[ROOT], valid_at()),
		Err(super::registration::RegistrationError::Key(KeyError::SealingKeyPolicy))
	);
	// The quote carries the same state: boot PCRs and the replayed executor PCR.
	let quoted = Attest::parse(QUOTE_ATTEST).unwrap();
	let Attested::Quote { pcr_digest, .. } = quoted.attested else { panic!("a quote") };
	assert_eq!(pcr_digest[..], launch_state().quote_digest[..]);
}

#[test]
fn the_quote_verifies_and_each_tampering_has_its_own_error() {
	let outcome = quote(QUOTE_ATTEST, QUOTE_SIGNATURE).unwrap();
	assert!(outcome.clock.safe);

	let parsed = Attest::parse(QUOTE_ATTEST).unwrap();
	let Attested::Quote { pcr_digest: digest, .. } = &parsed.attested else { panic!("a quote") };
	assert_eq!(digest[..], allowed()[0][..]);

	// Signature: a flipped bit, a downgraded hash id.
	assert_eq!(
		quote(QUOTE_ATTEST, &flip(QUOTE_SIGNATURE, QUOTE_SIGNATURE.len() - 1)),
		Err(QuoteError::Signed(SignedError::BadSignature))
	);
	let mut sha1 = QUOTE_SIGNATURE.to_vec();
	sha1[3] = 0x04; // TPM_ALG_SHA1
	assert_eq!(quote(QUOTE_ATTEST, &sha1), Err(QuoteError::Signed(SignedError::SignatureScheme)));
	// Any changed byte of the signed structure breaks the signature.
	assert_eq!(
		quote(&flip(QUOTE_ATTEST, 20), QUOTE_SIGNATURE),
		Err(QuoteError::Signed(SignedError::BadSignature))
	);

	let ak = ak();
	let qn = ak_qn();
	let allowed = allowed();
	let policy = PcrPolicy { select: &PCR_SELECT, allowed: &allowed };
	let nonce = quote_nonce(TASK, ROUND, crate::Phase::Before, &BLOCK, &MEASUREMENTS);
	let check = |nonce: &[u8; 32], qn: &[u8], policy: &PcrPolicy, last| {
		verify_quote(&ak, qn, nonce, policy, last, QUOTE_ATTEST, QUOTE_SIGNATURE)
	};
	// Another phase, round, task, block or measurement gives another nonce.
	let after = quote_nonce(TASK, ROUND, crate::Phase::After, &BLOCK, &MEASUREMENTS);
	assert_eq!(check(&after, &qn, &policy, None), Err(QuoteError::Signed(SignedError::WrongNonce)));
	// The same quote is no evidence about the next round of the same task.
	let next_round = quote_nonce(TASK, ROUND + 1, crate::Phase::Before, &BLOCK, &MEASUREMENTS);
	assert_eq!(
		check(&next_round, &qn, &policy, None),
		Err(QuoteError::Signed(SignedError::WrongNonce))
	);
	// A challenge answer for the same task, phase and measurements is never an attestation's
	// nonce, whatever the challenger chose.
	let challenge = challenge_nonce(TASK, ROUND, crate::Phase::Before, &BLOCK, &MEASUREMENTS);
	assert_ne!(challenge, nonce);
	assert_eq!(
		check(&challenge, &qn, &policy, None),
		Err(QuoteError::Signed(SignedError::WrongNonce))
	);
	let other = Measurements { image_id: [0x34; 32], ..MEASUREMENTS };
	let nonce_other = quote_nonce(TASK, ROUND, crate::Phase::Before, &BLOCK, &other);
	assert_eq!(
		check(&nonce_other, &qn, &policy, None),
		Err(QuoteError::Signed(SignedError::WrongNonce))
	);
	// A signer that is not the registered AK's qualified name.
	let mut wrong_qn = qn.clone();
	wrong_qn[5] ^= 1;
	assert_eq!(
		check(&nonce, &wrong_qn, &policy, None),
		Err(QuoteError::Signed(SignedError::WrongSigner))
	);
	// A boot state the policy does not allow, or another PCR selection.
	let other_state = PcrPolicy { select: &PCR_SELECT, allowed: &[[0; 32]] };
	assert_eq!(check(&nonce, &qn, &other_state, None), Err(QuoteError::PcrDigestNotAllowed));
	let other_pcrs = PcrPolicy { select: &[0x7f, 0, 0], allowed: &allowed };
	assert_eq!(check(&nonce, &qn, &other_pcrs, None), Err(QuoteError::WrongPcrSelection));
	// The clock: a later quote seen before this one means this one went backwards.
	let mut later = outcome.clock;
	later.clock += 1;
	assert_eq!(check(&nonce, &qn, &policy, Some(later)), Err(QuoteError::ClockWentBackwards));
	let mut earlier = outcome.clock;
	earlier.clock -= 1;
	assert!(check(&nonce, &qn, &policy, Some(earlier)).is_ok());
	let mut rebooted = outcome.clock;
	rebooted.reset_count += 1;
	assert_eq!(check(&nonce, &qn, &policy, Some(rebooted)), Err(QuoteError::ClockWentBackwards));
}

#[test]
fn garbage_never_panics_and_is_refused() {
	for len in 0..300usize {
		let bytes: alloc::vec::Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
		assert!(Attest::parse(&bytes).is_err());
		assert!(Public::from_tpm2b(&bytes).is_err());
		assert!(check_ak(&bytes).is_err());
		assert!(quote(&bytes, QUOTE_SIGNATURE).is_err());
		assert!(quote(QUOTE_ATTEST, &bytes).is_err());
		assert!(verify_chain(&bytes, &[], &[ROOT], valid_at()).is_err());
	}
	for cut in 0..QUOTE_ATTEST.len() {
		assert!(Attest::parse(&QUOTE_ATTEST[..cut]).is_err());
	}
}

#[test]
fn registration_evidence_verifies_in_one_call_for_its_account_only() {
	use super::registration::{verify_registration, Evidence, RegistrationError};
	let evidence = registration_evidence();
	let verified = verify_registration(&evidence, &ACCOUNT, &[ROOT], valid_at()).unwrap();
	assert_eq!(verified.ak_qualified_name, ak_qn());
	assert_eq!(
		verify_registration(&evidence, &[0x12; 32], &[ROOT], valid_at()),
		Err(RegistrationError::Certification(CertificationError::Signed(SignedError::WrongNonce)))
	);
	assert_eq!(
		verify_registration(&evidence, &ACCOUNT, &[RSA_ROOT], valid_at()),
		Err(RegistrationError::Ek(EkError::UnknownIssuer))
	);
	let swapped = Evidence { ak_public: SEALING_PUBLIC, ..evidence };
	assert_eq!(
		verify_registration(&swapped, &ACCOUNT, &[ROOT], valid_at()),
		Err(RegistrationError::Key(KeyError::AkNotP256Ecdsa))
	);
}

#[test]
fn the_after_quote_carries_the_result_and_follows_the_before_quote() {
	use crate::tpm::nonce::fixture_inputs::AFTER_MEASUREMENTS;
	let (ak, qn, allowed) = (ak(), ak_qn(), allowed());
	let policy = PcrPolicy { select: &PCR_SELECT, allowed: &allowed };
	let before = quote(QUOTE_ATTEST, QUOTE_SIGNATURE).unwrap();
	let nonce = quote_nonce(TASK, ROUND, crate::Phase::After, &BLOCK, &AFTER_MEASUREMENTS);
	let after = verify_quote(
		&ak,
		&qn,
		&nonce,
		&policy,
		Some(before.clock),
		QUOTE_AFTER_ATTEST,
		QUOTE_AFTER_SIGNATURE,
	)
	.expect("the After quote verifies after the Before one");
	// The Before quote cannot come after it: its clock is behind.
	let before_nonce = quote_nonce(TASK, ROUND, crate::Phase::Before, &BLOCK, &MEASUREMENTS);
	assert_eq!(
		verify_quote(
			&ak,
			&qn,
			&before_nonce,
			&policy,
			Some(after.clock),
			QUOTE_ATTEST,
			QUOTE_SIGNATURE
		),
		Err(QuoteError::ClockWentBackwards)
	);
	// Another result, key commitment or exit status gives another nonce.
	for other in [
		Measurements { result_hash: Some([0x67; 32]), ..AFTER_MEASUREMENTS },
		Measurements { exit_status: Some(1), ..AFTER_MEASUREMENTS },
		Measurements { keys_commitment: Some([0x69; 32]), ..AFTER_MEASUREMENTS },
	] {
		let nonce = quote_nonce(TASK, ROUND, crate::Phase::After, &BLOCK, &other);
		assert_eq!(
			verify_quote(
				&ak,
				&qn,
				&nonce,
				&policy,
				None,
				QUOTE_AFTER_ATTEST,
				QUOTE_AFTER_SIGNATURE
			),
			Err(QuoteError::Signed(SignedError::WrongNonce))
		);
	}
}

#[test]
fn the_boot_pcrs_are_one_selection_bitmap() {
	assert_eq!(crate::tpm::BOOT_PCR_SELECT, [0xff, 0, 0]);
	assert_eq!(crate::tpm::pcr_bitmap(&[0, 9, 23]), [0x01, 0x02, 0x80]);
	assert_eq!(crate::tpm::fixtures::PCR_SELECT, crate::tpm::launch::QUOTED_PCR_SELECT);
}

#[test]
fn the_fixture_ek_is_the_default_template_and_one_with_other_attributes_is_refused() {
	use super::ek::{is_default_rsa_ek, DEFAULT_EK_ATTRIBUTES};
	assert!(is_default_rsa_ek(&ek()));
	// The same key under other attributes: another qualified name for the same TPM, which
	// would let a squatter register it twice. Refused at registration.
	let mut bytes = ek().bytes.clone();
	bytes[4..8].copy_from_slice(&(DEFAULT_EK_ATTRIBUTES & !0x0000_0080).to_be_bytes());
	let other = Public::parse(&bytes).unwrap();
	assert!(!is_default_rsa_ek(&other));
	assert_ne!(ek_qualified_name(&other), ek_qualified_name(&ek()));
	let tpm2b = super::public::to_tpm2b(&bytes);
	let evidence = super::registration::Evidence { ek_public: &tpm2b, ..registration_evidence() };
	assert_eq!(
		super::registration::verify_registration(&evidence, &ACCOUNT, &[ROOT], valid_at()),
		Err(super::registration::RegistrationError::EkNotDefaultTemplate)
	);
}

#[test]
fn a_tpms_key_id_is_its_certified_keys_whatever_the_public_area() {
	use super::ek::{cert_key, key_id, parse_certificate};
	let verified = verified_tpm();
	let certified = cert_key(&parse_certificate(EK_CERT).unwrap()).unwrap();
	assert_eq!(verified.ek_key_id, key_id(&certified));
	// Leading zeros do not make another key.
	let super::ek::CertKey::Rsa { modulus, exponent } = certified.clone() else { panic!() };
	let padded = super::ek::CertKey::Rsa { modulus: [&[0u8][..], &modulus].concat(), exponent };
	assert_eq!(key_id(&padded), verified.ek_key_id);
	// Another TPM's key is another id.
	let super::ek::CertKey::Rsa { mut modulus, exponent } = certified else { panic!() };
	modulus[100] ^= 1;
	assert_ne!(key_id(&super::ek::CertKey::Rsa { modulus, exponent }), verified.ek_key_id);
}
