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
//! `Sortition(round)` → `Elected` (executor attests `Before`) → `Attesting(Before)` (monitors'
//! verdicts) → `KeyRelease` (every input owner, and the developer of encrypted code, releases
//! its key sealed to the executor's TPM) → `Running` (the executor submits the result and its
//! `After` evidence) → `Attesting(After)` → `Settled`. Exits:
//! - `Settled`: the split of `vouch_primitives::settlement` (burn, price, executor, honest
//!   monitors; an unpaid monitor seat back to the requester);
//! - `Failed`: the job failed by its own fault, or a key owner withheld its key: the committee
//!   is paid, the developer's price goes back to the requester, the lambda counts a failure
//!   (only for the job's own failure);
//! - `Faulted`: executors kept missing deadlines or were rejected by a majority of monitors
//!   (credit reset, `FaultSlash` burnt from the deposit) until no round was left: full refund;
//! - `Expired` (no committee in any round) and `Cancelled` (withdrawn before election): full
//!   refund.
//!
//! Every open state has a deadline; [`Hooks::on_initialize`] handles those falling due, at
//! most [`Config::MaxDeadlinesPerBlock`] a block. A monitor without a verdict at the deadline
//! loses credit; one whose verdicts confirmed every phase is paid and earns credit.
//!
//! ## Committee formation: VRF sortition (DESIGN §4)
//! Each round has a public seed. Every active worker with the task's minimum credit evaluates
//! its sr25519 VRF on it (the transcript of `vouch_primitives::sortition`) and, if its draw is
//! below the round's threshold, claims a seat with [`Pallet::claim_seat`]; the runtime verifies
//! the proof. The threshold is set from the number of eligible workers when the round started
//! (read from the registry's per-bucket counts, never by iterating over workers), so that the
//! committee has the task's `committee_size` members on average. Seats are bounded by
//! `MaxCommittee`: a lower draw evicts the highest. When the round's window closes with at
//! least a majority of the target size seated, the member with the highest credit (ties: the
//! lowest draw) becomes the executor; otherwise a new round with a new seed starts, and after
//! the last round the task expires, refunded in full. [`Pallet::sortition_record`] (also a
//! runtime API) gives a client everything needed to re-check a committee.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

pub mod runtime_api;
pub mod weights;

mod types;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

/// Largest committee any runtime may allow (one executor, the rest monitors).
pub const MAX_COMMITTEE: u32 = 32;

