//! Alice posts a task on the dev chain by extrinsic: the payment is held in escrow, a worker
//! (registered, approved by sudo) takes the seat through the dev placeholder and is elected;
//! a second task is cancelled and refunded to the unit.

use std::time::Duration;

use anyhow::{anyhow, Result};
use subxt::{
	dynamic::{self, Value},
	ext::scale_decode,
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::{dev, Keypair};
use vouch_tests::Node;

const UNIT: u128 = 1_000_000_000_000;

#[derive(Debug, scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct AccountData {
	free: u128,
	reserved: u128,
}

async fn account(api: &OnlineClient<PolkadotConfig>, who: &Keypair) -> Result<AccountData> {
	let at = api.at_current_block().await?;
	let info = at
		.storage()
		.fetch(
			dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account"),
			(who.public_key().0,),
		)
		.await?
		.decode()?;
	Ok(info.data)
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

fn publish_lambda() -> impl subxt::transactions::Payload {
	dynamic::transaction(
		"Lambdas",
		"publish",
		(
			bytes("bafycode"),
			Value::from_bytes([7u8; 32]),
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

fn post_task(requester: &Keypair, committee_size: u128) -> impl subxt::transactions::Payload {
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
				("x25519", Value::from_bytes([9u8; 32])),
			])]),
			Value::named_composite([
				("min_credit", Value::u128(0)),
				("committee_size", Value::u128(committee_size)),
				("max_rounds", Value::u128(1)),
				(
					"deadlines",
					Value::named_composite([
						("sortition", Value::u128(100)),
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

	// Charlie becomes a worker: registers with a bond, and sudo stands in for TPM verification.
	let register = dynamic::transaction(
		"Registry",
		"register",
		(
			Value::named_composite([
				("ek_cert", bytes("ek")),
				("ak_public", bytes("ak")),
				("sealing_key", bytes("sk")),
			]),
			bytes("http://127.0.0.1:8700"),
			Value::u128(100 * UNIT),
		),
	);
	submit(&api, &charlie, register).await?;
	let approve = Value::unnamed_variant(
		"Registry",
		[Value::named_variant("approve", [("who", Value::from_bytes(charlie.public_key().0))])],
	);
	let (events, _) =
		submit(&api, &alice, dynamic::transaction("Sudo", "sudo", (approve,))).await?;
	assert!(events.contains(&"Registry.Activated".to_owned()), "{events:?}");

	// Alice posts: 10 VOUCH leave her free balance into escrow, plus the fee.
	let before = account(&api, &alice).await?;
	let (events, fee) = submit(&api, &alice, post_task(&alice, 1)).await?;
	assert!(events.contains(&"Tasks.TaskPosted".to_owned()), "{events:?}");
	let after = account(&api, &alice).await?;
	assert_eq!(after.reserved, before.reserved + 10 * UNIT, "the payment is held");
	assert_eq!(after.free, before.free - 10 * UNIT - fee);

	// Charlie takes the only seat and is elected executor.
	let (events, _) =
		submit(&api, &charlie, dynamic::transaction("Tasks", "dev_claim_seat", (Value::u128(0),)))
			.await?;
	assert!(events.contains(&"Tasks.CommitteeElected".to_owned()), "{events:?}");

	// A second task is cancelled before election: the payment comes back to the unit.
	let before = account(&api, &alice).await?;
	let (_, post_fee) = submit(&api, &alice, post_task(&alice, 3)).await?;
	let (events, cancel_fee) =
		submit(&api, &alice, dynamic::transaction("Tasks", "cancel_task", (Value::u128(1),)))
			.await?;
	assert!(events.contains(&"Tasks.TaskCancelled".to_owned()), "{events:?}");
	let after = account(&api, &alice).await?;
	assert_eq!(after.reserved, before.reserved);
	assert_eq!(after.free, before.free - post_fee - cancel_fee);

	// Cancelling an elected task is refused with the pallet's error.
	let refused =
		submit(&api, &alice, dynamic::transaction("Tasks", "cancel_task", (Value::u128(0),)))
			.await
			.err()
			.ok_or_else(|| anyhow!("cancelling an elected task succeeded"))?;
	assert!(refused.to_string().contains("WrongState"), "{refused}");
	node.check_alive()
}
