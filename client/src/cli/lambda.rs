//! `vouch lambda`: Bob's side. A code directory is packed as a tar archive (sealed under a
//! fresh key with `--encrypt`: the key stays in Bob's keyring, and `vouch lambda serve` releases it
//! to each task's executor once its checks pass), uploaded with its image tarball, and
//! published with its manifest and price.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use vouch_client::{
	archive, calls,
	key_owner::{self, Policy},
	reads, requester,
};
use vouch_primitives::envelope::DataKey;

use super::{bad, follow, parse_amount, parse_image_id, ss58, vouch, Global, Keyring};

#[derive(Subcommand)]
pub enum LambdaCommand {
	/// Packs DIR, uploads it and the image, and publishes the lambda.
	Publish {
		/// The code directory (mounted read-only at `/code` in the job).
		dir: PathBuf,
		/// The job image: a `docker save` tarball.
		#[arg(long)]
		image: PathBuf,
		/// Its image ID, `sha256:<hex>` (what `docker inspect` shows as `.Id`).
		#[arg(long)]
		image_id: String,
		/// The price of a run, in VOUCH (paid to you from each task's payment).
		#[arg(long)]
		price: String,
		/// The program to run.
		#[arg(long, default_value = "/bin/sh")]
		entrypoint: String,
		/// An argument (repeat for more).
		#[arg(long = "arg", allow_hyphen_values = true)]
		args: Vec<String>,
		/// An environment variable, `KEY=value` (repeat for more).
		#[arg(long = "env")]
		env: Vec<String>,
		/// CPU, in thousandths of a core.
		#[arg(long, default_value_t = 1000)]
		cpu: u32,
		/// Memory, in MiB.
		#[arg(long, default_value_t = 256)]
		memory: u32,
		/// Wall-clock limit of a run, in seconds.
		#[arg(long, default_value_t = 60)]
		time_limit: u32,
		/// Most output, in bytes.
		#[arg(long, default_value_t = 1 << 20)]
		max_output: u64,
		/// Seal the code: only executors whose sandbox you checked get its key.
		#[arg(long)]
		encrypt: bool,
	},
	/// One lambda.
	Show {
		/// Its id.
		id: u64,
	},
	/// Every lambda.
	List,
	/// Stops new tasks from using a lambda of yours (its record stays).
	Retire {
		/// Its id.
		id: u64,
	},
	/// Sets a new price for a lambda of yours (posted tasks keep theirs).
	Reprice {
		/// Its id.
		id: u64,
		/// The new price, in VOUCH.
		#[arg(long)]
		price: String,
	},
	/// Serves your encrypted lambdas: for each task that runs one, checks the committee and the
	/// executor's sandbox off-chain and releases the code key, until Ctrl-C.
	Serve {
		/// Only this lambda (default: all of yours that are encrypted).
		#[arg(long)]
		id: Option<u64>,
		#[command(flatten)]
		policy: follow::PolicyArgs,
	},
}

/// The regular files under `dir`, relative and sorted, as a tar archive.
fn pack(dir: &Path) -> Result<(Vec<u8>, usize)> {
	if !dir.is_dir() {
		return Err(bad("DIR", format!("{} is not a directory", dir.display())));
	}
	let files = archive::files_under(dir)?;
	if files.is_empty() {
		return Err(bad("DIR", format!("{} holds no files", dir.display())));
	}
	let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
	Ok((archive::pack(&refs)?, files.len()))
}

fn view_json(id: u64, l: &reads::LambdaView) -> serde_json::Value {
	json!({
		"id": id,
		"owner": ss58(l.owner),
		"price": vouch(l.price),
		"encrypted": l.encrypted,
		"retired": l.retired,
		"runs": l.runs,
		"failures": l.failures,
		"code_cid": l.code_cid,
		"image_id": format!("sha256:{}", hex::encode(l.image_digest)),
		"image_cid": l.image_cid,
		"entrypoint": l.entrypoint,
		"args": l.args,
		"env": l.env,
		"cpu_millicores": l.limits.cpu_millicores,
		"memory_mib": l.limits.memory_mib,
		"time_limit_secs": l.limits.time_limit_secs,
		"max_output_bytes": l.limits.max_output_bytes,
	})
}

