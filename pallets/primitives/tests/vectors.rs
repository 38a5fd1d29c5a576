//! The byte vectors of `docs/formats.md`, recomputed with the real encoders: a client in
//! another language is written from that page alone, so the page must not drift from the code.
//! Each vector is a line `name = hex` in the page; this test fails naming every line whose
//! bytes differ, and every vector the page lacks, printing the lines the page should have.

use codec::Encode;
use vouch_primitives::{
	content_id::ContentId,
	envelope::{self, DataKey},
	result_keys_commitment,
	sandbox::{JobLimits, SandboxPolicy},
	sortition,
	tpm::{
		credential, launch,
		nonce::{challenge_nonce, code_input_hash, quote_nonce, registration_nonce, Measurements},
	},
	Phase, TaskId,
};

const PAGE: &str = include_str!("../../../docs/formats.md");

/// The recipient secret of the HPKE vector (X25519, 32 bytes).
const RECIPIENT_SECRET: [u8; 32] = [0x24; 32];
/// The task of every vector that names one.
const TASK: TaskId = 7;

fn hex(bytes: &[u8]) -> String {
	hex::encode(bytes)
}

/// The vectors the page documents, in its order, computed here.
fn computed() -> Vec<(&'static str, String)> {
	let mut v = Vec::new();

	// Content identifiers.
	let hello = ContentId::of(b"hello");
	v.push(("cid.hello.text", hex(hello.to_string().as_bytes())));
	v.push(("cid.hello.bytes", hex(&hello.to_bytes())));

	// SCALE of a task id: the HPKE associated data.
	v.push(("task_id.scale", hex(&TASK.encode())));

	// Sandbox policy.
	let limits = JobLimits {
		cpu_millicores: 500,
		memory_mib: 128,
		time_limit_secs: 30,
		max_output_bytes: 1 << 20,
	};
	let policy = SandboxPolicy::for_task(&limits, true);
	v.push(("sandbox_policy.scale", hex(&policy.encode())));
	v.push(("sandbox_policy.preimage", hex(&(b"vouch/sandbox/v1", policy).encode())));
	v.push(("sandbox_policy.hash", hex(&policy.hash())));

	// Code and inputs.
	// The code's CID and two inputs': those of the bytes "code", "alice" and "bob".
	let code = ContentId::of(b"code").to_string();
	let alice = ContentId::of(b"alice").to_string();
	let bob = ContentId::of(b"bob").to_string();
	let code_cid = code.as_bytes();
	let inputs: [&[u8]; 2] = [alice.as_bytes(), bob.as_bytes()];
	v.push(("code_input_hash.preimage", hex(&(b"vouch/inputs", code_cid, &inputs[..]).encode())));
	v.push(("code_input_hash.hash", hex(&code_input_hash(code_cid, &inputs))));

	// Quote nonces.
	let before = Measurements {
		image_id: [0x11; 32],
		code_input_hash: code_input_hash(code_cid, &inputs),
		sandbox_policy_hash: policy.hash(),
		result_hash: None,
		keys_commitment: None,
		exit_status: None,
	};
	let after = Measurements {
		result_hash: Some([0x22; 32]),
		keys_commitment: Some([0x23; 32]),
		exit_status: Some(0),
		..before
	};
	let block_hash = [0x33; 32];
	v.push(("measurements.before.scale", hex(&before.encode())));
	v.push(("measurements.after.scale", hex(&after.encode())));
	v.push(("quote_nonce.before", hex(&quote_nonce(TASK, 1, Phase::Before, &block_hash, &before))));
	v.push(("quote_nonce.after", hex(&quote_nonce(TASK, 1, Phase::After, &block_hash, &after))));
	v.push((
		"challenge_nonce.after",
		hex(&challenge_nonce(TASK, 1, Phase::After, &[0x44; 32], &after)),
	));
	v.push(("registration_nonce", hex(&registration_nonce(&[0x01; 32]))));
	v.push(("sortition.seed", hex(&sortition::seed(TASK, block_hash, 1))));

	// Result keys' commitment.
	let keys: [&[u8]; 2] = [&[0xaa; 3], &[0xbb; 2]];
	v.push(("result_keys.preimage", hex(&(b"vouch/result-keys", &keys[..]).encode())));
	v.push(("result_keys.commitment", hex(&result_keys_commitment(&keys))));

	// Envelopes: one short, one empty (a failed job's result).
	let key = DataKey::from_bytes([0x42; 32]);
	let prefix = [0x07; envelope::NONCE_PREFIX_SIZE];
	for (name, plain) in [("envelope.hello", &b"hello"[..]), ("envelope.empty", &b""[..])] {
		let mut sealed = Vec::new();
		envelope::encrypt_with_nonce_prefix(&key, &prefix, plain, &mut sealed).unwrap();
		assert_eq!(envelope::open_bytes(&key, &sealed).unwrap(), plain);
		v.push((name, hex(&sealed)));
	}

	// The OAEP label of a key sealed to a TPM: slot 2 of task 7.
	v.push(("sealed_key_label", hex(envelope::sealed_key_label(TASK, 2).as_bytes())));

	// HPKE: the recipient's public key; the sealed key is random, so it is checked by opening.
	let public = envelope::recipient_public(&RECIPIENT_SECRET).unwrap();
	v.push(("hpke.recipient_secret", hex(&RECIPIENT_SECRET)));
	v.push(("hpke.recipient_public", hex(&public)));
	v.push(("hpke.data_key", hex(&[0x42; 32])));

	// A worker's launch: eight zero boot PCRs (a swtpm) and a log of three measurements.
	let log = [[0x77; 32], [0x88; 32], [0x99; 32]];
	let state = launch::launch_state(&[[0; 32]; 8], &log).unwrap();
	v.push(("launch.executor_pcr", hex(&state.executor_pcr)));
	v.push(("launch.quote_digest", hex(&state.quote_digest)));
	v.push(("launch.sealing_policy", hex(&state.sealing_policy)));

	// An activation challenge's values, made from reveal `5a` × 32.
	let derived = credential::derive(&[0x5a; 32]);
	v.push(("challenge.secret", hex(&derived.secret)));
	v.push(("challenge.seed", hex(&derived.seed)));
	v.push(("challenge.oaep_seed", hex(&derived.oaep_seed)));
	v.push(("challenge.commitment", hex(&credential::commitment(&derived.secret))));
	v
}

