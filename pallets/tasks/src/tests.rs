//! Alice posts tasks; committees form (by the dev placeholder) or fail to; every exit refunds
//! the escrow exactly once.

use crate::{
	mock::*, Deadlines, Error, Event, HoldReason, Input, PhaseDeadlines, Recipient, Requirements,
	TaskStatus, Tasks,
};
use pallet_vouch_credit::CreditLedger;
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold},
		BoundedVec,
	},
	sp_runtime::DispatchResult,
};
use proptest::prelude::*;

type Calls = crate::Pallet<Test>;

fn escrow(who: u64) -> u128 {
	Balances::balance_on_hold(&RuntimeHoldReason::Tasks(HoldReason::TaskEscrow), &who)
}

fn requirements(committee_size: u32, min_credit: u32) -> Requirements {
	Requirements {
		min_credit,
		committee_size,
		max_rounds: 2,
		deadlines: PhaseDeadlines {
			sortition: 5,
			attestation: 4,
			key_release: 4,
			run: 10,
			verdicts: 4,
		},
		network_none: true,
		wipe: true,
	}
}

fn inputs(
	owners: &[u64],
) -> BoundedVec<Input<u64>, polkadot_sdk::frame_support::traits::ConstU32<8>> {
	owners
		.iter()
		.map(|o| Input { cid: b"bafyinput".to_vec().try_into().unwrap(), owner: *o })
		.collect::<Vec<_>>()
		.try_into()
		.unwrap()
}

fn recipients(
	who: &[u64],
) -> BoundedVec<Recipient<u64>, polkadot_sdk::frame_support::traits::ConstU32<8>> {
	who.iter()
		.map(|w| Recipient { who: *w, x25519: [*w as u8; 32] })
		.collect::<Vec<_>>()
		.try_into()
		.unwrap()
}

fn post(who: u64, r: Requirements, payment: u128) -> DispatchResult {
	Calls::post_task(RuntimeOrigin::signed(who), 0, inputs(&[who]), recipients(&[who]), r, payment)
}

fn claim(worker: u64, task: u64) -> DispatchResult {
	Calls::dev_claim_seat(RuntimeOrigin::signed(worker), task)
}

fn check() {
	Calls::do_try_state().expect("tasks invariants hold");
}

#[test]
fn alice_posts_a_task_and_its_payment_is_held_in_escrow() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		// Two parties' inputs, both receive the result: the set-intersection story.
		assert_ok!(Calls::post_task(
			RuntimeOrigin::signed(ALICE),
			0,
			inputs(&[ALICE, CHARLIE]),
			recipients(&[ALICE, CHARLIE]),
			requirements(10, 0),
			10 * UNIT
		));
		assert_eq!(escrow(ALICE), 10 * UNIT);
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT - 10 * UNIT);
		assert_eq!(Balances::total_issuance(), issuance, "escrow moves nothing out of issuance");
		let task = Tasks::<Test>::get(0).unwrap();
		assert_eq!(task.price, 3 * UNIT, "the lambda's price is fixed at posting");
		assert_eq!(task.status, TaskStatus::Sortition { round: 0, until: 6 });
		assert_eq!(task.inputs[1].owner, CHARLIE);
		assert_eq!(Deadlines::<Test>::get(6).into_inner(), vec![0]);
		System::assert_last_event(
			Event::TaskPosted {
				task: 0,
				requester: ALICE,
				lambda: 0,
				payment: 10 * UNIT,
				seed: task.seed,
			}
			.into(),
		);
		// Bob repricing later does not change this task.
		assert_ok!(Lambdas::reprice(RuntimeOrigin::signed(BOB), 0, 5 * UNIT));
		assert_eq!(Tasks::<Test>::get(0).unwrap().price, 3 * UNIT);
		check();
	});
}

