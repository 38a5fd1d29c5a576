//! The executors on a real dev chain: a real node, a real dockerd, swtpm TPMs and one
//! `vouch-executor run` per worker (see `vouch_tests::network`). Each test plays a task end
//! to end as the requester would and checks what every party relies on: the right answer,
//! the settlement to the unit, each duty on-chain once, and the committee catching a lie.

use std::time::Duration;

use anyhow::{anyhow, ensure, Context as _, Result};
use bollard::query_parameters::ListContainersOptionsBuilder;
use subxt_signer::sr25519::dev;
use vouch_client::{
	calls, demo, key_owner,
	reads::{self, Outcome, Status, WorkerStatus},
	requester,
	store::StoreClient,
	AccountId, Chain, SubmitError,
};
use vouch_executor::worker::api::ApiClient;
use vouch_primitives::{
	envelope,
	tpm::nonce::{quote_nonce, Measurements},
	Phase, TaskId,
};
use vouch_tests::network::{
	duplicates, event_story, events, signed_extrinsics, Network, Options, Sent, MIN_DEPOSIT,
};

const THREE: Options = Options {
	workers: 3,
	wrong_image: false,
	bogus_verifier: false,
	activation: demo::Activation::ForceAll,
};

fn text(files: &std::collections::BTreeMap<String, Vec<u8>>, name: &str) -> String {
	files.get(name).map(|b| String::from_utf8_lossy(b).trim().to_string()).unwrap_or_default()
}

/// The story's ending, checked as `vouch demo` checks it: the right answer and every
/// balance change exactly the primitives' split.
fn assert_story_ended_right(ending: &demo::Ending) {
	assert_eq!(ending.status, Outcome::Settled);
	let (words, sha) = demo::expected_output();
	assert_eq!(text(&ending.files, "words"), words, "the job's word count");
	assert_eq!(text(&ending.files, "sha256"), sha, "the job's digest of the input");
	for (who, expected, actual) in &ending.balances {
		assert_eq!(expected, actual, "{who}'s balance change");
	}
}

/// Every duty once: no extrinsic twice, none of the workers' failed, and each member's
/// duties counted.
async fn assert_each_duty_once(network: &Network, task: TaskId) -> Result<()> {
	let sent = signed_extrinsics(&network.chain).await?;
	let twice = duplicates(&sent);
	ensure!(twice.is_empty(), "submitted twice: {twice:#?}");
	let workers: Vec<Vec<u8>> =
		network.workers.iter().map(|w| [&[0u8][..], &w.account()].concat()).collect();
	let by_workers: Vec<&Sent> = sent.iter().filter(|s| workers.contains(&s.signer)).collect();
	// (A verifier's challenge can race root's force_activate of the same newcomer and fail:
	// only the task duties are counted here.)
	let failed: Vec<_> =
		by_workers.iter().filter(|s| s.failed && s.call.starts_with("Tasks.")).collect();
	ensure!(failed.is_empty(), "workers' task extrinsics that failed: {failed:#?}");

	let at = network.chain.at_finalized().await?;
	let record = network.chain.sortition(&at, task).await?.context("no sortition record")?;
	let seat = vouch_primitives::sortition::recheck(&record)
		.map_err(|e| anyhow!("{e:?}"))?
		.context("no executor")?;
	let executor = record.seats[seat].who;
	let count = |who: [u8; 32], call: &str| {
		by_workers.iter().filter(|s| s.signer[1..] == who[..] && s.call == call).count()
	};
	for s in &record.seats {
		assert_eq!(count(s.who, "Tasks.claim_seat"), 1, "{}'s claims", AccountId::from(s.who));
		if s.who == executor {
			for call in ["Tasks.attest_before", "Tasks.submit_result", "Tasks.reveal_result_keys"] {
				assert_eq!(count(executor, call), 1, "the executor's {call}");
			}
			assert_eq!(count(executor, "Tasks.submit_verdict"), 0, "the executor's verdicts");
		} else {
			// One verdict per phase.
			assert_eq!(
				count(s.who, "Tasks.submit_verdict"),
				2,
				"{}'s verdicts",
				AccountId::from(s.who)
			);
		}
	}
	Ok(())
}

