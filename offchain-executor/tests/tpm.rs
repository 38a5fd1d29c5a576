//! The TPM service against live swtpm instances (`scripts/tpm/swtpm.sh`), checked with the
//! same verifiers the runtime runs: workers provisioned by the test manufacturer CA, each
//! launched (its executor PCR extended) before its keys are made. A key sealed to worker A's
//! TPM opens there, in its launch state, through the executor's policy session, and nowhere
//! and no way else.

use std::path::Path;

use anyhow::{Context, Result};
use sha2::Digest as _;
use vouch_executor::{
	launch::{Kind, LaunchLog, Measurement},
	swtpm::Swtpm,
	tpm::{Tpm, TpmConfig},
};
use vouch_primitives::envelope::{seal_to_tpm, DataKey};
use vouch_primitives::tpm::{
	ek::{check_ek_matches, verify_chain},
	launch::{launch_state, LaunchState, QUOTED_PCR_SELECT},
	nonce::{quote_nonce, registration_nonce, Measurements},
	public::{ek_qualified_name, Public},
	verify::{
		ak_qualified_name, check_ak, check_sealing_key, verify_certification, verify_quote,
		PcrPolicy, QuoteError, SignedError,
	},
	BOOT_PCRS,
};

/// A simulated measured launch of `executor` (bytes standing for its binary) on the TPM at
/// `tcti`, logged to `log`, then the TPM service (whose sealing key is bound to that state).
async fn launched(tcti: String, dir: &Path, executor: &[u8]) -> Result<(Tpm, LaunchLog)> {
	let measured = vec![
		Measurement::new(Kind::Executor, sha2::Sha256::digest(executor).into(), "test executor"),
		Measurement::new(Kind::JobRuntime, [0x52; 32], "test runtime"),
		Measurement::new(Kind::SandboxConfig, [0x53; 32], "test sandbox config"),
	];
	let log_path = dir.join("launch-log.json");
	let log = {
		let tcti = tcti.clone();
		let log_path = log_path.clone();
		tokio::task::spawn_blocking(move || {
			vouch_executor::launch::launch(&tcti, &log_path, measured)
		})
		.await??
	};
	let tpm = Tpm::start(TpmConfig { tcti, key_file: dir.join("keys") }).await?;
	Ok((tpm, log))
}

/// The launch state the chain computes from what registration submits.
async fn state_of(tpm: &Tpm, log: &LaunchLog) -> Result<LaunchState> {
	let pcrs = tpm.pcrs().await?;
	launch_state(&pcrs[..BOOT_PCRS.len()], &log.digests()?).map_err(|e| anyhow::anyhow!("{e:?}"))
}

