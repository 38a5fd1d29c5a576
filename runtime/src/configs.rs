//! Pallet configurations: the numbers that make this chain Vouch's.

use crate::*;
use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		ConstantMultiplier, IdentityFee, Weight,
	},
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use polkadot_sdk::{
	sp_consensus_aura::sr25519::AuthorityId as AuraId,
	sp_runtime::{traits::One, Perbill},
};

/// The fee per byte of an extrinsic (see `LengthToFee`).
pub const LENGTH_FEE_PER_BYTE: Balance = 2 * MICRO_UNIT;

/// Normal transactions may fill 75% of a block; the rest is kept for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute per block, a third of the Aura slot and ample on the dev seal.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// 5 MiB per block, of which normal transactions may fill 75%.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	/// Generic Substrate prefix: addresses start with `5`.
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = RocksDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	// One block per slot: an author cannot fill a slot with competing blocks.
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = polkadot_sdk::sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Fees do not float with congestion: what `payment_queryInfo` predicts is what is paid.
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	// Fees are burnt: no author or treasury takes them.
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	/// Two millionths of a VOUCH a byte, so that block space is not cheaper than block
	/// weight: filling the normal share of one block (3.75 MiB) costs 7.9 VOUCH, and keeping a
	/// duty out of its shortest window (5 blocks) by stuffing costs about 40 VOUCH, more than
	/// any slash it could cause. A large call stays cheap: a worker's `register` (a few KB of
	/// TPM evidence) costs about a hundredth of a VOUCH.
	type LengthToFee = ConstantMultiplier<Balance, ConstU128<{ LENGTH_FEE_PER_BYTE }>>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

/// Batches: root allows an executor's builds in one transaction, users batch their calls.
impl pallet_utility::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type PalletsOrigin = OriginCaller;
	type WeightInfo = pallet_utility::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// A job may ask for at most 16 GiB of memory.
	pub const MaxMemoryMib: u32 = 16 * 1024;
	/// A job may run for at most an hour.
	pub const MaxTimeLimitSecs: u32 = 3600;
	/// A job's result may be at most 256 MiB.
	pub const MaxOutputBytes: u64 = 256 * 1024 * 1024;
	/// A job may use at most 16 cores.
	pub const MaxCpuMillicores: u32 = 16_000;
}

impl pallet_vouch_lambdas::Config for Runtime {
	type Currency = Balances;
	type MaxMemoryMib = MaxMemoryMib;
	type MaxTimeLimitSecs = MaxTimeLimitSecs;
	type MaxOutputBytes = MaxOutputBytes;
	type MaxCpuMillicores = MaxCpuMillicores;
	type WeightInfo = crate::weights::pallet_vouch_lambdas::WeightInfo<Runtime>;
}

/// Blocks in a day at one block per Aura slot.
pub const DAYS: BlockNumber = (24 * 60 * 60 * 1000 / SLOT_DURATION) as BlockNumber;

parameter_types! {
	/// Credit periods last a day: a worker earns at most `CapPerPeriod` a day.
	pub const CreditPeriod: BlockNumber = DAYS;
}

impl pallet_vouch_credit::Config for Runtime {
	/// One point per honest duty...
	type GainPerDuty = ConstU32<1>;
	/// ...and at most ten a day: a minimum credit of 100 takes ten days of honest work.
	type CapPerPeriod = ConstU32<10>;
	type Period = CreditPeriod;
	/// A missed duty costs five duties' worth.
	type MissPenalty = ConstU32<5>;
	/// Catching a liar is worth two days of duty.
	type ReporterBonus = ConstU32<20>;
	/// The registry keeps its eligibility buckets from these changes.
	type OnCreditChange = Registry;
}

parameter_types! {
	/// A worker bonds at least 100 VOUCH.
	pub const MinWorkerDeposit: Balance = 100 * UNIT;
	/// A leaving worker's deposit stays slashable for a day.
	pub const WorkerUnbondingPeriod: BlockNumber = DAYS;
	/// A newcomer that never answers its challenges forfeits 1 VOUCH of its bond.
	pub const ActivationRejectionFee: Balance = UNIT;
}

