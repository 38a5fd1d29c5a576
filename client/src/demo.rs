//! The dev chain's end-to-end story, driven as its users would: sudo activates the workers
//! that registered (the stand-in for credential activation), Bob publishes a busybox job,
//! Alice seals her input, posts a task and releases her key to the elected executor once its
//! sandbox is confirmed; the executors do the rest. Alice then opens the result, and every
//! party's balance change is checked against the primitives' split to the unit.

use std::time::Duration;

use anyhow::{anyhow, ensure, Result};
use sha2::{Digest, Sha256};
use subxt_signer::sr25519::{dev, Keypair};
use vouch_primitives::{envelope, settlement::SplitRates, sortition, TaskId};

use crate::{
	archive, calls, key_owner,
	reads::{self, Outcome, WorkerStatus},
	requester,
	store::StoreClient,
	Chain, UNIT,
};

/// What the job computes of Alice's input: its word count and its SHA-256.
pub const SCRIPT: &str = "set -eu\nwc -w < /inputs/0 | tr -d ' ' > /output/words\n\
                          sha256sum /inputs/0 | cut -d' ' -f1 > /output/sha256\n";

/// Alice's private input.
pub const INPUT: &[u8] = b"Alice's private data: the numbers only she knows, 4 8 15 16 23 42\n";

/// What the story takes.
pub struct Story {
	/// The image tarball (`vouch-executor image build-busybox`) and its ID.
	pub image: (std::path::PathBuf, [u8; 32]),
	/// The store everyone uploads to and fetches from.
	pub store: String,
	/// Bob's job: a shell script run on the input (`/inputs/0`), writing `/output`.
	pub script: String,
	/// Committee size.
	pub committee: u32,
	/// The payment, in units.
	pub payment: u128,
	/// Bob's price, in units.
	pub price: u128,
	/// Blocks per phase.
	pub deadlines: [u32; 5],
	/// How long to wait for the task to end.
	pub timeout: Duration,
}

impl Default for Story {
	fn default() -> Self {
		Self {
			image: (Default::default(), [0; 32]),
			store: "http://127.0.0.1:8700".into(),
			script: SCRIPT.into(),
			committee: 3,
			payment: 10 * UNIT,
			price: 3 * UNIT,
			deadlines: [10, 40, 40, 60, 40],
			timeout: Duration::from_secs(300),
		}
	}
}

/// How the story ended.
#[derive(Debug)]
pub struct Ending {
	/// The task.
	pub task: TaskId,
	/// How it ended.
	pub status: Outcome,
	/// The output files Alice opened.
	pub files: std::collections::BTreeMap<String, Vec<u8>>,
	/// How long the post took to be finalized, in seconds (the timeline starts after it).
	pub post_seconds: f64,
	/// What each status was first seen at.
	pub timeline: key_owner::Timeline,
	/// `(who, expected change, actual change)` of every party, in units.
	pub balances: Vec<(String, i128, i128)>,
}

/// How the registered workers become active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
	/// Root bootstraps the first one (`force_activate`: nobody can verify it); the others
	/// are activated by credential activation, their TPMs answering the active workers'
	/// challenges.
	Bootstrap,
	/// Root activates every one (`force_activate`): fast, for tests of other things.
	ForceAll,
}