/// How many consecutive blocks a deadline may be pushed over when its block's queue is full.
pub const DEADLINE_SLACK: u32 = 8;

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
			pallet_prelude::*,
			traits::{
				fungible::{self, MutateHold},
				tokens::{Fortitude, Precision, Restriction},
			},
		},
		frame_system::{self, pallet_prelude::*},
		sp_runtime::{
			traits::{Convert, Saturating},
			Weight,
		},
	};
	use vouch_primitives::{
		settlement::SplitRates,
		sortition::{self, Draw, Seat, SortitionRecord},
		tpm::{
			nonce::{code_input_hash, quote_nonce},
			verify::{QuoteError, SignedError},
		},
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
		/// Smallest committee a task may ask for.
		#[pallet::constant]
		type MinCommittee: Get<u32>;
		/// Largest committee a task may ask for (at most [`MAX_COMMITTEE`]).
		#[pallet::constant]
		type MaxCommittee: Get<u32>;
		/// Most committee rounds a task may ask for.
		#[pallet::constant]
		type MaxRounds: Get<u32>;
		/// Shortest phase deadline, in blocks.
		#[pallet::constant]
		type MinPhaseBlocks: Get<u32>;
		/// Longest phase deadline, in blocks.
		#[pallet::constant]
		type MaxPhaseBlocks: Get<u32>;
		/// Most deadlines that may fall in one block: bounds the hook's work.
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;
		/// Deposit burnt from an executor whose attestation the monitors rejected.
		#[pallet::constant]
		type FaultSlash: Get<BalanceOf<Self>>;
		/// A worker's sr25519 VRF public key. On Vouch a worker's account id is its sr25519
		/// key, and doubles as its VRF key.
		type VrfKey: Convert<Self::AccountId, [u8; 32]>;
		/// How many blocks old the block of an executor's quote may be: a quote proves the
		/// sandbox as it was after that block, so an old one proves little.
		#[pallet::constant]
		type MaxQuoteAge: Get<u32>;
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

	/// The tasks whose current deadline falls in a block. An entry whose task has since moved
	/// on is skipped when its block comes.
	#[pallet::storage]
	pub type Deadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<TaskId, T::MaxDeadlinesPerBlock>,
		ValueQuery,
	>;

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

	/// The result of each task that produced one: what its recipients fetch and decrypt.
	#[pallet::storage]
	pub type Results<T: Config> = StorageMap<_, Blake2_128Concat, TaskId, TaskResult>;

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
			/// The sortition seed of round 0.
			seed: [u8; 32],
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
			/// Seats needed: a majority of the target size.
			needed: u32,
		},
		/// A new committee round started, with a new seed.
		RoundStarted {
			/// The task.
			task: TaskId,
			/// The new round.
			round: u32,
			/// Its sortition seed.
			seed: [u8; 32],
		},
		/// The elected executor missed its attestation deadline; it lost credit.
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
		/// A quorum of monitors confirmed an attestation.
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
		/// The monitors rejected the executor's attestation: it lost its credit and part of
		/// its deposit.
		ExecutorFaulted {
			/// The task.
			task: TaskId,
			/// The executor.
			executor: T::AccountId,
			/// The deposit burnt.
			slashed: BalanceOf<T>,
		},
		/// A quote by an executor's own TPM contradicted what it attested on-chain: it lost its
		/// credit and part of its deposit, and the reporter earned credit.
		LieProven {
			/// The task.
			task: TaskId,
			/// The attestation it lied about.
			phase: Phase,
			/// The executor.
			executor: T::AccountId,
			/// Who proved it.
			reporter: T::AccountId,
			/// The deposit burnt.
			slashed: BalanceOf<T>,
		},
		/// The executor did not submit a result in time; it lost credit.
		ExecutorMissedResult {
			/// The task.
			task: TaskId,
			/// The executor.
			executor: T::AccountId,
		},
		/// A key owner did not release its key in time: the task fails at the requester's
		/// cost.
		KeysWithheld {
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
		/// The requester cancelled the task before election: the payment was refunded.
		TaskCancelled {
			/// The task.
			task: TaskId,
			/// Refunded to the requester.
			refunded: BalanceOf<T>,
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
		/// A phase deadline is shorter than `MinPhaseBlocks`.
		DeadlineTooShort,
		/// A phase deadline is longer than `MaxPhaseBlocks`.
		DeadlineTooLong,
		/// The minimum credit is not a multiple of the registry's bucket width.
		MinCreditNotOnBucketBoundary,
		/// The payment is zero.
		ZeroPayment,
		/// The payment does not cover the lambda's price plus the burn.
		PaymentBelowPriceAndBurn,
		/// The requester cannot cover the payment.
		InsufficientBalance,
		/// The deadline queues of the next `DEADLINE_SLACK` blocks after this task's deadline
		/// are full: try again in a later block.
		DeadlineBlockFull,
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
		/// The quote's block is older than `MaxQuoteAge` blocks.
		QuoteBlockTooOld,
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
		/// This task has no attestation for this phase to report a lie about.
		NoAttestation,
		/// A lie about this attestation was proven already.
		LieAlreadyProven,
		/// The quote agrees with the attestation: there is no lie.
		NoContradiction,
		/// An executor cannot report itself.
		CannotReportSelf,
		/// The result must carry one sealed key per recipient.
		RecipientKeysMismatch,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Moves on every task whose deadline falls in this block.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let due = Deadlines::<T>::take(now);
			let handled = due.len() as u32;
			for task in due {
				Self::on_deadline(task, now);
			}
			// Measured with every task settling, or electing, a committee of the largest size:
			// the worst cases.
			T::WeightInfo::on_initialize_settling(handled)
				.max(T::WeightInfo::on_initialize_electing(handled))
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_n: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

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
			let lambda_info = T::Lambdas::usable(lambda)?;
			Self::check_requirements(&requirements)?;
			ensure!(!inputs.is_empty(), Error::<T>::NoInputs);
			ensure!(
				inputs.iter().all(|i| vouch_primitives::is_well_formed_cid(&i.cid)),
				Error::<T>::MalformedCid
			);
			ensure!(!recipients.is_empty(), Error::<T>::NoRecipients);
			ensure!(!payment.is_zero(), Error::<T>::ZeroPayment);
			ensure!(
				T::Split::get().covers(payment, lambda_info.price),
				Error::<T>::PaymentBelowPriceAndBurn
			);

			let task = NextTaskId::<T>::get();
			NextTaskId::<T>::put(task.checked_add(1).ok_or(Error::<T>::TooManyTasks)?);
			let until = Self::schedule(task, requirements.deadlines.sortition)?;
			T::Currency::hold(&HoldReason::TaskEscrow.into(), &requester, payment)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			let seed = Self::seed(task, 0);
			let eligible = T::Workers::eligible_count(requirements.min_credit);
			let input_cids: alloc::vec::Vec<&[u8]> = inputs.iter().map(|i| &i.cid[..]).collect();
			let code_input_hash = code_input_hash(&lambda_info.code_cid, &input_cids);
			Tasks::<T>::insert(
				task,
				crate::types::Task {
					requester: requester.clone(),
					lambda,
					developer: lambda_info.owner.clone(),
					encrypted_code: lambda_info.encrypted,
					price: lambda_info.price,
					image_id: lambda_info.image_digest,
					code_input_hash,
					payment,
					inputs,
					recipients,
					requirements,
					round: 0,
					seed,
					eligible,
					committee: Default::default(),
					status: TaskStatus::Sortition { round: 0, until },
				},
			);
			Self::deposit_event(Event::TaskPosted { task, requester, lambda, payment, seed });
			Ok(())
		}

		/// Cancels the caller's task while its committee is still forming, refunding the payment
		/// in full.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_task())]
		pub fn cancel_task(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			ensure!(info.requester == who, Error::<T>::NotRequester);
			ensure!(matches!(info.status, TaskStatus::Sortition { .. }), Error::<T>::WrongState);
			let refunded = Self::refund(&info)?;
			Self::unschedule(task, &info.status);
			info.status = TaskStatus::Cancelled;
			info.committee = Default::default();
			Tasks::<T>::insert(task, info);
			Self::deposit_event(Event::TaskCancelled { task, refunded });
			Ok(())
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
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			let TaskStatus::Sortition { round: current, .. } = info.status else {
				return Err(Error::<T>::SortitionClosed.into());
			};
			ensure!(round == current, Error::<T>::WrongRound);
			ensure!(seed == info.seed, Error::<T>::WrongSeed);
			ensure!(T::Workers::is_active(&who), Error::<T>::NotActiveWorker);
			let credit = T::Credit::credit_of(&who);
			ensure!(
				sortition::is_eligible(credit, info.requirements.min_credit),
				Error::<T>::CreditTooLow
			);
			ensure!(!info.committee.iter().any(|s| s.who == who), Error::<T>::AlreadySeated);
			let key = T::VrfKey::convert(who.clone());
			let draw = sortition::verify(&key, task, &seed, round, &pre_output, &proof)
				.map_err(|_| Error::<T>::BadVrfProof)?;
			ensure!(
				sortition::wins(draw, info.eligible, info.requirements.committee_size),
				Error::<T>::LosingDraw
			);
			let seat = Seat { who: who.clone(), key, pre_output, proof, draw, credit };
			let bound = T::MaxCommittee::get().min(MAX_COMMITTEE) as usize;
			if info.committee.len() < bound {
				info.committee.try_push(seat).map_err(|_| Error::<T>::CommitteeFull)?;
			} else {
				let (highest, evicted) = info
					.committee
					.iter()
					.enumerate()
					.max_by_key(|(_, s)| s.draw)
					.map(|(i, s)| (i, s.clone()))
					.ok_or(Error::<T>::CommitteeFull)?;
				ensure!(draw < evicted.draw, Error::<T>::CommitteeFull);
				info.committee[highest] = seat;
				Self::deposit_event(Event::SeatEvicted { task, who: evicted.who, round });
			}
			Tasks::<T>::insert(task, info);
			Self::deposit_event(Event::SeatTaken { task, who, round, draw });
			Ok(())
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
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			let TaskStatus::Elected { round, executor, .. } = info.status.clone() else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(who == executor, Error::<T>::NotExecutor);
			Self::check_measurements(&info, Phase::Before, &quote.measurements, None)?;
			let attestation =
				Self::verify_attestation(task, Phase::Before, &executor, round, &quote)?;
			Self::accept_before(task, &mut info, attestation)?;
			Tasks::<T>::insert(task, info);
			Ok(())
		}

		/// A monitor gives its verdict on the attestation being checked: `ok` if the evidence
		/// matched what it measured itself. The last verdict concludes the phase.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::submit_verdict())]
		pub fn submit_verdict(origin: OriginFor<T>, task: TaskId, ok: bool) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			let TaskStatus::Attesting { round, executor, phase, .. } = info.status.clone() else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(
				who != executor && info.committee.iter().any(|s| s.who == who),
				Error::<T>::NotMonitor
			);
			MonitorVerdicts::<T>::try_mutate(task, &who, |v| {
				let slot = v.on_mut(phase);
				ensure!(slot.is_none(), Error::<T>::AlreadyVoted);
				*slot = Some(ok);
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::VerdictGiven { task, monitor: who, phase, ok });
			let monitors = Self::monitors(&info, &executor);
			let all_voted =
				monitors.iter().all(|m| MonitorVerdicts::<T>::get(task, m).on(phase).is_some());
			if all_voted {
				Self::unschedule(task, &info.status);
				Self::conclude_phase(task, &mut info, round, executor, phase);
			}
			Tasks::<T>::insert(task, info);
			Ok(())
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
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!sealed_key.is_empty(), Error::<T>::EmptySealedKey);
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			let TaskStatus::KeyRelease { round, executor, .. } = info.status.clone() else {
				return Err(Error::<T>::WrongState.into());
			};
			let owner = Self::key_owner(&info, slot).ok_or(Error::<T>::NoSuchKeySlot)?;
			ensure!(who == owner, Error::<T>::NotKeyOwner);
			ensure!(!ReleasedKeys::<T>::contains_key(task, slot), Error::<T>::KeyAlreadyReleased);
			ReleasedKeys::<T>::insert(task, slot, sealed_key);
			Self::deposit_event(Event::KeyReleased { task, slot });
			let slots = Self::key_slots(&info);
			if (0..slots).all(|s| ReleasedKeys::<T>::contains_key(task, s)) {
				Self::unschedule(task, &info.status);
				let until = Self::schedule(task, info.requirements.deadlines.run)?;
				info.status = TaskStatus::Running { round, executor, until };
				Self::deposit_event(Event::KeysComplete { task });
			}
			Tasks::<T>::insert(task, info);
			Ok(())
		}

		/// The executor submits the result: its CID, the result key sealed to each recipient,
		/// whether the job itself failed, and its `After` quote over the run's measurements,
		/// the result's hash and the exit status (zero exactly when the job did not fail),
		/// verified like the `Before` one.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::submit_result())]
		pub fn submit_result(
			origin: OriginFor<T>,
			task: TaskId,
			result: TaskResult,
			quote: QuoteOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			let TaskStatus::Running { round, executor, .. } = info.status.clone() else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(who == executor, Error::<T>::NotExecutor);
			ensure!(vouch_primitives::is_well_formed_cid(&result.cid), Error::<T>::MalformedCid);
			ensure!(
				result.sealed_keys.len() == info.recipients.len(),
				Error::<T>::RecipientKeysMismatch
			);
			ensure!(result.sealed_keys.iter().all(|k| !k.is_empty()), Error::<T>::EmptySealedKey);
			Self::check_measurements(&info, Phase::After, &quote.measurements, Some(&result))?;
			let attestation =
				Self::verify_attestation(task, Phase::After, &executor, round, &quote)?;
			Self::accept_result(task, &mut info, result, attestation)?;
			Tasks::<T>::insert(task, info);
			Ok(())
		}

		/// Proves that an executor lied: `quote` is a quote by its own TPM for the same task
		/// and phase as an attestation it made on-chain, with other measurements. A TPM signs
		/// what its host asks, so two different states for one task and phase mean the
		/// executor attested something else than what it ran (or ran it twice). The executor
		/// loses its credit and `FaultSlash` of its deposit, the reporter earns credit, and if
		/// the lie is about the task's current round, the round fails and a new committee is
		/// drawn (or the task ends refunded).
		///
		/// The quote's block must be one whose hash the chain still keeps; its age and clock
		/// are not checked (evidence may be older than the attestation).
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::report_lie())]
		pub fn report_lie(
			origin: OriginFor<T>,
			task: TaskId,
			phase: Phase,
			quote: QuoteOf<T>,
		) -> DispatchResult {
			let reporter = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			let mut attestation =
				Attestations::<T>::get(task, phase).ok_or(Error::<T>::NoAttestation)?;
			let executor = attestation.executor.clone();
			ensure!(reporter != executor, Error::<T>::CannotReportSelf);
			ensure!(!attestation.lie_proven, Error::<T>::LieAlreadyProven);
			let nonce = Self::quote_nonce_for(task, phase, &quote, false)?;
			T::Workers::verify_quote(&executor, &nonce, &quote.attest, &quote.signature, false)
				.map_err(Self::quote_error)?;
			ensure!(quote.measurements != attestation.measurements, Error::<T>::NoContradiction);

			attestation.lie_proven = true;
			Attestations::<T>::insert(task, phase, &attestation);
			T::Credit::reset_for_lie(&executor);
			let slashed = T::Workers::slash(&executor, T::FaultSlash::get());
			T::Credit::reward_reporter(&reporter);
			Self::deposit_event(Event::LieProven {
				task,
				phase,
				executor: executor.clone(),
				reporter,
				slashed,
			});
			// A lie in the round under way fails it; an ended task keeps its outcome.
			let current = info.status.round() == Some(attestation.round)
				&& info.status.executor() == Some(&executor);
			if current {
				Self::unschedule(task, &info.status);
				Self::retry_or_fault(task, &mut info, attestation.round);
				Tasks::<T>::insert(task, info);
			}
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Records the executor's verified `Before` attestation of `task` (elected) and starts
		/// the monitors' check. The caller stores `info`.
		pub(crate) fn accept_before(
			task: TaskId,
			info: &mut TaskOf<T>,
			attestation: AttestationOf<T>,
		) -> DispatchResult {
			let (executor, round) = (attestation.executor.clone(), attestation.round);
			Self::deposit_event(Event::SandboxAttested {
				task,
				executor: executor.clone(),
				measurements: attestation.measurements,
			});
			Attestations::<T>::insert(task, Phase::Before, attestation);
			Self::unschedule(task, &info.status);
			Self::enter_phase(task, info, round, executor, Phase::Before)
		}

		/// Records the result and the executor's verified `After` attestation of `task`
		/// (running) and starts the monitors' check. The caller stores `info`.
		pub(crate) fn accept_result(
			task: TaskId,
			info: &mut TaskOf<T>,
			result: TaskResult,
			attestation: AttestationOf<T>,
		) -> DispatchResult {
			let (executor, round) = (attestation.executor.clone(), attestation.round);
			Attestations::<T>::insert(task, Phase::After, attestation);
			Self::deposit_event(Event::ResultSubmitted {
				task,
				cid: result.cid.clone(),
				job_failed: result.job_failed,
			});
			Results::<T>::insert(task, result);
			Self::unschedule(task, &info.status);
			Self::enter_phase(task, info, round, executor, Phase::After)
		}

		/// Checks the measurements of an executor's quote against the task: its image and its
		/// code and inputs; for `After`, a result hash and an exit status that agrees with
		/// `result`.
		fn check_measurements(
			info: &TaskOf<T>,
			phase: Phase,
			m: &Measurements,
			result: Option<&TaskResult>,
		) -> DispatchResult {
			ensure!(m.image_id == info.image_id, Error::<T>::ImageMismatch);
			ensure!(m.code_input_hash == info.code_input_hash, Error::<T>::CodeOrInputsMismatch);
			match (phase, m.result_hash, m.exit_status, result) {
				(Phase::Before, None, None, _) => Ok(()),
				(Phase::After, Some(_), Some(status), Some(result)) => {
					ensure!((status == 0) != result.job_failed, Error::<T>::ExitStatusMismatch);
					Ok(())
				},
				_ => Err(Error::<T>::MeasurementsForWrongPhase.into()),
			}
		}

		/// The nonce `quote` must carry for `phase` of `task`: from the hash of the quote's
		/// block, which must be in the past and kept by the chain, and (for an attestation,
		/// `fresh`) at most `MaxQuoteAge` blocks old.
		fn quote_nonce_for(
			task: TaskId,
			phase: Phase,
			quote: &QuoteOf<T>,
			fresh: bool,
		) -> Result<[u8; 32], DispatchError> {
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(quote.block < now, Error::<T>::QuoteBlockUnknown);
			if fresh {
				ensure!(
					now.saturating_sub(quote.block) <= T::MaxQuoteAge::get().into(),
					Error::<T>::QuoteBlockTooOld
				);
			}
			let hash = frame_system::Pallet::<T>::block_hash(quote.block);
			ensure!(hash != T::Hash::default(), Error::<T>::QuoteBlockUnknown);
			Ok(quote_nonce(task, phase, &Self::hash_bytes(hash), &quote.measurements))
		}

		/// Verifies the executor's own quote for `phase`: fresh, for this task, by its TPM,
		/// in an allowed boot state, with a clock ahead of its last quote.
		fn verify_attestation(
			task: TaskId,
			phase: Phase,
			executor: &T::AccountId,
			round: u32,
			quote: &QuoteOf<T>,
		) -> Result<AttestationOf<T>, DispatchError> {
			let nonce = Self::quote_nonce_for(task, phase, quote, true)?;
			let clock =
				T::Workers::verify_quote(executor, &nonce, &quote.attest, &quote.signature, true)
					.map_err(Self::quote_error)?;
			Ok(Attestation {
				executor: executor.clone(),
				round,
				block: quote.block,
				measurements: quote.measurements,
				clock,
				lie_proven: false,
			})
		}

		/// The pallet error of a refused quote: one per check.
		fn quote_error(e: QuoteError) -> DispatchError {
			let e = match e {
				QuoteError::Signed(e) => match e {
					SignedError::Malformed(_) => Error::<T>::QuoteMalformed,
					SignedError::SignatureScheme => Error::<T>::QuoteSignatureScheme,
					SignedError::BadSignature => Error::<T>::QuoteSignatureInvalid,
					SignedError::WrongAttestationType => Error::<T>::QuoteNotAQuote,
					SignedError::WrongSigner => Error::<T>::QuoteWrongSigner,
					SignedError::WrongNonce => Error::<T>::QuoteWrongNonce,
				},
				QuoteError::WrongPcrSelection => Error::<T>::QuotePcrSelection,
				QuoteError::PcrDigestNotAllowed => Error::<T>::QuoteBootStateNotAllowed,
				QuoteError::ClockWentBackwards => Error::<T>::QuoteClockWentBackwards,
			};
			e.into()
		}

		fn check_requirements(r: &Requirements) -> DispatchResult {
			ensure!(
				(T::MinCommittee::get()..=T::MaxCommittee::get().min(MAX_COMMITTEE))
					.contains(&r.committee_size),
				Error::<T>::CommitteeSizeOutOfRange
			);
			ensure!(
				(1..=T::MaxRounds::get()).contains(&r.max_rounds),
				Error::<T>::RoundsOutOfRange
			);
			ensure!(
				T::Workers::valid_min_credit(r.min_credit),
				Error::<T>::MinCreditNotOnBucketBoundary
			);
			let d = r.deadlines;
			for blocks in [d.sortition, d.attestation, d.key_release, d.run, d.verdicts] {
				ensure!(blocks >= T::MinPhaseBlocks::get(), Error::<T>::DeadlineTooShort);
				ensure!(blocks <= T::MaxPhaseBlocks::get(), Error::<T>::DeadlineTooLong);
			}
			Ok(())
		}

		/// The public seed of `task`'s `round`, from this block's parent hash.
		fn seed(task: TaskId, round: u32) -> [u8; 32] {
			let parent = frame_system::Pallet::<T>::parent_hash();
			sortition::seed(task, Self::hash_bytes(parent), round)
		}

		/// A block hash as the 32 bytes that seeds and quote nonces take (the runtime's hashes
		/// are 32 bytes; a shorter one would be zero-padded, a longer one cut).
		fn hash_bytes(hash: T::Hash) -> [u8; 32] {
			let mut bytes = [0u8; 32];
			let n = hash.as_ref().len().min(32);
			bytes[..n].copy_from_slice(&hash.as_ref()[..n]);
			bytes
		}

		/// Queues `task`'s next deadline at the first block, `blocks` from now or up to
		/// [`DEADLINE_SLACK`] - 1 blocks later, whose queue has room; returns that block. A phase
		/// thus lasts at least what was asked, and a block full of deadlines spills over into the
		/// next ones instead of refusing work.
		fn schedule(task: TaskId, blocks: u32) -> Result<BlockNumberFor<T>, DispatchError> {
			let first = frame_system::Pallet::<T>::block_number().saturating_add(blocks.into());
			for extra in 0..DEADLINE_SLACK {
				let until = first.saturating_add(extra.into());
				if Deadlines::<T>::try_mutate(until, |due| due.try_push(task)).is_ok() {
					return Ok(until);
				}
			}
			Err(Error::<T>::DeadlineBlockFull.into())
		}

		/// The claim window of `task`'s `round` closed: elects the committee if enough seats
		/// were claimed, else draws a new round or, after the last, ends the task expired.
		fn close_sortition(task: TaskId, info: &mut TaskOf<T>, round: u32) {
			let needed = sortition::min_seats(info.requirements.committee_size);
			let seats = info.committee.len() as u32;
			if seats < needed {
				Self::deposit_event(Event::RoundFailed { task, round, seats, needed });
				if !Self::next_round(task, info, round) {
					Self::end_with_refund(task, info, TaskStatus::Expired);
				}
				return;
			}
			// Credit may have changed since the claims (a member slashed elsewhere): the
			// election reads it now, and the seats record what it read.
			for seat in info.committee.iter_mut() {
				seat.credit = T::Credit::credit_of(&seat.who);
			}
			let Some(index) = sortition::elect(&info.committee) else { return };
			let Ok(until) = Self::schedule(task, info.requirements.deadlines.attestation) else {
				// Every block in reach is full of deadlines: end the task, refunded.
				Self::end_with_refund(task, info, TaskStatus::Expired);
				return;
			};
			let executor = info.committee[index].clone();
			let monitors = info
				.committee
				.iter()
				.filter(|s| s.who != executor.who)
				.map(|s| (s.who.clone(), s.draw));
			Self::deposit_event(Event::CommitteeElected {
				task,
				round,
				executor: executor.who.clone(),
				executor_draw: executor.draw,
				monitors: monitors.collect(),
			});
			info.status = TaskStatus::Elected { round, executor: executor.who, until };
		}

		/// Releases the task's escrow back to its requester.
		fn refund(info: &TaskOf<T>) -> Result<BalanceOf<T>, DispatchError> {
			T::Currency::release(
				&HoldReason::TaskEscrow.into(),
				&info.requester,
				info.payment,
				Precision::Exact,
			)
		}

		/// Starts the next round if one is left; returns false when the rounds are used up.
		fn next_round(task: TaskId, info: &mut TaskOf<T>, round: u32) -> bool {
			let next = round + 1;
			if next >= info.requirements.max_rounds {
				return false;
			}
			let Ok(until) = Self::schedule(task, info.requirements.deadlines.sortition) else {
				// Every block in reach is full of deadlines: end the task, refunded.
				return false;
			};
			Self::restart(task, info, next, until);
			true
		}

		fn restart(task: TaskId, info: &mut TaskOf<T>, round: u32, until: BlockNumberFor<T>) {
			info.round = round;
			info.seed = Self::seed(task, round);
			info.eligible = T::Workers::eligible_count(info.requirements.min_credit);
			info.committee = Default::default();
			info.status = TaskStatus::Sortition { round, until };
			Self::deposit_event(Event::RoundStarted { task, round, seed: info.seed });
		}

		/// The monitors of the current committee: everyone but the executor.
		fn monitors(info: &TaskOf<T>, executor: &T::AccountId) -> alloc::vec::Vec<T::AccountId> {
			info.committee.iter().filter(|s| s.who != *executor).map(|s| s.who.clone()).collect()
		}

		/// How many keys the executor needs: one per input, plus the code key if encrypted.
		fn key_slots(info: &TaskOf<T>) -> u32 {
			info.inputs.len() as u32 + u32::from(info.encrypted_code)
		}

		/// Who may release the key of `slot`.
		fn key_owner(info: &TaskOf<T>, slot: u32) -> Option<T::AccountId> {
			match info.inputs.get(slot as usize) {
				Some(input) => Some(input.owner.clone()),
				None if info.encrypted_code && slot == info.inputs.len() as u32 => {
					Some(info.developer.clone())
				},
				None => None,
			}
		}

		/// Starts the monitors' check of `phase`; with no monitors the phase is confirmed at once.
		fn enter_phase(
			task: TaskId,
			info: &mut TaskOf<T>,
			round: u32,
			executor: T::AccountId,
			phase: Phase,
		) -> DispatchResult {
			if info.committee.len() <= 1 {
				Self::deposit_event(Event::PhaseConfirmed { task, phase, confirmations: 0 });
				return Self::after_confirmed(task, info, round, executor, phase);
			}
			let until = Self::schedule(task, info.requirements.deadlines.verdicts)?;
			info.status = TaskStatus::Attesting { round, executor, phase, until };
			Ok(())
		}

		/// What follows a confirmed attestation: key release after `Before`, settlement after
		/// `After`.
		fn after_confirmed(
			task: TaskId,
			info: &mut TaskOf<T>,
			round: u32,
			executor: T::AccountId,
			phase: Phase,
		) -> DispatchResult {
			match phase {
				Phase::Before => {
					let until = Self::schedule(task, info.requirements.deadlines.key_release)?;
					info.status = TaskStatus::KeyRelease { round, executor, until };
				},
				Phase::After => {
					let job_failed = Results::<T>::get(task).is_some_and(|r| r.job_failed);
					Self::pay_out(task, info, &executor, Phase::After, job_failed);
				},
			}
			Ok(())
		}

		/// Counts the verdicts on `phase`: a majority of monitor seats confirming moves the task
		/// on; otherwise the executor is at fault. Monitors without a verdict lose credit.
		fn conclude_phase(
			task: TaskId,
			info: &mut TaskOf<T>,
			round: u32,
			executor: T::AccountId,
			phase: Phase,
		) {
			let monitors = Self::monitors(info, &executor);
			let mut confirmations = 0u32;
			for m in &monitors {
				match MonitorVerdicts::<T>::get(task, m).on(phase) {
					Some(true) => confirmations += 1,
					Some(false) => {},
					None => {
						T::Credit::penalize_missed_duty(m);
						Self::deposit_event(Event::MonitorMissedVerdict {
							task,
							monitor: m.clone(),
						});
					},
				}
			}
			let quorum = monitors.len() as u32 / 2 + 1;
			if confirmations >= quorum {
				Self::deposit_event(Event::PhaseConfirmed { task, phase, confirmations });
				if Self::after_confirmed(task, info, round, executor.clone(), phase).is_err() {
					// No room to schedule the next deadline: the executor cannot be blamed, the
					// requester is refunded in full.
					Self::end_with_refund(task, info, TaskStatus::Faulted);
				}
			} else {
				T::Credit::reset_for_lie(&executor);
				let slashed = T::Workers::slash(&executor, T::FaultSlash::get());
				Self::deposit_event(Event::ExecutorFaulted { task, executor, slashed });
				Self::retry_or_fault(task, info, round);
			}
		}

		/// Draws a new committee if rounds are left, else ends the task refunded in full.
		fn retry_or_fault(task: TaskId, info: &mut TaskOf<T>, round: u32) {
			let _ = MonitorVerdicts::<T>::clear_prefix(task, MAX_COMMITTEE, None);
			let _ = ReleasedKeys::<T>::clear_prefix(task, MAX_INPUTS + 1, None);
			let _ = Attestations::<T>::clear_prefix(task, 2, None);
			Results::<T>::remove(task);
			if !Self::next_round(task, info, round) {
				Self::end_with_refund(task, info, TaskStatus::Faulted);
			}
		}

		/// Ends the task in `status`, refunding the whole payment.
		fn end_with_refund(task: TaskId, info: &mut TaskOf<T>, status: StatusOf<T>) {
			let refunded = Self::refund(info).unwrap_or_default();
			info.committee = Default::default();
			let event = match status {
				TaskStatus::Expired => Event::TaskExpired { task, refunded },
				TaskStatus::Cancelled => Event::TaskCancelled { task, refunded },
				_ => Event::TaskFaulted { task, refunded },
			};
			info.status = status;
			Self::deposit_event(event);
		}

		/// Moves `amount` of the requester's escrow to `to`; returns false (moving nothing) if the
		/// transfer is impossible, e.g. below the existential deposit of an empty account.
		fn pay(info: &TaskOf<T>, to: &T::AccountId, amount: BalanceOf<T>) -> bool {
			amount.is_zero()
				|| T::Currency::transfer_on_hold(
					&HoldReason::TaskEscrow.into(),
					&info.requester,
					to,
					amount,
					Precision::Exact,
					Restriction::Free,
					Fortitude::Force,
				)
				.is_ok()
		}

		/// Splits the escrow (DESIGN §7) and ends the task `Settled`, or `Failed` if the job
		/// failed by its own fault or its keys were withheld: then the developer's price goes
		/// back to the requester. Monitors are paid if they confirmed every phase up to
		/// `last_phase`. A share that cannot be paid goes back to the requester: nothing is lost.
		fn pay_out(
			task: TaskId,
			info: &mut TaskOf<T>,
			executor: &T::AccountId,
			last_phase: Phase,
			failed: bool,
		) {
			let monitors = Self::monitors(info, executor);
			let honest: alloc::vec::Vec<T::AccountId> = monitors
				.iter()
				.filter(|m| {
					let v = MonitorVerdicts::<T>::get(task, *m);
					v.before == Some(true) && (last_phase == Phase::Before || v.after == Some(true))
				})
				.cloned()
				.collect();
			let Ok(mut payout) = T::Split::get().split(
				info.payment,
				info.price,
				monitors.len() as u32,
				honest.len() as u32,
			) else {
				// Cannot happen: posting checked the payment covers price and burn.
				Self::end_with_refund(task, info, TaskStatus::Faulted);
				return;
			};
			if failed {
				payout.refund = payout.refund.saturating_add(payout.developer);
				payout.developer = Zero::zero();
			}
			let burnt = T::Currency::burn_held(
				&HoldReason::TaskEscrow.into(),
				&info.requester,
				payout.burn,
				Precision::Exact,
				Fortitude::Force,
			)
			.unwrap_or_default();
			payout.refund = payout.refund.saturating_add(payout.burn.saturating_sub(burnt));
			payout.burn = burnt;
			if !Self::pay(info, &info.developer, payout.developer) {
				payout.refund = payout.refund.saturating_add(payout.developer);
				payout.developer = Zero::zero();
			}
			if !Self::pay(info, executor, payout.executor) {
				payout.refund = payout.refund.saturating_add(payout.executor);
				payout.executor = Zero::zero();
			}
			let mut paid_monitors = 0u32;
			for m in &honest {
				if Self::pay(info, m, payout.per_monitor) {
					paid_monitors += 1;
					T::Credit::reward_duty(m);
				} else {
					payout.refund = payout.refund.saturating_add(payout.per_monitor);
				}
			}
			payout.honest_monitors = paid_monitors;
			// Whatever is left of this task's escrow goes back: exactly `refund`.
			let _ = T::Currency::release(
				&HoldReason::TaskEscrow.into(),
				&info.requester,
				payout.refund,
				Precision::Exact,
			);
			T::Credit::reward_duty(executor);
			// A run is on the lambda's record only if the job ran: withheld keys are not Bob's.
			if last_phase == Phase::After {
				let _ = T::Lambdas::note_run(info.lambda, failed);
			}
			info.status = if failed { TaskStatus::Failed } else { TaskStatus::Settled };
			Self::deposit_event(if failed {
				Event::TaskFailed { task, payout }
			} else {
				Event::TaskSettled { task, payout }
			});
		}

		/// A deadline of `task` fell due at `now`.
		fn on_deadline(task: TaskId, now: BlockNumberFor<T>) {
			let Some(mut info) = Tasks::<T>::get(task) else { return };
			match info.status.clone() {
				TaskStatus::Sortition { round, until } if until == now => {
					Self::close_sortition(task, &mut info, round)
				},
				TaskStatus::Elected { round, executor, until } if until == now => {
					T::Credit::penalize_missed_duty(&executor);
					Self::deposit_event(Event::ExecutorMissedAttestation { task, executor });
					Self::retry_or_fault(task, &mut info, round);
				},
				TaskStatus::Attesting { round, executor, phase, until } if until == now => {
					Self::conclude_phase(task, &mut info, round, executor, phase)
				},
				TaskStatus::KeyRelease { executor, until, .. } if until == now => {
					// The committee did its part; the requester's side did not.
					Self::deposit_event(Event::KeysWithheld { task });
					Self::pay_out(task, &mut info, &executor, Phase::Before, true);
				},
				TaskStatus::Running { round, executor, until } if until == now => {
					T::Credit::penalize_missed_duty(&executor);
					Self::deposit_event(Event::ExecutorMissedResult { task, executor });
					Self::retry_or_fault(task, &mut info, round);
				},
				// The task moved on (or ended) before this deadline: nothing to do.
				_ => return,
			}
			Tasks::<T>::insert(task, info);
		}

		/// Takes `task` off the queue of its current status's deadline: it moved on early, and
		/// a stale entry would take room from tasks that still need it.
		fn unschedule(task: TaskId, status: &StatusOf<T>) {
			if let Some(until) = status.deadline() {
				Deadlines::<T>::mutate_exists(until, |queue| {
					if let Some(q) = queue {
						q.retain(|t| *t != task);
						if q.is_empty() {
							*queue = None;
						}
					}
				});
			}
		}

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

		/// Invariants: every requester's escrow hold equals the payments of its open tasks;
		/// every open task has a deadline in the future, queued in [`Deadlines`]; every seat
		/// of a forming committee is unique and won its draw.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			use fungible::InspectHold;
			let now = frame_system::Pallet::<T>::block_number();
			let mut open = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			for (id, task) in Tasks::<T>::iter() {
				let sum = open.entry(task.requester.clone()).or_default();
				if task.status.is_final() {
					continue;
				}
				*sum = sum.saturating_add(task.payment);
				ensure!(task.status.round() == Some(task.round), "a task's round disagrees");
				if matches!(task.status, TaskStatus::Sortition { .. }) {
					for (i, seat) in task.committee.iter().enumerate() {
						ensure!(
							sortition::wins(
								seat.draw,
								task.eligible,
								task.requirements.committee_size
							),
							"a seat holds a losing draw"
						);
						ensure!(
							!task.committee[..i].iter().any(|s| s.who == seat.who),
							"a worker holds two seats"
						);
					}
				}
				let due = task.status.deadline().ok_or("an open task has no deadline")?;
				ensure!(due > now, "an open task's deadline has passed");
				ensure!(
					Deadlines::<T>::get(due).contains(&id),
					"an open task's deadline is not queued"
				);
			}
			for (block, queue) in Deadlines::<T>::iter() {
				for id in queue {
					let task = Tasks::<T>::get(id).ok_or("a queued deadline names no task")?;
					ensure!(
						task.status.deadline() == Some(block),
						"a queued deadline is stale: its task moved on"
					);
				}
			}
			for (who, sum) in &open {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::TaskEscrow.into(), who) == *sum,
					"a requester's escrow differs from its open tasks' payments"
				);
			}
			Ok(())
		}
	}
}
