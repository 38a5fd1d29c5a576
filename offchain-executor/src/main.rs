//! `vouch-executor`: the sidecar a Vouch worker runs beside its node. For now its TPM service
//! (provisioning, identity, quotes, certification, unsealing) with a command line to drive it;
//! the chain watcher, roles and Docker runner land with the execution issue.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use vouch_executor::tpm::{Tpm, TpmConfig};
use vouch_primitives::{
	tpm::nonce::{fixture_inputs as fixture, quote_nonce, registration_nonce},
	Phase,
};

#[derive(Parser)]
#[command(name = "vouch-executor", version, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// The worker's TPM.
	Tpm {
		#[command(flatten)]
		tpm: TpmArgs,
		#[command(subcommand)]
		command: TpmCommand,
	},
}

#[derive(clap::Args)]
struct TpmArgs {
	/// The TPM's TCTI: `swtpm:host=127.0.0.1,port=2321` for a simulator, `device:/dev/tpmrm0`
	/// for hardware.
	#[arg(long, env = "VOUCH_TPM_TCTI", default_value = "device:/dev/tpmrm0")]
	tcti: String,
	/// Where the worker's AK and sealing key blobs are kept (made on first use).
	#[arg(long, env = "VOUCH_TPM_KEY_FILE")]
	key_file: PathBuf,
}

#[derive(Subcommand)]
enum TpmCommand {
	/// Provisions the AK and sealing key if needed and prints the TPM's public identity.
	Identity,
	/// Writes the evidence the verifier's tests check (`pallets/primitives/fixtures/tpm/`):
	/// EK certificate and public areas, a certification of the sealing key and a `Before`
	/// and an `After` quote, for the inputs of `vouch_primitives::tpm::nonce::fixture_inputs`.
	Fixtures {
		/// The directory to write into.
		#[arg(long)]
		out: PathBuf,
	},
	/// Times quotes and unseals through the service (each loads and flushes its keys, as in
	/// production) and prints the median, min and max of each.
	Bench {
		/// How many of each.
		#[arg(long, default_value_t = 20)]
		rounds: usize,
	},
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::main]
async fn main() -> Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
		.with_writer(std::io::stderr)
		.init();
	let cli = Cli::parse();
	match cli.command {
		Command::Tpm { tpm, command } => {
			let tpm = Tpm::start(TpmConfig { tcti: tpm.tcti, key_file: tpm.key_file }).await?;
			match command {
				TpmCommand::Identity => {
					let id = tpm.identity().await?;
					println!("ek_cert {}", hex(&id.ek_cert));
					println!("ek_public {}", hex(&id.ek_public));
					println!("ak_public {}", hex(&id.ak_public));
					println!("sealing_public {}", hex(&id.sealing_public));
				},
				TpmCommand::Fixtures { out } => write_fixtures(&tpm, &out).await?,
				TpmCommand::Bench { rounds } => bench(&tpm, rounds).await?,
			}
		},
	}
	Ok(())
}

async fn write_fixtures(tpm: &Tpm, out: &std::path::Path) -> Result<()> {
	std::fs::create_dir_all(out)?;
	let write = |name: &str, bytes: &[u8]| {
		std::fs::write(out.join(name), bytes).with_context(|| format!("writing {name}"))
	};
	let id = tpm.identity().await?;
	write("ek-cert.der", &id.ek_cert)?;
	write("ek-public.bin", &id.ek_public)?;
	write("ak-public.bin", &id.ak_public)?;
	write("sealing-public.bin", &id.sealing_public)?;
	let certified = tpm.certify_sealing_key(registration_nonce(&fixture::ACCOUNT).to_vec()).await?;
	write("certify-attest.bin", &certified.attest)?;
	write("certify-signature.bin", &certified.signature)?;
	// In this order: the After quote's clock must follow the Before one's.
	for (phase, measured, name) in [
		(Phase::Before, &fixture::MEASUREMENTS, "quote"),
		(Phase::After, &fixture::AFTER_MEASUREMENTS, "quote-after"),
	] {
		let nonce = quote_nonce(fixture::TASK, phase, &fixture::BLOCK, measured);
		let quoted = tpm.quote(nonce.to_vec()).await?;
		write(&format!("{name}-attest.bin"), &quoted.attest)?;
		write(&format!("{name}-signature.bin"), &quoted.signature)?;
	}
	write("pcrs.bin", &tpm.boot_pcrs().await?.concat())?;
	tracing::info!(dir = %out.display(), "wrote the TPM fixtures");
	Ok(())
}

/// Prints `label: median (min..max) ms` of `times`.
fn report(label: &str, mut times: Vec<std::time::Duration>) {
	times.sort();
	let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
	println!(
		"{label}: median {:.2} ms (min {:.2}, max {:.2}, n = {})",
		ms(times[times.len() / 2]),
		ms(times[0]),
		ms(times[times.len() - 1]),
		times.len()
	);
}

async fn bench(tpm: &Tpm, rounds: usize) -> Result<()> {
	use std::time::Instant;
	anyhow::ensure!(rounds > 0, "--rounds must be at least 1");
	let mut quotes = Vec::new();
	for i in 0..rounds {
		let started = Instant::now();
		tpm.quote(vec![i as u8; 32]).await?;
		quotes.push(started.elapsed());
	}
	report("quote (load AK, quote PCRs 0-7, flush)", quotes);
	// A real sealed key needs an OAEP encryption to this TPM's key: the TPM encrypts one
	// for itself through the public part, which is what any client does.
	let sealed = tpm.seal_for_self(b"a 32-byte data key for the input".to_vec()).await?;
	let mut unseals = Vec::new();
	for _ in 0..rounds {
		let started = Instant::now();
		tpm.unseal(sealed.clone()).await?;
		unseals.push(started.elapsed());
	}
	report("unseal (load sealing key, RSA-OAEP decrypt, flush)", unseals);
	Ok(())
}
