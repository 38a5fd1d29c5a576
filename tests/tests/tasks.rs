//! Alice posts a task on the dev chain by extrinsic: the payment is held in escrow, workers
//! (each with its own swtpm, registered with real TPM evidence that the runtime verifies, then
//! approved by sudo) claim seats with real sr25519 VRF proofs that the runtime verifies, the
//! committee is elected when the claim window closes and re-checked from the `TasksApi`
//! runtime API by the primitives crate; the executor attests with real TPM quotes; a second
//! task is cancelled and refunded to the unit; the seeds' example settles to the unit; a lie
//! is proven by the executor's own TPM.

use std::time::Duration;

use anyhow::{anyhow, Result};
use subxt::{
	dynamic::{self, Value},
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::{dev, Keypair};
use vouch_primitives::{
	sandbox::{JobLimits, SandboxPolicy},
	tpm::nonce::{code_input_hash, Measurements},
	Phase,
};
use vouch_tests::{
	chain::{self, total_issuance, AccountData},
	rpc::Rpc,
	sortition::{self, await_election},
	tpm::{self, WorkerTpm},
	Node,
};

const UNIT: u128 = 1_000_000_000_000;
/// The runtime's storage deposit per task, held until its records are reaped.
const TASK_DEPOSIT: u128 = UNIT / 100;

async fn account(api: &OnlineClient<PolkadotConfig>, who: &Keypair) -> Result<AccountData> {
	chain::account(api, who.public_key().0).await
}

/// Submits `call` from `signer`, waits until it is finalized and succeeded, and returns the
/// names of the events it emitted and the fee it paid.
async fn submit(
	api: &OnlineClient<PolkadotConfig>,
	signer: &Keypair,
	call: impl subxt::transactions::Payload,
) -> Result<(Vec<String>, u128)> {
	let events = api
		.at_current_block()
		.await?
		.transactions()
		.sign_and_submit_then_watch_default(&call, signer)
		.await?
		.wait_for_finalized_success()
		.await?;
	let mut names = Vec::new();
	let mut fee = 0;
	for event in events.iter() {
		let event = event?;
		if event.pallet_name() == "TransactionPayment" && event.event_name() == "TransactionFeePaid"
		{
			let (_, actual, _) = <([u8; 32], u128, u128) as subxt::ext::codec::Decode>::decode(
				&mut event.field_bytes(),
			)?;
			fee = actual;
		}
		names.push(format!("{}.{}", event.pallet_name(), event.event_name()));
	}
	Ok((names, fee))
}

fn bytes(s: &str) -> Value {
	Value::from_bytes(s)
}

/// The result key the executor seals to Alice, and commits to in its `After` quote.
const SEALED_TO_ALICE: &[u8] = b"sealed-to-alice";

/// The lambda's image digest, as `publish_lambda` publishes it.
const IMAGE: [u8; 32] = [7; 32];

/// What an honest executor measures of the tasks `post_task` posts: the image, the code and
/// the input, its sandbox, and after the run its result and exit status.
fn measured(phase: Phase, result: &[u8]) -> Measurements {
	let after = phase == Phase::After;
	Measurements {
		image_id: IMAGE,
		code_input_hash: code_input_hash(b"bafycode", &[b"bafyinput"]),
		sandbox_policy_hash: sandbox_policy().hash(),
		result_hash: after.then(|| sha256(result)),
		keys_commitment: after
			.then(|| vouch_primitives::result_keys_commitment(&[SEALED_TO_ALICE])),
		exit_status: after.then_some(0),
	}
}

/// The sandbox the chain expects for the tasks `post_task` posts: the limits `publish_lambda`
/// publishes, with no network.
fn sandbox_policy() -> SandboxPolicy {
	let limits = JobLimits {
		cpu_millicores: 1000,
		memory_mib: 256,
		time_limit_secs: 60,
		max_output_bytes: 1 << 20,
	};
	SandboxPolicy::for_task(&limits, true)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
	polkadot_sdk::sp_crypto_hashing::sha2_256(bytes)
}

/// `Registry.register` for `who` with its TPM's evidence, bonding 100 VOUCH.
async fn register(tpm: &WorkerTpm, who: &Keypair) -> Result<impl subxt::transactions::Payload> {
	let evidence = tpm.evidence(who.public_key().0).await?;
	Ok(dynamic::transaction(
		"Registry",
		"register",
		(evidence, bytes("http://127.0.0.1:8700"), Value::u128(100 * UNIT)),
	))
}

/// Sudo's `Registry.force_activate` of `who` (signed by Alice, the dev chain's sudo): it stands in
/// for credential activation.
fn approve(who: &Keypair) -> impl subxt::transactions::Payload {
	let call = Value::unnamed_variant(
		"Registry",
		[Value::named_variant("force_activate", [("who", Value::from_bytes(who.public_key().0))])],
	);
	dynamic::transaction("Sudo", "sudo", (call,))
}

fn publish_lambda() -> impl subxt::transactions::Payload {
	dynamic::transaction(
		"Lambdas",
		"publish",
		(
			bytes("bafycode"),
			Value::from_bytes(IMAGE),
			bytes("bafyimage"),
			Value::named_composite([
				("entrypoint", bytes("/bin/job")),
				("args", Value::unnamed_composite([])),
				("env", Value::unnamed_composite([])),
				("cpu_millicores", Value::u128(1000)),
				("memory_mib", Value::u128(256)),
				("time_limit_secs", Value::u128(60)),
				("max_output_bytes", Value::u128(1 << 20)),
			]),
			Value::u128(3 * UNIT),
			Value::bool(false),
		),
	)
}

/// A task for `committee_size` members whose claim window lasts `window` blocks.
fn post_task(
	requester: &Keypair,
	committee_size: u128,
	window: u128,
) -> impl subxt::transactions::Payload {
	post_task_to(requester, committee_size, window, [9; 32])
}

/// [`post_task`] with the requester's result sealed to the X25519 key `x25519`.
fn post_task_to(
	requester: &Keypair,
	committee_size: u128,
	window: u128,
	x25519: [u8; 32],
) -> impl subxt::transactions::Payload {
	let account = Value::from_bytes(requester.public_key().0);
	dynamic::transaction(
		"Tasks",
		"post_task",
		(
			Value::u128(0),
			Value::unnamed_composite([Value::named_composite([
				("cid", bytes("bafyinput")),
				("owner", account.clone()),
			])]),
			Value::unnamed_composite([Value::named_composite([
				("who", account),
				("x25519", Value::from_bytes(x25519)),
			])]),
			Value::named_composite([
				("min_credit", Value::u128(0)),
				("committee_size", Value::u128(committee_size)),
				("max_rounds", Value::u128(1)),
				(
					"deadlines",
					Value::named_composite([
						("sortition", Value::u128(window)),
						("attestation", Value::u128(100)),
						("key_release", Value::u128(100)),
						("run", Value::u128(100)),
						("verdicts", Value::u128(100)),
					]),
				),
				("network_none", Value::bool(true)),
				("wipe", Value::bool(true)),
			]),
			Value::u128(10 * UNIT),
		),
	)
}

#[tokio::test]
async fn alice_posts_a_task_its_payment_is_escrowed_and_a_worker_is_elected() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let node = Node::start("dev", dir.path(), &["--dev", "--tmp"])?;
	let api = node.client(Duration::from_secs(120)).await?;
	let (alice, bob, charlie) = (dev::alice(), dev::bob(), dev::charlie());

	submit(&api, &bob, publish_lambda()).await?;
	submit(&api, &alice, vouch_tests::tpm::allow_test_launch()).await?;

	// Charlie becomes a worker: registers with his swtpm's evidence, which the runtime verifies
	// (EK chain to the test CA the dev chain trusts, AK, sealing key, certification for his
	// account); Bob cannot register Charlie's TPM as his own. Sudo then stands in for
	// credential activation.
	let charlie_tpm = WorkerTpm::start(&dir.path().join("charlie-tpm")).await?;
	let stolen = charlie_tpm.evidence(charlie.public_key().0).await?;
	let refused = submit(
		&api,
		&bob,
		dynamic::transaction(
			"Registry",
			"register",
			(stolen, bytes("http://127.0.0.1:8700"), Value::u128(100 * UNIT)),
		),
	)
	.await
	.err()
	.ok_or_else(|| anyhow!("Bob registered Charlie's TPM"))?;
	assert!(refused.to_string().contains("CertificationWrongNonce"), "{refused}");
	let (events, _) = submit(&api, &charlie, register(&charlie_tpm, &charlie).await?).await?;
	assert!(events.contains(&"Registry.Registered".to_owned()), "{events:?}");
	let (events, _) = submit(&api, &alice, approve(&charlie)).await?;
	assert!(events.contains(&"Registry.Activated".to_owned()), "{events:?}");

	// Alice posts: 10 VOUCH leave her free balance into escrow, plus the fee.
	let before = account(&api, &alice).await?;
	let (events, fee) = submit(&api, &alice, post_task(&alice, 1, 5)).await?;
	assert!(events.contains(&"Tasks.TaskPosted".to_owned()), "{events:?}");
	let after = account(&api, &alice).await?;
	assert_eq!(
		after.reserved,
		before.reserved + 10 * UNIT + TASK_DEPOSIT,
		"the payment is held, and the task's storage deposit"
	);
	assert_eq!(after.free, before.free - 10 * UNIT - TASK_DEPOSIT - fee);

	// Round 0 starts in the next block, seeded by the hash of the block Alice posted in.
	// Charlie, the only eligible worker, wins the only seat with a VRF proof the runtime
	// verifies; a proof for another round is refused. When the window closes he is elected.
	let rpc = Rpc::connect(&node.ws_url()).await?;
	rpc.create_block().await?;
	let record = sortition::record(&rpc, 0).await?;
	assert_eq!((record.round, record.eligible, record.target), (0, 1, 1));
	let charlie_pair = sortition::pair("//Charlie")?;
	let mut stale = record.clone();
	stale.round = 1;
	let refused = submit(&api, &charlie, sortition::claim_seat(&charlie_pair, &stale))
		.await
		.err()
		.ok_or_else(|| anyhow!("a claim for another round succeeded"))?;
	assert!(refused.to_string().contains("WrongRound"), "{refused}");
	let (events, _) = submit(&api, &charlie, sortition::claim_seat(&charlie_pair, &record)).await?;
	assert!(events.contains(&"Tasks.SeatTaken".to_owned()), "{events:?}");
	let (elected, executor) = await_election(&rpc, 0).await?;
	assert_eq!(elected.seats[executor].who, charlie.public_key().0);

	// Charlie attests his sandbox with a quote from his TPM: one claiming another image is
	// refused, the honest one verifies on-chain (a committee of one: confirmed at once).
	let attest = |quote| dynamic::transaction("Tasks", "attest_before", (Value::u128(0), quote));
	let wrong_image = Measurements { image_id: [8; 32], ..measured(Phase::Before, b"") };
	let quote =
		charlie_tpm.quote((0, 0), Phase::Before, rpc.best_block().await?, &wrong_image).await?;
	let refused = submit(&api, &charlie, attest(quote))
		.await
		.err()
		.ok_or_else(|| anyhow!("a quote of another image was accepted"))?;
	assert!(refused.to_string().contains("ImageMismatch"), "{refused}");
	let honest = measured(Phase::Before, b"");
	let quote = charlie_tpm.quote((0, 0), Phase::Before, rpc.best_block().await?, &honest).await?;
	let (events, _) = submit(&api, &charlie, attest(quote)).await?;
	assert!(events.contains(&"Tasks.SandboxAttested".to_owned()), "{events:?}");
	assert!(events.contains(&"Tasks.PhaseConfirmed".to_owned()), "{events:?}");

	// A second task is cancelled before any claim: the payment comes back to the unit.
	let before = account(&api, &alice).await?;
	let (_, post_fee) = submit(&api, &alice, post_task(&alice, 3, 5)).await?;
	let (events, cancel_fee) =
		submit(&api, &alice, dynamic::transaction("Tasks", "cancel_task", (Value::u128(1),)))
			.await?;
	assert!(events.contains(&"Tasks.TaskCancelled".to_owned()), "{events:?}");
	let after = account(&api, &alice).await?;
	// The storage deposit stays until the cancelled task is reaped, a day later.
	assert_eq!(after.reserved, before.reserved + TASK_DEPOSIT);
	assert_eq!(after.free, before.free - TASK_DEPOSIT - post_fee - cancel_fee);

	// Cancelling an elected task is refused with the pallet's error.
	let refused =
		submit(&api, &alice, dynamic::transaction("Tasks", "cancel_task", (Value::u128(0),)))
			.await
			.err()
			.ok_or_else(|| anyhow!("cancelling an elected task succeeded"))?;
	assert!(refused.to_string().contains("WrongState"), "{refused}");

	// A claim window of 2 blocks (no worker following finalized blocks can claim in it) and a
	// recipient key no result can be sealed to are refused at posting with the pallet's
	// error: nothing is held, and no executor is ever elected to fail on them.
	let before = account(&api, &alice).await?;
	for (call, error) in [
		(post_task_to(&alice, 3, 2, [9; 32]), "DeadlineTooShort"),
		(post_task_to(&alice, 3, 5, [0; 32]), "RecipientKeyUnusable"),
	] {
		let refused = submit(&api, &alice, call)
			.await
			.err()
			.ok_or_else(|| anyhow!("a task the chain must refuse ({error}) was posted"))?;
		assert!(refused.to_string().contains(error), "{refused}");
	}
	let after = account(&api, &alice).await?;
	assert_eq!(after.reserved, before.reserved, "nothing held for a refused task");
	node.check_alive()
}

