//! Bob publishes a lambda on the dev chain by extrinsic, as any client would, and reads it back.

use std::time::Duration;

use anyhow::{anyhow, Result};
use subxt::{
	dynamic::{self, Value},
	ext::scale_decode,
};
use subxt_signer::sr25519::dev;
use vouch_tests::Node;

const UNIT: u128 = 1_000_000_000_000;

#[derive(Debug, scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct LambdaRecord {
	owner: [u8; 32],
	price: u128,
	encrypted: bool,
	retired: bool,
	runs: u32,
	failures: u32,
}

fn manifest(memory_mib: u128) -> Value {
	Value::named_composite([
		("entrypoint", Value::from_bytes("/bin/wordcount")),
		("args", Value::unnamed_composite([Value::from_bytes("/in/0")])),
		("env", Value::unnamed_composite([Value::from_bytes("LANG=C")])),
		("cpu_millicores", Value::u128(1000)),
		("memory_mib", Value::u128(memory_mib)),
		("time_limit_secs", Value::u128(60)),
		("max_output_bytes", Value::u128(1 << 20)),
	])
}

fn publish(memory_mib: u128) -> impl subxt::transactions::Payload {
	dynamic::transaction(
		"Lambdas",
		"publish",
		(
			Value::from_bytes("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
			Value::from_bytes([7u8; 32]),
			Value::from_bytes("bafybeihimage"),
			manifest(memory_mib),
			Value::u128(3 * UNIT),
			Value::bool(true),
		),
	)
}

#[tokio::test]
async fn bob_publishes_a_lambda_and_anyone_reads_it_back() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let node = Node::start("dev", dir.path(), &["--dev", "--tmp"])?;
	let api = node.client(Duration::from_secs(120)).await?;
	let bob = dev::bob();

	// A manifest asking for more memory than the chain allows names the limit it broke.
	let refused = api
		.at_current_block()
		.await?
		.transactions()
		.sign_and_submit_then_watch_default(&publish(1 << 30), &bob)
		.await?
		.wait_for_finalized_success()
		.await
		.expect_err("a 1 TiB memory limit is refused");
	assert!(refused.to_string().contains("MemoryLimitOutOfRange"), "{refused}");

	let events = api
		.at_current_block()
		.await?
		.transactions()
		.sign_and_submit_then_watch_default(&publish(256), &bob)
		.await?
		.wait_for_finalized_success()
		.await?;
	let published = events
		.iter()
		.filter_map(Result::ok)
		.find(|e| e.pallet_name() == "Lambdas" && e.event_name() == "Published")
		.ok_or_else(|| anyhow!("no Lambdas.Published event"))?;
	// The first lambda of a fresh chain has id 0.
	let id = <u64 as subxt::ext::codec::Decode>::decode(&mut published.field_bytes())?;
	assert_eq!(id, 0);

	let at = api.at_current_block().await?;
	let record = at
		.storage()
		.fetch(dynamic::storage::<(u64,), LambdaRecord>("Lambdas", "Lambdas"), (id,))
		.await?
		.decode()?;
	assert_eq!(record.owner, bob.public_key().0);
	assert_eq!(record.price, 3 * UNIT);
	assert!(record.encrypted && !record.retired);
	assert_eq!((record.runs, record.failures), (0, 0));
	node.check_alive()
}
