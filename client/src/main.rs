//! `vouch`: the Vouch client. For now the dev chain's end-to-end story (`vouch demo`); the
//! rest of the CLI (keys, store, lambdas, tasks, workers, credit) builds on the same library.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use vouch_client::{demo, Chain};

#[derive(Parser)]
#[command(name = "vouch", version, about)]
struct Cli {
	/// The node's WebSocket RPC.
	#[arg(long, global = true, env = "VOUCH_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	node_url: String,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// On a dev chain: activates the registered workers (through sudo, the stand-in for
	/// credential activation), then plays the story end to end: Bob publishes a busybox job,
	/// Alice posts a task on her sealed input, the executors claim, attest, run and monitor,
	/// Alice opens the result; the settlement is checked to the unit.
	Demo {
		/// The job image: a `docker save` tarball (`vouch-executor image build-busybox`).
		#[arg(long)]
		image: PathBuf,
		/// Its image ID, `sha256:<hex>` (printed by `build-busybox`).
		#[arg(long)]
		image_id: String,
		/// The content store to upload to and fetch from.
		#[arg(long, env = "VOUCH_STORE", default_value = "http://127.0.0.1:8700")]
		store: String,
		/// The committee size (at least this many workers must be running).
		#[arg(long, default_value_t = 3)]
		committee: u32,
		/// Seconds to wait for the workers and for the task.
		#[arg(long, default_value_t = 300)]
		timeout_secs: u64,
	},
}

fn image_id(text: &str) -> Result<[u8; 32]> {
	let hex = text.strip_prefix("sha256:").context("--image-id is sha256:<64 hex digits>")?;
	let bytes: Vec<u8> = (0..hex.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
		.collect::<Result<_, _>>()
		.context("--image-id is sha256:<64 hex digits>")?;
	bytes.try_into().map_err(|_| anyhow::anyhow!("--image-id is sha256:<64 hex digits>"))
}

#[tokio::main]
async fn main() -> Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
		.with_writer(std::io::stderr)
		.init();
	let cli = Cli::parse();
	match cli.command {
		Command::Demo { image, image_id: id, store, committee, timeout_secs } => {
			let timeout = Duration::from_secs(timeout_secs);
			let chain = Chain::connect(&cli.node_url, timeout).await?;
			println!("==> activating the workers that registered: credential activation (their TPMs answer the active workers' challenges)");
			demo::activate_workers(
				&chain,
				&subxt_signer::sr25519::dev::alice(),
				committee as usize,
				demo::Activation::Bootstrap,
				timeout,
				|step| println!("==> {step}"),
			)
			.await?;
			let story = demo::Story {
				image: (image, image_id(&id)?),
				store,
				committee,
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
			let right =
				ending.files.get("words").map(|b| String::from_utf8_lossy(b).trim().to_string())
					== Some(words) && ending
					.files
					.get("sha256")
					.map(|b| String::from_utf8_lossy(b).trim().to_string())
					== Some(sha);
			println!("    the right answer: {}", if right { "yes" } else { "NO" });
			println!(
				"==> the settlement (VOUCH; expected by the primitives' split, and on-chain):"
			);
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
		},
	}
	Ok(())
}
