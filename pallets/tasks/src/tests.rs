//! Alice posts tasks; committees form by VRF sortition (real sr25519 keys and proofs) or fail
//! to; every exit refunds the escrow exactly once.

use crate::{
	keys_commitment, mock::*, Attestations, ChallengeQuote, Deadlines, Error, Event, HoldReason,
	Input, LieEvidence, Measurements, Phase, PhaseDeadlines, Quote, Recipient, ReleasedKeys,
	Requirements, ResultKeys, Results, SealedKey, TaskResult, TaskStatus, Tasks,
};
use pallet_vouch_credit::CreditLedger;
use pallet_vouch_registry::{test_tpm::TestTpm, WorkerRegistry};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold},
		BoundedVec,
	},
	sp_runtime::DispatchResult,
};
use proptest::prelude::*;
use vouch_primitives::sortition::{self, recheck, Draw};
use vouch_primitives::tpm::{
	attest::ClockInfo,
	nonce::{challenge_nonce, quote_nonce},
};

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

/// Posts `who`'s task on lambda 0 and, if it was accepted, runs to the next block, where its
/// round 0 starts.
fn post(who: u64, r: Requirements, payment: u128) -> DispatchResult {
	Calls::post_task(
		RuntimeOrigin::signed(who),
		0,
		inputs(&[who]),
		recipients(&[who]),
		r,
		payment,
	)?;
	let task = crate::NextTaskId::<Test>::get() - 1;
	start_round_0(task);
	Ok(())
}

/// `worker`'s claim on `task`'s current round and seed as they are now.
fn claim_now(worker: u64, task: u64) -> DispatchResult {
	let t = Tasks::<Test>::get(task).unwrap();
	let c = sortition::sign(&pair_of(worker), task, &t.seed, t.round);
	plain(Calls::claim_seat(
		RuntimeOrigin::signed(worker),
		task,
		t.round,
		t.seed,
		c.pre_output,
		c.proof,
	))
}

/// A call's outcome without its post-dispatch information.
fn plain(r: polkadot_sdk::frame_support::dispatch::DispatchResultWithPostInfo) -> DispatchResult {
	r.map(|_| ()).map_err(|e| e.error)
}

/// Runs to the block that starts round 0 of `task`, if it is only posted.
fn start_round_0(task: u64) {
	if let Some(TaskStatus::Posted { until }) = Tasks::<Test>::get(task).map(|t| t.status) {
		run_to(until);
	}
}

/// `worker`'s claim on `task`'s current round, signed with its real VRF key (round 0 is
/// started first if the task is only posted).
fn claim(worker: u64, task: u64) -> DispatchResult {
	start_round_0(task);
	let (round, seed) = Tasks::<Test>::get(task).map_or((0, [0; 32]), |t| (t.round, t.seed));
	let c = sortition::sign(&pair_of(worker), task, &seed, round);
	plain(Calls::claim_seat(
		RuntimeOrigin::signed(worker),
		task,
		round,
		seed,
		c.pre_output,
		c.proof,
	))
}

/// `worker`'s draw on `task`'s current round.
fn draw_of(worker: u64, task: u64) -> Draw {
	start_round_0(task);
	let t = Tasks::<Test>::get(task).unwrap();
	sortition::draw(&pair_of(worker), task, &t.seed, t.round)
}