async fn owned(
	global: &Global,
	id: u64,
) -> Result<(vouch_client::Chain, vouch_client::keys::KeyFile)> {
	let keys = global.keys()?;
	let chain = global.chain().await?;
	let lambda = follow::lambda(&chain.at_finalized().await?, id).await?;
	if lambda.owner != keys.account.account() {
		return Err(bad("ID", format!("lambda {id} is {}'s, not yours", ss58(lambda.owner))));
	}
	Ok((chain, keys))
}

pub async fn run(global: &Global, command: LambdaCommand) -> Result<()> {
	match command {
		LambdaCommand::Publish {
			dir,
			image,
			image_id,
			price,
			entrypoint,
			args,
			env,
			cpu,
			memory,
			time_limit,
			max_output,
			encrypt,
		} => {
			let price = parse_amount("--price", &price)?;
			let image_id = parse_image_id("--image-id", &image_id)?;
			if !image.is_file() {
				return Err(bad(
					"--image",
					format!("{} is not a file (a `docker save` tarball)", image.display()),
				));
			}
			if let Some(bad_env) = env.iter().find(|e| !e.contains('=')) {
				return Err(bad("--env", format!("{bad_env:?} is not KEY=value")));
			}
			let (code, files) = pack(&dir)?;
			let keys = global.keys()?;
			let chain = global.chain().await?;
			let code_key = encrypt.then(DataKey::generate);
			let manifest = calls::ManifestSpec {
				entrypoint,
				args,
				env,
				cpu_millicores: cpu,
				memory_mib: memory,
				time_limit_secs: time_limit,
				max_output_bytes: max_output,
			};
			let bar = global
				.spinner(format!("uploading the image and {files} code files, then publishing"));
			let published = requester::publish_lambda(
				&chain,
				&keys.account.signer,
				&global.store(),
				&image,
				image_id,
				code,
				code_key.as_ref(),
				&manifest,
				price,
			)
			.await
			.map_err(|e| global.store_error(e));
			bar.finish_and_clear();
			let (id, code_cid) = published?;
			let key_file = match &code_key {
				Some(key) => Some(Keyring::new(global).save(&code_cid, key)?),
				None => None,
			};
			global.print(
				json!({ "id": id, "code_cid": code_cid, "encrypted": encrypt, "key_file": key_file, "price": vouch(price) }),
				|| {
					let mut text = format!("lambda   {id}\ncode     {code_cid} ({files} files{})\nprice    {} VOUCH a run", if encrypt { ", sealed" } else { "" }, vouch(price));
					if let Some(path) = &key_file {
						text.push_str(&format!(
							"\ncode key {} (run `vouch lambda serve` to release it to checked executors)",
							path.display()
						));
					}
					text
				},
			);
			Ok(())
		},
		LambdaCommand::Show { id } => {
			let chain = global.chain().await?;
			let l = follow::lambda(&chain.at_finalized().await?, id).await?;
			global.print(view_json(id, &l), || {
				format!(
					"lambda     {id}{}\nowner      {}\nprice      {} VOUCH\ncode       {}{}\nimage      sha256:{} ({})\nrun        {} {}\nlimits     {} mCPU, {} MiB, {} s, {} bytes out\nruns       {} ({} failed)",
					if l.retired { " (retired)" } else { "" },
					ss58(l.owner),
					vouch(l.price),
					l.code_cid,
					if l.encrypted { " (sealed)" } else { "" },
					hex::encode(l.image_digest),
					l.image_cid,
					l.entrypoint,
					l.args.join(" "),
					l.limits.cpu_millicores,
					l.limits.memory_mib,
					l.limits.time_limit_secs,
					l.limits.max_output_bytes,
					l.runs,
					l.failures,
				)
			});
			Ok(())
		},
		LambdaCommand::List => {
			let chain = global.chain().await?;
			let at = chain.at_finalized().await?;
			let mut all = Vec::new();
			for id in reads::lambda_ids(&at).await? {
				if let Some(l) = reads::lambda(&at, id).await? {
					all.push((id, l));
				}
			}
			global.print(
				json!(all.iter().map(|(id, l)| view_json(*id, l)).collect::<Vec<_>>()),
				|| {
					let mut text = format!(
						"{:>4}  {:>10}  {:>6}  {:<9}  owner",
						"id", "price", "runs", "code"
					);
					for (id, l) in &all {
						text.push_str(&format!(
							"\n{id:>4}  {:>10}  {:>6}  {:<9}  {}",
							vouch(l.price),
							l.runs,
							match (l.retired, l.encrypted) {
								(true, _) => "retired",
								(false, true) => "sealed",
								(false, false) => "open",
							},
							ss58(l.owner)
						));
					}
					text
				},
			);
			Ok(())
		},
		LambdaCommand::Retire { id } => {
			let (chain, keys) = owned(global, id).await?;
			chain.submit(&keys.account.signer, &calls::retire_lambda(id)).await?;
			global.print(json!({ "id": id, "retired": true }), || {
				format!("lambda {id} is retired: no new task may use it")
			});
			Ok(())
		},
		LambdaCommand::Reprice { id, price } => {
			let price = parse_amount("--price", &price)?;
			let (chain, keys) = owned(global, id).await?;
			chain.submit(&keys.account.signer, &calls::reprice_lambda(id, price)).await?;
			global.print(json!({ "id": id, "price": vouch(price) }), || {
				format!(
					"lambda {id} now costs {} VOUCH a run (posted tasks keep their price)",
					vouch(price)
				)
			});
			Ok(())
		},
		LambdaCommand::Serve { id, policy } => serve(global, id, policy.policy()?).await,
	}
}