/// Waits until at least `count` workers are active (or `timeout` passes), `sudo` (Alice on
/// the dev chain) forcing the activations `how` says.
pub async fn activate_workers(
	chain: &Chain,
	sudo: &Keypair,
	count: usize,
	how: Activation,
	timeout: Duration,
	mut progress: impl FnMut(&str),
) -> Result<()> {
	let started = tokio::time::Instant::now();
	let mut last = usize::MAX;
	loop {
		let at = chain.at_finalized().await?;
		let workers = reads::workers(&at).await?;
		let active = workers.iter().filter(|(_, w)| w.status == WorkerStatus::Active).count();
		if active != last {
			if active > 0 {
				progress(&format!("{active} of {count} workers active"));
			}
			last = active;
		}
		if active >= count {
			return Ok(());
		}
		let pending = workers.iter().filter(|(_, w)| w.status == WorkerStatus::Pending);
		for (n, (who, _)) in pending.enumerate() {
			if how == Activation::ForceAll || (active == 0 && n == 0) {
				chain.submit(sudo, &calls::sudo_force_activate(*who)).await?;
				let who = crate::AccountId::from(*who);
				if how == Activation::Bootstrap {
					progress(&format!("root bootstraps {who} (no worker is active to verify it); the others are verified by their TPMs answering challenges"));
				}
				tracing::info!(worker = %who, "activated by root (force_activate)");
			}
		}
		ensure!(
			started.elapsed() < timeout,
			"only {active} of {count} workers are active after {timeout:?}: are the executors running?"
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

async fn free(chain: &Chain, who: [u8; 32]) -> Result<u128> {
	reads::free_balance(&chain.at_finalized().await?, who).await
}

/// Bob publishes the story's job (its image, its script, its price): the lambda's id.
pub async fn publish(chain: &Chain, story: &Story) -> Result<u64> {
	let code = archive::pack(&[("main.sh", story.script.as_bytes())])?;
	let manifest = calls::ManifestSpec {
		entrypoint: "/bin/sh".into(),
		args: vec!["/code/main.sh".into()],
		env: vec![],
		cpu_millicores: 1000,
		memory_mib: 128,
		time_limit_secs: 60,
		max_output_bytes: 1 << 20,
	};
	requester::publish_lambda(
		chain,
		&dev::bob(),
		&StoreClient::new(&story.store),
		&story.image.0,
		story.image.1,
		code,
		None,
		&manifest,
		story.price,
	)
	.await
	.map(|(id, _)| id)
}

/// Alice's task on `lambda`: her input at `input_cid`, the result sealed to `recipient` (an
/// X25519 public key), the story's committee, deadlines and payment.
pub fn task_spec(
	story: &Story,
	lambda: u64,
	input_cid: String,
	recipient: [u8; 32],
) -> calls::TaskSpec {
	let alice = dev::alice().public_key().0;
	calls::TaskSpec {
		lambda,
		inputs: vec![calls::InputSpec { cid: input_cid, owner: alice }],
		recipients: vec![(alice, recipient)],
		min_credit: 0,
		committee_size: story.committee,
		max_rounds: 1,
		deadlines: story.deadlines,
		network_none: true,
		payment: story.payment,
	}
}

/// Runs the story: Bob's lambda, Alice's task, the executors' work, Alice's result.
/// `progress` is told of each step.
pub async fn run(chain: &Chain, story: &Story, mut progress: impl FnMut(&str)) -> Result<Ending> {
	let (alice, bob) = (dev::alice(), dev::bob());
	let store = StoreClient::new(&story.store);

	progress("Bob publishes his job: a busybox image and a script, 3 VOUCH a run");
	let lambda = publish(chain, story).await?;

	progress("Alice seals her input and posts the task");
	let (secret, public) = envelope::recipient_keypair();
	let (input_cid, input_key) = requester::seal_input(&store, INPUT).await?;
	let spec = task_spec(story, lambda, input_cid, public);
	let alice_before = free(chain, alice.public_key().0).await?;
	let bob_before = free(chain, bob.public_key().0).await?;
	let mut workers_before = Vec::new();
	for (who, _) in reads::workers(&chain.at_finalized().await?).await? {
		workers_before.push((who, free(chain, who).await?));
	}
	let posting = std::time::Instant::now();
	let posted = chain.submit(&alice, &calls::post_task(&spec)).await?;
	let post_seconds = posting.elapsed().as_secs_f64();
	let task = posted.id_from("Tasks.TaskPosted").ok_or_else(|| anyhow!("no TaskPosted event"))?;
	progress(&format!("task {task} posted: 10 VOUCH held in escrow"));

	let (status, timeline) = key_owner::follow_task(
		chain,
		&alice,
		task,
		&[(0, input_key)],
		story.timeout,
		|status, block| progress(&format!("task {task}: {status} (block {block})")),
	)
	.await?;
	ensure!(status == Outcome::Settled, "task {task} ended {status}, not Settled");

	let archive = requester::open_result(chain, &store, task, 0, &secret).await?;
	let files = archive::files(&archive)?;

	// The settlement, to the unit: the primitives' split of this payment and price among this
	// committee, against each party's balance change (duties are free; Alice paid the post's
	// fee and the task's storage deposit, held until the task is reaped).
	let at = chain.at_finalized().await?;
	let record = chain.sortition(&at, task).await?.ok_or_else(|| anyhow!("no sortition record"))?;
	let executor_seat = sortition::recheck(&record)
		.map_err(|e| anyhow!("the committee does not re-check: {e:?}"))?
		.ok_or_else(|| anyhow!("no executor"))?;
	let executor = record.seats[executor_seat].who;
	let monitors = record.seats.len() as u32 - 1;
	let payout = SplitRates::STANDARD
		.split(story.payment, story.price, monitors, monitors)
		.map_err(|e| anyhow!("the split: {e:?}"))?;
	let deposit = UNIT / 100;
	let mut balances = vec![
		(
			"Alice (requester)".to_string(),
			-((story.payment + deposit + posted.fee) as i128),
			free(chain, alice.public_key().0).await? as i128 - alice_before as i128,
		),
		(
			"Bob (developer)".to_string(),
			payout.developer as i128,
			free(chain, bob.public_key().0).await? as i128 - bob_before as i128,
		),
	];
	for (who, before) in workers_before {
		let now = free(chain, who).await? as i128;
		let expected = if who == executor {
			payout.executor as i128
		} else if record.seats.iter().any(|s| s.who == who) {
			payout.per_monitor as i128
		} else {
			0
		};
		let role = if who == executor {
			"executor"
		} else if expected > 0 {
			"monitor"
		} else {
			"not drawn"
		};
		balances.push((
			format!("{} ({role})", crate::AccountId::from(who)),
			expected,
			now - before as i128,
		));
	}
	Ok(Ending { task, status, files, post_seconds, timeline, balances })
}

/// What the job's output must be for [`INPUT`].
pub fn expected_output() -> (String, String) {
	let words = String::from_utf8_lossy(INPUT).split_whitespace().count().to_string();
	(words, hex(&Sha256::digest(INPUT)))
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}
