//! The attack credential activation exists for: a software AK behind a real TPM's public EK
//! certificate. Built the way `../shared/notes/tpm-and-docker.md` describes it (checked there
//! with swtpm and tpm2-tools): a P-256 key made outside any TPM with exactly the restricted
//! signing attributes, its qualified name computed from the real EK, and a hand-made
//! `TPM2_Certify` attestation of the real TPM's sealing key for the attacker's account,
//! signed by the software key. Every check of submitted bytes passes; only
//! ActivateCredential, which needs the EK's private key, cannot be done.

use anyhow::{anyhow, Result};
use p256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey};
use sha2::{Digest, Sha256};
use vouch_client::calls::EvidenceSpec;
use vouch_executor::tpm::Identity;
use vouch_primitives::tpm::{
	attest::{ST_ATTEST_CERTIFY, TPM_GENERATED},
	launch::launch_state,
	nonce::registration_nonce,
	public::{ek_qualified_name, qualified_name, to_tpm2b, Public},
	verify::{ak_qualified_name, check_ak, check_sealing_key, verify_certification, AK_ATTRIBUTES},
};

fn sized(bytes: &[u8]) -> Vec<u8> {
	to_tpm2b(bytes)
}

/// Registration evidence for `account` made from a real TPM's public parts (`real`, its EK
/// certificate issued by `issuer`, its boot PCRs and launch log, public too) and a software AK
/// derived from `seed`.
pub fn evidence(
	real: &Identity,
	issuer: Vec<u8>,
	(boot_pcrs, launch_log): (Vec<[u8; 32]>, Vec<[u8; 32]>),
	account: [u8; 32],
	seed: &[u8],
) -> Result<EvidenceSpec> {
	let key = SigningKey::from_slice(&Sha256::digest(seed))?;
	let point = key.verifying_key().to_encoded_point(false);
	let (x, y) = (point.x().ok_or(anyhow!("no x"))?, point.y().ok_or(anyhow!("no y"))?);
	// TPMT_PUBLIC: ECC, SHA-256 names, the AK attributes, no policy, no symmetric part,
	// ECDSA/SHA-256, P-256, no KDF, the point.
	let mut area = Vec::new();
	area.extend_from_slice(&0x0023u16.to_be_bytes());
	area.extend_from_slice(&0x000Bu16.to_be_bytes());
	area.extend_from_slice(&AK_ATTRIBUTES.to_be_bytes());
	area.extend_from_slice(&0u16.to_be_bytes());
	area.extend_from_slice(&0x0010u16.to_be_bytes());
	area.extend_from_slice(&0x0018u16.to_be_bytes());
	area.extend_from_slice(&0x000Bu16.to_be_bytes());
	area.extend_from_slice(&0x0003u16.to_be_bytes());
	area.extend_from_slice(&0x0010u16.to_be_bytes());
	area.extend_from_slice(&sized(x));
	area.extend_from_slice(&sized(y));
	let ak_public = to_tpm2b(&area);

	let ek = Public::from_tpm2b(&real.ek_public).map_err(|e| anyhow!("{e:?}"))?;
	let ak = check_ak(&ak_public).map_err(|e| anyhow!("the software AK: {e:?}"))?;
	let launch = launch_state(&boot_pcrs, &launch_log).map_err(|e| anyhow!("{e:?}"))?;
	let sealing = check_sealing_key(&real.sealing_public, &launch.sealing_policy)
		.map_err(|e| anyhow!("{e:?}"))?;
	let ek_qn = ek_qualified_name(&ek);
	let ak_qn = ak_qualified_name(&ek_qn, &ak);
	let nonce = registration_nonce(&account);

	// TPMS_ATTEST of a certification, as a TPM would write it.
	let mut attest = Vec::new();
	attest.extend_from_slice(&TPM_GENERATED.to_be_bytes());
	attest.extend_from_slice(&ST_ATTEST_CERTIFY.to_be_bytes());
	attest.extend_from_slice(&sized(&ak_qn));
	attest.extend_from_slice(&sized(&nonce));
	attest.extend_from_slice(&1_000u64.to_be_bytes());
	attest.extend_from_slice(&0u32.to_be_bytes());
	attest.extend_from_slice(&0u32.to_be_bytes());
	attest.push(1);
	attest.extend_from_slice(&0u64.to_be_bytes());
	attest.extend_from_slice(&sized(&sealing.name()));
	attest.extend_from_slice(&sized(&qualified_name(&ek_qn, &sealing)));
	let signature: Signature = key.sign_prehash(&Sha256::digest(&attest))?;
	let bytes = signature.to_bytes();
	let mut tpmt = Vec::new();
	tpmt.extend_from_slice(&0x0018u16.to_be_bytes());
	tpmt.extend_from_slice(&0x000Bu16.to_be_bytes());
	tpmt.extend_from_slice(&sized(&bytes[..32]));
	tpmt.extend_from_slice(&sized(&bytes[32..]));
	// It passes the runtime's own check.
	verify_certification(&ak, &ak_qn, &ek_qn, &sealing, &nonce, &attest, &tpmt)
		.map_err(|e| anyhow!("the forged certification does not verify: {e:?}"))?;
	Ok(EvidenceSpec {
		ek_cert: real.ek_cert.clone(),
		intermediates: vec![issuer],
		ek_public: real.ek_public.clone(),
		ak_public,
		sealing_public: real.sealing_public.clone(),
		certify_attest: attest,
		certify_signature: tpmt,
		boot_pcrs,
		launch_log,
	})
}