#[tokio::test]
async fn three_executors_run_a_task_end_to_end_and_do_each_duty_once() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let network = Network::start(dir.path(), THREE).await?;
	let story = network.story();
	let ending = demo::run(&network.chain, &story, |step| eprintln!("==> {step}"))
		.await
		.with_context(|| network.executor_logs())?;
	assert_story_ended_right(&ending);
	assert_launch_measured_the_binary_run(&network).await?;
	assert_each_duty_once(&network, ending.task).await
}

/// What each worker's launch measured as its executor is the binary it runs, and the chain
/// holds that launch (boot PCRs and the log's replay) for it, with the build on its list.
async fn assert_launch_measured_the_binary_run(network: &Network) -> Result<()> {
	use sha2::Digest as _;
	let binary = vouch_tests::network::binary("vouch-executor", "VOUCH_EXECUTOR");
	let expected = hex::encode(sha2::Sha256::digest(std::fs::read(&binary)?));
	let at = network.chain.at_finalized().await?;
	let allowed = reads::allowed_builds(&at).await?;
	for (i, worker) in network.workers.iter().enumerate() {
		let log = network.launch_log(i)?;
		let executors: Vec<_> = log
			.entries
			.iter()
			.filter(|m| m.kind == vouch_executor::launch::Kind::Executor)
			.collect();
		assert_eq!(executors.len(), 1, "one executor measured: {log:?}");
		assert_eq!(executors[0].digest, expected, "the launch measured {}", binary.display());
		assert!(allowed.iter().any(|b| b.digest == expected && b.kind == "executor"));
		let registered = reads::worker(&at, worker.account()).await?.context("registered")?;
		assert_eq!(registered.launch_builds, log.digests()?, "the chain holds the launch");
	}
	Ok(())
}

/// The containers of `owner`'s jobs on the network's daemon.
async fn job_containers(network: &Network, owner: Option<[u8; 32]>) -> Result<usize> {
	let runner = vouch_executor::runner::Runner::connect(&network.docker.socket()).await?;
	let label = match owner {
		Some(who) => format!("vouch.owner={}", AccountId::from(who)),
		None => "vouch.job".into(),
	};
	let filters = std::collections::HashMap::from([("label", vec![label.as_str()])]);
	let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
	Ok(runner.docker().list_containers(Some(options)).await?.len())
}

/// Polls task 0 (the first task of a fresh chain) until `wanted` says yes.
async fn until_task(
	chain: &Chain,
	what: &str,
	wanted: impl Fn(&Status) -> bool,
) -> Result<reads::TaskView> {
	vouch_tests::eventually(Duration::from_secs(180), what, || async {
		let Ok(at) = chain.at_finalized().await else { return Ok(None) };
		Ok(reads::task(&at, 0).await.ok().flatten().filter(|v| wanted(&v.status)))
	})
	.await
}

#[tokio::test]
async fn an_executor_killed_mid_job_resumes_and_the_task_settles_with_no_duty_twice() -> Result<()>
{
	let dir = tempfile::tempdir()?;
	let mut network = Network::start(dir.path(), THREE).await?;
	let mut story = network.story();
	// A job long enough to be killed in the middle of.
	story.script = format!("sleep 8\n{}", demo::SCRIPT);
	let playing = tokio::spawn({
		let chain = network.chain.clone();
		async move { demo::run(&chain, &story, |step| eprintln!("==> {step}")).await }
	});

	let view =
		until_task(&network.chain, "the job to run", |s| matches!(s, Status::Running { .. }))
			.await?;
	let executor = view.status.executor().context("running without an executor")?;
	vouch_tests::eventually(Duration::from_secs(60), "the job's container", || async {
		Ok((job_containers(&network, Some(executor)).await? > 0).then_some(()))
	})
	.await?;
	tokio::time::sleep(Duration::from_secs(2)).await;
	eprintln!("==> SIGKILL to the executor {} mid-job", AccountId::from(executor));
	let worker = network.worker_mut(executor)?;
	worker.executor.kill();
	// A crash leaves its container behind, still running.
	assert_eq!(job_containers(&network, Some(executor)).await?, 1);
	tokio::time::sleep(Duration::from_secs(1)).await;
	network.worker_mut(executor)?.executor.restart()?;

	let ending = playing.await?.with_context(|| network.executor_logs())?;
	assert_story_ended_right(&ending);
	assert_each_duty_once(&network, ending.task).await?;
	let log = network.worker_mut(executor)?.executor.log_text();
	assert!(log.contains("cleaned up after an earlier run"), "the restart found the leftovers");
	assert_eq!(job_containers(&network, None).await?, 0, "a job container was left");
	Ok(())
}

