//! Benchmarks of the tasks pallet, each at its worst case: the largest committee, the most
//! inputs, recipients and keys, and, for the last verdict, a settlement that pays every monitor.
//!
//! They drive the real lambdas and registry pallets to set up lambdas and workers, so they
//! need a runtime that has both (as Vouch's does).

use super::*;
use alloc::{vec, vec::Vec};
use pallet_vouch_lambdas::{Cid, Manifest};
use pallet_vouch_registry::TpmMaterial;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::{
		traits::{
			fungible::{Inspect, Mutate},
			ConstU32, Get, Hooks,
		},
		BoundedVec,
	},
	frame_system::{self, RawOrigin},
	sp_runtime::traits::Zero,
};
use vouch_primitives::{LambdaId, TaskId};

fn full<S: Get<u32>>(byte: u8) -> BoundedVec<u8, S> {
	vec![byte; S::get() as usize].try_into().expect("exactly the bound")
}

fn cid(byte: u8) -> Cid {
	full(byte)
}

/// An active worker (credit 0, so the earliest seat executes).
fn worker<T: Config + pallet_vouch_registry::Config>(index: u32) -> T::AccountId {
	let who: T::AccountId = account("worker", index, 0);
	if pallet_vouch_registry::Workers::<T>::contains_key(&who) {
		return who;
	}
	let bond = <T as pallet_vouch_registry::Config>::MinDeposit::get();
	<T as pallet_vouch_registry::Config>::Currency::set_balance(&who, bond * 10u32.into());
	let tpm = TpmMaterial { ek_cert: full(1), ak_public: full(2), sealing_key: full(3) };
	let mut endpoint: pallet_vouch_registry::Endpoint = full(b'a');
	endpoint[..7].copy_from_slice(b"http://");
	pallet_vouch_registry::Pallet::<T>::register(
		RawOrigin::Signed(who.clone()).into(),
		tpm,
		endpoint,
		<T as pallet_vouch_registry::Config>::MinDeposit::get(),
	)
	.expect("a valid registration");
	pallet_vouch_registry::Pallet::<T>::approve(RawOrigin::Root.into(), who.clone())
		.expect("pending");
	who
}

/// An encrypted lambda of price zero owned by `owner` (its code key is one more key slot).
fn lambda<T: Config + pallet_vouch_lambdas::Config>(owner: &T::AccountId) -> LambdaId {
	let id = pallet_vouch_lambdas::NextLambdaId::<T>::get();
	let manifest = Manifest {
		entrypoint: full(b'/'),
		args: Default::default(),
		env: Default::default(),
		cpu_millicores: 1,
		memory_mib: 1,
		time_limit_secs: 1,
		max_output_bytes: 1,
	};
	pallet_vouch_lambdas::Pallet::<T>::publish(
		RawOrigin::Signed(owner.clone()).into(),
		cid(b'c'),
		[7; 32],
		cid(b'i'),
		manifest,
		Zero::zero(),
		true,
	)
	.expect("a valid lambda");
	id
}

/// The largest committee this runtime allows.
fn committee_size<T: Config>() -> u32 {
	T::MaxCommittee::get().min(MAX_COMMITTEE)
}

/// Posts a task with the most inputs and recipients, all the requester's, for the largest
/// committee; the requester also owns the (encrypted) lambda, so it holds every key.
fn posted<T>(requester: &T::AccountId) -> TaskId
where
	T: Config + pallet_vouch_lambdas::Config + pallet_vouch_registry::Config,
{
	<T as Config>::Currency::set_balance(requester, payment::<T>() * 10u32.into());
	let lambda = lambda::<T>(requester);
	let task = NextTaskId::<T>::get();
	Pallet::<T>::post_task(
		RawOrigin::Signed(requester.clone()).into(),
		lambda,
		inputs::<T>(requester),
		recipients::<T>(requester),
		requirements::<T>(),
		payment::<T>(),
	)
	.expect("a valid task");
	task
}

fn inputs<T: Config>(
	owner: &T::AccountId,
) -> BoundedVec<Input<T::AccountId>, ConstU32<MAX_INPUTS>> {
	vec![Input { cid: cid(b'x'), owner: owner.clone() }; MAX_INPUTS as usize]
		.try_into()
		.expect("MAX_INPUTS")
}

