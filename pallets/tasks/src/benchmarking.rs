//! Benchmarks of the tasks pallet, each at its worst case: the largest committee, the most
//! inputs, recipients and keys, and, for the last verdict, a settlement that pays every monitor.
//!
//! They drive the real lambdas and registry pallets to set up lambdas and workers, so they
//! need a runtime that has both (as Vouch's does). The wasm runtime cannot sign, so
//! `claim_seat` and `vrf_verify` use a VRF claim precomputed by a std test ([`vectors`]), and
//! the attestation calls a TPM quote made by swtpm ([`BenchmarkHelper::executor_quote`]), for
//! which the benchmark writes the quoted task id, block hash and the executor's TPM into the
//! state. Workers are written into the registry directly (one TPM per account is out of reach);
//! committees for the later phases are seated by writing seats directly and closing the claim
//! window through the real hook.

use super::*;
use alloc::{vec, vec::Vec};
use pallet_vouch_lambdas::{Cid, Manifest};
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
use vouch_primitives::{sortition::Seat, tpm::attest::ClockInfo, LambdaId, TaskId};

/// A real sr25519 VRF claim, made by `vectors::tests::print_a_new_vector`.
pub(crate) mod vectors {
	/// The task the claim is for.
	pub const TASK: u64 = 0;
	/// Its round.
	pub const ROUND: u32 = 0;
	/// The round's seed (written into the task by the benchmark).
	pub const SEED: [u8; 32] = [0x5e; 32];
	/// The worker's sr25519 public key.
	pub const KEY: [u8; 32] = [
		28, 11, 8, 229, 220, 70, 37, 243, 254, 207, 14, 192, 81, 240, 27, 87, 176, 66, 34, 44, 176,
		233, 235, 182, 99, 214, 22, 14, 16, 195, 75, 76,
	];
	/// The VRF pre-output.
	pub const PRE_OUTPUT: [u8; 32] = [
		42, 121, 50, 123, 132, 9, 212, 207, 126, 140, 73, 150, 72, 232, 164, 26, 247, 89, 168, 239,
		102, 12, 46, 151, 228, 177, 170, 106, 1, 47, 145, 63,
	];
	/// The VRF proof.
	pub const PROOF: [u8; 64] = [
		151, 159, 235, 109, 48, 212, 77, 29, 169, 229, 35, 160, 153, 155, 67, 52, 163, 131, 101,
		65, 203, 112, 8, 67, 95, 38, 174, 170, 97, 191, 4, 0, 187, 97, 121, 208, 121, 130, 185,
		161, 8, 65, 159, 6, 217, 208, 191, 169, 208, 52, 97, 86, 199, 130, 134, 244, 222, 214, 144,
		117, 35, 220, 154, 12,
	];

	#[cfg(test)]
	mod tests {
		use super::*;
		use polkadot_sdk::sp_core::{sr25519, Pair};
		use vouch_primitives::sortition;

		#[test]
		fn the_embedded_claim_verifies() {
			assert!(sortition::verify(&KEY, TASK, &SEED, ROUND, &PRE_OUTPUT, &PROOF).is_ok());
		}

		/// `cargo test -p pallet-vouch-tasks --features runtime-benchmarks print_a_new_vector
		/// -- --ignored --nocapture` prints the constants above for a fresh key.
		#[test]
		#[ignore]
		fn print_a_new_vector() {
			let pair = sr25519::Pair::from_seed(&[0xbe; 32]);
			let claim = sortition::sign(&pair, TASK, &SEED, ROUND);
			println!("pub const KEY: [u8; 32] = {:?};", pair.public().0);
			println!("pub const PRE_OUTPUT: [u8; 32] = {:?};", claim.pre_output);
			println!("pub const PROOF: [u8; 64] = {:?};", claim.proof);
		}
	}
}

fn full<S: Get<u32>>(byte: u8) -> BoundedVec<u8, S> {
	vec![byte; S::get() as usize].try_into().expect("exactly the bound")
}

fn cid(byte: u8) -> Cid {
	full(byte)
}

