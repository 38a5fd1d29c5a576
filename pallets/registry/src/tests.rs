//! Workers register with a verified TPM, get activated, earn credit, leave and withdraw; the
//! eligible counts follow. TPM checks: the pallet's handling with the test double, and the
//! runtime's verifier on evidence from a real TPM (swtpm fixtures).

use crate::{
	mock::*, test_tpm::TestTpm, ActivationStage, Activations, ActiveByBucket, Endpoint, Error,
	Event, HoldReason, QuoteClocks, QuotePolicy, RustCryptoTpm, TpmEvidence, TpmOwners,
	TpmVerifier, TrustedTpmRoots, WorkerRegistry, WorkerStatus, Workers,
};
use codec::Encode;
use pallet_vouch_credit::CreditLedger;
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold},
	},
	sp_runtime::DispatchError,
};
use proptest::prelude::*;

type Calls = crate::Pallet<Test>;
type Ledger = pallet_vouch_credit::Pallet<Test>;

/// Worker `who`'s own test TPM (number `who`), certified for its account.
fn tpm(who: u64) -> TpmEvidence {
	TestTpm::evidence(who as u32, &who.encode())
}

fn endpoint(url: &str) -> Endpoint {
	url.as_bytes().to_vec().try_into().unwrap()
}

fn register(who: u64, deposit: u128) -> polkadot_sdk::frame_support::dispatch::DispatchResult {
	Calls::register(RuntimeOrigin::signed(who), tpm(who), endpoint("http://10.0.0.1:8700"), deposit)
}

fn activate(who: u64) {
	assert_ok!(register(who, 100));
	assert_ok!(Calls::force_activate(RuntimeOrigin::root(), who));
}

fn held(who: u64) -> u128 {
	Balances::balance_on_hold(&RuntimeHoldReason::Registry(HoldReason::WorkerBond), &who)
}

fn check() {
	Calls::do_try_state().expect("registry invariants hold");
}

/// Runs the hooks of every block up to `n`.
fn run_to(n: u64) {
	use polkadot_sdk::frame_support::traits::Hooks;
	while System::block_number() < n {
		System::set_block_number(System::block_number() + 1);
		Registry::on_initialize(System::block_number());
	}
}

#[test]
fn a_worker_registers_with_its_tpm_and_bonds_its_deposit() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, 300));
		assert_eq!(held(1), 300);
		assert_eq!(Balances::balance(&1), 700);
		let worker = Workers::<Test>::get(1).unwrap();
		assert_eq!(worker.status, WorkerStatus::Pending);
		// The chain keeps QN(AK) for the quotes, and the sealing key for those who seal to it.
		assert_eq!(worker.tpm.ak_qualified_name.to_vec(), TestTpm::ak_qualified_name(&tpm(1)));
		assert_eq!(worker.tpm.sealing_public, tpm(1).sealing_public);
		// Registered, not activated: the TPM is bound to nobody yet.
		assert_eq!(TpmOwners::<Test>::get(worker.tpm.ek_key_id), None);
		System::assert_has_event(Event::Registered { who: 1, deposit: 300 }.into());
		// Pending workers are not eligible.
		assert!(!Calls::is_active(&1));
		assert_eq!(Calls::eligible_count(0), 0);
		check();
	});
}

#[test]
fn bad_registrations_are_refused_with_the_reason() {
	new_test_ext().execute_with(|| {
		assert_noop!(register(1, 99), Error::<Test>::DepositBelowMinimum);
		assert_noop!(register(POOR, 100), Error::<Test>::InsufficientBalance);
		for bad in ["ftp://x", "10.0.0.1:8700", "http://a b", ""] {
			assert_noop!(
				Calls::register(RuntimeOrigin::signed(1), tpm(1), endpoint(bad), 100),
				Error::<Test>::MalformedEndpoint
			);
		}
		let url = || endpoint("https://w.example");
		// A TPM whose EK does not chain to a trusted root.
		let mut unknown = tpm(1);
		unknown.ek_cert = b"someone-else's-ek".to_vec().try_into().unwrap();
		assert_noop!(
			Calls::register(RuntimeOrigin::signed(1), unknown, url(), 100),
			Error::<Test>::EkIssuerUntrusted
		);
		// Worker 2's evidence, copied by worker 1: certified for another account.
		assert_noop!(
			Calls::register(RuntimeOrigin::signed(1), tpm(2), url(), 100),
			Error::<Test>::CertificationWrongNonce
		);
		assert_ok!(register(1, 100));
		assert_noop!(register(1, 100), Error::<Test>::AlreadyRegistered);
		// No roots trusted: nobody registers.
		TrustedTpmRoots::<Test>::kill();
		assert_noop!(register(2, 100), Error::<Test>::EkIssuerUntrusted);
	});
}

#[test]
fn one_tpm_serves_one_worker_until_it_leaves() {
	new_test_ext().execute_with(|| {
		activate(1);
		// Worker 2 with the same TPM (certified for worker 2, so only the EK is shared).
		let same_tpm = TestTpm::evidence(1, &2u64.encode());
		let url = || endpoint("https://w.example");
		assert_noop!(
			Calls::register(RuntimeOrigin::signed(2), same_tpm.clone(), url(), 100),
			Error::<Test>::TpmAlreadyRegistered
		);
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(1)));
		System::set_block_number(11);
		assert_ok!(Calls::withdraw(RuntimeOrigin::signed(1)));
		// Once worker 1 has left, its TPM may serve another account.
		assert_ok!(Calls::register(RuntimeOrigin::signed(2), same_tpm, url(), 100));
		check();
	});
}

