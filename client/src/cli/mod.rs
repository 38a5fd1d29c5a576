//! The `vouch` command line: flags and environment, where keys come from, how results are
//! printed (human text, or one JSON document with `--json`), and how failures map to exit
//! codes. Each command group lives in its own module.

mod account;
mod build;
mod demo;
mod follow;
mod key;
mod lambda;
mod store;
mod task;
mod worker;

use std::{path::PathBuf, process::ExitCode, str::FromStr, time::Duration};

use anyhow::{anyhow, Context as _, Result};
use clap::{Parser, Subcommand};
use vouch_client::{
	keys::{KeyFile, Passphrase},
	Chain, SubmitError, UNIT,
};

#[derive(Parser)]
#[command(
	name = "vouch",
	version,
	about = "Vouch: trusted compute on a Substrate chain, from the command line"
)]
pub struct Cli {
	#[command(flatten)]
	global: Global,
	#[command(subcommand)]
	command: Command,
}

/// Flags every command takes.
#[derive(clap::Args, Clone)]
pub struct Global {
	/// The node's WebSocket RPC.
	#[arg(long, global = true, env = "VOUCH_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	node_url: String,
	/// The content store to upload to and fetch from.
	#[arg(long, global = true, env = "VOUCH_STORE", default_value = "http://127.0.0.1:8700")]
	store: String,
	/// The key file that signs (`vouch key new`); default `$VOUCH_HOME/key.json`.
	#[arg(long, global = true, env = "VOUCH_KEY")]
	key: Option<PathBuf>,
	/// A dev account instead of a key file (`//Alice`; dev names only: other secrets never go
	/// on a command line).
	#[arg(long, global = true)]
	suri: Option<String>,
	/// Where the key file and the keyring of data keys live.
	#[arg(long, global = true, env = "VOUCH_HOME")]
	home: Option<PathBuf>,
	/// Print one JSON document instead of text.
	#[arg(long, global = true)]
	json: bool,
}

#[derive(Subcommand)]
enum Command {
	/// Your account and result keys.
	#[command(subcommand)]
	Key(key::KeyCommand),
	/// Encrypt and upload data, or download and decrypt it.
	#[command(subcommand)]
	Store(store::StoreCommand),
	/// Publish and manage code (a lambda: an image, code, a manifest and a price).
	#[command(subcommand)]
	Lambda(lambda::LambdaCommand),
	/// Post, follow and open tasks.
	#[command(subcommand)]
	Task(task::TaskCommand),
	/// Open tasks with their pay per seat, and the workers with their credit.
	Market,
	/// A worker's registration.
	#[command(subcommand)]
	Worker(worker::WorkerCommand),
	/// The allowed-build list: the executor builds, job runtimes and sandbox configurations a
	/// worker's measured launch may hold.
	#[command(subcommand)]
	Build(build::BuildCommand),
	/// Credit: the non-transferable reputation that makes workers eligible.
	#[command(subcommand)]
	Credit(account::CreditCommand),
	/// An account's free balance.
	Balance {
		/// The account (SS58); default yours.
		account: Option<String>,
	},
	/// On a dev chain: activates the registered workers and plays the busybox story end to end.
	Demo(demo::DemoArgs),
}

/// A failure with the exit code it ends the process with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
	/// The exit code.
	pub code: u8,
	/// What went wrong and what to do.
	pub message: String,
}

/// Exit codes: 1 other, 2 bad input (clap's too), 3 refused on-chain, 4 node or store
/// unreachable, 5 not found, 6 a key release check failed.
pub mod exit {
	pub const BAD_INPUT: u8 = 2;
	pub const ON_CHAIN: u8 = 3;
	pub const UNREACHABLE: u8 = 4;
	pub const NOT_FOUND: u8 = 5;
	pub const WITHHELD: u8 = 6;
}

/// A [`Failure`] with `code`.
pub fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
	Failure { code, message: message.into() }.into()
}

/// Bad input, naming the flag.
pub fn bad(flag: &str, why: impl std::fmt::Display) -> anyhow::Error {
	fail(exit::BAD_INPUT, format!("{flag}: {why}"))
}

