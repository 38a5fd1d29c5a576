//! A test runtime with every Vouch pallet the tasks pallet talks to: balances, credit,
//! registry and lambdas, all real; the registry verifies TPM evidence with its test double
//! (`pallet_vouch_registry::test_tpm`), since no TPM can quote for these tests' tasks and
//! blocks. The runtime's verifier is tested on real swtpm quotes in the primitives, the
//! registry and the dev-node tests.

use crate as pallet_vouch_tasks;
use crate::PhaseDeadlines;
use codec::Encode;
use pallet_vouch_lambdas::Manifest;
use pallet_vouch_registry::test_tpm::TestTpm;
use polkadot_sdk::{
	frame_support::{
		assert_ok, derive_impl, parameter_types,
		traits::{fungible::Mutate, ConstU128, ConstU32, ConstU64, Hooks},
	},
	frame_system, pallet_balances,
	sp_core::{sr25519, Pair},
	sp_io::{self, hashing::blake2_256},
	sp_runtime::{traits::Convert, BuildStorage, Perbill},
};
use std::{cell::RefCell, collections::BTreeMap};
use vouch_primitives::settlement::SplitRates;

type Block = frame_system::mocking::MockBlock<Test>;

polkadot_sdk::frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Credit: pallet_vouch_credit,
		Registry: pallet_vouch_registry,
		Lambdas: pallet_vouch_lambdas,
		Tasks: pallet_vouch_tasks,
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
	/// Storage, so that a test can lower it.
	pub storage CapPerPeriod: u32 = 1000;
	pub const CreditPeriod: u64 = 100;
	pub const MissPenalty: u32 = 5;
	pub const ReporterBonus: u32 = 20;
	pub const MinDeposit: u128 = 100 * UNIT;
	pub const UnbondingPeriod: u64 = 10;
	pub const CreditBucketWidth: u32 = 10;
	pub const MaxMemoryMib: u32 = 4096;
	pub const MaxTimeLimitSecs: u32 = 3600;
	pub const MaxOutputBytes: u64 = 1 << 26;
	pub const MaxCpuMillicores: u32 = 4000;
	pub const Split: SplitRates = SplitRates::STANDARD;
	pub const MinPayment: u128 = UNIT;
	pub const KeyBond: u128 = 2 * UNIT;
	/// None by default, so that the other tests' balances read simply; storage, so that the
	/// storage-deposit test sets one.
	pub storage TaskDeposit: u128 = 0;
	pub const Retention: u64 = 50;
	pub const MinCommittee: u32 = 1;
	pub const MaxCommittee: u32 = 10;
	pub const MaxRounds: u32 = 3;
	pub const MinDeadlines: PhaseDeadlines =
		PhaseDeadlines { sortition: 2, attestation: 3, key_release: 2, run: 2, verdicts: 2 };
	pub const RunMarginBlocks: u32 = 5;
	/// The mock lambda's 60 s limit is 5 blocks, so its runs need 10.
	pub const BlockTimeMillis: u64 = 12_000;
	pub const RevealBlocks: u32 = 4;
	pub const MaxPhaseBlocks: u32 = 1000;
	pub const MaxDeadlinesPerBlock: u32 = 4;
	pub const FaultSlash: u128 = 40 * UNIT;
	pub const MissedDutySlash: u128 = 10 * UNIT;
	pub const ReporterShare: Perbill = Perbill::from_percent(50);
}

impl pallet_vouch_credit::Config for Test {
	type GainPerDuty = GainPerDuty;
	type CapPerPeriod = CapPerPeriod;
	type Period = CreditPeriod;
	type MissPenalty = MissPenalty;
	type ReporterBonus = ReporterBonus;
	type OnCreditChange = Registry;
}

impl pallet_vouch_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Credit = Credit;
	type MinDeposit = MinDeposit;
	type UnbondingPeriod = UnbondingPeriod;
	type CreditBucketWidth = CreditBucketWidth;
	type Tpm = TestTpm;
	type Duties = Tasks;
	type Time = NoTime;
	type VrfKey = MockVrfKeys;
	type ActivationVerifiers = ConstU32<3>;
	type ChallengeWindow = ConstU64<10>;
	type AnswerWindow = ConstU64<10>;
	type ActivationRounds = ConstU32<3>;
	type RejectionFee = ConstU128<0>;
	type MaxActivationsPerBlock = ConstU32<16>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = MockVrfKeys;
}

