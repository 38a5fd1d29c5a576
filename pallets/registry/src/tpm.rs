//! What the registry knows of a worker's TPM (DESIGN §5): the evidence a worker registers with,
//! what the chain keeps once it is verified, the chain's quote policy, and the verifier.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use vouch_primitives::tpm::{
	attest::ClockInfo,
	ek::MAX_INTERMEDIATES,
	launch::{MAX_LAUNCH_LOG, QUOTED_PCR_SELECT},
	registration::{self, RegistrationError},
	verify::{self, check_ak, PcrPolicy, QuoteError, SignedError},
	BOOT_PCRS,
};

/// Longest DER certificate (EK, issuing CA or root), in bytes.
pub const MAX_CERT_LEN: u32 = 2048;
/// Longest TPM structure (a TPM2B_PUBLIC, TPMS_ATTEST or TPMT_SIGNATURE), in bytes.
pub const MAX_TPM_STRUCT_LEN: u32 = 1024;
/// Longest TPM name or qualified name: a hash algorithm id and a SHA-512 digest.
pub const MAX_NAME_LEN: u32 = 66;
/// Most trusted manufacturer roots.
pub const MAX_TRUSTED_ROOTS: u32 = 16;
/// Most allowed boot states (PCR digests) in the quote policy.
pub const MAX_ALLOWED_DIGESTS: u32 = 16;
/// The boot PCR values a registration carries: one per `vouch_primitives::tpm::BOOT_PCRS`.
pub const MAX_BOOT_PCRS: u32 = BOOT_PCRS.len() as u32;
/// Most entries in a launch log.
pub const MAX_LAUNCH_LOG_LEN: u32 = MAX_LAUNCH_LOG as u32;
/// Longest label of an allowed build.
pub const MAX_BUILD_LABEL_LEN: u32 = 128;

/// A DER X.509 certificate.
pub type Certificate = BoundedVec<u8, ConstU32<MAX_CERT_LEN>>;
/// A TPM wire structure.
pub type TpmStruct = BoundedVec<u8, ConstU32<MAX_TPM_STRUCT_LEN>>;
/// A TPM (qualified) name.
pub type TpmName = BoundedVec<u8, ConstU32<MAX_NAME_LEN>>;
/// The trusted manufacturer roots.
pub type TrustedRoots = BoundedVec<Certificate, ConstU32<MAX_TRUSTED_ROOTS>>;
/// A measured launch's event log: the SHA-256 digests extended into the executor PCR, in
/// order (`vouch_primitives::tpm::launch`).
pub type LaunchLog = BoundedVec<[u8; 32], ConstU32<MAX_LAUNCH_LOG_LEN>>;
/// What an allowed build is, for people: e.g. `vouch-executor 0.1.0 (git 9bc4665)`.
pub type BuildLabel = BoundedVec<u8, ConstU32<MAX_BUILD_LABEL_LEN>>;

/// What a measurement in a launch log is of.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum BuildKind {
	/// An executor build (`vouch-executor`), or an OS image holding one: every launch must
	/// measure one.
	Executor,
	/// A binary of the job runtime: the Docker daemon, containerd, the OCI runtime.
	JobRuntime,
	/// The job runtime's sandbox-relevant configuration.
	SandboxConfig,
	/// Another part of an OS's measured launch (a kernel image section, a boot phase).
	Os,
}

/// A measurement the chain allows in launch logs: root keeps the list (as MRENCLAVE lists
/// are kept for enclaves).
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct AllowedBuild {
	/// What it is.
	pub kind: BuildKind,
	/// Which build, for people.
	pub label: BuildLabel,
}

