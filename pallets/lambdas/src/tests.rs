//! Bob publishes, reprices and retires lambdas; the tasks side reads them and records runs.

use crate::{mock::*, Error, Event, Lambda, LambdaRegistry, Lambdas, Manifest, NextLambdaId};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok, BoundedVec},
	sp_runtime::DispatchError,
};

/// The image digest of Bob's job (any 32 bytes in these tests).
const DIGEST: [u8; 32] = [7; 32];
const UNIT: u128 = 1_000_000_000_000;

/// The pallet's calls (in the mock, `Lambdas` also names the storage map).
type LambdaCalls = crate::Pallet<Test>;

fn bounded<S: polkadot_sdk::frame_support::traits::Get<u32>>(s: &str) -> BoundedVec<u8, S> {
	s.as_bytes().to_vec().try_into().expect("short enough")
}

fn manifest() -> Manifest {
	Manifest {
		entrypoint: bounded("/bin/wordcount"),
		args: vec![bounded("--input"), bounded("/in/0")].try_into().unwrap(),
		env: vec![bounded("LANG=C")].try_into().unwrap(),
		cpu_millicores: 1000,
		memory_mib: 256,
		time_limit_secs: 60,
		max_output_bytes: 1024 * 1024,
	}
}

fn publish(who: u64, m: Manifest) -> polkadot_sdk::frame_support::dispatch::DispatchResult {
	LambdaCalls::publish(
		RuntimeOrigin::signed(who),
		bounded("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
		DIGEST,
		bounded("bafybeihimage"),
		m,
		3 * UNIT,
		true,
	)
}

fn check_invariants() {
	crate::Pallet::<Test>::do_try_state().expect("invariants hold");
}

#[test]
fn bob_publishes_a_lambda_with_his_price() {
	new_test_ext().execute_with(|| {
		assert_ok!(publish(BOB, manifest()));
		let lambda = Lambdas::<Test>::get(0).expect("stored under id 0");
		assert_eq!(lambda.owner, BOB);
		assert_eq!(lambda.price, 3 * UNIT);
		assert_eq!(lambda.image_digest, DIGEST);
		assert!(lambda.encrypted && !lambda.retired);
		assert_eq!((lambda.runs, lambda.failures), (0, 0));
		assert_eq!(NextLambdaId::<Test>::get(), 1);
		System::assert_last_event(
			Event::Published { lambda: 0, owner: BOB, price: 3 * UNIT, encrypted: true }.into(),
		);
		// The next one gets the next id.
		assert_ok!(publish(BOB, manifest()));
		assert!(Lambdas::<Test>::contains_key(1));
		check_invariants();
	});
}

#[test]
fn malformed_cids_are_refused() {
	new_test_ext().execute_with(|| {
		for cid in ["", "bafy with space", "bafy\u{7f}"] {
			assert_noop!(
				LambdaCalls::publish(
					RuntimeOrigin::signed(BOB),
					bounded(cid),
					DIGEST,
					bounded("bafyimage"),
					manifest(),
					UNIT,
					false
				),
				Error::<Test>::MalformedCid
			);
			assert_noop!(
				LambdaCalls::publish(
					RuntimeOrigin::signed(BOB),
					bounded("bafycode"),
					DIGEST,
					bounded(cid),
					manifest(),
					UNIT,
					false
				),
				Error::<Test>::MalformedCid
			);
		}
	});
}

#[test]
fn manifests_outside_the_limits_are_refused_with_the_limit_named() {
	new_test_ext().execute_with(|| {
		let cases: Vec<(fn(&mut Manifest), Error<Test>)> = vec![
			(|m| m.entrypoint = Default::default(), Error::<Test>::EmptyEntrypoint),
			(|m| m.cpu_millicores = 0, Error::<Test>::CpuLimitOutOfRange),
			(|m| m.cpu_millicores = 4001, Error::<Test>::CpuLimitOutOfRange),
			(|m| m.memory_mib = 0, Error::<Test>::MemoryLimitOutOfRange),
			(|m| m.memory_mib = 4097, Error::<Test>::MemoryLimitOutOfRange),
			(|m| m.time_limit_secs = 0, Error::<Test>::TimeLimitOutOfRange),
			(|m| m.time_limit_secs = 3601, Error::<Test>::TimeLimitOutOfRange),
			(|m| m.max_output_bytes = 0, Error::<Test>::OutputLimitOutOfRange),
			(|m| m.max_output_bytes = 64 * 1024 * 1024 + 1, Error::<Test>::OutputLimitOutOfRange),
			(|m| m.env = vec![bounded("NOVALUE")].try_into().unwrap(), Error::<Test>::MalformedEnv),
			(|m| m.env = vec![bounded("=x")].try_into().unwrap(), Error::<Test>::MalformedEnv),
			(|m| m.env = vec![bounded("A B=x")].try_into().unwrap(), Error::<Test>::MalformedEnv),
		];
		for (break_it, error) in cases {
			let mut m = manifest();
			break_it(&mut m);
			assert_noop!(publish(BOB, m), error);
		}
		// The limits themselves are allowed.
		let mut m = manifest();
		(m.cpu_millicores, m.memory_mib, m.time_limit_secs, m.max_output_bytes) =
			(4000, 4096, 3600, 64 * 1024 * 1024);
		assert_ok!(publish(BOB, m));
	});
}

#[test]
fn only_the_owner_reprices_and_tasks_see_the_new_price() {
	new_test_ext().execute_with(|| {
		assert_ok!(publish(BOB, manifest()));
		assert_noop!(
			LambdaCalls::reprice(RuntimeOrigin::signed(ALICE), 0, 0),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			LambdaCalls::reprice(RuntimeOrigin::signed(BOB), 9, UNIT),
			Error::<Test>::UnknownLambda
		);
		assert_ok!(LambdaCalls::reprice(RuntimeOrigin::signed(BOB), 0, 5 * UNIT));
		System::assert_last_event(
			Event::Repriced { lambda: 0, old: 3 * UNIT, new: 5 * UNIT }.into(),
		);
		let usable: Lambda<u64, u128> =
			<crate::Pallet<Test> as LambdaRegistry<_, _>>::usable(0).unwrap();
		assert_eq!(usable.price, 5 * UNIT);
	});
}

#[test]
fn a_retired_lambda_takes_no_new_tasks_and_no_changes_but_keeps_its_record() {
	new_test_ext().execute_with(|| {
		assert_ok!(publish(BOB, manifest()));
		assert_ok!(<crate::Pallet<Test> as LambdaRegistry<_, _>>::note_run(0, false));
		assert_noop!(LambdaCalls::retire(RuntimeOrigin::signed(ALICE), 0), Error::<Test>::NotOwner);
		assert_ok!(LambdaCalls::retire(RuntimeOrigin::signed(BOB), 0));
		System::assert_last_event(Event::Retired { lambda: 0 }.into());

		assert_eq!(
			<crate::Pallet<Test> as LambdaRegistry<_, _>>::usable(0).map(|_| ()),
			Err(DispatchError::from(Error::<Test>::Retired))
		);
		assert_noop!(LambdaCalls::retire(RuntimeOrigin::signed(BOB), 0), Error::<Test>::Retired);
		assert_noop!(
			LambdaCalls::reprice(RuntimeOrigin::signed(BOB), 0, 1),
			Error::<Test>::Retired
		);
		// A task posted before retirement still settles and is counted.
		assert_ok!(<crate::Pallet<Test> as LambdaRegistry<_, _>>::note_run(0, true));
		let record = Lambdas::<Test>::get(0).unwrap();
		assert_eq!((record.runs, record.failures), (2, 1));
		check_invariants();
	});
}

#[test]
fn runs_and_failures_are_counted_for_the_developers_record() {
	new_test_ext().execute_with(|| {
		assert_ok!(publish(BOB, manifest()));
		for failed in [false, true, false] {
			assert_ok!(<crate::Pallet<Test> as LambdaRegistry<_, _>>::note_run(0, failed));
		}
		System::assert_last_event(Event::RunRecorded { lambda: 0, failed: false }.into());
		let record = Lambdas::<Test>::get(0).unwrap();
		assert_eq!((record.runs, record.failures), (3, 1));
		assert_eq!(
			<crate::Pallet<Test> as LambdaRegistry<_, _>>::note_run(1, false),
			Err(Error::<Test>::UnknownLambda.into())
		);
		check_invariants();
	});
}

#[test]
fn unsigned_origins_cannot_publish() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			LambdaCalls::publish(
				RuntimeOrigin::none(),
				bounded("bafycode"),
				DIGEST,
				bounded("bafyimage"),
				manifest(),
				UNIT,
				false
			),
			DispatchError::BadOrigin
		);
	});
}