fn ca_cert(name: &str) -> Result<Vec<u8>> {
	let path = vouch_executor::swtpm::repo_root().join("chain-spec/test-tpm-ca").join(name);
	std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

#[tokio::test]
async fn a_sealed_key_opens_only_in_its_tpm_for_its_task_and_slot() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let tpm_a = Swtpm::start(&dir.path().join("a"))?;
	let tpm_b = Swtpm::start(&dir.path().join("b"))?;
	let (a, log_a) = launched(tpm_a.tcti(), &dir.path().join("a"), b"executor").await?;
	let (b, _) = launched(tpm_b.tcti(), &dir.path().join("b"), b"executor").await?;
	let state = state_of(&a, &log_a).await?;

	// Registration evidence, checked as the registry checks it.
	let id = a.identity().await?;
	let (root, issuer) = (ca_cert("root.der")?, ca_cert("issuer.der")?);
	let cert_key = verify_chain(&id.ek_cert, &[&issuer], &[&root], unix_now())
		.expect("the EK chains to the test root");
	let ek = Public::from_tpm2b(&id.ek_public)?;
	check_ek_matches(&ek, &cert_key).expect("the EK is the certified key");
	let ak = check_ak(&id.ak_public).expect("a restricted P-256 AK");
	let sealing = check_sealing_key(&id.sealing_public, &state.sealing_policy)
		.expect("an RSA-OAEP decryption key bound to the launch state");
	let ek_qn = ek_qualified_name(&ek);
	let ak_qn = ak_qualified_name(&ek_qn, &ak);
	let account = [7u8; 32];
	let certified = a.certify_sealing_key(registration_nonce(&account).to_vec()).await?;
	let nonce = registration_nonce(&account);
	verify_certification(
		&ak,
		&ak_qn,
		&ek_qn,
		&sealing,
		&nonce,
		&certified.attest,
		&certified.signature,
	)
	.expect("the AK certifies the sealing key, the EK's child");

	// A quote for a task phase, against the launch state registered.
	let measured = Measurements {
		image_id: [1; 32],
		code_input_hash: [2; 32],
		sandbox_policy_hash: [3; 32],
		result_hash: Some([4; 32]),
		keys_commitment: Some([5; 32]),
		exit_status: Some(0),
	};
	let nonce = quote_nonce(42, 0, vouch_primitives::Phase::After, &[9; 32], &measured);
	let allowed = [state.quote_digest];
	let policy = PcrPolicy { select: &QUOTED_PCR_SELECT, allowed: &allowed };
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

#[tokio::test]
async fn a_released_key_opens_only_through_the_launch_policy_and_not_after_another_binary(
) -> Result<()> {
	let dir = tempfile::tempdir()?;
	let swtpm = Swtpm::start(&dir.path().join("a"))?;
	let (tpm, log) = launched(swtpm.tcti(), &dir.path().join("a"), b"executor v1").await?;
	let state = state_of(&tpm, &log).await?;
	let id = tpm.identity().await?;
	let sealing = check_sealing_key(&id.sealing_public, &state.sealing_policy)?;
	assert_eq!(sealing.attributes & (1 << 6), 0, "userWithAuth is clear");

	// A key owner seals for slot 0 of task 42; the executor opens it in its policy session.
	let key = DataKey::generate();
	let sealed = seal_to_tpm(&id.sealing_public, 42, 0, &key)?;
	assert_eq!(tpm.unseal(42, 0, sealed.clone()).await?, key.as_bytes().to_vec());

	// A root shell on the host reads the key file, loads the key and asks the TPM to decrypt
	// with the empty password (what `tpm2_rsadecrypt` does without a policy): refused, in the
	// very state the key is bound to.
	let by_password = tpm.unseal_with_password(42, 0, sealed.clone()).await;
	assert!(by_password.is_err(), "the empty password opened a released key: {by_password:?}");

	// Another binary is measured into the executor PCR (a swapped executor, or anyone
	// extending it): the TPM leaves the launch state, and nothing can bring it back.
	tpm.extend_executor_pcr(sha2::Sha256::digest(b"executor with a backdoor").into()).await?;
	let after = tpm.unseal(42, 0, sealed.clone()).await.expect_err("opened after another binary");
	assert!(format!("{after:#}").contains("launch state"), "{after:#}");
	// Its quotes no longer show the registered state either.
	let ak = check_ak(&id.ak_public)?;
	let ak_qn = ak_qualified_name(&ek_qualified_name(&Public::from_tpm2b(&id.ek_public)?), &ak);
	let nonce = [5u8; 32];
	let quoted = tpm.quote(nonce.to_vec()).await?;
	let allowed = [state.quote_digest];
	let policy = PcrPolicy { select: &QUOTED_PCR_SELECT, allowed: &allowed };
	assert_eq!(
		verify_quote(&ak, &ak_qn, &nonce, &policy, None, &quoted.attest, &quoted.signature),
		Err(QuoteError::PcrDigestNotAllowed)
	);
	// And the launch log no longer explains the PCR: a worker restarted now refuses to run.
	let pcrs = tpm.pcrs().await?;
	assert!(log.check_against(pcrs.last().unwrap()).is_err());
	// A second launch on the same TPM power cycle is refused: the PCR cannot be rewound.
	drop(tpm); // the service's connection: swtpm serves one at a time
	let again = vouch_executor::launch::launch(
		&swtpm.tcti(),
		&dir.path().join("a/launch-log.json"),
		log.entries.clone(),
	);
	assert!(again.is_err(), "a launch over an extended PCR was accepted");
	Ok(())
}

/// The time now, in Unix seconds: what the chain's timestamp would be.
fn unix_now() -> u64 {
	std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn a_credential_made_in_rust_activates_only_in_its_tpm_for_its_ak() -> Result<()> {
	use vouch_executor::tpm::CredentialAnswer;
	use vouch_primitives::tpm::credential::{commitment, derive, make_credential};
	let dir = tempfile::tempdir()?;
	let tpm_a = Swtpm::start(&dir.path().join("a"))?;
	let tpm_b = Swtpm::start(&dir.path().join("b"))?;
	let (a, _) = launched(tpm_a.tcti(), &dir.path().join("a"), b"executor").await?;
	let (b, _) = launched(tpm_b.tcti(), &dir.path().join("b"), b"executor").await?;
	let (id_a, id_b) = (a.identity().await?, b.identity().await?);
	let ek_a = Public::from_tpm2b(&id_a.ek_public)?;
	let ak_a = Public::from_tpm2b(&id_a.ak_public)?;
	let ak_b = Public::from_tpm2b(&id_b.ak_public)?;

	// A verifier's challenge, made from its reveal for A's EK and A's AK name (the same
	// function the runtime remakes a disputed one with), comes back from A's TPM.
	let reveal = [0x5a; 32];
	let made = make_credential(&ek_a, &ak_a.name(), &reveal).expect("A's EK is the default kind");
	let answer = a.activate_credential(made.credential_blob.clone(), made.encrypted_secret.clone());
	let CredentialAnswer::Secret(answer) = answer.await? else { panic!("A refused its own") };
	let answer: [u8; 32] = answer.try_into().expect("32 bytes");
	assert_eq!(commitment(&answer), commitment(&derive(&reveal).secret), "opens the commitment");

	// Nobody else can answer: B's TPM (another EK) refuses A's credential, and a credential
	// for A's EK but another object's name (a software AK claiming A's EK) is refused by A;
	// so are bytes that are no credential. Each is a refusal (the newcomer disputes it), not
	// an error (which it would retry).
	let refused =
		b.activate_credential(made.credential_blob.clone(), made.encrypted_secret).await?;
	assert!(matches!(refused, CredentialAnswer::Refused(_)), "another TPM answered: {refused:?}");
	let other_name = make_credential(&ek_a, &ak_b.name(), &reveal).expect("made");
	let refused = a.activate_credential(other_name.credential_blob, other_name.encrypted_secret);
	assert!(matches!(refused.await?, CredentialAnswer::Refused(_)));
	let bogus = a.activate_credential(made.credential_blob, vec![0, 4, 1, 2, 3, 4]).await?;
	assert!(matches!(bogus, CredentialAnswer::Refused(_)), "{bogus:?}");
	Ok(())
}