#[test]
fn the_runtime_verifier_accepts_real_tpm_evidence_and_names_each_fault() {
	use vouch_primitives::tpm::{
		fixtures::{self, registration_evidence},
		nonce::fixture_inputs::ACCOUNT,
		registration,
	};
	fn bounded<S: polkadot_sdk::frame_support::traits::Get<u32>>(
		b: &[u8],
	) -> polkadot_sdk::frame_support::BoundedVec<u8, S> {
		b.to_vec().try_into().unwrap()
	}
	// The swtpm worker's evidence, as it would be submitted.
	let e = registration_evidence();
	let evidence = TpmEvidence::try_from(e).expect("the fixtures fit the bounds");
	let root = || vec![bounded(fixtures::ROOT)];
	let verify = |evidence: &TpmEvidence, account: &[u8], roots: &[crate::Certificate]| {
		RustCryptoTpm::verify_registration(evidence, account, roots, fixtures::valid_at())
			.map_err(Calls::registration_error)
	};
	let verified = verify(&evidence, &ACCOUNT, &root()).expect("swtpm evidence verifies");
	let expected =
		registration::verify_registration(&e, &ACCOUNT, &[fixtures::ROOT], fixtures::valid_at())
			.unwrap();
	assert_eq!(verified.ak_qualified_name, expected.ak_qualified_name);
	assert_eq!(verified.ek_qualified_name, expected.ek_qualified_name);

	let fails = |evidence: TpmEvidence, account: &[u8], roots: &[crate::Certificate]| {
		verify(&evidence, account, roots).expect_err("tampered evidence is refused")
	};
	assert_eq!(
		fails(evidence.clone(), &[0x12; 32], &root()),
		Error::<Test>::CertificationWrongNonce.into()
	);
	assert_eq!(
		fails(evidence.clone(), &ACCOUNT, &[bounded(fixtures::RSA_ROOT)]),
		Error::<Test>::EkIssuerUntrusted.into()
	);
	let mut e = evidence.clone();
	e.intermediates = Default::default();
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::EkIssuerUntrusted.into());
	// The issuing CA's own certificate as the EK's, its key as the "EK": no TPM behind it.
	let mut e = evidence.clone();
	e.ek_cert = bounded(fixtures::ISSUER);
	e.intermediates = Default::default();
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::EkNotEndEntity.into());
	let mut e = evidence.clone();
	e.ek_cert.truncate(100);
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::EkCertificateMalformed.into());
	let mut e = evidence.clone();
	let last = e.ek_cert.len() - 1;
	e.ek_cert[last] ^= 1;
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::EkCertificateSignatureInvalid.into());
	let mut e = evidence.clone();
	e.ek_public = e.sealing_public.clone();
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::EkKeyMismatch.into());
	let mut e = evidence.clone();
	e.ek_public.truncate(10);
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::EkPublicMalformed.into());
	// TPM2B_PUBLIC: size (2), type (2), name algorithm (2), then the attributes (4).
	let mut e = evidence.clone();
	e.ak_public[9] &= !0x10; // fixedParent off: not exactly the AK attributes
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::AkNotRestrictedSigning.into());
	let mut e = evidence.clone();
	e.ak_public = e.sealing_public.clone();
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::AkNotP256Ecdsa.into());
	let mut e = evidence.clone();
	e.sealing_public = e.ak_public.clone();
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::SealingKeyNotRsaOaep.into());
	let mut e = evidence.clone();
	e.sealing_public[7] |= 0x04; // sign (bit 18): a sealing key must not sign
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::SealingKeyAttributes.into());
	// userWithAuth (bit 6): its empty password would open released keys from any shell.
	let mut e = evidence.clone();
	e.sealing_public[9] |= 0x40;
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::SealingKeyAttributes.into());
	// Another launch log than the one the sealing key's policy was made for (another
	// executor build): the key is not bound to the state registered.
	let mut e = evidence.clone();
	e.launch_log[0][0] ^= 1;
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::SealingKeyNotBoundToLaunch.into());
	let mut e = evidence.clone();
	e.boot_pcrs[0][0] ^= 1;
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::SealingKeyNotBoundToLaunch.into());
	let mut e = evidence.clone();
	e.boot_pcrs.pop();
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::BootPcrsMalformed.into());
	let mut e = evidence.clone();
	let last = e.certify_signature.len() - 1;
	e.certify_signature[last] ^= 1;
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::CertificationSignatureInvalid.into());
	let mut e = evidence.clone();
	e.certify_attest.try_push(0).unwrap();
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::CertificationSignatureInvalid.into());
	let mut e = evidence;
	e.certify_signature.truncate(20);
	assert_eq!(fails(e, &ACCOUNT, &root()), Error::<Test>::TpmStructureMalformed.into());
}

#[test]
fn a_worker_registers_only_with_an_allowed_launch_and_a_revoked_build_stops_its_seats_and_quotes() {
	use crate::{test_tpm::TEST_EXECUTOR_BUILD, AllowedBuild, AllowedBuilds, BuildKind};
	use vouch_primitives::tpm::{attest::ClockInfo, verify::QuoteError};
	new_test_ext().execute_with(|| {
		let with_log = |log: Vec<[u8; 32]>| {
			let mut e = tpm(1);
			e.launch_log = log.try_into().unwrap();
			e
		};
		let try_register = |e: TpmEvidence| {
			Calls::register(RuntimeOrigin::signed(1), e, endpoint("http://10.0.0.1:8700"), 100)
		};
		let runtime = [0x72; 32];
		// An executor build nobody allowed (e.g. one with a debug backdoor): refused, nothing
		// held.
		assert_noop!(try_register(with_log(vec![[0x66; 32]])), Error::<Test>::BuildNotAllowed);
		assert_noop!(
			try_register(with_log(vec![TEST_EXECUTOR_BUILD, runtime])),
			Error::<Test>::BuildNotAllowed
		);
		// Only root keeps the list.
		let label = || b"dockerd 20.10".to_vec().try_into().unwrap();
		assert_noop!(
			Calls::allow_build(RuntimeOrigin::signed(1), runtime, BuildKind::JobRuntime, label()),
			DispatchError::BadOrigin
		);
		assert_ok!(Calls::allow_build(
			RuntimeOrigin::root(),
			runtime,
			BuildKind::JobRuntime,
			label()
		));
		System::assert_last_event(
			Event::BuildAllowed { digest: runtime, kind: BuildKind::JobRuntime }.into(),
		);
		assert_eq!(
			AllowedBuilds::<Test>::get(runtime),
			Some(AllowedBuild { kind: BuildKind::JobRuntime, label: label() })
		);
		// Allowed runtime binaries alone are no executor: the worker could run anything.
		assert_noop!(try_register(with_log(vec![runtime])), Error::<Test>::NoExecutorMeasured);
		assert_noop!(try_register(with_log(vec![])), Error::<Test>::LaunchLogEmpty);
		let mut short = tpm(1);
		short.boot_pcrs.pop();
		assert_noop!(try_register(short), Error::<Test>::BootPcrsMalformed);
		// Another boot state (another kernel, or firmware) than the policy allows.
		let mut rebooted = tpm(1);
		rebooted.boot_pcrs[4] = [0x44; 32];
		assert_noop!(try_register(rebooted), Error::<Test>::BootStateNotAllowed);
		assert_eq!(held(1), 0);

		// The allowed launch registers, and the chain keeps it.
		assert_ok!(try_register(with_log(vec![TEST_EXECUTOR_BUILD, runtime])));
		assert_ok!(Calls::force_activate(RuntimeOrigin::root(), 1));
		let launch = Workers::<Test>::get(1).unwrap().tpm.launch;
		assert_eq!(launch.builds.to_vec(), vec![TEST_EXECUTOR_BUILD, runtime]);
		assert!(Calls::is_active(&1));
		let tpm1 = Workers::<Test>::get(1).unwrap().tpm;
		let at = |clock| ClockInfo { clock, reset_count: 1, restart_count: 0, safe: true };
		let (attest, sig) = TestTpm::quote(&tpm1, [9; 32], at(500));
		assert_eq!(Calls::verify_quote(&1, &[9; 32], &attest, &sig, false), Ok(at(500)));

		// Root revokes the runtime (a sandbox escape found in it): the worker takes no new
		// seats and its quotes are refused, so it is never elected into duties it must fail.
		assert_noop!(
			Calls::revoke_build(RuntimeOrigin::signed(1), runtime),
			DispatchError::BadOrigin
		);
		assert_ok!(Calls::revoke_build(RuntimeOrigin::root(), runtime));
		System::assert_last_event(Event::BuildRevoked { digest: runtime }.into());
		assert!(!Calls::is_active(&1));
		assert_eq!(
			Calls::verify_quote(&1, &[9; 32], &attest, &sig, false),
			Err(QuoteError::PcrDigestNotAllowed)
		);
		assert_noop!(
			Calls::revoke_build(RuntimeOrigin::root(), runtime),
			Error::<Test>::UnknownBuild
		);
		// Allowed again, it is eligible again.
		assert_ok!(Calls::allow_build(
			RuntimeOrigin::root(),
			runtime,
			BuildKind::JobRuntime,
			label()
		));
		assert!(Calls::is_active(&1));
		check();
	});
}

