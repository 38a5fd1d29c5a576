//! # Registry
//!
//! The workers of Vouch (DESIGN §2): each is an account (whose sr25519 key is also its VRF key)
//! bound to a TPM, reachable at an executor endpoint, with a deposit held as its bond.
//!
//! A worker's life: [`register`](Pallet::register) (status `Pending`, deposit held) →
//! `Active` once its TPM material is verified → [`deregister`](Pallet::deregister)
//! (`Unbonding` for [`Config::UnbondingPeriod`] blocks, so that lies found late can still be
//! slashed) → [`withdraw`](Pallet::withdraw) (`Removed`, deposit released).
//!
//! Registration verifies the worker's TPM on-chain (DESIGN §5): its EK certificate chain to
//! one of the [`TrustedTpmRoots`], the EK against the certificate (and the TCG default EK
//! template), the attestation key (AK) and the sealing key, and the AK's certification of the
//! sealing key for this account. The chain keeps `QN(AK)`, which every later quote must name
//! as its signer. What no check of submitted bytes can show, that the AK lives in the TPM of
//! that EK, credential activation shows ([`activation`]): active workers drawn by VRF
//! challenge the newcomer with credentials only its TPM can open, and it becomes `Active` when
//! it answered every one. One worker per TPM: ownership ([`TpmOwners`]) is keyed on the EK
//! certificate's key and taken only at activation, so registering someone else's public EK
//! certificate behind a software AK squats nothing. Root keeps an override for dev chains and
//! emergencies ([`force_activate`](Pallet::force_activate),
//! [`force_reject`](Pallet::force_reject)).
//!
//! Quotes are verified for the tasks pallet ([`WorkerRegistry::verify_quote`]) against the
//! worker's AK, the chain's [`TpmQuotePolicy`] (boot PCRs and allowed states) and the last
//! clock seen from that TPM ([`QuoteClocks`]).
//!
//! A bond binds while it backs duties: a worker slashed below [`Config::MinDeposit`] is no
//! longer `Active` (`Underbonded`, until it bonds more), and a worker sitting on an elected
//! committee of an open task ([`Config::Duties`]) can neither deregister nor withdraw.
//!
//! Sortition needs the number of active workers with at least some credit. The registry keeps
//! those counts per credit bucket ([`ActiveByBucket`]), updated on every status and credit
//! change, so reading them costs at most [`MAX_BUCKETS`] reads, never a walk over workers.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use activation::*;
pub use pallet::*;
pub use tpm::*;
pub use weights::WeightInfo;

pub mod activation;
#[cfg(any(test, feature = "test-tpm"))]
pub mod test_tpm;
pub mod tpm;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_vouch_credit::Credit;
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use vouch_primitives::tpm::{
	attest::ClockInfo,
	ek::EkError,
	registration::RegistrationError,
	verify::{CertificationError, KeyError, QuoteError, SignedError},
};

/// Longest executor endpoint URL, in bytes.
pub const MAX_ENDPOINT_LEN: u32 = 256;
/// Credit buckets kept: the last one holds every credit above the others.
pub const MAX_BUCKETS: u32 = 64;

/// An executor endpoint, `http://` or `https://`.
pub type Endpoint = BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>>;

/// Where a worker is in its life.
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
pub enum WorkerStatus<BlockNumber> {
	/// Registered with a verified TPM; waits for credential activation ([`Activations`]). Not
	/// eligible for tasks.
	Pending,
	/// Verified and eligible for tasks.
	Active,
	/// Leaving: not eligible, deposit still held (and slashable) until the given block.
	Unbonding {
		/// From this block on, the worker may withdraw its deposit.
		until: BlockNumber,
	},
	/// Gone: deposit released. May register again.
	Removed,
	/// Verified, but slashed below `MinDeposit`: not eligible for tasks until it bonds more
	/// ([`Pallet::bond_extra`]); it may still deregister.
	Underbonded,
}

/// A registered worker.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct Worker<Balance, BlockNumber> {
	/// Its TPM, as verified at registration.
	pub tpm: RegisteredTpm,
	/// Where its executor sidecar listens.
	pub endpoint: Endpoint,
	/// The deposit held as its bond (less any slash).
	pub deposit: Balance,
	/// Where it is in its life.
	pub status: WorkerStatus<BlockNumber>,
}

/// What the tasks pallet needs of the registry.
pub trait WorkerRegistry<AccountId, Balance> {
	/// Whether `who` is an active worker.
	fn is_active(who: &AccountId) -> bool;
	/// How many active workers have at least `min_credit`, which must be a multiple of the
	/// bucket width (see [`Pallet::check_min_credit`]).
	fn eligible_count(min_credit: Credit) -> u32;
	/// Whether `min_credit` may be a task's requirement (see [`Pallet::check_min_credit`]).
	fn valid_min_credit(min_credit: Credit) -> bool;
	/// Whether `who` has a bond at stake: `Active` or `Unbonding`. Only such workers' quotes
	/// are taken.
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

/// Makes registration evidence that verifies in a runtime's benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// An account, evidence of a TPM registering as it, and the roots it chains to.
	fn registration() -> (AccountId, TpmEvidence, alloc::vec::Vec<alloc::vec::Vec<u8>>);
	/// The account whose VRF key (see [`Config::VrfKey`]) is `key`: the benchmarks' VRF
	/// claim is precomputed for given keys.
	fn account_with_vrf_key(key: [u8; 32]) -> AccountId;
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;
	use pallet_vouch_credit::{CreditLedger, OnCreditChange};
	use polkadot_sdk::{
		frame_support::{
			pallet_prelude::*,
			traits::{
				fungible::{self, MutateHold},
				tokens::{Fortitude, Precision, Restriction},
			},
		},
		frame_system::{self, pallet_prelude::*},
		sp_runtime::Saturating,
	};