fn recipients<T: Config>(
	who: &T::AccountId,
) -> BoundedVec<Recipient<T::AccountId>, ConstU32<MAX_RECIPIENTS>> {
	vec![Recipient { who: who.clone(), x25519: [9; 32] }; MAX_RECIPIENTS as usize]
		.try_into()
		.expect("MAX_RECIPIENTS")
}

fn requirements<T: Config>() -> Requirements {
	let d = T::MinPhaseBlocks::get().max(2);
	Requirements {
		min_credit: 0,
		committee_size: committee_size::<T>(),
		max_rounds: 1,
		deadlines: PhaseDeadlines {
			sortition: d,
			attestation: d,
			key_release: d,
			run: d,
			verdicts: d,
		},
		network_none: true,
		wipe: true,
	}
}

fn payment<T: Config>() -> BalanceOf<T> {
	<T as Config>::Currency::minimum_balance().max(1u32.into()) * 1_000_000u32.into()
}

/// The committee members, executor first.
fn elect<T>(task: TaskId) -> Vec<T::AccountId>
where
	T: Config + pallet_vouch_registry::Config,
{
	let members: Vec<T::AccountId> = (0..committee_size::<T>()).map(worker::<T>).collect();
	for m in &members {
		Pallet::<T>::dev_claim_seat(RawOrigin::Signed(m.clone()).into(), task).expect("a seat");
	}
	members
}

fn verdicts<T: Config>(task: TaskId, monitors: &[T::AccountId]) {
	for m in monitors {
		Pallet::<T>::submit_verdict(RawOrigin::Signed(m.clone()).into(), task, true)
			.expect("a verdict");
	}
}

fn evidence() -> Evidence {
	full(0xee)
}

fn release_keys<T: Config>(task: TaskId, owner: &T::AccountId, slots: core::ops::Range<u32>) {
	for slot in slots {
		Pallet::<T>::release_key(RawOrigin::Signed(owner.clone()).into(), task, slot, full(0x5e))
			.expect("a key");
	}
}

fn result() -> TaskResult {
	TaskResult {
		cid: cid(b'r'),
		sealed_keys: vec![full(0x5e); MAX_RECIPIENTS as usize].try_into().expect("MAX_RECIPIENTS"),
		job_failed: false,
	}
}

/// Runs a task to `Attesting(After)` with every monitor's verdict but the last one given.
fn awaiting_last_verdict<T>(requester: &T::AccountId) -> (TaskId, T::AccountId)
where
	T: Config + pallet_vouch_lambdas::Config + pallet_vouch_registry::Config,
{
	let task = posted::<T>(requester);
	let members = elect::<T>(task);
	let (executor, monitors) = (members[0].clone(), &members[1..]);
	Pallet::<T>::attest_before(RawOrigin::Signed(executor.clone()).into(), task, evidence())
		.expect("executor");
	verdicts::<T>(task, monitors);
	release_keys::<T>(task, requester, 0..MAX_INPUTS + 1);
	Pallet::<T>::submit_result(RawOrigin::Signed(executor).into(), task, result(), evidence())
		.expect("a result");
	let (last, others) = monitors.split_last().expect("the largest committee has monitors");
	verdicts::<T>(task, others);
	(task, last.clone())
}

#[benchmarks(where T: pallet_vouch_lambdas::Config + pallet_vouch_registry::Config)]
mod benchmarks {
	use super::*;

	/// The deadline queues of every block but the last in reach are full.
	#[benchmark]
	fn post_task() {
		let requester: T::AccountId = whitelisted_caller();
		<T as Config>::Currency::set_balance(&requester, payment::<T>() * 10u32.into());
		let lambda = lambda::<T>(&requester);
		let first = frame_system::Pallet::<T>::block_number()
			+ requirements::<T>().deadlines.sortition.into();
		let full_queue: BoundedVec<TaskId, T::MaxDeadlinesPerBlock> =
			vec![TaskId::MAX; T::MaxDeadlinesPerBlock::get() as usize]
				.try_into()
				.expect("the bound");
		for extra in 0..DEADLINE_SLACK - 1 {
			Deadlines::<T>::insert(first + extra.into(), full_queue.clone());
		}
		#[extrinsic_call]
		_(
			RawOrigin::Signed(requester.clone()),
			lambda,
			inputs::<T>(&requester),
			recipients::<T>(&requester),
			requirements::<T>(),
			payment::<T>(),
		);
		assert!(Tasks::<T>::contains_key(0));
	}