/// Seats `workers` (who must all win) and closes the claim window: the committee is elected.
/// Then one more block, after which the executor can quote.
fn elect(task: u64, workers: &[u64]) {
	for w in workers {
		assert_ok!(claim(*w, task));
	}
	run_to(Tasks::<Test>::get(task).unwrap().status.deadline().unwrap());
	assert!(matches!(Tasks::<Test>::get(task).unwrap().status, TaskStatus::Elected { .. }));
	run_to(System::block_number() + 1);
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
		assert_eq!(task.inputs[1].owner, CHARLIE);
		System::assert_last_event(
			Event::TaskPosted { task: 0, requester: ALICE, lambda: 0, payment: 10 * UNIT }.into(),
		);
		// The sandbox the executor must quote: the lambda's limits with Alice's no-network.
		let limits = pallet_vouch_lambdas::Lambdas::<Test>::get(0).unwrap().manifest.limits();
		assert_eq!(
			task.sandbox_policy_hash,
			vouch_primitives::sandbox::SandboxPolicy::for_task(&limits, true).hash()
		);
		// Round 0 starts next block, seeded by the hash of the block Alice posted in: a seed
		// she could not know when she posted.
		assert_eq!(task.status, TaskStatus::Posted { until: 2 });
		assert_noop!(claim_now(12, 0), Error::<Test>::RoundNotStarted);
		run_to(2);
		let task = Tasks::<Test>::get(0).unwrap();
		let seed = sortition::seed(0, block_hash(1).0, 0);
		assert_eq!(task.seed, seed);
		System::assert_last_event(Event::RoundStarted { task: 0, round: 0, seed }.into());
		assert_eq!(task.status, TaskStatus::Sortition { round: 0, until: 7 });
		assert_eq!((task.round, task.eligible), (0, 10), "round 0 among ten eligible workers");
		assert_eq!(Deadlines::<Test>::iter_key_prefix(7).collect::<Vec<_>>(), vec![0]);
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
		assert_noop!(post(ALICE, ok, UNIT - 1), Error::<Test>::PaymentBelowMinimum);
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
		// Each phase has its own minimum (the mock's attestation needs 3 blocks), so that no
		// requester can set a deadline an executor following finalized blocks cannot meet.
		assert_noop!(
			post(ALICE, with(|r| r.deadlines.attestation = 2), 10 * UNIT),
			Error::<Test>::DeadlineTooShort
		);
		// The lambda may run 60 s, 5 of the mock's 12 s blocks, and the run needs 5 more.
		assert_eq!(Calls::min_run_blocks(60), 10);
		assert_eq!(Calls::min_run_blocks(61), 11, "a started block counts whole");
		assert_noop!(
			post(ALICE, with(|r| r.deadlines.run = 9), 10 * UNIT),
			Error::<Test>::RunShorterThanTimeLimit
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
		// A recipient no result can be sealed to: refused now, not after the job ran.
		for small in [[0; 32], vouch_primitives::SMALL_ORDER_X25519[2]] {
			let mut unusable = recipients(&[ALICE, CHARLIE]);
			unusable[1].x25519 = small;
			assert_noop!(
				Calls::post_task(
					RuntimeOrigin::signed(ALICE),
					0,
					inputs(&[ALICE]),
					unusable,
					ok,
					10 * UNIT
				),
				Error::<Test>::RecipientKeyUnusable
			);
		}
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
fn verified_claims_take_seats_and_the_window_close_elects_the_highest_credit() {
	new_test_ext().execute_with(|| {
		// Minimum credit 60: workers 16..=19 are eligible; a target of 4 covers them all.
		assert_ok!(post(ALICE, requirements(4, 60), 10 * UNIT));
		assert_eq!(Tasks::<Test>::get(0).unwrap().eligible, 4);
		assert_noop!(claim(ALICE, 0), Error::<Test>::NotActiveWorker);
		assert_noop!(claim(15, 0), Error::<Test>::CreditTooLow);
		assert_noop!(claim(16, 7), Error::<Test>::UnknownTask);
		assert_ok!(claim(16, 0));
		System::assert_last_event(
			Event::SeatTaken { task: 0, who: 16, round: 0, draw: draw_of(16, 0) }.into(),
		);
		assert_noop!(claim(16, 0), Error::<Test>::AlreadySeated);
		assert_ok!(claim(19, 0));
		assert_ok!(claim(17, 0));
		// Claims stay open until the window closes, whoever has claimed.
		run_to(6);
		assert!(matches!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Sortition { .. }));
		run_to(7);
		System::assert_has_event(
			Event::CommitteeElected {
				task: 0,
				round: 0,
				executor: 19,
				executor_draw: draw_of(19, 0),
				monitors: vec![(16, draw_of(16, 0)), (17, draw_of(17, 0))],
			}
			.into(),
		);
		let task = Tasks::<Test>::get(0).unwrap();
		assert_eq!(
			task.status,
			TaskStatus::Elected { round: 0, executor: 19, since: 7, until: 11 }
		);
		assert_eq!(task.committee.iter().map(|s| s.who).collect::<Vec<_>>(), vec![16, 19, 17]);
		assert_noop!(claim(18, 0), Error::<Test>::SortitionClosed);
		assert_eq!(escrow(ALICE), 10 * UNIT, "the payment stays in escrow");
		// Anyone re-checks the committee from the chain's record alone.
		let record = Calls::sortition_record(0).unwrap();
		assert_eq!(record.executor, Some(19));
		assert_eq!(recheck(&record), Ok(Some(1)));
		check();
	});
}

#[test]
fn a_bad_claim_gets_its_own_error() {
	new_test_ext().execute_with(|| {
		// Target 1 among 10 eligible workers: each wins with probability 1/10.
		assert_ok!(post(ALICE, requirements(1, 0), 10 * UNIT));
		assert_ok!(post(ALICE, requirements(1, 0), 10 * UNIT));
		let t = Tasks::<Test>::get(0).unwrap();
		let signed = |w: u64| sortition::sign(&pair_of(w), 0, &t.seed, 0);
		let submit = |w: u64, round: u32, seed: [u8; 32], c: sortition::Claim| {
			Calls::claim_seat(RuntimeOrigin::signed(w), 0, round, seed, c.pre_output, c.proof)
		};
		let c = signed(12);
		assert_noop!(submit(12, 1, t.seed, c), Error::<Test>::WrongRound);
		assert_noop!(submit(12, 0, [7; 32], c), Error::<Test>::WrongSeed);
		// Another worker's claim, a claim on another task, a forged proof, garbage.
		assert_noop!(submit(13, 0, t.seed, c), Error::<Test>::BadVrfProof);
		let other_task = Tasks::<Test>::get(1).unwrap();
		let c1 = sortition::sign(&pair_of(12), 1, &other_task.seed, 0);
		assert_noop!(submit(12, 0, t.seed, c1), Error::<Test>::BadVrfProof);
		let mut forged = c;
		forged.proof[5] ^= 0x10;
		assert_noop!(submit(12, 0, t.seed, forged), Error::<Test>::BadVrfProof);
		let garbage = sortition::Claim { pre_output: [0xff; 32], proof: [1; 64], draw: 0 };
		assert_noop!(submit(12, 0, t.seed, garbage), Error::<Test>::BadVrfProof);
		// A valid proof whose draw is not below the threshold.
		let threshold = sortition::threshold(10, 1).unwrap();
		let loser =
			WORKERS.clone().find(|w| draw_of(*w, 0) >= threshold).expect("nine in ten lose");
		assert_noop!(claim(loser, 0), Error::<Test>::LosingDraw);
		assert_eq!(Tasks::<Test>::get(0).unwrap().committee.len(), 0);
		check();
	});
}

#[test]
fn equal_credit_goes_to_the_lowest_draw() {
	new_test_ext().execute_with(|| {
		// 16 earns one duty's credit: it ties with 17 at 70, below 18 and 19, who are reset.
		Credit::reward_duty(&16);
		Credit::reset_for_lie(&18);
		Credit::reset_for_lie(&19);
		assert_eq!((Credit::credit_of(&16), Credit::credit_of(&17)), (70, 70));
		assert_ok!(post(ALICE, requirements(10, 0), 10 * UNIT));
		elect(0, &[19, 16, 18, 17, 10]);
		let expected = if draw_of(16, 0) < draw_of(17, 0) { 16 } else { 17 };
		assert_eq!(Tasks::<Test>::get(0).unwrap().status.executor(), Some(&expected));
		assert_eq!(recheck(&Calls::sortition_record(0).unwrap()).map(|i| i.is_some()), Ok(true));
	});
}

#[test]
fn a_full_committee_keeps_the_lowest_draws_evicting_the_highest() {
	new_test_ext().execute_with(|| {
		// Ten more workers register after posting: everyone wins (target 10 >= 10 eligible at
		// the round's start), so twenty claims compete for ten seats.
		assert_ok!(post(ALICE, requirements(10, 0), 10 * UNIT));
		let extra = 30..=39;
		for w in extra.clone() {
			register_worker(w);
		}
		let mut admitted = Vec::new();
		for w in WORKERS.chain(extra) {
			let d = draw_of(w, 0);
			let seats = Tasks::<Test>::get(0).unwrap().committee;
			let highest = seats.iter().map(|s| s.draw).max();
			if seats.len() == 10 && highest < Some(d) {
				assert_noop!(claim(w, 0), Error::<Test>::CommitteeFull);
				continue;
			}
			assert_ok!(claim(w, 0));
			if seats.len() == 10 {
				let evicted = seats.iter().find(|s| Some(s.draw) == highest).unwrap().who;
				System::assert_has_event(
					Event::SeatEvicted { task: 0, who: evicted, round: 0 }.into(),
				);
			}
			admitted.push(w);
		}
		let mut by_draw: Vec<u64> = WORKERS.chain(30..=39).collect();
		by_draw.sort_by_key(|w| draw_of(*w, 0));
		let mut seated: Vec<u64> =
			Tasks::<Test>::get(0).unwrap().committee.iter().map(|s| s.who).collect();
		seated.sort_by_key(|w| draw_of(*w, 0));
		assert_eq!(seated, by_draw[..10], "the ten lowest draws hold the seats");
		assert!(admitted.len() > 10, "some seats changed hands");
		check();
	});
}

#[test]
fn the_requester_may_cancel_until_the_first_seat_is_claimed() {
	new_test_ext().execute_with(|| {
		// Minimum credit 80: workers 18 and 19, both seated.
		assert_ok!(post(ALICE, requirements(2, 80), 10 * UNIT));
		assert_ok!(post(ALICE, requirements(2, 80), 7 * UNIT));
		assert_noop!(
			Calls::cancel_task(RuntimeOrigin::signed(BOB), 0),
			Error::<Test>::NotRequester
		);
		assert_ok!(Calls::cancel_task(RuntimeOrigin::signed(ALICE), 0));
		System::assert_last_event(Event::TaskCancelled { task: 0, refunded: 10 * UNIT }.into());
		assert_eq!(escrow(ALICE), 7 * UNIT);
		assert_noop!(
			Calls::cancel_task(RuntimeOrigin::signed(ALICE), 0),
			Error::<Test>::WrongState
		);

		// Once a seat is claimed the task stays: a requester who saw the seed cannot cancel
		// and repost until its own workers win.
		assert_ok!(claim(18, 1));
		assert_noop!(
			Calls::cancel_task(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::SeatsClaimed
		);
		elect(1, &[19]);
		assert_noop!(
			Calls::cancel_task(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::WrongState
		);
		// The cancelled task's stale deadline passes harmlessly.
		run_to(10);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Cancelled);
		check();
	});
}

#[test]
fn without_a_committee_the_task_retries_then_expires_and_refunds_in_full() {
	new_test_ext().execute_with(|| {
		// A target of 4 needs 2 seats; only one worker claims.
		assert_ok!(post(ALICE, requirements(4, 60), 10 * UNIT));
		let seed0 = Tasks::<Test>::get(0).unwrap().seed;
		assert_ok!(claim(19, 0));
		run_to(7);
		System::assert_has_event(
			Event::RoundFailed { task: 0, round: 0, seats: 1, needed: 2 }.into(),
		);
		// Round 1: a fresh committee and a fresh seed; round 0's claim does not carry over.
		let task = Tasks::<Test>::get(0).unwrap();
		assert_eq!(task.status, TaskStatus::Sortition { round: 1, until: 12 });
		assert_eq!(task.round, 1);
		assert!(task.committee.is_empty());
		assert_ne!(task.seed, seed0);
		let stale = sortition::sign(&pair_of(19), 0, &seed0, 0);
		assert_noop!(
			Calls::claim_seat(
				RuntimeOrigin::signed(19),
				0,
				0,
				seed0,
				stale.pre_output,
				stale.proof
			),
			Error::<Test>::WrongRound
		);
		System::assert_last_event(
			Event::RoundStarted { task: 0, round: 1, seed: task.seed }.into(),
		);
		check();

		run_to(12);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Expired);
		System::assert_last_event(Event::TaskExpired { task: 0, refunded: 10 * UNIT }.into());
		assert_eq!((escrow(ALICE), Balances::balance(&ALICE)), (0, ENDOWMENT));
		check();
	});
}

#[test]
fn an_executor_that_misses_its_attestation_loses_credit_not_bond_and_a_new_committee_is_drawn() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(2, 80), 10 * UNIT));
		elect(0, &[18, 19]);
		run_to(11);
		System::assert_has_event(Event::ExecutorMissedAttestation { task: 0, executor: 19 }.into());
		assert_eq!(Credit::credit_of(&19), 90 - 5);
		// Before key release a requester can make the quote impossible (an image or input
		// that cannot be fetched): the honest executor that cannot quote keeps its bond and
		// stays in sortition.
		assert_eq!(pallet_vouch_registry::Workers::<Test>::get(19).unwrap().deposit, 100 * UNIT);
		assert!(Registry::is_active(&19));
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));

		// The last round's executor misses too: the task is faulted and refunded in full.
		elect(0, &[18, 19]);
		run_to(30);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Faulted);
		System::assert_last_event(Event::TaskFaulted { task: 0, refunded: 10 * UNIT }.into());
		assert_eq!(Credit::credit_of(&19), 90 - 10);
		assert_eq!((escrow(ALICE), Balances::balance(&ALICE)), (0, ENDOWMENT));
		check();
	});
}

#[test]
fn a_block_full_of_deadlines_never_refuses_a_transition_and_works_them_off_in_order() {
	new_test_ext().execute_with(|| {
		// The hook handles four deadlines a block. A griefer posts twelve tasks in one block:
		// their round 0 all falls due in block 2.
		let post_now = || {
			let r = requirements(2, 0);
			Calls::post_task(
				RuntimeOrigin::signed(ALICE),
				0,
				inputs(&[1]),
				recipients(&[1]),
				r,
				UNIT * 4,
			)
		};
		for _ in 0..12 {
			assert_ok!(post_now());
		}
		assert_eq!(crate::Deadlines::<Test>::iter_prefix(2).count(), 12, "nothing refused");
		check();
		let started = || {
			(0..12)
				.filter(|t| {
					matches!(Tasks::<Test>::get(t).unwrap().status, TaskStatus::Sortition { .. })
				})
				.count()
		};
		// Four a block, oldest first; the rest waits in the backlog, and the invariants hold.
		run_to(2);
		assert_eq!((started(), crate::Backlog::<Test>::get()), (4, Some(2)));
		check();
		// An honest transition in the meantime goes through, whatever the queues hold.
		let open = (0..12)
			.find(|t| matches!(Tasks::<Test>::get(t).unwrap().status, TaskStatus::Sortition { .. }))
			.unwrap();
		let t = Tasks::<Test>::get(open).unwrap();
		let winner = WORKERS
			.clone()
			.find(|w| sortition::wins(draw_of(*w, open), t.eligible, 2))
			.expect("one of ten wins a seat of two, for these keys");
		assert_ok!(claim(winner, open));
		run_to(3);
		assert_eq!(started(), 8);
		run_to(4);
		assert_eq!((started(), crate::Backlog::<Test>::get()), (12, None));
		check();
	});
}