#[test]
fn only_root_sets_the_trust_roots_and_the_quote_policy() {
	use vouch_primitives::tpm::fixtures::{P384_ROOT, ROOT};
	new_test_ext().execute_with(|| {
		let roots: crate::TrustedRoots =
			vec![ROOT.to_vec().try_into().unwrap(), P384_ROOT.to_vec().try_into().unwrap()]
				.try_into()
				.unwrap();
		assert_noop!(
			Calls::set_trusted_roots(RuntimeOrigin::signed(1), roots.clone()),
			DispatchError::BadOrigin
		);
		assert_ok!(Calls::set_trusted_roots(RuntimeOrigin::root(), roots.clone()));
		System::assert_last_event(Event::TrustedRootsSet { count: 2 }.into());
		assert_eq!(TrustedTpmRoots::<Test>::get(), roots);
		let garbage: crate::TrustedRoots =
			vec![b"not a certificate".to_vec().try_into().unwrap()].try_into().unwrap();
		assert_noop!(
			Calls::set_trusted_roots(RuntimeOrigin::root(), garbage),
			Error::<Test>::EkCertificateMalformed
		);
		let policy = QuotePolicy { allowed_digests: vec![[1; 32], [2; 32]].try_into().unwrap() };
		assert_noop!(
			Calls::set_quote_policy(RuntimeOrigin::signed(1), policy.clone()),
			DispatchError::BadOrigin
		);
		assert_ok!(Calls::set_quote_policy(RuntimeOrigin::root(), policy.clone()));
		System::assert_last_event(Event::QuotePolicySet { allowed: 2 }.into());
		assert_eq!(crate::TpmQuotePolicy::<Test>::get(), policy);
	});
}

#[test]
fn quotes_are_checked_against_the_workers_ak_and_its_last_clock() {
	use vouch_primitives::tpm::{
		attest::ClockInfo,
		verify::{QuoteError, SignedError},
	};
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, 100));
		assert_ok!(register(2, 100));
		let tpm1 = Workers::<Test>::get(1).unwrap().tpm;
		let at = |clock| ClockInfo { clock, reset_count: 1, restart_count: 0, safe: true };
		let nonce = [9; 32];
		let (attest, sig) = TestTpm::quote(&tpm1, nonce, at(500));
		// Worker 1's quote is not worker 2's.
		assert_eq!(
			Calls::verify_quote(&2, &nonce, &attest, &sig, true),
			Err(QuoteError::Signed(SignedError::BadSignature))
		);
		assert_eq!(
			Calls::verify_quote(&3, &nonce, &attest, &sig, true),
			Err(QuoteError::Signed(SignedError::WrongSigner))
		);
		assert_eq!(
			Calls::verify_quote(&1, &[8; 32], &attest, &sig, true),
			Err(QuoteError::Signed(SignedError::WrongNonce))
		);
		assert_eq!(Calls::verify_quote(&1, &nonce, &attest, &sig, true), Ok(at(500)));
		assert_eq!(QuoteClocks::<Test>::get(1), Some(at(500)));
		// The same quote again, or an older one, is refused as the worker's attestation...
		assert_eq!(
			Calls::verify_quote(&1, &nonce, &attest, &sig, true),
			Err(QuoteError::ClockWentBackwards)
		);
		let (old, old_sig) = TestTpm::quote(&tpm1, nonce, at(400));
		assert_eq!(
			Calls::verify_quote(&1, &nonce, &old, &old_sig, true),
			Err(QuoteError::ClockWentBackwards)
		);
		// ...but verifies as evidence against it, which does not move the clock.
		assert_eq!(Calls::verify_quote(&1, &nonce, &old, &old_sig, false), Ok(at(400)));
		assert_eq!(QuoteClocks::<Test>::get(1), Some(at(500)));
	});
}

#[test]
fn only_root_forces_an_activation_and_only_of_pending_workers() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, 100));
		assert_noop!(Calls::force_activate(RuntimeOrigin::signed(1), 1), DispatchError::BadOrigin);
		assert_noop!(Calls::force_activate(RuntimeOrigin::root(), 2), Error::<Test>::NotRegistered);
		assert_ok!(Calls::force_activate(RuntimeOrigin::root(), 1));
		System::assert_last_event(Event::Activated { who: 1 }.into());
		assert!(Calls::is_active(&1));
		assert_noop!(Calls::force_activate(RuntimeOrigin::root(), 1), Error::<Test>::NotPending);
		// The override ends the activation and binds the TPM as a real one would.
		assert!(Activations::<Test>::get(1).is_none());
		let key = Workers::<Test>::get(1).unwrap().tpm.ek_key_id;
		assert_eq!(TpmOwners::<Test>::get(key), Some(1));
		check();
	});
}

#[test]
fn eligible_counts_follow_credit_without_walking_workers() {
	new_test_ext().execute_with(|| {
		for who in 1..=4 {
			activate(who);
		}
		// Worker 1 earns 60 (bucket 1 of width 50), worker 2 earns 120 (bucket 2).
		for _ in 0..6 {
			Ledger::reward_duty(&1);
		}
		for _ in 0..12 {
			Ledger::reward_duty(&2);
		}
		assert_eq!(Calls::eligible_count(0), 4);
		assert_eq!(Calls::eligible_count(50), 2);
		assert_eq!(Calls::eligible_count(100), 1);
		assert_eq!(Calls::eligible_count(150), 0);
		assert_eq!(ActiveByBucket::<Test>::get(0), 2);
		// A lie drops worker 2 back to bucket 0.
		Ledger::reset_for_lie(&2);
		assert_eq!(Calls::eligible_count(50), 1);
		assert_eq!(Calls::eligible_count(0), 4);
		// Requirements must sit on bucket boundaries so that the counts are exact.
		assert!(Calls::check_min_credit(100) && !Calls::check_min_credit(120));
		check();
	});
}

#[test]
fn a_leaving_worker_is_ineligible_at_once_and_withdraws_after_unbonding() {
	new_test_ext().execute_with(|| {
		activate(1);
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(1)));
		System::assert_last_event(Event::Unbonding { who: 1, until: 11 }.into());
		assert!(!Calls::is_active(&1));
		assert_eq!(Calls::eligible_count(0), 0);
		assert_noop!(Calls::deregister(RuntimeOrigin::signed(1)), Error::<Test>::AlreadyLeaving);

		System::set_block_number(10);
		assert_noop!(Calls::withdraw(RuntimeOrigin::signed(1)), Error::<Test>::StillUnbonding);
		System::set_block_number(11);
		assert_ok!(Calls::withdraw(RuntimeOrigin::signed(1)));
		System::assert_last_event(Event::Removed { who: 1, released: 100 }.into());
		assert_eq!((held(1), Balances::balance(&1)), (0, 1_000));
		assert_eq!(Workers::<Test>::get(1).unwrap().status, WorkerStatus::Removed);
		assert_noop!(Calls::withdraw(RuntimeOrigin::signed(1)), Error::<Test>::NotUnbonding);
		// A removed worker may come back.
		assert_ok!(register(1, 100));
		check();
	});
}