/// The page's `name = hex` lines, with their line numbers.
fn documented() -> Vec<(String, String, usize)> {
	PAGE.lines()
		.enumerate()
		.filter_map(|(i, line)| {
			let (name, value) = line.trim().split_once(" = ")?;
			let ok_name = !name.is_empty()
				&& name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
			let ok_value = value.chars().all(|c| c.is_ascii_hexdigit());
			(ok_name && ok_value).then(|| (name.to_string(), value.to_string(), i + 1))
		})
		.collect()
}

#[test]
fn every_vector_in_the_formats_page_is_what_the_code_computes() {
	let page = documented();
	let find = |name: &str| page.iter().find(|(n, _, _)| n == name);
	let mut problems = Vec::new();
	let computed = computed();
	for (name, value) in &computed {
		match find(name) {
			None => problems.push(format!("missing: {name}")),
			Some((_, doc, line)) if doc != value => {
				problems.push(format!("docs/formats.md:{line}: {name} differs from the code"))
			},
			Some(_) => {},
		}
	}
	for (name, _, line) in &page {
		let known = computed.iter().any(|(n, _)| n == name) || name == "hpke.sealed";
		if !known {
			problems
				.push(format!("docs/formats.md:{line}: {name} is not a vector this test knows"));
		}
	}
	// The sealed result key: HPKE is randomised, so the page's bytes must open to the data key.
	match find("hpke.sealed") {
		None => {
			let sealed = envelope::seal_to_recipient(
				&envelope::recipient_public(&RECIPIENT_SECRET).unwrap(),
				&TASK.encode(),
				&DataKey::from_bytes([0x42; 32]),
			)
			.unwrap();
			problems.push(format!("missing: hpke.sealed (one is: {})", hex(&sealed)));
		},
		Some((_, doc, line)) => {
			let opened = hex::decode(doc)
				.ok()
				.and_then(|sealed| {
					envelope::open_from_sender(&RECIPIENT_SECRET, &TASK.encode(), &sealed).ok()
				})
				.map(|key| *key.as_bytes());
			if opened != Some([0x42; 32]) {
				problems.push(format!(
					"docs/formats.md:{line}: hpke.sealed does not open to hpke.data_key"
				));
			}
			// Bound to its task: the same bytes under another task's id do not open.
			let other = hex::decode(doc).ok().and_then(|sealed| {
				envelope::open_from_sender(&RECIPIENT_SECRET, &8u64.encode(), &sealed).ok()
			});
			if other.is_some() {
				problems.push(format!("docs/formats.md:{line}: hpke.sealed opens under task 8"));
			}
		},
	}
	if !problems.is_empty() {
		let lines: Vec<_> = computed.iter().map(|(n, v)| format!("{n} = {v}")).collect();
		panic!(
			"docs/formats.md disagrees with the code:\n  {}\nthe code computes:\n{}",
			problems.join("\n  "),
			lines.join("\n")
		);
	}
}