#[derive(Clone, Debug)]
enum Op {
	Post {
		who: u64,
		size: u32,
		payment: u128,
	},
	Claim {
		worker: u64,
		task: u64,
	},
	Cancel {
		who: u64,
		task: u64,
	},
	Attest {
		task: u64,
	},
	Verdict {
		worker: u64,
		task: u64,
		ok: bool,
	},
	/// The task's requester (its only input's owner) releases a key; slot 1 does not exist.
	Release {
		task: u64,
		slot: u32,
	},
	Result {
		task: u64,
		failed: bool,
	},
	Reveal {
		task: u64,
	},
	Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
	prop_oneof![
		2 => (1u64..=3, 1u32..=4, 0u128..20).prop_map(|(who, size, p)| Op::Post {
			who,
			size,
			payment: p * UNIT / 2
		}),
		4 => (WORKERS, 0u64..3).prop_map(|(worker, task)| Op::Claim { worker, task }),
		1 => (1u64..=3, 0u64..3).prop_map(|(who, task)| Op::Cancel { who, task }),
		2 => (0u64..3).prop_map(|task| Op::Attest { task }),
		4 => (WORKERS, 0u64..3, prop::bool::weighted(0.8))
			.prop_map(|(worker, task, ok)| Op::Verdict { worker, task, ok }),
		2 => (0u64..3, prop::bool::weighted(0.9))
			.prop_map(|(task, first)| Op::Release { task, slot: if first { 0 } else { 1 } }),
		2 => (0u64..3, prop::bool::weighted(0.2)).prop_map(|(task, failed)| Op::Result { task, failed }),
		2 => (0u64..3).prop_map(|task| Op::Reveal { task }),
		2 => (1u64..4).prop_map(Op::Advance),
	]
}

/// Requirements with long phases, so that random histories often reach settlement.
fn patient(size: u32) -> Requirements {
	let mut r = requirements(size, 0);
	r.deadlines =
		PhaseDeadlines { sortition: 25, attestation: 25, key_release: 25, run: 25, verdicts: 25 };
	r
}

/// The executor of `task` if it has one now (for ops that only the executor can do).
fn current_executor(task: u64) -> Option<u64> {
	Tasks::<Test>::get(task).and_then(|t| t.status.executor().copied())
}

/// What left the total issuance, as the events report it: settlement burns and slashes.
fn burnt_and_slashed() -> u128 {
	System::events()
		.into_iter()
		.map(|r| match r.event {
			RuntimeEvent::Tasks(Event::TaskSettled { payout, .. })
			| RuntimeEvent::Tasks(Event::TaskFailed { payout, .. }) => payout.burn,
			RuntimeEvent::Tasks(Event::ExecutorMissedResult { slashed, .. })
			| RuntimeEvent::Tasks(Event::ExecutorMissedReveal { slashed, .. }) => slashed,
			// The reporter's share is paid, not burnt.
			RuntimeEvent::Tasks(Event::LieProven { slashed, rewarded, .. }) => slashed - rewarded,
			_ => 0,
		})
		.sum()
}

proptest! {
	/// Random posts, seats, attestations, verdicts, key releases, results, cancels and block
	/// advances: escrow always equals the open tasks' payments, every open task has a queued
	/// future deadline, total issuance falls by exactly the burns and slashes, and once every
	/// deadline has passed every task has ended and no escrow is left.
	#[test]
	fn escrow_is_conserved_and_every_task_ends(ops in prop::collection::vec(op(), 1..80)) {
		new_test_ext().execute_with(|| {
			let issuance = Balances::total_issuance();
			for op in ops {
				let _ = match op {
					Op::Post { who, size, payment } => post(who, patient(size), payment),
					Op::Claim { worker, task } => claim(worker, task),
					Op::Cancel { who, task } => Calls::cancel_task(RuntimeOrigin::signed(who), task),
					Op::Attest { task } => match current_executor(task) {
						Some(e) => plain(Calls::attest_before(RuntimeOrigin::signed(e), task, before(task))),
						None => Ok(()),
					},
					Op::Verdict { worker, task, ok } =>
						plain(Calls::submit_verdict(RuntimeOrigin::signed(worker), task, ok)),
					Op::Release { task, slot } => match Tasks::<Test>::get(task) {
						Some(t) => plain(Calls::release_key(RuntimeOrigin::signed(t.requester), task, slot, sealed(7))),
						None => Ok(()),
					},
					Op::Result { task, failed } => match current_executor(task) {
						Some(e) => plain(Calls::submit_result(RuntimeOrigin::signed(e), task, result_for(1, failed), after(task, failed))),
						None => Ok(()),
					},
					Op::Reveal { task } => match current_executor(task) {
						Some(e) => plain(Calls::reveal_result_keys(RuntimeOrigin::signed(e), task, keys_for(1))),
						None => Ok(()),
					},
					Op::Advance(n) => { run_to(System::block_number() + n); Ok(()) },
				};
				Calls::do_try_state().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
				prop_assert_eq!(Balances::total_issuance() + burnt_and_slashed(), issuance);
			}
			// Every phase has a deadline: after enough blocks, every task has ended.
			// Two rounds of six 25-block phases at most.
			run_to(System::block_number() + 400);
			for (_, task) in Tasks::<Test>::iter() {
				prop_assert!(task.status.is_final(), "{:?}", task.status);
			}
			for who in 1u64..=3 {
				prop_assert_eq!(escrow(who), 0);
			}
			prop_assert_eq!(Balances::total_issuance() + burnt_and_slashed(), issuance);
			Ok(())
		})?;
	}
}

// ---- From election to settlement -------------------------------------------------------------

thread_local! {
	/// The mock TPMs' clock: every quote is made later than the one before.
	static CLOCK: core::cell::Cell<u64> = const { core::cell::Cell::new(1_000) };
}

fn next_clock() -> ClockInfo {
	let clock = CLOCK.with(|c| {
		c.set(c.get() + 1);
		c.get()
	});
	ClockInfo { clock, reset_count: 1, restart_count: 0, safe: true }
}

/// What an honest executor measures of `task` for `phase` (for `After`, of a job that
/// failed or not).
fn measured(task: u64, phase: Phase, job_failed: bool) -> Measurements {
	let t = Tasks::<Test>::get(task).expect("a task");
	let after = phase == Phase::After;
	Measurements {
		image_id: t.image_id,
		code_input_hash: t.code_input_hash,
		sandbox_policy_hash: t.sandbox_policy_hash,
		result_hash: after.then_some([6; 32]),
		keys_commitment: after.then(|| keys_commitment(&keys_for(t.recipients.len()))),
		exit_status: after.then_some(i32::from(job_failed)),
	}
}

/// A quote by `who`'s TPM for `phase` of `task` with `m`, made after block `block`.
fn quote_at(
	who: u64,
	task: u64,
	phase: Phase,
	m: Measurements,
	block: u64,
	clock: ClockInfo,
) -> Quote<u64> {
	let round = Tasks::<Test>::get(task).expect("a task").round;
	quote_in_round(who, (task, round), phase, m, block, clock)
}

/// A quote by `who`'s TPM for `phase` of `task`'s committee `round`, made after `block`.
fn quote_in_round(
	who: u64,
	(task, round): (u64, u32),
	phase: Phase,
	m: Measurements,
	block: u64,
	clock: ClockInfo,
) -> Quote<u64> {
	let hash = System::block_hash(block);
	let nonce = quote_nonce(task, round, phase, &hash.0, &m);
	let tpm = pallet_vouch_registry::Workers::<Test>::get(who).expect("a worker").tpm;
	let (attest, signature) = TestTpm::quote(&tpm, nonce, clock);
	Quote {
		block,
		measurements: m,
		attest: attest.try_into().unwrap(),
		signature: signature.try_into().unwrap(),
	}
}

/// A fresh quote by `who`'s TPM for `phase` of `task` with `m`.
fn quote_by(who: u64, task: u64, phase: Phase, m: Measurements) -> Quote<u64> {
	quote_at(who, task, phase, m, System::block_number() - 1, next_clock())
}

/// `who`'s answer to a monitor's challenge with `nonce` about `phase` of `task`'s current
/// round, claiming `m`, as `report_lie` evidence.
fn challenge_answer(
	who: u64,
	task: u64,
	phase: Phase,
	nonce: [u8; 32],
	m: Measurements,
) -> LieEvidence<u64> {
	let round = Tasks::<Test>::get(task).expect("a task").round;
	let tpm = pallet_vouch_registry::Workers::<Test>::get(who).expect("a worker").tpm;
	let qualifying = challenge_nonce(task, round, phase, &nonce, &m);
	let (attest, signature) = TestTpm::quote(&tpm, qualifying, next_clock());
	LieEvidence::Challenge(ChallengeQuote {
		nonce,
		measurements: m,
		attest: attest.try_into().unwrap(),
		signature: signature.try_into().unwrap(),
	})
}

/// The current executor's honest `Before` quote of `task`.
fn before(task: u64) -> Quote<u64> {
	quote_by(executor_of(task), task, Phase::Before, measured(task, Phase::Before, false))
}

/// The current executor's honest `After` quote of `task`, made after a block that follows the
/// release of the last key (the chain runs one if needed).
fn after(task: u64, job_failed: bool) -> Quote<u64> {
	if let Some(TaskStatus::Running { since, .. }) = Tasks::<Test>::get(task).map(|t| t.status) {
		if System::block_number() <= since {
			run_to(since + 1);
		}
	}
	quote_by(executor_of(task), task, Phase::After, measured(task, Phase::After, job_failed))
}

