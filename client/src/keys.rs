//! A worker's or a user's account key, read from a file that only its owner may read: the
//! secret never travels on a command line, where `ps` and shell histories would show it.

use std::{os::unix::fs::PermissionsExt, path::Path, str::FromStr};

use anyhow::{anyhow, bail, Context as _, Result};
use polkadot_sdk::sp_core::{sr25519, Pair as _};
use sha2::Digest as _;
use subxt_signer::{sr25519::Keypair, SecretUri};
use vouch_primitives::envelope::DataKey;

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

	/// Reads the key in `path` (a secret URI, or a `vouch key new` key file, sealed or not),
	/// refusing a file that its group or others may read.
	pub fn from_file(path: &Path) -> Result<Self> {
		Ok(KeyFile::read(path, &Passphrase::from_env())?.account)
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

	/// A secret only this key's holder can compute, for `context` (a domain-separated,
	/// fixed-layout encoding of what it is for): `SHA-256("vouch/derived" || secret key ||
	/// context)`. For values the holder must be able to remake later without storing them,
	/// such as the reveal of an activation challenge.
	pub fn derive_secret(&self, context: &[u8]) -> [u8; 32] {
		sha2::Sha256::new()
			.chain_update(b"vouch/derived")
			.chain_update(self.pair.to_raw_vec())
			.chain_update(context)
			.finalize()
			.into()
	}
}

/// Where a key file's passphrase comes from: never the command line.
#[derive(Clone, Debug, Default)]
pub enum Passphrase {
	/// The file is not sealed (`vouch key new` without `--passphrase`).
	#[default]
	None,
	/// Given (read from `VOUCH_PASSPHRASE`, or typed at a prompt).
	Given(String),
	/// Asked for at the terminal when a sealed file is read.
	Prompt,
}

impl Passphrase {
	/// `VOUCH_PASSPHRASE` if set, else a prompt when needed.
	pub fn from_env() -> Self {
		match std::env::var("VOUCH_PASSPHRASE") {
			Ok(p) => Self::Given(p),
			Err(_) => Self::Prompt,
		}
	}

	fn get(&self, what: &str) -> Result<Option<String>> {
		Ok(match self {
			Self::None => None,
			Self::Given(p) => Some(p.clone()),
			Self::Prompt => Some(
				rpassword::prompt_password(format!("passphrase of {what}: "))
					.context("reading the passphrase (or set VOUCH_PASSPHRASE)")?,
			),
		})
	}
}

/// A user's keys: the sr25519 account that signs, and the X25519 key results are sealed to.
#[derive(Clone)]
pub struct KeyFile {
	/// The account.
	pub account: AccountKey,
	/// The secret URI it derives from.
	suri: String,
	/// The X25519 secret that opens results sealed to [`Self::result_public`].
	pub result_secret: [u8; 32],
	/// Its public key, given to tasks as a recipient's key.
	pub result_public: [u8; 32],
}

/// The secrets of a key file, as stored (inside the sealed envelope when protected).
#[derive(serde::Serialize, serde::Deserialize)]
struct Secrets {
	suri: String,
	result_secret: String,
}

/// The scrypt parameters and salt a sealed key file was protected with.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
	scrypt_log_n: u8,
	scrypt_r: u32,
	scrypt_p: u32,
	salt: String,
	/// The secrets' JSON in a Vouch envelope under the scrypt-derived key.
	envelope: String,
}

/// A key file on disk: public parts in the clear, secrets in the clear or sealed.
#[derive(serde::Serialize, serde::Deserialize)]
struct OnDisk {
	vouch_key: u32,
	account: String,
	result_public: String,
	#[serde(default, skip_serializing_if = "Option::is_none")]
	secrets: Option<Secrets>,
	#[serde(default, skip_serializing_if = "Option::is_none")]
	sealed: Option<Sealed>,
}

fn unhex32(text: &str, what: &str) -> Result<[u8; 32]> {
	let bytes =
		hex::decode(text.trim_start_matches("0x")).with_context(|| format!("{what} is not hex"))?;
	bytes.try_into().map_err(|_| anyhow!("{what} is not 32 bytes"))
}