#[test]
fn bad_posts_are_refused_with_their_own_error_and_hold_nothing() {
	new_test_ext().execute_with(|| {
		let ok = requirements(3, 0);
		let with = |f: fn(&mut Requirements)| {
			let mut r = ok;
			f(&mut r);
			r
		};
		assert_noop!(
			Calls::post_task(
				RuntimeOrigin::signed(ALICE),
				9,
				inputs(&[ALICE]),
				recipients(&[ALICE]),
				ok,
				10 * UNIT
			),
			pallet_vouch_lambdas::Error::<Test>::UnknownLambda
		);
		assert_noop!(post(ALICE, ok, 0), Error::<Test>::ZeroPayment);
		// Price 3 plus a 10% burn of 3.3 is 3.33 > 3.3.
		assert_noop!(
			post(ALICE, ok, 3 * UNIT + 3 * UNIT / 10),
			Error::<Test>::PaymentBelowPriceAndBurn
		);
		assert_noop!(post(ALICE, ok, 2_000 * UNIT), Error::<Test>::InsufficientBalance);
		assert_noop!(
			post(ALICE, with(|r| r.committee_size = 0), 10 * UNIT),
			Error::<Test>::CommitteeSizeOutOfRange
		);
		assert_noop!(
			post(ALICE, with(|r| r.committee_size = 11), 10 * UNIT),
			Error::<Test>::CommitteeSizeOutOfRange
		);
		assert_noop!(
			post(ALICE, with(|r| r.max_rounds = 0), 10 * UNIT),
			Error::<Test>::RoundsOutOfRange
		);
		assert_noop!(
			post(ALICE, with(|r| r.max_rounds = 4), 10 * UNIT),
			Error::<Test>::RoundsOutOfRange
		);
		assert_noop!(
			post(ALICE, with(|r| r.deadlines.run = 1), 10 * UNIT),
			Error::<Test>::DeadlineTooShort
		);
		assert_noop!(
			post(ALICE, with(|r| r.deadlines.verdicts = 1001), 10 * UNIT),
			Error::<Test>::DeadlineTooLong
		);
		assert_noop!(
			post(ALICE, with(|r| r.min_credit = 15), 10 * UNIT),
			Error::<Test>::MinCreditNotOnBucketBoundary
		);
		assert_noop!(
			Calls::post_task(
				RuntimeOrigin::signed(ALICE),
				0,
				inputs(&[]),
				recipients(&[ALICE]),
				ok,
				10 * UNIT
			),
			Error::<Test>::NoInputs
		);
		assert_noop!(
			Calls::post_task(
				RuntimeOrigin::signed(ALICE),
				0,
				inputs(&[ALICE]),
				recipients(&[]),
				ok,
				10 * UNIT
			),
			Error::<Test>::NoRecipients
		);
		let mut bad_cid = inputs(&[ALICE]);
		bad_cid[0].cid = b"bafy input".to_vec().try_into().unwrap();
		assert_noop!(
			Calls::post_task(
				RuntimeOrigin::signed(ALICE),
				0,
				bad_cid,
				recipients(&[ALICE]),
				ok,
				10 * UNIT
			),
			Error::<Test>::MalformedCid
		);
		assert_ok!(Lambdas::retire(RuntimeOrigin::signed(BOB), 0));
		assert_noop!(post(ALICE, ok, 10 * UNIT), pallet_vouch_lambdas::Error::<Test>::Retired);
		assert_eq!(escrow(ALICE), 0);
	});
}

#[test]
fn a_full_committee_elects_the_member_with_the_highest_credit() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(3, 20), 10 * UNIT));
		assert_noop!(claim(ALICE, 0), Error::<Test>::NotActiveWorker);
		assert_noop!(claim(11, 0), Error::<Test>::CreditTooLow);
		assert_noop!(claim(12, 7), Error::<Test>::UnknownTask);
		assert_ok!(claim(12, 0));
		System::assert_last_event(Event::SeatTaken { task: 0, who: 12, round: 0 }.into());
		assert_noop!(claim(12, 0), Error::<Test>::AlreadySeated);
		assert_ok!(claim(19, 0));
		assert_ok!(claim(15, 0));
		System::assert_last_event(
			Event::CommitteeElected { task: 0, round: 0, executor: 19, monitors: 2 }.into(),
		);
		let task = Tasks::<Test>::get(0).unwrap();
		assert_eq!(task.status, TaskStatus::Elected { round: 0, executor: 19, until: 5 });
		assert_eq!(task.committee.into_inner(), vec![12, 19, 15]);
		// Seats are closed once the committee is elected.
		assert_noop!(claim(16, 0), Error::<Test>::WrongState);
		assert_eq!(escrow(ALICE), 10 * UNIT, "the payment stays in escrow");
		check();
	});
}

#[test]
fn equal_credit_goes_to_the_earliest_seat() {
	new_test_ext().execute_with(|| {
		Credit::reset_for_lie(&13);
		Credit::reset_for_lie(&14);
		assert_ok!(post(ALICE, requirements(2, 0), 10 * UNIT));
		assert_ok!(claim(14, 0));
		assert_ok!(claim(13, 0));
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Elected { executor: 14, .. }
		));
	});
}

#[test]
fn the_requester_may_cancel_until_the_committee_is_elected() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(2, 0), 10 * UNIT));
		assert_ok!(post(ALICE, requirements(2, 0), 7 * UNIT));
		assert_noop!(
			Calls::cancel_task(RuntimeOrigin::signed(BOB), 0),
			Error::<Test>::NotRequester
		);
		assert_ok!(claim(15, 0));
		assert_ok!(Calls::cancel_task(RuntimeOrigin::signed(ALICE), 0));
		System::assert_last_event(Event::TaskCancelled { task: 0, refunded: 10 * UNIT }.into());
		assert_eq!(escrow(ALICE), 7 * UNIT);
		assert_noop!(
			Calls::cancel_task(RuntimeOrigin::signed(ALICE), 0),
			Error::<Test>::WrongState
		);

		assert_ok!(claim(15, 1));
		assert_ok!(claim(16, 1));
		assert_noop!(
			Calls::cancel_task(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::WrongState
		);
		// The cancelled task's stale deadline passes harmlessly.
		run_to(8);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Cancelled);
		check();
	});
}

