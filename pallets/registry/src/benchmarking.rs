//! Benchmarks of the registry's calls. `register` verifies real TPM evidence (made by swtpm,
//! from [`BenchmarkHelper`]) with the runtime's verifier; endpoints are the longest allowed.
//! The wasm runtime cannot sign, so `challenge_worker` uses a VRF claim precomputed by a std
//! test ([`vectors`]); activations are written into the state directly at their worst case.

use super::*;
use alloc::vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::{
		traits::{fungible::Mutate, Get},
		BoundedVec,
	},
	frame_system::{self, pallet_prelude::BlockNumberFor, RawOrigin},
	sp_runtime::{traits::Bounded, Saturating},
};
use vouch_primitives::sortition::Draw;

fn full<S: Get<u32>>(byte: u8) -> BoundedVec<u8, S> {
	vec![byte; S::get() as usize].try_into().expect("exactly the bound")
}

fn endpoint() -> Endpoint {
	let mut url: Endpoint = full(b'a');
	url[..8].copy_from_slice(b"https://");
	url
}

/// A funded account.
fn fund<T: Config>(who: &T::AccountId) {
	let _ = T::Currency::set_balance(who, BalanceOf::<T>::max_value() / 4u32.into());
}

/// The helper's worker, funded, with its roots trusted and its launch allowed (boot state and
/// every build): ready to register.
fn worker<T: Config>() -> (T::AccountId, TpmEvidence) {
	let (who, evidence, roots) = T::BenchmarkHelper::registration();
	fund::<T>(&who);
	TrustedTpmRoots::<T>::put(Pallet::<T>::bounded_roots(roots).expect("roots within bounds"));
	let boot = vouch_primitives::tpm::verify::pcr_digest(&evidence.boot_pcrs);
	TpmQuotePolicy::<T>::put(QuotePolicy {
		allowed_digests: vec![boot].try_into().expect("one digest"),
	});
	for digest in &evidence.launch_log {
		AllowedBuilds::<T>::insert(
			digest,
			AllowedBuild { kind: BuildKind::Executor, label: full(0x62) },
		);
	}
	(who, evidence)
}

fn registered<T: Config>() -> T::AccountId {
	let (who, evidence) = worker::<T>();
	Pallet::<T>::register(
		RawOrigin::Signed(who.clone()).into(),
		evidence,
		endpoint(),
		T::MinDeposit::get(),
	)
	.expect("a valid registration");
	who
}

/// A block far ahead: a deadline that does not fall during the benchmark.
fn far<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number().saturating_add(1_000u32.into())
}

/// A TPM that cannot answer anything: for workers written directly.
fn benchmark_tpm() -> RegisteredTpm {
	RegisteredTpm {
		ek_qualified_name: full(1),
		ak_qualified_name: full(2),
		ek_key_id: [3; 32],
		ek_public: full(4),
		ak_public: full(5),
		sealing_public: full(6),
		launch: LaunchRecord {
			boot_digest: [7; 32],
			quote_digest: [8; 32],
			builds: vec![[9; 32]; MAX_LAUNCH_LOG_LEN as usize].try_into().expect("the bound"),
		},
	}
}

/// A challenge by `verifier` with `draw` and the largest blobs.
fn challenge<T: Config>(verifier: T::AccountId, draw: Draw) -> Challenge<T::AccountId> {
	Challenge {
		verifier,
		draw,
		credential_blob: full(0xc1),
		encrypted_secret: full(0xc2),
		commitment: [0; 32],
	}
}

/// Writes `who`'s activation of round 0 at `stage`, with its deadline queued.
fn write_activation<T: Config>(
	who: &T::AccountId,
	seed: [u8; 32],
	eligible: u32,
	stage: ActivationStage<BlockNumberFor<T>>,
	challenges: alloc::vec::Vec<Challenge<T::AccountId>>,
) {
	let needed = eligible.min(T::ActivationVerifiers::get());
	ActivationDeadlines::<T>::insert(stage.until(), who, ());
	Activations::<T>::insert(
		who,
		Activation {
			round: 0,
			seed,
			eligible,
			needed,
			stage,
			challenges: challenges.try_into().expect("within the bound"),
		},
	);
}