/// An active worker (credit 0, so the lowest draw executes).
fn worker<T: Config + pallet_vouch_registry::Config>(index: u32) -> T::AccountId {
	let who: T::AccountId = account("worker", index, 0);
	register::<T>(&who);
	who
}

/// Makes `who` an active worker (with a TPM that cannot quote), unless it is one already.
fn register<T: Config + pallet_vouch_registry::Config>(who: &T::AccountId) {
	if pallet_vouch_registry::Workers::<T>::contains_key(who) {
		return;
	}
	let name: pallet_vouch_registry::TpmName = full(1);
	let tpm = pallet_vouch_registry::RegisteredTpm {
		ek_qualified_name: name.clone(),
		ak_qualified_name: name,
		ek_key_id: [1; 32],
		ek_public: full(4),
		ak_public: full(2),
		sealing_public: full(3),
		launch: pallet_vouch_registry::LaunchRecord {
			boot_digest: [5; 32],
			quote_digest: [6; 32],
			builds: alloc::vec![[7u8; 32]].try_into().expect("within the bound"),
		},
	};
	pallet_vouch_registry::Pallet::<T>::benchmark_active_worker(who, tpm);
}

/// Makes `task`'s current executor the helper's quoting TPM, and the task, the chain's quote
/// policy and the previous block's hash what its `phase` quote was made for; returns the quote.
fn quote_for<T>(task: TaskId, phase: Phase) -> QuoteOf<T>
where
	T: Config + pallet_vouch_registry::Config,
{
	let v = <T as Config>::BenchmarkHelper::executor_quote(phase);
	assert_eq!(task, v.task, "the task was posted under the quote's task id");
	let executor =
		Tasks::<T>::get(task).and_then(|t| t.status.executor().cloned()).expect("elected");
	pallet_vouch_registry::TpmQuotePolicy::<T>::put(v.policy);
	pallet_vouch_registry::Pallet::<T>::benchmark_allow_launch(&v.tpm.launch);
	pallet_vouch_registry::Workers::<T>::mutate(&executor, |w| {
		w.as_mut().expect("a worker").tpm = v.tpm;
	});
	Tasks::<T>::mutate(task, |t| {
		let t = t.as_mut().expect("posted");
		t.image_id = v.measurements.image_id;
		t.code_input_hash = v.measurements.code_input_hash;
		t.sandbox_policy_hash = v.measurements.sandbox_policy_hash;
	});
	// Made after this block (where the duty began at the latest), submitted in the next.
	let block = frame_system::Pallet::<T>::block_number();
	frame_system::Pallet::<T>::set_block_number(block + 1u32.into());
	let hash = <T::Hash as codec::Decode>::decode(&mut &v.block_hash[..]).expect("a 32-byte hash");
	frame_system::BlockHash::<T>::insert(block, hash);
	Quote {
		block,
		measurements: v.measurements,
		attest: v.attest.try_into().expect("a quote within bounds"),
		signature: v.signature.try_into().expect("a signature within bounds"),
	}
}

/// An attestation record as if `executor` had quoted `phase` of `task`'s current round.
fn attestation<T: Config>(task: TaskId, executor: &T::AccountId, phase: Phase) -> AttestationOf<T> {
	let info = Tasks::<T>::get(task).expect("posted");
	Attestation {
		executor: executor.clone(),
		round: info.round,
		block: frame_system::Pallet::<T>::block_number(),
		measurements: Measurements {
			image_id: info.image_id,
			code_input_hash: info.code_input_hash,
			sandbox_policy_hash: [0; 32],
			result_hash: (phase == Phase::After).then_some([0; 32]),
			keys_commitment: (phase == Phase::After).then(|| keys_commitment(&result_keys())),
			exit_status: (phase == Phase::After).then_some(0),
		},
		clock: ClockInfo { clock: 1, reset_count: 0, restart_count: 0, safe: true },
		lie_proven: false,
	}
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

/// [`posted_only`], then the block after it, where round 0 starts.
fn posted<T>(requester: &T::AccountId) -> TaskId
where
	T: Config + pallet_vouch_lambdas::Config + pallet_vouch_registry::Config,
{
	let task = posted_only::<T>(requester);
	close_window::<T>(task);
	task
}

/// Posts a task with the most inputs and recipients, all the requester's, for the largest
/// committee; the requester also owns the (encrypted) lambda, so it holds every key. Its
/// round 0 starts in the next block.
fn posted_only<T>(requester: &T::AccountId) -> TaskId
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
	let min = T::MinDeadlines::get();
	Requirements {
		min_credit: 0,
		committee_size: committee_size::<T>(),
		max_rounds: 1,
		// The shortest the runtime allows (at least 2, so that a phase outlives its block).
		deadlines: PhaseDeadlines {
			sortition: min.sortition.max(2),
			attestation: min.attestation.max(2),
			key_release: min.key_release.max(2),
			// The benchmarks' lambda runs for at most a second.
			run: min.run.max(Pallet::<T>::min_run_blocks(1)).max(2),
			verdicts: min.verdicts.max(2),
		},
		network_none: true,
		wipe: true,
	}
}

