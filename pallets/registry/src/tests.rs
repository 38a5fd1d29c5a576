//! Workers register, get verified, earn credit, leave and withdraw; the eligible counts follow.

use crate::{
	mock::*, ActiveByBucket, Endpoint, Error, Event, HoldReason, TpmMaterial, WorkerRegistry,
	WorkerStatus, Workers,
};
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

fn tpm() -> TpmMaterial {
	TpmMaterial {
		ek_cert: vec![0x30, 0x82, 1, 2].try_into().unwrap(),
		ak_public: vec![0, 0x23, 9].try_into().unwrap(),
		sealing_key: vec![0, 0x23, 7].try_into().unwrap(),
	}
}

fn endpoint(url: &str) -> Endpoint {
	url.as_bytes().to_vec().try_into().unwrap()
}

fn register(who: u64, deposit: u128) -> polkadot_sdk::frame_support::dispatch::DispatchResult {
	Calls::register(RuntimeOrigin::signed(who), tpm(), endpoint("http://10.0.0.1:8700"), deposit)
}

fn activate(who: u64) {
	assert_ok!(register(who, 100));
	assert_ok!(Calls::approve(RuntimeOrigin::root(), who));
}

fn held(who: u64) -> u128 {
	Balances::balance_on_hold(&RuntimeHoldReason::Registry(HoldReason::WorkerBond), &who)
}

fn check() {
	Calls::do_try_state().expect("registry invariants hold");
}

#[test]
fn a_worker_registers_with_its_tpm_and_bonds_its_deposit() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, 300));
		assert_eq!(held(1), 300);
		assert_eq!(Balances::balance(&1), 700);
		let worker = Workers::<Test>::get(1).unwrap();
		assert_eq!(worker.status, WorkerStatus::Pending);
		assert_eq!(worker.tpm, tpm());
		System::assert_last_event(Event::Registered { who: 1, deposit: 300 }.into());
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
				Calls::register(RuntimeOrigin::signed(1), tpm(), endpoint(bad), 100),
				Error::<Test>::MalformedEndpoint
			);
		}
		let mut no_ek = tpm();
		no_ek.ek_cert = Default::default();
		assert_noop!(
			Calls::register(RuntimeOrigin::signed(1), no_ek, endpoint("https://w.example"), 100),
			Error::<Test>::EmptyTpmMaterial
		);
		assert_ok!(register(1, 100));
		assert_noop!(register(1, 100), Error::<Test>::AlreadyRegistered);
	});
}

#[test]
fn only_root_approves_and_only_pending_workers() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(1, 100));
		assert_noop!(Calls::approve(RuntimeOrigin::signed(1), 1), DispatchError::BadOrigin);
		assert_noop!(Calls::approve(RuntimeOrigin::root(), 2), Error::<Test>::NotRegistered);
		assert_ok!(Calls::approve(RuntimeOrigin::root(), 1));
		System::assert_last_event(Event::Activated { who: 1 }.into());
		assert!(Calls::is_active(&1));
		assert_noop!(Calls::approve(RuntimeOrigin::root(), 1), Error::<Test>::NotPending);
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
		activate(1);
		let issuance = Balances::total_issuance();
		assert_eq!(Calls::slash(&1, 30), 30);
		System::assert_last_event(Event::Slashed { who: 1, amount: 30 }.into());
		assert_eq!(held(1), 70);
		assert_eq!(Balances::total_issuance(), issuance - 30);
		assert_ok!(Calls::deregister(RuntimeOrigin::signed(1)));
		// More than is left: only what is held goes.
		assert_eq!(Calls::slash(&1, 500), 70);
		assert_eq!(Workers::<Test>::get(1).unwrap().deposit, 0);
		assert_eq!(Calls::slash(&9, 10), 0, "nobody to slash");
		check();
	});
}

#[derive(Clone, Debug)]
enum Op {
	Register(u64),
	Approve(u64),
	Deregister(u64),
	Withdraw(u64),
	Duty(u64),
	Lie(u64),
	Slash(u64, u128),
	Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
	let who = 1u64..=6;
	prop_oneof![
		1 => who.clone().prop_map(Op::Register),
		1 => who.clone().prop_map(Op::Approve),
		1 => who.clone().prop_map(Op::Deregister),
		1 => who.clone().prop_map(Op::Withdraw),
		3 => who.clone().prop_map(Op::Duty),
		1 => who.clone().prop_map(Op::Lie),
		1 => (who, 0u128..200).prop_map(|(w, a)| Op::Slash(w, a)),
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
					Op::Approve(w) => { let _ = Calls::approve(RuntimeOrigin::root(), w); },
					Op::Deregister(w) => { let _ = Calls::deregister(RuntimeOrigin::signed(w)); },
					Op::Withdraw(w) => { let _ = Calls::withdraw(RuntimeOrigin::signed(w)); },
					Op::Duty(w) => { Ledger::reward_duty(&w); },
					Op::Lie(w) => { Ledger::reset_for_lie(&w); },
					Op::Slash(w, a) => burnt += Calls::slash(&w, a),
					Op::Advance(n) => System::set_block_number(System::block_number() + n),
				}
				Calls::do_try_state().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
				let active = Workers::<Test>::iter().filter(|(_, w)| w.status == WorkerStatus::Active).count();
				prop_assert_eq!(Calls::eligible_count(0) as usize, active);
			}
			prop_assert_eq!(Balances::total_issuance() + burnt, issuance);
			Ok(())
		})?;
	}
}