fn sealed(tag: u8) -> SealedKey {
	vec![tag; 48].try_into().unwrap()
}

/// The result key sealed to each of `recipients` recipients.
fn keys_for(recipients: usize) -> ResultKeys {
	(0..recipients).map(|i| sealed(i as u8)).collect::<Vec<_>>().try_into().unwrap()
}

/// A result for `recipients` recipients, committing to [`keys_for`] them.
fn result_for(recipients: usize, job_failed: bool) -> TaskResult {
	TaskResult {
		cid: b"bafyresult".to_vec().try_into().unwrap(),
		keys_commitment: keys_commitment(&keys_for(recipients)),
		job_failed,
	}
}

/// `task`'s executor reveals the result keys of its one recipient: the task settles.
fn reveal(task: u64) {
	assert!(matches!(Tasks::<Test>::get(task).unwrap().status, TaskStatus::Revealing { .. }));
	assert_ok!(Calls::reveal_result_keys(
		RuntimeOrigin::signed(executor_of(task)),
		task,
		keys_for(1)
	));
}

/// Task 0's executor (19) returns its result for one recipient, with its honest `After`
/// quote.
fn executor_returns(job_failed: bool) -> DispatchResult {
	plain(Calls::submit_result(
		RuntimeOrigin::signed(19),
		0,
		result_for(1, job_failed),
		after(0, job_failed),
	))
}

fn executor_of(task: u64) -> u64 {
	current_executor(task).expect("the task has an executor")
}

fn verdicts(task: u64, monitors: impl IntoIterator<Item = u64>, ok: bool) {
	for m in monitors {
		assert_ok!(Calls::submit_verdict(RuntimeOrigin::signed(m), task, ok));
	}
}

/// Posts task 0 (committee of ten: every worker) and runs it to `Running`.
fn run_to_running(payment: u128) {
	assert_ok!(post(ALICE, requirements(10, 0), payment));
	elect(0, &WORKERS.collect::<Vec<_>>());
	assert_eq!(executor_of(0), 19, "the highest credit executes");
	assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
	verdicts(0, 10..=18, true);
	assert!(matches!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::KeyRelease { .. }));
	assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)));
	assert!(matches!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Running { .. }));
}

const WORKER_FREE: u128 = ENDOWMENT - 100 * UNIT;

#[test]
fn alice_posts_bob_runs_monitors_confirm_settles_exactly() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		run_to_running(10 * UNIT);
		assert_ok!(executor_returns(false));
		verdicts(0, 10..=18, true);
		// Confirmed: the keys are not Alice's until the executor reveals them, which pays it.
		assert!(!crate::RevealedKeys::<Test>::contains_key(0));
		assert_eq!(escrow(ALICE), 10 * UNIT);
		reveal(0);
		System::assert_has_event(Event::ResultKeysRevealed { task: 0 }.into());

		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Settled);
		// The seeds' example: 10 paid; burn 1, developer 3, executor 3, nine monitors 1/3 each,
		// the division's dust (3 base units) to the executor.
		let third = 333_333_333_333;
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT - 10 * UNIT);
		assert_eq!(escrow(ALICE), 0);
		assert_eq!(Balances::balance(&BOB), ENDOWMENT + 3 * UNIT);
		assert_eq!(Balances::balance(&19), WORKER_FREE + 3 * UNIT + 3);
		for m in 10..=18 {
			assert_eq!(Balances::balance(&m), WORKER_FREE + third, "monitor {m}");
		}
		assert_eq!(Balances::total_issuance(), issuance - UNIT, "exactly the burn left issuance");
		System::assert_has_event(
			Event::TaskSettled {
				task: 0,
				payout: vouch_primitives::settlement::Payout {
					burn: UNIT,
					developer: 3 * UNIT,
					executor: 3 * UNIT + 3,
					per_monitor: third,
					honest_monitors: 9,
					refund: 0,
				},
			}
			.into(),
		);
		// Honest duty earned credit; the lambda's record counts the run.
		assert_eq!(Credit::credit_of(&19), 90 + 10);
		assert_eq!(Credit::credit_of(&10), 10);
		let lambda = pallet_vouch_lambdas::Lambdas::<Test>::get(0).unwrap();
		assert_eq!((lambda.runs, lambda.failures), (1, 0));
		// Alice can read her result.
		assert_eq!(crate::RevealedKeys::<Test>::get(0).unwrap(), keys_for(1));
		assert!(Results::<Test>::contains_key(0));
		check();
	});
}

#[test]
fn a_job_that_fails_by_its_own_fault_pays_the_committee_and_refunds_the_price() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		run_to_running(10 * UNIT);
		assert_ok!(executor_returns(true));
		verdicts(0, 10..=18, true);
		reveal(0);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Failed);
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT - 7 * UNIT, "the price came back");
		assert_eq!(Balances::balance(&BOB), ENDOWMENT);
		assert_eq!(Balances::balance(&19), WORKER_FREE + 3 * UNIT + 3);
		assert_eq!(Balances::total_issuance(), issuance - UNIT);
		let lambda = pallet_vouch_lambdas::Lambdas::<Test>::get(0).unwrap();
		assert_eq!((lambda.runs, lambda.failures), (1, 1));
		check();
	});
}

#[test]
fn monitors_who_did_not_confirm_are_not_paid_and_their_seats_go_back_to_alice() {
	new_test_ext().execute_with(|| {
		run_to_running(10 * UNIT);
		assert_ok!(executor_returns(false));
		// Seven confirm, one says no, one says nothing until the deadline.
		verdicts(0, 10..=16, true);
		verdicts(0, [17], false);
		run_to(System::block_number() + 4);
		System::assert_has_event(Event::MonitorMissedVerdict { task: 0, monitor: 18 }.into());
		System::assert_has_event(
			Event::MonitorOutvoted { task: 0, monitor: 17, phase: Phase::After }.into(),
		);
		reveal(0);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Settled);
		let third = 333_333_333_333;
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT - 10 * UNIT + 2 * third);
		assert_eq!(Balances::balance(&17), WORKER_FREE);
		assert_eq!(Balances::balance(&18), WORKER_FREE);
		assert_eq!(Credit::credit_of(&18), 80 - 5, "a missed verdict costs credit");
		assert_eq!(Credit::credit_of(&17), 70 - 5, "the losing side loses credit, and is not paid");
		check();
	});
}

#[test]
fn monitors_rejecting_the_sandbox_cost_the_executor_credit_and_draw_a_new_committee() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [17, 18], false);
		System::assert_has_event(
			Event::PhaseRejected {
				task: 0,
				phase: Phase::Before,
				executor: 19,
				confirmations: 0,
				rejections: 2,
			}
			.into(),
		);
		// A vote is no proof: credit, not deposit.
		assert_eq!(Credit::credit_of(&19), 90 - 5);
		assert_eq!(pallet_vouch_registry::Workers::<Test>::get(19).unwrap().deposit, 100 * UNIT);
		assert_eq!(Balances::total_issuance(), issuance);
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));
		assert_eq!(escrow(ALICE), 10 * UNIT, "the payment waits for the next committee");
		check();
	});
}

#[test]
fn keys_withheld_fail_the_task_at_the_requesters_cost() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [17, 18], true);
		let (credit_17, credit_19) = (Credit::credit_of(&17), Credit::credit_of(&19));
		run_to(System::block_number() + 4);
		System::assert_has_event(Event::KeysWithheld { task: 0 }.into());
		// The monitors checked the sandbox and earn credit; the executor ran nothing and
		// earns none (paid for its time all the same).
		assert_eq!(Credit::credit_of(&17), credit_17 + 10);
		assert_eq!(Credit::credit_of(&19), credit_19, "no credit for a run that never was");
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Failed);
		// Burn 1; price 3 back; executor 3; two monitors 1.5 each.
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT - 7 * UNIT);
		assert_eq!(Balances::balance(&17), WORKER_FREE + 3 * UNIT / 2);
		assert_eq!(Balances::balance(&19), WORKER_FREE + 3 * UNIT);
		// The job never ran: the lambda's record is untouched.
		let lambda = pallet_vouch_lambdas::Lambdas::<Test>::get(0).unwrap();
		assert_eq!((lambda.runs, lambda.failures), (0, 0));
		check();
	});
}

#[test]
fn an_executor_without_a_result_is_replaced() {
	new_test_ext().execute_with(|| {
		run_to_running(10 * UNIT);
		run_to(System::block_number() + 10);
		System::assert_has_event(
			Event::ExecutorMissedResult { task: 0, executor: 19, slashed: 10 * UNIT }.into(),
		);
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));
		// The round's keys were for the old executor's TPM: they are gone.
		assert!(!ReleasedKeys::<Test>::contains_key(0, 0));
		check();
	});
}

