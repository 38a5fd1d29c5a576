//! A test runtime: frame-system, balances (with holds), credit and this pallet, with the TPM
//! verifier's test double ([`crate::test_tpm`]; the real verifier is tested with swtpm evidence
//! in `tests.rs` too, through [`RealTpm`]).

use crate as pallet_vouch_registry;
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
		Credit: pallet_vouch_credit,
		Registry: pallet_vouch_registry,
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
	type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
	pub const GainPerDuty: u32 = 10;
	pub const CapPerPeriod: u32 = 1000;
	pub const Period: u64 = 100;
	pub const MissPenalty: u32 = 5;
	pub const ReporterBonus: u32 = 20;
}

impl pallet_vouch_credit::Config for Test {
	type GainPerDuty = GainPerDuty;
	type CapPerPeriod = CapPerPeriod;
	type Period = Period;
	type MissPenalty = MissPenalty;
	type ReporterBonus = ReporterBonus;
	type OnCreditChange = Registry;
}

parameter_types! {
	pub const MinDeposit: u128 = 100;
	pub const UnbondingPeriod: u64 = 10;
	pub const CreditBucketWidth: u32 = 50;
	pub const ActivationVerifiers: u32 = 3;
	pub const ChallengeWindow: u64 = 5;
	pub const AnswerWindow: u64 = 5;
	pub const ActivationRounds: u32 = 2;
	pub const RejectionFee: u128 = 10;
	pub const MaxActivationsPerBlock: u32 = 4;
}

/// Each account's sr25519 key: account `n`'s pair is [`pair`]`(n)`.
pub struct MockVrfKeys;

impl polkadot_sdk::sp_runtime::traits::Convert<u64, [u8; 32]> for MockVrfKeys {
	fn convert(who: u64) -> [u8; 32] {
		use polkadot_sdk::sp_core::Pair as _;
		pair(who).public().0
	}
}

/// Account `who`'s sr25519 pair (its VRF key).
pub fn pair(who: u64) -> polkadot_sdk::sp_core::sr25519::Pair {
	use polkadot_sdk::sp_core::Pair as _;
	polkadot_sdk::sp_core::sr25519::Pair::from_seed(&polkadot_sdk::sp_crypto_hashing::blake2_256(
		&codec::Encode::encode(&(b"worker", who)),
	))
}

impl pallet_vouch_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Credit = Credit;
	type MinDeposit = MinDeposit;
	type UnbondingPeriod = UnbondingPeriod;
	type CreditBucketWidth = CreditBucketWidth;
	type Tpm = crate::test_tpm::TestTpm;
	type Duties = MockDuties;
	type Time = MockTime;
	type VrfKey = MockVrfKeys;
	type ActivationVerifiers = ActivationVerifiers;
	type ChallengeWindow = ChallengeWindow;
	type AnswerWindow = AnswerWindow;
	type ActivationRounds = ActivationRounds;
	type RejectionFee = RejectionFee;
	type MaxActivationsPerBlock = MaxActivationsPerBlock;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TestTpmWorker;
}

std::thread_local! {
	/// Open duties per worker, as the tasks pallet would count them.
	pub static OPEN_DUTIES: core::cell::RefCell<std::collections::BTreeMap<u64, u32>> =
		const { core::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

/// The tasks pallet's side, stood in for: the registry only reads a count of open seats.
pub struct MockDuties;

impl crate::OpenDuties<u64> for MockDuties {
	fn open_duties(who: &u64) -> u32 {
		OPEN_DUTIES.with(|d| d.borrow().get(who).copied().unwrap_or(0))
	}
}

/// Gives `who` `n` open seats.
pub fn set_open_duties(who: u64, n: u32) {
	OPEN_DUTIES.with(|d| d.borrow_mut().insert(who, n));
}

/// The chain's time, as the timestamp pallet would give it: one at which the swtpm fixtures'
/// EK chain is valid.
pub struct MockTime;

impl polkadot_sdk::frame_support::traits::UnixTime for MockTime {
	fn now() -> core::time::Duration {
		core::time::Duration::from_secs(vouch_primitives::tpm::fixtures::valid_at())
	}
}

/// The benchmarks' worker: account 1 with test TPM 1.
#[cfg(feature = "runtime-benchmarks")]
pub struct TestTpmWorker;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for TestTpmWorker {
	fn registration() -> (u64, crate::TpmEvidence, Vec<Vec<u8>>) {
		use codec::Encode;
		(1, crate::test_tpm::TestTpm::evidence(1, &1u64.encode()), vec![b"test-root".to_vec()])
	}

	fn account_with_vrf_key(key: [u8; 32]) -> u64 {
		use polkadot_sdk::sp_runtime::traits::Convert;
		(0..1_000).find(|n| MockVrfKeys::convert(*n) == key).expect("a mock account's key")
	}
}

/// Workers 1..=6 hold 1_000 each; 7 holds only 50.
pub const POOR: u64 = 7;

/// A fresh chain at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=6).map(|who| (who, 1_000)).chain([(POOR, 50)]).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_vouch_registry::GenesisConfig::<Test> {
		trusted_roots: vec![b"test-root".to_vec()],
		allowed_pcr_digests: vec![crate::test_tpm::test_boot_state()],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		crate::test_tpm::allow_test_builds::<Test>();
	});
	ext
}
