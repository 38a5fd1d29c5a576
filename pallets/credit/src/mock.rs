//! A test runtime: frame-system and this pallet, with a recorder of credit changes standing in
//! for the registry.

use crate as pallet_vouch_credit;
use crate::OnCreditChange;
/// The score type (the name `Credit` is the pallet's in this runtime).
type Score = crate::Credit;
use core::cell::RefCell;
use polkadot_sdk::{
	frame_support::{derive_impl, parameter_types},
	frame_system, sp_io,
	sp_runtime::BuildStorage,
};

type Block = frame_system::mocking::MockBlock<Test>;

polkadot_sdk::frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Credit: pallet_vouch_credit,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

parameter_types! {
	pub const GainPerDuty: Score = 10;
	pub const CapPerPeriod: Score = 25;
	pub const Period: u64 = 100;
	pub const MissPenalty: Score = 3;
	pub const ReporterBonus: Score = 50;
}

thread_local! {
	/// Every change reported to `OnCreditChange`, in order.
	pub static CHANGES: RefCell<Vec<(u64, Score, Score)>> = const { RefCell::new(Vec::new()) };
}

/// Records what the registry would be told.
pub struct RecordChanges;
impl OnCreditChange<u64> for RecordChanges {
	fn credit_changed(who: &u64, old: Score, new: Score) {
		CHANGES.with(|c| c.borrow_mut().push((*who, old, new)));
	}
}

/// The changes reported so far, clearing the record.
pub fn take_changes() -> Vec<(u64, Score, Score)> {
	CHANGES.with(|c| core::mem::take(&mut *c.borrow_mut()))
}

impl pallet_vouch_credit::Config for Test {
	type GainPerDuty = GainPerDuty;
	type CapPerPeriod = CapPerPeriod;
	type Period = Period;
	type MissPenalty = MissPenalty;
	type ReporterBonus = ReporterBonus;
	type OnCreditChange = RecordChanges;
}

/// Dave starts with credit 100 at genesis; everybody else with none.
pub const DAVE: u64 = 4;

/// A fresh chain at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_vouch_credit::GenesisConfig::<Test> { credits: vec![(DAVE, 100)] }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		take_changes();
	});
	ext
}