#[tokio::test]
async fn the_node_restarted_under_running_executors_they_reconnect_and_carry_on() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let mut network = Network::start(dir.path(), THREE).await?;
	let mut story = network.story();
	story.script = format!("sleep 4\n{}", demo::SCRIPT);
	let playing = tokio::spawn({
		let chain = network.chain.clone();
		async move { demo::run(&chain, &story, |step| eprintln!("==> {step}")).await }
	});
	until_task(&network.chain, "an executor to be elected", |s| s.executor().is_some()).await?;
	eprintln!("==> SIGKILL to the node; restarting it on the same ports and database");
	network.node.kill();
	tokio::time::sleep(Duration::from_secs(3)).await;
	network.node.restart()?;

	let ending = playing.await?.with_context(|| network.executor_logs())?;
	assert_story_ended_right(&ending);
	// Every executor still runs and follows the restarted node to its head. (The RPC client
	// queues requests while it reconnects, so an outage this short may never surface as an
	// error: `reconnects` counts only outages the follower saw.)
	let (head, _) = network.chain.finalized().await?;
	for worker in &mut network.workers {
		worker.executor.check_alive()?;
		let worker = &*worker;
		vouch_tests::eventually(Duration::from_secs(30), "the executor at the head", || async {
			Ok((worker.metric("vouch_executor_processed_block")? >= head as f64).then_some(()))
		})
		.await
		.with_context(|| worker.seed.clone())?;
	}
	assert_each_duty_once(&network, ending.task).await
}

/// Publishes the story's lambda, posts a task on Alice's sealed input and follows it to its
/// end: the task, its final status and Alice's and Bob's balance changes.
async fn post_and_follow(network: &Network) -> Result<(TaskId, Outcome, i128, i128)> {
	let (alice, bob) = (dev::alice(), dev::bob());
	let chain = &network.chain;
	let story = network.story();
	let store = StoreClient::new(&network.store_url);
	let lambda = demo::publish(chain, &story).await?;
	let (_, public) = envelope::recipient_keypair();
	let (cid, key) = requester::seal_input(&store, demo::INPUT).await?;
	let spec = demo::task_spec(&story, lambda, cid, public);
	let free = |who: [u8; 32]| async move {
		reads::free_balance(&chain.at_finalized().await?, who).await.map(|b| b as i128)
	};
	let (alice_before, bob_before) =
		(free(alice.public_key().0).await?, free(bob.public_key().0).await?);
	let posted = chain.submit(&alice, &calls::post_task(&spec)).await?;
	let task = posted.id_from("Tasks.TaskPosted").context("no TaskPosted")?;
	let (status, _) =
		key_owner::follow_task(chain, &alice, task, &[(0, key)], story.timeout, |status, block| {
			eprintln!("==> task {task}: {status} (block {block})")
		})
		.await
		.with_context(|| network.executor_logs())?;
	let alice_change = free(alice.public_key().0).await? - alice_before + posted.fee as i128;
	Ok((task, status, alice_change, free(bob.public_key().0).await? - bob_before))
}