#[test]
fn only_the_right_party_acts_at_each_step() {
	new_test_ext().execute_with(|| {
		assert_ok!(Calls::post_task(
			RuntimeOrigin::signed(ALICE),
			0,
			inputs(&[ALICE, CHARLIE]),
			recipients(&[ALICE, CHARLIE]),
			requirements(3, 70),
			10 * UNIT
		));
		// Charlie backs the key he owes.
		assert_ok!(Calls::back_keys(RuntimeOrigin::signed(CHARLIE), 0));
		elect(0, &[17, 19, 18]);
		assert_noop!(
			Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)),
			Error::<Test>::WrongState
		);
		assert_noop!(
			Calls::attest_before(RuntimeOrigin::signed(17), 0, before(0)),
			Error::<Test>::NotExecutor
		);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		assert_noop!(
			Calls::submit_verdict(RuntimeOrigin::signed(19), 0, true),
			Error::<Test>::NotMonitor
		);
		assert_noop!(
			Calls::submit_verdict(RuntimeOrigin::signed(11), 0, true),
			Error::<Test>::NotMonitor
		);
		assert_ok!(Calls::submit_verdict(RuntimeOrigin::signed(17), 0, true));
		assert_noop!(
			Calls::submit_verdict(RuntimeOrigin::signed(17), 0, true),
			Error::<Test>::AlreadyVoted
		);
		assert_ok!(Calls::submit_verdict(RuntimeOrigin::signed(18), 0, true));

		// Each input's key comes from its own owner only.
		assert_noop!(
			Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 1, sealed(1)),
			Error::<Test>::NotKeyOwner
		);
		assert_noop!(
			Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 2, sealed(1)),
			Error::<Test>::NoSuchKeySlot
		);
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)));
		assert_noop!(
			Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(2)),
			Error::<Test>::KeyAlreadyReleased
		);
		assert!(matches!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::KeyRelease { .. }));
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(CHARLIE), 0, 1, sealed(3)));
		System::assert_last_event(Event::KeysComplete { task: 0 }.into());
		run_to(System::block_number() + 1);

		assert_noop!(
			Calls::submit_result(
				RuntimeOrigin::signed(17),
				0,
				result_for(2, false),
				after(0, false)
			),
			Error::<Test>::NotExecutor
		);
		assert_ok!(Calls::submit_result(
			RuntimeOrigin::signed(19),
			0,
			result_for(2, false),
			after(0, false)
		));
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Attesting { phase: Phase::After, .. }
		));
		// Nothing to reveal before the monitors confirm the run.
		let reveal = |who: u64, keys: ResultKeys| {
			Calls::reveal_result_keys(RuntimeOrigin::signed(who), 0, keys)
		};
		assert_noop!(reveal(19, keys_for(2)), Error::<Test>::WrongState);
		verdicts(0, [17, 18], true);
		// Only the executor reveals, one key per recipient, exactly the keys it committed to.
		assert_noop!(reveal(17, keys_for(2)), Error::<Test>::NotExecutor);
		assert_noop!(reveal(19, keys_for(1)), Error::<Test>::RecipientKeysMismatch);
		let mut other = keys_for(2);
		other[1] = sealed(9);
		assert_noop!(reveal(19, other), Error::<Test>::KeysCommitmentMismatch);
		assert_ok!(reveal(19, keys_for(2)));
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Settled);
		check();
	});
}

#[test]
fn encrypted_code_needs_the_developers_key_too() {
	new_test_ext().execute_with(|| {
		assert_ok!(Lambdas::publish(
			RuntimeOrigin::signed(BOB),
			b"bafysecret".to_vec().try_into().unwrap(),
			[2; 32],
			b"bafyimage".to_vec().try_into().unwrap(),
			pallet_vouch_lambdas::Lambdas::<Test>::get(0).unwrap().manifest,
			3 * UNIT,
			true,
		));
		assert_ok!(Calls::post_task(
			RuntimeOrigin::signed(ALICE),
			1,
			inputs(&[ALICE]),
			recipients(&[ALICE]),
			requirements(1, 90),
			10 * UNIT
		));
		// Bob owes the code key: he backs it before the committee is elected.
		assert_ok!(Calls::back_keys(RuntimeOrigin::signed(BOB), 0));
		elect(0, &[19]);
		// A committee of one: no monitors, so the attestation is confirmed at once.
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)));
		assert!(matches!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::KeyRelease { .. }));
		assert_noop!(
			Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 1, sealed(1)),
			Error::<Test>::NotKeyOwner
		);
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(BOB), 0, 1, sealed(2)));
		assert_ok!(executor_returns(false));
		reveal(0);
		// No monitors: their half goes back to Alice.
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Settled);
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT - 10 * UNIT + 3 * UNIT);
		check();
	});
}

// ---- Quotes and lies ---------------------------------------------------------------------------

#[test]
fn the_executors_quotes_are_verified_and_each_fault_is_named() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		elect(0, &[17, 19, 18]);
		let now = System::block_number();
		let attest = |q| Calls::attest_before(RuntimeOrigin::signed(19), 0, q);
		let honest = measured(0, Phase::Before, false);

		// What was measured must be this task's image, code and inputs, and no result yet.
		let m = Measurements { image_id: [9; 32], ..honest };
		assert_noop!(attest(quote_by(19, 0, Phase::Before, m)), Error::<Test>::ImageMismatch);
		let m = Measurements { code_input_hash: [9; 32], ..honest };
		assert_noop!(
			attest(quote_by(19, 0, Phase::Before, m)),
			Error::<Test>::CodeOrInputsMismatch
		);
		let m = Measurements { exit_status: Some(0), ..honest };
		assert_noop!(
			attest(quote_by(19, 0, Phase::Before, m)),
			Error::<Test>::MeasurementsForWrongPhase
		);
		// A sandbox with the network on, though Alice asked for none, or with other limits
		// than the lambda's: the chain derives the policy itself and refuses any other.
		let limits = pallet_vouch_lambdas::Lambdas::<Test>::get(0).unwrap().manifest.limits();
		let networked = vouch_primitives::sandbox::SandboxPolicy::for_task(&limits, false);
		let m = Measurements { sandbox_policy_hash: networked.hash(), ..honest };
		assert_noop!(
			attest(quote_by(19, 0, Phase::Before, m)),
			Error::<Test>::SandboxPolicyMismatch
		);
		// Signed by another worker's TPM; made for another task, round or phase.
		assert_noop!(
			attest(quote_by(17, 0, Phase::Before, honest)),
			Error::<Test>::QuoteSignatureInvalid
		);
		let other_task = quote_in_round(19, (1, 0), Phase::Before, honest, now - 1, next_clock());
		assert_noop!(attest(other_task), Error::<Test>::QuoteWrongNonce);
		let other_round = quote_in_round(19, (0, 1), Phase::Before, honest, now - 1, next_clock());
		assert_noop!(attest(other_round), Error::<Test>::QuoteWrongNonce);
		assert_noop!(attest(quote_by(19, 0, Phase::After, honest)), Error::<Test>::QuoteWrongNonce);
		// Its block must be past, known and recent.
		let fresh = next_clock();
		assert_noop!(
			attest(quote_at(19, 0, Phase::Before, honest, now, fresh)),
			Error::<Test>::QuoteBlockUnknown
		);
		// A quote after a block from before the election could have been made in advance.
		let TaskStatus::Elected { since, .. } = Tasks::<Test>::get(0).unwrap().status else {
			panic!("elected")
		};
		assert_noop!(
			attest(quote_at(19, 0, Phase::Before, honest, since - 1, fresh)),
			Error::<Test>::QuoteBeforeDuty
		);
		assert_noop!(
			attest(quote_at(19, 0, Phase::Before, honest, 0, fresh)),
			Error::<Test>::QuoteBeforeDuty
		);

		let quote = before(0);
		assert_ok!(attest(quote.clone()));
		System::assert_has_event(
			Event::SandboxAttested { task: 0, executor: 19, measurements: honest }.into(),
		);
		let recorded = Attestations::<Test>::get(0, Phase::Before).unwrap();
		assert_eq!((recorded.executor, recorded.measurements), (19, honest));

		// The run: the After quote's exit status must agree with the result, and its clock
		// must be ahead of the Before quote's.
		verdicts(0, [17, 18], true);
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)));
		// The executor quotes after a block that follows the keys' release.
		run_to(System::block_number() + 1);
		let now = System::block_number();
		let submit = |failed, q| {
			Calls::submit_result(RuntimeOrigin::signed(19), 0, result_for(1, failed), q)
		};
		assert_noop!(submit(true, after(0, false)), Error::<Test>::ExitStatusMismatch);
		let m = Measurements { result_hash: None, ..measured(0, Phase::After, false) };
		assert_noop!(
			submit(false, quote_by(19, 0, Phase::After, m)),
			Error::<Test>::MeasurementsForWrongPhase
		);
		let older = ClockInfo { clock: recorded.clock.clock - 1, ..recorded.clock };
		let m = measured(0, Phase::After, false);
		assert_noop!(
			submit(false, quote_at(19, 0, Phase::After, m, now - 1, older)),
			Error::<Test>::QuoteClockWentBackwards
		);
		assert_ok!(submit(false, after(0, false)));
		check();
	});
}

