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
//! Registration also fixes the worker's measured launch (DESIGN §5.1): the boot PCRs' values,
//! whose digest must be an allowed boot state of the [`TpmQuotePolicy`], and the executor
//! PCR's event log, each of whose digests must be on root's allowed-build list
//! ([`AllowedBuilds`], one of them an executor). The sealing key must be bound to exactly that
//! state (its `authPolicy` is PolicyPCR of it, recomputed here, with no password use), so
//! released keys open only while the TPM is in it.
//!
//! Quotes are verified for the tasks pallet ([`WorkerRegistry::verify_quote`]) against the
//! worker's AK, its registered launch state (which must still be allowed: a revoked build or
//! boot state stops its quotes and its new seats) and the last clock seen from that TPM
//! ([`QuoteClocks`]).
//!
//! A bond binds while it backs duties: a worker slashed below [`Config::MinDeposit`] is no
//! longer `Active` (`Underbonded`, until it bonds more), and a worker sitting on an elected
//! committee of an open task ([`Config::Duties`]) can neither deregister nor withdraw.
//!
//! Sortition needs the number of active workers with at least some credit. The registry keeps
//! those counts per credit bucket ([`ActiveByBucket`]), updated on every status and credit
//! change, so reading them costs at most [`MAX_BUCKETS`] reads, never a walk over workers.
//!
//! ## Code layout
//! As in `pallet-broker` (and the tasks pallet), this file is the pallet's face: its config,
//! storage, events, errors, hooks and calls. Each call checks its origin and hands over to its
//! `do_*` function in `dispatchable_impls` (with what the tasks pallet calls through
//! [`WorkerRegistry`]); credential activation and its deadline hook are in [`activation`], the
//! eligible counts in `buckets`, the TPM's records and verifier in [`tpm`], the bounds and the
//! interfaces with the tasks pallet in `types`, and the invariants in `try_state`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use activation::*;
pub use pallet::*;
pub use tpm::*;
pub use types::*;
pub use weights::WeightInfo;

pub mod activation;
#[cfg(any(test, feature = "test-tpm"))]
pub mod test_tpm;
pub mod tpm;
pub mod weights;

