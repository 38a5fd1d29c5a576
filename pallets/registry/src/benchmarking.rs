//! Benchmarks of the registry's calls, with the largest TPM material and endpoint the bounds
//! allow.

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

fn tpm() -> TpmMaterial {
	TpmMaterial { ek_cert: full(1), ak_public: full(2), sealing_key: full(3) }
}

fn endpoint() -> Endpoint {
	let mut url: Endpoint = full(b'a');
	url[..8].copy_from_slice(b"https://");
	url
}

/// A funded account.
fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	let _ = T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn registered<T: Config>(who: &T::AccountId) {
	Pallet::<T>::register(
		RawOrigin::Signed(who.clone()).into(),
		tpm(),
		endpoint(),
		T::MinDeposit::get(),
	)
	.expect("a valid registration");
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		let who = funded::<T>("worker");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), tpm(), endpoint(), T::MinDeposit::get());
		assert!(Workers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn approve() {
		let who = funded::<T>("worker");
		registered::<T>(&who);
		#[extrinsic_call]
		_(RawOrigin::Root, who.clone());
		assert!(Pallet::<T>::is_active(&who));
	}

	#[benchmark]
	fn set_endpoint() {
		let who = funded::<T>("worker");
		registered::<T>(&who);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), endpoint());
	}

	#[benchmark]
	fn deregister() {
		let who = funded::<T>("worker");
		registered::<T>(&who);
		Pallet::<T>::approve(RawOrigin::Root.into(), who.clone()).expect("pending");
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Pallet::<T>::is_active(&who));
	}

	#[benchmark]
	fn withdraw() {
		let who = funded::<T>("worker");
		registered::<T>(&who);
		Pallet::<T>::deregister(RawOrigin::Signed(who.clone()).into()).expect("registered");
		let later =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Workers::<T>::get(&who).is_some_and(|w| w.status == WorkerStatus::Removed));
	}

	/// TPM registration evidence verified inside the runtime (`vouch_primitives::tpm`): the EK
	/// certificate through the issuing CA to the P-256 test root, the EK against it, the AK's
	/// and sealing key's areas, and the AK's certification of the sealing key. `register` runs
	/// this once the registry verifies TPMs on-chain (issue #5); measured ahead of it.
	#[benchmark]
	fn verify_tpm_registration() {
		use vouch_primitives::tpm::{
			fixtures::{registration_evidence, ROOT},
			nonce::fixture_inputs::ACCOUNT,
			registration::verify_registration,
		};
		let evidence = registration_evidence();
		let verified;
		#[block]
		{
			verified = verify_registration(&evidence, &ACCOUNT, &[ROOT]);
		}
		assert!(verified.is_ok());
	}

	/// An EK certificate chain to an RSA-2048 root (what most manufacturers use), verified
	/// inside the runtime.
	#[benchmark]
	fn verify_ek_chain_rsa_root() {
		use vouch_primitives::tpm::{ek::verify_chain, fixtures::*};
		let verified;
		#[block]
		{
			verified = verify_chain(EK_CERT_BY_RSA, &[], &[RSA_ROOT]);
		}
		assert!(verified.is_ok());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