#[test]
fn a_lie_proven_by_the_executors_own_tpm_costs_it_and_draws_a_new_committee() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		elect(0, &[17, 19, 18]);
		let honest = measured(0, Phase::Before, false);
		let report = |who, q| {
			Calls::report_lie(
				RuntimeOrigin::signed(who),
				0,
				Phase::Before,
				LieEvidence::Attestation(q),
			)
		};
		// Nothing attested yet: nothing to contradict.
		let other_sandbox = Measurements { sandbox_policy_hash: [0xba; 32], ..honest };
		assert_noop!(
			report(17, quote_by(19, 0, Phase::Before, other_sandbox)),
			Error::<Test>::NoAttestation
		);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));

		// Its TPM also quoted another sandbox for the same task and phase.
		let lie = quote_by(19, 0, Phase::Before, other_sandbox);
		assert_noop!(report(19, lie.clone()), Error::<Test>::CannotReportSelf);
		assert_noop!(
			report(17, quote_by(19, 0, Phase::Before, honest)),
			Error::<Test>::NoContradiction
		);
		assert_noop!(
			report(17, quote_by(18, 0, Phase::Before, other_sandbox)),
			Error::<Test>::QuoteSignatureInvalid
		);
		// Only a member of that committee may report: an outsider (or a sybil farming the
		// bonus) cannot.
		assert_noop!(report(12, lie.clone()), Error::<Test>::NotCommitteeMember);
		// 18 vouches for the lied sandbox before 17 proves the lie.
		verdicts(0, [18], true);
		let credit_18 = Credit::credit_of(&18);
		let credit_17 = Credit::credit_of(&17);
		let free_17 = Balances::balance(&17);
		assert_ok!(report(17, lie));
		System::assert_has_event(
			Event::MonitorConfirmedLie { task: 0, monitor: 18, phase: Phase::Before }.into(),
		);
		assert_eq!(Credit::credit_of(&18), credit_18 - 5, "vouching for a lie costs credit");
		System::assert_has_event(
			Event::LieProven {
				task: 0,
				phase: Phase::Before,
				executor: 19,
				reporter: 17,
				slashed: 40 * UNIT,
				rewarded: 20 * UNIT,
			}
			.into(),
		);
		assert_eq!(Credit::credit_of(&19), 0, "a lie resets credit");
		assert_eq!(Credit::credit_of(&17), credit_17 + 20, "the reporter's bonus");
		assert_eq!(Balances::balance(&17), free_17 + 20 * UNIT, "half the slash to the reporter");
		assert_eq!(Balances::total_issuance(), issuance - 20 * UNIT, "the rest was burnt");
		assert!(!Registry::is_active(&19), "60 left of a 100 minimum: no longer active");
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));
		assert_eq!(escrow(ALICE), 10 * UNIT, "the payment waits for the next committee");
		assert!(!Attestations::<Test>::contains_key(0, Phase::Before));
		check();
	});
}

/// A monitor's challenge obtains the executor's TPM quote of what its pinned build measures
/// live, bound to the task, round, phase and the monitor's nonce: when that is not what it
/// attested, the answer proves the lie. An answer that agrees, or one of another round, phase
/// or task, or claiming other measurements than were quoted, proves nothing.
#[test]
fn a_challenge_answer_contradicting_the_attestation_proves_the_lie_and_pays_the_monitor() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		let honest = measured(0, Phase::Before, false);
		// The image it really runs, which its build reports when challenged.
		let running = Measurements { image_id: [0x0b; 32], ..honest };
		let report = |who, e| Calls::report_lie(RuntimeOrigin::signed(who), 0, Phase::Before, e);
		assert_noop!(
			report(17, challenge_answer(19, 0, Phase::Before, [1; 32], honest)),
			Error::<Test>::NoContradiction
		);
		// Claiming the answer measured something else than the quote covers.
		let LieEvidence::Challenge(mut forged) =
			challenge_answer(19, 0, Phase::Before, [1; 32], honest)
		else {
			unreachable!()
		};
		forged.measurements = running;
		assert_noop!(report(17, LieEvidence::Challenge(forged)), Error::<Test>::QuoteWrongNonce);
		// An answer about the After phase is no evidence about Before.
		assert_noop!(
			report(17, challenge_answer(19, 0, Phase::After, [1; 32], running)),
			Error::<Test>::QuoteWrongNonce
		);
		// Another worker's TPM cannot speak for the executor's.
		assert_noop!(
			report(17, challenge_answer(18, 0, Phase::Before, [1; 32], running)),
			Error::<Test>::QuoteSignatureInvalid
		);
		let lie = challenge_answer(19, 0, Phase::Before, [2; 32], running);
		assert_noop!(report(12, lie.clone()), Error::<Test>::NotCommitteeMember);
		let free_18 = Balances::balance(&18);
		assert_ok!(report(18, lie.clone()));
		System::assert_has_event(
			Event::LieProven {
				task: 0,
				phase: Phase::Before,
				executor: 19,
				reporter: 18,
				slashed: 40 * UNIT,
				rewarded: 20 * UNIT,
			}
			.into(),
		);
		assert_eq!(Credit::credit_of(&19), 0);
		assert_eq!(Balances::balance(&18), free_18 + 20 * UNIT, "the monitor is paid");
		// The round failed: a new committee is drawn, the payment still in escrow.
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));
		assert_eq!(escrow(ALICE), 10 * UNIT);
		// The same answer is no evidence against round 1's attestation.
		assert_noop!(report(17, lie), Error::<Test>::NoAttestation);
		check();
	});
}

#[test]
fn a_lie_found_after_settlement_still_costs_the_executor_once() {
	new_test_ext().execute_with(|| {
		run_to_running(10 * UNIT);
		assert_ok!(executor_returns(false));
		verdicts(0, 10..=18, true);
		reveal(0);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Settled);
		let paid = Balances::balance(&BOB);

		// The TPM also quoted another result for the run.
		let m = Measurements { result_hash: Some([7; 32]), ..measured(0, Phase::After, false) };
		let lie = quote_by(19, 0, Phase::After, m);
		let lie = LieEvidence::Attestation(lie);
		assert_ok!(Calls::report_lie(RuntimeOrigin::signed(12), 0, Phase::After, lie.clone()));
		assert_eq!(Credit::credit_of(&19), 0);
		assert_eq!(
			pallet_vouch_registry::Workers::<Test>::get(19).unwrap().deposit,
			60 * UNIT,
			"FaultSlash came off the bond"
		);
		assert_noop!(
			Calls::report_lie(RuntimeOrigin::signed(13), 0, Phase::After, lie),
			Error::<Test>::LieAlreadyProven
		);
		// The settled task keeps its outcome.
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Settled);
		assert_eq!(Balances::balance(&BOB), paid);
		check();
	});
}

// ---- Protocol hardening: each attack, played ----------------------------------------------

#[test]
fn a_quote_of_an_earlier_round_is_no_evidence_against_the_next() {
	new_test_ext().execute_with(|| {
		// Round 0: 19 is elected and lets its attestation deadline pass.
		assert_ok!(post(ALICE, requirements(2, 80), 10 * UNIT));
		elect(0, &[18, 19]);
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		assert_ok!(Registry::bond_extra(RuntimeOrigin::signed(19), 10 * UNIT));
		// Round 1: 19 again, attesting honestly.
		elect(0, &[18, 19]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		let honest = measured(0, Phase::Before, false);
		let other = Measurements { sandbox_policy_hash: [0xba; 32], ..honest };
		let now = System::block_number();
		let report = |q| {
			Calls::report_lie(
				RuntimeOrigin::signed(18),
				0,
				Phase::Before,
				LieEvidence::Attestation(q),
			)
		};
		// Its TPM's quote of round 0 measured something else: not a lie about round 1.
		let old_round = quote_in_round(19, (0, 0), Phase::Before, other, now - 1, next_clock());
		assert_noop!(report(old_round), Error::<Test>::QuoteWrongNonce);
		// A quote of round 1 that contradicts it is.
		let same_round = quote_in_round(19, (0, 1), Phase::Before, other, now - 1, next_clock());
		assert_ok!(report(same_round));
		check();
	});
}

#[test]
fn an_elected_worker_cannot_walk_away_with_its_bond() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(2, 80), 10 * UNIT));
		elect(0, &[18, 19]);
		assert_eq!((crate::OpenSeats::<Test>::get(18), crate::OpenSeats::<Test>::get(19)), (1, 1));
		for w in [18, 19] {
			assert_noop!(
				Registry::deregister(RuntimeOrigin::signed(w)),
				pallet_vouch_registry::Error::<Test>::DutiesOpen
			);
		}
		// Once the round is over (here: the executor missed it, and the last round failed
		// too), the seats are released and both may leave.
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [18], true);
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)));
		assert_ok!(executor_returns(false));
		assert_noop!(
			Registry::deregister(RuntimeOrigin::signed(18)),
			pallet_vouch_registry::Error::<Test>::DutiesOpen
		);
		verdicts(0, [18], true);
		assert_noop!(
			Registry::deregister(RuntimeOrigin::signed(19)),
			pallet_vouch_registry::Error::<Test>::DutiesOpen
		);
		reveal(0);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Settled);
		assert_eq!(crate::OpenSeats::<Test>::iter().count(), 0, "every seat released");
		assert_ok!(Registry::deregister(RuntimeOrigin::signed(18)));
		assert_ok!(Registry::deregister(RuntimeOrigin::signed(19)));
		check();
	});
}

#[test]
fn quotes_of_a_worker_with_nothing_at_stake_are_refused_and_an_underbonded_one_finishes() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(2, 80), 10 * UNIT));
		elect(0, &[18, 19]);
		// Slashed to nothing elsewhere: 19's quotes count for nothing.
		pallet_vouch_registry::Pallet::<Test>::slash(&19, 100 * UNIT, None);
		assert_noop!(
			Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)),
			Error::<Test>::WorkerNotBonded
		);
		// Half its bond back: underbonded, so out of sortition, but with a deposit at stake
		// it finishes the duties it holds; one slash does not fail its every open task.
		assert_ok!(Registry::bond_extra(RuntimeOrigin::signed(19), 50 * UNIT));
		assert!(!Registry::is_active(&19));
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		check();
	});
}

#[test]
fn the_election_drops_members_gone_or_below_the_minimum_so_the_record_rechecks() {
	new_test_ext().execute_with(|| {
		// Minimum credit 60: 16..=19 are eligible, and a target of 4 seats them all.
		assert_ok!(post(ALICE, requirements(4, 60), 10 * UNIT));
		for w in 16..=19 {
			assert_ok!(claim(w, 0));
		}
		// Before the window closes, 18 leaves and 16 falls below the minimum.
		assert_ok!(Registry::deregister(RuntimeOrigin::signed(18)));
		Credit::penalize_missed_duty(&16);
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(Event::SeatDropped { task: 0, who: 16, round: 0 }.into());
		System::assert_has_event(Event::SeatDropped { task: 0, who: 18, round: 0 }.into());
		let task = Tasks::<Test>::get(0).unwrap();
		assert_eq!(task.status.executor(), Some(&19));
		assert_eq!(task.committee.iter().map(|s| s.who).collect::<Vec<_>>(), vec![17, 19]);
		// Anyone re-checks the committee from the record: every member meets the minimum.
		let record = Calls::sortition_record(0).unwrap();
		assert_eq!(recheck(&record), Ok(Some(1)));
		// The one who left holds no seat, so its bond is not held by this task.
		assert_eq!(crate::OpenSeats::<Test>::get(18), 0);
		check();
	});
}

