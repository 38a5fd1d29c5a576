//! # Tasks
//!
//! Alice's side of Vouch (DESIGN §1 step 2, §3): a requester posts a task against a lambda,
//! with her inputs, the result's recipients, her requirements and a payment. The payment is held
//! in **escrow** from that moment and leaves it exactly once, along exactly one exit path.
//!
//! ## Escrow
//! Escrow is a hold ([`HoldReason::TaskEscrow`]) on the requester's own account rather than a
//! transfer to a pallet account: the funds cannot be spent while the task is open, every unit is
//! attributable to its task in the requester's balance (wallets show it as held), and each exit
//! is one balances operation (release, burn, or transfer on hold). The invariant, checked by
//! [`Pallet::do_try_state`]: for every requester, the escrow held equals the sum of the payments
//! of its open tasks.
//!
//! ## Life cycle
//! `Posted` (round 0 starts next block) → `Sortition(round)` → `Elected` (executor attests
//! `Before`) → `Attesting(Before)` (monitors' verdicts) → `KeyRelease` (every input owner, and
//! the developer of encrypted code, releases its key sealed to the executor's TPM) →
//! `Running` (the executor submits the result, a commitment to its keys and its `After`
//! evidence) → `Attesting(After)` → `Revealing` (the executor reveals the keys) → `Settled`.
//! Exits:
//! - `Settled`: the split of `vouch_primitives::settlement` (burn, price, executor, honest
//!   monitors; an unpaid monitor seat back to the requester);
//! - `Failed`: the job failed by its own fault, or the requester withheld a key: the committee
//!   is paid, the developer's price goes back to the requester, the lambda counts a failure
//!   (only for the job's own failure); or another key owner withheld one: its key bond pays
//!   the committee and the requester is refunded in full;
//! - `Faulted`: no round was left after executors missed deadlines (credit; after key
//!   release also `MissedDutySlash`), were
//!   rejected by a majority of the verdicts cast (credit only), were proven to lie
//!   (`FaultSlash`, credit reset), or the verdicts were inconclusive: full refund;
//! - `Expired` (no committee in any round, or keys not backed) and `Cancelled` (withdrawn
//!   before any claim): full refund.
//!
//! Every open state has a deadline; [`Hooks::on_initialize`] handles those falling due, at
//! most [`Config::MaxDeadlinesPerBlock`] a block, the rest in the next blocks. A monitor
//! without a verdict at the deadline loses credit; one whose verdicts confirmed every phase is
//! paid and earns credit. An ended task's records are kept `Retention` blocks, then anyone may
//! reap them ([`Pallet::reap_task`]), returning the requester's storage deposit.
//!
//! ## Committee formation: VRF sortition (DESIGN §4)
//! Each round has a public seed. Every active worker with the task's minimum credit evaluates
//! its sr25519 VRF on it (the transcript of `vouch_primitives::sortition`) and, if its draw is
//! below the round's threshold, claims a seat with [`Pallet::claim_seat`]; the runtime verifies
//! the proof. The threshold is set from the number of eligible workers when the round started
//! (read from the registry's per-bucket counts, never by iterating over workers), so that the
//! committee has the task's `committee_size` members on average. Seats are bounded by
//! `MaxCommittee`: a lower draw evicts the highest. When the round's window closes with at
//! least half the target size seated, the member with the highest credit (ties: the
//! lowest draw) becomes the executor; otherwise a new round with a new seed starts, and after
//! the last round the task expires, refunded in full. [`Pallet::sortition_record`] (also a
//! runtime API) gives a client everything needed to re-check a committee.
//!
//! ## Code layout
//! As in `pallet-broker`, this file is the pallet's face: its config, storage, events, errors,
//! hooks and calls. Each call checks its origin and hands over to its `do_*` function in
//! `dispatchable_impls`; the hook's walk of the deadline queue, and what each deadline means,
//! is in `tick_impls`. Both move a task on through `lifecycle`, the state machine (the deadline
//! queue's entries, round starts, election, phase entry and conclusion, key release closing,
//! retry or fault, settlement, seats), which uses the quote checks in `attestation` and every
//! exit of the payment from escrow in `escrow`. The records and their small methods are in
//! `types`, the invariants in `try_state`. The files call one way, each only those below it:
//! this file → `dispatchable_impls`, `tick_impls` → `lifecycle` → `attestation`, `escrow` →
//! `types` (the calls also use `attestation` and `escrow` directly, for quotes and deposits).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

pub mod runtime_api;
pub mod weights;

mod attestation;
mod dispatchable_impls;
mod escrow;
mod lifecycle;
mod tick_impls;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
mod types;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

/// What the benchmarks need from the runtime: VRF proofs and TPM quotes cannot be made inside
/// the wasm runtime, so the benchmarks carry precomputed ones and need the account of their key.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// The account whose VRF key (see [`Config::VrfKey`]) is `key`.
	fn account_with_vrf_key(key: [u8; 32]) -> AccountId;
	/// A TPM quote for `phase` that the runtime's verifier accepts, with what it was made for.
	fn executor_quote(phase: Phase) -> QuoteVector;
}

