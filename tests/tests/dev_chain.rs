//! `vouch-node --dev`: a real node process, driven over its RPC port the way a user's client
//! drives it.

use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context, Result};
use subxt::{
	dynamic, ext::codec::Decode, transactions::DefaultParams, OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::dev;
use vouch_tests::{chain, eventually, rpc::Rpc, Node};

/// One token: the chain has 12 decimals.
const UNIT: u128 = 1_000_000_000_000;

async fn free_balance(
	api: &OnlineClient<PolkadotConfig>,
	at: subxt::utils::H256,
	who: [u8; 32],
) -> Result<u128> {
	Ok(chain::account_at(api, at, who).await?.free)
}

fn start_dev_node(dir: &tempfile::TempDir) -> Result<Node> {
	Node::start("dev", dir.path(), &["--dev", "--tmp"])
}

#[tokio::test]
async fn dev_chain_authors_its_first_block_quickly_and_finalizes_every_block() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let node = start_dev_node(&dir)?;
	// Waiting for the RPC port includes compiling the runtime: not what is measured here.
	let _api = node.client(Duration::from_secs(120)).await?;
	let rpc = Rpc::connect(&node.ws_url()).await?;
	assert_eq!(rpc.chain_name().await?, "Vouch Development");

	// The first block comes at once (a timer tick fires on start), not after a block time.
	let started = Instant::now();
	let first = eventually(Duration::from_secs(30), "block 1", || async {
		Ok((rpc.best_number().await? >= 1).then_some(()))
	})
	.await;
	node.check_alive()?;
	first?;
	println!("block 1 seen {:?} after the RPC port opened", started.elapsed());

	// Blocks keep coming on the timer, and each one is finalized as it is sealed.
	let target = rpc.best_number().await? + 3;
	eventually(Duration::from_secs(30), "three more blocks", || async {
		Ok((rpc.best_number().await? >= target).then_some(()))
	})
	.await?;
	let finalized = rpc.finalized_number().await?;
	ensure!(
		finalized >= target,
		"finalized #{finalized} lags behind the blocks sealed (#{target})"
	);
	node.check_alive()
}

#[tokio::test]
async fn transfer_pays_exactly_the_fee_payment_query_info_predicted() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let node = start_dev_node(&dir)?;
	let api = node.client(Duration::from_secs(120)).await?;
	let rpc = Rpc::connect(&node.ws_url()).await?;

	let alice = dev::alice();
	let bob = dev::bob();
	let amount = 3 * UNIT + 7; // odd on purpose: any rounding would show
	let at = api.at_current_block().await?;
	let before = at.block_hash();
	let alice_before = free_balance(&api, before, alice.public_key().0).await?;
	let bob_before = free_balance(&api, before, bob.public_key().0).await?;
	ensure!(alice_before > amount, "Alice is funded at genesis ({alice_before})");

	let call = dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(bob.public_key().to_address::<()>(), amount),
	);
	let tx = at
		.transactions()
		.create_signed(&call, &alice, DefaultParams::default_params())
		.await
		.context("signing the transfer")?;
	let predicted = rpc.query_partial_fee(tx.encoded()).await?;
	ensure!(predicted > 0, "a transfer costs a fee");

	let in_block = tx.submit_and_watch().await?.wait_for_finalized().await?;
	let included = in_block.block_hash();
	let events = in_block.wait_for_success().await?;

	// The fee the chain charged, as its own event reports it.
	let fee_event = events
		.iter()
		.filter_map(Result::ok)
		.find(|e| e.pallet_name() == "TransactionPayment" && e.event_name() == "TransactionFeePaid")
		.ok_or_else(|| anyhow!("no TransactionFeePaid event for the transfer"))?;
	let (who, actual_fee, tip) = <([u8; 32], u128, u128)>::decode(&mut fee_event.field_bytes())?;
	assert_eq!(who, alice.public_key().0, "Alice paid the fee");
	assert_eq!(tip, 0);
	assert_eq!(actual_fee, predicted, "charged fee equals payment_queryInfo's partialFee");
	assert!(
		events
			.iter()
			.filter_map(Result::ok)
			.any(|e| e.pallet_name() == "Balances" && e.event_name() == "Transfer"),
		"a Balances.Transfer event"
	);

	// Balances moved by exactly the amount and the fee, to the unit.
	let alice_after = free_balance(&api, included, alice.public_key().0).await?;
	let bob_after = free_balance(&api, included, bob.public_key().0).await?;
	assert_eq!(alice_after, alice_before - amount - predicted);
	assert_eq!(bob_after, bob_before + amount);
	node.check_alive()
}

#[tokio::test]
async fn transfer_beyond_balance_is_rejected_and_moves_nothing() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let node = start_dev_node(&dir)?;
	let api = node.client(Duration::from_secs(120)).await?;

	// Ferdie sends more than he has: the pool takes it (he can pay the fee), the call fails.
	let ferdie = dev::ferdie();
	let at = api.at_current_block().await?;
	let before = free_balance(&api, at.block_hash(), ferdie.public_key().0).await?;
	let call = dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(dev::eve().public_key().to_address::<()>(), before * 2),
	);
	let in_block = at
		.transactions()
		.sign_and_submit_then_watch_default(&call, &ferdie)
		.await?
		.wait_for_finalized()
		.await?;
	let included = in_block.block_hash();
	let error = in_block.wait_for_success().await.expect_err("the transfer must fail");
	let message = error.to_string();
	assert!(
		message.contains("Balances") || message.contains("Token"),
		"names the cause: {message}"
	);

	// Only the fee left Ferdie's account.
	let after = free_balance(&api, included, ferdie.public_key().0).await?;
	assert!(
		after < before && before - after < UNIT / 10,
		"only a fee was charged: {before} -> {after}"
	);
	node.check_alive()
}
