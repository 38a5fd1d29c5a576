//! Credit is earned slowly, lost quickly, and never moved.

use crate::{mock::*, CreditLedger, CreditRecord, Credits, Event};
use proptest::prelude::*;

type Ledger = crate::Pallet<Test>;

const EVE: u64 = 5;
const FERDIE: u64 = 6;

#[test]
fn genesis_credit_is_in_place() {
	new_test_ext().execute_with(|| {
		assert_eq!(Ledger::credit_of(&DAVE), 100);
		assert_eq!(Ledger::credit_of(&EVE), 0);
	});
}

#[test]
fn honest_duty_earns_credit_up_to_the_period_cap() {
	new_test_ext().execute_with(|| {
		// Cap 25 per period, 10 per duty: 10, 10, then only 5, then nothing.
		assert_eq!(Ledger::reward_duty(&EVE), 10);
		assert_eq!(Ledger::reward_duty(&EVE), 10);
		assert_eq!(Ledger::reward_duty(&EVE), 5);
		System::assert_last_event(Event::Earned { who: EVE, amount: 5, credit: 25 }.into());
		assert_eq!(Ledger::reward_duty(&EVE), 0);
		assert_eq!(Ledger::credit_of(&EVE), 25);
		assert_eq!(take_changes(), vec![(EVE, 0, 10), (EVE, 10, 20), (EVE, 20, 25)]);

		// The next period opens new room.
		System::set_block_number(100);
		assert_eq!(Ledger::reward_duty(&EVE), 10);
		assert_eq!(
			Credits::<Test>::get(EVE),
			CreditRecord { credit: 35, period: 1, earned_in_period: 10 }
		);
		Ledger::do_try_state().unwrap();
	});
}

#[test]
fn a_missed_duty_costs_a_little_and_never_goes_below_zero() {
	new_test_ext().execute_with(|| {
		assert_eq!(Ledger::penalize_missed_duty(&DAVE), 3);
		System::assert_last_event(Event::Penalized { who: DAVE, amount: 3, credit: 97 }.into());
		assert_eq!(Ledger::reward_duty(&EVE), 10);
		for expected in [3, 3, 3, 1, 0] {
			assert_eq!(Ledger::penalize_missed_duty(&EVE), expected);
		}
		assert_eq!(Ledger::credit_of(&EVE), 0);
	});
}

#[test]
fn a_proven_lie_resets_credit_and_the_reporter_bonus_counts_within_the_cap() {
	new_test_ext().execute_with(|| {
		assert_eq!(Ledger::reset_for_lie(&DAVE), 100);
		System::assert_last_event(Event::Reset { who: DAVE, lost: 100 }.into());
		assert_eq!(Ledger::credit_of(&DAVE), 0);
		// Dave's record is gone entirely: nothing earned this period either.
		assert!(!Credits::<Test>::contains_key(DAVE));

		// Ferdie is at the period's cap: reporting lies earns him nothing more (a ring that
		// reports its own members cannot outpace honest work).
		for _ in 0..3 {
			Ledger::reward_duty(&FERDIE);
		}
		assert_eq!(Ledger::reward_duty(&FERDIE), 0);
		assert_eq!(Ledger::reward_reporter(&FERDIE), 0);
		assert_eq!(Ledger::credit_of(&FERDIE), 25);
		// Next period the bonus is paid up to the cap's room, not beyond.
		System::set_block_number(System::block_number() + Period::get());
		assert_eq!(Ledger::reward_reporter(&FERDIE), 25);
		System::assert_last_event(
			Event::ReporterRewarded { who: FERDIE, amount: 25, credit: 50 }.into(),
		);
		assert_eq!(take_changes().last(), Some(&(FERDIE, 25, 50)));
		assert_eq!(Ledger::reward_duty(&FERDIE), 0, "the bonus used the period's room");
		Ledger::do_try_state().unwrap();
	});
}

#[derive(Clone, Debug)]
enum Op {
	Duty(u64),
	Miss(u64),
	Lie(u64),
	Report(u64),
	Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
	let who = 1u64..=4;
	prop_oneof![
		4 => who.clone().prop_map(Op::Duty),
		2 => who.clone().prop_map(Op::Miss),
		1 => who.clone().prop_map(Op::Lie),
		1 => who.prop_map(Op::Report),
		2 => (1u64..=150).prop_map(Op::Advance),
	]
}

proptest! {
	/// Whatever happens, duty credit per period stays within the cap, the registry hears of
	/// every change (so its buckets match storage), and a lie always leaves zero.
	#[test]
	fn random_histories_keep_the_invariants(ops in prop::collection::vec(op(), 1..120)) {
		new_test_ext().execute_with(|| {
			// What the registry would know, rebuilt from the reported changes only.
			let mut seen: std::collections::BTreeMap<u64, u32> = [(DAVE, 100)].into();
			for op in ops {
				match op {
					Op::Duty(w) => {
						let before = Ledger::credit_of(&w);
						let gained = Ledger::reward_duty(&w);
						prop_assert!(gained <= 10);
						prop_assert_eq!(Ledger::credit_of(&w), before + gained);
					},
					Op::Miss(w) => { Ledger::penalize_missed_duty(&w); },
					Op::Lie(w) => {
						Ledger::reset_for_lie(&w);
						prop_assert_eq!(Ledger::credit_of(&w), 0);
					},
					Op::Report(w) => { Ledger::reward_reporter(&w); },
					Op::Advance(n) => System::set_block_number(System::block_number() + n),
				}
				for (who, old, new) in take_changes() {
					prop_assert_eq!(seen.get(&who).copied().unwrap_or(0), old);
					seen.insert(who, new);
				}
				Ledger::do_try_state().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
			}
			for who in 1u64..=4 {
				prop_assert_eq!(seen.get(&who).copied().unwrap_or(0), Ledger::credit_of(&who));
			}
			Ok(())
		})?;
	}
}