/// A TPM quote made outside the runtime, with its TPM and inputs: the benchmarks write those
/// into the chain's state so that the quote verifies there.
#[cfg(feature = "runtime-benchmarks")]
pub struct QuoteVector {
	/// The quoting TPM, as the registry would keep it.
	pub tpm: pallet_vouch_registry::RegisteredTpm,
	/// A quote policy its boot state satisfies.
	pub policy: pallet_vouch_registry::QuotePolicy,
	/// The quoted task.
	pub task: vouch_primitives::TaskId,
	/// The hash of the block the quote was made after.
	pub block_hash: [u8; 32],
	/// What was measured.
	pub measurements: Measurements,
	/// The quote (TPMS_ATTEST).
	pub attest: alloc::vec::Vec<u8>,
	/// Its signature (TPMT_SIGNATURE).
	pub signature: alloc::vec::Vec<u8>,
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;
	use pallet_vouch_credit::CreditLedger;
	use pallet_vouch_lambdas::LambdaRegistry;
	use pallet_vouch_registry::WorkerRegistry;
	use polkadot_sdk::{
		frame_support::{
			dispatch::PostDispatchInfo,
			pallet_prelude::*,
			traits::fungible::{self, MutateHold},
		},
		frame_system::{self, pallet_prelude::*},
		sp_runtime::{traits::Convert, Perbill, Weight},
	};
	use vouch_primitives::{
		settlement::SplitRates,
		sortition::{self, Draw, SortitionRecord},
		LambdaId, TaskId,
	};

