//! The executor's evidence: the measurements a quote must carry for the task, the nonce it
//! must be bound to, and the verification of the quote by the executor's registered TPM. The
//! calls that take a quote (`attest_before`, `submit_result`, `report_lie`) share these checks.

use crate::*;
use pallet_vouch_registry::WorkerRegistry;
use polkadot_sdk::{
	frame_support::pallet_prelude::*,
	frame_system::{self, pallet_prelude::BlockNumberFor},
};
use vouch_primitives::{
	tpm::{
		nonce::quote_nonce,
		verify::{QuoteError, SignedError},
	},
	TaskId,
};

impl<T: Config> Pallet<T> {
	/// Checks the measurements of an executor's quote against the task: its image, its code
	/// and inputs, and its sandbox policy; for `After`, a result hash and an exit status that
	/// agrees with `result`.
	pub(crate) fn check_measurements(
		info: &TaskOf<T>,
		phase: Phase,
		m: &Measurements,
		result: Option<&TaskResult>,
	) -> DispatchResult {
		ensure!(m.image_id == info.image_id, Error::<T>::ImageMismatch);
		ensure!(m.code_input_hash == info.code_input_hash, Error::<T>::CodeOrInputsMismatch);
		ensure!(
			m.sandbox_policy_hash == info.sandbox_policy_hash,
			Error::<T>::SandboxPolicyMismatch
		);
		match (phase, m.result_hash, m.exit_status, result) {
			(Phase::Before, None, None, _) => Ok(()),
			(Phase::After, Some(_), Some(status), Some(result)) => {
				ensure!((status == 0) != result.job_failed, Error::<T>::ExitStatusMismatch);
				Ok(())
			},
			_ => Err(Error::<T>::MeasurementsForWrongPhase.into()),
		}
	}

	/// The nonce `quote` must carry for `phase` of `task`'s `round`: from the hash of the
	/// quote's block, which must be in the past and kept by the chain, and (for an
	/// attestation, `fresh`) at most `MaxQuoteAgeMs` old by the chain's time.
	pub(crate) fn quote_nonce_for(
		task: TaskId,
		round: u32,
		phase: Phase,
		quote: &QuoteOf<T>,
		fresh: bool,
	) -> Result<[u8; 32], DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(quote.block < now, Error::<T>::QuoteBlockUnknown);
		if fresh {
			let made = BlockTimes::<T>::get(quote.block).ok_or(Error::<T>::QuoteBlockTooOld)?;
			let age = Self::now_ms().saturating_sub(made);
			ensure!(age <= T::MaxQuoteAgeMs::get(), Error::<T>::QuoteBlockTooOld);
		}
		let hash = frame_system::Pallet::<T>::block_hash(quote.block);
		ensure!(hash != T::Hash::default(), Error::<T>::QuoteBlockUnknown);
		Ok(quote_nonce(task, round, phase, &Self::hash_bytes(hash), &quote.measurements))
	}

	/// The chain's time in Unix milliseconds.
	pub(crate) fn now_ms() -> u64 {
		use polkadot_sdk::frame_support::traits::UnixTime;
		T::Time::now().as_millis().try_into().unwrap_or(u64::MAX)
	}

	/// Keeps the time of block `n` and forgets that of the oldest block whose hash the chain
	/// no longer keeps either.
	pub(crate) fn record_block_time(n: BlockNumberFor<T>) {
		BlockTimes::<T>::insert(n, Self::now_ms());
		let kept: BlockNumberFor<T> = <T as frame_system::Config>::BlockHashCount::get();
		if n >= kept {
			BlockTimes::<T>::remove(n - kept);
		}
	}

	/// Verifies the executor's own quote for `phase`: fresh, for this task, by its TPM,
	/// in an allowed boot state, with a clock ahead of its last quote.
	pub(crate) fn verify_attestation(
		task: TaskId,
		phase: Phase,
		executor: &T::AccountId,
		round: u32,
		quote: &QuoteOf<T>,
	) -> Result<AttestationOf<T>, DispatchError> {
		ensure!(T::Workers::is_bonded(executor), Error::<T>::WorkerNotBonded);
		let nonce = Self::quote_nonce_for(task, round, phase, quote, true)?;
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
	pub(crate) fn quote_error(e: QuoteError) -> DispatchError {
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
}