#[test]
fn a_slash_burns_the_deposit_even_while_unbonding() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, 200));
		assert_ok!(Calls::force_activate(RuntimeOrigin::root(), 1));
		let issuance = Balances::total_issuance();
		assert_eq!(Calls::slash(&1, 30, None), (30, 0));
		System::assert_last_event(Event::Slashed { who: 1, amount: 30, rewarded: 0 }.into());
		assert_eq!(held(1), 170);
		assert_eq!(Balances::total_issuance(), issuance - 30);
		assert!(Calls::is_active(&1), "still above the minimum deposit");
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(1)));
		// More than is left: only what is held goes.
		assert_eq!(Calls::slash(&1, 500, None), (170, 0));
		assert_eq!(Workers::<Test>::get(1).unwrap().deposit, 0);
		assert_eq!(Calls::slash(&9, 10, None), (0, 0), "nobody to slash");
		check();
	});
}

#[test]
fn a_worker_slashed_below_the_minimum_deposit_is_not_active_until_it_bonds_more() {
	new_test_ext().execute_with(|| {
		activate(1);
		assert_eq!(Calls::eligible_count(0), 1);
		assert_eq!(Calls::slash(&1, 30, None), (30, 0));
		System::assert_last_event(Event::Underbonded { who: 1, deposit: 70 }.into());
		assert_eq!(Workers::<Test>::get(1).unwrap().status, WorkerStatus::Underbonded);
		assert!(!Calls::is_active(&1));
		assert!(Calls::is_bonded(&1), "it still finishes the duties it holds, at stake");
		assert_eq!(Calls::eligible_count(0), 0, "out of sortition at once");
		check();

		assert_noop!(Calls::bond_extra(RuntimeOrigin::signed(1), 0), Error::<Test>::ZeroBond);
		assert_noop!(
			Calls::bond_extra(RuntimeOrigin::signed(POOR), 10),
			Error::<Test>::NotRegistered
		);
		// Not enough yet: still underbonded.
		assert_ok!(Calls::bond_extra(RuntimeOrigin::signed(1), 20));
		System::assert_last_event(Event::Bonded { who: 1, amount: 20, deposit: 90 }.into());
		assert!(!Calls::is_active(&1));
		assert_ok!(Calls::bond_extra(RuntimeOrigin::signed(1), 10));
		System::assert_last_event(Event::Activated { who: 1 }.into());
		assert!(Calls::is_active(&1));
		assert_eq!((held(1), Calls::eligible_count(0)), (100, 1));
		check();
		// A leaving worker cannot bond back in.
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(1)));
		assert_noop!(
			Calls::bond_extra(RuntimeOrigin::signed(1), 10),
			Error::<Test>::AlreadyLeaving
		);
		// Slashed to nothing: nothing is at stake any more, and its quotes count for nothing.
		assert_eq!(Calls::slash(&1, 100, None), (100, 0));
		assert!(!Calls::is_bonded(&1));
	});
}

#[test]
fn the_reporter_of_a_fault_is_paid_its_share_of_the_slash_and_the_rest_is_burnt() {
	new_test_ext().execute_with(|| {
		activate(1);
		let issuance = Balances::total_issuance();
		let reporter_before = Balances::balance(&2);
		let share = polkadot_sdk::sp_runtime::Perbill::from_percent(50);
		assert_eq!(Calls::slash(&1, 40, Some((&2, share))), (40, 20));
		assert_eq!(Balances::balance(&2), reporter_before + 20);
		assert_eq!(Balances::total_issuance(), issuance - 20, "only the rest is burnt");
		assert_eq!((held(1), Workers::<Test>::get(1).unwrap().deposit), (60, 60));
		check();
	});
}

#[test]
fn a_worker_on_an_open_committee_can_neither_deregister_nor_withdraw() {
	new_test_ext().execute_with(|| {
		activate(1);
		set_open_duties(1, 1);
		assert_noop!(Calls::deregister(RuntimeOrigin::signed(1)), Error::<Test>::DutiesOpen);
		set_open_duties(1, 0);
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(1)));
		// Unbonding, and elected again before (a round under way when it left): its bond stays.
		assert!(Calls::is_bonded(&1), "an unbonding worker's quotes are still taken");
		set_open_duties(1, 1);
		System::set_block_number(20);
		assert_noop!(Calls::withdraw(RuntimeOrigin::signed(1)), Error::<Test>::DutiesOpen);
		set_open_duties(1, 0);
		assert_ok!(Calls::withdraw(RuntimeOrigin::signed(1)));
		assert!(!Calls::is_bonded(&1), "a removed worker has nothing at stake");
		check();
	});
}

#[derive(Clone, Debug)]
enum Op {
	Register(u64),
	ForceActivate(u64),
	Deregister(u64),
	Withdraw(u64),
	Duty(u64),
	Lie(u64),
	Slash(u64, u128),
	Reward(u64, u128, u64),
	BondExtra(u64, u128),
	Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
	let who = 1u64..=6;
	prop_oneof![
		1 => who.clone().prop_map(Op::Register),
		1 => who.clone().prop_map(Op::ForceActivate),
		1 => who.clone().prop_map(Op::Deregister),
		1 => who.clone().prop_map(Op::Withdraw),
		3 => who.clone().prop_map(Op::Duty),
		1 => who.clone().prop_map(Op::Lie),
		1 => (who.clone(), 0u128..200).prop_map(|(w, a)| Op::Slash(w, a)),
		1 => (who.clone(), 0u128..200, who.clone()).prop_map(|(w, a, r)| Op::Reward(w, a, r)),
		1 => (who, 0u128..100).prop_map(|(w, a)| Op::BondExtra(w, a)),
		1 => (1u64..15).prop_map(Op::Advance),
	]
}