impl pallet_vouch_lambdas::Config for Test {
	type Currency = Balances;
	type MaxMemoryMib = MaxMemoryMib;
	type MaxTimeLimitSecs = MaxTimeLimitSecs;
	type MaxOutputBytes = MaxOutputBytes;
	type MaxCpuMillicores = MaxCpuMillicores;
	type WeightInfo = ();
}

impl pallet_vouch_tasks::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Lambdas = Lambdas;
	type Workers = Registry;
	type Credit = Credit;
	type Split = Split;
	type MinPayment = MinPayment;
	type KeyBond = KeyBond;
	type TaskDeposit = TaskDeposit;
	type Retention = Retention;
	type MinCommittee = MinCommittee;
	type MaxCommittee = MaxCommittee;
	type MaxRounds = MaxRounds;
	type MinDeadlines = MinDeadlines;
	type RunMarginBlocks = RunMarginBlocks;
	type BlockTimeMillis = BlockTimeMillis;
	type RevealBlocks = RevealBlocks;
	type MaxPhaseBlocks = MaxPhaseBlocks;
	type MaxDeadlinesPerBlock = MaxDeadlinesPerBlock;
	type FaultSlash = FaultSlash;
	type MissedDutySlash = MissedDutySlash;
	type ReporterShare = ReporterShare;
	type VrfKey = MockVrfKeys;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = MockVrfKeys;
}

/// The registry's clock: its test TPM double checks no certificate dates, so any time will do.
pub struct NoTime;

impl polkadot_sdk::frame_support::traits::UnixTime for NoTime {
	fn now() -> core::time::Duration {
		core::time::Duration::ZERO
	}
}

/// The sr25519 key pair of mock account `who`: on the real chain an account *is* its key;
/// here accounts are numbers, each with a key derived from it.
pub fn pair_of(who: u64) -> sr25519::Pair {
	sr25519::Pair::from_seed(&blake2_256(&(b"mock-worker", who).encode()))
}

thread_local! {
	/// Accounts given an explicit VRF key (by the benchmarks' helper).
	static VRF_KEYS: RefCell<BTreeMap<u64, [u8; 32]>> = const { RefCell::new(BTreeMap::new()) };
}

/// Mock accounts' VRF keys: [`pair_of`]'s public key unless one was set.
pub struct MockVrfKeys;

