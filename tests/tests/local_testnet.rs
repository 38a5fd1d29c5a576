//! `--chain local`: four validators as four processes on loopback, Aura authoring and GRANDPA
//! finalizing. GRANDPA needs more than two thirds of the voters: with three validators all three
//! must vote, so the local testnet has four and survives the loss of any one.

use std::{path::Path, process::Command, time::Duration};

use anyhow::{ensure, Context, Result};
use vouch_tests::{eventually, node_binary, rpc::Rpc, Node};

const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// A fixed node key per validator, so that the others can name the first as their bootnode.
fn node_key(index: usize) -> String {
	format!("{:064x}", index + 1)
}

/// The libp2p peer id of a node key, as `vouch-node key inspect-node-key` prints it.
fn peer_id(dir: &Path, key: &str) -> Result<String> {
	let file = dir.join("bootnode.key");
	std::fs::write(&file, key)?;
	let out = Command::new(node_binary())
		.args(["key", "inspect-node-key", "--file"])
		.arg(&file)
		.output()
		.context("running vouch-node key inspect-node-key")?;
	ensure!(out.status.success(), "inspect-node-key: {}", String::from_utf8_lossy(&out.stderr));
	Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

async fn finalized(node: &Node) -> Result<u64> {
	node.check_alive()?;
	Rpc::connect(&node.ws_url()).await?.finalized_number().await
}

/// Waits until every node in `nodes` has finalized block `number`.
async fn all_finalize(nodes: &[&Node], number: u64, timeout: Duration) -> Result<()> {
	for node in nodes {
		eventually(timeout, &format!("{} to finalize #{number}", node.name), || async {
			Ok((finalized(node).await? >= number).then_some(()))
		})
		.await
		.map_err(|e| e.context(node.log_tail()))?;
	}
	Ok(())
}

#[tokio::test]
async fn finality_survives_a_lost_validator_which_then_catches_up() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let bootnode_peer = peer_id(dir.path(), &node_key(0))?;

	let mut nodes: Vec<Node> = Vec::new();
	for (i, name) in VALIDATORS.iter().enumerate() {
		let base = dir.path().join(name);
		let key = node_key(i);
		let mut args = vec![
			"--chain".to_owned(),
			"local".to_owned(),
			format!("--{name}"),
			"--validator".to_owned(),
			"--base-path".to_owned(),
			base.display().to_string(),
			"--node-key".to_owned(),
			key,
		];
		if let Some(first) = nodes.first() {
			args.push("--bootnodes".to_owned());
			args.push(format!("/ip4/127.0.0.1/tcp/{}/p2p/{bootnode_peer}", first.p2p_port));
		}
		let args: Vec<&str> = args.iter().map(String::as_str).collect();
		nodes.push(Node::start(name, dir.path(), &args)?);
	}
	for node in &nodes {
		node.client(Duration::from_secs(180)).await?;
	}

	// All four author and finalize together.
	let all: Vec<&Node> = nodes.iter().collect();
	all_finalize(&all, 3, Duration::from_secs(180)).await?;

	// Dave dies without a goodbye; three of four voters still finalize.
	nodes[3].kill();
	let before = finalized(&nodes[0]).await?;
	let survivors: Vec<&Node> = nodes[..3].iter().collect();
	all_finalize(&survivors, before + 3, Duration::from_secs(120)).await?;

	// Dave comes back from his database and catches up with the others.
	nodes[3].restart()?;
	nodes[3].client(Duration::from_secs(120)).await?;
	let head = finalized(&nodes[0]).await?;
	all_finalize(&[&nodes[3]], head, Duration::from_secs(120)).await?;
	for node in &nodes {
		node.check_alive()?;
	}
	Ok(())
}
