//! Credential activation (DESIGN §5, `pallets/README.md`): how a `Pending` worker becomes
//! `Active` by its TPM answering challenges only that TPM can answer.
//!
//! Round `r` of newcomer `N` has a public seed (`sortition::activation_seed`, from the parent
//! of the block that started it; round 0 starts the block after `register`, so its seed is
//! that of the registration's own block, unknown when the newcomer signed). Every `Active` worker evaluates its VRF on the activation
//! transcript (label `vouch-activation`, so no task claim replays as one); one whose draw wins
//! among the round's `eligible` workers for a target of `2k` (`sortition::activation_target`:
//! so that a round fills its `ActivationVerifiers` (`k`) seats with high probability) makes a
//! credential off-chain with a secret of its own, for `N`'s registered EK and `Name(AK)`
//! (`vouch_primitives::tpm::credential`), and posts it with a commitment to the secret
//! ([`Pallet::challenge_worker`]). Seats are bounded by `k`; a lower draw evicts the highest.
//! When the window closes with `min(k, eligible)` challenges, `N` has `AnswerWindow` blocks to
//! post every secret ([`Pallet::answer_activation`]), which the chain checks against the
//! commitments: no one has to be believed. All answered: `Active`, the TPM's ownership taken,
//! each verifier earns credit. A software AK can never answer; a verifier who leaks its secret
//! is not enough, since every verifier's secret is needed.
//!
//! Disputes: every random value of a challenge is derived from one value of its verifier's
//! (`credential::derive`), which the secret's commitment therefore binds. A newcomer whose
//! TPM refuses a challenge disputes it ([`Pallet::dispute_challenge`]); the verifier reveals
//! that value ([`Pallet::reveal_challenge`]) and the chain remakes the credential for the
//! newcomer's EK and AK. Remade: the challenge was sound and the newcomer, whose TPM could
//! have answered, is rejected with the fee. Not remade, or not revealed by the window's end:
//! the verifier pays `RejectionFee` of its bond and the newcomer has a new round, not counted
//! and at no fee. A verifier can thus neither block a genuine TPM for free nor be accused of
//! a bad challenge it did not post.
//!
//! Exits: a window short of challenges starts a new round with a new seed (the silent
//! winners are replaced: a winner who stays silent cannot be told from a loser, so it loses
//! nothing); after `ActivationRounds` rounds the registration expires, its deposit released in
//! full (the newcomer is not at fault). A newcomer that does not answer in time is rejected:
//! `RejectionFee` of its deposit burnt, the rest released; so is one that deregisters once
//! challenged in its round, which would otherwise leave for free. While no worker is `Active` (a new
//! chain without genesis workers) nobody can verify: the window keeps reopening without using
//! up rounds, and root's [`Pallet::force_activate`] bootstraps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use vouch_primitives::sortition::Draw;

use crate::TpmStruct;

/// Most verifiers of one activation (the bound of `ActivationVerifiers`).
pub const MAX_VERIFIERS: u32 = 16;

/// One verifier's challenge to a newcomer.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Challenge<AccountId> {
	/// The verifier.
	pub verifier: AccountId,
	/// Its VRF draw: the seat's rank (lower is better).
	pub draw: Draw,
	/// `TPM2B_ID_OBJECT`: the credential, which only the newcomer's TPM can open.
	pub credential_blob: TpmStruct,
	/// `TPM2B_ENCRYPTED_SECRET`: its seed, encrypted to the newcomer's EK.
	pub encrypted_secret: TpmStruct,
	/// `vouch_primitives::tpm::credential::commitment` of the verifier's secret.
	pub commitment: [u8; 32],
}

/// Where an activation is.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum ActivationStage<BlockNumber> {
	/// Round 0 is drawn at the block given, from its parent's hash: a block after the
	/// registration, so that the newcomer cannot know its verifiers' seed when it signs
	/// `register`. Until then the activation's seed, population and challenges are empty.
	Seeding {
		/// The block that starts round 0.
		until: BlockNumber,
	},
	/// Verifiers post their challenges until the block given.
	Challenging {
		/// The window's last block.
		until: BlockNumber,
	},
	/// The newcomer answers every challenge until the block given.
	Answering {
		/// The last block for the answer.
		until: BlockNumber,
	},
	/// The newcomer disputed challenge `index`; its verifier reveals it until the block given.
	Disputed {
		/// The disputed challenge's index in `challenges`.
		index: u32,
		/// The last block for the reveal.
		until: BlockNumber,
	},
}

impl<BlockNumber: Copy> ActivationStage<BlockNumber> {
	/// The stage's deadline.
	pub fn until(&self) -> BlockNumber {
		match self {
			Self::Seeding { until }
			| Self::Challenging { until }
			| Self::Answering { until }
			| Self::Disputed { until, .. } => *until,
		}
	}
}

