//! A worker's registration evidence, verified in one call: what the registry runs when a
//! worker registers (DESIGN §5).

use super::{
	ek::{check_ek_matches, is_default_rsa_ek, key_id, verify_chain, EkError},
	launch::{launch_state, LaunchError, LaunchState},
	nonce::registration_nonce,
	public::{ek_qualified_name, Public},
	verify::{
		ak_qualified_name, check_ak, check_sealing_key, verify_certification, CertificationError,
		KeyError,
	},
};
use alloc::vec::Vec;

/// What a worker submits about its TPM.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
	/// The EK certificate (DER).
	pub ek_cert: &'a [u8],
	/// The issuing CAs between it and a trusted root (DER), issuer first.
	pub intermediates: &'a [&'a [u8]],
	/// The EK public area (TPM2B_PUBLIC).
	pub ek_public: &'a [u8],
	/// The AK public area (TPM2B_PUBLIC).
	pub ak_public: &'a [u8],
	/// The sealing key's public area (TPM2B_PUBLIC).
	pub sealing_public: &'a [u8],
	/// The AK's `TPM2_Certify` of the sealing key (TPMS_ATTEST), nonce =
	/// [`registration_nonce`] of the registering account.
	pub certify_attest: &'a [u8],
	/// Its signature (TPMT_SIGNATURE).
	pub certify_signature: &'a [u8],
	/// The boot PCRs' SHA-256 values (`BOOT_PCRS` order), as the TPM holds them.
	pub boot_pcrs: &'a [[u8; 32]],
	/// The measured launch's event log: the digests extended into the executor PCR, in order
	/// ([`super::launch`]).
	pub launch_log: &'a [[u8; 32]],
}

/// Why registration evidence is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationError {
	/// The EK certificate chain, or the EK against it.
	Ek(EkError),
	/// The EK public area does not parse.
	MalformedEk,
	/// The EK public area is not the TCG default RSA-2048 EK template (credential activation,
	/// which binds the AK to this EK, assumes it).
	EkNotDefaultTemplate,
	/// The AK's or the sealing key's public area.
	Key(KeyError),
	/// The AK's certification of the sealing key.
	Certification(CertificationError),
	/// The boot PCR values or the launch log.
	Launch(LaunchError),
}

/// What the chain keeps of a verified TPM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTpm {
	/// `QN(AK)`: every quote must name it as its signer.
	pub ak_qualified_name: Vec<u8>,
	/// `QN(EK)`.
	pub ek_qualified_name: Vec<u8>,
	/// The TPM's identity, one worker per TPM: [`key_id`] of the certified EK key.
	pub ek_key_id: [u8; 32],
	/// The launch state the sealing key is bound to and every quote must show.
	pub launch: LaunchState,
}

/// Verifies `evidence` for `account` against the trusted `roots` at time `now` (Unix
/// seconds): the EK chain and key, the AK's and sealing key's public areas (the sealing key
/// bound by PolicyPCR to the launch state of `boot_pcrs` and `launch_log`), and the
/// certification, with this account's nonce, of the sealing key as the EK's child. Whether
/// the boot state and each logged build are allowed is the chain's policy, checked by the
/// caller on [`VerifiedTpm::launch`] and the log.
pub fn verify_registration(
	evidence: &Evidence,
	account: &[u8],
	roots: &[&[u8]],
	now: u64,
) -> Result<VerifiedTpm, RegistrationError> {
	let cert_key = verify_chain(evidence.ek_cert, evidence.intermediates, roots, now)
		.map_err(RegistrationError::Ek)?;
	let ek = Public::from_tpm2b(evidence.ek_public).map_err(|_| RegistrationError::MalformedEk)?;
	check_ek_matches(&ek, &cert_key).map_err(RegistrationError::Ek)?;
	if !is_default_rsa_ek(&ek) {
		return Err(RegistrationError::EkNotDefaultTemplate);
	}
	let ak = check_ak(evidence.ak_public).map_err(RegistrationError::Key)?;
	let launch =
		launch_state(evidence.boot_pcrs, evidence.launch_log).map_err(RegistrationError::Launch)?;
	let sealing = check_sealing_key(evidence.sealing_public, &launch.sealing_policy)
		.map_err(RegistrationError::Key)?;
	let ek_qn = ek_qualified_name(&ek);
	let ak_qn = ak_qualified_name(&ek_qn, &ak);
	verify_certification(
		&ak,
		&ak_qn,
		&ek_qn,
		&sealing,
		&registration_nonce(account),
		evidence.certify_attest,
		evidence.certify_signature,
	)
	.map_err(RegistrationError::Certification)?;
	Ok(VerifiedTpm {
		ak_qualified_name: ak_qn,
		ek_qualified_name: ek_qn,
		ek_key_id: key_id(&cert_key),
		launch,
	})
}