/// Replaces `who`'s activation with one answering `challenges` (one per seat).
fn answering<T: Config>(who: &T::AccountId, challenges: alloc::vec::Vec<Challenge<T::AccountId>>) {
	Pallet::<T>::end_activation(who);
	let seats = challenges.len() as u32;
	write_activation::<T>(
		who,
		[0; 32],
		seats,
		ActivationStage::Answering { until: far::<T>() },
		challenges,
	);
}

/// A real sr25519 VRF claim on the activation transcript, made by
/// `vectors::tests::print_a_new_vector` (the keys are the mock's accounts 100 and 101).
pub(crate) mod vectors {
	/// The verifier's sr25519 public key.
	pub const VERIFIER: [u8; 32] = [
		166, 127, 157, 132, 87, 43, 182, 173, 206, 220, 178, 111, 193, 32, 236, 40, 213, 109, 56,
		11, 70, 111, 109, 196, 72, 178, 121, 106, 115, 235, 249, 98,
	];
	/// The newcomer's.
	pub const NEWCOMER: [u8; 32] = [
		52, 253, 117, 41, 232, 162, 221, 181, 91, 61, 109, 33, 201, 168, 37, 34, 229, 97, 69, 174,
		184, 148, 62, 44, 35, 52, 0, 106, 53, 92, 153, 21,
	];
	/// The round's seed (written into the activation by the benchmark).
	pub const SEED: [u8; 32] = [0x5a; 32];
	/// The round.
	pub const ROUND: u32 = 0;
	/// The VRF pre-output.
	pub const PRE_OUTPUT: [u8; 32] = [
		224, 63, 23, 180, 105, 16, 225, 29, 39, 55, 52, 71, 155, 108, 133, 248, 229, 10, 69, 233,
		68, 239, 139, 5, 81, 4, 63, 65, 85, 229, 92, 95,
	];
	/// The VRF proof.
	pub const PROOF: [u8; 64] = [
		230, 197, 246, 7, 147, 44, 114, 215, 128, 85, 71, 109, 132, 242, 131, 138, 38, 88, 114, 5,
		165, 76, 237, 7, 221, 57, 126, 245, 115, 167, 186, 1, 149, 250, 198, 146, 70, 159, 123, 4,
		66, 54, 134, 28, 126, 110, 29, 106, 139, 186, 131, 203, 14, 235, 78, 75, 74, 220, 174, 15,
		253, 29, 163, 9,
	];

	#[cfg(test)]
	mod tests {
		use super::*;
		use vouch_primitives::sortition;

		#[test]
		fn the_embedded_claim_verifies() {
			sortition::verify_activation(&VERIFIER, &NEWCOMER, &SEED, ROUND, &PRE_OUTPUT, &PROOF)
				.expect("the embedded activation claim verifies");
		}

