//! Every parser the chain runs on untrusted bytes, fed arbitrary and mutated input: TPM
//! structures (attestations, public areas, signatures), certificates and EK chains, whole
//! registrations and quotes, VRF claims and CIDs; and, off-chain, content ids and envelopes.
//! Each must refuse or accept without panicking. A fixed number of cases per property (the
//! `FUZZ_CASES` environment variable raises it for a longer run) keeps this in every test run.
//!
//! Why proptest rather than cargo-fuzz: cargo-fuzz needs a nightly toolchain and a sanitizer
//! build, which this project's CI does not install; proptest runs on stable in `cargo test`
//! and shrinks a failure to a minimal input. Allocation stays bounded by construction: every
//! length the parsers read is checked against a maximum before anything is allocated
//! (`wire::Reader::sized`, `ek::MAX_CERT_LEN`), which the mutated inputs exercise.

use crate::tpm::{
	attest::{Attest, EcdsaSignature},
	ek::{parse_certificate, verify_chain},
	fixtures::*,
	nonce::fixture_inputs::ACCOUNT,
	public::Public,
	registration::verify_registration,
	verify::{check_ak, check_sealing_key, verify_quote, PcrPolicy},
};
use proptest::prelude::*;

fn cases() -> u32 {
	std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
}

/// `seed` with a few random edits: flipped bytes, and a cut or an insertion.
fn mutated(seed: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
	let len = seed.len().max(1);
	(
		prop::collection::vec((0..len, any::<u8>()), 1..8),
		prop::option::of(0..len),
		prop::option::of((0..len, prop::collection::vec(any::<u8>(), 1..64))),
	)
		.prop_map(move |(flips, cut, insert)| {
			let mut bytes = seed.to_vec();
			for (at, byte) in flips {
				if at < bytes.len() {
					bytes[at] ^= byte;
				}
			}
			if let Some((at, extra)) = insert {
				let at = at.min(bytes.len());
				bytes.splice(at..at, extra);
			}
			if let Some(cut) = cut {
				bytes.truncate(cut);
			}
			bytes
		})
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
	prop::collection::vec(any::<u8>(), 0..4096)
}

/// Every TPM structure parser and key check on `bytes`.
fn tpm_parsers(bytes: &[u8]) {
	let _ = Attest::parse(bytes);
	let _ = EcdsaSignature::parse(bytes);
	let _ = Public::from_tpm2b(bytes);
	let _ = Public::parse(bytes);
	let _ = check_ak(bytes);
	let _ = check_sealing_key(bytes, &[0; 32]);
}

/// The EK chain with `bytes` in each place: as the EK certificate, an issuer, a root.
fn chains(bytes: &[u8]) {
	let now = valid_at();
	let _ = parse_certificate(bytes);
	let _ = verify_chain(bytes, &[ISSUER], &[ROOT], now);
	let _ = verify_chain(EK_CERT, &[bytes], &[ROOT], now);
	let _ = verify_chain(EK_CERT, &[ISSUER], &[bytes], now);
	let _ = verify_chain(EK_CERT, &[], &[bytes, ROOT], now);
}

/// A quote verification with `attest` and `signature` against the fixture AK.
fn quote(attest: &[u8], signature: &[u8]) {
	let ak = check_ak(AK_PUBLIC).expect("the fixture AK");
	let qn = verified_tpm().ak_qualified_name;
	let allowed = [launch_state().quote_digest];
	let policy = PcrPolicy { select: &PCR_SELECT, allowed: &allowed };
	let _ = verify_quote(&ak, &qn, &[0; 32], &policy, None, attest, signature);
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(cases()))]

	#[test]
	fn tpm_structures_never_panic_on_garbage(bytes in garbage()) {
		tpm_parsers(&bytes);
		quote(&bytes, QUOTE_SIGNATURE);
		quote(QUOTE_ATTEST, &bytes);
	}

	#[test]
	fn tpm_structures_never_panic_on_mutated_real_ones(
		attest in mutated(QUOTE_ATTEST),
		signature in mutated(QUOTE_SIGNATURE),
		ak in mutated(AK_PUBLIC),
		sealing in mutated(SEALING_PUBLIC),
	) {
		for bytes in [&attest, &signature, &ak, &sealing] {
			tpm_parsers(bytes);
		}
		quote(&attest, &signature);
	}

	#[test]
	fn certificates_never_panic_on_garbage(bytes in garbage()) {
		chains(&bytes);
	}

	#[test]
	fn certificates_never_panic_on_mutated_real_ones(
		ek in mutated(EK_CERT),
		issuer in mutated(ISSUER),
		rsa_root in mutated(RSA_ROOT),
	) {
		for bytes in [&ek, &issuer, &rsa_root] {
			chains(bytes);
		}
		let _ = verify_chain(EK_CERT_BY_RSA, &[], &[&rsa_root], valid_at());
	}

	#[test]
	fn registrations_never_panic_on_mutated_evidence(
		ek_cert in mutated(EK_CERT),
		ek_public in mutated(EK_PUBLIC),
		certify_attest in mutated(CERTIFY_ATTEST),
		certify_signature in mutated(CERTIFY_SIGNATURE),
		which in 0usize..4,
	) {
		let mut e = registration_evidence();
		match which {
			0 => e.ek_cert = &ek_cert,
			1 => e.ek_public = &ek_public,
			2 => e.certify_attest = &certify_attest,
			_ => e.certify_signature = &certify_signature,
		}
		// One field changed: refused (or, for an edit that changes nothing, accepted).
		let _ = verify_registration(&e, &ACCOUNT, &[ROOT], valid_at());
	}

	#[test]
	fn vrf_claims_never_panic(
		key in any::<[u8; 32]>(),
		seed in any::<[u8; 32]>(),
		pre_output in any::<[u8; 32]>(),
		proof in prop::collection::vec(any::<u8>(), 64),
		task in any::<u64>(),
		round in any::<u32>(),
	) {
		let proof: [u8; 64] = proof.try_into().expect("64 bytes");
		// Random bytes are (overwhelmingly) no valid proof; they must be refused, never panic.
		prop_assert!(crate::sortition::verify(&key, task, &seed, round, &pre_output, &proof).is_err());
	}

	#[test]
	fn cids_never_panic(bytes in garbage(), text in ".{0,200}") {
		let _ = crate::is_well_formed_cid(&bytes);
		let _ = crate::content_id::ContentId::parse(&text);
		if let Ok(text) = core::str::from_utf8(&bytes) {
			let _ = crate::content_id::ContentId::parse(text);
		}
	}

	#[test]
	fn envelopes_never_panic_on_garbage_or_mutation(
		bytes in prop::collection::vec(any::<u8>(), 0..200_000),
		flip in any::<usize>(),
	) {
		use crate::envelope::{decrypt, encrypt, DataKey};
		let key = DataKey::from_bytes([7; 32]);
		prop_assert!(decrypt(&key, &bytes[..], std::io::sink()).is_err() || bytes.is_empty());
		// A real envelope with one byte flipped is refused, never a panic.
		let mut sealed = Vec::new();
		encrypt(&key, &bytes[..], &mut sealed).expect("encrypts");
		let at = flip % sealed.len();
		sealed[at] ^= 1;
		prop_assert!(decrypt(&key, &sealed[..], std::io::sink()).is_err());
	}
}
