//! `vouch store`: data in and out of the content store, sealed in the envelope under a fresh
//! data key kept in the keyring. The store only ever sees envelopes.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _, Result};
use clap::Subcommand;
use serde_json::json;
use vouch_primitives::{
	content_id::ContentId,
	envelope::{self, DataKey},
};

use super::{bad, exit, fail, read_data_key, Global, Keyring};

#[derive(Subcommand)]
pub enum StoreCommand {
	/// Seals FILE under a fresh data key, uploads the envelope and prints its CID; the key goes
	/// to the keyring (`$VOUCH_HOME/keys/<cid>.key`).
	Put {
		/// The file to seal and upload.
		file: PathBuf,
	},
	/// Downloads CID (checked against the CID), opens it with its key and writes `--out`.
	Get {
		/// The envelope's CID.
		cid: String,
		/// Where to write the plaintext.
		#[arg(long)]
		out: PathBuf,
		/// The data key file (64 hex digits); default the keyring's.
		#[arg(long)]
		data_key: Option<PathBuf>,
	},
}

/// Seals `file` into a temporary envelope and uploads it: the CID and the key.
pub async fn put(global: &Global, file: &std::path::Path) -> Result<(ContentId, DataKey, u64)> {
	let size =
		std::fs::metadata(file).map_err(|e| bad("FILE", format!("{}: {e}", file.display())))?.len();
	let key = DataKey::generate();
	let sealed = tempfile::NamedTempFile::new().context("a temporary file for the envelope")?;
	{
		let input = std::fs::File::open(file)
			.map_err(|e| bad("FILE", format!("{}: {e}", file.display())))?;
		let mut output = std::io::BufWriter::new(sealed.as_file());
		envelope::encrypt(&key, std::io::BufReader::new(input), &mut output)
			.map_err(|e| anyhow!("sealing {}: {e}", file.display()))?;
		std::io::Write::flush(&mut output)?;
	}
	let bar = global.byte_bar("uploading", sealed.as_file().metadata()?.len());
	let feed = bar.clone();
	let cid = global
		.store()
		.put_file_reporting(sealed.path(), move |n| feed.inc(n))
		.await
		.map_err(|e| global.store_error(e));
	bar.finish_and_clear();
	Ok((cid?, key, size))
}

/// Downloads `cid` and opens it with `key` into `out`: the plaintext's length. The envelope
/// is checked against the CID before a byte of plaintext is written, and a forged envelope
/// leaves no `out`.
pub async fn get(
	global: &Global,
	cid: &ContentId,
	key: &DataKey,
	out: &std::path::Path,
) -> Result<u64> {
	let store = global.store();
	let total = store.size(cid).await.map_err(|e| global.store_error(e))?;
	let Some(total) = total else {
		return Err(fail(exit::NOT_FOUND, format!("the store at {} has no {cid}", global.store)));
	};
	let dir =
		out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
	let envelope =
		tempfile::NamedTempFile::new_in(dir).context("a temporary file for the envelope")?;
	let bar = global.byte_bar("downloading", total);
	{
		let file = tokio::fs::File::create(envelope.path()).await?;
		let mut writer = bar.wrap_async_write(file);
		store.get_to(cid, &mut writer).await.map_err(|e| global.store_error(e))?;
	}
	bar.finish_and_clear();
	let plain =
		tempfile::NamedTempFile::new_in(dir).context("a temporary file for the plaintext")?;
	let len = envelope::decrypt(
		key,
		std::io::BufReader::new(std::fs::File::open(envelope.path())?),
		std::io::BufWriter::new(plain.as_file()),
	)
	.map_err(|e| anyhow!("opening {cid}: {e} (is it the right data key?)"))?;
	plain.persist(out).with_context(|| format!("writing {}", out.display()))?;
	Ok(len)
}

/// A CID given on the command line.
pub fn parse_cid(flag: &str, text: &str) -> Result<ContentId> {
	ContentId::parse(text.trim()).map_err(|e| bad(flag, format!("{text:?} is not a CID ({e})")))
}

/// A size for people.
pub fn bytes(n: u64) -> String {
	match n {
		n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
		n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
		n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
		n => format!("{n} B"),
	}
}

pub async fn run(global: &Global, command: StoreCommand) -> Result<()> {
	match command {
		StoreCommand::Put { file } => {
			let started = std::time::Instant::now();
			let (cid, key, size) = put(global, &file).await?;
			let key_path = Keyring::new(global).save(&cid.to_string(), &key)?;
			let seconds = started.elapsed().as_secs_f64();
			global.print(
				json!({ "cid": cid.to_string(), "key_file": key_path, "bytes": size, "seconds": seconds }),
				|| {
					format!(
						"cid      {cid}\nkey      {} (give it to no one: tasks get it sealed to their executor's TPM)\nsealed   {} in {seconds:.2} s",
						key_path.display(),
						bytes(size)
					)
				},
			);
			Ok(())
		},
		StoreCommand::Get { cid, out, data_key } => {
			let id = parse_cid("CID", &cid)?;
			let key = match data_key {
				Some(path) => {
					read_data_key(&path).map_err(|e| bad("--data-key", format!("{e:#}")))?
				},
				None => Keyring::new(global).get(&id.to_string())?.ok_or_else(|| {
					bad(
						"--data-key",
						format!(
							"no key for {id} in the keyring ({}); give its key file",
							Keyring::new(global).path(&id.to_string()).display()
						),
					)
				})?,
			};
			let started = std::time::Instant::now();
			let len = get(global, &id, &key, &out).await?;
			let seconds = started.elapsed().as_secs_f64();
			global.print(
				json!({ "cid": id.to_string(), "out": out, "bytes": len, "seconds": seconds }),
				|| {
					format!(
						"wrote    {} ({}, checked and opened in {seconds:.2} s)",
						out.display(),
						bytes(len)
					)
				},
			);
			Ok(())
		},
	}
}
