use super::*;
use polkadot_sdk::sp_core::{sr25519::Pair, Pair as _};

fn worker(i: u32) -> Pair {
	Pair::from_seed(&blake2_256(&(b"worker", i).encode()))
}

fn task_seed(task: TaskId) -> [u8; 32] {
	seed(task, blake2_256(&(b"block", task).encode()), 0)
}

fn key(pair: &Pair) -> [u8; 32] {
	pair.public().0
}

#[test]
fn a_signed_claim_verifies_and_gives_the_draw_of_the_pre_output() {
	let pair = worker(1);
	let s = task_seed(7);
	let claim = sign(&pair, 7, &s, 2);
	assert_eq!(verify(&key(&pair), 7, &s, 2, &claim.pre_output, &claim.proof), Ok(claim.draw));
	assert_eq!(draw(&pair, 7, &s, 2), claim.draw);
	// The draw is deterministic, the proof is not: two signatures, one draw.
	assert_eq!(sign(&pair, 7, &s, 2).draw, claim.draw);
}

#[test]
fn a_claim_for_another_task_round_seed_or_key_does_not_verify() {
	let (pair, other) = (worker(1), worker(2));
	let s = task_seed(7);
	let c = sign(&pair, 7, &s, 2);
	let check = |key: &[u8; 32], task, seed: &[u8; 32], round| {
		verify(key, task, seed, round, &c.pre_output, &c.proof)
	};
	assert_eq!(check(&key(&pair), 8, &s, 2), Err(ProofError::Invalid));
	assert_eq!(check(&key(&pair), 7, &s, 3), Err(ProofError::Invalid));
	assert_eq!(check(&key(&pair), 7, &task_seed(8), 2), Err(ProofError::Invalid));
	assert_eq!(check(&key(&other), 7, &s, 2), Err(ProofError::Invalid));
}

#[test]
fn forged_proofs_and_pre_outputs_are_rejected() {
	let pair = worker(1);
	let s = task_seed(7);
	let c = sign(&pair, 7, &s, 0);
	let k = key(&pair);
	// Another worker's pre-output with this worker's proof: a lower draw cannot be borrowed.
	let theirs = sign(&worker(2), 7, &s, 0);
	assert_eq!(verify(&k, 7, &s, 0, &theirs.pre_output, &c.proof), Err(ProofError::Invalid));
	// A flipped bit in the challenge part of the proof.
	let mut proof = c.proof;
	proof[0] ^= 1;
	assert_eq!(verify(&k, 7, &s, 0, &c.pre_output, &proof), Err(ProofError::Invalid));
	// A non-canonical scalar.
	let mut proof = c.proof;
	proof[63] = 0xff;
	assert_eq!(verify(&k, 7, &s, 0, &c.pre_output, &proof), Err(ProofError::MalformedProof));
	// Garbage pre-outputs: not a point, or the identity.
	assert_eq!(verify(&k, 7, &s, 0, &[0xff; 32], &c.proof), Err(ProofError::Invalid));
	assert!(verify(&k, 7, &s, 0, &[0; 32], &c.proof).is_err());
	// A key that is not a point.
	assert!(verify(&[0xff; 32], 7, &s, 0, &c.pre_output, &c.proof).is_err());
}

#[test]
fn the_threshold_is_integer_and_everyone_wins_when_k_covers_n() {
	assert_eq!(threshold(10, 10), None);
	assert_eq!(threshold(3, 10), None);
	assert!(wins(Draw::MAX, 10, 10));
	assert_eq!(threshold(1000, 10), Some(Draw::MAX / 1000 * 10));
	let t = threshold(1000, 10).unwrap();
	assert!(wins(t - 1, 1000, 10));
	assert!(!wins(t, 1000, 10));
	// No eligible worker: nothing to win, and no overflow.
	assert_eq!(threshold(0, 1), None);
	assert_eq!(min_seats(1), 1);
	assert_eq!(min_seats(2), 2, "a requester who asked for a monitor gets one");
	assert_eq!(min_seats(3), 2);
	assert_eq!(min_seats(4), 2);
	assert_eq!(min_seats(10), 5);
	// Verdicts that decide a phase: half the monitor seats, rounded up.
	assert_eq!((min_turnout(0), min_turnout(1), min_turnout(2), min_turnout(3)), (0, 1, 1, 2));
	assert_eq!(min_turnout(9), 5);
}

fn seat(i: u8, credit: Credit, draw: Draw) -> Seat<u8> {
	Seat { who: i, key: [i; 32], pre_output: [0; 32], proof: [0; 64], draw, credit }
}