	/// The balance type of the payment currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A task as this runtime stores it.
	pub type TaskOf<T> =
		crate::types::Task<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	/// A task's status as this runtime stores it.
	pub type StatusOf<T> = TaskStatus<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
	/// A quote as this runtime takes it.
	pub type QuoteOf<T> = Quote<BlockNumberFor<T>>;
	/// The evidence of a lie, with this runtime's block number.
	pub type LieEvidenceOf<T> = LieEvidence<BlockNumberFor<T>>;
	/// An attestation as this runtime keeps it.
	pub type AttestationOf<T> =
		Attestation<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why the tasks pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A task's payment, held on the requester's account until the task ends.
		TaskEscrow,
		/// A task's storage deposit, held on the requester's account until the ended task's
		/// records are removed ([`Pallet::reap_task`]).
		TaskStorage,
		/// A key owner's bond for the keys it owes a task (as another input's owner, or the
		/// developer of encrypted code), held until the task ends.
		KeyBond,
	}

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency payments are made and held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which this pallet's [`HoldReason`] is one.
		type RuntimeHoldReason: From<HoldReason>;
		/// The published lambdas.
		type Lambdas: LambdaRegistry<Self::AccountId, BalanceOf<Self>>;
		/// The registered workers.
		type Workers: WorkerRegistry<Self::AccountId, BalanceOf<Self>>;
		/// The workers' credit.
		type Credit: CreditLedger<Self::AccountId>;
		/// The settlement split: a payment must cover the lambda's price plus the burn.
		type Split: Get<SplitRates>;
		/// Held from the requester for the storage a task takes, returned when its records are
		/// removed after `Retention`.
		#[pallet::constant]
		type TaskDeposit: Get<BalanceOf<Self>>;
		/// Blocks an ended task's records (its attestations for lie reports, its result and
		/// keys for its recipients) are kept before anyone may remove them.
		#[pallet::constant]
		type Retention: Get<BlockNumberFor<Self>>;
		/// Held per key slot from every key owner other than the requester, who backs its keys
		/// before the committee is elected ([`Pallet::back_keys`]): a key withheld is paid for
		/// from it, to the committee, and not by the requester.
		#[pallet::constant]
		type KeyBond: Get<BalanceOf<Self>>;
		/// Smallest payment a task may carry: every task burns its share of at least this
		/// much, so neither a flood of tasks nor a ring posting to itself comes for free.
		#[pallet::constant]
		type MinPayment: Get<BalanceOf<Self>>;
		/// Smallest committee a task may ask for.
		#[pallet::constant]
		type MinCommittee: Get<u32>;
		/// Largest committee a task may ask for (at most [`MAX_COMMITTEE`]).
		#[pallet::constant]
		type MaxCommittee: Get<u32>;
		/// Most committee rounds a task may ask for.
		#[pallet::constant]
		type MaxRounds: Get<u32>;
		/// Shortest deadline of each phase, in blocks: long enough for a worker that acts
		/// only on finalized blocks (finality lag) to prepare and submit its part, so that no
		/// requester can set a deadline an honest committee cannot meet.
		#[pallet::constant]
		type MinDeadlines: Get<PhaseDeadlines>;
		/// Blocks the run deadline must leave beyond the lambda's own time limit: fetching
		/// and opening the inputs, the `After` quote and the finality lag of its submission.
		#[pallet::constant]
		type RunMarginBlocks: Get<u32>;
		/// The chain's block time, in milliseconds: converts a lambda's time limit (seconds)
		/// into blocks for the run deadline.
		#[pallet::constant]
		type BlockTimeMillis: Get<u64>;
		/// Blocks the executor has to reveal the result keys once `After` is confirmed. The
		/// chain's, not the requester's: a requester who chose a short window could make an
		/// honest executor miss it, then read the keys from its late, failed extrinsic.
		#[pallet::constant]
		type RevealBlocks: Get<u32>;
		/// Longest phase deadline, in blocks.
		#[pallet::constant]
		type MaxPhaseBlocks: Get<u32>;
		/// Most deadlines the hook handles in one block: bounds its work. More may fall in a
		/// block; those wait for the next blocks.
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;
		/// Deposit taken from an executor whose attestation its own TPM proved a lie.
		#[pallet::constant]
		type FaultSlash: Get<BalanceOf<Self>>;
		/// Deposit burnt from an executor that let its result or reveal deadline pass (after key
		/// release; a missed `Before` attestation costs credit only).
		#[pallet::constant]
		type MissedDutySlash: Get<BalanceOf<Self>>;
		/// Share of a proven liar's slash paid to the committee member who proved it; the rest
		/// is burnt. A ring reporting its own member's lie thus loses the rest.
		#[pallet::constant]
		type ReporterShare: Get<Perbill>;
		/// A worker's sr25519 VRF public key. On Vouch a worker's account id is its sr25519
		/// key, and doubles as its VRF key.
		type VrfKey: Convert<Self::AccountId, [u8; 32]>;
		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
		/// Makes the accounts whose VRF keys the benchmarks' precomputed proofs belong to.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// The id the next posted task gets.
	#[pallet::storage]
	pub type NextTaskId<T> = StorageValue<_, TaskId, ValueQuery>;

	/// Every task, open or ended.
	#[pallet::storage]
	pub type Tasks<T: Config> = StorageMap<_, Blake2_128Concat, TaskId, TaskOf<T>>;

	/// The tasks whose current deadline falls in a block, keyed by block then task: a block's
	/// queue is as long as the deadlines falling in it, so scheduling never fails, and the
	/// hook handles at most `MaxDeadlinesPerBlock` a block (see [`Backlog`]). An entry is
	/// removed when its task moves on early.
	#[pallet::storage]
	pub type Deadlines<T: Config> =
		StorageDoubleMap<_, Twox64Concat, BlockNumberFor<T>, Twox64Concat, TaskId, ()>;

	/// The earliest block with deadlines the hook could not handle yet (its block had more
	/// than `MaxDeadlinesPerBlock`); `None` when every deadline due is handled.
	#[pallet::storage]
	pub type Backlog<T: Config> = StorageValue<_, BlockNumberFor<T>>;

	/// The monitors' verdicts on a task's current round.
	#[pallet::storage]
	pub type MonitorVerdicts<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		TaskId,
		Blake2_128Concat,
		T::AccountId,
		Verdicts,
		ValueQuery,
	>;

	/// The executor's verified attestations of a task's current round (or, once the task is
	/// over, its last round), per phase.
	#[pallet::storage]
	pub type Attestations<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, TaskId, Twox64Concat, Phase, AttestationOf<T>>;

	/// Keys released to a task's executor, sealed to its TPM: slot `i < inputs` is input `i`'s,
	/// slot `inputs` the code key of an encrypted lambda.
	#[pallet::storage]
	pub type ReleasedKeys<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, TaskId, Twox64Concat, u32, SealedKey>;

	/// The result of each task that produced one: where its recipients fetch it.
	#[pallet::storage]
	pub type Results<T: Config> = StorageMap<_, Blake2_128Concat, TaskId, TaskResult>;

	/// The result keys of each settled task, sealed to its recipients: revealed by the
	/// executor once the run was confirmed, in the transaction that pays it.
	#[pallet::storage]
	pub type RevealedKeys<T: Config> = StorageMap<_, Blake2_128Concat, TaskId, ResultKeys>;

	/// The bonds key owners other than the requester hold for a task's keys.
	#[pallet::storage]
	pub type KeyBonds<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, TaskId, Blake2_128Concat, T::AccountId, BalanceOf<T>>;

	/// How many tasks' keys each account withheld: its public record as a key owner.
	#[pallet::storage]
	pub type KeysWithheldBy<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// The block each ended task ended in: its records may be removed `Retention` blocks later.
	#[pallet::storage]
	pub type Ended<T: Config> = StorageMap<_, Blake2_128Concat, TaskId, BlockNumberFor<T>>;

	/// How many elected committees of open tasks each worker sits on: while any is open, the
	/// registry keeps its bond (no deregistering, no withdrawal).
	#[pallet::storage]
	pub type OpenSeats<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A task was posted and its payment is held in escrow.
		TaskPosted {
			/// The new task's id.
			task: TaskId,
			/// Who posted and pays.
			requester: T::AccountId,
			/// The lambda to run.
			lambda: LambdaId,
			/// The payment held.
			payment: BalanceOf<T>,
		},
		/// A worker's VRF claim was verified and it took a committee seat.
		SeatTaken {
			/// The task.
			task: TaskId,
			/// The worker.
			who: T::AccountId,
			/// The round.
			round: u32,
			/// Its draw: the VRF output as a number, below the round's threshold.
			draw: Draw,
		},
		/// The committee was full and a lower draw took the seat of the highest.
		SeatEvicted {
			/// The task.
			task: TaskId,
			/// The worker that lost its seat.
			who: T::AccountId,
			/// The round.
			round: u32,
		},
		/// At the election, a seated worker was no longer active or below the task's minimum
		/// credit: it lost its seat, so that the elected committee re-checks.
		SeatDropped {
			/// The task.
			task: TaskId,
			/// The worker.
			who: T::AccountId,
			/// The round.
			round: u32,
		},
		/// The claim window closed with enough seats: the committee is elected.
		CommitteeElected {
			/// The task.
			task: TaskId,
			/// The round.
			round: u32,
			/// The executor: the member with the highest credit (ties: the lowest draw).
			executor: T::AccountId,
			/// The executor's draw.
			executor_draw: Draw,
			/// The monitors, each with its draw, in seat order.
			monitors: alloc::vec::Vec<(T::AccountId, Draw)>,
		},
		/// The claim window closed with too few seats for a committee.
		RoundFailed {
			/// The task.
			task: TaskId,
			/// The round.
			round: u32,
			/// Seats claimed.
			seats: u32,
			/// Seats needed: at least half the target size.
			needed: u32,
		},
		/// A committee round started (round 0 in the block after posting), with its seed.
		RoundStarted {
			/// The task.
			task: TaskId,
			/// The new round.
			round: u32,
			/// Its sortition seed.
			seed: [u8; 32],
		},
		/// The elected executor missed its `Before` attestation deadline; it lost credit. Its
		/// bond is untouched: before key release nothing of the owners' is at risk, and a
		/// requester could make the duty impossible (an image or input that cannot be fetched)
		/// to slash an honest executor.
		ExecutorMissedAttestation {
			/// The task.
			task: TaskId,
			/// The executor.
			executor: T::AccountId,
		},
		/// The executor's `Before` quote verified: its TPM attests the sandbox it built.
		SandboxAttested {
			/// The task.
			task: TaskId,
			/// The executor.
			executor: T::AccountId,
			/// What it measured: the monitors compare it with what they see.
			measurements: Measurements,
		},
		/// A monitor gave its verdict on an attestation.
		VerdictGiven {
			/// The task.
			task: TaskId,
			/// The monitor.
			monitor: T::AccountId,
			/// Which attestation.
			phase: Phase,
			/// Whether it checked out.
			ok: bool,
		},
		/// A majority of the verdicts cast, with the minimum turnout, confirmed an attestation,
		/// or at least one confirmed it beside a lone rejection (fewer than `MIN_REJECTIONS`
		/// cannot reject).
		PhaseConfirmed {
			/// The task.
			task: TaskId,
			/// Which attestation.
			phase: Phase,
			/// How many monitors confirmed it.
			confirmations: u32,
		},
		/// A monitor gave no verdict in time; it lost credit.
		MonitorMissedVerdict {
			/// The task.
			task: TaskId,
			/// The monitor.
			monitor: T::AccountId,
		},
		/// A key was released to the executor.
		KeyReleased {
			/// The task.
			task: TaskId,
			/// The key's slot: an input's index, or the number of inputs for the code key.
			slot: u32,
		},
		/// Every key is released: the executor may run the job.
		KeysComplete {
			/// The task.
			task: TaskId,
		},
		/// The executor submitted the result.
		ResultSubmitted {
			/// The task.
			task: TaskId,
			/// Where the encrypted result is stored.
			cid: pallet_vouch_lambdas::Cid,
			/// Whether the job itself failed.
			job_failed: bool,
		},
		/// At least `MIN_REJECTIONS` verdicts, a majority of those cast, rejected the
		/// executor's attestation: it lost credit (no deposit: a vote is no proof) and a new
		/// committee is drawn.
		PhaseRejected {
			/// The task.
			task: TaskId,
			/// Which attestation.
			phase: Phase,
			/// The executor.
			executor: T::AccountId,
			/// Verdicts that confirmed it.
			confirmations: u32,
			/// Verdicts that rejected it.
			rejections: u32,
		},
		/// Too few verdicts were cast, as many confirmed as rejected (at least
		/// `MIN_REJECTIONS` each), or a lone rejection met no confirmation: the phase decides
		/// nothing and a new committee is drawn, with no blame on the executor.
		PhaseInconclusive {
			/// The task.
			task: TaskId,
			/// Which attestation.
			phase: Phase,
			/// Verdicts that confirmed it.
			confirmations: u32,
			/// Verdicts that rejected it.
			rejections: u32,
		},
		/// A monitor's verdict lost to the majority: it lost credit (it either missed what
		/// the others saw, or saw what was not there).
		MonitorOutvoted {
			/// The task.
			task: TaskId,
			/// The monitor.
			monitor: T::AccountId,
			/// Which attestation.
			phase: Phase,
		},
		/// A monitor had confirmed an attestation that was then proven a lie: it lost credit
		/// (it vouched for what it did not check, or colluded).
		MonitorConfirmedLie {
			/// The task.
			task: TaskId,
			/// The monitor.
			monitor: T::AccountId,
			/// Which attestation.
			phase: Phase,
		},
		/// A quote by an executor's own TPM contradicted what it attested on-chain: it lost its
		/// credit and `FaultSlash` of its deposit, of which the reporter, a member of that
		/// committee, was paid `ReporterShare` and earned credit (within its period's cap).
		LieProven {
			/// The task.
			task: TaskId,
			/// The attestation it lied about.
			phase: Phase,
			/// The executor.
			executor: T::AccountId,
			/// Who proved it.
			reporter: T::AccountId,
			/// The deposit taken.
			slashed: BalanceOf<T>,
			/// Of it, what the reporter was paid; the rest was burnt.
			rewarded: BalanceOf<T>,
		},
		/// The executor revealed the result keys it committed to: the recipients can decrypt.
		ResultKeysRevealed {
			/// The task.
			task: TaskId,
		},
		/// The executor did not reveal its result keys in time: it lost credit and
		/// `MissedDutySlash` of its deposit, and a new committee is drawn (the recipients never
		/// had the keys, so the requester owes nothing).
		ExecutorMissedReveal {
			/// The task.
			task: TaskId,
			/// The executor.
			executor: T::AccountId,
			/// The deposit burnt.
			slashed: BalanceOf<T>,
		},
		/// The executor did not submit a result in time; it lost credit and `MissedDutySlash`
		/// of its deposit.
		ExecutorMissedResult {
			/// The task.
			task: TaskId,
			/// The executor.
			executor: T::AccountId,
			/// The deposit burnt.
			slashed: BalanceOf<T>,
		},
		/// The requester did not release its keys in time: the task fails at its cost.
		KeysWithheld {
			/// The task.
			task: TaskId,
		},
		/// A key owner other than the requester backed the keys it owes the task.
		KeysBacked {
			/// The task.
			task: TaskId,
			/// The owner.
			owner: T::AccountId,
			/// The bond held.
			bond: BalanceOf<T>,
		},
		/// A key owner other than the requester withheld its key: its bond went to the
		/// committee, the requester was refunded in full, and it counts on the owner's record.
		KeysWithheldByOwner {
			/// The task.
			task: TaskId,
			/// The owner who withheld.
			owner: T::AccountId,
			/// Its bond, paid to the committee.
			forfeited: BalanceOf<T>,
		},
		/// The committee was elected, but a key owner other than the requester had not backed
		/// its keys: the task ends refunded before anyone works for it.
		KeysNotBacked {
			/// The task.
			task: TaskId,
		},
		/// The payment left escrow along the settlement split.
		TaskSettled {
			/// The task.
			task: TaskId,
			/// The shares.
			payout: vouch_primitives::settlement::Payout<BalanceOf<T>>,
		},
		/// The job failed by its own fault (or its keys were withheld): the committee was paid
		/// and the developer's price refunded.
		TaskFailed {
			/// The task.
			task: TaskId,
			/// The shares; `developer` is zero and its price is in `refund`.
			payout: vouch_primitives::settlement::Payout<BalanceOf<T>>,
		},
		/// No committee formed in the allowed rounds: the payment was refunded.
		TaskExpired {
			/// The task.
			task: TaskId,
			/// Refunded to the requester.
			refunded: BalanceOf<T>,
		},
		/// The requester cancelled the task before any seat was claimed: the payment was
		/// refunded.
		TaskCancelled {
			/// The task.
			task: TaskId,
			/// Refunded to the requester.
			refunded: BalanceOf<T>,
		},
		/// An ended task's records were removed after `Retention`, and its storage deposit
		/// returned to the requester.
		TaskReaped {
			/// The task.
			task: TaskId,
			/// Who removed it.
			by: T::AccountId,
		},
		/// Every round's executor failed its duty: the payment was refunded in full.
		TaskFaulted {
			/// The task.
			task: TaskId,
			/// Refunded to the requester.
			refunded: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No task has this id.
		UnknownTask,
		/// Only the task's requester may do this.
		NotRequester,
		/// The task is not in a state that allows this.
		WrongState,
		/// A task needs at least one input.
		NoInputs,
		/// A task needs at least one result recipient.
		NoRecipients,
		/// An input CID is empty or not printable ASCII.
		MalformedCid,
		/// The committee size is below `MinCommittee` or above `MaxCommittee`.
		CommitteeSizeOutOfRange,
		/// The number of rounds is zero or above `MaxRounds`.
		RoundsOutOfRange,
		/// A phase deadline is shorter than that phase's `MinDeadlines`.
		DeadlineTooShort,
		/// A phase deadline is longer than `MaxPhaseBlocks`.
		DeadlineTooLong,
		/// The minimum credit is not a multiple of the registry's bucket width.
		MinCreditNotOnBucketBoundary,
		/// The run deadline is shorter than the lambda's time limit, in blocks, plus
		/// `RunMarginBlocks`: an honest executor could not finish in time.
		RunShorterThanTimeLimit,
		/// A recipient's X25519 key is of small order (such as 32 zero bytes): no result can
		/// be sealed to it, and an executor would fail only after the job ran.
		RecipientKeyUnusable,
		/// The payment is zero.
		ZeroPayment,
		/// The payment is below `MinPayment`.
		PaymentBelowMinimum,
		/// The payment does not cover the lambda's price plus the burn.
		PaymentBelowPriceAndBurn,
		/// The requester cannot cover the payment.
		InsufficientBalance,
		/// All task ids are used.
		TooManyTasks,
		/// Only active workers may claim a seat: the key is not registered or not active.
		NotActiveWorker,
		/// The worker's credit is below the task's minimum.
		CreditTooLow,
		/// The worker already has a seat in this round.
		AlreadySeated,
		/// The claim is for another round than the task's current one.
		WrongRound,
		/// The claim is for another seed than the current round's.
		WrongSeed,
		/// The VRF pre-output or proof is malformed or does not verify for the worker's key on
		/// this task, seed and round.
		BadVrfProof,
		/// The VRF draw is not below the round's threshold: the worker did not win a seat.
		LosingDraw,
		/// The task's claim window is closed: its committee is elected or the task is over.
		SortitionClosed,
		/// The committee is full and every seat holds a lower draw than this claim's.
		CommitteeFull,
		/// Only the task's elected executor may do this.
		NotExecutor,
		/// Only a monitor of the task's current committee may do this.
		NotMonitor,
		/// This monitor already gave its verdict on this attestation.
		AlreadyVoted,
		/// The task has no such key slot.
		NoSuchKeySlot,
		/// Only the owner of this input (or of the encrypted code) may release its key.
		NotKeyOwner,
		/// This key was released already.
		KeyAlreadyReleased,
		/// A sealed key is empty.
		EmptySealedKey,
		/// The quote or its signature does not parse as a TPM structure.
		QuoteMalformed,
		/// The quote's signature is not ECDSA with SHA-256 (a downgrade, or another scheme).
		QuoteSignatureScheme,
		/// The quote's signature does not verify with the executor's registered AK.
		QuoteSignatureInvalid,
		/// The attestation is not a `TPM2_Quote`.
		QuoteNotAQuote,
		/// The quote names another signer than the executor's registered AK.
		QuoteWrongSigner,
		/// The quote's qualifying data is not the nonce of this task, phase, block and
		/// measurements.
		QuoteWrongNonce,
		/// The quote does not cover exactly the boot PCRs of the chain's quote policy.
		QuotePcrSelection,
		/// The quoted boot state is not one the chain's quote policy allows.
		QuoteBootStateNotAllowed,
		/// The quote's TPM clock is unsafe or behind the last quote accepted from this TPM
		/// (a replayed or pre-made quote).
		QuoteClockWentBackwards,
		/// The quote's block is not a past block whose hash the chain still keeps.
		QuoteBlockUnknown,
		/// The quote's block is older than the duty it attests (the election for `Before`, the
		/// release of the last key for `After`): it could have been made in advance.
		QuoteBeforeDuty,
		/// The measured image is not the lambda's image.
		ImageMismatch,
		/// The measured code and inputs are not the task's.
		CodeOrInputsMismatch,
		/// A `Before` attestation carries a result, or an `After` one lacks its result hash or
		/// exit status.
		MeasurementsForWrongPhase,
		/// The attested exit status disagrees with the result's `job_failed` (zero means
		/// success).
		ExitStatusMismatch,
		/// The `After` quote's commitment to the result keys is not the result's: the keys
		/// the executor will reveal are not the ones its TPM quoted.
		QuotedKeysMismatch,
		/// This task has no attestation for this phase to report a lie about.
		NoAttestation,
		/// A lie about this attestation was proven already.
		LieAlreadyProven,
		/// The quote agrees with the attestation: there is no lie.
		NoContradiction,
		/// An executor cannot report itself.
		CannotReportSelf,
		/// The revealed keys must be one sealed key per recipient.
		RecipientKeysMismatch,
		/// The revealed keys are not the ones the executor committed to with the result.
		KeysCommitmentMismatch,
		/// The task has not ended: its records are in use.
		NotEnded,
		/// The caller owes this task no key, or is its requester (whose escrow backs its keys).
		NoKeysToBack,
		/// The caller backed its keys for this task already.
		AlreadyBacked,
		/// The task ended less than `Retention` blocks ago: its records are kept for lie
		/// reports and for its recipients.
		RetentionNotOver,
		/// The measured sandbox policy is not the one of the lambda's limits and the task's
		/// network requirement.
		SandboxPolicyMismatch,
		/// `wipe` is false: Vouch's sandbox always wipes what it staged, and does not offer to
		/// keep a task's data.
		NoWipeUnsupported,
		/// Round 0 starts in the block after posting, with a seed from the posting block:
		/// claim then.
		RoundNotStarted,
		/// A seat is claimed already: the task can no longer be cancelled (the claimants have
		/// begun their work, and cancelling would let a requester redraw until its own workers
		/// win).
		SeatsClaimed,
		/// Only a member of the attested round's committee may report a lie about it.
		NotCommitteeMember,
		/// The quoting worker is neither active nor unbonding: it has nothing at stake.
		WorkerNotBonded,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Moves on every task whose deadline falls in this block.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::do_tick(now)
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_n: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	/// Duties (claiming a won seat, attesting, giving a verdict, releasing a key, submitting
	/// the result, revealing its keys) are free when they succeed: each is owed by one committee member or key
	/// owner and can succeed once per round, so a fee would only tax honest work, while every
	/// failed call pays its full weight. A monitor's verdict thus costs it nothing of its share.
	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Posts a task: run `lambda` on `inputs` for `recipients`, under `requirements`, for
		/// `payment`, which is held in escrow until the task ends.
		///
		/// The payment must cover the lambda's current price plus the burn; the price is fixed
		/// for this task at posting.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::post_task())]
		pub fn post_task(
			origin: OriginFor<T>,
			lambda: LambdaId,
			inputs: BoundedVec<Input<T::AccountId>, ConstU32<MAX_INPUTS>>,
			recipients: BoundedVec<Recipient<T::AccountId>, ConstU32<MAX_RECIPIENTS>>,
			requirements: Requirements,
			payment: BalanceOf<T>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			Self::do_post_task(requester, lambda, inputs, recipients, requirements, payment)
		}

		/// Cancels the caller's task before any seat is claimed, refunding the payment in full.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_task())]
		pub fn cancel_task(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_task(who, task)
		}

		/// Claims a committee seat of `task`'s current `round`, whose seed is `seed`, with the
		/// caller's sr25519 VRF `pre_output` and `proof` on that round's transcript (see
		/// `vouch_primitives::sortition`). The caller must be an active worker with the task's
		/// minimum credit whose draw is below the round's threshold. When the committee is full,
		/// a lower draw evicts the highest. The committee is elected when the window closes.
		#[pallet::call_index(2)]
		// The benchmark's component `w` (registered workers) shows the cost does not grow with
		// them: nothing here iterates over workers.
		#[pallet::weight(T::WeightInfo::claim_seat(0))]
		pub fn claim_seat(
			origin: OriginFor<T>,
			task: TaskId,
			round: u32,
			seed: [u8; 32],
			pre_output: [u8; 32],
			proof: [u8; 64],
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_claim_seat(who, task, round, seed, pre_output, proof)?;
			Ok(Pays::No.into())
		}

		/// The executor attests its sandbox (`Before`) with a TPM quote: the runtime verifies it
		/// against the executor's registered AK, the chain's boot policy and a nonce it
		/// recomputes from the task, the phase, the quote's (recent) block and the
		/// measurements, whose image and code-and-inputs hash must be the task's. The monitors
		/// then give their verdicts; with no monitors, key release starts at once.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::attest_before())]
		pub fn attest_before(
			origin: OriginFor<T>,
			task: TaskId,
			quote: QuoteOf<T>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_attest_before(who, task, quote)?;
			Ok(Pays::No.into())
		}

		/// A monitor gives its verdict on the attestation being checked: `ok` if the evidence
		/// matched what it measured itself. The last verdict concludes the phase.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::submit_verdict())]
		pub fn submit_verdict(
			origin: OriginFor<T>,
			task: TaskId,
			ok: bool,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let concluded = Self::do_submit_verdict(who, task, ok)?;
			// Only the last verdict concludes the phase (and may settle the task); the others
			// take, of the block, what recording them costs.
			let actual = (!concluded).then(T::WeightInfo::record_verdict);
			Ok(PostDispatchInfo { actual_weight: actual, pays_fee: Pays::No })
		}

		/// An input's owner (slot = the input's index), or the developer of encrypted code
		/// (slot = the number of inputs), releases its key sealed to the executor's TPM. The
		/// last key starts the run.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::release_key())]
		pub fn release_key(
			origin: OriginFor<T>,
			task: TaskId,
			slot: u32,
			sealed_key: SealedKey,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_release_key(who, task, slot, sealed_key)?;
			Ok(Pays::No.into())
		}

		/// The executor submits the result: its CID, a commitment to the result key sealed to
		/// each recipient ([`keys_commitment`]), whether the job itself failed, and its `After`
		/// quote over the run's measurements, the result's hash and the exit status (zero
		/// exactly when the job did not fail), verified like the `Before` one. The keys are
		/// revealed with [`Pallet::reveal_result_keys`] once the monitors confirm the run.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::submit_result())]
		pub fn submit_result(
			origin: OriginFor<T>,
			task: TaskId,
			result: TaskResult,
			quote: QuoteOf<T>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_submit_result(who, task, result, quote)?;
			Ok(Pays::No.into())
		}

		/// Proves that an executor lied: `evidence` is a quote by its own TPM for the same task,
		/// round and phase as an attestation it made on-chain, with other measurements: a
		/// second attestation-domain quote, or its answer to a monitor's challenge (which the
		/// pinned executor build makes of what it really runs). Two different states for one
		/// round and phase mean the executor attested something else than what it ran (or ran
		/// it twice). Only a member of that round's committee may report. The executor loses its credit and
		/// `FaultSlash` of its deposit, of which the reporter is paid `ReporterShare` and earns
		/// credit (within its period's cap, and only if there was a deposit to take); if the
		/// lie is about the task's current round, the monitors who had confirmed the lied
		/// attestation lose credit (`MonitorConfirmedLie`), the round fails and a new committee
		/// is drawn (or the task ends refunded).
		///
		/// An attestation-domain quote's block must be one whose hash the chain still keeps;
		/// no quote's age or clock is checked (evidence may be older than the attestation). A
		/// challenge answer's nonce is recomputed with the attestation's round, so an answer of
		/// another round (or task, or phase) does not verify.
		#[pallet::call_index(7)]
		// The measured weight predates the penalty of the monitors who confirmed the lie (one
		// verdict read and a credit update each): added here until it is re-measured (the
		// benchmark already has every monitor confirm).
		#[pallet::weight(T::WeightInfo::report_lie().saturating_add(
			T::DbWeight::get().reads_writes(3 * u64::from(MAX_COMMITTEE), 2 * u64::from(MAX_COMMITTEE))
		))]
		pub fn report_lie(
			origin: OriginFor<T>,
			task: TaskId,
			phase: Phase,
			evidence: LieEvidenceOf<T>,
		) -> DispatchResult {
			let reporter = ensure_signed(origin)?;
			Self::do_report_lie(reporter, task, phase, evidence)
		}

		/// The executor reveals the result keys it committed to with the result, once the
		/// monitors confirmed the run: they must be one non-empty sealed key per recipient and
		/// hash to the commitment. The task settles in the same transaction: the recipients get
		/// the keys exactly when the payment leaves escrow.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::reveal_result_keys())]
		pub fn reveal_result_keys(
			origin: OriginFor<T>,
			task: TaskId,
			sealed_keys: ResultKeys,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_reveal_result_keys(who, task, sealed_keys)?;
			Ok(Pays::No.into())
		}

		/// Removes an ended task's records (the task, its attestations, result and revealed
		/// keys) once `Retention` blocks have passed since it ended, and returns its storage
		/// deposit to its requester. Anyone may call it; the requester, whose deposit it frees,
		/// has the reason to.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::reap_task())]
		pub fn reap_task(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reap_task(who, task)
		}

		/// A key owner other than the requester (another input's owner, or the developer of
		/// encrypted code) backs the keys it owes `task`: `KeyBond` per key is held until the
		/// task ends, and forfeited to the committee if it withholds one. Every such owner
		/// must back its keys before the committee is elected, or the task ends refunded.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::back_keys())]
		pub fn back_keys(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_back_keys(who, task)
		}
	}

	/// The registry keeps the bond of a worker with open seats.
	impl<T: Config> pallet_vouch_registry::OpenDuties<T::AccountId> for Pallet<T> {
		fn open_duties(who: &T::AccountId) -> u32 {
			OpenSeats::<T>::get(who)
		}
	}

	// What the runtime API answers: part of the pallet's face.
	impl<T: Config> Pallet<T> {
		/// Everything a client needs to re-check `task`'s committee of its last round (see
		/// `vouch_primitives::sortition::recheck`): the seed, the threshold's inputs, the
		/// seats with their proofs, and the executor once elected. `None` for an unknown task.
		pub fn sortition_record(task: TaskId) -> Option<SortitionRecord<T::AccountId>> {
			let info = Tasks::<T>::get(task)?;
			Some(SortitionRecord {
				task,
				round: info.round,
				seed: info.seed,
				eligible: info.eligible,
				target: info.requirements.committee_size,
				min_credit: info.requirements.min_credit,
				executor: info.status.executor().cloned().or_else(|| {
					// A settled or failed task keeps its committee: its executor is the elected
					// one.
					matches!(info.status, TaskStatus::Settled | TaskStatus::Failed)
						.then(|| sortition::elect(&info.committee))
						.flatten()
						.map(|i| info.committee[i].who.clone())
				}),
				seats: info.committee.into_inner(),
			})
		}
	}
}