proptest! {
	/// Whatever the order of registrations, approvals, credit changes, slashes and exits, the
	/// bucket counts match the active workers and every recorded deposit is exactly what is held;
	/// no unit is created: balances plus burns stay equal to what was there at the start.
	#[test]
	fn random_histories_keep_counts_and_deposits_exact(ops in prop::collection::vec(op(), 1..80)) {
		new_test_ext().execute_with(|| {
			let issuance = Balances::total_issuance();
			let mut burnt = 0u128;
			for op in ops {
				match op {
					Op::Register(w) => { let _ = register(w, 100 + w as u128); },
					Op::ForceActivate(w) => { let _ = Calls::force_activate(RuntimeOrigin::root(), w); },
					Op::Deregister(w) => { let _ = Calls::deregister(RuntimeOrigin::signed(w)); },
					Op::Withdraw(w) => { let _ = Calls::withdraw(RuntimeOrigin::signed(w)); },
					Op::Duty(w) => { Ledger::reward_duty(&w); },
					Op::Lie(w) => { Ledger::reset_for_lie(&w); },
					Op::Slash(w, a) => burnt += Calls::slash(&w, a, None).0,
					Op::Reward(w, a, r) => {
						let share = polkadot_sdk::sp_runtime::Perbill::from_percent(30);
						let (taken, paid) = Calls::slash(&w, a, Some((&r, share)));
						burnt += taken - paid;
					},
					Op::BondExtra(w, a) => { let _ = Calls::bond_extra(RuntimeOrigin::signed(w), a); },
					Op::Advance(n) => run_to(System::block_number() + n),
				}
				Calls::do_try_state().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
				let active = Workers::<Test>::iter().filter(|(_, w)| w.status == WorkerStatus::Active).count();
				prop_assert_eq!(Calls::eligible_count(0) as usize, active);
				for (_, w) in Workers::<Test>::iter() {
					prop_assert!(w.status != WorkerStatus::Active || w.deposit >= MinDeposit::get(), "an active worker below the minimum deposit");
				}
			}
			// Newcomers that never answered forfeited their rejection fees.
			for record in System::events() {
				if let RuntimeEvent::Registry(Event::ActivationRejected { fee, .. }) = record.event {
					burnt += fee;
				}
			}
			prop_assert_eq!(Balances::total_issuance() + burnt, issuance);
			Ok(())
		})?;
	}
}

// Credential activation. The mock's TPM double cannot run TPM2_ActivateCredential; the
// chain's side does not need it: it checks each answered secret against its commitment.
// (The TPM side, MakeCredential and ActivateCredential on swtpm, is tested in
// `offchain-executor/tests/tpm.rs`.)

use polkadot_sdk::sp_runtime::traits::Convert;
use vouch_primitives::{sortition, tpm::credential::commitment};

fn blob(bytes: &[u8]) -> crate::TpmStruct {
	bytes.to_vec().try_into().unwrap()
}

/// `verifier`'s secret for `newcomer`.
fn secret(verifier: u64, newcomer: u64) -> [u8; 32] {
	polkadot_sdk::sp_crypto_hashing::blake2_256(&(b"secret", verifier, newcomer).encode())
}

/// `verifier`'s VRF claim on `newcomer`'s current round.
fn claim(verifier: u64, newcomer: u64) -> sortition::Claim {
	let a = Activations::<Test>::get(newcomer).expect("an activation under way");
	sortition::sign_activation(&pair(verifier), &MockVrfKeys::convert(newcomer), &a.seed, a.round)
}

fn challenge(
	verifier: u64,
	newcomer: u64,
) -> polkadot_sdk::frame_support::dispatch::DispatchResultWithPostInfo {
	let c = claim(verifier, newcomer);
	let round = Activations::<Test>::get(newcomer).unwrap().round;
	Calls::challenge_worker(
		RuntimeOrigin::signed(verifier),
		newcomer,
		round,
		c.pre_output,
		c.proof,
		blob(b"TPM2B_ID_OBJECT"),
		blob(b"TPM2B_ENCRYPTED_SECRET"),
		commitment(&secret(verifier, newcomer)),
	)
}

/// The secrets the newcomer's TPM would recover, in the challenges' order.
fn answers(
	newcomer: u64,
) -> polkadot_sdk::frame_support::BoundedVec<
	[u8; 32],
	polkadot_sdk::frame_support::traits::ConstU32<16>,
> {
	let a = Activations::<Test>::get(newcomer).unwrap();
	a.challenges
		.iter()
		.map(|c| secret(c.verifier, newcomer))
		.collect::<Vec<_>>()
		.try_into()
		.unwrap()
}

/// The next block: the one that draws round 0 of this block's registrations.
fn next_block() {
	run_to(System::block_number() + 1);
}

/// Workers 1-3 active (root's bootstrap), newcomer 4 registered at block 1 and its round 0
/// drawn at block 2.
fn three_verifiers_and_a_newcomer() {
	for w in 1..=3 {
		activate(w);
	}
	assert_ok!(register(4, 100));
	next_block();
}

fn until(newcomer: u64) -> u64 {
	Activations::<Test>::get(newcomer).unwrap().stage.until()
}

#[test]
fn a_newcomer_that_answers_every_challenge_is_active_and_its_tpm_bound() {
	new_test_ext().execute_with(|| {
		three_verifiers_and_a_newcomer();
		let a = Activations::<Test>::get(4).unwrap();
		assert_eq!((a.round, a.eligible, a.needed), (0, 3, 3));
		System::assert_has_event(
			Event::ActivationRoundStarted {
				who: 4,
				round: 0,
				seed: a.seed,
				eligible: 3,
				needed: 3,
				until: 7,
			}
			.into(),
		);
		for v in 1..=3 {
			assert_ok!(challenge(v, 4));
			System::assert_last_event(
				Event::ChallengePosted { who: 4, verifier: v, round: 0 }.into(),
			);
		}
		// Challenges are kept lowest draw first.
		let draws: Vec<u128> =
			Activations::<Test>::get(4).unwrap().challenges.iter().map(|c| c.draw).collect();
		assert!(draws.windows(2).all(|w| w[0] <= w[1]));
		// No answer before every challenge is in and the window closed.
		assert_noop!(
			Calls::answer_activation(RuntimeOrigin::signed(4), answers(4)),
			Error::<Test>::NotAnswering
		);
		run_to(7);
		System::assert_last_event(Event::ChallengesComplete { who: 4, until: 12 }.into());
		let credit_before: Vec<u32> = (1..=3).map(|v| Ledger::credit_of(&v)).collect();
		assert_ok!(Calls::answer_activation(RuntimeOrigin::signed(4), answers(4)));
		System::assert_last_event(Event::Activated { who: 4 }.into());
		assert!(Calls::is_active(&4));
		assert!(Activations::<Test>::get(4).is_none());
		assert_eq!(TpmOwners::<Test>::get(Workers::<Test>::get(4).unwrap().tpm.ek_key_id), Some(4));
		for v in 1..=3u64 {
			assert!(
				Ledger::credit_of(&v) > credit_before[v as usize - 1],
				"verifier {v} earns credit"
			);
		}
		// Nothing is left scheduled for it.
		run_to(20);
		assert!(Calls::is_active(&4));
		check();
	});
}

#[test]
fn a_wrong_secret_is_refused_and_a_silent_newcomer_is_rejected_for_a_fee() {
	new_test_ext().execute_with(|| {
		three_verifiers_and_a_newcomer();
		for v in 1..=3 {
			assert_ok!(challenge(v, 4));
		}
		run_to(7);
		// What a software AK's host can do: guess.
		let mut wrong = answers(4);
		wrong[1] = [0x11; 32];
		assert_noop!(
			Calls::answer_activation(RuntimeOrigin::signed(4), wrong),
			Error::<Test>::WrongActivationSecret
		);
		let mut short = answers(4);
		short.pop();
		assert_noop!(
			Calls::answer_activation(RuntimeOrigin::signed(4), short),
			Error::<Test>::WrongAnswerCount
		);
		assert_noop!(
			Calls::answer_activation(RuntimeOrigin::signed(5), answers(4)),
			Error::<Test>::NoActivation
		);
		let issuance = Balances::total_issuance();
		run_to(12);
		System::assert_last_event(
			Event::ActivationRejected { who: 4, fee: 10, released: 90 }.into(),
		);
		assert_eq!(Workers::<Test>::get(4).unwrap().status, WorkerStatus::Removed);
		assert_eq!((held(4), Balances::balance(&4)), (0, 990));
		assert_eq!(Balances::total_issuance(), issuance - 10);
		assert!(Activations::<Test>::get(4).is_none());
		// Too late now.
		assert_noop!(
			Calls::answer_activation(RuntimeOrigin::signed(4), answers_of_nobody()),
			Error::<Test>::NoActivation
		);
		// It may register again (and pay the fee again if it cannot answer).
		assert_ok!(register(4, 100));
		check();
	});
}