/// Follows the chain and, for every live task on one of the developer's sealed lambdas,
/// watches it as the code key's owner (the checks of [`Policy`], then the release).
async fn serve(global: &Global, only: Option<u64>, policy: Policy) -> Result<()> {
	let keys = global.keys()?;
	let chain = global.chain().await?;
	let me = keys.account.account();
	let keyring = Keyring::new(global);
	let mut watched = std::collections::BTreeSet::new();
	let mut tasks = tokio::task::JoinSet::new();
	eprintln!("serving the code keys of {}'s sealed lambdas (Ctrl-C stops)", ss58(me));
	loop {
		let at = chain.at_finalized().await?;
		for task_id in reads::task_ids(&at).await? {
			if watched.contains(&task_id) {
				continue;
			}
			let Some(view) = reads::task(&at, task_id).await? else { continue };
			if view.status.is_final()
				|| view.developer != me
				|| !view.encrypted_code
				|| only.is_some_and(|id| id != view.lambda)
			{
				continue;
			}
			let lambda = follow::lambda(&at, view.lambda).await?;
			let owed = key_owner::owed_keys(&view, &lambda.code_cid, me, |cid| keyring.get(cid))?;
			watched.insert(task_id);
			let (chain, signer, policy) =
				(chain.clone(), keys.account.signer.clone(), policy.clone());
			eprintln!("task {task_id} runs lambda {}: watching it", view.lambda);
			tasks.spawn(async move {
				let outcome = key_owner::watch_task(
					&chain,
					&signer,
					task_id,
					&owed,
					&policy,
					std::time::Duration::from_secs(3600),
					|event| follow::report(task_id, event),
				)
				.await;
				(task_id, outcome)
			});
		}
		while let Some(done) = tasks.try_join_next() {
			match done {
				Ok((task_id, Ok((end, _)))) => eprintln!("task {task_id} ended: {end}"),
				Ok((task_id, Err(e))) => eprintln!("task {task_id}: {e:#}"),
				Err(e) => eprintln!("a watch failed: {e}"),
			}
		}
		tokio::select! {
			_ = tokio::signal::ctrl_c() => return Ok(()),
			_ = tokio::time::sleep(std::time::Duration::from_secs(3)) => {},
		}
	}
}