proptest::proptest! {
	#![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

	/// Any bytes a client sends as a manifest: either they do not decode (a bound or the
	/// format refuses them), or `publish` accepts or refuses them by name; never a panic, and an
	/// accepted manifest yields a sandbox policy within the runtime's limits.
	#[test]
	fn any_manifest_bytes_are_decoded_checked_and_never_panic(
		bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
	) {
		use codec::Decode;
		new_test_ext().execute_with(|| {
			let Ok(m) = Manifest::decode(&mut &bytes[..]) else { return Ok(()) };
			if publish(BOB, m.clone()).is_ok() {
				let policy = vouch_primitives::sandbox::SandboxPolicy::for_task(&m.limits(), true);
				proptest::prop_assert!(policy.memory_bytes <= u64::from(MaxMemoryMib::get()) << 20);
				proptest::prop_assert!(policy.output_tmpfs_bytes > m.max_output_bytes);
			}
			check_invariants();
			Ok(())
		})?;
	}

	/// Manifests with arbitrary limits and strings: accepted exactly when every limit is in
	/// range and every env entry is `NAME=value`.
	#[test]
	fn arbitrary_manifests_are_accepted_exactly_within_the_limits(
		cpu in proptest::prelude::any::<u32>(),
		memory in proptest::prelude::any::<u32>(),
		time in proptest::prelude::any::<u32>(),
		output in proptest::prelude::any::<u64>(),
		env in "[A-Za-z_=.]{0,12}",
	) {
		new_test_ext().execute_with(|| {
			let m = Manifest {
				cpu_millicores: cpu % 8000,
				memory_mib: memory % 8192,
				time_limit_secs: time % 7200,
				max_output_bytes: output % (1 << 27),
				env: vec![bounded(&env)].try_into().unwrap(),
				..manifest()
			};
			let name = env.split('=').next().unwrap_or("");
			let valid = (1..=MaxCpuMillicores::get()).contains(&m.cpu_millicores)
				&& (1..=MaxMemoryMib::get()).contains(&m.memory_mib)
				&& (1..=MaxTimeLimitSecs::get()).contains(&m.time_limit_secs)
				&& (1..=MaxOutputBytes::get()).contains(&m.max_output_bytes)
				&& env.contains('=')
				&& !name.is_empty()
				&& name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
			proptest::prop_assert_eq!(publish(BOB, m).is_ok(), valid);
			check_invariants();
			Ok(())
		})?;
	}
}