#[test]
fn a_requester_who_asked_for_monitors_never_gets_an_unwatched_run() {
	new_test_ext().execute_with(|| {
		// A committee of two asked for: one seat claimed is not enough (before, half the
		// target, one seat, was elected, and ran with no monitor at all).
		assert_ok!(post(ALICE, requirements(2, 80), 10 * UNIT));
		assert_ok!(claim(19, 0));
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(
			Event::RoundFailed { task: 0, round: 0, seats: 1, needed: 2 }.into(),
		);
		check();
	});
}

#[test]
fn a_task_that_asks_to_keep_its_data_is_refused_not_misled() {
	new_test_ext().execute_with(|| {
		let mut r = requirements(2, 0);
		r.wipe = false;
		assert_noop!(post(ALICE, r, 10 * UNIT), Error::<Test>::NoWipeUnsupported);
	});
}

#[test]
fn a_sybil_ring_posting_to_itself_pays_every_time_and_earns_no_faster_than_honest_work() {
	new_test_ext().execute_with(|| {
		// Alice owns all ten workers and posts a cheap task (Bob's price and the burn, about)
		// again and again, settling each with her own committee.
		let issuance = Balances::total_issuance();
		let start: Vec<u32> = WORKERS.map(|w| Credit::credit_of(&w)).collect();
		// A cap of five duties a period.
		CapPerPeriod::set(&50);
		let tasks = 40u64;
		for task in 0..tasks {
			assert_ok!(post(ALICE, requirements(10, 0), 4 * UNIT));
			elect(task, &WORKERS.collect::<Vec<_>>());
			let executor = executor_of(task);
			assert_ok!(Calls::attest_before(RuntimeOrigin::signed(executor), task, before(task)));
			let monitors: Vec<u64> = WORKERS.filter(|w| *w != executor).collect();
			verdicts(task, monitors.iter().copied(), true);
			assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), task, 0, sealed(1)));
			assert_ok!(Calls::submit_result(
				RuntimeOrigin::signed(executor),
				task,
				result_for(1, false),
				after(task, false)
			));
			verdicts(task, monitors.iter().copied(), true);
			reveal(task);
			assert_eq!(Tasks::<Test>::get(task).unwrap().status, TaskStatus::Settled);
		}
		// However many tasks the ring runs, credit grows by at most the cap per period it
		// spans: the rate an honest worker with a duty every few blocks reaches too. Tasks
		// buy nothing but the burn.
		let periods = System::block_number() / CreditPeriod::get() + 1;
		for (w, before) in WORKERS.zip(start) {
			let gained = Credit::credit_of(&w) - before;
			assert!(gained <= CapPerPeriod::get() * periods as u32, "worker {w}");
			assert!(gained <= GainPerDuty::get() * tasks as u32, "worker {w}");
			assert!(gained < GainPerDuty::get() * tasks as u32, "the cap bit: worker {w}");
		}
		// And every task burnt its tenth of the payment (at least `MinPayment`'s): the ring
		// paid for each.
		let burn = Split::get().burn_of(4 * UNIT);
		assert!(burn >= Split::get().burn_of(MinPayment::get()));
		assert!(burn > 0);
		assert!(Balances::total_issuance() <= issuance - burn * tasks as u128);
		check();
	});
}

#[test]
fn one_monitor_cannot_veto_an_honest_executor_and_silence_counts_for_nothing() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		// Two monitors: 17 is Alice's, and says no to an honest sandbox; 18 is silent. One
		// verdict of two seats is the turnout, but a lone rejection cannot reject, and no
		// phase is confirmed without a confirmation: redrawn, nobody who voted blamed, the
		// executor least; the silent monitor pays for its absence.
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [17], false);
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(
			Event::PhaseInconclusive {
				task: 0,
				phase: Phase::Before,
				confirmations: 0,
				rejections: 1,
			}
			.into(),
		);
		System::assert_has_event(Event::MonitorMissedVerdict { task: 0, monitor: 18 }.into());
		assert_eq!((Credit::credit_of(&19), Credit::credit_of(&17)), (90, 70));
		assert_eq!(Credit::credit_of(&18), 80 - 5);
		assert_eq!(pallet_vouch_registry::Workers::<Test>::get(19).unwrap().deposit, 100 * UNIT);
		assert_eq!(Balances::total_issuance(), issuance, "nothing slashed");
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));
		assert_eq!(escrow(ALICE), 10 * UNIT, "Alice got nothing for her veto but a redraw");
		check();

		// Round 1: 18 confirms, 17 says no again. The tie does not void the honest run: a
		// lone rejection beside a confirmation confirms, and blames nobody (a lone monitor
		// that saw a lie proves it with `report_lie`, which needs no vote).
		System::reset_events();
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [18], true);
		verdicts(0, [17], false);
		System::assert_has_event(
			Event::PhaseConfirmed { task: 0, phase: Phase::Before, confirmations: 1 }.into(),
		);
		assert!(!System::events()
			.iter()
			.any(|r| matches!(r.event, RuntimeEvent::Tasks(Event::MonitorOutvoted { .. }))));
		assert!(matches!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::KeyRelease { .. }));
		assert_eq!((Credit::credit_of(&19), Credit::credit_of(&17)), (90, 70));
		check();
	});
}

/// Rejection takes `MIN_REJECTIONS` votes outnumbering the confirmations; a tie of two each
/// decides nothing.
#[test]
fn two_rejections_that_outnumber_the_confirmations_reject_and_a_tie_of_two_is_inconclusive() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(5, 50), 10 * UNIT));
		elect(0, &[15, 16, 17, 18, 19]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [15, 16], true);
		verdicts(0, [17, 18], false);
		System::assert_has_event(
			Event::PhaseInconclusive {
				task: 0,
				phase: Phase::Before,
				confirmations: 2,
				rejections: 2,
			}
			.into(),
		);
		assert_eq!(Credit::credit_of(&19), 90);

		// Round 1: one confirmation, two rejections, one silent: rejected, the confirmer
		// outvoted.
		elect(0, &[15, 16, 17, 18, 19]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [15], true);
		verdicts(0, [17, 18], false);
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(
			Event::PhaseRejected {
				task: 0,
				phase: Phase::Before,
				executor: 19,
				confirmations: 1,
				rejections: 2,
			}
			.into(),
		);
		System::assert_has_event(
			Event::MonitorOutvoted { task: 0, monitor: 15, phase: Phase::Before }.into(),
		);
		assert_eq!(Credit::credit_of(&19), 90 - 5);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Faulted);
		check();
	});
}

#[test]
fn with_no_verdict_at_all_the_phase_is_redrawn_without_blaming_the_executor() {
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(
			Event::PhaseInconclusive {
				task: 0,
				phase: Phase::Before,
				confirmations: 0,
				rejections: 0,
			}
			.into(),
		);
		assert_eq!(Credit::credit_of(&19), 90, "the executor did its part");
		assert_eq!((Credit::credit_of(&17), Credit::credit_of(&18)), (70 - 5, 80 - 5));
		check();
	});
}

#[test]
fn duties_done_by_their_member_are_free_and_failed_calls_pay() {
	use polkadot_sdk::frame_support::dispatch::Pays;
	new_test_ext().execute_with(|| {
		assert_ok!(post(ALICE, requirements(3, 70), 10 * UNIT));
		for w in [17, 19, 18] {
			start_round_0(0);
			let t = Tasks::<Test>::get(0).unwrap();
			let c = sortition::sign(&pair_of(w), 0, &t.seed, t.round);
			let info =
				Calls::claim_seat(RuntimeOrigin::signed(w), 0, 0, t.seed, c.pre_output, c.proof)
					.unwrap();
			assert_eq!(info.pays_fee, Pays::No, "a won seat is claimed for free");
		}
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap() + 1);
		let info = Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		// The first verdict only records: it is weighed as such, not as a settlement.
		let info = Calls::submit_verdict(RuntimeOrigin::signed(17), 0, true).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		assert_eq!(info.actual_weight, Some(<() as crate::WeightInfo>::record_verdict()));
		// A second verdict by the same monitor fails, and a failed call pays in full.
		let err = Calls::submit_verdict(RuntimeOrigin::signed(17), 0, true).unwrap_err();
		assert_eq!(err.error, Error::<Test>::AlreadyVoted.into());
		assert_eq!(err.post_info.pays_fee, Pays::Yes);
		// The last verdict concludes: its weight is the worst case it was charged.
		let info = Calls::submit_verdict(RuntimeOrigin::signed(18), 0, true).unwrap();
		assert_eq!((info.pays_fee, info.actual_weight), (Pays::No, None));
		let info = Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)).unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		let info = Calls::submit_result(
			RuntimeOrigin::signed(19),
			0,
			result_for(1, false),
			after(0, false),
		)
		.unwrap();
		assert_eq!(info.pays_fee, Pays::No);
		check();
	});
}