#[test]
fn the_executor_has_the_highest_credit_and_ties_go_to_the_lowest_draw() {
	assert_eq!(elect::<u8>(&[]), None);
	let seats = [seat(0, 10, 5), seat(1, 30, 9), seat(2, 30, 7), seat(3, 20, 1)];
	assert_eq!(elect(&seats), Some(2));
	let seats = [seat(0, 0, 50), seat(1, 0, 40), seat(2, 0, 60)];
	assert_eq!(elect(&seats), Some(1));
}

/// A committee of `n` real claims on task 3, all winning (`target >= eligible`).
fn record(n: u32) -> SortitionRecord<u8> {
	let s = task_seed(3);
	let seats = (0..n)
		.map(|i| {
			let pair = worker(i);
			let c = sign(&pair, 3, &s, 1);
			Seat {
				who: i as u8,
				key: key(&pair),
				pre_output: c.pre_output,
				proof: c.proof,
				draw: c.draw,
				credit: 20 + i % 2 * 10,
			}
		})
		.collect::<Vec<_>>();
	let executor = elect(&seats).map(|i| seats[i].who);
	SortitionRecord {
		task: 3,
		round: 1,
		seed: s,
		eligible: n,
		target: n,
		min_credit: 20,
		seats,
		executor,
	}
}

#[test]
fn a_committee_rechecks_from_its_record_and_any_tampering_is_named() {
	let good = record(5);
	let executor = recheck(&good).unwrap().unwrap();
	assert_eq!(good.seats[executor].credit, 30);

	let mut r = good.clone();
	r.seats[2].proof = r.seats[3].proof;
	assert_eq!(recheck(&r), Err(RecheckError::BadProof { index: 2 }));
	let mut r = good.clone();
	r.seats[1].draw ^= 1;
	assert_eq!(recheck(&r), Err(RecheckError::WrongDraw { index: 1 }));
	let mut r = good.clone();
	r.seats[4].credit = 19;
	assert_eq!(recheck(&r), Err(RecheckError::Ineligible { index: 4 }));
	let mut r = good.clone();
	let first = r.seats[0].clone();
	r.seats.push(first);
	assert_eq!(recheck(&r), Err(RecheckError::Duplicate { index: 5 }));
	let mut r = good.clone();
	r.executor = Some(r.seats[(executor + 1) % 5].who);
	assert_eq!(recheck(&r), Err(RecheckError::WrongExecutor));
	// With a smaller target every seat must win against a real threshold: some do not.
	let mut r = good.clone();
	r.eligible = 1000;
	r.target = 1;
	assert!(matches!(recheck(&r), Err(RecheckError::Losing { .. })));
}

/// The draws of `workers` on `tasks` tasks: the sizes of the committees they elect, counting
/// only the workers that `eligible` admits.
fn committee_sizes(
	workers: &[(Pair, Credit)],
	tasks: u64,
	target: u32,
	min_credit: Credit,
) -> Vec<u32> {
	let n = workers.iter().filter(|(_, c)| is_eligible(*c, min_credit)).count() as u32;
	(0..tasks)
		.map(|task| {
			let s = task_seed(task);
			let mut size = 0;
			for (pair, credit) in workers {
				if !is_eligible(*credit, min_credit) {
					continue;
				}
				if wins(draw(pair, task, &s, 0), n, target) {
					size += 1;
				}
			}
			size
		})
		.collect()
}

/// Binomial(n, p) probabilities of 0..=max.
fn binomial(n: u32, p: f64, max: usize) -> Vec<f64> {
	let mut pmf = vec![(1.0 - p).powi(n as i32)];
	for j in 0..max {
		let next = pmf[j] * f64::from(n - j as u32) / (j as f64 + 1.0) * p / (1.0 - p);
		pmf.push(next);
	}
	pmf
}

#[test]
fn committee_sizes_follow_binomial_n_k_over_n() {
	const N: u32 = 1000;
	const K: u32 = 10;
	const TASKS: u64 = 200;
	let workers: Vec<_> = (0..N).map(|i| (worker(i), 0)).collect();
	let sizes = committee_sizes(&workers, TASKS, K, 0);
	let mean = sizes.iter().sum::<u32>() as f64 / TASKS as f64;
	assert!((9.0..=11.0).contains(&mean), "mean committee size {mean}");

	// Chi-square goodness of fit on bins of at least ~10 expected tasks: <=5, 6, ..., 14, >=15.
	let pmf = binomial(N, f64::from(K) / f64::from(N), 14);
	let mut expected = vec![pmf[..=5].iter().sum::<f64>()];
	expected.extend_from_slice(&pmf[6..=14]);
	expected.push(1.0 - expected.iter().sum::<f64>());
	let mut observed = vec![0u32; expected.len()];
	for s in &sizes {
		observed[(*s as usize).clamp(5, 15) - 5] += 1;
	}
	let chi2: f64 = observed
		.iter()
		.zip(&expected)
		.map(|(o, p)| {
			let e = p * TASKS as f64;
			(f64::from(*o) - e).powi(2) / e
		})
		.sum();
	// 11 bins, no parameter estimated: 10 degrees of freedom; the 1% critical value of the
	// chi-square distribution with 10 degrees of freedom is 23.209.
	eprintln!("mean committee size {mean}, chi-square {chi2:.2} (df 10), bins {observed:?}");
	assert!(chi2 < 23.209, "chi-square {chi2:.2} for observed {observed:?}");
}