impl pallet_vouch_registry::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Credit = Credit;
	type MinDeposit = MinWorkerDeposit;
	type UnbondingPeriod = WorkerUnbondingPeriod;
	/// Minimum credits are multiples of 10 (one day of capped duty).
	type CreditBucketWidth = ConstU32<10>;
	/// RustCrypto's P-256, P-384, RSA and X.509 inside the runtime (no host functions).
	type Tpm = pallet_vouch_registry::RustCryptoTpm;
	/// A worker's bond stays while it sits on an elected committee of an open task.
	type Duties = Tasks;
	/// EK certificates must be valid at the block's timestamp.
	type Time = Timestamp;
	/// A worker's account is its sr25519 key: its VRF key.
	type VrfKey = AccountIsVrfKey;
	/// Three verifiers each hold a secret the newcomer's TPM must recover.
	type ActivationVerifiers = ConstU32<3>;
	/// Ten blocks (30 s at 3 s slots) for the verifiers, twenty for the answer.
	type ChallengeWindow = ConstU32<10>;
	type AnswerWindow = ConstU32<20>;
	type ActivationRounds = ConstU32<3>;
	type RejectionFee = ActivationRejectionFee;
	type MaxActivationsPerBlock = ConstU32<16>;
	type WeightInfo = crate::weights::pallet_vouch_registry::WeightInfo<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = SwtpmFixtures;
}

parameter_types! {
	/// DESIGN §7: burn 10%, then the developer's price, then half to the executor.
	pub const SettlementSplit: vouch_primitives::settlement::SplitRates =
		vouch_primitives::settlement::SplitRates::STANDARD;
	/// A phase may take up to a day.
	pub const MaxPhaseBlocks: u32 = DAYS;
	pub const MinDeadlines: pallet_vouch_tasks::PhaseDeadlines = pallet_vouch_tasks::PhaseDeadlines {
		sortition: 5,
		attestation: 10,
		key_release: 5,
		run: 10,
		verdicts: 5,
	};
	pub const ReporterShare: polkadot_sdk::sp_runtime::Perbill =
		polkadot_sdk::sp_runtime::Perbill::from_percent(50);
}

impl pallet_vouch_tasks::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Lambdas = Lambdas;
	type Workers = Registry;
	type Credit = Credit;
	type Split = SettlementSplit;
	/// One VOUCH: every task burns at least a tenth of it.
	type MinPayment = ConstU128<UNIT>;
	/// Two VOUCH per key a co-owner or the developer of encrypted code owes a task.
	type KeyBond = ConstU128<{ 2 * UNIT }>;
	/// A hundredth of a VOUCH per task for its storage (a task with the most inputs and
	/// recipients takes about 8 KB), back when its records are reaped.
	type TaskDeposit = ConstU128<{ UNIT / 100 }>;
	/// A day: lies found after settlement can still be proven, and recipients read their
	/// result and keys.
	type Retention = ConstU32<DAYS>;
	/// One member (an executor alone, no monitors) is allowed for development.
	type MinCommittee = ConstU32<1>;
	type MaxCommittee = ConstU32<{ pallet_vouch_tasks::MAX_COMMITTEE }>;
	type MaxRounds = ConstU32<5>;
	/// Per phase, what a worker that acts only on finalized blocks needs (GRANDPA finality
	/// lags a few blocks behind the head on the testnet): a claim window of 5 blocks, 10 for
	/// the `Before` quote (fetching and loading the image first), 5 for the owners' key
	/// release, 10 for the run (and never less than the lambda's limit plus
	/// `RunMarginBlocks`), 5 for the verdicts.
	type MinDeadlines = MinDeadlines;
	/// A minute beyond the lambda's own limit: fetching and opening the inputs, the `After`
	/// quote, and the finality lag of the result's submission.
	type RunMarginBlocks = ConstU32<20>;
	type BlockTimeMillis = ConstU64<SLOT_DURATION>;
	/// Half a minute to reveal the result keys, whatever the requester chose.
	type RevealBlocks = ConstU32<10>;
	type MaxPhaseBlocks = MaxPhaseBlocks;
	/// Bounds `on_initialize`. Measured worst case (every task settling a 32-member committee
	/// at its deadline) with the dev-profile node: 28 to 56 ms per task depending on the
	/// host's load, so 16 take a quarter to under half of the block weight; electing a
	/// 32-seat committee costs about 2.5 ms.
	type MaxDeadlinesPerBlock = ConstU32<16>;
	/// A quarter of the minimum worker deposit.
	type FaultSlash = ConstU128<{ 25 * UNIT }>;
	/// A tenth of the minimum worker deposit: a missed deadline is seen by the chain itself,
	/// but may be an outage rather than a lie.
	type MissedDutySlash = ConstU128<{ 10 * UNIT }>;
	/// Half a liar's slash to the committee member who proved it, half burnt: reporting a
	/// lie pays, and a ring reporting its own member still loses.
	type ReporterShare = ReporterShare;
	type VrfKey = AccountIsVrfKey;
	type WeightInfo = crate::weights::pallet_vouch_tasks::WeightInfo<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = SwtpmFixtures;
}

