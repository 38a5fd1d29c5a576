//! A test runtime: frame-system, balances and this pallet.

use crate as pallet_vouch_lambdas;
use polkadot_sdk::{
	frame_support::{derive_impl, parameter_types},
	frame_system, pallet_balances, sp_io,
	sp_runtime::BuildStorage,
};

type Block = frame_system::mocking::MockBlock<Test>;

polkadot_sdk::frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Lambdas: pallet_vouch_lambdas,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u128>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = u128;
	type AccountStore = System;
}

parameter_types! {
	pub const MaxMemoryMib: u32 = 4096;
	pub const MaxTimeLimitSecs: u32 = 3600;
	pub const MaxOutputBytes: u64 = 64 * 1024 * 1024;
	pub const MaxCpuMillicores: u32 = 4000;
}

impl pallet_vouch_lambdas::Config for Test {
	type Currency = Balances;
	type MaxMemoryMib = MaxMemoryMib;
	type MaxTimeLimitSecs = MaxTimeLimitSecs;
	type MaxOutputBytes = MaxOutputBytes;
	type MaxCpuMillicores = MaxCpuMillicores;
	type WeightInfo = ();
}

/// Bob develops lambdas; Alice does not own them.
pub const BOB: u64 = 2;
pub const ALICE: u64 = 1;

/// A fresh chain at block 1 (events are recorded from block 1 on).
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
