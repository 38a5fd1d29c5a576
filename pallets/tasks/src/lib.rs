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
//! ## Life cycle (so far)
//! `Sortition(round)` → `Elected` → … with the exits `Expired` (no committee after the last
//! round), `Cancelled` (the requester withdrew before election) and `Faulted` (every round's
//! executor missed its attestation): each refunds the payment in full. Every open state has a
//! deadline; [`Hooks::on_initialize`] handles the deadlines falling due, at most
//! [`Config::MaxDeadlinesPerBlock`] a block. Attestation, key release, run, verdicts and the
//! settlement split are the next steps of issue #3; the split itself is in
//! `vouch_primitives::settlement`.
//!
//! ## Committee formation: a dev-only placeholder
//! Until VRF sortition lands (issue #4), [`Pallet::dev_claim_seat`] lets any active worker with
//! enough credit take a free seat, first come first served. The election rule is already the
//! real one except for its tie-break: the member with the highest credit executes; ties go to
//! the earliest seat (the lowest VRF output, once there are VRF outputs).

#![cfg_attr(not(feature = "std"), no_std)]

pub use pallet::*;
pub use types::*;

mod types;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

/// Largest committee any runtime may allow (one executor, the rest monitors).
pub const MAX_COMMITTEE: u32 = 32;

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
				tokens::Precision,
			},
		},
		frame_system::{self, pallet_prelude::*},
		sp_runtime::{
			traits::{BlakeTwo256, Hash, Saturating},
			Weight,
		},
	};
	use vouch_primitives::{settlement::SplitRates, LambdaId, TaskId};

	/// The balance type of the payment currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A task as this runtime stores it.
	pub type TaskOf<T> =
		crate::types::Task<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	/// A task's status as this runtime stores it.
	pub type StatusOf<T> = TaskStatus<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

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
		/// A worker took a committee seat.
		SeatTaken {
			/// The task.
			task: TaskId,
			/// The worker.
			who: T::AccountId,
			/// The round.
			round: u32,
		},
		/// The committee is complete and its executor elected.
		CommitteeElected {
			/// The task.
			task: TaskId,
			/// The round.
			round: u32,
			/// The executor: the member with the highest credit.
			executor: T::AccountId,
			/// How many monitors attest it.
			monitors: u32,
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
		/// Too many deadlines fall in the block this task's would: try again next block.
		DeadlineBlockFull,
		/// All task ids are used.
		TooManyTasks,
		/// Only active workers may take a seat.
		NotActiveWorker,
		/// The worker's credit is below the task's minimum.
		CreditTooLow,
		/// The worker already has a seat in this round.
		AlreadySeated,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Moves on every task whose deadline falls in this block.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let due = Deadlines::<T>::take(now);
			let handled = due.len() as u64;
			for task in due {
				Self::on_deadline(task, now);
			}
			// Per task: the task, the queue of its next deadline, a hold and a credit record.
			T::DbWeight::get()
				.reads_writes(1, 1)
				.saturating_add(T::DbWeight::get().reads_writes(5, 5).saturating_mul(handled))
				.saturating_add(Weight::from_parts(40_000_000, 10_000).saturating_mul(handled))
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
		#[pallet::weight(Weight::from_parts(80_000_000, 20_000)
			.saturating_add(T::DbWeight::get().reads_writes(6, 5)))]
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
				inputs.iter().all(|i| !i.cid.is_empty() && i.cid.iter().all(u8::is_ascii_graphic)),
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
			Tasks::<T>::insert(
				task,
				crate::types::Task {
					requester: requester.clone(),
					lambda,
					price: lambda_info.price,
					payment,
					inputs,
					recipients,
					requirements,
					seed,
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
		#[pallet::weight(Weight::from_parts(40_000_000, 10_000)
			.saturating_add(T::DbWeight::get().reads_writes(2, 2)))]
		pub fn cancel_task(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			ensure!(info.requester == who, Error::<T>::NotRequester);
			ensure!(matches!(info.status, TaskStatus::Sortition { .. }), Error::<T>::WrongState);
			let refunded = Self::refund(&info)?;
			info.status = TaskStatus::Cancelled;
			info.committee = Default::default();
			Tasks::<T>::insert(task, info);
			Self::deposit_event(Event::TaskCancelled { task, refunded });
			Ok(())
		}

		/// **Dev-only placeholder for VRF sortition (issue #4).** The caller, an active worker
		/// with at least the task's minimum credit, takes a free seat in the current round. The
		/// last seat elects the committee.
		#[pallet::call_index(2)]
		#[pallet::weight(Weight::from_parts(60_000_000, 20_000)
			.saturating_add(T::DbWeight::get().reads_writes(3 + MAX_COMMITTEE as u64, 2)))]
		pub fn dev_claim_seat(origin: OriginFor<T>, task: TaskId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
			let TaskStatus::Sortition { round, .. } = info.status else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(T::Workers::is_active(&who), Error::<T>::NotActiveWorker);
			ensure!(
				T::Credit::credit_of(&who) >= info.requirements.min_credit,
				Error::<T>::CreditTooLow
			);
			ensure!(!info.committee.contains(&who), Error::<T>::AlreadySeated);
			info.committee.try_push(who.clone()).map_err(|_| Error::<T>::WrongState)?;
			Self::deposit_event(Event::SeatTaken { task, who, round });
			if info.committee.len() as u32 >= info.requirements.committee_size {
				Self::elect(task, &mut info, round)?;
			}
			Tasks::<T>::insert(task, info);
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
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

		/// The public seed of `task`'s `round`: `blake2_256("vouch/seed" ++ task ++ parent block
		/// hash ++ round)`.
		fn seed(task: TaskId, round: u32) -> [u8; 32] {
			let parent = frame_system::Pallet::<T>::parent_hash();
			BlakeTwo256::hash_of(&(b"vouch/seed", task, parent, round)).into()
		}

		/// Queues `task`'s next deadline `blocks` from now; returns the deadline block.
		fn schedule(task: TaskId, blocks: u32) -> Result<BlockNumberFor<T>, DispatchError> {
			let until = frame_system::Pallet::<T>::block_number().saturating_add(blocks.into());
			Deadlines::<T>::try_mutate(until, |due| due.try_push(task))
				.map_err(|_| Error::<T>::DeadlineBlockFull)?;
			Ok(until)
		}

		/// Elects the executor of a full committee: the highest credit, ties to the earliest
		/// seat.
		fn elect(task: TaskId, info: &mut TaskOf<T>, round: u32) -> DispatchResult {
			let mut executor = info.committee[0].clone();
			let mut best = T::Credit::credit_of(&executor);
			for member in info.committee.iter().skip(1) {
				let credit = T::Credit::credit_of(member);
				if credit > best {
					(executor, best) = (member.clone(), credit);
				}
			}
			let until = Self::schedule(task, info.requirements.deadlines.attestation)?;
			info.status = TaskStatus::Elected { round, executor: executor.clone(), until };
			let monitors = info.committee.len() as u32 - 1;
			Self::deposit_event(Event::CommitteeElected { task, round, executor, monitors });
			Ok(())
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
				// The deadline block is full: try the block after, where there is room as long
				// as fewer tasks are posted than there are blocks.
				return Self::schedule(task, info.requirements.deadlines.sortition + 1)
					.map(|until| Self::restart(task, info, next, until))
					.is_ok();
			};
			Self::restart(task, info, next, until);
			true
		}

		fn restart(task: TaskId, info: &mut TaskOf<T>, round: u32, until: BlockNumberFor<T>) {
			info.seed = Self::seed(task, round);
			info.committee = Default::default();
			info.status = TaskStatus::Sortition { round, until };
			Self::deposit_event(Event::RoundStarted { task, round, seed: info.seed });
		}

		/// A deadline of `task` fell due at `now`.
		fn on_deadline(task: TaskId, now: BlockNumberFor<T>) {
			let Some(mut info) = Tasks::<T>::get(task) else { return };
			match info.status.clone() {
				TaskStatus::Sortition { round, until } if until == now => {
					if !Self::next_round(task, &mut info, round) {
						info.status = TaskStatus::Expired;
						info.committee = Default::default();
						let refunded = Self::refund(&info).unwrap_or_default();
						Self::deposit_event(Event::TaskExpired { task, refunded });
					}
				},
				TaskStatus::Elected { round, executor, until } if until == now => {
					T::Credit::penalize_missed_duty(&executor);
					Self::deposit_event(Event::ExecutorMissedAttestation { task, executor });
					if !Self::next_round(task, &mut info, round) {
						info.status = TaskStatus::Faulted;
						info.committee = Default::default();
						let refunded = Self::refund(&info).unwrap_or_default();
						Self::deposit_event(Event::TaskFaulted { task, refunded });
					}
				},
				// The task moved on (or ended) before this deadline: nothing to do.
				_ => return,
			}
			Tasks::<T>::insert(task, info);
		}

		/// The deadline block of an open status.
		#[cfg(any(feature = "try-runtime", test))]
		fn deadline_of(status: &StatusOf<T>) -> Option<BlockNumberFor<T>> {
			match status {
				TaskStatus::Sortition { until, .. } | TaskStatus::Elected { until, .. } => {
					Some(*until)
				},
				_ => None,
			}
		}

		/// Invariants: every requester's escrow hold equals the payments of its open tasks;
		/// every open task has a deadline in the future, queued in [`Deadlines`].
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			use fungible::InspectHold;
			extern crate alloc;
			let now = frame_system::Pallet::<T>::block_number();
			let mut open = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			for (id, task) in Tasks::<T>::iter() {
				let sum = open.entry(task.requester.clone()).or_default();
				if task.status.is_final() {
					continue;
				}
				*sum = sum.saturating_add(task.payment);
				let due = Self::deadline_of(&task.status).ok_or("an open task has no deadline")?;
				ensure!(due > now, "an open task's deadline has passed");
				ensure!(
					Deadlines::<T>::get(due).contains(&id),
					"an open task's deadline is not queued"
				);
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
