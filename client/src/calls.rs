//! Typed constructors for the Vouch calls, from the primitives crate's own types (the
//! measurements, claims, phases) and plain bytes, so that callers never build a generated type
//! by hand. Each returns a payload for [`crate::Chain::submit`].

use subxt::transactions::StaticPayload;
use vouch_primitives::{sortition::Claim, tpm::nonce::Measurements, Phase, TaskId};

use crate::runtime::{
	self,
	runtime_types::{
		bounded_collections::bounded_vec::BoundedVec,
		pallet_vouch_lambdas::types::Manifest as RtManifest,
		pallet_vouch_registry::tpm::TpmEvidence, pallet_vouch_tasks::types as rt,
		vouch_primitives as rtp,
	},
};
pub use crate::runtime::{
	lambdas::calls as lambda_calls, registry::calls as registry_calls, tasks::calls as task_calls,
};

/// A bounded byte vector of the runtime (a CID, an endpoint, a TPM structure, a sealed key).
pub fn bytes(b: impl AsRef<[u8]>) -> BoundedVec<u8> {
	BoundedVec(b.as_ref().to_vec())
}

/// The measurements as the runtime's type.
pub fn measurements(m: &Measurements) -> rtp::tpm::nonce::Measurements {
	rtp::tpm::nonce::Measurements {
		image_id: m.image_id,
		code_input_hash: m.code_input_hash,
		sandbox_policy_hash: m.sandbox_policy_hash,
		result_hash: m.result_hash,
		keys_commitment: m.keys_commitment,
		exit_status: m.exit_status,
	}
}

/// The runtime's measurements as the primitives' type (what a verifier recomputes nonces of).
pub fn from_runtime_measurements(m: &rtp::tpm::nonce::Measurements) -> Measurements {
	Measurements {
		image_id: m.image_id,
		code_input_hash: m.code_input_hash,
		sandbox_policy_hash: m.sandbox_policy_hash,
		result_hash: m.result_hash,
		keys_commitment: m.keys_commitment,
		exit_status: m.exit_status,
	}
}

/// The phase as the runtime's type.
pub fn phase(p: Phase) -> rtp::Phase {
	match p {
		Phase::Before => rtp::Phase::Before,
		Phase::After => rtp::Phase::After,
	}
}

/// A quote as the calls take it: made after block `block`, over `measured`, as the TPM
/// returned it (`attest`, `signature`).
pub fn quote(
	block: u32,
	measured: &Measurements,
	attest: &[u8],
	signature: &[u8],
) -> rt::Quote<u32> {
	rt::Quote {
		block,
		measurements: measurements(measured),
		attest: bytes(attest),
		signature: bytes(signature),
	}
}

/// `Tasks.claim_seat` with a claim signed by `vouch_primitives::sortition::sign`.
pub fn claim_seat(
	task: TaskId,
	round: u32,
	seed: [u8; 32],
	claim: &Claim,
) -> StaticPayload<task_calls::ClaimSeat> {
	runtime::transactions().tasks().claim_seat(task, round, seed, claim.pre_output, claim.proof)
}

/// `Tasks.attest_before`.
pub fn attest_before(
	task: TaskId,
	quote: rt::Quote<u32>,
) -> StaticPayload<task_calls::AttestBefore> {
	runtime::transactions().tasks().attest_before(task, quote)
}

/// `Tasks.submit_verdict`.
pub fn submit_verdict(task: TaskId, ok: bool) -> StaticPayload<task_calls::SubmitVerdict> {
	runtime::transactions().tasks().submit_verdict(task, ok)
}

/// `Tasks.release_key`: `sealed` is the data key sealed to the executor's TPM
/// (`vouch_primitives::envelope::seal_to_tpm`).
pub fn release_key(
	task: TaskId,
	slot: u32,
	sealed: &[u8],
) -> StaticPayload<task_calls::ReleaseKey> {
	runtime::transactions().tasks().release_key(task, slot, bytes(sealed))
}