#[test]
fn an_honest_quote_lands_however_many_blocks_a_busy_chain_makes_meanwhile() {
	new_test_ext().execute_with(|| {
		// The attestation deadline counts blocks (it is the task's own choice); a long one.
		let mut r = requirements(3, 70);
		r.deadlines.attestation = 100;
		assert_ok!(post(ALICE, r, 10 * UNIT));
		elect(0, &[17, 19, 18]);
		// The executor quotes after the latest block; then a burst of unrelated extrinsics
		// makes forty blocks (an instant-seal chain seals one per extrinsic).
		let quote = before(0);
		let now = System::block_number();
		run_to(now + 40);
		assert!(System::block_number() - quote.block > 10, "ten blocks were the old bound");
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, quote));
		check();
	});
}

#[test]
fn no_result_for_free_the_keys_come_only_with_the_payment() {
	new_test_ext().execute_with(|| {
		// Alice owns monitors 17 and 18 of three; 19 runs honestly. The result is on-chain
		// (its CID) but its keys are only committed: Alice's monitors reject the run.
		let mut r = requirements(3, 70);
		r.max_rounds = 1;
		assert_ok!(post(ALICE, r, 10 * UNIT));
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [17, 18], true);
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)));
		assert_ok!(executor_returns(false));
		verdicts(0, [17, 18], false);
		// Refunded, and never given the keys: Alice paid nothing and got nothing.
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Faulted);
		assert!(!crate::RevealedKeys::<Test>::contains_key(0));
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT);
		check();
	});
}

#[test]
fn an_executor_that_does_not_reveal_in_the_chains_window_is_not_paid_and_is_slashed() {
	new_test_ext().execute_with(|| {
		run_to_running(10 * UNIT);
		// A requester's 2-block verdict window does not shorten the reveal: the window is the
		// chain's (`RevealBlocks`), so a requester cannot make an honest executor miss it and
		// read the keys from its late, failed extrinsic.
		Tasks::<Test>::mutate(0, |t| t.as_mut().unwrap().requirements.deadlines.verdicts = 2);
		assert_ok!(executor_returns(false));
		verdicts(0, 10..=18, true);
		let until = Tasks::<Test>::get(0).unwrap().status.deadline().unwrap();
		assert_eq!(until, System::block_number() + u64::from(RevealBlocks::get()));
		run_to(until - 1);
		assert!(matches!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Revealing { .. }));
		run_to(until);
		System::assert_has_event(
			Event::ExecutorMissedReveal { task: 0, executor: 19, slashed: 10 * UNIT }.into(),
		);
		assert!(matches!(
			Tasks::<Test>::get(0).unwrap().status,
			TaskStatus::Sortition { round: 1, .. }
		));
		assert_eq!(escrow(ALICE), 10 * UNIT, "nothing paid for keys never delivered");
		assert_eq!(Balances::balance(&19), WORKER_FREE);
		check();
	});
}

#[test]
fn a_task_pays_for_its_storage_and_its_records_are_reaped_after_retention() {
	new_test_ext().execute_with(|| {
		TaskDeposit::set(&(UNIT / 100));
		let storage = |who| {
			Balances::balance_on_hold(&RuntimeHoldReason::Tasks(HoldReason::TaskStorage), &who)
		};
		run_to_running(10 * UNIT);
		assert_eq!(storage(ALICE), UNIT / 100, "held with the payment");
		assert_ok!(executor_returns(false));
		verdicts(0, 10..=18, true);
		// Open: nothing to reap.
		assert_noop!(Calls::reap_task(RuntimeOrigin::signed(BOB), 0), Error::<Test>::NotEnded);
		reveal(0);
		// Ended: what only an open task needs is gone at once; the rest is kept a while.
		assert!(crate::MonitorVerdicts::<Test>::iter_prefix(0).next().is_none());
		assert!(!ReleasedKeys::<Test>::contains_key(0, 0));
		assert!(Attestations::<Test>::contains_key(0, Phase::After));
		assert_noop!(
			Calls::reap_task(RuntimeOrigin::signed(BOB), 0),
			Error::<Test>::RetentionNotOver
		);
		check();
		// After the retention, anyone may reap it; the deposit goes back to Alice.
		let free = Balances::balance(&ALICE);
		run_to(System::block_number() + Retention::get());
		assert_ok!(Calls::reap_task(RuntimeOrigin::signed(BOB), 0));
		System::assert_last_event(Event::TaskReaped { task: 0, by: BOB }.into());
		assert!(!Tasks::<Test>::contains_key(0));
		assert!(!Attestations::<Test>::contains_key(0, Phase::After));
		assert!(!Results::<Test>::contains_key(0) && !crate::RevealedKeys::<Test>::contains_key(0));
		assert_eq!((storage(ALICE), Balances::balance(&ALICE)), (0, free + UNIT / 100));
		assert_noop!(Calls::reap_task(RuntimeOrigin::signed(BOB), 0), Error::<Test>::UnknownTask);
		check();
	});
}

#[test]
fn a_cancelled_task_frees_its_storage_too() {
	new_test_ext().execute_with(|| {
		TaskDeposit::set(&(UNIT / 100));
		assert_ok!(post(ALICE, requirements(2, 80), 10 * UNIT));
		assert_ok!(Calls::cancel_task(RuntimeOrigin::signed(ALICE), 0));
		assert_eq!(escrow(ALICE), 0);
		check();
		run_to(System::block_number() + Retention::get());
		assert_ok!(Calls::reap_task(RuntimeOrigin::signed(ALICE), 0));
		assert_eq!(Balances::balance(&ALICE), ENDOWMENT);
		check();
	});
}

/// Alice posts a task on her input and Charlie's, for a committee of three (17, 18, 19).
fn post_with_charlie() {
	assert_ok!(Calls::post_task(
		RuntimeOrigin::signed(ALICE),
		0,
		inputs(&[ALICE, CHARLIE]),
		recipients(&[ALICE]),
		requirements(3, 70),
		10 * UNIT
	));
}

#[test]
fn every_other_key_owner_backs_its_keys_before_anyone_works() {
	new_test_ext().execute_with(|| {
		post_with_charlie();
		let back = |who| Calls::back_keys(RuntimeOrigin::signed(who), 0);
		assert_noop!(back(ALICE), Error::<Test>::NoKeysToBack);
		assert_noop!(back(BOB), Error::<Test>::NoKeysToBack);
		// Charlie does not back his key: at the election the task ends, refunded in full,
		// before any member works for it.
		for w in [17, 19, 18] {
			assert_ok!(claim(w, 0));
		}
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(Event::KeysNotBacked { task: 0 }.into());
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Expired);
		assert_eq!((escrow(ALICE), Balances::balance(&ALICE)), (0, ENDOWMENT));
		check();

		// The next task, he backs: two VOUCH for his one key, once.
		post_with_charlie();
		assert_ok!(Calls::back_keys(RuntimeOrigin::signed(CHARLIE), 1));
		System::assert_last_event(
			Event::KeysBacked { task: 1, owner: CHARLIE, bond: 2 * UNIT }.into(),
		);
		assert_noop!(
			Calls::back_keys(RuntimeOrigin::signed(CHARLIE), 1),
			Error::<Test>::AlreadyBacked
		);
		elect(1, &[17, 19, 18]);
		assert_noop!(
			Calls::back_keys(RuntimeOrigin::signed(CHARLIE), 1),
			Error::<Test>::WrongState
		);
		check();
	});
}

#[test]
fn a_key_withheld_by_another_owner_is_paid_by_that_owner_not_the_requester() {
	new_test_ext().execute_with(|| {
		post_with_charlie();
		assert_ok!(Calls::back_keys(RuntimeOrigin::signed(CHARLIE), 0));
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [17, 18], true);
		// Alice releases hers; Charlie withholds his.
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(ALICE), 0, 0, sealed(1)));
		let (executor_before, monitor_before) = (Balances::balance(&19), Balances::balance(&17));
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(
			Event::KeysWithheldByOwner { task: 0, owner: CHARLIE, forfeited: 2 * UNIT }.into(),
		);
		assert_eq!(Tasks::<Test>::get(0).unwrap().status, TaskStatus::Failed);
		// Alice pays nothing; Charlie's bond pays the executor and the two monitors who
		// checked the sandbox; it is on his record.
		assert_eq!((escrow(ALICE), Balances::balance(&ALICE)), (0, ENDOWMENT));
		assert_eq!(Balances::balance(&CHARLIE), ENDOWMENT - 2 * UNIT);
		let third = 2 * UNIT / 3;
		assert_eq!(Balances::balance(&19), executor_before + third + (2 * UNIT - 3 * third));
		assert_eq!(Balances::balance(&17), monitor_before + third);
		assert_eq!(crate::KeysWithheldBy::<Test>::get(CHARLIE), 1);
		assert_eq!(crate::KeysWithheldBy::<Test>::get(ALICE), 0);
		check();
	});
}

#[test]
fn a_key_owner_who_releases_gets_its_bond_back_when_the_task_ends() {
	new_test_ext().execute_with(|| {
		post_with_charlie();
		assert_ok!(Calls::back_keys(RuntimeOrigin::signed(CHARLIE), 0));
		assert_eq!(Balances::balance(&CHARLIE), ENDOWMENT - 2 * UNIT);
		elect(0, &[17, 19, 18]);
		assert_ok!(Calls::attest_before(RuntimeOrigin::signed(19), 0, before(0)));
		verdicts(0, [17, 18], true);
		assert_ok!(Calls::release_key(RuntimeOrigin::signed(CHARLIE), 0, 1, sealed(3)));
		// Alice withholds her own: the task fails at her cost, Charlie is made whole.
		run_to(Tasks::<Test>::get(0).unwrap().status.deadline().unwrap());
		System::assert_has_event(Event::KeysWithheld { task: 0 }.into());
		assert_eq!(Balances::balance(&CHARLIE), ENDOWMENT);
		assert_eq!(crate::KeysWithheldBy::<Test>::get(CHARLIE), 0);
		check();
	});
}
