//! @polkadot/api, the library polkadot.js apps runs on, connects to the dev node and reads the
//! chain through its metadata. Needs Node.js and `npm ci` in `tests/polkadot-js`
//! (`scripts/test.sh` does both).

use std::{path::PathBuf, time::Duration};

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use vouch_tests::Node;

#[tokio::test]
async fn polkadot_js_api_reads_the_dev_chain_through_its_metadata() -> Result<()> {
	let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("polkadot-js");
	ensure!(
		dir.join("node_modules/@polkadot/api").is_dir(),
		"@polkadot/api is not installed: run `npm ci` in {} (scripts/test.sh does)",
		dir.display()
	);
	let tmp = tempfile::tempdir()?;
	let node = Node::start("dev", tmp.path(), &["--dev", "--tmp"])?;
	node.client(Duration::from_secs(120)).await?;

	let mut check = tokio::process::Command::new("node");
	check.arg("check-metadata.mjs").arg(node.ws_url()).current_dir(&dir).kill_on_drop(true);
	let out = tokio::time::timeout(Duration::from_secs(120), check.output())
		.await
		.context("@polkadot/api did not finish within 2 minutes")?
		.context("running node (Node.js)")?;
	ensure!(
		out.status.success(),
		"check-metadata.mjs failed: {}\n{}",
		String::from_utf8_lossy(&out.stderr),
		node.log_tail()
	);
	let stdout = String::from_utf8(out.stdout)?;
	let read: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
		.with_context(|| format!("check-metadata.mjs printed no JSON: {stdout}"))?;

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