/// A host whose AK cannot answer knows it once challenged; leaving then costs what silence
/// costs. Before any challenge, leaving is free: nobody spent work on it yet.
#[test]
fn a_challenged_newcomer_that_leaves_pays_the_rejection_fee_and_an_unchallenged_one_does_not() {
	new_test_ext().execute_with(|| {
		three_verifiers_and_a_newcomer();
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(4)));
		assert!(matches!(Workers::<Test>::get(4).unwrap().status, WorkerStatus::Unbonding { .. }));
		assert_eq!(held(4), 100, "unbonding, the deposit whole");
		assert!(Activations::<Test>::get(4).is_none());

		assert_ok!(register(5, 100));
		next_block();
		assert_ok!(challenge(1, 5));
		let issuance = Balances::total_issuance();
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(5)));
		System::assert_last_event(
			Event::ActivationRejected { who: 5, fee: 10, released: 90 }.into(),
		);
		assert_eq!(Workers::<Test>::get(5).unwrap().status, WorkerStatus::Removed);
		assert_eq!((held(5), Balances::balance(&5)), (0, 990));
		assert_eq!(Balances::total_issuance(), issuance - 10);
		assert!(Activations::<Test>::get(5).is_none());
		// Its deadline left the queue with it: nothing more happens to it.
		run_to(20);
		assert_eq!(Balances::balance(&5), 990);
		check();
	});
}

fn answers_of_nobody() -> polkadot_sdk::frame_support::BoundedVec<
	[u8; 32],
	polkadot_sdk::frame_support::traits::ConstU32<16>,
> {
	Default::default()
}

#[test]
fn bad_challenges_are_refused_by_name() {
	new_test_ext().execute_with(|| {
		three_verifiers_and_a_newcomer();
		assert_ok!(register(5, 100));
		next_block();
		let c = claim(1, 4);
		let post =
			|who: u64, newcomer: u64, round: u32, c: &sortition::Claim, blob_bytes: &[u8]| {
				Calls::challenge_worker(
					RuntimeOrigin::signed(who),
					newcomer,
					round,
					c.pre_output,
					c.proof,
					blob(blob_bytes),
					blob(b"s"),
					[0; 32],
				)
			};
		assert_noop!(post(1, 6, 0, &c, b"b"), Error::<Test>::NoActivation);
		assert_noop!(post(1, 4, 1, &c, b"b"), Error::<Test>::WrongActivationRound);
		// A pending worker (5) may not verify another.
		assert_noop!(post(5, 4, 0, &claim(5, 4), b"b"), Error::<Test>::NotActiveWorker);
		// 2 replaying 1's proof, a proof for another newcomer, a task claim on the same seed.
		assert_noop!(post(2, 4, 0, &c, b"b"), Error::<Test>::BadVrfProof);
		assert_noop!(post(1, 5, 0, &c, b"b"), Error::<Test>::BadVrfProof);
		let seed = Activations::<Test>::get(4).unwrap().seed;
		let task_claim = sortition::sign(&pair(1), 0, &seed, 0);
		assert_noop!(post(1, 4, 0, &task_claim, b"b"), Error::<Test>::BadVrfProof);
		assert_noop!(post(1, 4, 0, &c, b""), Error::<Test>::EmptyCredential);
		assert_ok!(post(1, 4, 0, &c, b"b"));
		assert_noop!(post(1, 4, 0, &c, b"b"), Error::<Test>::AlreadyChallenged);
		run_to(until(4) + 1);
		// The window closed short (one of three): a new round, the old claim stale.
		assert_eq!(Activations::<Test>::get(4).unwrap().round, 1);
		assert_noop!(post(2, 4, 0, &claim(2, 4), b"b"), Error::<Test>::WrongActivationRound);
		check();
	});
}

#[test]
fn a_window_short_of_verifiers_draws_again_then_expires_with_the_deposit_back() {
	new_test_ext().execute_with(|| {
		three_verifiers_and_a_newcomer();
		let first = Activations::<Test>::get(4).unwrap().seed;
		assert_ok!(challenge(1, 4));
		run_to(until(4));
		// Round 1: the silent winners replaced by a new draw on a new seed; nothing kept.
		let a = Activations::<Test>::get(4).unwrap();
		assert_eq!((a.round, a.challenges.len()), (1, 0));
		assert_ne!(a.seed, first);
		assert!(matches!(a.stage, ActivationStage::Challenging { .. }));
		assert_ok!(challenge(2, 4));
		assert_ok!(challenge(3, 4));
		run_to(until(4));
		// Two rounds in the mock: the registration expires, refunded in full.
		System::assert_last_event(Event::ActivationExpired { who: 4, released: 100 }.into());
		assert_eq!(Workers::<Test>::get(4).unwrap().status, WorkerStatus::Removed);
		assert_eq!((held(4), Balances::balance(&4)), (0, 1_000));
		check();
	});
}

#[test]
fn with_nobody_active_the_window_reopens_and_root_bootstraps() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, 100));
		assert_ok!(register(2, 100));
		assert_eq!(Activations::<Test>::get(1).unwrap().needed, 0);
		run_to(30);
		// Still pending, still round 0: no round is used up while nobody can verify.
		let a = Activations::<Test>::get(1).unwrap();
		assert_eq!((a.round, Workers::<Test>::get(1).unwrap().status), (0, WorkerStatus::Pending));
		assert_ok!(Calls::force_activate(RuntimeOrigin::root(), 1));
		// 2's round started with nobody active: 1, active now, cannot challenge it before it
		// reopens (its challenge would be dropped unanswered with the round).
		assert_eq!(Activations::<Test>::get(2).unwrap().needed, 0);
		assert_noop!(challenge(1, 2), Error::<Test>::RoundTakesNoChallenges);
		assert_noop!(Calls::force_reject(RuntimeOrigin::signed(1), 2), DispatchError::BadOrigin);
		assert_ok!(Calls::force_reject(RuntimeOrigin::root(), 2));
		System::assert_last_event(
			Event::ActivationRejected { who: 2, fee: 0, released: 100 }.into(),
		);
		assert_eq!((held(2), Balances::balance(&2)), (0, 1_000));
		assert_noop!(Calls::force_reject(RuntimeOrigin::root(), 1), Error::<Test>::NotPending);
		run_to(60);
		check();
	});
}

