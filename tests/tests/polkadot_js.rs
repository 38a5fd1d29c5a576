//! @polkadot/api, the library polkadot.js apps runs on, connects to the dev node and reads the
//! chain through its metadata. Needs Node.js and `npm ci` in `tests/polkadot-js`
//! (`scripts/test.sh` does both).

use std::{
	path::{Path, PathBuf},
	time::Duration,
};

use anyhow::{ensure, Result};
use serde_json::Value;
use vouch_tests::{client_script, Node};

/// Runs `script` (in `tests/polkadot-js`) with Node.js against `node`; its last line as JSON.
async fn run_script(script: &str, node: &Node) -> Result<Value> {
	let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("polkadot-js");
	ensure!(
		dir.join("node_modules/@polkadot/api").is_dir(),
		"@polkadot/api is not installed: run `npm ci` in {} (scripts/test.sh does)",
		dir.display()
	);
	client_script::run(Path::new("node"), script, &dir, node).await
}

#[tokio::test]
async fn polkadot_js_api_reads_the_dev_chain_through_its_metadata() -> Result<()> {
	let tmp = tempfile::tempdir()?;
	let node = Node::start("dev", tmp.path(), &["--dev", "--tmp"])?;
	node.client(Duration::from_secs(120)).await?;
	let read = run_script("check-metadata.mjs", &node).await?;

	assert_eq!(read["chain"], "Vouch Development");
	assert_eq!(read["specName"], "vouch");
	assert!(read["metadataVersion"].as_u64() >= Some(14), "{read}");
	let pallets: Vec<&str> =
		read["pallets"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
	const PALLETS: [&str; 11] = [
		"System",
		"Timestamp",
		"Aura",
		"Grandpa",
		"Balances",
		"TransactionPayment",
		"Sudo",
		"Registry",
		"Lambdas",
		"Tasks",
		"Credit",
	];
	for pallet in PALLETS {
		assert!(pallets.contains(&pallet), "metadata lists {pallet}: {pallets:?}");
	}
	assert_eq!(read["tokenSymbol"], serde_json::json!(["VOUCH"]));
	assert_eq!(read["tokenDecimals"], serde_json::json!([12]));
	// Alice's genesis endowment, untouched on a fresh chain: 1,000,000 VOUCH of 12 decimals.
	assert_eq!(read["aliceFree"], "1000000000000000000");
	// Balances is pallet 4 and transfer_keep_alive its call 3: the bytes any other client sends.
	let call = read["transferCall"].as_str().unwrap_or_default();
	assert!(call.starts_with("0x0403"), "transfer_keep_alive encodes as Balances call 3: {call}");
	node.check_alive()
}

/// The events of `events` named `name` (`section.Method`).
fn events<'a>(events: &'a Value, name: &str) -> Vec<&'a Value> {
	events.as_array().into_iter().flatten().filter(|e| e["event"] == name).collect()
}

/// What polkadot.js apps shows of the story's first steps, from the metadata alone: Bob's
/// publish and Alice's post built from the calls' argument types, their events decoded with
/// field names and docs, a too-small payment refused with the pallet error's name and docs,
/// the task's storage and the `TasksApi.sortition` runtime API.
#[tokio::test]
async fn polkadot_js_api_posts_a_task_and_decodes_its_events_as_the_apps_show_them() -> Result<()> {
	let tmp = tempfile::tempdir()?;
	let node = Node::start("dev", tmp.path(), &["--dev", "--tmp"])?;
	node.client(Duration::from_secs(120)).await?;
	let read = run_script("post-task.mjs", &node).await?;

	let published = events(&read["published"], "lambdas.Published");
	assert_eq!(published.len(), 1, "{read}");
	assert_eq!(published[0]["fields"]["owner"], read["bob"]);
	assert_eq!(published[0]["fields"]["price"], "3,000,000,000,000");
	assert_eq!(published[0]["docs"], "A developer published a lambda.");

	// The refusal: the pallet error by name with its documentation, nothing posted.
	assert_eq!(read["refused"]["section"], "tasks");
	assert_eq!(read["refused"]["name"], "PaymentBelowPriceAndBurn");
	assert!(read["refused"]["docs"].as_str().is_some_and(|d| d.contains("price")), "{read}");

	let posted = events(&read["posted"], "tasks.TaskPosted");
	assert_eq!(posted.len(), 1, "{read}");
	let fields = &posted[0]["fields"];
	assert_eq!(fields["task"], "0", "the refused post took no id");
	assert_eq!(fields["requester"], read["alice"]);
	assert_eq!(fields["lambda"], published[0]["fields"]["lambda"]);
	assert_eq!(fields["payment"], "10,000,000,000,000");
	assert_eq!(posted[0]["docs"], "A task was posted and its payment is held in escrow.");
	// The escrow is a hold with a reason the apps name.
	let held: Vec<_> = events(&read["posted"], "balances.Held")
		.into_iter()
		.filter(|e| e["fields"]["reason"]["Tasks"] == "TaskEscrow")
		.collect();
	assert_eq!(held.len(), 1, "{read}");
	assert_eq!(held[0]["fields"]["amount"], "10,000,000,000,000");

	assert_eq!(read["task"]["requester"], read["alice"]);
	assert_eq!(read["task"]["payment"], "10,000,000,000,000");
	assert_eq!(read["sortition"]["task"], "0");
	assert_eq!(read["sortition"]["target"], "3");
	node.check_alive()
}
