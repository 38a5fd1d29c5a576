//! The bodies of the pallet's calls. Each call in `lib.rs` only checks its origin and hands
//! over to its `do_*` function here, so that `lib.rs` reads as the pallet's interface; beside
//! them, what the tasks pallet calls through [`WorkerRegistry`] (quotes and slashes) and the
//! helpers only the calls use.

use crate::*;
use pallet_vouch_credit::{Credit, CreditLedger};
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	frame_system,
	sp_runtime::traits::{Convert, Saturating},
};
use vouch_primitives::{
	sortition::{self, Draw},
	tpm::{
		attest::ClockInfo,
		credential::{self, commitment},
		ek::EkError,
		launch::LaunchError,
		public::Public,
		registration::RegistrationError,
		verify::{pcr_digest, CertificationError, KeyError, QuoteError, SignedError},
	},
};

impl<T: Config> Pallet<T> {
	/// Registers `who`: see [`Pallet::register`].
	pub(crate) fn do_register(
		who: T::AccountId,
		evidence: TpmEvidence,
		endpoint: Endpoint,
		deposit: BalanceOf<T>,
	) -> DispatchResult {
		if let Some(existing) = Workers::<T>::get(&who) {
			ensure!(existing.status == WorkerStatus::Removed, Error::<T>::AlreadyRegistered);
		}
		ensure!(deposit >= T::MinDeposit::get(), Error::<T>::DepositBelowMinimum);
		Self::check_endpoint(&endpoint)?;
		// The chain's launch policy first: cheap, and the errors that name what to fix.
		Self::check_launch_policy(&evidence)?;
		let now = <T::Time as polkadot_sdk::frame_support::traits::UnixTime>::now().as_secs();
		let roots = TrustedTpmRoots::<T>::get();
		let verified = T::Tpm::verify_registration(&evidence, &who.encode(), &roots, now)
			.map_err(Self::registration_error)?;
		let ek_qualified_name: TpmName =
			verified.ek_qualified_name.try_into().map_err(|_| Error::<T>::EkPublicMalformed)?;
		let ak_qualified_name: TpmName =
			verified.ak_qualified_name.try_into().map_err(|_| Error::<T>::TpmStructureMalformed)?;
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
			launch: LaunchRecord {
				boot_digest: verified.boot_digest,
				quote_digest: verified.quote_digest,
				builds: evidence.launch_log,
			},
		};
		Workers::<T>::insert(
			&who,
			Worker { tpm, endpoint, deposit, status: WorkerStatus::Pending },
		);
		Self::deposit_event(Event::Registered { who: who.clone(), deposit });
		Self::begin_activation(&who);
		Ok(())
	}

	/// The launch `evidence` claims, against the chain's policy: an allowed boot state, every
	/// logged measurement an allowed build, and an executor among them. (That the TPM is in
	/// that state, and its sealing key bound to it, the verifier checks.)
	fn check_launch_policy(evidence: &TpmEvidence) -> DispatchResult {
		ensure!(evidence.boot_pcrs.len() == MAX_BOOT_PCRS as usize, Error::<T>::BootPcrsMalformed);
		ensure!(!evidence.launch_log.is_empty(), Error::<T>::LaunchLogEmpty);
		let boot = pcr_digest(&evidence.boot_pcrs);
		ensure!(
			TpmQuotePolicy::<T>::get().allowed_digests.contains(&boot),
			Error::<T>::BootStateNotAllowed
		);
		let mut executor = false;
		for digest in &evidence.launch_log {
			let build = AllowedBuilds::<T>::get(digest).ok_or(Error::<T>::BuildNotAllowed)?;
			executor |= build.kind == BuildKind::Executor;
		}
		ensure!(executor, Error::<T>::NoExecutorMeasured);
		Ok(())
	}

	/// Whether a registered launch is still allowed: its boot state and every build.
	pub(crate) fn launch_allowed(launch: &LaunchRecord) -> bool {
		TpmQuotePolicy::<T>::get().allowed_digests.contains(&launch.boot_digest)
			&& launch.builds.iter().all(AllowedBuilds::<T>::contains_key)
	}

	/// Root's allowing of a build: see [`Pallet::allow_build`].
	pub(crate) fn do_allow_build(
		digest: [u8; 32],
		kind: BuildKind,
		label: BuildLabel,
	) -> DispatchResult {
		AllowedBuilds::<T>::insert(digest, AllowedBuild { kind, label });
		Self::deposit_event(Event::BuildAllowed { digest, kind });
		Ok(())
	}

	/// Root's revocation of a build: see [`Pallet::revoke_build`].
	pub(crate) fn do_revoke_build(digest: [u8; 32]) -> DispatchResult {
		AllowedBuilds::<T>::take(digest).ok_or(Error::<T>::UnknownBuild)?;
		Self::deposit_event(Event::BuildRevoked { digest });
		Ok(())
	}

	/// Root's activation of `who`: see [`Pallet::force_activate`].
	pub(crate) fn do_force_activate(who: T::AccountId) -> DispatchResult {
		let worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(worker.status == WorkerStatus::Pending, Error::<T>::NotPending);
		if let Some(owner) = TpmOwners::<T>::get(worker.tpm.ek_key_id) {
			ensure!(owner == who, Error::<T>::TpmAlreadyRegistered);
		}
		Self::end_activation(&who);
		Self::activate(&who);
		Ok(())
	}

	/// Root's rejection of `who`: see [`Pallet::force_reject`].
	pub(crate) fn do_force_reject(who: T::AccountId) -> DispatchResult {
		let worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(worker.status == WorkerStatus::Pending, Error::<T>::NotPending);
		Self::end_activation(&who);
		Self::reject_newcomer(&who, Zero::zero());
		Ok(())
	}

	/// `verifier`'s challenge to `who`: see [`Pallet::challenge_worker`].
	pub(crate) fn do_challenge(
		verifier: T::AccountId,
		who: T::AccountId,
		round: u32,
		(pre_output, proof): ([u8; 32], [u8; 64]),
		credential_blob: TpmStruct,
		encrypted_secret: TpmStruct,
		commitment: [u8; 32],
	) -> DispatchResult {
		let mut activation = Activations::<T>::get(&who).ok_or(Error::<T>::NoActivation)?;
		let ActivationStage::Challenging { until } = activation.stage else {
			return Err(Error::<T>::NotChallenging.into());
		};
		ensure!(frame_system::Pallet::<T>::block_number() <= until, Error::<T>::NotChallenging);
		ensure!(round == activation.round, Error::<T>::WrongActivationRound);
		// A challenge of such a round would be dropped when it reopens, unanswered: one
		// posted there (a bogus one, say) could never be disputed.
		ensure!(activation.needed > 0, Error::<T>::RoundTakesNoChallenges);
		ensure!(
			Workers::<T>::get(&verifier).is_some_and(|w| w.status == WorkerStatus::Active),
			Error::<T>::NotActiveWorker
		);
		ensure!(
			!activation.challenges.iter().any(|c| c.verifier == verifier),
			Error::<T>::AlreadyChallenged
		);
		ensure!(
			!credential_blob.is_empty() && !encrypted_secret.is_empty(),
			Error::<T>::EmptyCredential
		);
		let draw = sortition::verify_activation(
			&T::VrfKey::convert(verifier.clone()),
			&T::VrfKey::convert(who.clone()),
			&activation.seed,
			round,
			&pre_output,
			&proof,
		)
		.map_err(|_| Error::<T>::BadVrfProof)?;
		ensure!(
			sortition::wins_activation(draw, activation.eligible, T::ActivationVerifiers::get()),
			Error::<T>::LosingDraw
		);
		let challenge = Challenge {
			verifier: verifier.clone(),
			draw,
			credential_blob,
			encrypted_secret,
			commitment,
		};
		let seats = T::ActivationVerifiers::get() as usize;
		if activation.challenges.len() >= seats {
			let highest = activation.challenges.last().map(|c| c.draw).unwrap_or(Draw::MAX);
			ensure!(draw < highest, Error::<T>::DrawTooHigh);
			if let Some(evicted) = activation.challenges.pop() {
				Self::deposit_event(Event::VerifierEvicted {
					who: who.clone(),
					verifier: evicted.verifier,
				});
			}
		}
		let at = activation.challenges.partition_point(|c| c.draw <= draw);
		activation.challenges.try_insert(at, challenge).map_err(|_| Error::<T>::DrawTooHigh)?;
		Activations::<T>::insert(&who, activation);
		Self::deposit_event(Event::ChallengePosted { who, verifier, round });
		Ok(())
	}

	/// `who`'s answer to its challenges: see [`Pallet::answer_activation`].
	pub(crate) fn do_answer(
		who: T::AccountId,
		secrets: BoundedVec<[u8; 32], ConstU32<MAX_VERIFIERS>>,
	) -> DispatchResult {
		let activation = Activations::<T>::get(&who).ok_or(Error::<T>::NoActivation)?;
		let ActivationStage::Answering { until } = activation.stage else {
			return Err(Error::<T>::NotAnswering.into());
		};
		ensure!(frame_system::Pallet::<T>::block_number() <= until, Error::<T>::NotAnswering);
		ensure!(secrets.len() == activation.challenges.len(), Error::<T>::WrongAnswerCount);
		for (secret, challenge) in secrets.iter().zip(&activation.challenges) {
			ensure!(commitment(secret) == challenge.commitment, Error::<T>::WrongActivationSecret);
		}
		let worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		if let Some(owner) = TpmOwners::<T>::get(worker.tpm.ek_key_id) {
			ensure!(owner == who, Error::<T>::TpmAlreadyRegistered);
		}
		Self::end_activation(&who);
		for challenge in &activation.challenges {
			T::Credit::reward_duty(&challenge.verifier);
		}
		Self::activate(&who);
		Ok(())
	}

	/// `who`'s dispute of its challenge `index`: see [`Pallet::dispute_challenge`].
	pub(crate) fn do_dispute(who: T::AccountId, index: u32) -> DispatchResult {
		let mut activation = Activations::<T>::get(&who).ok_or(Error::<T>::NoActivation)?;
		let ActivationStage::Answering { until } = activation.stage else {
			return Err(Error::<T>::NotAnswering.into());
		};
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= until, Error::<T>::NotAnswering);
		let verifier = activation
			.challenges
			.get(index as usize)
			.map(|c| c.verifier.clone())
			.ok_or(Error::<T>::NoSuchChallenge)?;
		let until = now.saturating_add(T::AnswerWindow::get());
		Self::reschedule(&who, &mut activation, ActivationStage::Disputed { index, until });
		let round = activation.round;
		Activations::<T>::insert(&who, activation);
		Self::deposit_event(Event::ChallengeDisputed { who, verifier, round, until });
		Ok(())
	}

	/// `verifier`'s reveal of `who`'s disputed challenge: see [`Pallet::reveal_challenge`].
	pub(crate) fn do_reveal(
		verifier: T::AccountId,
		who: T::AccountId,
		reveal: credential::Reveal,
	) -> DispatchResult {
		let activation = Activations::<T>::get(&who).ok_or(Error::<T>::NoActivation)?;
		let ActivationStage::Disputed { index, until } = activation.stage else {
			return Err(Error::<T>::NotDisputed.into());
		};
		ensure!(frame_system::Pallet::<T>::block_number() <= until, Error::<T>::NotDisputed);
		let challenge = activation.challenges.get(index as usize).ok_or(Error::<T>::NotDisputed)?;
		ensure!(challenge.verifier == verifier, Error::<T>::NotDisputedVerifier);
		let worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		// The registered areas were parsed at registration; one that no longer parses (it
		// cannot) would make every challenge unsound, never the newcomer's fault.
		let sound = match (
			Public::from_tpm2b(&worker.tpm.ek_public),
			Public::from_tpm2b(&worker.tpm.ak_public),
		) {
			(Ok(ek), Ok(ak)) => credential::challenge_recomputes(
				&ek,
				&ak.name(),
				&reveal,
				&challenge.credential_blob,
				&challenge.encrypted_secret,
				&challenge.commitment,
			),
			_ => false,
		};
		Self::settle_dispute(&who, activation, index, true, sound);
		Ok(())
	}

	/// `who`'s new endpoint: see [`Pallet::set_endpoint`].
	pub(crate) fn do_set_endpoint(who: T::AccountId, endpoint: Endpoint) -> DispatchResult {
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

	/// `who` leaves the pool: see [`Pallet::deregister`].
	pub(crate) fn do_deregister(who: T::AccountId) -> DispatchResult {
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		ensure!(T::Duties::open_duties(&who) == 0, Error::<T>::DutiesOpen);
		// A newcomer that leaves once challenged would escape the fee that silence costs (a
		// software AK cannot answer, and its host knows it): it is rejected, as if silent.
		let pending = Workers::<T>::get(&who).is_some_and(|w| w.status == WorkerStatus::Pending);
		if pending && Activations::<T>::get(&who).is_some_and(|a| !a.challenges.is_empty()) {
			Self::end_activation(&who);
			Self::reject_newcomer(&who, T::RejectionFee::get());
			return Ok(());
		}
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

	/// `who` takes back its deposit: see [`Pallet::withdraw`].
	pub(crate) fn do_withdraw(who: T::AccountId) -> DispatchResult {
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

	/// `who` bonds `amount` more: see [`Pallet::bond_extra`].
	pub(crate) fn do_bond_extra(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
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

	/// Root's new trusted roots: see [`Pallet::set_trusted_roots`].
	pub(crate) fn do_set_trusted_roots(roots: TrustedRoots) -> DispatchResult {
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

	/// Root's new quote policy: see [`Pallet::set_quote_policy`].
	pub(crate) fn do_set_quote_policy(policy: QuotePolicy) -> DispatchResult {
		let allowed = policy.allowed_digests.len() as u32;
		TpmQuotePolicy::<T>::put(policy);
		Self::deposit_event(Event::QuotePolicySet { allowed });
		Ok(())
	}

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
				KeyError::SealingKeyPolicy => Error::<T>::SealingKeyNotBoundToLaunch,
			},
			RegistrationError::Launch(LaunchError::WrongBootPcrCount) => {
				Error::<T>::BootPcrsMalformed
			},
			RegistrationError::Launch(LaunchError::LogLength) => Error::<T>::LaunchLogEmpty,
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
			RegistrationError::Certification(CertificationError::WrongQualifiedName) => {
				Error::<T>::CertificationWrongParent
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
}

#[cfg(feature = "runtime-benchmarks")]
impl<T: Config> Pallet<T> {
	/// Makes `who` an active worker bound to `tpm`, its bond held, without registration
	/// evidence: for other pallets' benchmarks, which need many workers and cannot have a
	/// TPM for each account.
	pub fn benchmark_active_worker(who: &T::AccountId, tpm: RegisteredTpm) {
		use polkadot_sdk::frame_support::traits::fungible::Mutate as _;
		Self::benchmark_allow_launch(&tpm.launch);
		let deposit = T::MinDeposit::get();
		let _ = T::Currency::mint_into(who, deposit.saturating_add(deposit));
		T::Currency::hold(&HoldReason::WorkerBond.into(), who, deposit).expect("just minted");
		let mut endpoint = Endpoint::default();
		let _ = endpoint.try_extend(b"http://127.0.0.1:8700".iter().copied());
		Workers::<T>::insert(who, Worker { tpm, endpoint, deposit, status: WorkerStatus::Active });
		Self::bucket_add(T::Credit::credit_of(who));
	}

	/// Allows `launch`'s boot state and builds (as executors), for other pallets' benchmarks.
	pub fn benchmark_allow_launch(launch: &LaunchRecord) {
		TpmQuotePolicy::<T>::mutate(|policy| {
			if !policy.allowed_digests.contains(&launch.boot_digest) {
				let _ = policy.allowed_digests.try_push(launch.boot_digest);
			}
		});
		for digest in &launch.builds {
			AllowedBuilds::<T>::insert(
				digest,
				AllowedBuild { kind: BuildKind::Executor, label: Default::default() },
			);
		}
	}
}

impl<T: Config> WorkerRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn is_active(who: &T::AccountId) -> bool {
		// A worker whose launch is no longer allowed takes no new seats: it could not quote.
		Workers::<T>::get(who).is_some_and(|w| {
			w.status == WorkerStatus::Active && Self::launch_allowed(&w.tpm.launch)
		})
	}

	fn eligible_count(min_credit: Credit) -> u32 {
		Self::eligible_workers(min_credit)
	}

	fn valid_min_credit(min_credit: Credit) -> bool {
		Self::check_min_credit(min_credit)
	}

	fn is_bonded(who: &T::AccountId) -> bool {
		Workers::<T>::get(who).is_some_and(|w| {
			!w.deposit.is_zero()
				&& matches!(
					w.status,
					WorkerStatus::Active
						| WorkerStatus::Underbonded
						| WorkerStatus::Unbonding { .. }
				)
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
		if !Self::launch_allowed(&worker.tpm.launch) {
			return Err(QuoteError::PcrDigestNotAllowed);
		}
		let last = if advance_clock { QuoteClocks::<T>::get(who) } else { None };
		let clock = T::Tpm::verify_quote(&worker.tpm, nonce, last, attest, signature)?;
		if advance_clock {
			QuoteClocks::<T>::insert(who, clock);
		}
		Ok(clock)
	}
}