fn payment<T: Config>() -> BalanceOf<T> {
	(<T as Config>::Currency::minimum_balance().max(1u32.into()) * 1_000_000u32.into())
		.max(T::MinPayment::get())
}

/// [`posted`], under the task id of the helper's quotes.
fn posted_as_quoted<T>(requester: &T::AccountId) -> TaskId
where
	T: Config + pallet_vouch_lambdas::Config + pallet_vouch_registry::Config,
{
	NextTaskId::<T>::put(<T as Config>::BenchmarkHelper::executor_quote(Phase::Before).task);
	posted::<T>(requester)
}

/// Fills `task`'s committee with `size` seats of active workers, seat `i` with draw
/// `base + i`, as if each had claimed (proofs are not re-checked after the claim).
fn seat<T>(task: TaskId, size: u32, base: u128) -> Vec<T::AccountId>
where
	T: Config + pallet_vouch_registry::Config,
{
	let members: Vec<T::AccountId> = (0..size).map(worker::<T>).collect();
	Tasks::<T>::mutate(task, |t| {
		let t = t.as_mut().expect("posted");
		t.committee = members
			.iter()
			.enumerate()
			.map(|(i, who)| Seat {
				who: who.clone(),
				key: [0; 32],
				pre_output: [0; 32],
				proof: [0; 64],
				draw: base + i as u128,
				credit: 0,
			})
			.collect::<Vec<_>>()
			.try_into()
			.expect("at most the largest committee");
	});
	members
}

/// Runs the hook of the block of `task`'s deadline: closes its claim window (or, for a task
/// only posted, starts its round 0).
fn close_window<T: Config>(task: TaskId) {
	let until = Tasks::<T>::get(task).and_then(|t| t.status.deadline()).expect("open");
	frame_system::Pallet::<T>::set_block_number(until);
	Pallet::<T>::on_initialize(until);
}

/// Seats the largest committee and elects it: the members, executor first (equal credit,
/// lowest draw).
fn elect<T>(task: TaskId) -> Vec<T::AccountId>
where
	T: Config + pallet_vouch_registry::Config,
{
	let members = seat::<T>(task, committee_size::<T>(), 0);
	close_window::<T>(task);
	assert!(
		Tasks::<T>::get(task).and_then(|t| t.status.executor().cloned())
			== Some(members[0].clone())
	);
	members
}

fn verdicts<T: Config>(task: TaskId, monitors: &[T::AccountId]) {
	for m in monitors {
		Pallet::<T>::submit_verdict(RawOrigin::Signed(m.clone()).into(), task, true)
			.expect("a verdict");
	}
}

fn release_keys<T: Config>(task: TaskId, owner: &T::AccountId, slots: core::ops::Range<u32>) {
	for slot in slots {
		Pallet::<T>::release_key(RawOrigin::Signed(owner.clone()).into(), task, slot, full(0x5e))
			.expect("a key");
	}
}

/// The result keys of the most recipients.
fn result_keys() -> ResultKeys {
	vec![full(0x5e); MAX_RECIPIENTS as usize].try_into().expect("MAX_RECIPIENTS")
}