fn scrypt_key(passphrase: &str, salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<DataKey> {
	let params =
		scrypt::Params::new(log_n, r, p, 32).map_err(|e| anyhow!("scrypt parameters: {e}"))?;
	let mut key = [0u8; 32];
	scrypt::scrypt(passphrase.as_bytes(), salt, &params, &mut key)
		.map_err(|e| anyhow!("scrypt: {e}"))?;
	Ok(DataKey::from_bytes(key))
}

impl KeyFile {
	/// Keys for `suri` with a fresh X25519 result key.
	pub fn new(suri: &str) -> Result<Self> {
		let (result_secret, result_public) = vouch_primitives::envelope::recipient_keypair();
		Ok(Self {
			account: AccountKey::from_uri(suri)?,
			suri: suri.trim().into(),
			result_secret,
			result_public,
		})
	}

	/// Keys for `suri` whose result key derives from the account (a dev account's
	/// `--suri //Alice` then opens the same results every time).
	pub fn derived(suri: &str) -> Result<Self> {
		let account = AccountKey::from_uri(suri)?;
		let seed: [u8; 32] = sha2::Sha256::digest(
			[b"vouch/result-key/".as_slice(), &account.pair.to_raw_vec()].concat(),
		)
		.into();
		let result_public = vouch_primitives::envelope::recipient_public(&seed)
			.map_err(|e| anyhow!("deriving the result key: {e:?}"))?;
		Ok(Self { account, suri: suri.trim().into(), result_secret: seed, result_public })
	}

	/// Writes a new key file at `path` (mode 0600, refusing to overwrite), its secrets sealed
	/// under `passphrase` when one is given.
	pub fn write(&self, path: &Path, passphrase: &Passphrase) -> Result<()> {
		use std::{io::Write, os::unix::fs::OpenOptionsExt};
		let secrets =
			Secrets { suri: self.suri.clone(), result_secret: hex::encode(self.result_secret) };
		let (secrets, sealed) = match passphrase.get(&path.display().to_string())? {
			None => (Some(secrets), None),
			Some(pass) => {
				let salt: [u8; 16] = rand_bytes();
				let (log_n, r, p) = (15, 8, 1);
				let key = scrypt_key(&pass, &salt, log_n, r, p)?;
				let plain = serde_json::to_vec(&secrets)?;
				let envelope = vouch_primitives::envelope::seal_bytes(&key, &plain);
				let sealed = Sealed {
					scrypt_log_n: log_n,
					scrypt_r: r,
					scrypt_p: p,
					salt: hex::encode(salt),
					envelope: hex::encode(envelope),
				};
				(None, Some(sealed))
			},
		};
		let disk = OnDisk {
			vouch_key: 1,
			account: crate::AccountId::from(self.account.account()).to_string(),
			result_public: hex::encode(self.result_public),
			secrets,
			sealed,
		};
		let mut file = std::fs::OpenOptions::new()
			.write(true)
			.create_new(true)
			.mode(0o600)
			.open(path)
			.with_context(|| {
				format!("creating the key file {} (it must not exist yet)", path.display())
			})?;
		serde_json::to_writer_pretty(&mut file, &disk)?;
		writeln!(file)?;
		Ok(())
	}

	/// Reads the key file at `path` (or a plain secret-URI file, whose result key is then
	/// derived from the account), refusing one its group or others may read.
	pub fn read(path: &Path, passphrase: &Passphrase) -> Result<Self> {
		let text = {
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
			std::fs::read_to_string(path)
				.with_context(|| format!("reading the key file {}", path.display()))?
		};
		if !text.trim_start().starts_with('{') {
			return Self::derived(text.trim())
				.with_context(|| format!("the key file {}", path.display()));
		}
		let what = || format!("the key file {}", path.display());
		let disk: OnDisk = serde_json::from_str(&text).with_context(what)?;
		let secrets = match (disk.secrets, disk.sealed) {
			(Some(s), _) => s,
			(None, Some(sealed)) => {
				let pass = passphrase.get(&path.display().to_string())?.ok_or_else(|| {
					anyhow!("{} is sealed: give its passphrase (VOUCH_PASSPHRASE)", what())
				})?;
				let salt = hex::decode(&sealed.salt).with_context(what)?;
				let key = scrypt_key(
					&pass,
					&salt,
					sealed.scrypt_log_n,
					sealed.scrypt_r,
					sealed.scrypt_p,
				)?;
				let envelope = hex::decode(&sealed.envelope).with_context(what)?;
				let plain = vouch_primitives::envelope::open_bytes(&key, &envelope)
					.map_err(|_| anyhow!("wrong passphrase for {}", what()))?;
				serde_json::from_slice(&plain).with_context(what)?
			},
			(None, None) => bail!("{} holds no secrets", what()),
		};
		let account = AccountKey::from_uri(&secrets.suri).with_context(what)?;
		let result_secret = unhex32(&secrets.result_secret, "result_secret").with_context(what)?;
		let result_public = vouch_primitives::envelope::recipient_public(&result_secret)
			.map_err(|e| anyhow!("{}: the result key: {e:?}", what()))?;
		if crate::AccountId::from(account.account()).to_string() != disk.account
			|| hex::encode(result_public) != disk.result_public
		{
			bail!("{}: its public parts do not match its secrets", what());
		}
		Ok(Self { account, suri: secrets.suri, result_secret, result_public })
	}
}

/// The public parts of the key file at `path` (account SS58, result public key), read
/// without its secrets: `vouch key show` needs no passphrase.
pub fn read_public(path: &Path) -> Result<(String, [u8; 32])> {
	let text = std::fs::read_to_string(path)
		.with_context(|| format!("reading the key file {}", path.display()))?;
	if !text.trim_start().starts_with('{') {
		let keys = KeyFile::derived(text.trim())
			.with_context(|| format!("the key file {}", path.display()))?;
		return Ok((
			crate::AccountId::from(keys.account.account()).to_string(),
			keys.result_public,
		));
	}
	let disk: OnDisk =
		serde_json::from_str(&text).with_context(|| format!("the key file {}", path.display()))?;
	Ok((disk.account, unhex32(&disk.result_public, "result_public")?))
}

fn rand_bytes<const N: usize>() -> [u8; N] {
	let mut out = [0u8; N];
	// A fresh data key is 32 random bytes from the OS: reuse its source.
	let mut filled = 0;
	while filled < N {
		let key = DataKey::generate();
		let take = (N - filled).min(32);
		out[filled..filled + take].copy_from_slice(&key.as_bytes()[..take]);
		filled += take;
	}
	out
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
		let keys = KeyFile::read(&path, &Passphrase::None).unwrap();
		assert_eq!(keys.result_public, KeyFile::derived("//Charlie").unwrap().result_public);
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
		let refused = AccountKey::from_file(&path).err().expect("a world-readable key is refused");
		assert!(refused.to_string().contains("readable by others"), "{refused}");
	}

	#[test]
	fn a_sealed_key_file_opens_with_its_passphrase_only() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("key.json");
		let keys = KeyFile::new("//Dave").unwrap();
		keys.write(&path, &Passphrase::Given("correct horse".into())).unwrap();
		let text = std::fs::read_to_string(&path).unwrap();
		assert!(
			!text.contains("Dave") && !text.contains(&hex::encode(keys.result_secret)),
			"{text}"
		);
		assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
		let wrong =
			KeyFile::read(&path, &Passphrase::Given("battery staple".into())).err().unwrap();
		assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
		let read = KeyFile::read(&path, &Passphrase::Given("correct horse".into())).unwrap();
		assert_eq!(read.account.account(), keys.account.account());
		assert_eq!(read.result_secret, keys.result_secret);
		let again = keys.write(&path, &Passphrase::None).err().unwrap();
		assert!(format!("{again:#}").contains("must not exist"), "{again:#}");
	}

	#[test]
	fn an_open_key_file_reads_back_and_a_tampered_one_is_refused() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("key.json");
		let keys = KeyFile::new("//Eve").unwrap();
		keys.write(&path, &Passphrase::None).unwrap();
		let read = KeyFile::read(&path, &Passphrase::None).unwrap();
		assert_eq!(read.result_public, keys.result_public);
		let text = std::fs::read_to_string(&path).unwrap();
		let other = KeyFile::new("//Ferdie").unwrap();
		let forged =
			text.replace(&hex::encode(keys.result_public), &hex::encode(other.result_public));
		std::fs::write(&path, forged).unwrap();
		let refused = KeyFile::read(&path, &Passphrase::None).err().unwrap();
		assert!(refused.to_string().contains("do not match"), "{refused}");
	}

	#[test]
	fn a_malformed_secret_is_refused_by_name() {
		let refused = AccountKey::from_uri("not a key").err().expect("refused");
		assert!(refused.to_string().contains("secret"), "{refused}");
	}
}
