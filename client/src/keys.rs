//! A worker's or a user's account key, read from a file that only its owner may read: the
//! secret never travels on a command line, where `ps` and shell histories would show it.

use std::{os::unix::fs::PermissionsExt, path::Path, str::FromStr};

use anyhow::{anyhow, bail, Context as _, Result};
use polkadot_sdk::sp_core::{sr25519, Pair as _};
use subxt_signer::{sr25519::Keypair, SecretUri};

/// An sr25519 account key: the transaction signer and the same key as an `sp_core` pair, which
/// signs the sortition's VRF claims (the account id is the VRF key).
#[derive(Clone)]
pub struct AccountKey {
	/// Signs transactions.
	pub signer: Keypair,
	/// Signs VRF claims.
	pub pair: sr25519::Pair,
}

impl AccountKey {
	/// The key of a secret URI: a dev name (`//Charlie`), a mnemonic or a `0x` seed, with
	/// optional derivation paths.
	pub fn from_uri(uri: &str) -> Result<Self> {
		let uri = uri.trim();
		let signer = Keypair::from_uri(
			&SecretUri::from_str(uri).map_err(|e| anyhow!("not a secret URI: {e}"))?,
		)
		.map_err(|e| anyhow!("not a usable sr25519 secret: {e}"))?;
		let pair = sr25519::Pair::from_string(uri, None)
			.map_err(|e| anyhow!("not a usable sr25519 secret: {e:?}"))?;
		if signer.public_key().0 != pair.public().0 {
			bail!("the secret derives two different keys in subxt-signer and sp-core");
		}
		Ok(Self { signer, pair })
	}

	/// Reads the secret URI in `path`, refusing a file that its group or others may read.
	pub fn from_file(path: &Path) -> Result<Self> {
		let meta = std::fs::metadata(path)
			.with_context(|| format!("reading the key file {}", path.display()))?;
		let mode = meta.permissions().mode() & 0o777;
		if mode & 0o077 != 0 {
			bail!(
				"the key file {} is readable by others (mode {mode:o}): `chmod 600 {}`",
				path.display(),
				path.display()
			);
		}
		let text = std::fs::read_to_string(path)
			.with_context(|| format!("reading the key file {}", path.display()))?;
		Self::from_uri(&text).with_context(|| format!("the key file {}", path.display()))
	}

	/// Writes `uri` to a new key file readable by its owner only (mode 0600).
	pub fn write_file(path: &Path, uri: &str) -> Result<()> {
		use std::{io::Write, os::unix::fs::OpenOptionsExt};
		Self::from_uri(uri)?;
		let mut file = std::fs::OpenOptions::new()
			.write(true)
			.create(true)
			.truncate(true)
			.mode(0o600)
			.open(path)
			.with_context(|| format!("creating the key file {}", path.display()))?;
		std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
		writeln!(file, "{uri}")?;
		Ok(())
	}

	/// The account id, as raw bytes.
	pub fn account(&self) -> [u8; 32] {
		self.signer.public_key().0
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_key_file_others_can_read_is_refused_and_a_private_one_is_read() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("key");
		AccountKey::write_file(&path, "//Charlie").unwrap();
		let key = AccountKey::from_file(&path).unwrap();
		assert_eq!(key.account(), subxt_signer::sr25519::dev::charlie().public_key().0);
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
		let refused = AccountKey::from_file(&path).err().expect("a world-readable key is refused");
		assert!(refused.to_string().contains("readable by others"), "{refused}");
	}

	#[test]
	fn a_malformed_secret_is_refused_by_name() {
		let refused = AccountKey::from_uri("not a key").err().expect("refused");
		assert!(refused.to_string().contains("secret"), "{refused}");
	}
}
