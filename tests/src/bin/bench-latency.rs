//! Post-to-settled latency of a trivial job on a dev chain, with the executors of
//! `vouch_tests::network`: for each committee size, `RUNS` tasks one after another; prints the
//! median of the whole and of each phase (seconds and blocks), the executor's own job time
//! (its `job_seconds` metric: create, start, wait and remove of the container) and the
//! executors' resident memory idle and during the runs. `scripts/bench-latency.sh` runs it.
//!
//! Usage: `bench-latency [RUNS] [COMMITTEE...]` (defaults: 10 runs, committees 3 and 10).
//! `VOUCH_BENCH_CLAIM_WINDOW` sets the task's claim window in blocks (default 10); the dev
//! node's `VOUCH_SEALING` and `VOUCH_BLOCK_TIME` reach it through the environment.

use std::{
	collections::BTreeMap,
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc,
	},
	time::Duration,
};

use anyhow::{ensure, Context as _, Result};
use vouch_client::demo;
use vouch_tests::network::{Network, Options};

/// The task's statuses in order, with the phase each one's time is spent in.
const PHASES: &[(&str, &str)] = &[
	("Posted", "until sortition opens"),
	("Sortition", "sortition window (claims)"),
	("Elected", "executor prepares + attests Before"),
	("Attesting(Before)", "monitors' Before verdicts"),
	("KeyRelease", "key release"),
	("Running", "unseal, run, store, attest After"),
	("Attesting(After)", "monitors' After verdicts"),
	("Revealing", "result keys revealed (settles)"),
];

fn median(values: &mut [f64]) -> f64 {
	values.sort_by(|a, b| a.total_cmp(b));
	match values.len() {
		0 => f64::NAN,
		n if n % 2 == 1 => values[n / 2],
		n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
	}
}

async fn bench(committee: usize, runs: usize) -> Result<()> {
	let dir = tempfile::tempdir()?;
	eprintln!("==> committee {committee}: starting the dev chain, dockerd and {committee} workers");
	let network = Network::start(
		dir.path(),
		Options {
			workers: committee,
			wrong_image: false,
			bogus_verifier: false,
			activation: demo::Activation::ForceAll,
		},
	)
	.await?;
	tokio::time::sleep(Duration::from_secs(5)).await;
	let idle: Vec<u64> = network.workers.iter().map(|w| w.rss_kib()).collect::<Result<_>>()?;

	// Peak RSS during the runs, sampled every 100 ms from /proc.
	let pids: Vec<u32> = network.workers.iter().filter_map(|w| w.executor.pid()).collect();
	let peak = Arc::new(AtomicU64::new(0));
	let sampling = Arc::new(AtomicBool::new(true));
	let sampler = std::thread::spawn({
		let (peak, sampling) = (peak.clone(), sampling.clone());
		move || {
			while sampling.load(Ordering::Relaxed) {
				for pid in &pids {
					let status =
						std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
					let rss = status
						.lines()
						.find_map(|l| l.strip_prefix("VmRSS:"))
						.and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
						.unwrap_or(0);
					peak.fetch_max(rss, Ordering::Relaxed);
				}
				std::thread::sleep(Duration::from_millis(100));
			}
		}
	});

	let mut story = network.story();
	story.committee = committee as u32;
	// The claim window (blocks) is the requester's choice; the chain's floor is 2.
	if let Some(window) = std::env::var("VOUCH_BENCH_CLAIM_WINDOW").ok() {
		story.deadlines[0] = window.parse().context("VOUCH_BENCH_CLAIM_WINDOW is blocks")?;
	}
	println!(
		"committee {committee}: claim window {} blocks, dev sealing {} every {} ms",
		story.deadlines[0],
		std::env::var("VOUCH_SEALING").unwrap_or_else(|_| "hybrid".into()),
		std::env::var("VOUCH_BLOCK_TIME").unwrap_or_else(|_| "3000".into())
	);
	let mut totals = Vec::new();
	let mut phases: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
	let mut job_times = Vec::new();
	for run in 0..runs {
		let job_before: f64 = network
			.workers
			.iter()
			.map(|w| w.metric("vouch_executor_job_seconds_sum"))
			.sum::<Result<f64>>()?;
		let ending = demo::run(&network.chain, &story, |_| {})
			.await
			.with_context(|| network.executor_logs())?;
		ensure!(ending.balances.iter().all(|(_, e, a)| e == a), "the settlement is off");
		let steps = &ending.timeline.steps;
		let total = ending.post_seconds + steps.last().map(|s| s.2).unwrap_or_default();
		for pair in steps.windows(2) {
			let entry = phases.entry(phase_label(&pair[0].0)).or_default();
			entry.0.push(pair[1].2 - pair[0].2);
			entry.1.push((pair[1].1 - pair[0].1) as f64);
		}
		let job_after: f64 = network
			.workers
			.iter()
			.map(|w| w.metric("vouch_executor_job_seconds_sum"))
			.sum::<Result<f64>>()?;
		job_times.push(job_after - job_before);
		totals.push(total);
		eprintln!(
			"    run {}: task {} settled, {total:.1} s after its post was sent (post finalized in {:.1} s)",
			run + 1,
			ending.task,
			ending.post_seconds
		);
	}
	sampling.store(false, Ordering::Relaxed);
	let _ = sampler.join();

	println!("committee {committee}, {runs} runs (median):");
	println!("  post to settled: {:.2} s", median(&mut totals));
	for (status, label) in PHASES {
		let label = label.to_string();
		if let Some((secs, blocks)) = phases.get_mut(phase_label(status)) {
			println!(
				"  {:<42} {:>6.2} s {:>5.1} blocks",
				format!("{status}: {label}"),
				median(secs),
				median(blocks)
			);
		}
	}
	println!(
		"  the executor's job run (container create to remove): {:.3} s",
		median(&mut job_times)
	);
	let idle_max = idle.iter().max().copied().unwrap_or(0);
	println!(
		"  executor RSS: idle {:.1} MiB (max of {}), peak during the runs {:.1} MiB",
		idle_max as f64 / 1024.0,
		idle.len(),
		peak.load(Ordering::Relaxed) as f64 / 1024.0
	);
	Ok(())
}

fn phase_label(status: &str) -> &'static str {
	PHASES.iter().find(|(s, _)| *s == status).map(|(s, _)| *s).unwrap_or("other")
}

#[tokio::main]
async fn main() -> Result<()> {
	let mut args = std::env::args().skip(1);
	let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
	let committees: Vec<usize> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
	let committees = if committees.is_empty() { vec![3, 10] } else { committees };
	for committee in committees {
		bench(committee, runs).await?;
	}
	Ok(())
}
