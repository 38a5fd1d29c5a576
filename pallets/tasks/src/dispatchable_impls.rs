//! The bodies of the pallet's calls. Each call in `lib.rs` only checks its origin and hands
//! over to its `do_*` function here, so that `lib.rs` reads as the pallet's interface and each
//! step of a task's life is written once, beside the helpers only the calls use.

use crate::*;
use pallet_vouch_credit::CreditLedger;
use pallet_vouch_lambdas::LambdaRegistry;
use pallet_vouch_registry::WorkerRegistry;
use polkadot_sdk::{
	frame_support::{pallet_prelude::*, traits::fungible::MutateHold},
	sp_runtime::traits::{Convert, Saturating},
};
use vouch_primitives::{
	sandbox::SandboxPolicy,
	sortition::{self, Seat},
	tpm::nonce::{challenge_nonce, code_input_hash},
	LambdaId, TaskId,
};

impl<T: Config> Pallet<T> {
	/// Posts `requester`'s task: see [`Pallet::post_task`].
	pub(crate) fn do_post_task(
		requester: T::AccountId,
		lambda: LambdaId,
		inputs: BoundedVec<Input<T::AccountId>, ConstU32<MAX_INPUTS>>,
		recipients: BoundedVec<Recipient<T::AccountId>, ConstU32<MAX_RECIPIENTS>>,
		requirements: Requirements,
		payment: BalanceOf<T>,
	) -> DispatchResult {
		let lambda_info = T::Lambdas::usable(lambda)?;
		Self::check_requirements(&requirements)?;
		ensure!(
			requirements.deadlines.run
				>= Self::min_run_blocks(lambda_info.manifest.time_limit_secs),
			Error::<T>::RunShorterThanTimeLimit
		);
		ensure!(!inputs.is_empty(), Error::<T>::NoInputs);
		ensure!(
			inputs.iter().all(|i| vouch_primitives::is_well_formed_cid(&i.cid)),
			Error::<T>::MalformedCid
		);
		ensure!(!recipients.is_empty(), Error::<T>::NoRecipients);
		ensure!(
			recipients.iter().all(|r| vouch_primitives::is_usable_x25519_key(&r.x25519)),
			Error::<T>::RecipientKeyUnusable
		);
		ensure!(!payment.is_zero(), Error::<T>::ZeroPayment);
		ensure!(payment >= T::MinPayment::get(), Error::<T>::PaymentBelowMinimum);
		ensure!(
			T::Split::get().covers(payment, lambda_info.price),
			Error::<T>::PaymentBelowPriceAndBurn
		);

		let task = NextTaskId::<T>::get();
		NextTaskId::<T>::put(task.checked_add(1).ok_or(Error::<T>::TooManyTasks)?);
		// Round 0 starts next block, seeded by this block's hash: the requester knows the
		// parent hash and the task id when posting, and could repost until its own workers
		// win a seed made of those alone.
		let until = Self::schedule(task, 1);
		T::Currency::hold(&HoldReason::TaskEscrow.into(), &requester, payment)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Self::hold_storage_deposit(&requester)?;
		let input_cids: alloc::vec::Vec<&[u8]> = inputs.iter().map(|i| &i.cid[..]).collect();
		let code_input_hash = code_input_hash(&lambda_info.code_cid, &input_cids);
		let sandbox_policy_hash =
			SandboxPolicy::for_task(&lambda_info.manifest.limits(), requirements.network_none)
				.hash();
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
				sandbox_policy_hash,
				payment,
				inputs,
				recipients,
				requirements,
				round: 0,
				seed: [0; 32],
				eligible: 0,
				committee: Default::default(),
				status: TaskStatus::Posted { until },
			},
		);
		Self::deposit_event(Event::TaskPosted { task, requester, lambda, payment });
		Ok(())
	}

	pub(crate) fn check_requirements(r: &Requirements) -> DispatchResult {
		ensure!(
			(T::MinCommittee::get()..=T::MaxCommittee::get().min(MAX_COMMITTEE))
				.contains(&r.committee_size),
			Error::<T>::CommitteeSizeOutOfRange
		);
		ensure!((1..=T::MaxRounds::get()).contains(&r.max_rounds), Error::<T>::RoundsOutOfRange);
		ensure!(r.wipe, Error::<T>::NoWipeUnsupported);
		ensure!(
			T::Workers::valid_min_credit(r.min_credit),
			Error::<T>::MinCreditNotOnBucketBoundary
		);
		let (d, min) = (r.deadlines, T::MinDeadlines::get());
		for (blocks, least) in [
			(d.sortition, min.sortition),
			(d.attestation, min.attestation),
			(d.key_release, min.key_release),
			(d.run, min.run),
			(d.verdicts, min.verdicts),
		] {
			ensure!(blocks >= least, Error::<T>::DeadlineTooShort);
			ensure!(blocks <= T::MaxPhaseBlocks::get(), Error::<T>::DeadlineTooLong);
		}
		Ok(())
	}

	/// The shortest run deadline for a lambda limited to `time_limit_secs`: the limit in
	/// blocks, rounded up, plus `RunMarginBlocks`.
	pub fn min_run_blocks(time_limit_secs: u32) -> u32 {
		let millis = u64::from(time_limit_secs).saturating_mul(1000);
		let blocks = millis.div_ceil(T::BlockTimeMillis::get().max(1));
		u32::try_from(blocks).unwrap_or(u32::MAX).saturating_add(T::RunMarginBlocks::get())
	}

	/// `who` cancels its task: see [`Pallet::cancel_task`].
	pub(crate) fn do_cancel_task(who: T::AccountId, task: TaskId) -> DispatchResult {
		let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		ensure!(info.requester == who, Error::<T>::NotRequester);
		match info.status {
			TaskStatus::Posted { .. } => {},
			TaskStatus::Sortition { .. } => {
				ensure!(info.committee.is_empty(), Error::<T>::SeatsClaimed)
			},
			_ => return Err(Error::<T>::WrongState.into()),
		}
		let refunded = Self::refund(&info)?;
		Self::unschedule(task, &info.status);
		info.status = TaskStatus::Cancelled;
		info.committee = Default::default();
		Self::mark_ended(task);
		Tasks::<T>::insert(task, info);
		Self::deposit_event(Event::TaskCancelled { task, refunded });
		Ok(())
	}

	/// `who` claims a committee seat: see [`Pallet::claim_seat`].
	pub(crate) fn do_claim_seat(
		who: T::AccountId,
		task: TaskId,
		round: u32,
		seed: [u8; 32],
		pre_output: [u8; 32],
		proof: [u8; 64],
	) -> DispatchResult {
		let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let current = match info.status {
			TaskStatus::Sortition { round, .. } => round,
			TaskStatus::Posted { .. } => return Err(Error::<T>::RoundNotStarted.into()),
			_ => return Err(Error::<T>::SortitionClosed.into()),
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

	/// `who`, the executor, attests its sandbox: see [`Pallet::attest_before`].
	pub(crate) fn do_attest_before(
		who: T::AccountId,
		task: TaskId,
		quote: QuoteOf<T>,
	) -> DispatchResult {
		let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let TaskStatus::Elected { round, executor, since, .. } = info.status.clone() else {
			return Err(Error::<T>::WrongState.into());
		};
		ensure!(who == executor, Error::<T>::NotExecutor);
		Self::check_measurements(&info, Phase::Before, &quote.measurements, None)?;
		let attestation =
			Self::verify_attestation(task, Phase::Before, &executor, (round, since), &quote)?;
		Self::accept_before(task, &mut info, attestation);
		Tasks::<T>::insert(task, info);
		Ok(())
	}

	/// Records the executor's verified `Before` attestation of `task` (elected) and starts
	/// the monitors' check. The caller stores `info`.
	pub(crate) fn accept_before(task: TaskId, info: &mut TaskOf<T>, attestation: AttestationOf<T>) {
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

	/// `who`, a monitor, gives its verdict: see [`Pallet::submit_verdict`]. Returns whether it
	/// was the last one, which concluded the phase.
	pub(crate) fn do_submit_verdict(
		who: T::AccountId,
		task: TaskId,
		ok: bool,
	) -> Result<bool, DispatchError> {
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
		let monitors = info.monitors(&executor);
		let all_voted =
			monitors.iter().all(|m| MonitorVerdicts::<T>::get(task, m).on(phase).is_some());
		if all_voted {
			Self::unschedule(task, &info.status);
			Self::conclude_phase(task, &mut info, round, executor, phase);
		}
		Tasks::<T>::insert(task, info);
		Ok(all_voted)
	}

	/// `who` releases the key of `slot`: see [`Pallet::release_key`].
	pub(crate) fn do_release_key(
		who: T::AccountId,
		task: TaskId,
		slot: u32,
		sealed_key: SealedKey,
	) -> DispatchResult {
		ensure!(!sealed_key.is_empty(), Error::<T>::EmptySealedKey);
		let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let TaskStatus::KeyRelease { round, executor, .. } = info.status.clone() else {
			return Err(Error::<T>::WrongState.into());
		};
		let owner = info.key_owner(slot).ok_or(Error::<T>::NoSuchKeySlot)?;
		ensure!(who == owner, Error::<T>::NotKeyOwner);
		ensure!(!ReleasedKeys::<T>::contains_key(task, slot), Error::<T>::KeyAlreadyReleased);
		ReleasedKeys::<T>::insert(task, slot, sealed_key);
		Self::deposit_event(Event::KeyReleased { task, slot });
		let slots = info.key_slots();
		if (0..slots).all(|s| ReleasedKeys::<T>::contains_key(task, s)) {
			Self::unschedule(task, &info.status);
			let until = Self::schedule(task, info.requirements.deadlines.run);
			let since = polkadot_sdk::frame_system::Pallet::<T>::block_number();
			info.status = TaskStatus::Running { round, executor, since, until };
			Self::deposit_event(Event::KeysComplete { task });
		}
		Tasks::<T>::insert(task, info);
		Ok(())
	}

	/// `who`, the executor, submits the result: see [`Pallet::submit_result`].
	pub(crate) fn do_submit_result(
		who: T::AccountId,
		task: TaskId,
		result: TaskResult,
		quote: QuoteOf<T>,
	) -> DispatchResult {
		let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let TaskStatus::Running { round, executor, since, .. } = info.status.clone() else {
			return Err(Error::<T>::WrongState.into());
		};
		ensure!(who == executor, Error::<T>::NotExecutor);
		ensure!(vouch_primitives::is_well_formed_cid(&result.cid), Error::<T>::MalformedCid);
		Self::check_measurements(&info, Phase::After, &quote.measurements, Some(&result))?;
		let attestation =
			Self::verify_attestation(task, Phase::After, &executor, (round, since), &quote)?;
		Self::accept_result(task, &mut info, result, attestation);
		Tasks::<T>::insert(task, info);
		Ok(())
	}

	/// Records the result and the executor's verified `After` attestation of `task`
	/// (running) and starts the monitors' check. The caller stores `info`.
	pub(crate) fn accept_result(
		task: TaskId,
		info: &mut TaskOf<T>,
		result: TaskResult,
		attestation: AttestationOf<T>,
	) {
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

	/// `who`, the executor, reveals the result keys: see [`Pallet::reveal_result_keys`].
	pub(crate) fn do_reveal_result_keys(
		who: T::AccountId,
		task: TaskId,
		sealed_keys: ResultKeys,
	) -> DispatchResult {
		let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let TaskStatus::Revealing { executor, .. } = info.status.clone() else {
			return Err(Error::<T>::WrongState.into());
		};
		ensure!(who == executor, Error::<T>::NotExecutor);
		ensure!(sealed_keys.len() == info.recipients.len(), Error::<T>::RecipientKeysMismatch);
		ensure!(sealed_keys.iter().all(|k| !k.is_empty()), Error::<T>::EmptySealedKey);
		let result = Results::<T>::get(task).ok_or(Error::<T>::WrongState)?;
		ensure!(
			keys_commitment(&sealed_keys) == result.keys_commitment,
			Error::<T>::KeysCommitmentMismatch
		);
		RevealedKeys::<T>::insert(task, sealed_keys);
		Self::deposit_event(Event::ResultKeysRevealed { task });
		Self::unschedule(task, &info.status);
		Self::settle(task, &mut info, &executor, Phase::After, result.job_failed);
		Tasks::<T>::insert(task, info);
		Ok(())
	}

	/// `who` backs the keys it owes `task`: see [`Pallet::back_keys`].
	pub(crate) fn do_back_keys(who: T::AccountId, task: TaskId) -> DispatchResult {
		let info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		ensure!(
			matches!(info.status, TaskStatus::Posted { .. } | TaskStatus::Sortition { .. }),
			Error::<T>::WrongState
		);
		ensure!(who != info.requester, Error::<T>::NoKeysToBack);
		let slots = (0..info.key_slots())
			.filter(|s| info.key_owner(*s).as_ref() == Some(&who))
			.count() as u32;
		ensure!(slots > 0, Error::<T>::NoKeysToBack);
		ensure!(!KeyBonds::<T>::contains_key(task, &who), Error::<T>::AlreadyBacked);
		let bond = T::KeyBond::get().saturating_mul(slots.into());
		T::Currency::hold(&HoldReason::KeyBond.into(), &who, bond)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		KeyBonds::<T>::insert(task, &who, bond);
		Self::deposit_event(Event::KeysBacked { task, owner: who, bond });
		Ok(())
	}

	/// `who` removes an ended task's records: see [`Pallet::reap_task`].
	pub(crate) fn do_reap_task(who: T::AccountId, task: TaskId) -> DispatchResult {
		let info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let ended = Ended::<T>::get(task).ok_or(Error::<T>::NotEnded)?;
		let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
		ensure!(now >= ended.saturating_add(T::Retention::get()), Error::<T>::RetentionNotOver);
		Tasks::<T>::remove(task);
		Ended::<T>::remove(task);
		let _ = Attestations::<T>::clear_prefix(task, 2, None);
		Results::<T>::remove(task);
		RevealedKeys::<T>::remove(task);
		Self::release_storage_deposit(&info.requester);
		Self::deposit_event(Event::TaskReaped { task, by: who });
		Ok(())
	}

	/// `reporter` proves that an executor lied: see [`Pallet::report_lie`].
	pub(crate) fn do_report_lie(
		reporter: T::AccountId,
		task: TaskId,
		phase: Phase,
		evidence: LieEvidenceOf<T>,
	) -> DispatchResult {
		let mut info = Tasks::<T>::get(task).ok_or(Error::<T>::UnknownTask)?;
		let mut attestation =
			Attestations::<T>::get(task, phase).ok_or(Error::<T>::NoAttestation)?;
		let executor = attestation.executor.clone();
		ensure!(reporter != executor, Error::<T>::CannotReportSelf);
		// The committee kept with an attestation is the one of its round: an attestation
		// lives only as long as its round (a failed round clears both).
		ensure!(info.committee.iter().any(|s| s.who == reporter), Error::<T>::NotCommitteeMember);
		ensure!(!attestation.lie_proven, Error::<T>::LieAlreadyProven);
		ensure!(T::Workers::is_bonded(&executor), Error::<T>::WorkerNotBonded);
		// Evidence is a quote of the attested round only: either nonce binds the round.
		let (nonce, measurements, attest, signature) = match &evidence {
			LieEvidence::Attestation(quote) => (
				Self::quote_nonce_for(task, attestation.round, phase, quote, None)?,
				&quote.measurements,
				&quote.attest,
				&quote.signature,
			),
			LieEvidence::Challenge(answer) => (
				challenge_nonce(
					task,
					attestation.round,
					phase,
					&answer.nonce,
					&answer.measurements,
				),
				&answer.measurements,
				&answer.attest,
				&answer.signature,
			),
		};
		T::Workers::verify_quote(&executor, &nonce, attest, signature, false)
			.map_err(Self::quote_error)?;
		ensure!(*measurements != attestation.measurements, Error::<T>::NoContradiction);

		attestation.lie_proven = true;
		Attestations::<T>::insert(task, phase, &attestation);
		Self::punish_lie(task, executor.clone(), phase, reporter.clone());
		// A lie in the round under way fails it; an ended task keeps its outcome.
		let current = info.status.round() == Some(attestation.round)
			&& info.status.executor() == Some(&executor);
		if current {
			// The monitors who vouched for the lie (its prover aside) lose credit; the verdicts
			// are still there, since the round has not ended yet.
			for monitor in info.monitors(&executor) {
				if monitor != reporter
					&& MonitorVerdicts::<T>::get(task, &monitor).on(phase) == Some(true)
				{
					T::Credit::penalize_missed_duty(&monitor);
					Self::deposit_event(Event::MonitorConfirmedLie { task, monitor, phase });
				}
			}
			Self::unschedule(task, &info.status);
			Self::retry_or_fault(task, &mut info, attestation.round);
			Tasks::<T>::insert(task, info);
		}
		Ok(())
	}

	/// Punishes `task`'s executor for the lie about its `phase` attestation that `reporter`
	/// proved: its credit is reset and `FaultSlash` of its deposit taken, of which the
	/// reporter is paid `ReporterShare` (the rest burnt) and, if there was a deposit to take,
	/// earns credit. The caller then fails the round if the lie is about the current one.
	pub(crate) fn punish_lie(
		task: TaskId,
		executor: T::AccountId,
		phase: Phase,
		reporter: T::AccountId,
	) {
		T::Credit::reset_for_lie(&executor);
		let (slashed, rewarded) = T::Workers::slash(
			&executor,
			T::FaultSlash::get(),
			Some((&reporter, T::ReporterShare::get())),
		);
		// No stake, no bonus: a sybil with nothing bonded cannot feed its reporter.
		if !slashed.is_zero() {
			T::Credit::reward_reporter(&reporter);
		}
		Self::deposit_event(Event::LieProven {
			task,
			phase,
			executor,
			reporter,
			slashed,
			rewarded,
		});
	}
}