/// `Tasks.submit_result`.
pub fn submit_result(
	task: TaskId,
	cid: &str,
	keys_commitment: [u8; 32],
	job_failed: bool,
	quote: rt::Quote<u32>,
) -> StaticPayload<task_calls::SubmitResult> {
	let result = rt::TaskResult { cid: bytes(cid), keys_commitment, job_failed };
	runtime::transactions().tasks().submit_result(task, result, quote)
}

/// `Tasks.report_lie` with `evidence` ([`attestation_evidence`] or [`challenge_evidence`]).
pub fn report_lie(
	task: TaskId,
	p: Phase,
	evidence: rt::LieEvidence<u32>,
) -> StaticPayload<task_calls::ReportLie> {
	runtime::transactions().tasks().report_lie(task, phase(p), evidence)
}

/// Evidence of a lie: a second attestation-domain quote.
pub fn attestation_evidence(quote: rt::Quote<u32>) -> rt::LieEvidence<u32> {
	rt::LieEvidence::Attestation(quote)
}

/// Evidence of a lie: the executor's answer to a monitor's challenge with `nonce`, over
/// `challenge_nonce(task, round, phase, nonce, measured)`.
pub fn challenge_evidence(
	nonce: [u8; 32],
	measured: &Measurements,
	attest: &[u8],
	signature: &[u8],
) -> rt::LieEvidence<u32> {
	rt::LieEvidence::Challenge(rt::ChallengeQuote {
		nonce,
		measurements: measurements(measured),
		attest: bytes(attest),
		signature: bytes(signature),
	})
}

/// `Tasks.reveal_result_keys`: one sealed key per recipient, in the task's order.
pub fn reveal_result_keys(
	task: TaskId,
	keys: &[Vec<u8>],
) -> StaticPayload<task_calls::RevealResultKeys> {
	let keys = BoundedVec(keys.iter().map(bytes).collect());
	runtime::transactions().tasks().reveal_result_keys(task, keys)
}

/// `Tasks.back_keys`.
pub fn back_keys(task: TaskId) -> StaticPayload<task_calls::BackKeys> {
	runtime::transactions().tasks().back_keys(task)
}

/// `Tasks.cancel_task`.
pub fn cancel_task(task: TaskId) -> StaticPayload<task_calls::CancelTask> {
	runtime::transactions().tasks().cancel_task(task)
}

/// One input of a task: where its envelope is and who owns its key.
pub struct InputSpec {
	/// The envelope's CID.
	pub cid: String,
	/// Its owner, who releases its key.
	pub owner: [u8; 32],
}

/// What a requester asks of a task's committee and run.
pub struct TaskSpec {
	/// The lambda.
	pub lambda: u64,
	/// The inputs, in slot order.
	pub inputs: Vec<InputSpec>,
	/// The recipients and their X25519 public keys.
	pub recipients: Vec<([u8; 32], [u8; 32])>,
	/// Least credit of every member (a multiple of 10).
	pub min_credit: u32,
	/// Members: one executor, the rest monitors.
	pub committee_size: u32,
	/// Committees tried before the task gives up.
	pub max_rounds: u32,
	/// Blocks per phase: sortition, attestation, key release, run, verdicts.
	pub deadlines: [u32; 5],
	/// The job runs without a network.
	pub network_none: bool,
	/// The payment held in escrow.
	pub payment: u128,
}

