//! Benchmarks of the registry's calls. `register` verifies real TPM evidence (made by swtpm,
//! from [`BenchmarkHelper`]) with the runtime's verifier; endpoints are the longest allowed.

use super::*;
use alloc::vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::traits::{fungible::Mutate, Get},
	frame_system::{self, RawOrigin},
	sp_runtime::{traits::Bounded, Saturating},
};

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

/// The helper's worker, funded, with its roots trusted: ready to register.
fn worker<T: Config>() -> (T::AccountId, TpmEvidence) {
	let (who, evidence, roots) = T::BenchmarkHelper::registration();
	fund::<T>(&who);
	TrustedTpmRoots::<T>::put(Pallet::<T>::bounded_roots(roots).expect("roots within bounds"));
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
	fn approve() {
		let who = registered::<T>();
		#[extrinsic_call]
		_(RawOrigin::Root, who.clone());
		assert!(Pallet::<T>::is_active(&who));
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
		Pallet::<T>::approve(RawOrigin::Root.into(), who.clone()).expect("pending");
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
		Pallet::<T>::approve(RawOrigin::Root.into(), who.clone()).expect("pending");
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
			pcr_select: vec![0xff; MAX_PCR_SELECT_LEN as usize].try_into().expect("the bound"),
			allowed_digests: vec![[7u8; 32]; MAX_ALLOWED_DIGESTS as usize]
				.try_into()
				.expect("the bound"),
		};
		#[extrinsic_call]
		_(RawOrigin::Root, policy.clone());
		assert_eq!(TpmQuotePolicy::<T>::get(), policy);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