/// The ten workers' secret URIs: the dev accounts Charlie..Ferdie and the six dev stashes.
fn worker_uris() -> Vec<String> {
	let mut uris: Vec<String> =
		["Charlie", "Dave", "Eve", "Ferdie"].iter().map(|n| format!("//{n}")).collect();
	for name in ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"] {
		uris.push(format!("//{name}//stash"));
	}
	uris
}

/// The ten workers: their transaction signers.
fn workers() -> Result<Vec<Keypair>> {
	use std::str::FromStr;
	worker_uris()
		.iter()
		.map(|uri| Ok(Keypair::from_uri(&subxt_signer::SecretUri::from_str(uri)?)?))
		.collect()
}

fn call(pallet: &str, name: &str, args: Vec<Value>) -> impl subxt::transactions::Payload {
	dynamic::transaction(pallet, name, args)
}

#[tokio::test]
async fn alice_posts_bob_runs_monitors_confirm_settles_exactly_by_extrinsics_alone() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let node = Node::start("dev", dir.path(), &["--dev", "--tmp"])?;
	let api = node.client(Duration::from_secs(120)).await?;
	let (alice, bob) = (dev::alice(), dev::bob());
	let workers = workers()?;

	// Setup: Bob publishes his lambda (price 3); ten workers, each with its own swtpm, register
	// with their TPMs' evidence and are approved.
	submit(&api, &bob, publish_lambda()).await?;
	submit(&api, &alice, vouch_tests::tpm::allow_test_launch()).await?;
	let tpms = WorkerTpm::start_many(dir.path(), workers.len()).await?;
	for (w, tpm) in workers.iter().zip(&tpms) {
		submit(&api, w, register(tpm, w).await?).await?;
		submit(&api, &alice, approve(w)).await?;
	}

	let issuance_before = total_issuance(&api).await?;
	let alice_before = account(&api, &alice).await?.free;
	let bob_before = account(&api, &bob).await?.free;
	let mut worker_before = Vec::new();
	for w in &workers {
		worker_before.push(account(&api, w).await?.free);
	}
	let mut fees = vec![0u128; workers.len()];
	let mut alice_fees = 0;
	let mut bob_fees = 0;

	// Alice posts 10 VOUCH for a committee of ten: with ten eligible workers, every draw wins.
	let (events, fee) = submit(&api, &alice, post_task(&alice, 10, 30)).await?;
	assert!(events.contains(&"Tasks.TaskPosted".to_owned()), "{events:?}");
	alice_fees += fee;
	let task = Value::u128(0);
	let rpc = Rpc::connect(&node.ws_url()).await?;
	rpc.create_block().await?;
	let record = sortition::record(&rpc, 0).await?;
	for (i, (w, uri)) in workers.iter().zip(worker_uris()).enumerate() {
		let claim = sortition::claim_seat(&sortition::pair(&uri)?, &record);
		let (_, fee) = submit(&api, w, claim).await?;
		fees[i] += fee;
	}
	// Every credit is equal (the dev chain's genesis credit): the lowest draw executes; the
	// other nine monitor.
	let (elected, seat) = await_election(&rpc, 0).await?;
	assert_eq!(elected.seats.len(), 10);
	let executor = workers
		.iter()
		.position(|w| w.public_key().0 == elected.seats[seat].who)
		.ok_or_else(|| anyhow!("the executor is not one of the workers"))?;
	let lowest = elected.seats.iter().map(|s| s.draw).min();
	assert_eq!(Some(elected.seats[seat].draw), lowest);
	let monitors: Vec<usize> = (0..workers.len()).filter(|i| *i != executor).collect();
	// The executor's TPM quotes the sandbox after the latest block; then a burst of unrelated
	// extrinsics (each sealed in a block of its own on this instant-seal chain) passes before
	// the attestation lands: freshness is the chain's time, not a count of blocks.
	let before = measured(Phase::Before, b"");
	let quote =
		tpms[executor].quote((0, 0), Phase::Before, rpc.best_block().await?, &before).await?;
	for i in 0..12u8 {
		let remark = dynamic::transaction("System", "remark", (Value::from_bytes([i]),));
		let (_, fee) = submit(&api, &bob, remark).await?;
		bob_fees += fee;
	}
	let (events, fee) =
		submit(&api, &workers[executor], call("Tasks", "attest_before", vec![task.clone(), quote]))
			.await?;
	assert!(events.contains(&"Tasks.SandboxAttested".to_owned()), "{events:?}");
	fees[executor] += fee;
	for &m in &monitors {
		let (_, fee) = submit(
			&api,
			&workers[m],
			call("Tasks", "submit_verdict", vec![task.clone(), Value::bool(true)]),
		)
		.await?;
		assert_eq!(fee, 0, "a monitor's verdict costs it nothing of its share");
		fees[m] += fee;
	}
	let (events, fee) = submit(
		&api,
		&alice,
		call("Tasks", "release_key", vec![task.clone(), Value::u128(0), bytes("sealed-to-tpm")]),
	)
	.await?;
	assert!(events.contains(&"Tasks.KeysComplete".to_owned()), "{events:?}");
	alice_fees += fee;
	// The result goes on-chain with a commitment to its key sealed to Alice; the key itself
	// only once the monitors confirm the run.
	let sealed_to_alice = SEALED_TO_ALICE;
	let result = Value::named_composite([
		("cid", bytes("bafyresult")),
		(
			"keys_commitment",
			Value::from_bytes(vouch_primitives::result_keys_commitment(&[sealed_to_alice])),
		),
		("job_failed", Value::bool(false)),
	]);
	let after = measured(Phase::After, b"the encrypted result");
	let quote = tpms[executor].quote((0, 0), Phase::After, rpc.best_block().await?, &after).await?;
	let (_, fee) = submit(
		&api,
		&workers[executor],
		call("Tasks", "submit_result", vec![task.clone(), result, quote]),
	)
	.await?;
	fees[executor] += fee;
	for &m in &monitors {
		let (_, fee) = submit(
			&api,
			&workers[m],
			call("Tasks", "submit_verdict", vec![task.clone(), Value::bool(true)]),
		)
		.await?;
		fees[m] += fee;
	}
	// Confirmed: the executor reveals the key it committed to, which settles the task.
	let keys = Value::unnamed_composite([Value::from_bytes(sealed_to_alice)]);
	let (events, fee) = submit(
		&api,
		&workers[executor],
		call("Tasks", "reveal_result_keys", vec![task.clone(), keys]),
	)
	.await?;
	fees[executor] += fee;
	assert!(events.contains(&"Tasks.ResultKeysRevealed".to_owned()), "{events:?}");
	assert!(events.contains(&"Tasks.TaskSettled".to_owned()), "{events:?}");

	// The seeds' example, to the unit: burn 1, Bob 3, executor 3 plus 3 units of dust, nine
	// monitors 1/3 each. Everyone also paid their own transaction fees (which are burnt).
	let alice_now = account(&api, &alice).await?;
	assert_eq!(alice_now.free, alice_before - 10 * UNIT - TASK_DEPOSIT - alice_fees);
	assert_eq!(alice_now.reserved, TASK_DEPOSIT, "nothing left in escrow but the storage deposit");
	assert_eq!(account(&api, &bob).await?.free, bob_before + 3 * UNIT - bob_fees);
	assert_eq!(
		account(&api, &workers[executor]).await?.free,
		worker_before[executor] + 3 * UNIT + 3 - fees[executor]
	);
	for &m in &monitors {
		assert_eq!(
			account(&api, &workers[m]).await?.free,
			worker_before[m] + 333_333_333_333 - fees[m],
			"monitor {m}"
		);
	}
	let all_fees: u128 = alice_fees + bob_fees + fees.iter().sum::<u128>();
	assert_eq!(total_issuance(&api).await?, issuance_before - UNIT - all_fees);
	// Each party's net, for the record (run with `--nocapture`): the duties were free.
	let vouch = |units: i128| units as f64 / UNIT as f64;
	let (a, e) = (alice_fees as i128, fees[executor] as i128);
	eprintln!(
		"seeds' story, net: Alice {:.4} VOUCH, fees {:.4}",
		vouch(-10 * UNIT as i128 - a),
		vouch(a)
	);
	eprintln!("  executor {:.4} VOUCH, fees {:.4}", vouch((3 * UNIT + 3) as i128 - e), vouch(e));
	for &m in &monitors {
		let f = fees[m] as i128;
		eprintln!("  monitor {m}: {:.4} VOUCH, fees {:.4}", vouch(333_333_333_333 - f), vouch(f));
	}

	// Had the executor's TPM also quoted another result for this run, any monitor could prove
	// the lie with that quote: the executor loses a quarter of its bond and its credit.
	let other = measured(Phase::After, b"another result");
	let lie = tpms[executor].quote((0, 0), Phase::After, rpc.best_block().await?, &other).await?;
	let reporter = &workers[(executor + 1) % workers.len()];
	let (events, _) = submit(
		&api,
		reporter,
		call(
			"Tasks",
			"report_lie",
			vec![
				task.clone(),
				tpm::phase(Phase::After),
				Value::unnamed_variant("Attestation", [lie]),
			],
		),
	)
	.await?;
	assert!(events.contains(&"Tasks.LieProven".to_owned()), "{events:?}");
	assert_eq!(account(&api, &workers[executor]).await?.reserved, 75 * UNIT, "slashed 25");
	node.check_alive()
}