/// `Tasks.post_task`.
pub fn post_task(spec: &TaskSpec) -> StaticPayload<task_calls::PostTask> {
	let inputs = spec
		.inputs
		.iter()
		.map(|i| rt::Input { cid: bytes(&i.cid), owner: i.owner.into() })
		.collect();
	let recipients = spec
		.recipients
		.iter()
		.map(|(who, x25519)| rt::Recipient { who: (*who).into(), x25519: *x25519 })
		.collect();
	let [sortition, attestation, key_release, run, verdicts] = spec.deadlines;
	let requirements = rt::Requirements {
		min_credit: spec.min_credit,
		committee_size: spec.committee_size,
		max_rounds: spec.max_rounds,
		deadlines: rt::PhaseDeadlines { sortition, attestation, key_release, run, verdicts },
		network_none: spec.network_none,
		wipe: true,
	};
	runtime::transactions().tasks().post_task(
		spec.lambda,
		BoundedVec(inputs),
		BoundedVec(recipients),
		requirements,
		spec.payment,
	)
}

/// A lambda's manifest: the command and the limits its runs get.
pub struct ManifestSpec {
	/// The program to run.
	pub entrypoint: String,
	/// Its arguments.
	pub args: Vec<String>,
	/// `KEY=value` pairs.
	pub env: Vec<String>,
	/// CPU, in thousandths of a core.
	pub cpu_millicores: u32,
	/// Memory, in MiB.
	pub memory_mib: u32,
	/// Wall-clock limit, in seconds.
	pub time_limit_secs: u32,
	/// Most output, in bytes.
	pub max_output_bytes: u64,
}

/// `Lambdas.publish`: code (a tar archive, or its envelope if `encrypted`) and image (a
/// `docker save` tarball whose image ID is `image_digest`) by CID, for `price` per run.
pub fn publish_lambda(
	code_cid: &str,
	image_digest: [u8; 32],
	image_cid: &str,
	manifest: &ManifestSpec,
	price: u128,
	encrypted: bool,
) -> StaticPayload<lambda_calls::Publish> {
	let strings = |v: &[String]| BoundedVec(v.iter().map(bytes).collect());
	let manifest = RtManifest {
		entrypoint: bytes(&manifest.entrypoint),
		args: strings(&manifest.args),
		env: strings(&manifest.env),
		cpu_millicores: manifest.cpu_millicores,
		memory_mib: manifest.memory_mib,
		time_limit_secs: manifest.time_limit_secs,
		max_output_bytes: manifest.max_output_bytes,
	};
	runtime::transactions().lambdas().publish(
		bytes(code_cid),
		image_digest,
		bytes(image_cid),
		manifest,
		price,
		encrypted,
	)
}

/// A TPM's registration evidence (see `vouch_primitives::tpm::registration`).
/// In JSON (the attestation API's `vouch_registrationEvidence`), every field is hex.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EvidenceSpec {
	/// The EK certificate (DER).
	#[serde(with = "hex_bytes")]
	pub ek_cert: Vec<u8>,
	/// Its issuing CAs, issuer first.
	#[serde(with = "hex_list")]
	pub intermediates: Vec<Vec<u8>>,
	/// The EK's public area.
	#[serde(with = "hex_bytes")]
	pub ek_public: Vec<u8>,
	/// The AK's public area.
	#[serde(with = "hex_bytes")]
	pub ak_public: Vec<u8>,
	/// The sealing key's public area.
	#[serde(with = "hex_bytes")]
	pub sealing_public: Vec<u8>,
	/// The AK's certification of the sealing key for this account.
	#[serde(with = "hex_bytes")]
	pub certify_attest: Vec<u8>,
	/// Its signature.
	#[serde(with = "hex_bytes")]
	pub certify_signature: Vec<u8>,
	/// The boot PCRs' values (PCRs 0-7).
	#[serde(with = "hex_digests")]
	pub boot_pcrs: Vec<[u8; 32]>,
	/// The measured launch's log: the digests extended into the executor PCR.
	#[serde(with = "hex_digests")]
	pub launch_log: Vec<[u8; 32]>,
}