/// The test-only faulty executor (`--fault-wrong-image` on every worker; only the elected one
/// acts on it) attests the lambda's image and runs another. Its pinned build answers the
/// monitors' challenges with what really runs: a monitor reports that answer as the lie's
/// evidence, the chain verifies it, slashes `FaultSlash` and pays the reporter its share, and
/// the round fails (the task, of one round, ends refunded in full).
#[tokio::test]
async fn an_executor_running_another_image_is_proven_lying_by_a_monitors_challenge() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let options = Options {
		workers: 3,
		wrong_image: true,
		bogus_verifier: false,
		activation: demo::Activation::ForceAll,
	};
	let network = Network::start(dir.path(), options).await?;
	let at = network.chain.at_finalized().await?;
	let mut free_before = std::collections::HashMap::new();
	for w in &network.workers {
		free_before.insert(w.account(), reads::free_balance(&at, w.account()).await? as i128);
	}
	let (task, status, alice_change, bob_change) = post_and_follow(&network).await?;
	assert_eq!(status, Outcome::Faulted, "{}", network.executor_logs());
	// A full refund: Alice paid only the post's fee and the task's storage deposit.
	assert_eq!(alice_change, -((vouch_client::UNIT / 100) as i128), "Alice's refund");
	assert_eq!(bob_change, 0, "Bob is not paid for a run that did not happen");

	// What the chain says happened, from its events: the committee elected, one monitor's
	// report proved the executor's `Before` attestation a lie, the task faulted.
	use vouch_client::runtime::tasks::events as ev;
	let elected = events::<ev::CommitteeElected>(&network.chain).await?;
	let elected = elected.iter().find(|e| e.task == task).context("no committee elected")?;
	let executor: [u8; 32] = elected.executor.0;
	let monitors: Vec<[u8; 32]> = elected.monitors.iter().map(|(m, _)| m.0).collect();
	let proven = events::<ev::LieProven>(&network.chain).await?;
	assert_eq!(proven.len(), 1, "{}", network.executor_logs());
	let lie = &proven[0];
	assert_eq!((lie.task, lie.executor.0), (task, executor));
	assert!(monitors.contains(&lie.reporter.0), "a monitor of the round reported it");
	let fault_slash = 25 * vouch_client::UNIT;
	assert_eq!(
		(lie.slashed, lie.rewarded),
		(fault_slash, fault_slash / 2),
		"FaultSlash, half paid"
	);
	let reporter = network
		.workers
		.iter()
		.find(|w| w.account() == lie.reporter.0)
		.context("the reporter is a worker")?;
	assert!(
		reporter.executor.log_text().contains("reported the executor's lie"),
		"{}",
		network.executor_logs()
	);
	let faulted = events::<ev::TaskFaulted>(&network.chain).await?;
	assert_eq!(
		faulted.iter().find(|f| f.task == task).map(|f| f.refunded),
		Some(demo::Story::default().payment),
		"the payment refunded in full"
	);
	let at = network.chain.at_finalized().await?;
	assert!(reads::result(&at, task).await?.is_none(), "no result of the wrong image");
	// The executor: its bond down by the slash (below the minimum: no more seats), its
	// credit reset; the reporter: paid its share, less its transactions' fees.
	let view = reads::worker(&at, executor).await?.context("registered")?;
	assert_eq!(view.deposit, MIN_DEPOSIT - fault_slash);
	assert_eq!(view.status, reads::WorkerStatus::Underbonded);
	let resets = events::<vouch_client::runtime::credit::events::Reset>(&network.chain).await?;
	assert!(resets.iter().any(|r| r.who.0 == executor), "the liar's credit reset");
	let gained =
		reads::free_balance(&at, lie.reporter.0).await? as i128 - free_before[&lie.reporter.0];
	let share = (fault_slash / 2) as i128;
	assert!(gained <= share && gained > share - (vouch_client::UNIT / 10) as i128, "{gained}");
	assert!(
		network.workers.iter().any(|w| w.account() == executor
			&& w.executor.log_text().contains("FAULT: running another image")),
		"the elected executor ran the wrong image"
	);
	Ok(())
}