fn result() -> TaskResult {
	TaskResult {
		cid: cid(b'r'),
		keys_commitment: keys_commitment(&result_keys()),
		job_failed: false,
	}
}

/// Runs `requester`'s task of the largest committee to `Revealing`: every verdict given.
/// Returns the task and its executor.
fn revealing<T>(requester: &T::AccountId) -> (TaskId, T::AccountId)
where
	T: Config + pallet_vouch_lambdas::Config + pallet_vouch_registry::Config,
{
	let (task, last) = awaiting_last_verdict::<T>(&[requester.clone()])[0].clone();
	Pallet::<T>::submit_verdict(RawOrigin::Signed(last).into(), task, true)
		.expect("the last verdict");
	let executor =
		Tasks::<T>::get(task).and_then(|t| t.status.executor().cloned()).expect("revealing");
	(task, executor)
}

/// Runs a task to `Attesting(After)` with every monitor's verdict but the last one given.
fn awaiting_last_verdict<T>(requesters: &[T::AccountId]) -> Vec<(TaskId, T::AccountId)>
where
	T: Config + pallet_vouch_lambdas::Config + pallet_vouch_registry::Config,
{
	if requesters.is_empty() {
		return Vec::new();
	}
	// Posted in one block, all the tasks keep their deadlines in step.
	let tasks: Vec<TaskId> = requesters.iter().map(|r| posted_only::<T>(r)).collect();
	close_window::<T>(tasks[0]);
	let mut members = Vec::new();
	for task in &tasks {
		members = seat::<T>(*task, committee_size::<T>(), 0);
	}
	close_window::<T>(tasks[0]);
	let (executor, monitors) = (&members[0], &members[1..]);
	let (last, others) = monitors.split_last().expect("the largest committee has monitors");
	// One TPM quote fits one task: the attestations of these are recorded as verified.
	for (task, requester) in tasks.iter().copied().zip(requesters) {
		let mut info = Tasks::<T>::get(task).expect("posted");
		Pallet::<T>::accept_before(
			task,
			&mut info,
			attestation::<T>(task, executor, Phase::Before),
		);
		Tasks::<T>::insert(task, info);
		verdicts::<T>(task, monitors);
		release_keys::<T>(task, requester, 0..MAX_INPUTS + 1);
		let mut info = Tasks::<T>::get(task).expect("posted");
		let after = attestation::<T>(task, executor, Phase::After);
		Pallet::<T>::accept_result(task, &mut info, result(), after);
		Tasks::<T>::insert(task, info);
		verdicts::<T>(task, others);
	}
	tasks.into_iter().map(|task| (task, last.clone())).collect()
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

	/// A verified claim on a full committee, evicting the highest draw, with `w` workers
	/// registered: the cost does not depend on `w`.
	#[benchmark]
	fn claim_seat(w: Linear<10, 10_000>) {
		// `w` more active workers, written straight into the registry (registering each
		// through its calls would make the setup, not the claim, the slow part).
		let template = pallet_vouch_registry::Workers::<T>::get(worker::<T>(0)).expect("active");
		for i in 0..w {
			let who: T::AccountId = account("crowd", i, 0);
			pallet_vouch_registry::Workers::<T>::insert(who, template.clone());
		}
		pallet_vouch_registry::ActiveByBucket::<T>::mutate(0, |n| *n += w);
		let claimant = <T as Config>::BenchmarkHelper::account_with_vrf_key(vectors::KEY);
		register::<T>(&claimant);
		let requester: T::AccountId = whitelisted_caller();
		NextTaskId::<T>::put(vectors::TASK);
		let task = posted::<T>(&requester);
		seat::<T>(task, committee_size::<T>(), u128::MAX - 64);
		Tasks::<T>::mutate(task, |t| {
			let t = t.as_mut().expect("posted");
			t.seed = vectors::SEED;
			// Everyone wins: the claim is decided by eviction alone.
			t.eligible = 1;
		});
		#[extrinsic_call]
		_(
			RawOrigin::Signed(claimant.clone()),
			task,
			vectors::ROUND,
			vectors::SEED,
			vectors::PRE_OUTPUT,
			vectors::PROOF,
		);
		let seats = Tasks::<T>::get(task).expect("posted").committee;
		assert!(seats.iter().any(|s| s.who == claimant));
		assert_eq!(seats.len() as u32, committee_size::<T>());
	}

	/// One VRF verification, as `claim_seat` does it, inside the runtime.
	#[benchmark]
	fn vrf_verify() {
		let verified;
		#[block]
		{
			verified = vouch_primitives::sortition::verify(
				&vectors::KEY,
				vectors::TASK,
				&vectors::SEED,
				vectors::ROUND,
				&vectors::PRE_OUTPUT,
				&vectors::PROOF,
			);
		}
		assert!(verified.is_ok());
	}

	/// With a real TPM quote, verified against the executor's AK.
	#[benchmark]
	fn attest_before() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted_as_quoted::<T>(&requester);
		let executor = elect::<T>(task)[0].clone();
		let quote = quote_for::<T>(task, Phase::Before);
		#[extrinsic_call]
		_(RawOrigin::Signed(executor), task, quote);
		assert!(Attestations::<T>::contains_key(task, Phase::Before));
	}

	/// A real TPM quote of the executor contradicting its `Before` attestation, in the round
	/// under way: the executor is punished and a new round is drawn.
	#[benchmark]
	fn report_lie() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted_as_quoted::<T>(&requester);
		Tasks::<T>::mutate(task, |t| {
			t.as_mut().expect("posted").requirements.max_rounds = T::MaxRounds::get().max(2)
		});
		let members = elect::<T>(task);
		let quote = quote_for::<T>(task, Phase::Before);
		Pallet::<T>::attest_before(
			RawOrigin::Signed(members[0].clone()).into(),
			task,
			quote.clone(),
		)
		.expect("executor");
		verdicts::<T>(task, &members[1..]);
		// What it attested on-chain differs from what its TPM quoted.
		Attestations::<T>::mutate(task, Phase::Before, |a| {
			a.as_mut().expect("attested").measurements.sandbox_policy_hash = [0xba; 32];
		});
		#[extrinsic_call]
		// Either kind of evidence costs one quote verification; the attestation kind also
		// reads the block hash.
		_(
			RawOrigin::Signed(members[1].clone()),
			task,
			Phase::Before,
			LieEvidence::Attestation(quote),
		);
		assert!(matches!(
			Tasks::<T>::get(task).map(|t| t.status),
			Some(TaskStatus::Sortition { round: 1, .. })
		));
	}

	/// The last key of the most key slots: it starts the run.
	#[benchmark]
	fn release_key() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted::<T>(&requester);
		let members = elect::<T>(task);
		let mut info = Tasks::<T>::get(task).expect("posted");
		let before = attestation::<T>(task, &members[0], Phase::Before);
		Pallet::<T>::accept_before(task, &mut info, before);
		Tasks::<T>::insert(task, info);
		verdicts::<T>(task, &members[1..]);
		release_keys::<T>(task, &requester, 0..MAX_INPUTS);
		#[extrinsic_call]
		_(RawOrigin::Signed(requester), task, MAX_INPUTS, full(0x5e));
		assert!(matches!(
			Tasks::<T>::get(task).map(|t| t.status),
			Some(TaskStatus::Running { .. })
		));
	}

	/// With real `Before` and `After` TPM quotes, in the order the TPM made them.
	#[benchmark]
	fn submit_result() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted_as_quoted::<T>(&requester);
		let members = elect::<T>(task);
		let quote = quote_for::<T>(task, Phase::Before);
		Pallet::<T>::attest_before(RawOrigin::Signed(members[0].clone()).into(), task, quote)
			.expect("executor");
		verdicts::<T>(task, &members[1..]);
		release_keys::<T>(task, &requester, 0..MAX_INPUTS + 1);
		let quote = quote_for::<T>(task, Phase::After);
		// The keys the quote committed to (the fixture TPM's).
		let keys = quote.measurements.keys_commitment.expect("an After quote");
		let result = TaskResult { keys_commitment: keys, ..result() };
		#[extrinsic_call]
		_(RawOrigin::Signed(members[0].clone()), task, result, quote);
		assert!(Attestations::<T>::contains_key(task, Phase::After));
	}

	/// The last `After` verdict of the largest committee: it concludes the phase, reading
	/// every monitor's verdict; the executor's reveal comes next.
	#[benchmark]
	fn submit_verdict() {
		let requester: T::AccountId = whitelisted_caller();
		let (task, last) = awaiting_last_verdict::<T>(&[requester])[0].clone();
		#[extrinsic_call]
		_(RawOrigin::Signed(last), task, true);
		assert!(matches!(
			Tasks::<T>::get(task).map(|t| t.status),
			Some(TaskStatus::Revealing { .. })
		));
	}

	/// The reveal of the most recipients' keys: it settles the largest committee, paying
	/// every monitor.
	#[benchmark]
	fn reveal_result_keys() {
		let requester: T::AccountId = whitelisted_caller();
		let (task, executor) = revealing::<T>(&requester);
		#[extrinsic_call]
		_(RawOrigin::Signed(executor), task, result_keys());
		assert!(Tasks::<T>::get(task).is_some_and(|t| t.status == TaskStatus::Settled));
	}

	/// The first `After` verdict of the largest committee: recorded, nothing concluded. It
	/// checks every other monitor's verdict to know it is not the last.
	#[benchmark]
	fn record_verdict() {
		let requester: T::AccountId = whitelisted_caller();
		let task = posted::<T>(&requester);
		let members = elect::<T>(task);
		let mut info = Tasks::<T>::get(task).expect("posted");
		let before = attestation::<T>(task, &members[0], Phase::Before);
		Pallet::<T>::accept_before(task, &mut info, before);
		Tasks::<T>::insert(task, info);
		let first = members[1].clone();
		#[extrinsic_call]
		submit_verdict(RawOrigin::Signed(first.clone()), task, true);
		assert_eq!(MonitorVerdicts::<T>::get(task, &first).before, Some(true));
		assert!(matches!(
			Tasks::<T>::get(task).map(|t| t.status),
			Some(TaskStatus::Attesting { .. })
		));
	}

	/// Another owner of the most inputs backs its keys.
	#[benchmark]
	fn back_keys() {
		let requester: T::AccountId = whitelisted_caller();
		let owner: T::AccountId = account("owner", 0, 0);
		<T as Config>::Currency::set_balance(&requester, payment::<T>() * 10u32.into());
		let bonds = T::KeyBond::get() * (MAX_INPUTS + 1).into();
		<T as Config>::Currency::set_balance(&owner, bonds + payment::<T>());
		let lambda = lambda::<T>(&requester);
		let task = NextTaskId::<T>::get();
		Pallet::<T>::post_task(
			RawOrigin::Signed(requester.clone()).into(),
			lambda,
			inputs::<T>(&owner),
			recipients::<T>(&requester),
			requirements::<T>(),
			payment::<T>(),
		)
		.expect("a valid task");
		#[extrinsic_call]
		_(RawOrigin::Signed(owner.clone()), task);
		assert!(KeyBonds::<T>::contains_key(task, &owner));
	}

	/// A settled task with the most recipients' keys and both attestations is reaped.
	#[benchmark]
	fn reap_task() {
		let requester: T::AccountId = whitelisted_caller();
		let (task, executor) = revealing::<T>(&requester);
		Pallet::<T>::reveal_result_keys(RawOrigin::Signed(executor).into(), task, result_keys())
			.expect("the reveal");
		let later = frame_system::Pallet::<T>::block_number() + T::Retention::get();
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(requester), task);
		assert!(!Tasks::<T>::contains_key(task));
	}

	/// `n` tasks of the largest committee reach their `After` deadline in one block, each
	/// missing one verdict: each concludes, penalizing one monitor, and awaits its reveal. The
	/// range is the Vouch runtime's `MaxDeadlinesPerBlock` (16); a runtime allowing more must
	/// widen it.
	#[benchmark]
	fn on_initialize_concluding(n: Linear<0, 16>) {
		let n = n.min(T::MaxDeadlinesPerBlock::get());
		let requesters: Vec<T::AccountId> = (0..n).map(|i| account("requester", i, 0)).collect();
		let tasks: Vec<TaskId> =
			awaiting_last_verdict::<T>(&requesters).into_iter().map(|(t, _)| t).collect();
		let now = frame_system::Pallet::<T>::block_number()
			+ requirements::<T>().deadlines.verdicts.into();
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}
		for task in tasks {
			assert!(matches!(
				Tasks::<T>::get(task).map(|t| t.status),
				Some(TaskStatus::Revealing { .. })
			));
		}
	}

	/// `n` tasks' executors of the largest committee miss their reveal in one block: each is
	/// slashed, the committee's seats released and its verdicts cleared, and a new round drawn.
	#[benchmark]
	fn on_initialize_redrawing(n: Linear<0, 16>) {
		let n = n.min(T::MaxDeadlinesPerBlock::get());
		let requesters: Vec<T::AccountId> = (0..n).map(|i| account("requester", i, 0)).collect();
		let awaiting = awaiting_last_verdict::<T>(&requesters);
		for (task, last) in &awaiting {
			Tasks::<T>::mutate(task, |t| {
				t.as_mut().expect("posted").requirements.max_rounds = T::MaxRounds::get().max(2)
			});
			Pallet::<T>::submit_verdict(RawOrigin::Signed(last.clone()).into(), *task, true)
				.expect("the last verdict");
		}
		let now = frame_system::Pallet::<T>::block_number() + T::RevealBlocks::get().into();
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}
		for (task, _) in awaiting {
			assert!(matches!(
				Tasks::<T>::get(task).map(|t| t.status),
				Some(TaskStatus::Sortition { round: 1, .. })
			));
		}
	}

	/// A TPM quote verified inside the runtime (`vouch_primitives::tpm::verify::verify_quote`):
	/// signature by the AK, type, signer, nonce, PCR selection and digest, clock. The
	/// attestation calls run this once the chain verifies quotes (issue #5); measured ahead.
	#[benchmark]
	fn verify_tpm_quote() {
		use vouch_primitives::tpm::{
			fixtures::*,
			nonce::{fixture_inputs::*, quote_nonce},
			verify::{check_ak, verify_quote, PcrPolicy},
		};
		let ak = check_ak(AK_PUBLIC).expect("the fixture AK");
		let ak_qn = verified_tpm().ak_qualified_name;
		let allowed = [launch_state().quote_digest];
		let policy = PcrPolicy { select: &PCR_SELECT, allowed: &allowed };
		let nonce =
			quote_nonce(TASK, ROUND, vouch_primitives::Phase::Before, &BLOCK, &MEASUREMENTS);
		let verified;
		#[block]
		{
			verified =
				verify_quote(&ak, &ak_qn, &nonce, &policy, None, QUOTE_ATTEST, QUOTE_SIGNATURE);
		}
		assert!(verified.is_ok());
	}

	/// `n` tasks' claim windows close in one block, each with the largest committee seated:
	/// each elects its executor, reading every member's credit. Same range as settling.
	#[benchmark]
	fn on_initialize_electing(n: Linear<0, 16>) {
		let n = n.min(T::MaxDeadlinesPerBlock::get());
		let mut tasks = Vec::new();
		for i in 0..n {
			let requester: T::AccountId = account("requester", i, 0);
			tasks.push(posted_only::<T>(&requester));
		}
		// Every round 0 starts in the next block, with the same claim window.
		let next = frame_system::Pallet::<T>::block_number() + 1u32.into();
		frame_system::Pallet::<T>::set_block_number(next);
		Pallet::<T>::on_initialize(next);
		for task in &tasks {
			seat::<T>(*task, committee_size::<T>(), 0);
		}
		let now = next + requirements::<T>().deadlines.sortition.into();
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}
		for task in tasks {
			assert!(matches!(
				Tasks::<T>::get(task).map(|t| t.status),
				Some(TaskStatus::Elected { .. })
			));
		}
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