/// A worker's account id is its sr25519 public key, which doubles as its VRF key.
pub struct AccountIsVrfKey;

impl polkadot_sdk::sp_runtime::traits::Convert<AccountId, [u8; 32]> for AccountIsVrfKey {
	fn convert(who: AccountId) -> [u8; 32] {
		who.into()
	}
}

/// The benchmarks' TPM evidence: made by a real swtpm and committed with
/// `vouch_primitives::tpm::fixtures` (no TPM can sign inside the runtime).
#[cfg(feature = "runtime-benchmarks")]
pub struct SwtpmFixtures;

#[cfg(feature = "runtime-benchmarks")]
mod swtpm_fixtures {
	use super::*;
	use alloc::{vec, vec::Vec};
	use pallet_vouch_registry::{QuotePolicy, RegisteredTpm, TpmEvidence};
	use polkadot_sdk::frame_support::{traits::Get, BoundedVec};
	use vouch_primitives::{
		tpm::{fixtures::*, nonce::fixture_inputs},
		Phase,
	};

	fn bounded<S: Get<u32>>(bytes: &[u8]) -> BoundedVec<u8, S> {
		bytes.to_vec().try_into().expect("fixtures within the bounds")
	}

	impl pallet_vouch_registry::BenchmarkHelper<AccountId> for SwtpmFixtures {
		fn registration() -> (AccountId, TpmEvidence, Vec<Vec<u8>>) {
			// The chain's time: one at which the fixture certificates are valid.
			pallet_timestamp::Now::<Runtime>::put(valid_at() * 1000);
			let evidence = TpmEvidence::try_from(registration_evidence())
				.expect("the fixtures fit the bounds");
			(fixture_inputs::ACCOUNT.into(), evidence, vec![ROOT.to_vec()])
		}

		fn account_with_vrf_key(key: [u8; 32]) -> AccountId {
			key.into()
		}
	}

	impl pallet_vouch_tasks::BenchmarkHelper<AccountId> for SwtpmFixtures {
		fn account_with_vrf_key(key: [u8; 32]) -> AccountId {
			key.into()
		}

		fn executor_quote(phase: Phase) -> pallet_vouch_tasks::QuoteVector {
			let verified = verified_tpm();
			let (measurements, attest, signature) = match phase {
				Phase::Before => (fixture_inputs::MEASUREMENTS, QUOTE_ATTEST, QUOTE_SIGNATURE),
				Phase::After => {
					(fixture_inputs::AFTER_MEASUREMENTS, QUOTE_AFTER_ATTEST, QUOTE_AFTER_SIGNATURE)
				},
			};
			pallet_vouch_tasks::QuoteVector {
				tpm: RegisteredTpm {
					ek_qualified_name: bounded(&verified.ek_qualified_name),
					ak_qualified_name: bounded(&verified.ak_qualified_name),
					ek_key_id: verified.ek_key_id,
					ek_public: bounded(EK_PUBLIC),
					ak_public: bounded(AK_PUBLIC),
					sealing_public: bounded(SEALING_PUBLIC),
					launch: pallet_vouch_registry::LaunchRecord {
						boot_digest: launch_state().boot_digest,
						quote_digest: launch_state().quote_digest,
						builds: BoundedVec::truncate_from(fixture_inputs::LAUNCH_LOG.to_vec()),
					},
				},
				policy: QuotePolicy {
					allowed_digests: vec![boot_state()].try_into().expect("one digest"),
				},
				task: fixture_inputs::TASK,
				block_hash: fixture_inputs::BLOCK,
				measurements,
				attest: attest.to_vec(),
				signature: signature.to_vec(),
			}
		}
	}
}