#[tokio::test]
async fn a_monitors_crafted_challenge_yields_nothing_report_lie_accepts() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let network = Network::start(dir.path(), THREE).await?;
	let mut story = network.story();
	story.script = format!("sleep 6\n{}", demo::SCRIPT);
	let playing = tokio::spawn({
		let chain = network.chain.clone();
		async move { demo::run(&chain, &story, |step| eprintln!("==> {step}")).await }
	});
	let view =
		until_task(&network.chain, "the job to run", |s| matches!(s, Status::Running { .. }))
			.await?;
	let executor = view.status.executor().context("no executor")?;
	let monitor = network
		.workers
		.iter()
		.find(|w| w.account() != executor && view.is_member(&w.account()))
		.context("no monitor among the workers")?;
	let at = network.chain.at_finalized().await?;
	let credit_before = reads::credit(&at, executor).await?;
	let attested =
		reads::attestation(&at, 0, Phase::Before).await?.context("no Before attestation")?;
	let endpoint = reads::worker(&at, executor).await?.context("no executor")?.endpoint;
	let api = ApiClient::new(&endpoint)?;

	// The attack: ask the executor to quote, as a challenge nonce, exactly the attestation
	// nonce of a lie (false measurements at a recent block), then present it as evidence.
	let (block, hash) = network.chain.finalized().await?;
	let block = u32::try_from(block)?;
	let lie = Measurements { code_input_hash: [0xee; 32], ..attested.measurements.clone() };
	let crafted = quote_nonce(0, view.round, Phase::Before, &hash.0, &lie);
	let answer = api.challenge(0, Phase::Before, crafted).await?;
	let attest = hex::decode(&answer.attest)?;
	let signature = hex::decode(&answer.signature)?;
	// What it answered with is the truth (its live measurements), under a challenge nonce.
	let answered = Measurements::try_from(&answer.measurements)?;
	assert_eq!(answered, attested.measurements, "the executor answers what it attested");
	let before =
		reads::free_balance(&network.chain.at_finalized().await?, monitor.account()).await?;
	// As an attestation quote, of the lie or of the truth; as a challenge answer, claiming
	// the lie (its nonce is not the one quoted) or the truth (no contradiction).
	let evidence = [
		(
			calls::attestation_evidence(calls::quote(block, &lie, &attest, &signature)),
			"QuoteWrongNonce",
		),
		(
			calls::attestation_evidence(calls::quote(block, &answered, &attest, &signature)),
			"QuoteWrongNonce",
		),
		(calls::challenge_evidence(crafted, &lie, &attest, &signature), "QuoteWrongNonce"),
		(calls::challenge_evidence(crafted, &answered, &attest, &signature), "NoContradiction"),
	];
	for (evidence, expected) in evidence {
		let report = calls::report_lie(0, Phase::Before, evidence);
		match network.chain.submit(&monitor.keypair, &report).await {
			Err(SubmitError::Dispatch { error, .. }) => {
				assert_eq!(error, format!("Tasks::{expected}"), "the crafted evidence's rejection")
			},
			other => panic!("report_lie on a crafted challenge: {other:?}"),
		}
	}
	// The attacker paid for trying: the failed reports' fees.
	let fees = before
		- reads::free_balance(&network.chain.at_finalized().await?, monitor.account()).await?;
	assert!(fees > 0, "a failed report_lie costs its fee");

	// Nothing else changed: the task settles as if no one had tried, and every party's
	// balance is the split's (the reporting monitor's less its fees).
	let mut ending = playing.await?.with_context(|| network.executor_logs())?;
	let reporter = AccountId::from(monitor.account()).to_string();
	for (who, expected, _) in &mut ending.balances {
		if who.starts_with(&reporter) {
			*expected -= fees as i128;
		}
	}
	assert_story_ended_right(&ending);
	let at = network.chain.at_finalized().await?;
	assert!(
		reads::credit(&at, executor).await? > credit_before,
		"the executor earned its credit, none lost to the crafted report"
	);
	let attestation = reads::attestation(&at, 0, Phase::Before).await?.context("kept")?;
	assert_eq!(attestation.measurements, attested.measurements);
	Ok(())
}