		/// `cargo test -p pallet-vouch-registry --features runtime-benchmarks print_a_new_vector
		/// -- --ignored --nocapture` prints the constants above.
		#[test]
		#[ignore]
		fn print_a_new_vector() {
			use polkadot_sdk::sp_core::Pair as _;
			let (verifier, newcomer) = (crate::mock::pair(100), crate::mock::pair(101));
			let claim = sortition::sign_activation(&verifier, &newcomer.public().0, &SEED, ROUND);
			println!("pub const VERIFIER: [u8; 32] = {:?};", verifier.public().0);
			println!("pub const NEWCOMER: [u8; 32] = {:?};", newcomer.public().0);
			println!("pub const PRE_OUTPUT: [u8; 32] = {:?};", claim.pre_output);
			println!("pub const PROOF: [u8; 64] = {:?};", claim.proof);
		}
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		let (who, evidence) = worker::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), evidence, endpoint(), T::MinDeposit::get());
		assert!(Workers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn force_activate() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Root, who.clone());
		assert!(Pallet::<T>::is_active(&who));
	}

	#[benchmark]
	fn force_reject() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Root, who.clone());
		assert!(Workers::<T>::get(&who).is_some_and(|w| w.status == WorkerStatus::Removed));
	}

	/// The worst case: every seat taken by a higher draw, one evicted.
	#[benchmark]
	fn challenge_worker() {
		use vectors::*;
		let verifier = T::BenchmarkHelper::account_with_vrf_key(VERIFIER);
		let newcomer = T::BenchmarkHelper::account_with_vrf_key(NEWCOMER);
		Pallet::<T>::benchmark_active_worker(&verifier, benchmark_tpm());
		let k = T::ActivationVerifiers::get();
		let taken: alloc::vec::Vec<_> =
			(0..k).map(|i| challenge::<T>(account("seated", i, 0), Draw::MAX)).collect();
		write_activation::<T>(
			&newcomer,
			SEED,
			k,
			ActivationStage::Challenging { until: far::<T>() },
			taken,
		);
		let blob: TpmStruct = full(0xcb);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(verifier.clone()),
			newcomer.clone(),
			ROUND,
			PRE_OUTPUT,
			PROOF,
			blob.clone(),
			blob,
			[7; 32],
		);
		let activation = Activations::<T>::get(&newcomer).expect("still under way");
		assert_eq!(activation.challenges[0].verifier, verifier);
	}

	/// The worst case: the most challenges, each verifier earning credit.
	#[benchmark]
	fn answer_activation() {
		let who = registered::<T>();
		let k = T::ActivationVerifiers::get();
		let secrets: alloc::vec::Vec<[u8; 32]> = (0..k).map(|i| [i as u8; 32]).collect();
		let challenges = (0..k)
			.map(|i| Challenge {
				commitment: vouch_primitives::tpm::credential::commitment(&secrets[i as usize]),
				..challenge::<T>(account("verifier", i, 0), i.into())
			})
			.collect();
		answering::<T>(&who, challenges);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), secrets.try_into().expect("within the bound"));
		assert!(Pallet::<T>::is_active(&who));
	}

	/// The worst case: the most challenges, the last disputed.
	#[benchmark]
	fn dispute_challenge() {
		let who = registered::<T>();
		let k = T::ActivationVerifiers::get();
		answering::<T>(
			&who,
			(0..k).map(|i| challenge::<T>(account("verifier", i, 0), i.into())).collect(),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), k - 1);
		let activation = Activations::<T>::get(&who).expect("under way");
		assert!(matches!(activation.stage, ActivationStage::Disputed { .. }));
	}

	/// The worst case: a reveal that opens the commitment, so the whole credential is remade
	/// for the newcomer's real EK (one RSA-2048 public operation), but not the blob posted:
	/// the verifier is slashed, its credit reset, and a new round drawn.
	#[benchmark]
	fn reveal_challenge() {
		use vouch_primitives::tpm::credential::{commitment, derive};
		let who = registered::<T>();
		let verifier: T::AccountId = account("verifier", 0, 0);
		Pallet::<T>::benchmark_active_worker(&verifier, benchmark_tpm());
		let reveal = [0x5e; 32];
		let disputed = Challenge {
			commitment: commitment(&derive(&reveal).secret),
			..challenge::<T>(verifier.clone(), 0)
		};
		Pallet::<T>::end_activation(&who);
		write_activation::<T>(
			&who,
			[0; 32],
			1,
			ActivationStage::Disputed { index: 0, until: far::<T>() },
			vec![disputed],
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(verifier.clone()), who.clone(), reveal);
		let activation = Activations::<T>::get(&who).expect("a new round");
		assert!(matches!(activation.stage, ActivationStage::Challenging { .. }));
		assert!(Workers::<T>::get(&verifier).is_some_and(|w| w.deposit < T::MinDeposit::get()));
	}

	/// `n` deadlines due, each a window closed short of challenges: a new round each (the
	/// active count read over every credit bucket).
	#[benchmark]
	fn on_initialize_activations(n: Linear<0, 64>) {
		use polkadot_sdk::frame_support::traits::Hooks;
		for bucket in 0..MAX_BUCKETS {
			ActiveByBucket::<T>::insert(bucket, 1);
		}
		// The hook handles at most `MaxActivationsPerBlock` a block.
		let n = n.min(T::MaxActivationsPerBlock::get());
		let now = frame_system::Pallet::<T>::block_number();
		for i in 0..n {
			let who: T::AccountId = account("newcomer", i, 0);
			write_activation::<T>(
				&who,
				[0; 32],
				1,
				ActivationStage::Challenging { until: now },
				Default::default(),
			);
		}
		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}
		for i in 0..n {
			let who: T::AccountId = account("newcomer", i, 0);
			assert_eq!(Activations::<T>::get(&who).map(|a| a.round), Some(1));
		}
	}

	#[benchmark]
	fn set_endpoint() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(who), endpoint());
	}

	#[benchmark]
	fn deregister() {
		let who = registered::<T>();
		Pallet::<T>::force_activate(RawOrigin::Root.into(), who.clone()).expect("pending");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Pallet::<T>::is_active(&who));
	}

	#[benchmark]
	fn withdraw() {
		let who = registered::<T>();
		Pallet::<T>::deregister(RawOrigin::Signed(who.clone()).into()).expect("registered");
		let later =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Workers::<T>::get(&who).is_some_and(|w| w.status == WorkerStatus::Removed));
	}

	/// The worst case: an underbonded worker bonds back to `MinDeposit` and is active again.
	#[benchmark]
	fn bond_extra() {
		let who = registered::<T>();
		Pallet::<T>::force_activate(RawOrigin::Root.into(), who.clone()).expect("pending");
		let (taken, _) =
			<Pallet<T> as WorkerRegistry<_, _>>::slash(&who, T::MinDeposit::get(), None);
		assert!(!Pallet::<T>::is_active(&who));
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), taken);
		assert!(Pallet::<T>::is_active(&who));
	}

	/// An EK certificate chain to an RSA-2048 root (what most manufacturers use), verified
	/// inside the runtime.
	#[benchmark]
	fn verify_ek_chain_rsa_root() {
		use vouch_primitives::tpm::{ek::verify_chain, fixtures::*};
		let verified;
		#[block]
		{
			verified = verify_chain(EK_CERT_BY_RSA, &[], &[RSA_ROOT], valid_at());
		}
		assert!(verified.is_ok());
	}

	/// An EK certificate chain to a P-384 root, verified inside the runtime.
	#[benchmark]
	fn verify_ek_chain_p384_root() {
		use vouch_primitives::tpm::{ek::verify_chain, fixtures::*};
		let verified;
		#[block]
		{
			verified = verify_chain(EK_CERT_BY_P384, &[], &[P384_ROOT], valid_at());
		}
		assert!(verified.is_ok());
	}

	#[benchmark]
	fn set_trusted_roots() {
		use vouch_primitives::tpm::fixtures::RSA_ROOT;
		let root: Certificate = RSA_ROOT.to_vec().try_into().expect("a root within bounds");
		let roots: BoundedVec<_, _> =
			vec![root; MAX_TRUSTED_ROOTS as usize].try_into().expect("exactly the bound");
		#[extrinsic_call]
		_(RawOrigin::Root, roots);
		assert_eq!(TrustedTpmRoots::<T>::get().len() as u32, MAX_TRUSTED_ROOTS);
	}

	#[benchmark]
	fn set_quote_policy() {
		let policy = QuotePolicy {
			allowed_digests: vec![[7u8; 32]; MAX_ALLOWED_DIGESTS as usize]
				.try_into()
				.expect("the bound"),
		};
		#[extrinsic_call]
		_(RawOrigin::Root, policy.clone());
		assert_eq!(TpmQuotePolicy::<T>::get(), policy);
	}

	#[benchmark]
	fn allow_build() {
		let digest = [0x42; 32];
		#[extrinsic_call]
		_(RawOrigin::Root, digest, BuildKind::Executor, full(0x62));
		assert!(AllowedBuilds::<T>::contains_key(digest));
	}

	#[benchmark]
	fn revoke_build() {
		let digest = [0x42; 32];
		AllowedBuilds::<T>::insert(
			digest,
			AllowedBuild { kind: BuildKind::Executor, label: full(0x62) },
		);
		#[extrinsic_call]
		_(RawOrigin::Root, digest);
		assert!(!AllowedBuilds::<T>::contains_key(digest));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