#[test]
fn with_a_min_credit_only_eligible_workers_win_and_the_mean_stays_near_k() {
	const N: u32 = 1000;
	const K: u32 = 10;
	const TASKS: u64 = 100;
	const MIN: Credit = 50;
	// Credits spread over 0..=100: about half the workers are eligible.
	let workers: Vec<_> = (0..N).map(|i| (worker(i), i * 37 % 101)).collect();
	let eligible = workers.iter().filter(|(_, c)| is_eligible(*c, MIN)).count() as u32;
	assert!((400..600).contains(&eligible));
	let sizes = committee_sizes(&workers, TASKS, K, MIN);
	let mean = sizes.iter().sum::<u32>() as f64 / TASKS as f64;
	assert!((9.0..=11.0).contains(&mean), "mean committee size {mean} among {eligible}");
	eprintln!("min credit {MIN}: {eligible} eligible, mean committee size {mean}");
	// The threshold is set for the eligible count: without the eligibility gate, everyone's
	// draws against it would give about twice the seats.
	let ungated: u32 = (0..TASKS)
		.map(|task| {
			let s = task_seed(task);
			workers.iter().filter(|(p, _)| wins(draw(p, task, &s, 0), eligible, K)).count() as u32
		})
		.sum();
	assert!(ungated as f64 / TASKS as f64 > 1.5 * K as f64, "ungated mean {ungated}");
}

#[test]
fn an_activation_claim_verifies_only_as_one_for_its_newcomer() {
	let (pair, newcomer, other) = (worker(1), [7u8; 32], [8u8; 32]);
	let s = activation_seed(&newcomer, [1; 32], 0);
	let c = sign_activation(&pair, &newcomer, &s, 0);
	let check = |newcomer: &[u8; 32], round| {
		verify_activation(&key(&pair), newcomer, &s, round, &c.pre_output, &c.proof)
	};
	assert_eq!(check(&newcomer, 0), Ok(c.draw));
	assert_eq!(check(&other, 0), Err(ProofError::Invalid));
	assert_eq!(check(&newcomer, 1), Err(ProofError::Invalid));
	// Another label: a task claim on the same seed and round is no activation claim, and the
	// other way round.
	let task_claim = sign(&pair, 7, &s, 0);
	assert_eq!(
		verify_activation(&key(&pair), &newcomer, &s, 0, &task_claim.pre_output, &task_claim.proof),
		Err(ProofError::Invalid)
	);
	assert_eq!(verify(&key(&pair), 7, &s, 0, &c.pre_output, &c.proof), Err(ProofError::Invalid));
	// Seeds differ per newcomer, block and round.
	assert_ne!(activation_seed(&newcomer, [1; 32], 0), activation_seed(&other, [1; 32], 0));
	assert_ne!(activation_seed(&newcomer, [1; 32], 0), activation_seed(&newcomer, [2; 32], 0));
	assert_ne!(activation_seed(&newcomer, [1; 32], 0), activation_seed(&newcomer, [1; 32], 1));
}

/// Ten workers, three verifier seats: over 200 newcomers' first rounds (real VRF draws), a
/// round fills its seats when every winner posts in nearly every case. With a target of
/// exactly three seats a third or more of the rounds came up short, and three rounds in a row
/// expired some newcomer of the ten-worker demo.
#[test]
fn an_activation_round_among_ten_workers_almost_always_fills_its_three_seats() {
	let verifiers: Vec<Pair> = (0..10).map(worker).collect();
	let short = |target: fn(u32) -> u32| {
		(0..200u32)
			.filter(|n| {
				let newcomer = blake2_256(&(b"newcomer", n).encode());
				let s = activation_seed(&newcomer, blake2_256(&(b"block", n).encode()), 0);
				let winners = verifiers
					.iter()
					.filter(|v| {
						let claim = sign_activation(v, &newcomer, &s, 0);
						wins(claim.draw, 10, target(3))
					})
					.count();
				winners < 3
			})
			.count()
	};
	let with_target = short(activation_target);
	assert!(with_target <= 10, "{with_target} of 200 rounds short of three verifiers");
	let exactly_three = short(|k| k);
	assert!(
		exactly_three >= 50,
		"the old rule's shortfall ({exactly_three} of 200) is what this guards against"
	);
	assert!(wins_activation(Draw::MAX - 1, 6, 3), "six eligible for a target of six: all win");
}