/// One network for two stories of credential activation, since a network costs a minute: the
/// newcomers are activated by their TPMs answering the active workers' challenges, and a
/// verifier that posts a challenge no TPM can answer (the test-only `--fault-bogus-challenge`
/// on root's bootstrapped worker, the only verifier at first) cannot block a genuine newcomer:
/// its TPM refuses it, the newcomer disputes it, the verifier's own reveal does not remake it
/// on-chain, the verifier pays and the newcomer is activated in a new round at no fee.
#[tokio::test]
async fn newcomers_are_activated_by_their_tpms_and_a_bogus_challenge_costs_its_verifier(
) -> Result<()> {
	let dir = tempfile::tempdir()?;
	let options = Options {
		workers: 3,
		wrong_image: false,
		bogus_verifier: true,
		activation: demo::Activation::Bootstrap,
	};
	let network = Network::start(dir.path(), options).await?;
	use vouch_client::runtime::registry::events as ev;
	let forced = signed_extrinsics(&network.chain).await?;
	let forced = forced.iter().filter(|s| s.call == "Sudo.sudo").count();
	// Root's two: allowing this machine's launch (`allow_launch`), activating the first worker.
	assert_eq!(forced, 2, "root allowed the builds and activated only the first worker");
	let answered = events::<ev::Activated>(&network.chain).await?;
	assert_eq!(answered.len(), 3, "three workers active");
	let posted = events::<ev::ChallengePosted>(&network.chain).await?;
	let complete = events::<ev::ChallengesComplete>(&network.chain).await?;
	let newcomers: std::collections::BTreeSet<_> = complete.iter().map(|c| c.who.0).collect();
	assert_eq!(newcomers.len(), 2, "two newcomers had every challenge posted");
	for newcomer in &newcomers {
		let verifiers: Vec<_> = posted.iter().filter(|p| p.who.0 == *newcomer).collect();
		assert!(!verifiers.is_empty(), "a newcomer activated without a challenge");
		assert!(verifiers.iter().all(|p| p.verifier.0 != *newcomer), "a newcomer verified itself");
	}
	// The challenges were answered by the TPMs, not by root: the Answer duty's log line.
	let answering = network
		.workers
		.iter()
		.filter(|w| w.executor.log_text().contains("answered every challenge: active"))
		.count();
	assert_eq!(answering, 2, "{}", network.executor_logs());

	// The bogus challenge: disputed by each newcomer whose TPM refused it (one or both,
	// depending on whether the second registered before the first was active and could
	// verify), and each dispute refuted by the verifier's own reveal; the verifier paid the
	// rejection fee of its bond for each and its credit was reset; nobody was rejected and
	// every deposit but its is whole.
	let bogus = network.workers[0].keypair.public_key().0;
	let registry = event_story(&network.chain, "Registry").await?;
	let seen = || format!("the registry's events:\n{registry}\n{}", network.executor_logs());
	let disputed = events::<ev::ChallengeDisputed>(&network.chain).await?;
	assert!(!disputed.is_empty(), "the bogus challenge was never disputed: {}", seen());
	assert!(disputed.iter().all(|d| d.verifier.0 == bogus), "{}", seen());
	let refuted = events::<ev::ChallengeRefuted>(&network.chain).await?;
	assert_eq!(refuted.len(), disputed.len(), "every dispute refuted: {}", seen());
	for refuted in &refuted {
		assert!(disputed.iter().any(|d| d.who.0 == refuted.who.0), "{}", seen());
		assert_eq!(refuted.verifier.0, bogus);
		assert!(refuted.revealed, "the verifier revealed: its reveal did not remake it");
		assert_eq!(refuted.penalty, vouch_client::UNIT, "the runtime's rejection fee");
	}
	let penalties = refuted.len() as u128 * vouch_client::UNIT;
	assert!(events::<ev::ChallengeUpheld>(&network.chain).await?.is_empty(), "{}", seen());
	assert!(events::<ev::ActivationRejected>(&network.chain).await?.is_empty(), "{}", seen());
	let slashed = events::<ev::Slashed>(&network.chain).await?;
	assert_eq!(slashed.len(), refuted.len(), "{}", seen());
	assert!(slashed.iter().all(|s| (s.who.0, s.amount) == (bogus, vouch_client::UNIT)));
	let resets = events::<vouch_client::runtime::credit::events::Reset>(&network.chain).await?;
	assert_eq!(resets.len(), refuted.len(), "each proven lie resets the verifier's credit");
	assert!(resets.iter().all(|r| r.who.0 == bogus));
	let at = network.chain.at_finalized().await?;
	for disputed in &disputed {
		let disputer = network
			.workers
			.iter()
			.find(|w| w.keypair.public_key().0 == disputed.who.0)
			.context("the disputing newcomer is a worker")?;
		assert!(disputer.executor.log_text().contains("disputing it"), "{}", seen());
	}
	for worker in &network.workers {
		let who = worker.keypair.public_key().0;
		let view = reads::worker(&at, who).await?.context("registered")?;
		assert_eq!(view.status, reads::WorkerStatus::Active);
		let expected = if who == bogus { 2 * MIN_DEPOSIT - penalties } else { MIN_DEPOSIT };
		assert_eq!(view.deposit, expected, "{}", vouch_client::AccountId::from(who));
	}
	// And the network works: a task settles with the workers so activated.
	let ending = demo::run(&network.chain, &network.story(), |step| eprintln!("==> {step}"))
		.await
		.with_context(|| network.executor_logs())?;
	assert_story_ended_right(&ending);
	Ok(())
}