mod buckets;
mod dispatchable_impls;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
mod types;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use vouch_primitives::tpm::attest::ClockInfo;

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
	use pallet_vouch_credit::{Credit, CreditLedger};
	use polkadot_sdk::{
		frame_support::{
			pallet_prelude::*,
			traits::fungible::{self, MutateHold},
		},
		frame_system::{self, pallet_prelude::*},
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
		/// What a newcomer that never answers forfeits of its deposit (burnt); also what a
		/// verifier whose disputed challenge does not remake (or is not revealed) pays of its
		/// bond: what its challenge would have cost the newcomer.
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

	/// Which boot states (digests of the boot PCRs' values) are allowed. Set in genesis and
	/// changed only by root.
	#[pallet::storage]
	pub type TpmQuotePolicy<T> = StorageValue<_, QuotePolicy, ValueQuery>;

	/// The allowed-build list: the measurements a worker's launch log may hold (executor
	/// builds, job runtime binaries, sandbox configurations), by SHA-256 digest. Kept by root.
	#[pallet::storage]
	pub type AllowedBuilds<T> = StorageMap<_, Identity, [u8; 32], AllowedBuild>;

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
		/// The allowed digests of the boot PCRs' values.
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
		/// Root allowed a build in launch logs (or relabelled one).
		BuildAllowed {
			/// Its SHA-256 digest.
			digest: [u8; 32],
			/// What it is.
			kind: BuildKind,
		},
		/// Root revoked a build: workers whose launch measured it take no new seats and their
		/// quotes are refused until they launch an allowed build and register again.
		BuildRevoked {
			/// Its SHA-256 digest.
			digest: [u8; 32],
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
		/// The newcomer's TPM refused a challenge: its verifier must reveal the value it made
		/// the challenge from by `until`, for the chain to remake it.
		ChallengeDisputed {
			/// The newcomer.
			who: T::AccountId,
			/// The verifier of the disputed challenge.
			verifier: T::AccountId,
			/// The round.
			round: u32,
			/// The last block for the reveal.
			until: BlockNumberFor<T>,
		},
		/// The disputed challenge remade from its reveal: it was sound, so the newcomer's TPM
		/// could have answered it. The newcomer is rejected (`ActivationRejected`).
		ChallengeUpheld {
			/// The newcomer.
			who: T::AccountId,
			/// The verifier.
			verifier: T::AccountId,
		},
		/// The disputed challenge did not remake from its reveal, or was not revealed in time:
		/// the verifier pays `penalty` of its bond (`Slashed`) and the newcomer has a new round
		/// that does not count against its rounds, at no fee.
		ChallengeRefuted {
			/// The newcomer.
			who: T::AccountId,
			/// The verifier.
			verifier: T::AccountId,
			/// Taken from the verifier's bond.
			penalty: BalanceOf<T>,
			/// Whether it revealed at all (a reveal that does not recompute is a proven lie,
			/// which also resets its credit; silence costs a missed duty's credit).
			revealed: bool,
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
		/// The sealing key is not a decrypt-only key fixed to its TPM and usable through its
		/// policy only (`userWithAuth` must be clear: a password would open released keys
		/// from any shell on the host).
		SealingKeyAttributes,
		/// The sealing key's `authPolicy` is not PolicyPCR of the submitted boot PCRs and
		/// launch log: it would open in another state than the one registered.
		SealingKeyNotBoundToLaunch,
		/// Not one value per boot PCR (0-7).
		BootPcrsMalformed,
		/// The launch log is empty: nothing was measured into the executor PCR.
		LaunchLogEmpty,
		/// The boot PCRs' digest is not an allowed boot state of the quote policy.
		BootStateNotAllowed,
		/// A launch log digest is not on the allowed-build list.
		BuildNotAllowed,
		/// The launch log measures no allowed executor build.
		NoExecutorMeasured,
		/// No such build on the allowed-build list.
		UnknownBuild,
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
		/// The certified key's qualified name is not that of the EK's child: the key lives
		/// under another parent than the EK.
		CertificationWrongParent,
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
		/// The round started while no worker was active: it needs no challenge, takes none,
		/// and reopens at its deadline with whoever is active then.
		RoundTakesNoChallenges,
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
		/// No challenge of this activation has that index.
		NoSuchChallenge,
		/// The activation has no disputed challenge awaiting its reveal (or the window closed).
		NotDisputed,
		/// Only the verifier of the disputed challenge reveals it.
		NotDisputedVerifier,
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
		/// of verifiers is drawn next block, from this block's hash, which the caller cannot
		/// know when it signs ([`activation`]). A TPM bound to another worker is refused
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
			Self::do_register(who, evidence, endpoint, deposit)
		}

		/// Root: marks a `Pending` worker `Active` without credential activation, ending its
		/// activation. An override for dev chains and emergencies (a chain without genesis
		/// workers has nobody to verify its first ones); it vouches for nothing.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::force_activate())]
		pub fn force_activate(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_force_activate(who)
		}

		/// Root: rejects a `Pending` worker, ending its activation and releasing its whole
		/// deposit (no fee: root's call is no proof of fault). An override, like
		/// [`Pallet::force_activate`].
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::force_reject())]
		pub fn force_reject(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_force_reject(who)
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
			Self::do_set_endpoint(who, endpoint)
		}

		/// Leaves the pool: the caller is no longer eligible for new tasks, and its deposit stays
		/// held for `UnbondingPeriod` blocks.
		///
		/// A `Pending` worker that was challenged in its current activation round leaves as a
		/// silent newcomer does: `RejectionFee` of its deposit burnt, the rest released at once
		/// (`ActivationRejected`), so that a TPM that cannot answer does not leave for free.
		#[pallet::call_index(3)]
		// Either path, measured: unbonding (`deregister`), or the rejection that `force_reject`
		// measures plus the open-duties read.
		#[pallet::weight(T::WeightInfo::deregister().max(
			T::WeightInfo::force_reject().saturating_add(T::DbWeight::get().reads(1))
		))]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deregister(who)
		}

		/// Releases the caller's deposit once its unbonding period has passed.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw(who)
		}

		/// Adds `amount` to the caller's bond. An `Underbonded` worker whose deposit reaches
		/// `MinDeposit` again is `Active` again.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond_extra(who, amount)
		}

		/// Root: replaces the trusted TPM manufacturer roots (DER certificates). Workers
		/// already registered stay; new registrations must chain to one of these.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_trusted_roots())]
		pub fn set_trusted_roots(origin: OriginFor<T>, roots: TrustedRoots) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_set_trusted_roots(roots)
		}

		/// Root: replaces the quote policy: the allowed digests of the boot PCRs' values.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::set_quote_policy())]
		pub fn set_quote_policy(origin: OriginFor<T>, policy: QuotePolicy) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_set_quote_policy(policy)
		}

		/// Root: allows the measurement `digest` (SHA-256) of a `kind` of build in launch
		/// logs, labelled for people; allowing it again relabels it. Operators reproduce an
		/// executor build's digest with `scripts/reproducible-build.sh`.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::allow_build())]
		pub fn allow_build(
			origin: OriginFor<T>,
			digest: [u8; 32],
			kind: BuildKind,
			label: BuildLabel,
		) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_allow_build(digest, kind, label)
		}

		/// Root: revokes an allowed build. Registered workers whose launch measured it take
		/// no new seats, and their quotes are refused.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::revoke_build())]
		pub fn revoke_build(origin: OriginFor<T>, digest: [u8; 32]) -> DispatchResult {
			ensure_root(origin)?;
			Self::do_revoke_build(digest)
		}

		/// The `Pending` caller disputes challenge `index` of its round, which its TPM refused
		/// (`TPM2_ActivateCredential` failed, or the secret does not open the commitment). Its
		/// verifier has `AnswerWindow` blocks to reveal the challenge
		/// ([`Pallet::reveal_challenge`]); if it remakes, the caller is rejected as a silent
		/// newcomer would be, so only a TPM that really refused has a reason to dispute. Free
		/// when it succeeds.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::dispute_challenge())]
		pub fn dispute_challenge(origin: OriginFor<T>, index: u32) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_dispute(who, index)?;
			Ok(Pays::No.into())
		}

		/// The verifier of `who`'s disputed challenge reveals the value it made it from
		/// (`vouch_primitives::tpm::credential::derive`). The chain remakes the credential for
		/// `who`'s EK and `Name(AK)`: if it is the one posted and opens the commitment, the
		/// challenge is upheld and `who` rejected (`RejectionFee` burnt); otherwise the verifier
		/// pays `RejectionFee` of its bond, its credit is reset as for a lie, and `who` has a new
		/// round at no fee. Free when it succeeds: a duty.
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::reveal_challenge())]
		pub fn reveal_challenge(
			origin: OriginFor<T>,
			who: T::AccountId,
			reveal: [u8; 32],
		) -> DispatchResultWithPostInfo {
			let verifier = ensure_signed(origin)?;
			Self::do_reveal(verifier, who, reveal)?;
			Ok(Pays::No.into())
		}
	}
}
