//! The TPM service against live swtpm instances (`scripts/tpm/swtpm.sh`), checked with the
//! same verifiers the runtime runs: two workers, each provisioned by the test manufacturer CA.
//! A key sealed to worker A's TPM opens there and nowhere else.

use anyhow::{Context, Result};
use vouch_executor::{
	swtpm::Swtpm,
	tpm::{Tpm, TpmConfig},
};
use vouch_primitives::envelope::{seal_to_tpm, DataKey};
use vouch_primitives::tpm::{
	ek::{check_ek_matches, verify_chain},
	nonce::{quote_nonce, registration_nonce, Measurements},
	public::{ek_qualified_name, Public},
	verify::{
		ak_qualified_name, check_ak, check_sealing_key, pcr_digest, verify_certification,
		verify_quote, PcrPolicy, QuoteError, SignedError,
	},
};

fn ca_cert(name: &str) -> Result<Vec<u8>> {
	let path = vouch_executor::swtpm::repo_root().join("chain-spec/test-tpm-ca").join(name);
	std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

#[tokio::test]
async fn a_sealed_key_opens_only_in_its_tpm_for_its_task_and_slot() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let tpm_a = Swtpm::start(&dir.path().join("a"))?;
	let tpm_b = Swtpm::start(&dir.path().join("b"))?;
	let a =
		Tpm::start(TpmConfig { tcti: tpm_a.tcti(), key_file: dir.path().join("a/keys") }).await?;
	let b =
		Tpm::start(TpmConfig { tcti: tpm_b.tcti(), key_file: dir.path().join("b/keys") }).await?;

	// Registration evidence, checked as the registry checks it.
	let id = a.identity().await?;
	let (root, issuer) = (ca_cert("root.der")?, ca_cert("issuer.der")?);
	let cert_key = verify_chain(&id.ek_cert, &[&issuer], &[&root], unix_now())
		.expect("the EK chains to the test root");
	let ek = Public::from_tpm2b(&id.ek_public)?;
	check_ek_matches(&ek, &cert_key).expect("the EK is the certified key");
	let ak = check_ak(&id.ak_public).expect("a restricted P-256 AK");
	let sealing = check_sealing_key(&id.sealing_public).expect("an RSA-OAEP decryption key");
	let ak_qn = ak_qualified_name(&ek_qualified_name(&ek), &ak);
	let account = [7u8; 32];
	let certified = a.certify_sealing_key(registration_nonce(&account).to_vec()).await?;
	let nonce = registration_nonce(&account);
	verify_certification(&ak, &ak_qn, &sealing, &nonce, &certified.attest, &certified.signature)
		.expect("the AK certifies the sealing key");

	// A quote for a task phase, against the boot state the TPM reports.
	let measured = Measurements {
		image_id: [1; 32],
		code_input_hash: [2; 32],
		sandbox_policy_hash: [3; 32],
		result_hash: Some([4; 32]),
		exit_status: Some(0),
	};
	let nonce = quote_nonce(42, 0, vouch_primitives::Phase::After, &[9; 32], &measured);
	let allowed = [pcr_digest(&a.boot_pcrs().await?)];
	let policy = PcrPolicy { select: &[0xff, 0, 0], allowed: &allowed };
	let first = a.quote(nonce.to_vec()).await?;
	let seen = verify_quote(&ak, &ak_qn, &nonce, &policy, None, &first.attest, &first.signature)
		.expect("the quote verifies");
	let second = a.quote(nonce.to_vec()).await?;
	verify_quote(&ak, &ak_qn, &nonce, &policy, Some(seen.clock), &second.attest, &second.signature)
		.expect("a later quote's clock moved forward");
	// Worker B's quote is not signed by A's AK.
	let other = b.quote(nonce.to_vec()).await?;
	assert_eq!(
		verify_quote(&ak, &ak_qn, &nonce, &policy, None, &other.attest, &other.signature),
		Err(QuoteError::Signed(SignedError::BadSignature))
	);

	// A data key sealed to A's TPM for slot 0 of task 42 by the envelope code every client
	// uses opens in A for that slot, and fails in B.
	let key = DataKey::generate();
	let sealed = seal_to_tpm(&id.sealing_public, 42, 0, &key)?;
	assert_eq!(a.unseal(42, 0, sealed.clone()).await?, key.as_bytes().to_vec());
	let refused = b.unseal(42, 0, sealed.clone()).await.expect_err("B's TPM cannot open A's key");
	assert!(refused.to_string().contains("not sealed to this TPM"), "{refused:#}");
	// The replay: the same public `release_key` bytes, re-released into another task that
	// elected the same executor (or into another slot of this one), do not open in A's TPM.
	for (task, slot) in [(43, 0), (42, 1)] {
		let replayed = a.unseal(task, slot, sealed.clone()).await;
		assert!(
			replayed.is_err(),
			"a key sealed for task 42 slot 0 opened for task {task} slot {slot}"
		);
	}

	// The keys persist: a restarted service reuses them (same AK, same sealing key).
	drop(a);
	let again =
		Tpm::start(TpmConfig { tcti: tpm_a.tcti(), key_file: dir.path().join("a/keys") }).await?;
	assert_eq!(again.identity().await?.ak_public, id.ak_public);
	Ok(())
}

/// The time now, in Unix seconds: what the chain's timestamp would be.
fn unix_now() -> u64 {
	std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn a_credential_made_in_rust_activates_only_in_its_tpm_for_its_ak() -> Result<()> {
	use vouch_primitives::tpm::credential::{commitment, make_credential};
	let dir = tempfile::tempdir()?;
	let tpm_a = Swtpm::start(&dir.path().join("a"))?;
	let tpm_b = Swtpm::start(&dir.path().join("b"))?;
	let a =
		Tpm::start(TpmConfig { tcti: tpm_a.tcti(), key_file: dir.path().join("a/keys") }).await?;
	let b =
		Tpm::start(TpmConfig { tcti: tpm_b.tcti(), key_file: dir.path().join("b/keys") }).await?;
	let (id_a, id_b) = (a.identity().await?, b.identity().await?);
	let ek_a = Public::from_tpm2b(&id_a.ek_public)?;
	let ak_a = Public::from_tpm2b(&id_a.ak_public)?;
	let ak_b = Public::from_tpm2b(&id_b.ak_public)?;

	// A verifier's secret, made for A's EK and A's AK name, comes back from A's TPM.
	let secret = [0x5a; 32];
	let made = make_credential(&ek_a, &ak_a.name(), &secret).expect("A's EK is the default kind");
	let answer = a.activate_credential(made.credential_blob.clone(), made.encrypted_secret.clone());
	let answer: [u8; 32] = answer.await?.try_into().expect("32 bytes");
	assert_eq!(commitment(&answer), commitment(&secret), "the answer opens the commitment");

	// Nobody else can answer: B's TPM (another EK) refuses A's credential, and a credential
	// for A's EK but another object's name (a software AK claiming A's EK) is refused by A.
	let refused = b.activate_credential(made.credential_blob, made.encrypted_secret).await;
	assert!(refused.is_err(), "another TPM answered: {refused:?}");
	let other_name = make_credential(&ek_a, &ak_b.name(), &secret).expect("made");
	let refused = a.activate_credential(other_name.credential_blob, other_name.encrypted_secret);
	let refused = refused.await.expect_err("a credential for another AK name activated");
	assert!(format!("{refused:#}").contains("refused the credential"), "{refused:#}");
	Ok(())
}