#[tokio::test]
async fn a_software_ak_behind_a_real_ek_certificate_never_answers_and_is_rejected() -> Result<()> {
	use subxt_signer::{sr25519::Keypair, SecretUri};
	use vouch_client::runtime::registry::events as ev;
	let dir = tempfile::tempdir()?;
	let network = Network::start(dir.path(), THREE).await?;
	let chain = &network.chain;
	// The victim: a TPM whose EK certificate is public (anyone who saw it can copy it).
	let victim = vouch_tests::tpm::WorkerTpm::start(&dir.path().join("victim")).await?;
	let id = victim.tpm.identity().await?;
	let issuer = vouch_executor::swtpm::test_ca_issuer()?;
	// The squatter: its own account, the victim's EK certificate and EK, a software AK.
	let mallory = Keypair::from_uri(&"//Mallory".parse::<SecretUri>()?)?;
	chain
		.submit(&dev::alice(), &calls::transfer(mallory.public_key().0, 1_000 * vouch_client::UNIT))
		.await?;
	// The victim's worker tests in a test launch; root allows it, as for any real build.
	chain.submit(&dev::alice(), &vouch_tests::tpm::allow_test_launch()).await?;
	let launch = (victim.boot_pcrs().await?, victim.launch_log.clone());
	let forged = vouch_tests::software_ak::evidence(
		&id,
		issuer.clone(),
		launch.clone(),
		mallory.public_key().0,
		b"mallory",
	)?;
	let deposit = 100 * vouch_client::UNIT;
	// Every check of submitted bytes passes: it registers.
	chain.submit(&mallory, &calls::register(&forged, "http://127.0.0.1:9", deposit)).await?;
	let at = chain.at_finalized().await?;
	assert_eq!(
		reads::worker(&at, mallory.public_key().0).await?.map(|w| w.status),
		Some(WorkerStatus::Pending)
	);

	// The executors challenge it; it cannot answer; at the deadline it is rejected.
	let who = mallory.public_key().0;
	let rejected =
		vouch_tests::eventually(Duration::from_secs(240), "the squatter's rejection", || async {
			Ok(events::<ev::ActivationRejected>(chain).await?.into_iter().find(|e| e.who.0 == who))
		})
		.await?;
	assert_eq!(rejected.fee, vouch_client::UNIT, "the rejection fee is burnt");
	assert_eq!(rejected.released, deposit - vouch_client::UNIT, "the rest released");
	let posted = events::<ev::ChallengePosted>(chain).await?;
	let challengers = posted.iter().filter(|p| p.who.0 == who).count();
	assert_eq!(challengers, 3, "every active worker challenged it");
	let at = chain.at_finalized().await?;
	assert_eq!(reads::worker(&at, who).await?.map(|w| w.status), Some(WorkerStatus::Removed));

	// The TPM was never bound to the squatter: its owner registers it.
	let owner = Keypair::from_uri(&"//Ferdie".parse::<SecretUri>()?)?;
	let nonce = vouch_primitives::tpm::nonce::registration_nonce(&owner.public_key().0);
	let certified = victim.tpm.certify_sealing_key(nonce.to_vec()).await?;
	let genuine = calls::EvidenceSpec {
		ek_cert: id.ek_cert.clone(),
		intermediates: vec![issuer],
		ek_public: id.ek_public.clone(),
		ak_public: id.ak_public.clone(),
		sealing_public: id.sealing_public.clone(),
		certify_attest: certified.attest,
		certify_signature: certified.signature,
		boot_pcrs: launch.0,
		launch_log: launch.1,
	};
	chain.submit(&owner, &calls::register(&genuine, "http://127.0.0.1:9", deposit)).await?;
	let at = chain.at_finalized().await?;
	assert_eq!(
		reads::worker(&at, owner.public_key().0).await?.map(|w| w.status),
		Some(WorkerStatus::Pending)
	);
	Ok(())
}

