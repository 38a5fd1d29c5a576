//! The pallet's invariants, checked by `try-runtime` (the `try_state` hook) and by the tests:
//! the bucket counts match the active workers, the bonds are held, the activations match the
//! pending workers and their queued deadlines, and TPMs are bound only to activated workers.

use crate::*;
use pallet_vouch_credit::CreditLedger;
use polkadot_sdk::frame_support::{
	ensure,
	traits::{fungible, Get},
};

impl<T: Config> Pallet<T> {
	/// Invariants: the bucket counts are exactly the active workers by credit, every
	/// active worker has the minimum deposit, and every worker's recorded deposit is held.
	#[cfg(any(feature = "try-runtime", test))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		let mut expected = alloc::collections::BTreeMap::<u32, u32>::new();
		for (who, worker) in Workers::<T>::iter() {
			if worker.status == WorkerStatus::Active {
				*expected.entry(Self::bucket_of(T::Credit::credit_of(&who))).or_default() += 1;
				ensure!(
					worker.deposit >= T::MinDeposit::get(),
					"an active worker's deposit is below the minimum"
				);
			}
			ensure!(
				<T::Currency as fungible::InspectHold<_>>::balance_on_hold(
					&HoldReason::WorkerBond.into(),
					&who,
				) == worker.deposit,
				"a worker's recorded deposit is not what is held"
			);
		}
		let counted: alloc::collections::BTreeMap<u32, u32> = ActiveByBucket::<T>::iter().collect();
		ensure!(counted == expected, "bucket counts differ from the active workers");
		// Exactly the pending workers have an activation, each with its deadline queued.
		for (who, worker) in Workers::<T>::iter() {
			ensure!(
				(worker.status == WorkerStatus::Pending) == Activations::<T>::contains_key(&who),
				"a pending worker without an activation, or an activation of another"
			);
		}
		for (who, activation) in Activations::<T>::iter() {
			ensure!(
				ActivationDeadlines::<T>::contains_key(activation.stage.until(), &who),
				"an activation whose deadline is not queued"
			);
			ensure!(
				activation.challenges.len() as u32 <= T::ActivationVerifiers::get(),
				"more challenges than seats"
			);
			match activation.stage {
				ActivationStage::Seeding { .. } => ensure!(
					activation.round == 0 && activation.challenges.is_empty(),
					"a round drawn before its seed"
				),
				ActivationStage::Disputed { index, .. } => ensure!(
					(index as usize) < activation.challenges.len(),
					"a dispute of a challenge that is not there"
				),
				ActivationStage::Challenging { .. } | ActivationStage::Answering { .. } => {},
			}
		}
		// A TPM is bound only to an activated worker holding that TPM.
		for (key, owner) in TpmOwners::<T>::iter() {
			let worker = Workers::<T>::get(&owner).ok_or("a TPM bound to no worker")?;
			ensure!(worker.tpm.ek_key_id == key, "a TPM bound to a worker of another TPM");
			ensure!(
				!matches!(worker.status, WorkerStatus::Pending | WorkerStatus::Removed),
				"a TPM bound to a worker not activated or gone"
			);
		}
		Ok(())
	}
}