/// What a worker submits about its TPM when it registers: everything the runtime needs to
/// check that its keys live in a genuine TPM, and that the TPM is bound to this account.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct TpmEvidence {
	/// The EK certificate (DER), as the manufacturer wrote it into the TPM's NV storage.
	pub ek_cert: Certificate,
	/// The issuing CAs between the EK certificate and a trusted root (DER), issuer first.
	pub intermediates: BoundedVec<Certificate, ConstU32<{ MAX_INTERMEDIATES as u32 }>>,
	/// The EK's public area (TPM2B_PUBLIC): must hold the certificate's key.
	pub ek_public: TpmStruct,
	/// The attestation key's public area (TPM2B_PUBLIC): ECC P-256, restricted signing.
	pub ak_public: TpmStruct,
	/// The sealing key's public area (TPM2B_PUBLIC): RSA-2048 OAEP, decrypt only. Data keys
	/// are sealed to it.
	pub sealing_public: TpmStruct,
	/// The AK's `TPM2_Certify` of the sealing key (TPMS_ATTEST), made with the registering
	/// account's nonce (`vouch_primitives::tpm::nonce::registration_nonce`).
	pub certify_attest: TpmStruct,
	/// Its signature (TPMT_SIGNATURE).
	pub certify_signature: TpmStruct,
	/// The boot PCRs' SHA-256 values (PCRs 0-7, in order): their digest must be an allowed
	/// boot state of the [`QuotePolicy`].
	pub boot_pcrs: BoundedVec<[u8; 32], ConstU32<MAX_BOOT_PCRS>>,
	/// The measured launch's event log: each digest must be an allowed build, one of them an
	/// executor. The sealing key's `authPolicy` must be PolicyPCR of the boot PCRs and this
	/// log's replay.
	pub launch_log: LaunchLog,
}

/// Evidence that does not fit the chain's bounds; names the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvidenceTooLarge(pub &'static str);

impl TryFrom<registration::Evidence<'_>> for TpmEvidence {
	type Error = EvidenceTooLarge;

	/// The call argument for evidence a TPM produced (e.g. the fixtures, or a client's).
	fn try_from(e: registration::Evidence<'_>) -> Result<Self, EvidenceTooLarge> {
		fn bound<const N: u32>(
			field: &'static str,
			bytes: &[u8],
		) -> Result<BoundedVec<u8, ConstU32<N>>, EvidenceTooLarge> {
			bytes.to_vec().try_into().map_err(|_| EvidenceTooLarge(field))
		}
		let intermediates = e
			.intermediates
			.iter()
			.map(|c| bound("intermediates", c))
			.collect::<Result<alloc::vec::Vec<_>, _>>()?;
		Ok(Self {
			ek_cert: bound("ek_cert", e.ek_cert)?,
			intermediates: intermediates
				.try_into()
				.map_err(|_| EvidenceTooLarge("intermediates"))?,
			ek_public: bound("ek_public", e.ek_public)?,
			ak_public: bound("ak_public", e.ak_public)?,
			sealing_public: bound("sealing_public", e.sealing_public)?,
			certify_attest: bound("certify_attest", e.certify_attest)?,
			certify_signature: bound("certify_signature", e.certify_signature)?,
			boot_pcrs: e
				.boot_pcrs
				.to_vec()
				.try_into()
				.map_err(|_| EvidenceTooLarge("boot_pcrs"))?,
			launch_log: e
				.launch_log
				.to_vec()
				.try_into()
				.map_err(|_| EvidenceTooLarge("launch_log"))?,
		})
	}
}

/// A verified TPM, as the chain keeps it.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct RegisteredTpm {
	/// `QN(EK)`.
	pub ek_qualified_name: TpmName,
	/// The TPM's identity, one worker per TPM: the key id of its EK certificate's key
	/// (`vouch_primitives::tpm::ek::key_id`).
	pub ek_key_id: [u8; 32],
	/// The EK's public area (TPM2B_PUBLIC): verifiers make activation credentials for it.
	pub ek_public: TpmStruct,
	/// `QN(AK)`: every quote must name it as its signer.
	pub ak_qualified_name: TpmName,
	/// The AK's public area: verifies the worker's quotes.
	pub ak_public: TpmStruct,
	/// The sealing key's public area: what requesters and developers seal data keys to.
	pub sealing_public: TpmStruct,
	/// The launch state its sealing key is bound to and its quotes must show.
	pub launch: LaunchRecord,
}

/// A worker's measured launch, as registration established it.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct LaunchRecord {
	/// The digest of its boot PCRs' values: must stay an allowed boot state.
	pub boot_digest: [u8; 32],
	/// The PCR digest (boot PCRs and executor PCR) every quote of this worker must carry.
	pub quote_digest: [u8; 32],
	/// The launch log's digests: each must stay an allowed build.
	pub builds: LaunchLog,
}