	/// The balance type of the bonding currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;
	/// A worker as this runtime stores it.
	pub type WorkerOf<T> = Worker<BalanceOf<T>, BlockNumberFor<T>>;
	/// An activation as this runtime stores it.
	pub type ActivationOf<T> =
		Activation<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why the registry holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A worker's bond.
		WorkerBond,
	}

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which this pallet's [`HoldReason`] is one.
		type RuntimeHoldReason: From<HoldReason>;
		/// Where workers' credit is kept.
		type Credit: CreditLedger<Self::AccountId>;
		/// Smallest deposit a worker may bond.
		#[pallet::constant]
		type MinDeposit: Get<BalanceOf<Self>>;
		/// Blocks between deregistering and withdrawing the deposit.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// Width of a credit bucket: tasks' minimum credits are multiples of it.
		#[pallet::constant]
		type CreditBucketWidth: Get<Credit>;
		/// Verifies TPM evidence: [`RustCryptoTpm`] in a runtime.
		type Tpm: TpmVerifier;
		/// The chain's time, against which EK certificates' validity is checked (the
		/// timestamp pallet in a runtime).
		type Time: polkadot_sdk::frame_support::traits::UnixTime;
		/// The duties a worker's bond backs (the tasks pallet): none may be open when it
		/// deregisters or withdraws.
		type Duties: OpenDuties<Self::AccountId>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// A worker's sr25519 VRF public key (on Vouch, its account id): verifiers' claims
		/// are VRF proofs by it.
		type VrfKey: polkadot_sdk::sp_runtime::traits::Convert<Self::AccountId, [u8; 32]>;
		/// Verifiers drawn for each newcomer's credential activation (`k`, at most
		/// [`MAX_VERIFIERS`]); fewer when fewer workers are active.
		#[pallet::constant]
		type ActivationVerifiers: Get<u32>;
		/// Blocks the verifiers of a round have to post their challenges.
		#[pallet::constant]
		type ChallengeWindow: Get<BlockNumberFor<Self>>;
		/// Blocks a newcomer has to answer every challenge.
		#[pallet::constant]
		type AnswerWindow: Get<BlockNumberFor<Self>>;
		/// Rounds of verifiers drawn before a registration expires (its deposit released).
		#[pallet::constant]
		type ActivationRounds: Get<u32>;
		/// What a newcomer that never answers forfeits of its deposit (burnt).
		#[pallet::constant]
		type RejectionFee: Get<BalanceOf<Self>>;
		/// Most activation deadlines the hook handles in one block; the rest wait in
		/// [`ActivationBacklog`].
		#[pallet::constant]
		type MaxActivationsPerBlock: Get<u32>;
		/// Makes verifiable registration evidence for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Every worker that ever registered, by account.
	#[pallet::storage]
	pub type Workers<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, WorkerOf<T>>;

	/// Active workers per credit bucket: bucket `b` counts credits in
	/// `[b * width, (b + 1) * width)`, the last bucket everything above.
	#[pallet::storage]
	pub type ActiveByBucket<T> = StorageMap<_, Twox64Concat, u32, u32, ValueQuery>;

	/// The TPM manufacturers' root certificates (DER) that EK certificates must chain to. Set in
	/// genesis and changed only by root.
	#[pallet::storage]
	pub type TrustedTpmRoots<T> = StorageValue<_, TrustedRoots, ValueQuery>;

	/// Which boot PCRs a quote must cover and which of their digests are allowed. Set in genesis
	/// and changed only by root.
	#[pallet::storage]
	pub type TpmQuotePolicy<T> = StorageValue<_, QuotePolicy, ValueQuery>;

	/// Which worker each TPM is bound to, by the key id of its EK certificate's key
	/// (`vouch_primitives::tpm::ek::key_id`): one worker per TPM. Taken at activation, given
	/// back at withdrawal.
	#[pallet::storage]
	pub type TpmOwners<T: Config> = StorageMap<_, Blake2_128Concat, [u8; 32], T::AccountId>;

	/// The activation of each `Pending` worker.
	#[pallet::storage]
	pub type Activations<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ActivationOf<T>>;

	/// Activation deadlines by block: `(block, worker)`. An entry whose activation moved on
	/// is skipped.
	#[pallet::storage]
	pub type ActivationDeadlines<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Blake2_128Concat,
		T::AccountId,
		(),
		OptionQuery,
	>;

	/// The first block whose activation deadlines were not all handled (more fell due than
	/// `MaxActivationsPerBlock`), if any.
	#[pallet::storage]
	pub type ActivationBacklog<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

	/// The TPM clock of each worker's last accepted quote: a later quote may not be older.
	#[pallet::storage]
	pub type QuoteClocks<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ClockInfo>;

	/// The trust configuration a chain starts with.
	#[pallet::genesis_config]
	#[derive(polkadot_sdk::frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Trusted TPM manufacturer roots (DER certificates).
		pub trusted_roots: alloc::vec::Vec<alloc::vec::Vec<u8>>,
		/// The SHA-256 PCRs quotes must select, as a bitmap.
		pub pcr_select: alloc::vec::Vec<u8>,
		/// The allowed digests of those PCRs.
		pub allowed_pcr_digests: alloc::vec::Vec<[u8; 32]>,
		#[serde(skip)]
		#[doc(hidden)]
		pub _config: core::marker::PhantomData<T>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let roots = Pallet::<T>::bounded_roots(self.trusted_roots.clone())
				.expect("genesis TPM roots are DER certificates within the bounds");
			TrustedTpmRoots::<T>::put(roots);
			let policy = QuotePolicy {
				pcr_select: self.pcr_select.clone().try_into().expect("PCR selection too long"),
				allowed_digests: self
					.allowed_pcr_digests
					.clone()
					.try_into()
					.expect("too many allowed PCR digests"),
			};
			TpmQuotePolicy::<T>::put(policy);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker registered and bonded its deposit; it waits for verification.
		Registered {
			/// The worker.
			who: T::AccountId,
			/// The deposit held.
			deposit: BalanceOf<T>,
		},
		/// A worker was verified and is eligible for tasks.
		Activated {
			/// The worker.
			who: T::AccountId,
		},
		/// A worker changed its executor endpoint.
		EndpointChanged {
			/// The worker.
			who: T::AccountId,
		},
		/// A worker left the pool; its deposit stays held until `until`.
		Unbonding {
			/// The worker.
			who: T::AccountId,
			/// First block at which it may withdraw.
			until: BlockNumberFor<T>,
		},
		/// A worker withdrew its deposit and is removed.
		Removed {
			/// The worker.
			who: T::AccountId,
			/// The deposit released.
			released: BalanceOf<T>,
		},
		/// Part of a worker's deposit was taken for a proven fault.
		Slashed {
			/// The worker.
			who: T::AccountId,
			/// The amount taken: burnt, but for `rewarded`.
			amount: BalanceOf<T>,
			/// Of it, what was paid to the reporter of the fault.
			rewarded: BalanceOf<T>,
		},
		/// A slash left a worker's deposit below `MinDeposit`: it is not eligible for tasks
		/// until it bonds more.
		Underbonded {
			/// The worker.
			who: T::AccountId,
			/// Its deposit now.
			deposit: BalanceOf<T>,
		},
		/// A worker added to its bond.
		Bonded {
			/// The worker.
			who: T::AccountId,
			/// The amount added.
			amount: BalanceOf<T>,
			/// Its deposit now.
			deposit: BalanceOf<T>,
		},
		/// Root replaced the trusted TPM manufacturer roots.
		TrustedRootsSet {
			/// How many roots are trusted now.
			count: u32,
		},
		/// Root replaced the quote policy.
		QuotePolicySet {
			/// How many boot states are allowed now.
			allowed: u32,
		},
		/// A round of verifiers for a newcomer's credential activation began.
		ActivationRoundStarted {
			/// The newcomer.
			who: T::AccountId,
			/// The round.
			round: u32,
			/// Its public seed: active workers evaluate their VRF on it.
			seed: [u8; 32],
			/// Active workers now: the sortition's population.
			eligible: u32,
			/// Challenges needed.
			needed: u32,
			/// The last block for challenges.
			until: BlockNumberFor<T>,
		},
		/// A verifier posted its challenge (a credential and a commitment to its secret).
		ChallengePosted {
			/// The newcomer.
			who: T::AccountId,
			/// The verifier.
			verifier: T::AccountId,
			/// The round.
			round: u32,
		},
		/// A lower draw took the seat of the highest: that verifier's challenge was dropped.
		VerifierEvicted {
			/// The newcomer.
			who: T::AccountId,
			/// The verifier whose challenge was dropped.
			verifier: T::AccountId,
		},
		/// Every challenge is posted: the newcomer's TPM must answer them by `until`.
		ChallengesComplete {
			/// The newcomer.
			who: T::AccountId,
			/// The last block for the answer.
			until: BlockNumberFor<T>,
		},
		/// No round drew enough verifiers: the registration expired, its deposit released.
		ActivationExpired {
			/// The worker.
			who: T::AccountId,
			/// The deposit released.
			released: BalanceOf<T>,
		},
		/// The newcomer did not answer its challenges (or root rejected it): removed, its
		/// deposit released less `fee`, which was burnt.
		ActivationRejected {
			/// The worker.
			who: T::AccountId,
			/// Burnt of the deposit.
			fee: BalanceOf<T>,
			/// Released.
			released: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// This account is registered already (and not removed).
		AlreadyRegistered,
		/// This account is not a registered worker.
		NotRegistered,
		/// The deposit is below `MinDeposit`.
		DepositBelowMinimum,
		/// The account cannot cover the deposit.
		InsufficientBalance,
		/// The EK certificate, an issuing CA or a trusted root is not a DER X.509 certificate.
		EkCertificateMalformed,
		/// More issuing CAs than the chain follows (4).
		EkChainTooLong,
		/// The EK certificate does not chain to a trusted TPM manufacturer root.
		EkIssuerUntrusted,
		/// A certificate in the EK chain is issued by a certificate that is not a CA.
		EkIssuerNotCa,
		/// A certificate in the EK chain uses an algorithm the chain does not verify (it
		/// verifies ECDSA P-256/P-384 and RSA-2048/3072 PKCS#1 v1.5 with SHA-256/384).
		EkAlgorithmUnsupported,
		/// A certificate signature in the EK chain does not verify.
		EkCertificateSignatureInvalid,
		/// The EK public area is not the key in the EK certificate.
		EkKeyMismatch,
		/// The EK certificate is a CA's, or lacks the TCG EK purpose (extended key usage
		/// `2.23.133.8.1`) or a key usage that lets its key encrypt: it is no TPM's EK.
		EkNotEndEntity,
		/// An issuing CA in the EK chain may not sign certificates (no `keyCertSign`), or has
		/// more CAs under it than its path length allows.
		EkIssuerNotAllowedToSign,
		/// A certificate in the EK chain is not valid at the chain's time.
		EkCertificateNotValidNow,
		/// A certificate in the EK chain has a critical extension the chain does not process.
		EkUnknownCriticalExtension,
		/// An RSA key in the EK chain is not 2048 or 3072 bits with exponent 65537.
		EkRsaKeyNotAllowed,
		/// The EK public area does not parse as a TPM2B_PUBLIC.
		EkPublicMalformed,
		/// A TPM structure (public area, attestation or signature) does not parse.
		TpmStructureMalformed,
		/// The AK is not an ECC P-256 key with an ECDSA/SHA-256 scheme.
		AkNotP256Ecdsa,
		/// The AK's attributes are not exactly those of a restricted signing key made in the
		/// TPM: a non-restricted key could sign forged quotes.
		AkNotRestrictedSigning,
		/// The sealing key is not RSA-2048 with an OAEP/SHA-256 scheme.
		SealingKeyNotRsaOaep,
		/// The sealing key is not a decrypt-only key fixed to its TPM.
		SealingKeyAttributes,
		/// The certification's signature is not ECDSA with SHA-256.
		CertificationSignatureScheme,
		/// The certification's signature does not verify with the AK.
		CertificationSignatureInvalid,
		/// The certification is not a `TPM2_Certify` attestation.
		CertificationWrongType,
		/// The certification names another signer than this AK (under this EK).
		CertificationWrongSigner,
		/// The certification was not made for this account (its nonce differs).
		CertificationWrongNonce,
		/// The certification certifies another key than the submitted sealing key.
		CertificationWrongKey,
		/// This TPM is registered to another worker already.
		TpmAlreadyRegistered,
		/// More trusted roots, PCR selection bytes or allowed digests than the bounds allow.
		TooManyPolicyEntries,
		/// The endpoint is not an `http://` or `https://` URL.
		MalformedEndpoint,
		/// The worker is not `Pending`.
		NotPending,
		/// The worker is already leaving or gone.
		AlreadyLeaving,
		/// The worker is not `Unbonding`.
		NotUnbonding,
		/// The unbonding period has not passed yet.
		StillUnbonding,
		/// The worker sits on the elected committee of an open task: its bond backs that
		/// duty until the task's round ends.
		DutiesOpen,
		/// Nothing to bond: the amount is zero.
		ZeroBond,
		/// The EK public area is not the TCG default RSA-2048 EK template.
		EkNotDefaultTemplate,
		/// This worker has no activation under way (it is not `Pending`).
		NoActivation,
		/// The activation is not taking challenges (the window closed, or every challenge is in).
		NotChallenging,
		/// The claim is for another round than the activation's current one.
		WrongActivationRound,
		/// Only an `Active` worker may verify another.
		NotActiveWorker,
		/// This verifier has posted its challenge for this round already.
		AlreadyChallenged,
		/// The VRF proof does not verify for this verifier, newcomer, seed and round.
		BadVrfProof,
		/// The draw does not win a verifier's seat.
		LosingDraw,
		/// Every seat is taken by a lower draw.
		DrawTooHigh,
		/// The credential blob or the encrypted secret is empty.
		EmptyCredential,
		/// The activation is not waiting for the answer.
		NotAnswering,
		/// Not one secret per challenge, in the challenges' order.
		WrongAnswerCount,
		/// A secret does not open its challenge's commitment: this TPM could not answer.
		WrongActivationSecret,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::activation_tick(now)
		}

		fn integrity_test() {
			let k = T::ActivationVerifiers::get();
			assert!(k >= 1 && k <= MAX_VERIFIERS, "ActivationVerifiers must be in 1..=16");
			assert!(T::ActivationRounds::get() >= 1, "ActivationRounds must be at least 1");
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
		/// Registers the caller as a worker bound to the TPM of `evidence`, reachable at
		/// `endpoint`, and holds `deposit` (at least `MinDeposit`) as its bond.
		///
		/// The evidence is verified here: the EK certificate chain to a trusted root, the EK,
		/// the AK (restricted signing, P-256), the sealing key (RSA-2048 OAEP, decrypt only)
		/// and the AK's certification of it with this account's nonce. The worker is then
		/// `Pending` until its AK is bound to its EK by credential activation: the first round
		/// of verifiers starts here ([`activation`]). A TPM bound to another worker is refused
		/// (`TpmAlreadyRegistered`); a TPM only registered, not activated, is bound to nobody.
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::register_weight())]
		pub fn register(
			origin: OriginFor<T>,
			evidence: TpmEvidence,
			endpoint: Endpoint,
			deposit: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			if let Some(existing) = Workers::<T>::get(&who) {
				ensure!(existing.status == WorkerStatus::Removed, Error::<T>::AlreadyRegistered);
			}
			ensure!(deposit >= T::MinDeposit::get(), Error::<T>::DepositBelowMinimum);
			Self::check_endpoint(&endpoint)?;
			let now = <T::Time as polkadot_sdk::frame_support::traits::UnixTime>::now().as_secs();
			let roots = TrustedTpmRoots::<T>::get();
			let verified = T::Tpm::verify_registration(&evidence, &who.encode(), &roots, now)
				.map_err(Self::registration_error)?;
			let ek_qualified_name: TpmName =
				verified.ek_qualified_name.try_into().map_err(|_| Error::<T>::EkPublicMalformed)?;
			let ak_qualified_name: TpmName = verified
				.ak_qualified_name
				.try_into()
				.map_err(|_| Error::<T>::TpmStructureMalformed)?;
			if let Some(owner) = TpmOwners::<T>::get(verified.ek_key_id) {
				ensure!(owner == who, Error::<T>::TpmAlreadyRegistered);
			}
			T::Currency::hold(&HoldReason::WorkerBond.into(), &who, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			// A returning account's last clock was its previous TPM's.
			QuoteClocks::<T>::remove(&who);
			let tpm = RegisteredTpm {
				ek_qualified_name,
				ak_qualified_name,
				ek_key_id: verified.ek_key_id,
				ek_public: evidence.ek_public,
				ak_public: evidence.ak_public,
				sealing_public: evidence.sealing_public,
			};
			Workers::<T>::insert(
				&who,
				Worker { tpm, endpoint, deposit, status: WorkerStatus::Pending },
			);
			Self::deposit_event(Event::Registered { who: who.clone(), deposit });
			Self::start_activation_round(&who, 0);
			Ok(())
		}

		/// Root: marks a `Pending` worker `Active` without credential activation, ending its
		/// activation. An override for dev chains and emergencies (a chain without genesis
		/// workers has nobody to verify its first ones); it vouches for nothing.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::force_activate())]
		pub fn force_activate(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			ensure_root(origin)?;
			let worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(worker.status == WorkerStatus::Pending, Error::<T>::NotPending);
			if let Some(owner) = TpmOwners::<T>::get(worker.tpm.ek_key_id) {
				ensure!(owner == who, Error::<T>::TpmAlreadyRegistered);
			}
			Self::end_activation(&who);
			Self::activate(&who);
			Ok(())
		}

		/// Root: rejects a `Pending` worker, ending its activation and releasing its whole
		/// deposit (no fee: root's call is no proof of fault). An override, like
		/// [`Pallet::force_activate`].
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::force_reject())]
		pub fn force_reject(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			ensure_root(origin)?;
			let worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(worker.status == WorkerStatus::Pending, Error::<T>::NotPending);
			Self::end_activation(&who);
			Self::reject_newcomer(&who, Zero::zero());
			Ok(())
		}

		/// An `Active` worker challenges the `Pending` worker `who` in its activation `round`:
		/// `pre_output` and `proof` are its VRF claim on the round's seed (which must win a
		/// verifier's seat), `credential_blob` and `encrypted_secret` a credential it made for
		/// `who`'s EK and `Name(AK)` with a secret of its own, and `commitment` that secret's
		/// commitment (`vouch_primitives::tpm::credential::commitment`). Seats are bounded by
		/// `ActivationVerifiers`; a lower draw evicts the highest. Free when it succeeds: a
		/// duty, like a task claim.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::challenge_worker())]
		pub fn challenge_worker(
			origin: OriginFor<T>,
			who: T::AccountId,
			round: u32,
			pre_output: [u8; 32],
			proof: [u8; 64],
			credential_blob: TpmStruct,
			encrypted_secret: TpmStruct,
			commitment: [u8; 32],
		) -> DispatchResultWithPostInfo {
			let verifier = ensure_signed(origin)?;
			Self::do_challenge(
				verifier,
				who,
				round,
				(pre_output, proof),
				credential_blob,
				encrypted_secret,
				commitment,
			)?;
			Ok(Pays::No.into())
		}

		/// The `Pending` caller answers its challenges: one secret per challenge, in the
		/// challenges' order, each recovered by `TPM2_ActivateCredential` in its TPM. Every
		/// secret must open its commitment. Then the worker is `Active`, its TPM bound to it,
		/// and each verifier earns credit. Free when it succeeds.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::answer_activation())]
		pub fn answer_activation(
			origin: OriginFor<T>,
			secrets: BoundedVec<[u8; 32], ConstU32<MAX_VERIFIERS>>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_answer(who, secrets)?;
			Ok(Pays::No.into())
		}

		/// Changes the caller's executor endpoint.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::set_endpoint())]
		pub fn set_endpoint(origin: OriginFor<T>, endpoint: Endpoint) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_endpoint(&endpoint)?;
			Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				ensure!(worker.status != WorkerStatus::Removed, Error::<T>::NotRegistered);
				worker.endpoint = endpoint;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::EndpointChanged { who });
			Ok(())
		}

		/// Leaves the pool: the caller is no longer eligible for new tasks, and its deposit stays
		/// held for `UnbondingPeriod` blocks.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let until =
				frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
			ensure!(T::Duties::open_duties(&who) == 0, Error::<T>::DutiesOpen);
			let was_active = Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				let was_active = match worker.status {
					WorkerStatus::Pending | WorkerStatus::Underbonded => false,
					WorkerStatus::Active => true,
					WorkerStatus::Unbonding { .. } | WorkerStatus::Removed => {
						return Err(Error::<T>::AlreadyLeaving)
					},
				};
				worker.status = WorkerStatus::Unbonding { until };
				Ok(was_active)
			})?;
			if was_active {
				Self::bucket_remove(T::Credit::credit_of(&who));
			}
			// A newcomer leaving before its activation ends it.
			Self::end_activation(&who);
			Self::deposit_event(Event::Unbonding { who, until });
			Ok(())
		}

		/// Releases the caller's deposit once its unbonding period has passed.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(T::Duties::open_duties(&who) == 0, Error::<T>::DutiesOpen);
			let released = Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				let WorkerStatus::Unbonding { until } = worker.status else {
					return Err(Error::<T>::NotUnbonding.into());
				};
				ensure!(now >= until, Error::<T>::StillUnbonding);
				let released = T::Currency::release(
					&HoldReason::WorkerBond.into(),
					&who,
					worker.deposit,
					Precision::Exact,
				)?;
				worker.deposit = Zero::zero();
				worker.status = WorkerStatus::Removed;
				// The TPM is free to register again, to this account or another.
				if TpmOwners::<T>::get(worker.tpm.ek_key_id).as_ref() == Some(&who) {
					TpmOwners::<T>::remove(worker.tpm.ek_key_id);
				}
				Ok::<_, DispatchError>(released)
			})?;
			Self::deposit_event(Event::Removed { who, released });
			Ok(())
		}

		/// Adds `amount` to the caller's bond. An `Underbonded` worker whose deposit reaches
		/// `MinDeposit` again is `Active` again.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroBond);
			let (deposit, reactivated) = Workers::<T>::try_mutate(&who, |entry| {
				let worker = entry.as_mut().ok_or(Error::<T>::NotRegistered)?;
				ensure!(
					matches!(
						worker.status,
						WorkerStatus::Pending | WorkerStatus::Active | WorkerStatus::Underbonded
					),
					Error::<T>::AlreadyLeaving
				);
				T::Currency::hold(&HoldReason::WorkerBond.into(), &who, amount)
					.map_err(|_| Error::<T>::InsufficientBalance)?;
				worker.deposit = worker.deposit.saturating_add(amount);
				let reactivated = worker.status == WorkerStatus::Underbonded
					&& worker.deposit >= T::MinDeposit::get();
				if reactivated {
					worker.status = WorkerStatus::Active;
				}
				Ok::<_, DispatchError>((worker.deposit, reactivated))
			})?;
			Self::deposit_event(Event::Bonded { who: who.clone(), amount, deposit });
			if reactivated {
				Self::bucket_add(T::Credit::credit_of(&who));
				Self::deposit_event(Event::Activated { who });
			}
			Ok(())
		}

		/// Root: replaces the trusted TPM manufacturer roots (DER certificates). Workers
		/// already registered stay; new registrations must chain to one of these.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_trusted_roots())]
		pub fn set_trusted_roots(origin: OriginFor<T>, roots: TrustedRoots) -> DispatchResult {
			ensure_root(origin)?;
			for root in &roots {
				ensure!(
					vouch_primitives::tpm::ek::parse_certificate(root).is_ok(),
					Error::<T>::EkCertificateMalformed
				);
			}
			let count = roots.len() as u32;
			TrustedTpmRoots::<T>::put(roots);
			Self::deposit_event(Event::TrustedRootsSet { count });
			Ok(())
		}

		/// Root: replaces the quote policy: the boot PCRs quotes must cover and the allowed
		/// digests of their values.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::set_quote_policy())]
		pub fn set_quote_policy(origin: OriginFor<T>, policy: QuotePolicy) -> DispatchResult {
			ensure_root(origin)?;
			let allowed = policy.allowed_digests.len() as u32;
			TpmQuotePolicy::<T>::put(policy);
			Self::deposit_event(Event::QuotePolicySet { allowed });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// `register`'s weight: the benchmarked registration (a chain of two P-256
		/// certificates) plus, for the longest chain accepted, one more certificate
		/// verification per issuing CA at the cost of the slowest algorithm.
		pub fn register_weight() -> Weight {
			let per_cert = T::WeightInfo::verify_ek_chain_rsa_root()
				.max(T::WeightInfo::verify_ek_chain_p384_root());
			T::WeightInfo::register().saturating_add(
				per_cert.saturating_mul(vouch_primitives::tpm::ek::MAX_INTERMEDIATES as u64),
			)
		}

		pub(crate) fn bounded_roots(
			roots: alloc::vec::Vec<alloc::vec::Vec<u8>>,
		) -> Option<TrustedRoots> {
			let roots: alloc::vec::Vec<Certificate> =
				roots.into_iter().map(|r| r.try_into().ok()).collect::<Option<_>>()?;
			roots.try_into().ok()
		}

		/// The pallet error of a refused registration: one per check.
		pub fn registration_error(e: RegistrationError) -> DispatchError {
			let e = match e {
				RegistrationError::Ek(e) => match e {
					EkError::MalformedCertificate => Error::<T>::EkCertificateMalformed,
					EkError::ChainTooLong => Error::<T>::EkChainTooLong,
					EkError::UnknownIssuer => Error::<T>::EkIssuerUntrusted,
					EkError::IssuerNotCa => Error::<T>::EkIssuerNotCa,
					EkError::UnsupportedAlgorithm => Error::<T>::EkAlgorithmUnsupported,
					EkError::BadCertificateSignature => Error::<T>::EkCertificateSignatureInvalid,
					EkError::EkKeyMismatch => Error::<T>::EkKeyMismatch,
					EkError::EkNotEndEntity => Error::<T>::EkNotEndEntity,
					EkError::IssuerNotAllowedToSign => Error::<T>::EkIssuerNotAllowedToSign,
					EkError::OutsideValidity => Error::<T>::EkCertificateNotValidNow,
					EkError::UnknownCriticalExtension => Error::<T>::EkUnknownCriticalExtension,
					EkError::RsaKeyNotAllowed => Error::<T>::EkRsaKeyNotAllowed,
				},
				RegistrationError::MalformedEk => Error::<T>::EkPublicMalformed,
				RegistrationError::EkNotDefaultTemplate => Error::<T>::EkNotDefaultTemplate,
				RegistrationError::Key(e) => match e {
					KeyError::Malformed(_) => Error::<T>::TpmStructureMalformed,
					KeyError::AkNotP256Ecdsa => Error::<T>::AkNotP256Ecdsa,
					KeyError::AkAttributes => Error::<T>::AkNotRestrictedSigning,
					KeyError::SealingKeyNotRsaOaep => Error::<T>::SealingKeyNotRsaOaep,
					KeyError::SealingKeyAttributes => Error::<T>::SealingKeyAttributes,
				},
				RegistrationError::Certification(CertificationError::Signed(e)) => match e {
					SignedError::Malformed(_) => Error::<T>::TpmStructureMalformed,
					SignedError::SignatureScheme => Error::<T>::CertificationSignatureScheme,
					SignedError::BadSignature => Error::<T>::CertificationSignatureInvalid,
					SignedError::WrongAttestationType => Error::<T>::CertificationWrongType,
					SignedError::WrongSigner => Error::<T>::CertificationWrongSigner,
					SignedError::WrongNonce => Error::<T>::CertificationWrongNonce,
				},
				RegistrationError::Certification(CertificationError::WrongCertifiedKey) => {
					Error::<T>::CertificationWrongKey
				},
			};
			e.into()
		}

		fn check_endpoint(endpoint: &Endpoint) -> DispatchResult {
			let ok = (endpoint.starts_with(b"http://") || endpoint.starts_with(b"https://"))
				&& endpoint.iter().all(|b| b.is_ascii_graphic());
			ensure!(ok, Error::<T>::MalformedEndpoint);
			Ok(())
		}

		/// The bucket of a credit score.
		pub fn bucket_of(credit: Credit) -> u32 {
			(credit / T::CreditBucketWidth::get().max(1)).min(MAX_BUCKETS - 1)
		}

		/// Whether `min_credit` can be a task's requirement: a multiple of the bucket width
		/// within the buckets kept, so that eligible counts are exact.
		pub fn check_min_credit(min_credit: Credit) -> bool {
			let width = T::CreditBucketWidth::get().max(1);
			min_credit % width == 0 && min_credit / width < MAX_BUCKETS
		}

		pub(crate) fn bucket_add(credit: Credit) {
			ActiveByBucket::<T>::mutate(Self::bucket_of(credit), |n| *n = n.saturating_add(1));
		}

		fn bucket_remove(credit: Credit) {
			ActiveByBucket::<T>::mutate_exists(Self::bucket_of(credit), |n| {
				let left = n.unwrap_or(0).saturating_sub(1);
				*n = (left > 0).then_some(left);
			});
		}

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
			let counted: alloc::collections::BTreeMap<u32, u32> =
				ActiveByBucket::<T>::iter().collect();
			ensure!(counted == expected, "bucket counts differ from the active workers");
			// Exactly the pending workers have an activation, each with its deadline queued.
			for (who, worker) in Workers::<T>::iter() {
				ensure!(
					(worker.status == WorkerStatus::Pending)
						== Activations::<T>::contains_key(&who),
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

	#[cfg(feature = "runtime-benchmarks")]
	impl<T: Config> Pallet<T> {
		/// Makes `who` an active worker bound to `tpm`, its bond held, without registration
		/// evidence: for other pallets' benchmarks, which need many workers and cannot have a
		/// TPM for each account.
		pub fn benchmark_active_worker(who: &T::AccountId, tpm: RegisteredTpm) {
			use fungible::Mutate as _;
			let deposit = T::MinDeposit::get();
			let _ = T::Currency::mint_into(who, deposit.saturating_add(deposit));
			T::Currency::hold(&HoldReason::WorkerBond.into(), who, deposit).expect("just minted");
			let mut endpoint = Endpoint::default();
			let _ = endpoint.try_extend(b"http://127.0.0.1:8700".iter().copied());
			Workers::<T>::insert(
				who,
				Worker { tpm, endpoint, deposit, status: WorkerStatus::Active },
			);
			Self::bucket_add(T::Credit::credit_of(who));
		}
	}

	impl<T: Config> OnCreditChange<T::AccountId> for Pallet<T> {
		fn credit_changed(who: &T::AccountId, old: Credit, new: Credit) {
			let active = Workers::<T>::get(who).is_some_and(|w| w.status == WorkerStatus::Active);
			if active && Self::bucket_of(old) != Self::bucket_of(new) {
				Self::bucket_remove(old);
				Self::bucket_add(new);
			}
		}
	}

	impl<T: Config> WorkerRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
		fn is_active(who: &T::AccountId) -> bool {
			Workers::<T>::get(who).is_some_and(|w| w.status == WorkerStatus::Active)
		}

		fn eligible_count(min_credit: Credit) -> u32 {
			(Self::bucket_of(min_credit)..MAX_BUCKETS)
				.map(ActiveByBucket::<T>::get)
				.fold(0u32, |sum, n| sum.saturating_add(n))
		}

		fn valid_min_credit(min_credit: Credit) -> bool {
			Self::check_min_credit(min_credit)
		}

		fn is_bonded(who: &T::AccountId) -> bool {
			Workers::<T>::get(who).is_some_and(|w| {
				matches!(w.status, WorkerStatus::Active | WorkerStatus::Unbonding { .. })
			})
		}

		fn slash(
			who: &T::AccountId,
			amount: BalanceOf<T>,
			reward: Option<(&T::AccountId, polkadot_sdk::sp_runtime::Perbill)>,
		) -> (BalanceOf<T>, BalanceOf<T>) {
			let Some(mut worker) = Workers::<T>::get(who) else {
				return (Zero::zero(), Zero::zero());
			};
			let amount = amount.min(worker.deposit);
			let reason = HoldReason::WorkerBond.into();
			let mut rewarded = Zero::zero();
			if let Some((to, share)) = reward {
				// Paid to the reporter's free balance; an impossible transfer (below the
				// existential deposit of an empty account) is burnt with the rest instead.
				rewarded = T::Currency::transfer_on_hold(
					&reason,
					who,
					to,
					share * amount,
					Precision::Exact,
					Restriction::Free,
					Fortitude::Force,
				)
				.unwrap_or_else(|_| Zero::zero());
			}
			let burnt = T::Currency::burn_held(
				&reason,
				who,
				amount.saturating_sub(rewarded),
				Precision::BestEffort,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero());
			let taken = burnt.saturating_add(rewarded);
			worker.deposit = worker.deposit.saturating_sub(taken);
			let underbonded =
				worker.status == WorkerStatus::Active && worker.deposit < T::MinDeposit::get();
			if underbonded {
				worker.status = WorkerStatus::Underbonded;
				Self::bucket_remove(T::Credit::credit_of(who));
			}
			let deposit = worker.deposit;
			Workers::<T>::insert(who, worker);
			Self::deposit_event(Event::Slashed { who: who.clone(), amount: taken, rewarded });
			if underbonded {
				Self::deposit_event(Event::Underbonded { who: who.clone(), deposit });
			}
			(taken, rewarded)
		}

		fn verify_quote(
			who: &T::AccountId,
			nonce: &[u8; 32],
			attest: &[u8],
			signature: &[u8],
			advance_clock: bool,
		) -> Result<ClockInfo, QuoteError> {
			let worker = Workers::<T>::get(who).ok_or(SignedError::WrongSigner)?;
			let last = if advance_clock { QuoteClocks::<T>::get(who) } else { None };
			let clock = T::Tpm::verify_quote(
				&worker.tpm,
				nonce,
				&TpmQuotePolicy::<T>::get(),
				last,
				attest,
				signature,
			)?;
			if advance_clock {
				QuoteClocks::<T>::insert(who, clock);
			}
			Ok(clock)
		}
	}
}
