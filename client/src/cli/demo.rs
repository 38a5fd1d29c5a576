//! `vouch demo`: on a dev chain, the busybox story end to end (what the README's main command
//! runs): the workers are activated, Bob publishes, Alice posts and opens her result, and the
//! settlement is checked to the unit.

use std::{path::PathBuf, time::Duration};

use anyhow::Result;
use clap::Args;
use vouch_client::demo;

use super::{parse_image_id, Global};

#[derive(Args)]
pub struct DemoArgs {
	/// The job image: a `docker save` tarball (`vouch-executor image build-busybox`).
	#[arg(long)]
	image: PathBuf,
	/// Its image ID, `sha256:<hex>` (printed by `build-busybox`).
	#[arg(long)]
	image_id: String,
	/// The committee size (at least this many workers must be running).
	#[arg(long, default_value_t = 3)]
	committee: u32,
	/// Seconds to wait for the workers and for the task.
	#[arg(long, default_value_t = 300)]
	timeout_secs: u64,
}

pub async fn run(global: &Global, args: DemoArgs) -> Result<()> {
	let timeout = Duration::from_secs(args.timeout_secs);
	let image_id = parse_image_id("--image-id", &args.image_id)?;
	let chain = global.chain_within(timeout).await?;
	println!("==> activating the workers that registered: credential activation (their TPMs answer the active workers' challenges)");
	demo::activate_workers(
		&chain,
		&subxt_signer::sr25519::dev::alice(),
		args.committee as usize,
		demo::Activation::Bootstrap,
		timeout,
		|step| println!("==> {step}"),
	)
	.await?;
	let story = demo::Story {
		image: (args.image, image_id),
		store: global.store.clone(),
		committee: args.committee,
		timeout,
		..Default::default()
	};
	let started = std::time::Instant::now();
	let ending = demo::run(&chain, &story, |step| println!("==> {step}")).await?;
	println!("==> Alice opens the result of task {}:", ending.task);
	for (name, bytes) in &ending.files {
		println!("    {name}: {}", String::from_utf8_lossy(bytes).trim());
	}
	let (words, sha) = demo::expected_output();
	let text =
		|name: &str| ending.files.get(name).map(|b| String::from_utf8_lossy(b).trim().to_string());
	let right = text("words") == Some(words) && text("sha256") == Some(sha);
	println!("    the right answer: {}", if right { "yes" } else { "NO" });
	println!("==> the settlement (VOUCH; expected by the primitives' split, and on-chain):");
	let vouch = |u: i128| u as f64 / vouch_client::UNIT as f64;
	let mut exact = true;
	for (who, expected, actual) in &ending.balances {
		exact &= expected == actual;
		println!(
			"    {who}: expected {:+.6}, got {:+.6}{}",
			vouch(*expected),
			vouch(*actual),
			if expected == actual { "" } else { "  MISMATCH" }
		);
	}
	println!(
		"==> done in {:.1} s: the network stays up for polkadot.js apps (Ctrl-C stops it)",
		started.elapsed().as_secs_f64()
	);
	anyhow::ensure!(right && exact, "the story did not end as it should");
	Ok(())
}