#[test]
fn without_a_committee_the_task_retries_then_expires_and_refunds_in_full() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(3, 0), 10 * UNIT));
		let seed0 = Tasks::<Test>::get(0).unwrap().seed;
		assert_ok!(claim(10, 0));
		run_to(6);
		// Round 1: a fresh committee and a fresh seed.
		let task = Tasks::<Test>::get(0).unwrap();
		assert_eq!(task.status, TaskStatus::Sortition { round: 1, until: 11 });
		assert!(task.committee.is_empty());
		assert_ne!(task.seed, seed0);
		System::assert_last_event(
			Event::RoundStarted { task: 0, round: 1, seed: task.seed }.into(),
		);
		check();

		run_to(11);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Expired);
		System::assert_last_event(Event::TaskExpired { task: 0, refunded: 10 * UNIT }.into());
		assert_eq!((escrow(ALICE), Balances::balance(&ALICE)), (0, ENDOWMENT));
		check();
	});
}

#[test]
fn an_executor_that_misses_its_attestation_loses_credit_and_a_new_committee_is_drawn() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(2, 0), 10 * UNIT));
		assert_ok!(claim(18, 0));
		assert_ok!(claim(12, 0));
		run_to(5);
		System::assert_has_event(Event::ExecutorMissedAttestation { task: 0, executor: 18 }.into());
		assert_eq!(Credit::credit_of(&18), 80 - 5);
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));

		// The last round's executor misses too: the task is faulted and refunded in full.
		assert_ok!(claim(17, 0));
		assert_ok!(claim(11, 0));
		run_to(20);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Faulted);
		System::assert_last_event(Event::TaskFaulted { task: 0, refunded: 10 * UNIT }.into());
		assert_eq!(Credit::credit_of(&17), 70 - 5);
		assert_eq!((escrow(ALICE), Balances::balance(&ALICE)), (0, ENDOWMENT));
		check();
	});
}

#[test]
fn a_block_takes_a_bounded_number_of_deadlines() {
	new_test_ext().execute_with(|| {
		for _ in 0..4 {
			assert_ok!(post(ALICE, requirements(2, 0), UNIT * 4));
		}
		assert_noop!(post(ALICE, requirements(2, 0), UNIT * 4), Error::<Test>::DeadlineBlockFull);
		// Another sortition length lands in another block.
		let mut r = requirements(2, 0);
		r.deadlines.sortition = 6;
		assert_ok!(post(ALICE, r, UNIT * 4));
		check();
	});
}

#[derive(Clone, Debug)]
enum Op {
	Post { who: u64, size: u32, payment: u128 },
	Claim { worker: u64, task: u64 },
	Cancel { who: u64, task: u64 },
	Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
	prop_oneof![
		2 => (1u64..=3, 1u32..=3, 0u128..20).prop_map(|(who, size, p)| Op::Post {
			who,
			size,
			payment: p * UNIT / 2
		}),
		4 => (WORKERS, 0u64..6).prop_map(|(worker, task)| Op::Claim { worker, task }),
		1 => (1u64..=3, 0u64..6).prop_map(|(who, task)| Op::Cancel { who, task }),
		2 => (1u64..4).prop_map(Op::Advance),
	]
}

proptest! {
	/// Random posts, seats, cancels and block advances: escrow always equals the open tasks'
	/// payments, every open task has a queued future deadline, nothing is minted or burnt, and
	/// once every deadline has passed every payment is back with its requester.
	#[test]
	fn escrow_is_conserved_and_every_task_ends(ops in prop::collection::vec(op(), 1..60)) {
		new_test_ext().execute_with(|| {
			let issuance = Balances::total_issuance();
			for op in ops {
				let _ = match op {
					Op::Post { who, size, payment } => post(who, requirements(size, 0), payment),
					Op::Claim { worker, task } => claim(worker, task),
					Op::Cancel { who, task } => Calls::cancel_task(RuntimeOrigin::signed(who), task),
					Op::Advance(n) => { run_to(System::block_number() + n); Ok(()) },
				};
				Calls::do_try_state().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
				prop_assert_eq!(Balances::total_issuance(), issuance);
			}
			// No attestation ever comes in this version: after every deadline, all have ended.
			run_to(System::block_number() + 100);
			for (_, task) in Tasks::<Test>::iter() {
				prop_assert!(task.status.is_final(), "{:?}", task.status);
			}
			for who in 1u64..=3 {
				prop_assert_eq!(escrow(who), 0);
				prop_assert_eq!(Balances::balance(&who), ENDOWMENT);
			}
			Ok(())
		})?;
	}
}