/// 32-byte digests as a list of hex strings.
mod hex_digests {
	pub fn serialize<S: serde::Serializer>(list: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
		s.collect_seq(list.iter().map(hex::encode))
	}
	pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
		let list: Vec<String> = serde::Deserialize::deserialize(d)?;
		list.iter()
			.map(|t| {
				let bytes =
					hex::decode(t.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
				bytes.try_into().map_err(|_| serde::de::Error::custom("a digest is 32 bytes"))
			})
			.collect()
	}
}

/// Bytes as one hex string.
mod hex_bytes {
	pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&hex::encode(b))
	}
	pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
		let text: String = serde::Deserialize::deserialize(d)?;
		hex::decode(text.trim_start_matches("0x")).map_err(serde::de::Error::custom)
	}
}

/// A list of byte strings as hex strings.
mod hex_list {
	pub fn serialize<S: serde::Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
		s.collect_seq(list.iter().map(hex::encode))
	}
	pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
		let list: Vec<String> = serde::Deserialize::deserialize(d)?;
		list.iter()
			.map(|t| hex::decode(t.trim_start_matches("0x")).map_err(serde::de::Error::custom))
			.collect()
	}
}

/// `Registry.register` with `deposit` bonded, reachable at `endpoint`.
pub fn register(
	evidence: &EvidenceSpec,
	endpoint: &str,
	deposit: u128,
) -> StaticPayload<registry_calls::Register> {
	let evidence = TpmEvidence {
		ek_cert: bytes(&evidence.ek_cert),
		intermediates: BoundedVec(evidence.intermediates.iter().map(bytes).collect()),
		ek_public: bytes(&evidence.ek_public),
		ak_public: bytes(&evidence.ak_public),
		sealing_public: bytes(&evidence.sealing_public),
		certify_attest: bytes(&evidence.certify_attest),
		certify_signature: bytes(&evidence.certify_signature),
		boot_pcrs: BoundedVec(evidence.boot_pcrs.clone()),
		launch_log: BoundedVec(evidence.launch_log.clone()),
	};
	runtime::transactions().registry().register(evidence, bytes(endpoint), deposit)
}

/// `Sudo.sudo(Registry.force_activate(who))`: root's override of credential activation (a
/// dev chain's bootstrap: with no worker active, nobody can verify the first ones).
pub fn sudo_force_activate(who: [u8; 32]) -> StaticPayload<runtime::sudo::calls::Sudo> {
	let call = runtime::runtime_types::vouch_runtime::RuntimeCall::Registry(
		runtime::runtime_types::pallet_vouch_registry::pallet::Call::force_activate {
			who: who.into(),
		},
	);
	runtime::transactions().sudo().sudo(call)
}

/// What a measurement is, as the CLI and the executor's launch log spell it.
pub fn build_kind(
	name: &str,
) -> Option<runtime::runtime_types::pallet_vouch_registry::tpm::BuildKind> {
	use runtime::runtime_types::pallet_vouch_registry::tpm::BuildKind;
	Some(match name {
		"executor" => BuildKind::Executor,
		"job-runtime" => BuildKind::JobRuntime,
		"sandbox-config" => BuildKind::SandboxConfig,
		"os" => BuildKind::Os,
		_ => return None,
	})
}

/// `Sudo.sudo(Utility.batch_all([Registry.allow_build(..)..]))`: root allows each
/// `(digest, kind, label)` of `builds` in launch logs, in one transaction. A label is for
/// people only: one longer than the chain's bound is cut (at a character boundary).
pub fn sudo_allow_builds(
	builds: &[([u8; 32], runtime::runtime_types::pallet_vouch_registry::tpm::BuildKind, String)],
) -> StaticPayload<runtime::sudo::calls::Sudo> {
	use runtime::runtime_types::{pallet_vouch_registry::pallet::Call, vouch_runtime::RuntimeCall};
	let calls = builds
		.iter()
		.map(|(digest, kind, label)| {
			RuntimeCall::Registry(Call::allow_build {
				digest: *digest,
				kind: kind.clone(),
				label: bytes(build_label(label)),
			})
		})
		.collect();
	let batch =
		RuntimeCall::Utility(runtime::runtime_types::pallet_utility::pallet::Call::batch_all {
			calls,
		});
	runtime::transactions().sudo().sudo(batch)
}

