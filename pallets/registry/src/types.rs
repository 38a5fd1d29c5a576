//! The registry's bounds and the interfaces between it and the tasks pallet: what the tasks
//! pallet asks of the registry ([`WorkerRegistry`]) and what the registry asks back
//! ([`OpenDuties`]).
//!
//! The worker's records are declared elsewhere, [`WorkerStatus`](crate::WorkerStatus) and
//! [`Worker`](crate::Worker) in `lib.rs` and the activation's in
//! [`activation`](crate::activation), and stay there: a stored type's module path is part of
//! the runtime metadata (the clients' generated types are named by it).

use pallet_vouch_credit::Credit;
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use vouch_primitives::tpm::{attest::ClockInfo, verify::QuoteError};

/// Longest executor endpoint URL, in bytes.
pub const MAX_ENDPOINT_LEN: u32 = 256;
/// Credit buckets kept: the last one holds every credit above the others.
pub const MAX_BUCKETS: u32 = 64;

/// An executor endpoint, `http://` or `https://`.
pub type Endpoint = BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>>;

/// What the tasks pallet needs of the registry.
pub trait WorkerRegistry<AccountId, Balance> {
	/// Whether `who` is an active worker.
	fn is_active(who: &AccountId) -> bool;
	/// How many active workers have at least `min_credit`, which must be a multiple of the
	/// bucket width (see [`Pallet::check_min_credit`](crate::Pallet::check_min_credit)).
	fn eligible_count(min_credit: Credit) -> u32;
	/// Whether `min_credit` may be a task's requirement (see
	/// [`Pallet::check_min_credit`](crate::Pallet::check_min_credit)).
	fn valid_min_credit(min_credit: Credit) -> bool;
	/// Whether `who` has a bond at stake: a non-zero deposit, `Active`, `Underbonded` or
	/// `Unbonding`. Only such workers' quotes are taken. An `Underbonded` worker is out of
	/// sortition but still finishes the duties it holds (and can still be slashed for them):
	/// one slash must not make every other task it serves fail on it.
	fn is_bonded(who: &AccountId) -> bool;
	/// Takes up to `amount` of `who`'s deposit for a proven fault: `reward`'s share of it is
	/// paid to `reward`'s account (the reporter of a lie), the rest burnt. Returns what was
	/// taken and what of it was paid. A worker left below `MinDeposit` is no longer active.
	fn slash(
		who: &AccountId,
		amount: Balance,
		reward: Option<(&AccountId, polkadot_sdk::sp_runtime::Perbill)>,
	) -> (Balance, Balance);
	/// Verifies a quote by `who`'s TPM with `nonce` as qualifying data under the chain's quote
	/// policy. With `advance_clock`, the quote's clock must be ahead of the last one accepted
	/// from this TPM and becomes the new last one (a quote submitted as the worker's own
	/// attestation); without, the clock is not checked (a quote produced as evidence against
	/// the worker, which may be older). An unknown worker's quote fails as `WrongSigner`.
	fn verify_quote(
		who: &AccountId,
		nonce: &[u8; 32],
		attest: &[u8],
		signature: &[u8],
		advance_clock: bool,
	) -> Result<ClockInfo, QuoteError>;
}

/// What the registry needs of the tasks pallet: the duties that keep a worker's bond in place.
pub trait OpenDuties<AccountId> {
	/// How many elected committees of open tasks `who` sits on.
	fn open_duties(who: &AccountId) -> u32;
}

impl<AccountId> OpenDuties<AccountId> for () {
	fn open_duties(_: &AccountId) -> u32 {
		0
	}
}
