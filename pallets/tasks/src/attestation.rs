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
	/// and inputs, and its sandbox policy; for `After`, a result hash, and the commitment to
	/// the result keys and an exit status that agree with `result`.
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
		match (phase, m.result_hash, m.keys_commitment, m.exit_status, result) {
			(Phase::Before, None, None, None, _) => Ok(()),
			(Phase::After, Some(_), Some(keys), Some(status), Some(result)) => {
				ensure!((status == 0) != result.job_failed, Error::<T>::ExitStatusMismatch);
				ensure!(keys == result.keys_commitment, Error::<T>::QuotedKeysMismatch);
				Ok(())
			},
			_ => Err(Error::<T>::MeasurementsForWrongPhase.into()),
		}
	}

	/// The nonce `quote` must carry for `phase` of `task`'s `round`: from the hash of the
	/// quote's block, which must be in the past and kept by the chain, and (for an
	/// attestation) not older than block `since`, where the duty it attests began.
	///
	/// Freshness is bound to the duty, not to a number of blocks or seconds: a quote for this
	/// task, round and phase made after the duty began cannot have been made in advance, and
	/// however many blocks a busy chain (or an instant-seal one, a block per extrinsic) makes
	/// meanwhile, it stays good until the duty's own deadline.
	pub(crate) fn quote_nonce_for(
		task: TaskId,
		round: u32,
		phase: Phase,
		quote: &QuoteOf<T>,
		since: Option<BlockNumberFor<T>>,
	) -> Result<[u8; 32], DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(quote.block < now, Error::<T>::QuoteBlockUnknown);
		if let Some(since) = since {
			ensure!(quote.block >= since, Error::<T>::QuoteBeforeDuty);
		}
		let hash = frame_system::Pallet::<T>::block_hash(quote.block);
		ensure!(hash != T::Hash::default(), Error::<T>::QuoteBlockUnknown);
		Ok(quote_nonce(task, round, phase, &Self::hash_bytes(hash), &quote.measurements))
	}

	/// Verifies the executor's own quote for `phase` of the duty of `round` that began at
	/// block `since`: fresh, for this task, by its TPM, in an allowed boot state, with a clock
	/// ahead of its last quote.
	pub(crate) fn verify_attestation(
		task: TaskId,
		phase: Phase,
		executor: &T::AccountId,
		(round, since): (u32, BlockNumberFor<T>),
		quote: &QuoteOf<T>,
	) -> Result<AttestationOf<T>, DispatchError> {
		ensure!(T::Workers::is_bonded(executor), Error::<T>::WorkerNotBonded);
		let nonce = Self::quote_nonce_for(task, round, phase, quote, Some(since))?;
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

	/// A block hash as the 32 bytes that seeds and quote nonces take (the runtime's hashes
	/// are 32 bytes; a shorter one would be zero-padded, a longer one cut).
	pub(crate) fn hash_bytes(hash: T::Hash) -> [u8; 32] {
		let mut bytes = [0u8; 32];
		let n = hash.as_ref().len().min(32);
		bytes[..n].copy_from_slice(&hash.as_ref()[..n]);
		bytes
	}
}