/// A `Pending` worker's activation under way.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Activation<AccountId, BlockNumber> {
	/// The round of verifiers (rounds without any active worker do not count).
	pub round: u32,
	/// The round's public seed.
	pub seed: [u8; 32],
	/// Active workers when the round started: the sortition's population.
	pub eligible: u32,
	/// Challenges needed: `min(ActivationVerifiers, eligible)`.
	pub needed: u32,
	/// Where it is.
	pub stage: ActivationStage<BlockNumber>,
	/// The challenges posted, lowest draw first.
	pub challenges: BoundedVec<Challenge<AccountId>, ConstU32<MAX_VERIFIERS>>,
}

mod impls {
	use super::*;
	use crate::pallet::*;
	use crate::WeightInfo as _;
	use crate::{HoldReason, WorkerStatus};
	use pallet_vouch_credit::CreditLedger;
	use polkadot_sdk::{
		frame_support::{
			pallet_prelude::Weight,
			traits::{
				fungible::MutateHold,
				tokens::{Fortitude, Precision},
				Get,
			},
		},
		frame_system::{self, pallet_prelude::BlockNumberFor},
		sp_runtime::traits::{Convert, Saturating, Zero},
	};
	use vouch_primitives::{deadline_queue, sortition};

	impl<T: Config> Pallet<T> {
		/// Starts `who`'s activation round `round`: a seed from this block's parent, the
		/// population and the challenges needed, and the window's deadline.
		pub(crate) fn start_activation_round(who: &T::AccountId, round: u32) {
			let parent = frame_system::Pallet::<T>::parent_hash();
			let mut hash = [0u8; 32];
			let n = parent.as_ref().len().min(32);
			hash[..n].copy_from_slice(&parent.as_ref()[..n]);
			let seed = sortition::activation_seed(&T::VrfKey::convert(who.clone()), hash, round);
			let eligible = Self::active_count();
			let needed = T::ActivationVerifiers::get().min(eligible);
			let until = Self::schedule_activation(who, T::ChallengeWindow::get());
			Activations::<T>::insert(
				who,
				Activation {
					round,
					seed,
					eligible,
					needed,
					stage: ActivationStage::Challenging { until },
					challenges: Default::default(),
				},
			);
			Self::deposit_event(Event::ActivationRoundStarted {
				who: who.clone(),
				round,
				seed,
				eligible,
				needed,
				until,
			});
		}

		/// Registers `who`'s activation, round 0 drawn next block ([`ActivationStage::Seeding`]).
		pub(crate) fn begin_activation(who: &T::AccountId) {
			let until = Self::schedule_activation(who, 1u32.into());
			Activations::<T>::insert(
				who,
				Activation {
					round: 0,
					seed: [0; 32],
					eligible: 0,
					needed: 0,
					stage: ActivationStage::Seeding { until },
					challenges: Default::default(),
				},
			);
		}

		/// Moves `who`'s activation to `stage`, its deadline with it.
		pub(crate) fn reschedule(
			who: &T::AccountId,
			activation: &mut Activation<T::AccountId, BlockNumberFor<T>>,
			stage: ActivationStage<BlockNumberFor<T>>,
		) {
			ActivationDeadlines::<T>::remove(activation.stage.until(), who);
			ActivationDeadlines::<T>::insert(stage.until(), who, ());
			activation.stage = stage;
		}

		/// The disputed challenge `index` of `who`'s activation is settled: `revealed` says
		/// whether its verifier revealed at all, `sound` whether the challenge remade.
		pub(crate) fn settle_dispute(
			who: &T::AccountId,
			activation: Activation<T::AccountId, BlockNumberFor<T>>,
			index: u32,
			revealed: bool,
			sound: bool,
		) {
			use crate::WorkerRegistry as _;
			let Some(challenge) = activation.challenges.get(index as usize) else { return };
			let verifier = challenge.verifier.clone();
			Self::end_activation(who);
			if sound {
				Self::deposit_event(Event::ChallengeUpheld { who: who.clone(), verifier });
				Self::reject_newcomer(who, T::RejectionFee::get());
				return;
			}
			let (penalty, _) = Self::slash(&verifier, T::RejectionFee::get(), None);
			if revealed {
				T::Credit::reset_for_lie(&verifier);
			} else {
				T::Credit::penalize_missed_duty(&verifier);
			}
			Self::deposit_event(Event::ChallengeRefuted {
				who: who.clone(),
				verifier,
				penalty,
				revealed,
			});
			// The newcomer was not at fault: the same round again, with a new seed.
			Self::start_activation_round(who, activation.round);
		}

		/// Queues `who`'s deadline `blocks` from now; returns the deadline.
		fn schedule_activation(who: &T::AccountId, blocks: BlockNumberFor<T>) -> BlockNumberFor<T> {
			let until = frame_system::Pallet::<T>::block_number().saturating_add(blocks);
			ActivationDeadlines::<T>::insert(until, who, ());
			until
		}