/// The longest prefix of `label` the chain keeps (`MAX_BUILD_LABEL_LEN`, 128 bytes).
fn build_label(label: &str) -> &str {
	let mut end = label.len().min(128);
	while !label.is_char_boundary(end) {
		end -= 1;
	}
	&label[..end]
}

/// `Sudo.sudo(Registry.revoke_build(digest))`.
pub fn sudo_revoke_build(digest: [u8; 32]) -> StaticPayload<runtime::sudo::calls::Sudo> {
	let call = runtime::runtime_types::vouch_runtime::RuntimeCall::Registry(
		runtime::runtime_types::pallet_vouch_registry::pallet::Call::revoke_build { digest },
	);
	runtime::transactions().sudo().sudo(call)
}

/// `Balances.transfer_keep_alive`: `amount` units to `to` (funding a new worker's account).
pub fn transfer(
	to: [u8; 32],
	amount: u128,
) -> StaticPayload<runtime::balances::calls::TransferKeepAlive> {
	runtime::transactions()
		.balances()
		.transfer_keep_alive(subxt::utils::MultiAddress::Id(crate::AccountId::from(to)), amount)
}

/// `Registry.challenge_worker`: `claim` on `newcomer`'s activation `round`, with a credential
/// made for its TPM and the commitment to its secret.
pub fn challenge_worker(
	newcomer: [u8; 32],
	round: u32,
	claim: &Claim,
	credential_blob: &[u8],
	encrypted_secret: &[u8],
	commitment: [u8; 32],
) -> StaticPayload<registry_calls::ChallengeWorker> {
	runtime::transactions().registry().challenge_worker(
		crate::AccountId::from(newcomer),
		round,
		claim.pre_output,
		claim.proof,
		bytes(credential_blob),
		bytes(encrypted_secret),
		commitment,
	)
}

/// `Registry.answer_activation`: one secret per challenge, in the challenges' order.
pub fn answer_activation(
	secrets: Vec<[u8; 32]>,
) -> StaticPayload<registry_calls::AnswerActivation> {
	runtime::transactions().registry().answer_activation(BoundedVec(secrets))
}

/// `Registry.dispute_challenge`: the caller's TPM refused challenge `index` of its round.
pub fn dispute_challenge(index: u32) -> StaticPayload<registry_calls::DisputeChallenge> {
	runtime::transactions().registry().dispute_challenge(index)
}

/// `Registry.reveal_challenge`: the value the caller made its disputed challenge to `newcomer`
/// from, for the chain to remake it.
pub fn reveal_challenge(
	newcomer: [u8; 32],
	reveal: [u8; 32],
) -> StaticPayload<registry_calls::RevealChallenge> {
	runtime::transactions().registry().reveal_challenge(crate::AccountId::from(newcomer), reveal)
}

/// `Lambdas.reprice`: the caller's lambda costs `price` per run from now on.
pub fn reprice_lambda(lambda: u64, price: u128) -> StaticPayload<lambda_calls::Reprice> {
	runtime::transactions().lambdas().reprice(lambda, price)
}

/// `Lambdas.retire`: no new task may use the caller's lambda.
pub fn retire_lambda(lambda: u64) -> StaticPayload<lambda_calls::Retire> {
	runtime::transactions().lambdas().retire(lambda)
}

/// `Registry.deregister`: the caller's worker starts unbonding.
pub fn deregister() -> StaticPayload<registry_calls::Deregister> {
	runtime::transactions().registry().deregister()
}

/// `Registry.withdraw`: the caller's unbonded deposit is released.
pub fn withdraw() -> StaticPayload<registry_calls::Withdraw> {
	runtime::transactions().registry().withdraw()
}
