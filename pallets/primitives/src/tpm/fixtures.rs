//! Evidence made by a real TPM (swtpm) with the executor's TPM service, committed under
//! `fixtures/tpm/` by `scripts/tpm/make-fixtures.sh` for the inputs of
//! [`super::nonce::fixture_inputs`]: what the verifier's tests check and what the runtime
//! benchmarks verify (they run in wasm, where no TPM is at hand).

macro_rules! fixture {
	($name:literal) => {
		include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tpm/", $name)).as_slice()
	};
}

/// The test manufacturer's root CA (DER).
pub const ROOT: &[u8] = fixture!("root.der");
/// Its EK issuing CA (DER).
pub const ISSUER: &[u8] = fixture!("issuer.der");
/// The worker's EK certificate (DER), from its TPM's NV storage.
pub const EK_CERT: &[u8] = fixture!("ek-cert.der");
/// The EK public area (TPM2B_PUBLIC).
pub const EK_PUBLIC: &[u8] = fixture!("ek-public.bin");
/// The AK public area (TPM2B_PUBLIC).
pub const AK_PUBLIC: &[u8] = fixture!("ak-public.bin");
/// The sealing key's public area (TPM2B_PUBLIC).
pub const SEALING_PUBLIC: &[u8] = fixture!("sealing-public.bin");
/// The AK's certification of the sealing key (TPMS_ATTEST) for the fixture account.
pub const CERTIFY_ATTEST: &[u8] = fixture!("certify-attest.bin");
/// Its signature (TPMT_SIGNATURE).
pub const CERTIFY_SIGNATURE: &[u8] = fixture!("certify-signature.bin");
/// A quote of PCRs 0-7 and 11 (TPMS_ATTEST) for the fixture task.
pub const QUOTE_ATTEST: &[u8] = fixture!("quote-attest.bin");
/// Its signature (TPMT_SIGNATURE).
pub const QUOTE_SIGNATURE: &[u8] = fixture!("quote-signature.bin");
/// A later `After` quote of PCRs 0-7 and 11 (TPMS_ATTEST) for the fixture task, with
/// [`super::nonce::fixture_inputs::AFTER_MEASUREMENTS`].
pub const QUOTE_AFTER_ATTEST: &[u8] = fixture!("quote-after-attest.bin");
/// Its signature (TPMT_SIGNATURE).
pub const QUOTE_AFTER_SIGNATURE: &[u8] = fixture!("quote-after-signature.bin");
/// The TPM's SHA-256 boot PCRs (0-7) when it quoted, 32 bytes each.
pub const PCRS: &[u8] = fixture!("pcrs.bin");
/// An RSA-2048 manufacturer root (DER).
pub const RSA_ROOT: &[u8] = fixture!("rsa-root.der");
/// The same EK certified directly by the RSA root.
pub const EK_CERT_BY_RSA: &[u8] = fixture!("ek-cert-by-rsa-root.der");
/// A P-384 manufacturer root (DER).
pub const P384_ROOT: &[u8] = fixture!("p384-root.der");
/// The same EK certified directly by the P-384 root.
pub const EK_CERT_BY_P384: &[u8] = fixture!("ek-cert-by-p384-root.der");

// Hostile chains (`scripts/tpm/make-fixtures.sh`), each to be refused for its own reason.

/// A root with the test root's subject name and another key: a manufacturer's rollover.
pub const ROLLOVER_ROOT: &[u8] = fixture!("rollover-root.der");
/// An RSA-4096 root, and the EK certified by it.
pub const RSA4096_ROOT: &[u8] = fixture!("rsa4096-root.der");
/// The EK certified by [`RSA4096_ROOT`].
pub const EK_CERT_BY_RSA4096: &[u8] = fixture!("ek-cert-by-rsa4096-root.der");
/// A CA whose key usage is CRL signing only.
pub const NOSIGN_ROOT: &[u8] = fixture!("nosign-root.der");
/// The EK certified by [`NOSIGN_ROOT`] all the same.
pub const EK_CERT_BY_NOSIGN: &[u8] = fixture!("ek-cert-by-nosign-root.der");
/// The EK certified by [`RSA_ROOT`] with an unknown critical extension.
pub const EK_CERT_CRITICAL_EXT: &[u8] = fixture!("ek-cert-critical-ext.der");
/// A CA issued by [`ISSUER`], whose path length (0) allows no CA under it.
pub const SUBCA: &[u8] = fixture!("subca.der");
/// The EK certified by [`SUBCA`].
pub const EK_CERT_BY_SUBCA: &[u8] = fixture!("ek-cert-by-subca.der");

/// The fixture worker's registration evidence, for [`super::nonce::fixture_inputs::ACCOUNT`]
/// and the [`ROOT`] trust anchor.
pub fn registration_evidence() -> super::registration::Evidence<'static> {
	const INTERMEDIATES: &[&[u8]] = &[ISSUER];
	super::registration::Evidence {
		ek_cert: EK_CERT,
		intermediates: INTERMEDIATES,
		ek_public: EK_PUBLIC,
		ak_public: AK_PUBLIC,
		sealing_public: SEALING_PUBLIC,
		certify_attest: CERTIFY_ATTEST,
		certify_signature: CERTIFY_SIGNATURE,
		boot_pcrs: boot_pcrs(),
		launch_log: &super::nonce::fixture_inputs::LAUNCH_LOG,
	}
}

/// The PCRs the fixture quotes cover: the boot PCRs and the executor PCR, as a bitmap.
pub const PCR_SELECT: [u8; 3] = super::launch::QUOTED_PCR_SELECT;

/// [`PCRS`] as values.
pub fn boot_pcrs() -> &'static [[u8; 32]] {
	static VALUES: [[u8; 32]; 8] = {
		let mut out = [[0u8; 32]; 8];
		let mut i = 0;
		while i < 8 * 32 {
			out[i / 32][i % 32] = PCRS[i];
			i += 1;
		}
		out
	};
	&VALUES
}

/// The digest of [`PCRS`]: the boot state a quote policy must allow for the fixture worker.
pub fn boot_state() -> [u8; 32] {
	super::verify::pcr_digest(boot_pcrs())
}

/// The fixture worker's launch state: its quotes carry [`super::launch::LaunchState::quote_digest`].
pub fn launch_state() -> super::launch::LaunchState {
	super::launch::launch_state(boot_pcrs(), &super::nonce::fixture_inputs::LAUNCH_LOG)
		.expect("the fixture launch state")
}

/// What registering the fixture worker yields: `QN(EK)` and `QN(AK)`, which its quotes name.
pub fn verified_tpm() -> super::registration::VerifiedTpm {
	super::registration::verify_registration(
		&registration_evidence(),
		&super::nonce::fixture_inputs::ACCOUNT,
		&[ROOT],
		valid_at(),
	)
	.expect("the fixture evidence verifies")
}

/// A time (Unix seconds) at which every fixture certificate is valid: a minute after the EK
/// certificate's start, which is the latest start of the chain (it was issued last).
pub fn valid_at() -> u64 {
	let ek = super::ek::parse_certificate(EK_CERT).expect("the fixture EK certificate");
	ek.tbs_certificate.validity.not_before.to_unix_duration().as_secs() + 60
}