impl Global {
	/// The home directory: `--home`, `$VOUCH_HOME`, or `~/.local/share/vouch`.
	pub fn home(&self) -> PathBuf {
		self.home.clone().unwrap_or_else(|| {
			let base = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| ".".into());
			base.join(".local/share/vouch")
		})
	}

	/// The default key file.
	pub fn key_path(&self) -> PathBuf {
		self.key.clone().unwrap_or_else(|| self.home().join("key.json"))
	}

	/// The signing keys: `--suri` (dev names), else the key file.
	pub fn keys(&self) -> Result<KeyFile> {
		if let Some(suri) = &self.suri {
			let name = suri.trim();
			if !name.starts_with("//") || name.contains(' ') {
				return Err(bad(
					"--suri",
					"takes dev accounts only (//Alice, //Bob, ...); keep other secrets in a key file (`vouch key import`)",
				));
			}
			return KeyFile::derived(name).map_err(|e| bad("--suri", e));
		}
		let path = self.key_path();
		if !path.exists() {
			return Err(bad(
				"--key",
				format!(
					"no key file at {} (create one with `vouch key new`, or pass --suri //Alice on a dev chain)",
					path.display()
				),
			));
		}
		KeyFile::read(&path, &Passphrase::from_env()).map_err(|e| bad("--key", format!("{e:#}")))
	}

	/// A connection to the node.
	pub async fn chain(&self) -> Result<Chain> {
		self.chain_within(Duration::from_secs(5)).await
	}

	/// A connection to the node, waiting up to `patience` for it to come up (`vouch demo`
	/// starts with the node).
	pub async fn chain_within(&self, patience: Duration) -> Result<Chain> {
		Chain::connect(&self.node_url, patience).await.map_err(|e| {
			fail(
				exit::UNREACHABLE,
				format!(
					"--node-url: {e:#}; start a node (scripts/run-dev.sh) or point --node-url at one"
				),
			)
		})
	}

	/// A progress bar over `total` bytes on stderr (hidden with `--json`).
	pub fn byte_bar(&self, what: &str, total: u64) -> indicatif::ProgressBar {
		if self.json {
			return indicatif::ProgressBar::hidden();
		}
		indicatif::ProgressBar::new(total).with_style(
			indicatif::ProgressStyle::with_template(&format!(
				"{what} {{bytes}}/{{total_bytes}} {{wide_bar}} {{bytes_per_sec}}"
			))
			.unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
		)
	}

	/// The store client.
	pub fn store(&self) -> vouch_client::store::StoreClient {
		vouch_client::store::StoreClient::new(&self.store)
	}

	/// A store failure: unreachable gets its own exit code and names `--store`.
	pub fn store_error(&self, e: anyhow::Error) -> anyhow::Error {
		let text = format!("{e:#}");
		if text.contains("unreachable") {
			fail(
				exit::UNREACHABLE,
				format!("--store: no content store answers at {} ({text})", self.store),
			)
		} else {
			e
		}
	}

	/// Prints `value` as JSON with `--json`, else `human`.
	pub fn print(&self, value: serde_json::Value, human: impl FnOnce() -> String) {
		if self.json {
			println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
		} else {
			let text = human();
			if !text.is_empty() {
				println!("{text}");
			}
		}
	}

	/// A spinner on stderr for a wait (hidden with `--json` or when stderr is not a terminal).
	pub fn spinner(&self, message: impl Into<String>) -> indicatif::ProgressBar {
		let bar = if self.json {
			indicatif::ProgressBar::hidden()
		} else {
			indicatif::ProgressBar::new_spinner()
		};
		bar.set_message(message.into());
		bar.enable_steady_tick(Duration::from_millis(120));
		bar
	}
}

/// The keyring of data keys: `$VOUCH_HOME/keys/<cid>.key`, each a hex key, mode 0600.
pub struct Keyring(PathBuf);

impl Keyring {
	pub fn new(global: &Global) -> Self {
		Self(global.home().join("keys"))
	}

	/// Where the key of `cid` is kept.
	pub fn path(&self, cid: &str) -> PathBuf {
		self.0.join(format!("{cid}.key"))
	}

	/// Saves the key of `cid`; returns its path.
	pub fn save(&self, cid: &str, key: &vouch_primitives::envelope::DataKey) -> Result<PathBuf> {
		use std::{io::Write, os::unix::fs::OpenOptionsExt};
		std::fs::create_dir_all(&self.0)
			.with_context(|| format!("creating the keyring {}", self.0.display()))?;
		let path = self.path(cid);
		let mut file = std::fs::OpenOptions::new()
			.write(true)
			.create(true)
			.truncate(true)
			.mode(0o600)
			.open(&path)
			.with_context(|| format!("writing {}", path.display()))?;
		writeln!(file, "{}", hex::encode(key.as_bytes()))?;
		Ok(path)
	}

	/// The key of `cid`, if kept.
	pub fn get(&self, cid: &str) -> Result<Option<vouch_primitives::envelope::DataKey>> {
		let path = self.path(cid);
		if !path.exists() {
			return Ok(None);
		}
		read_data_key(&path).map(Some)
	}
}