		/// Ends `who`'s activation, if any, and takes its deadline off the queue.
		pub(crate) fn end_activation(who: &T::AccountId) {
			if let Some(activation) = Activations::<T>::take(who) {
				ActivationDeadlines::<T>::remove(activation.stage.until(), who);
			}
		}

		/// Makes the `Pending` worker `who` `Active` (or `Underbonded`, if a slash left it below
		/// the minimum) and binds its TPM to it.
		pub(crate) fn activate(who: &T::AccountId) {
			let Some(mut worker) = Workers::<T>::get(who) else { return };
			TpmOwners::<T>::insert(worker.tpm.ek_key_id, who);
			let bonded = worker.deposit >= T::MinDeposit::get();
			worker.status = if bonded { WorkerStatus::Active } else { WorkerStatus::Underbonded };
			let deposit = worker.deposit;
			Workers::<T>::insert(who, worker);
			if bonded {
				Self::bucket_add(T::Credit::credit_of(who));
				Self::deposit_event(Event::Activated { who: who.clone() });
			} else {
				Self::deposit_event(Event::Underbonded { who: who.clone(), deposit });
			}
		}

		/// Removes the newcomer `who`: `fee` of its deposit burnt, the rest released. Its TPM
		/// was never bound to it. Returns `(burnt, released)`.
		fn release_newcomer(who: &T::AccountId, fee: BalanceOf<T>) -> (BalanceOf<T>, BalanceOf<T>) {
			let Some(mut worker) = Workers::<T>::get(who) else {
				return (Zero::zero(), Zero::zero());
			};
			let reason = HoldReason::WorkerBond.into();
			let fee = fee.min(worker.deposit);
			let burnt =
				T::Currency::burn_held(&reason, who, fee, Precision::BestEffort, Fortitude::Force)
					.unwrap_or_else(|_| Zero::zero());
			let released = T::Currency::release(
				&reason,
				who,
				worker.deposit.saturating_sub(burnt),
				Precision::BestEffort,
			)
			.unwrap_or_else(|_| Zero::zero());
			worker.deposit = Zero::zero();
			worker.status = WorkerStatus::Removed;
			Workers::<T>::insert(who, worker);
			(burnt, released)
		}

		/// Rejects the newcomer `who`, `fee` of its deposit burnt.
		pub(crate) fn reject_newcomer(who: &T::AccountId, fee: BalanceOf<T>) {
			let (fee, released) = Self::release_newcomer(who, fee);
			Self::deposit_event(Event::ActivationRejected { who: who.clone(), fee, released });
		}

		/// The hook: handles the activation deadlines due, at most `MaxActivationsPerBlock`,
		/// oldest block first.
		pub(crate) fn activation_tick(now: BlockNumberFor<T>) -> Weight {
			let drained = deadline_queue::drain(
				now,
				ActivationBacklog::<T>::get(),
				T::MaxActivationsPerBlock::get(),
				ActivationDeadlines::<T>::iter_key_prefix,
				|block, who: T::AccountId| {
					ActivationDeadlines::<T>::remove(block, &who);
					Self::on_activation_deadline(&who, block);
				},
			);
			ActivationBacklog::<T>::set(drained.backlog);
			T::WeightInfo::on_initialize_activations(drained.handled)
				.saturating_add(T::DbWeight::get().reads_writes(u64::from(drained.steps) + 2, 1))
		}

		/// `who`'s activation deadline `due` is being handled.
		fn on_activation_deadline(who: &T::AccountId, due: BlockNumberFor<T>) {
			let Some(mut activation) = Activations::<T>::get(who) else { return };
			if activation.stage.until() != due {
				return;
			}
			match activation.stage {
				ActivationStage::Seeding { .. } => Self::start_activation_round(who, 0),
				ActivationStage::Disputed { index, .. } => {
					Self::settle_dispute(who, activation, index, false, false)
				},
				ActivationStage::Challenging { .. } => {
					let posted = activation.challenges.len() as u32;
					if activation.needed > 0 && posted >= activation.needed {
						let until = Self::schedule_activation(who, T::AnswerWindow::get());
						activation.stage = ActivationStage::Answering { until };
						Activations::<T>::insert(who, activation);
						Self::deposit_event(Event::ChallengesComplete { who: who.clone(), until });
					} else if activation.eligible == 0 {
						// Nobody could verify: the window reopens, the round not used up.
						Self::start_activation_round(who, activation.round);
					} else if activation.round + 1 < T::ActivationRounds::get() {
						Self::start_activation_round(who, activation.round + 1);
					} else {
						Activations::<T>::remove(who);
						let (_, released) = Self::release_newcomer(who, Zero::zero());
						Self::deposit_event(Event::ActivationExpired {
							who: who.clone(),
							released,
						});
					}
				},
				ActivationStage::Answering { .. } => {
					Activations::<T>::remove(who);
					Self::reject_newcomer(who, T::RejectionFee::get());
				},
			}
		}
	}
}