/// The chain's boot policy: which boot states (digests of the boot PCRs' values) are allowed.
/// Quotes cover the boot PCRs and the executor PCR (`vouch_primitives::tpm::launch`).
#[derive(
	Clone,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct QuotePolicy {
	/// The allowed SHA-256 digests of the boot PCRs' (0-7) values (known-good boot states).
	pub allowed_digests: BoundedVec<[u8; 32], ConstU32<MAX_ALLOWED_DIGESTS>>,
}

/// What a verified registration yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRegistration {
	/// `QN(EK)`.
	pub ek_qualified_name: alloc::vec::Vec<u8>,
	/// `QN(AK)`.
	pub ak_qualified_name: alloc::vec::Vec<u8>,
	/// The key id of the EK certificate's key.
	pub ek_key_id: [u8; 32],
	/// The digest of the boot PCRs' values.
	pub boot_digest: [u8; 32],
	/// The PCR digest its quotes must carry.
	pub quote_digest: [u8; 32],
}

/// Verifies TPM evidence. A runtime uses [`RustCryptoTpm`]; a mock runtime may use a double
/// (see `test_tpm`), since a unit test cannot have a TPM sign for each of its accounts.
pub trait TpmVerifier {
	/// Verifies `evidence` for the account whose SCALE encoding is `account`, against the
	/// trusted manufacturer `roots` (DER), at the chain's time `now` (Unix seconds).
	fn verify_registration(
		evidence: &TpmEvidence,
		account: &[u8],
		roots: &[Certificate],
		now: u64,
	) -> Result<VerifiedRegistration, RegistrationError>;

	/// Verifies a quote (TPMS_ATTEST `attest`, TPMT_SIGNATURE `signature`) by `tpm`'s AK with
	/// `nonce` as qualifying data, over the boot and executor PCRs in `tpm`'s registered
	/// launch state, and with a clock not behind `last_clock`. Returns the quote's clock.
	/// (Whether that state is still allowed is the registry's to check.)
	fn verify_quote(
		tpm: &RegisteredTpm,
		nonce: &[u8; 32],
		last_clock: Option<ClockInfo>,
		attest: &[u8],
		signature: &[u8],
	) -> Result<ClockInfo, QuoteError>;
}

/// The verifier that runs in the runtime: `vouch_primitives::tpm`, on RustCrypto.
pub struct RustCryptoTpm;

impl TpmVerifier for RustCryptoTpm {
	fn verify_registration(
		evidence: &TpmEvidence,
		account: &[u8],
		roots: &[Certificate],
		now: u64,
	) -> Result<VerifiedRegistration, RegistrationError> {
		let intermediates: alloc::vec::Vec<&[u8]> =
			evidence.intermediates.iter().map(|c| c.as_slice()).collect();
		let roots: alloc::vec::Vec<&[u8]> = roots.iter().map(|c| c.as_slice()).collect();
		let verified = registration::verify_registration(
			&registration::Evidence {
				ek_cert: &evidence.ek_cert,
				intermediates: &intermediates,
				ek_public: &evidence.ek_public,
				ak_public: &evidence.ak_public,
				sealing_public: &evidence.sealing_public,
				certify_attest: &evidence.certify_attest,
				certify_signature: &evidence.certify_signature,
				boot_pcrs: &evidence.boot_pcrs,
				launch_log: &evidence.launch_log,
			},
			account,
			&roots,
			now,
		)?;
		Ok(VerifiedRegistration {
			ek_qualified_name: verified.ek_qualified_name,
			ak_qualified_name: verified.ak_qualified_name,
			ek_key_id: verified.ek_key_id,
			boot_digest: verified.launch.boot_digest,
			quote_digest: verified.launch.quote_digest,
		})
	}

	fn verify_quote(
		tpm: &RegisteredTpm,
		nonce: &[u8; 32],
		last_clock: Option<ClockInfo>,
		attest: &[u8],
		signature: &[u8],
	) -> Result<ClockInfo, QuoteError> {
		// The stored AK passed `check_ak` at registration; no signature verifies with a key
		// that does not.
		let ak = check_ak(&tpm.ak_public).map_err(|_| SignedError::BadSignature)?;
		let allowed = [tpm.launch.quote_digest];
		let policy = PcrPolicy { select: &QUOTED_PCR_SELECT, allowed: &allowed };
		verify::verify_quote(
			&ak,
			&tpm.ak_qualified_name,
			nonce,
			&policy,
			last_clock,
			attest,
			signature,
		)
		.map(|outcome| outcome.clock)
	}
}
