//! A test double of the TPM verifier, for mock runtimes only.
//!
//! Why a double: a pallet's unit tests register many accounts and have each quote for tasks and
//! blocks made up on the spot, and no TPM can sign for those in a unit test. The real verifier
//! ([`crate::RustCryptoTpm`]) is tested against evidence from a real TPM (swtpm): in
//! `vouch_primitives::tpm`'s tests, the runtime's tests and the dev-node tests, where one swtpm
//! per worker registers and quotes.
//!
//! The double keeps the checks that the pallets' logic depends on, with trivial "signatures":
//! - a registration is accepted when the EK certificate starts with [`TEST_EK_PREFIX`] and a
//!   root is trusted, and its certification carries the account's registration nonce;
//! - a quote is `SCALE(nonce, clock)` "signed" by the AK's qualified name, and the nonce and
//!   clock are checked like the real ones;
//! - the launch state is computed as the real verifier computes it (the boot PCRs are all
//!   zero, the log is [`TEST_EXECUTOR_BUILD`] unless a test changes it), so the registry's own
//!   checks of it (allowed boot state, allowed builds) run as on a real chain.

use crate::tpm::*;
use codec::{Decode, Encode};
use vouch_primitives::tpm::{
	attest::ClockInfo,
	ek::EkError,
	launch::launch_state,
	nonce::registration_nonce,
	registration::RegistrationError,
	verify::pcr_digest,
	verify::{clock_moves_forward, CertificationError, QuoteError, SignedError},
	wire::WireError,
};

/// What a test EK certificate starts with.
pub const TEST_EK_PREFIX: &[u8] = b"test-ek:";

/// The executor build every test TPM's launch log measures.
pub const TEST_EXECUTOR_BUILD: [u8; 32] = [0xe1; 32];

/// Puts [`TEST_EXECUTOR_BUILD`] on the allowed-build list (a mock chain's genesis).
pub fn allow_test_builds<T: crate::Config>() {
	crate::AllowedBuilds::<T>::insert(
		TEST_EXECUTOR_BUILD,
		AllowedBuild { kind: BuildKind::Executor, label: bounded(b"test executor") },
	);
}

/// The boot state of every test TPM (all boot PCRs zero): what a mock's quote policy allows.
pub fn test_boot_state() -> [u8; 32] {
	pcr_digest(&[[0u8; 32]; 8])
}

/// The double.
pub struct TestTpm;

fn bounded<S: polkadot_sdk::frame_support::traits::Get<u32>>(
	bytes: &[u8],
) -> polkadot_sdk::frame_support::BoundedVec<u8, S> {
	bytes.to_vec().try_into().expect("test material within bounds")
}

impl TestTpm {
	/// Evidence of test TPM number `id` registering as the account encoded as `account`.
	pub fn evidence(id: u32, account: &[u8]) -> TpmEvidence {
		let ek_cert = [TEST_EK_PREFIX, &id.to_le_bytes()].concat();
		TpmEvidence {
			ek_cert: bounded(&ek_cert),
			intermediates: Default::default(),
			ek_public: bounded(b"ek-public"),
			ak_public: bounded(&[b"ak-public:".as_slice(), &id.to_le_bytes()].concat()),
			sealing_public: bounded(&[b"sealing-public:".as_slice(), &id.to_le_bytes()].concat()),
			certify_attest: bounded(&registration_nonce(account)),
			certify_signature: bounded(b"certified"),
			boot_pcrs: alloc::vec![[0u8; 32]; 8].try_into().expect("8 boot PCRs"),
			launch_log: alloc::vec![TEST_EXECUTOR_BUILD].try_into().expect("one entry"),
		}
	}

	/// The qualified name the double gives the AK of `evidence`.
	pub fn ak_qualified_name(evidence: &TpmEvidence) -> alloc::vec::Vec<u8> {
		[b"qn-ak:".as_slice(), &evidence.ak_public].concat()
	}

	/// A quote by `tpm`'s AK over `nonce` at `clock`: `(attest, signature)`.
	pub fn quote(
		tpm: &RegisteredTpm,
		nonce: [u8; 32],
		clock: ClockInfo,
	) -> (alloc::vec::Vec<u8>, alloc::vec::Vec<u8>) {
		((nonce, clock).encode(), tpm.ak_qualified_name.to_vec())
	}
}

impl TpmVerifier for TestTpm {
	fn verify_registration(
		evidence: &TpmEvidence,
		account: &[u8],
		roots: &[Certificate],
		_now: u64,
	) -> Result<VerifiedRegistration, RegistrationError> {
		if roots.is_empty() || !evidence.ek_cert.starts_with(TEST_EK_PREFIX) {
			return Err(RegistrationError::Ek(EkError::UnknownIssuer));
		}
		if evidence.certify_attest[..] != registration_nonce(account) {
			return Err(RegistrationError::Certification(CertificationError::Signed(
				SignedError::WrongNonce,
			)));
		}
		let launch = launch_state(&evidence.boot_pcrs, &evidence.launch_log)
			.map_err(RegistrationError::Launch)?;
		Ok(VerifiedRegistration {
			boot_digest: launch.boot_digest,
			quote_digest: launch.quote_digest,
			ek_qualified_name: [b"qn-ek:".as_slice(), &evidence.ek_cert].concat(),
			ak_qualified_name: Self::ak_qualified_name(evidence),
			// The double's TPM identity: its EK certificate (a test TPM per certificate).
			ek_key_id: polkadot_sdk::sp_crypto_hashing::blake2_256(&evidence.ek_cert),
		})
	}

	fn verify_quote(
		tpm: &RegisteredTpm,
		nonce: &[u8; 32],
		last_clock: Option<ClockInfo>,
		mut attest: &[u8],
		signature: &[u8],
	) -> Result<ClockInfo, QuoteError> {
		if signature != &tpm.ak_qualified_name[..] {
			return Err(SignedError::BadSignature.into());
		}
		let (quoted, clock) = <([u8; 32], ClockInfo)>::decode(&mut attest)
			.map_err(|_| SignedError::Malformed(WireError::Truncated))?;
		if quoted != *nonce {
			return Err(SignedError::WrongNonce.into());
		}
		if !clock_moves_forward(last_clock, clock) {
			return Err(QuoteError::ClockWentBackwards);
		}
		Ok(clock)
	}
}