/// An activation that expires is no fault of the newcomer's: here its only possible verifier
/// is down for every round. Its executor sees `ActivationExpired`, registers again, and once
/// the verifier is back its TPM answers the challenge: `Active`, with its deposit held once.
#[tokio::test]
async fn an_expired_activation_registers_again_and_the_newcomer_then_activates() -> Result<()> {
	use vouch_client::runtime::registry::events::{ActivationExpired, Registered};
	let dir = tempfile::tempdir()?;
	let one = Options {
		workers: 1,
		wrong_image: false,
		bogus_verifier: false,
		activation: demo::Activation::ForceAll,
	};
	let mut network = Network::start(dir.path(), one).await?;
	network.workers[0].executor.terminate(Duration::from_secs(30));
	network.add_worker(1, true).await?;
	let newcomer = network.workers[1].account();
	let expired = |e: &ActivationExpired| e.who.0 == newcomer;
	let deadline = std::time::Instant::now() + Duration::from_secs(300);
	while !events::<ActivationExpired>(&network.chain).await?.iter().any(expired) {
		ensure!(std::time::Instant::now() < deadline, "no expiry: {}", network.executor_logs());
		tokio::time::sleep(Duration::from_secs(2)).await;
	}
	network.workers[0].executor.restart()?;
	let mut status = None;
	while std::time::Instant::now() < deadline {
		let at = network.chain.at_finalized().await?;
		status = reads::worker(&at, newcomer).await?.map(|w| w.status);
		if status == Some(WorkerStatus::Active) {
			break;
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	assert_eq!(status, Some(WorkerStatus::Active), "{}", network.executor_logs());
	let registered: Vec<_> = events::<Registered>(&network.chain)
		.await?
		.into_iter()
		.filter(|e| e.who.0 == newcomer)
		.collect();
	assert_eq!(registered.len(), 2, "registered, expired, registered again");
	let at = network.chain.at_finalized().await?;
	let free = reads::free_balance(&at, newcomer).await?;
	let unit = vouch_client::UNIT;
	// The first deposit came back at the expiry, the second is held: 100 VOUCH and fees.
	assert!(
		free > 1_000_000 * unit - 101 * unit && free < 1_000_000 * unit - 100 * unit,
		"one deposit held, the expired one released: free {free}"
	);
	Ok(())
}