/// A data key file: 64 hex digits.
pub fn read_data_key(path: &std::path::Path) -> Result<vouch_primitives::envelope::DataKey> {
	let text = std::fs::read_to_string(path)
		.with_context(|| format!("reading the data key {}", path.display()))?;
	let bytes = hex::decode(text.trim())
		.ok()
		.and_then(|b| <[u8; 32]>::try_from(b).ok())
		.ok_or_else(|| anyhow!("{} is not a data key (64 hex digits)", path.display()))?;
	Ok(vouch_primitives::envelope::DataKey::from_bytes(bytes))
}

/// An amount of VOUCH: `10`, `0.5`, up to 12 decimals.
pub fn parse_amount(flag: &str, text: &str) -> Result<u128> {
	let text = text.trim();
	let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
	let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
	if !digits(whole) || (!frac.is_empty() && !digits(frac)) || frac.len() > 12 {
		return Err(bad(flag, format!("{text:?} is not an amount of VOUCH (e.g. 10 or 0.25)")));
	}
	let whole: u128 = whole.parse().map_err(|_| bad(flag, "too large"))?;
	let frac: u128 = format!("{frac:0<12}").parse().unwrap_or(0);
	whole.checked_mul(UNIT).and_then(|w| w.checked_add(frac)).ok_or_else(|| bad(flag, "too large"))
}

/// Units as VOUCH, trailing zeros trimmed.
pub fn vouch(units: u128) -> String {
	let whole = units / UNIT;
	let frac = units % UNIT;
	if frac == 0 {
		whole.to_string()
	} else {
		format!("{whole}.{}", format!("{frac:012}").trim_end_matches('0'))
	}
}

/// The account named on the command line, or the key's.
pub fn who(global: &Global, given: Option<String>) -> Result<[u8; 32]> {
	match given {
		Some(text) => parse_account("ACCOUNT", &text),
		None => Ok(global.keys()?.account.account()),
	}
}

/// An account given as SS58.
pub fn parse_account(flag: &str, text: &str) -> Result<[u8; 32]> {
	vouch_client::AccountId::from_str(text.trim())
		.map(|a| a.0)
		.map_err(|_| bad(flag, format!("{text:?} is not an SS58 account")))
}

/// An account as SS58.
pub fn ss58(who: [u8; 32]) -> String {
	vouch_client::AccountId::from(who).to_string()
}

/// `sha256:<hex>` as bytes.
pub fn parse_image_id(flag: &str, text: &str) -> Result<[u8; 32]> {
	text.strip_prefix("sha256:")
		.and_then(|h| hex::decode(h).ok())
		.and_then(|b| <[u8; 32]>::try_from(b).ok())
		.ok_or_else(|| bad(flag, "an image ID is sha256:<64 hex digits>"))
}

/// Runs the command line; the exit code says how it ended.
pub async fn main() -> ExitCode {
	let cli = Cli::parse();
	let global = cli.global.clone();
	let outcome = match cli.command {
		Command::Key(c) => key::run(&global, c).await,
		Command::Store(c) => store::run(&global, c).await,
		Command::Lambda(c) => lambda::run(&global, c).await,
		Command::Task(c) => task::run(&global, c).await,
		Command::Market => account::market(&global).await,
		Command::Worker(c) => worker::run(&global, c).await,
		Command::Build(c) => build::run(&global, c).await,
		Command::Credit(c) => account::credit(&global, c).await,
		Command::Balance { account } => account::balance(&global, account).await,
		Command::Demo(args) => demo::run(&global, args).await,
	};
	match outcome {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			let (code, message) = explain(&e);
			if global.json {
				let value = serde_json::json!({ "error": message, "exit_code": code });
				println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
			}
			eprintln!("error: {message}");
			ExitCode::from(code)
		},
	}
}

/// The exit code and message of a failure: a pallet error is shown with its documentation.
fn explain(e: &anyhow::Error) -> (u8, String) {
	for cause in e.chain() {
		if let Some(f) = cause.downcast_ref::<Failure>() {
			return (f.code, f.message.clone());
		}
		if let Some(SubmitError::Dispatch { call, error, docs }) = cause.downcast_ref() {
			let docs = if docs.is_empty() { String::new() } else { format!(": {docs}") };
			return (exit::ON_CHAIN, format!("{call} was refused on-chain with {error}{docs}"));
		}
		if let Some(w) = cause.downcast_ref::<vouch_client::key_owner::Withheld>() {
			return (
				exit::WITHHELD,
				format!("{w} (the task will expire and refund its requester)"),
			);
		}
	}
	(1, format!("{e:#}"))
}