impl Convert<u64, [u8; 32]> for MockVrfKeys {
	fn convert(who: u64) -> [u8; 32] {
		VRF_KEYS
			.with(|keys| keys.borrow().get(&who).copied())
			.unwrap_or_else(|| pair_of(who).public().0)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for MockVrfKeys {
	fn account_with_vrf_key(key: [u8; 32]) -> u64 {
		VRF_KEYS.with(|keys| {
			let mut keys = keys.borrow_mut();
			let who = 1_000_000 + keys.len() as u64;
			keys.insert(who, key);
			who
		})
	}

	/// The committed swtpm fixtures' inputs, "quoted" by the test double.
	fn executor_quote(phase: crate::Phase) -> crate::QuoteVector {
		use vouch_primitives::tpm::{
			attest::ClockInfo,
			nonce::{fixture_inputs::*, quote_nonce},
		};
		let evidence = TestTpm::evidence(0xbe, &1u64.encode());
		let tpm = pallet_vouch_registry::RegisteredTpm {
			ek_qualified_name: b"qn-ek:bench".to_vec().try_into().unwrap(),
			ek_key_id: [0xbe; 32],
			ek_public: evidence.ek_public.clone(),
			ak_qualified_name: TestTpm::ak_qualified_name(&evidence).try_into().unwrap(),
			ak_public: evidence.ak_public,
			sealing_public: evidence.sealing_public,
			launch: pallet_vouch_registry::LaunchRecord {
				boot_digest: pallet_vouch_registry::test_tpm::test_boot_state(),
				quote_digest: [0; 32],
				builds: evidence.launch_log,
			},
		};
		let measurements = match phase {
			crate::Phase::Before => MEASUREMENTS,
			crate::Phase::After => AFTER_MEASUREMENTS,
		};
		let clock =
			ClockInfo { clock: 1000 + phase as u64, reset_count: 0, restart_count: 0, safe: true };
		let nonce = quote_nonce(TASK, ROUND, phase, &BLOCK, &measurements);
		let (attest, signature) = TestTpm::quote(&tpm, nonce, clock);
		crate::QuoteVector {
			tpm,
			policy: Default::default(),
			task: TASK,
			block_hash: BLOCK,
			measurements,
			attest,
			signature,
		}
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_vouch_registry::BenchmarkHelper<u64> for MockVrfKeys {
	fn registration() -> (u64, pallet_vouch_registry::TpmEvidence, Vec<Vec<u8>>) {
		(1, TestTpm::evidence(1, &1u64.encode()), vec![b"test-root".to_vec()])
	}

	fn account_with_vrf_key(key: [u8; 32]) -> u64 {
		<Self as crate::BenchmarkHelper<u64>>::account_with_vrf_key(key)
	}
}

/// One token: 12 decimals, as on the chain.
pub const UNIT: u128 = 1_000_000_000_000;
/// The requester.
pub const ALICE: u64 = 1;
/// The developer.
pub const BOB: u64 = 2;
/// A second input owner (the set-intersection story).
pub const CHARLIE: u64 = 3;
/// Workers: 10 ..= 19, registered and active, with credit 10 * (id - 10).
pub const WORKERS: core::ops::RangeInclusive<u64> = 10..=19;
/// Everybody's starting balance.
pub const ENDOWMENT: u128 = 1_000 * UNIT;

/// A chain at block 1 where Bob's lambda 0 (price 3) is published and ten workers are active.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [ALICE, BOB, CHARLIE]
			.into_iter()
			.chain(WORKERS)
			.map(|a| (a, ENDOWMENT))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_vouch_registry::GenesisConfig::<Test> {
		trusted_roots: vec![b"test-root".to_vec()],
		allowed_pcr_digests: vec![pallet_vouch_registry::test_tpm::test_boot_state()],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_vouch_credit::GenesisConfig::<Test> {
		credits: WORKERS.map(|w| (w, 10 * (w as u32 - 10))).collect(),
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		pallet_vouch_registry::test_tpm::allow_test_builds::<Test>();
		assert_ok!(Lambdas::publish(
			RuntimeOrigin::signed(BOB),
			bytes("bafycode"),
			[1; 32],
			bytes("bafyimage"),
			Manifest {
				entrypoint: bytes("/bin/job"),
				args: Default::default(),
				env: Default::default(),
				cpu_millicores: 1000,
				memory_mib: 256,
				time_limit_secs: 60,
				max_output_bytes: 1 << 20,
			},
			3 * UNIT,
			false,
		));
		for w in WORKERS {
			register_worker(w);
		}
	});
	ext
}

/// Registers `w` as a worker (with its bond's funds) and activates it.
pub fn register_worker(w: u64) {
	if Balances::free_balance(w) < 200 * UNIT {
		Balances::set_balance(&w, ENDOWMENT);
	}
	assert_ok!(Registry::register(
		RuntimeOrigin::signed(w),
		TestTpm::evidence(w as u32, &w.encode()),
		bytes("http://127.0.0.1:8700"),
		100 * UNIT
	));
	assert_ok!(Registry::force_activate(RuntimeOrigin::root(), w));
}

fn bytes<S: polkadot_sdk::frame_support::traits::Get<u32>>(
	s: &str,
) -> polkadot_sdk::frame_support::BoundedVec<u8, S> {
	s.as_bytes().to_vec().try_into().unwrap()
}

/// Runs blocks up to and including `n`, with their hooks; each finished block gets a hash,
/// which quotes refer to.
pub fn run_to(n: u64) {
	while System::block_number() < n {
		let done = System::block_number();
		frame_system::BlockHash::<Test>::insert(done, block_hash(done));
		let next = done + 1;
		System::set_block_number(next);
		System::set_parent_hash(block_hash(done));
		Tasks::on_initialize(next);
	}
}

/// The mock chain's hash of block `n`.
pub fn block_hash(n: u64) -> polkadot_sdk::sp_core::H256 {
	blake2_256(&(b"mock-block", n).encode()).into()
}
