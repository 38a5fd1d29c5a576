//! `vouch`: the Vouch client on the command line (keys, the content store, lambdas, tasks,
//! the market, workers, credit, balances, and the dev chain's story). See `cli`.

mod cli;

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
	tracing_subscriber::fmt()
		.with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
		.with_writer(std::io::stderr)
		.init();
	cli::main().await
}