#[test]
fn a_squatter_behind_another_tpms_ek_binds_nothing_and_the_owner_gets_its_tpm() {
	new_test_ext().execute_with(|| {
		for w in 1..=3 {
			activate(w);
		}
		// 5 registers TPM 4's public EK certificate behind an AK of its own: it passes every
		// check of submitted bytes, and stays Pending.
		let squat = TestTpm::evidence(4, &5u64.encode());
		assert_ok!(Calls::register(
			RuntimeOrigin::signed(5),
			squat.clone(),
			endpoint("http://x"),
			100
		));
		// The genuine owner still registers.
		assert_ok!(register(4, 100));
		next_block();
		for newcomer in [4, 5] {
			for v in 1..=3 {
				assert_ok!(challenge(v, newcomer));
			}
		}
		run_to(7);
		// Only the TPM holding the EK can answer: the owner.
		assert_ok!(Calls::answer_activation(RuntimeOrigin::signed(4), answers(4)));
		let key = Workers::<Test>::get(4).unwrap().tpm.ek_key_id;
		assert_eq!(TpmOwners::<Test>::get(key), Some(4));
		// Even had the squatter learnt the secrets (all three verifiers colluding), the TPM is
		// taken now.
		assert_noop!(
			Calls::answer_activation(RuntimeOrigin::signed(5), answers(5)),
			Error::<Test>::TpmAlreadyRegistered
		);
		run_to(12);
		System::assert_last_event(
			Event::ActivationRejected { who: 5, fee: 10, released: 90 }.into(),
		);
		// And a new registration of that TPM under another AK (another QN, same EK key) is
		// refused outright.
		let again = TestTpm::evidence(4, &6u64.encode());
		assert_noop!(
			Calls::register(RuntimeOrigin::signed(6), again, endpoint("http://x"), 100),
			Error::<Test>::TpmAlreadyRegistered
		);
		check();
	});
}

#[test]
fn a_lower_draw_evicts_the_highest_when_the_seats_are_full() {
	new_test_ext().execute_with(|| {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		// Twelve active workers for three seats drawn with a target of six: about half win.
		for w in 10..22u64 {
			Balances::set_balance(&w, 1_000);
			assert_ok!(Calls::register(
				RuntimeOrigin::signed(w),
				tpm(w),
				endpoint("http://x"),
				100
			));
			assert_ok!(Calls::force_activate(RuntimeOrigin::root(), w));
		}
		// Find a newcomer whose round has at least four winners.
		let mut found = None;
		for newcomer in 30..60u64 {
			Balances::set_balance(&newcomer, 1_000);
			assert_ok!(Calls::register(
				RuntimeOrigin::signed(newcomer),
				tpm(newcomer),
				endpoint("http://x"),
				100
			));
			next_block();
			let a = Activations::<Test>::get(newcomer).unwrap();
			let mut winners: Vec<(u128, u64)> = (10..22u64)
				.map(|v| (claim(v, newcomer).draw, v))
				.filter(|(d, _)| sortition::wins_activation(*d, a.eligible, 3))
				.collect();
			let losers: Vec<u64> =
				(10..22u64).filter(|v| !winners.iter().any(|(_, w)| w == v)).collect();
			if winners.len() >= 4 && !losers.is_empty() {
				winners.sort();
				found = Some((newcomer, winners, losers));
				break;
			}
		}
		let (newcomer, winners, losers) = found.expect("some newcomer's round has four winners");
		assert_noop!(challenge(losers[0], newcomer), Error::<Test>::LosingDraw);
		// Highest draws first: each lower one that comes once the seats are full evicts.
		for (_, v) in winners.iter().rev() {
			assert_ok!(challenge(*v, newcomer));
		}
		let seated: Vec<u64> = Activations::<Test>::get(newcomer)
			.unwrap()
			.challenges
			.iter()
			.map(|c| c.verifier)
			.collect();
		assert_eq!(seated, winners.iter().take(3).map(|(_, v)| *v).collect::<Vec<_>>());
		System::assert_has_event(
			Event::VerifierEvicted { who: newcomer, verifier: winners[3].1 }.into(),
		);
		// A winner above every seated draw finds no seat.
		assert_noop!(challenge(winners[3].1, newcomer), Error::<Test>::DrawTooHigh);
		check();
	});
}

// Round 0's seed and disputed challenges.

#[test]
fn round_zeros_seed_is_drawn_the_block_after_registration_from_that_blocks_hash() {
	use polkadot_sdk::sp_core::H256;
	new_test_ext().execute_with(|| {
		for w in 1..=3 {
			activate(w);
		}
		// What the newcomer knows when it signs `register`: its block's parent.
		System::set_parent_hash(H256::repeat_byte(0x11));
		assert_ok!(register(4, 100));
		let a = Activations::<Test>::get(4).unwrap();
		assert_eq!(a.stage, ActivationStage::Seeding { until: 2 });
		assert_eq!((a.seed, a.eligible, a.needed), ([0; 32], 0, 0), "nothing drawn yet");
		assert_noop!(challenge(1, 4), Error::<Test>::NotChallenging);
		check();
		// The next block's parent is the registration's own block, not known before it.
		System::set_parent_hash(H256::repeat_byte(0xab));
		next_block();
		let a = Activations::<Test>::get(4).unwrap();
		let key = MockVrfKeys::convert(4);
		assert_eq!(a.seed, sortition::activation_seed(&key, [0xab; 32], 0));
		assert_ne!(a.seed, sortition::activation_seed(&key, [0x11; 32], 0));
		assert_eq!((a.round, a.eligible, a.needed), (0, 3, 3));
		assert_eq!(a.stage, ActivationStage::Challenging { until: 7 });
		System::assert_last_event(
			Event::ActivationRoundStarted {
				who: 4,
				round: 0,
				seed: a.seed,
				eligible: 3,
				needed: 3,
				until: 7,
			}
			.into(),
		);
		assert_ok!(challenge(1, 4));
		check();
	});
}

/// The value verifier `v` makes its challenges of `newcomer` from.
fn reveal(v: u64, newcomer: u64) -> [u8; 32] {
	polkadot_sdk::sp_crypto_hashing::blake2_256(&(b"reveal", v, newcomer).encode())
}

/// Gives `who` a real TPM's EK and AK (the swtpm fixtures) so that the chain can remake
/// credentials for it: the double's are placeholders.
fn real_keys(who: u64) {
	use vouch_primitives::tpm::fixtures::{AK_PUBLIC, EK_PUBLIC};
	Workers::<Test>::mutate(who, |w| {
		let w = w.as_mut().unwrap();
		w.tpm.ek_public = EK_PUBLIC.to_vec().try_into().unwrap();
		w.tpm.ak_public = AK_PUBLIC.to_vec().try_into().unwrap();
	});
}