	#[benchmark]
	fn cancel_task() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted::<T>(&requester);
		#[extrinsic_call]
		_(RawOrigin::Signed(requester), task);
		assert!(Tasks::<T>::get(task).is_some_and(|t| t.status == TaskStatus::Cancelled));
	}

	/// The last seat: it elects the executor among the whole committee.
	#[benchmark]
	fn dev_claim_seat() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted::<T>(&requester);
		let size = committee_size::<T>();
		for i in 0..size - 1 {
			Pallet::<T>::dev_claim_seat(RawOrigin::Signed(worker::<T>(i)).into(), task)
				.expect("a seat");
		}
		let last = worker::<T>(size - 1);
		#[extrinsic_call]
		_(RawOrigin::Signed(last), task);
		assert!(matches!(
			Tasks::<T>::get(task).map(|t| t.status),
			Some(TaskStatus::Elected { .. })
		));
	}

	#[benchmark]
	fn attest_before() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted::<T>(&requester);
		let executor = elect::<T>(task)[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(executor), task, evidence());
	}

	/// The last key of the most key slots: it starts the run.
	#[benchmark]
	fn release_key() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted::<T>(&requester);
		let members = elect::<T>(task);
		Pallet::<T>::attest_before(RawOrigin::Signed(members[0].clone()).into(), task, evidence())
			.expect("executor");
		verdicts::<T>(task, &members[1..]);
		release_keys::<T>(task, &requester, 0..MAX_INPUTS);
		#[extrinsic_call]
		_(RawOrigin::Signed(requester), task, MAX_INPUTS, full(0x5e));
		assert!(matches!(
			Tasks::<T>::get(task).map(|t| t.status),
			Some(TaskStatus::Running { .. })
		));
	}

	#[benchmark]
	fn submit_result() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted::<T>(&requester);
		let members = elect::<T>(task);
		Pallet::<T>::attest_before(RawOrigin::Signed(members[0].clone()).into(), task, evidence())
			.expect("executor");
		verdicts::<T>(task, &members[1..]);
		release_keys::<T>(task, &requester, 0..MAX_INPUTS + 1);
		#[extrinsic_call]
		_(RawOrigin::Signed(members[0].clone()), task, result(), evidence());
	}

	/// The last `After` verdict of the largest committee: it settles, paying every monitor.
	#[benchmark]
	fn submit_verdict() {
		let requester: T::AccountId = whitelisted_caller();
		let (task, last) = awaiting_last_verdict::<T>(&requester);
		#[extrinsic_call]
		_(RawOrigin::Signed(last), task, true);
		assert!(Tasks::<T>::get(task).is_some_and(|t| t.status == TaskStatus::Settled));
	}

	/// `n` tasks of the largest committee reach their `After` deadline in one block, each
	/// missing one verdict: each settles and penalizes one monitor. The range is the Vouch
	/// runtime's `MaxDeadlinesPerBlock` (16); a runtime allowing more must widen it.
	#[benchmark]
	fn on_initialize_settling(n: Linear<0, 16>) {
		let n = n.min(T::MaxDeadlinesPerBlock::get());
		let mut tasks = Vec::new();
		for i in 0..n {
			let requester: T::AccountId = account("requester", i, 0);
			tasks.push(awaiting_last_verdict::<T>(&requester).0);
		}
		let now =
			frame_system::Pallet::<T>::block_number() + T::MinPhaseBlocks::get().max(2).into();
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}
		for task in tasks {
			assert!(Tasks::<T>::get(task).is_some_and(|t| t.status == TaskStatus::Settled));
		}
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
