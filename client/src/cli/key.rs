//! `vouch key`: the account that signs and the X25519 key results are sealed to, in one key
//! file (mode 0600). Secrets never travel on the command line: `import` reads them from
//! stdin, a passphrase from `VOUCH_PASSPHRASE` or the terminal.

use std::{io::Read as _, path::PathBuf};

use anyhow::{Context as _, Result};
use clap::Subcommand;
use polkadot_sdk::sp_core::{sr25519, Pair as _};
use serde_json::json;
use vouch_client::keys::{self, KeyFile, Passphrase};

use super::{bad, Global};

#[derive(Subcommand)]
pub enum KeyCommand {
	/// Creates a key file with a fresh account and result key (default `$VOUCH_HOME/key.json`).
	New {
		/// Where to write it (it must not exist).
		#[arg(long)]
		out: Option<PathBuf>,
		/// Seal the secrets under a passphrase (from `VOUCH_PASSPHRASE`, else asked twice).
		#[arg(long)]
		passphrase: bool,
	},
	/// Imports an account: its secret URI (a recovery phrase, `0x` seed or `//Dev` name) is
	/// read from stdin; a fresh result key is added.
	Import {
		/// Where to write the key file (it must not exist).
		#[arg(long)]
		out: Option<PathBuf>,
		/// Seal the secrets under a passphrase.
		#[arg(long)]
		passphrase: bool,
	},
	/// Shows the account and the result public key (no passphrase needed).
	Show,
}

fn passphrase(wanted: bool) -> Result<Passphrase> {
	if !wanted {
		return Ok(Passphrase::None);
	}
	if let Ok(given) = std::env::var("VOUCH_PASSPHRASE") {
		if given.is_empty() {
			return Err(bad("--passphrase", "VOUCH_PASSPHRASE is empty"));
		}
		return Ok(Passphrase::Given(given));
	}
	let first = rpassword::prompt_password("new passphrase: ").context("reading the passphrase")?;
	let second = rpassword::prompt_password("again: ").context("reading the passphrase")?;
	if first.is_empty() || first != second {
		return Err(bad("--passphrase", "the two passphrases are empty or differ"));
	}
	Ok(Passphrase::Given(first))
}

fn write(global: &Global, keys: &KeyFile, out: Option<PathBuf>, sealed: bool) -> Result<()> {
	let path = out.unwrap_or_else(|| global.key_path());
	if path.exists() {
		return Err(bad("--out", format!("{} exists; keys are never overwritten", path.display())));
	}
	if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
		std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
	}
	keys.write(&path, &passphrase(sealed)?)?;
	let account = super::ss58(keys.account.account());
	global.print(
		json!({
			"key_file": path,
			"account": account,
			"result_public": hex::encode(keys.result_public),
			"sealed": sealed,
		}),
		|| {
			format!(
				"key file   {}{}\naccount    {account}\nresult key {}\nkeep the file safe: it is the only copy of these secrets",
				path.display(),
				if sealed { " (sealed under your passphrase)" } else { "" },
				hex::encode(keys.result_public)
			)
		},
	);
	Ok(())
}

pub async fn run(global: &Global, command: KeyCommand) -> Result<()> {
	match command {
		KeyCommand::New { out, passphrase } => {
			let (_pair, phrase, _seed) = sr25519::Pair::generate_with_phrase(None);
			write(global, &KeyFile::new(&phrase)?, out, passphrase)
		},
		KeyCommand::Import { out, passphrase } => {
			let mut suri = String::new();
			std::io::stdin()
				.read_to_string(&mut suri)
				.context("reading the secret URI from stdin")?;
			let suri = suri.trim();
			if suri.is_empty() {
				return Err(bad(
					"stdin",
					"give the secret URI on stdin (`vouch key import < phrase.txt`)",
				));
			}
			let keys = KeyFile::new(suri).map_err(|_| {
				bad("stdin", "not a secret URI (a recovery phrase, a 0x seed or a //Dev name)")
			})?;
			write(global, &keys, out, passphrase)
		},
		KeyCommand::Show => {
			let (account, result_public, source) = match &global.suri {
				Some(_) => {
					let keys = global.keys()?;
					(super::ss58(keys.account.account()), keys.result_public, "--suri".to_string())
				},
				None => {
					let path = global.key_path();
					if !path.exists() {
						return Err(bad(
							"--key",
							format!(
								"no key file at {} (`vouch key new` makes one)",
								path.display()
							),
						));
					}
					let (account, public) = keys::read_public(&path)?;
					(account, public, path.display().to_string())
				},
			};
			global.print(
				json!({ "source": source, "account": account, "result_public": hex::encode(result_public) }),
				|| {
					format!(
						"from       {source}\naccount    {account}\nresult key {}",
						hex::encode(result_public)
					)
				},
			);
			Ok(())
		},
	}
}