/// `v` challenges `newcomer` with a credential made from [`reveal`] for the newcomer's EK and
/// its AK's name, or (`sound` false) the EK's own name, which no TPM activates.
fn challenge_made(v: u64, newcomer: u64, sound: bool) {
	use vouch_primitives::tpm::{credential, public::Public};
	let worker = Workers::<Test>::get(newcomer).unwrap();
	let ek = Public::from_tpm2b(&worker.tpm.ek_public).unwrap();
	let ak = Public::from_tpm2b(&worker.tpm.ak_public).unwrap();
	let name = if sound { ak.name() } else { ek.name() };
	let made = credential::make_credential(&ek, &name, &reveal(v, newcomer)).unwrap();
	let c = claim(v, newcomer);
	assert_ok!(Calls::challenge_worker(
		RuntimeOrigin::signed(v),
		newcomer,
		Activations::<Test>::get(newcomer).unwrap().round,
		c.pre_output,
		c.proof,
		blob(&made.credential_blob),
		blob(&made.encrypted_secret),
		credential::commitment(&credential::derive(&reveal(v, newcomer)).secret),
	));
}

/// Newcomer 4 (a real TPM's keys) challenged by 1-3, `bogus` of them unsound, its answer
/// window open; returns the index of `verifier`'s challenge.
fn disputable(bogus: &[u64], verifier: u64) -> u32 {
	three_verifiers_and_a_newcomer();
	real_keys(4);
	for v in 1..=3 {
		challenge_made(v, 4, !bogus.contains(&v));
	}
	run_to(7);
	let a = Activations::<Test>::get(4).unwrap();
	assert!(matches!(a.stage, ActivationStage::Answering { .. }));
	// The disputed verifier has earned some credit, which a penalty then shows.
	for _ in 0..3 {
		Ledger::reward_duty(&verifier);
	}
	assert!(Ledger::credit_of(&verifier) > 0);
	a.challenges.iter().position(|c| c.verifier == verifier).unwrap() as u32
}

#[test]
fn a_sound_challenge_disputed_remakes_and_the_disputing_newcomer_is_rejected() {
	new_test_ext().execute_with(|| {
		let index = disputable(&[], 2);
		assert_noop!(
			Calls::dispute_challenge(RuntimeOrigin::signed(4), 3),
			Error::<Test>::NoSuchChallenge
		);
		assert_noop!(
			Calls::dispute_challenge(RuntimeOrigin::signed(5), 0),
			Error::<Test>::NoActivation
		);
		assert_noop!(
			Calls::reveal_challenge(RuntimeOrigin::signed(2), 4, reveal(2, 4)),
			Error::<Test>::NotDisputed
		);
		assert_ok!(Calls::dispute_challenge(RuntimeOrigin::signed(4), index));
		System::assert_last_event(
			Event::ChallengeDisputed { who: 4, verifier: 2, round: 0, until: 12 }.into(),
		);
		// One dispute a round; no answer while it is open.
		assert_noop!(
			Calls::dispute_challenge(RuntimeOrigin::signed(4), index),
			Error::<Test>::NotAnswering
		);
		assert_noop!(
			Calls::answer_activation(RuntimeOrigin::signed(4), answers_of_nobody()),
			Error::<Test>::NotAnswering
		);
		// Only the disputed challenge's verifier reveals.
		assert_noop!(
			Calls::reveal_challenge(RuntimeOrigin::signed(1), 4, reveal(1, 4)),
			Error::<Test>::NotDisputedVerifier
		);
		check();
		let issuance = Balances::total_issuance();
		assert_ok!(Calls::reveal_challenge(RuntimeOrigin::signed(2), 4, reveal(2, 4)));
		System::assert_has_event(Event::ChallengeUpheld { who: 4, verifier: 2 }.into());
		System::assert_last_event(
			Event::ActivationRejected { who: 4, fee: 10, released: 90 }.into(),
		);
		assert_eq!(Workers::<Test>::get(4).unwrap().status, WorkerStatus::Removed);
		assert_eq!(Balances::total_issuance(), issuance - 10);
		assert_eq!(held(2), 100, "the honest verifier keeps its bond");
		assert!(Activations::<Test>::get(4).is_none());
		run_to(20);
		check();
	});
}

#[test]
fn a_bogus_challenge_costs_its_verifier_and_the_newcomer_a_new_round_at_no_fee() {
	new_test_ext().execute_with(|| {
		let index = disputable(&[1], 1);
		assert_ok!(Calls::dispute_challenge(RuntimeOrigin::signed(4), index));
		let seed = Activations::<Test>::get(4).unwrap().seed;
		// (The mock keeps one parent hash; a chain's next block has another.)
		System::set_parent_hash(polkadot_sdk::sp_core::H256::repeat_byte(0x22));
		// Its reveal opens its commitment, but remakes the credential for the AK's name, not
		// the one it posted.
		let issuance = Balances::total_issuance();
		assert_ok!(Calls::reveal_challenge(RuntimeOrigin::signed(1), 4, reveal(1, 4)));
		System::assert_has_event(Event::Slashed { who: 1, amount: 10, rewarded: 0 }.into());
		System::assert_has_event(
			Event::ChallengeRefuted { who: 4, verifier: 1, penalty: 10, revealed: true }.into(),
		);
		assert_eq!(Balances::total_issuance(), issuance - 10);
		assert_eq!((held(1), Ledger::credit_of(&1)), (90, 0), "slashed and its credit reset");
		assert_eq!(Workers::<Test>::get(1).unwrap().status, WorkerStatus::Underbonded);
		// The newcomer: still pending, deposit whole, the same round drawn again on a new
		// seed (not counted against its rounds), among the workers still active.
		assert_eq!(
			(Workers::<Test>::get(4).unwrap().status, held(4)),
			(WorkerStatus::Pending, 100)
		);
		let a = Activations::<Test>::get(4).unwrap();
		assert_eq!((a.round, a.eligible, a.needed, a.challenges.len()), (0, 2, 2, 0));
		assert_ne!(a.seed, seed);
		assert!(matches!(a.stage, ActivationStage::Challenging { .. }));
		assert!(System::events()
			.iter()
			.all(|r| !matches!(r.event, RuntimeEvent::Registry(Event::ActivationRejected { .. }))));
		// It activates with the honest verifiers.
		for v in 2..=3 {
			assert_ok!(challenge(v, 4));
		}
		run_to(until(4));
		assert_ok!(Calls::answer_activation(RuntimeOrigin::signed(4), answers(4)));
		assert!(Calls::is_active(&4));
		assert_eq!(held(4), 100);
		check();
	});
}

#[test]
fn a_verifier_silent_on_its_disputed_challenge_pays_and_the_newcomer_gets_a_new_round() {
	new_test_ext().execute_with(|| {
		let index = disputable(&[3], 3);
		let credit = Ledger::credit_of(&3);
		assert_ok!(Calls::dispute_challenge(RuntimeOrigin::signed(4), index));
		run_to(12);
		System::assert_has_event(
			Event::ChallengeRefuted { who: 4, verifier: 3, penalty: 10, revealed: false }.into(),
		);
		assert_eq!(held(3), 90);
		assert!(Ledger::credit_of(&3) < credit, "a missed duty's credit");
		let a = Activations::<Test>::get(4).unwrap();
		assert_eq!((a.round, held(4)), (0, 100));
		assert!(matches!(a.stage, ActivationStage::Challenging { .. }));
		// Too late to reveal now.
		assert_noop!(
			Calls::reveal_challenge(RuntimeOrigin::signed(3), 4, reveal(3, 4)),
			Error::<Test>::NotDisputed
		);
		check();
	});
}
