//! The requester's and the developer's side of a task: publish a lambda, seal and upload an
//! input, post a task, release the input keys sealed to the elected executor's TPM once the
//! monitors confirmed its sandbox, wait for the end, and open the result. The CLI and the
//! end-to-end tests drive tasks through these.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use codec::Encode;
use subxt_signer::sr25519::Keypair;
use vouch_primitives::{
	envelope::{self, DataKey},
	TaskId,
};

use crate::{
	calls,
	reads::{self, Status},
	store::StoreClient,
	verify::{self, Checked, Policy},
	Chain,
};

/// Publishes a lambda: uploads the image tarball and the code archive (sealed under
/// `code_key` when given: the lambda is then encrypted, and its developer releases that key
/// to each executor) to `store` and publishes them with `manifest` for `price`. Returns the
/// lambda's id and the code's CID.
pub async fn publish_lambda(
	chain: &Chain,
	developer: &Keypair,
	store: &StoreClient,
	image_tarball: &std::path::Path,
	image_id: [u8; 32],
	code_tar: Vec<u8>,
	code_key: Option<&DataKey>,
	manifest: &calls::ManifestSpec,
	price: u128,
) -> Result<(u64, String)> {
	let image_cid = store.put_file(image_tarball).await.context("uploading the job image")?;
	let code = match code_key {
		Some(key) => envelope::seal_bytes(key, &code_tar),
		None => code_tar,
	};
	let code_cid = store.put_bytes(code).await.context("uploading the code")?;
	let published = chain
		.submit(
			developer,
			&calls::publish_lambda(
				&code_cid.to_string(),
				image_id,
				&image_cid.to_string(),
				manifest,
				price,
				code_key.is_some(),
			),
		)
		.await?;
	let id = published
		.id_from("Lambdas.Published")
		.ok_or_else(|| anyhow!("no Lambdas.Published event"))?;
	Ok((id, code_cid.to_string()))
}

/// Seals `plaintext` under a fresh data key and uploads the envelope: its CID and the key.
pub async fn seal_input(store: &StoreClient, plaintext: &[u8]) -> Result<(String, DataKey)> {
	let key = DataKey::generate();
	let cid = store.put_bytes(envelope::seal_bytes(&key, plaintext)).await?;
	Ok((cid.to_string(), key))
}

/// Posts `spec`: returns the new task's id.
pub async fn post_task(
	chain: &Chain,
	requester: &Keypair,
	spec: &calls::TaskSpec,
) -> Result<TaskId> {
	let posted = chain.submit(requester, &calls::post_task(spec)).await?;
	posted.id_from("Tasks.TaskPosted").ok_or_else(|| anyhow!("no Tasks.TaskPosted event"))
}

/// What a task went through, as the requester saw it: each status with the block it was
/// first seen at.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
	/// `(status, block number, seconds since the watch began)`.
	pub steps: Vec<(String, u64, f64)>,
}

fn status_name(status: &Status) -> String {
	match status {
		Status::Attesting { phase, .. } => format!("Attesting({phase:?})"),
		Status::Final(name) => (*name).to_string(),
		other => format!("{other:?}").split([' ', '{']).next().unwrap_or_default().to_string(),
	}
}

/// Follows `task` until it ends (or `timeout`), releasing `keys` (slot, data key) sealed to
/// the executor's TPM as soon as the task asks for them and the default [`Policy`]'s off-chain
/// checks pass; `progress` is told of each new status. Returns the final status and the
/// timeline.
pub async fn follow_task(
	chain: &Chain,
	owner: &Keypair,
	task: TaskId,
	keys: &[(u32, DataKey)],
	timeout: Duration,
	mut progress: impl FnMut(&str, u64),
) -> Result<(String, Timeline)> {
	watch_task(chain, owner, task, keys, &Policy::default(), timeout, |event| {
		if let Watched::Status { name, block } = event {
			progress(name, *block)
		}
	})
	.await
}

/// What [`watch_task`] reports.
#[derive(Debug)]
pub enum Watched<'a> {
	/// The task reached a new status.
	Status {
		/// Its name (`Sortition`, `Attesting(Before)`, ...).
		name: &'a str,
		/// The finalized block it was seen at.
		block: u64,
	},
	/// The owner backed the keys it owes (its key bond is held until the task ends).
	Backed,
	/// The release checks passed.
	Checked(&'a Checked),
	/// The key of a slot was released.
	Released(u32),
}

/// Why a watch stopped without the task ending.
#[derive(Debug, thiserror::Error)]
#[error("keys withheld from task {task}: {reason}")]
pub struct Withheld {
	/// The task.
	pub task: TaskId,
	/// The check that failed.
	pub reason: String,
}

/// Follows `task` until it ends (or `timeout`) as the owner of `keys` (slot, data key): backs
/// them if `owner` is not the requester, and once the task asks for keys, releases them
/// sealed to the executor's TPM only if [`verify::check_release`] passes `policy` (else it
/// stops with [`Withheld`], and the task expires refunded).
pub async fn watch_task(
	chain: &Chain,
	owner: &Keypair,
	task: TaskId,
	keys: &[(u32, DataKey)],
	policy: &Policy,
	timeout: Duration,
	mut report: impl FnMut(&Watched),
) -> Result<(String, Timeline)> {
	let started = tokio::time::Instant::now();
	let mut timeline = Timeline::default();
	let mut released = false;
	let mut backed = false;
	let mut name = String::from("unknown");
	let me = owner.public_key().0;
	loop {
		// One look at the chain. An error here (the node restarting, a dropped connection)
		// is retried until the timeout: every step re-reads what it needs, so none is
		// repeated.
		let step = async {
			let at = chain.at_finalized().await?;
			let number = at.block_number();
			let view = reads::task(&at, task).await?.ok_or_else(|| anyhow!("no task {task}"))?;
			let mut now = status_name(&view.status);
			// A redraw keeps the status: name the round, so a watcher sees the lottery retried.
			if view.round > 0 && matches!(view.status, Status::Sortition { .. }) {
				now = format!("{now}(round {} of {})", view.round + 1, view.max_rounds);
			}
			if timeline.steps.last().map(|s| &s.0) != Some(&now) {
				report(&Watched::Status { name: &now, block: number });
				timeline.steps.push((now.clone(), number, started.elapsed().as_secs_f64()));
			}
			name = now;
			if let Status::Final(end) = view.status {
				return Ok::<_, anyhow::Error>(Some(end.to_string()));
			}
			if !backed
				&& !keys.is_empty()
				&& view.requester != me
				&& matches!(view.status, Status::Posted | Status::Sortition { .. })
			{
				if reads::key_bond(&at, task, me).await?.is_none() {
					chain.submit(owner, &calls::back_keys(task)).await?;
				}
				backed = true;
				report(&Watched::Backed);
			}
			if let Status::KeyRelease { executor } = view.status {
				if !released {
					let checked = verify::check_release(chain, &at, &view, policy)
						.await?
						.map_err(|reason| Withheld { task, reason })?;
					report(&Watched::Checked(&checked));
					let worker = reads::worker(&at, executor)
						.await?
						.ok_or_else(|| anyhow!("the executor is not registered"))?;
					for (slot, key) in keys {
						if reads::released_key(&at, task, *slot).await?.is_some() {
							continue;
						}
						let sealed = envelope::seal_to_tpm(&worker.sealing_public, key)
							.map_err(|e| anyhow!("sealing to the executor's TPM: {e:?}"))?;
						chain.submit(owner, &calls::release_key(task, *slot, &sealed)).await?;
						report(&Watched::Released(*slot));
					}
					released = true;
				}
			}
			Ok(None)
		};
		match step.await {
			Ok(Some(end)) => return Ok((end, timeline)),
			Ok(None) => {},
			// A transaction that failed on-chain will fail again, and a failed check stays
			// failed: those are answers.
			Err(e)
				if e.downcast_ref::<crate::chain::SubmitError>()
					.is_some_and(|e| matches!(e, crate::chain::SubmitError::Dispatch { .. }))
					|| e.downcast_ref::<Withheld>().is_some() =>
			{
				return Err(e)
			},
			Err(e) => {
				tracing::warn!(task, error = %format!("{e:#}"), "reading the task failed; retrying")
			},
		}
		if started.elapsed() > timeout {
			bail!("task {task} did not end within {timeout:?} (now {name})");
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// The keys `owner` owes `task`, from `keyring` (data keys by CID): each input it owns,
/// and the code key if the lambda is encrypted and it is the developer. A key it owes but
/// does not hold is an error naming the CID.
pub fn owed_keys(
	view: &reads::TaskView,
	code_cid: &str,
	owner: [u8; 32],
	keyring: impl Fn(&str) -> Result<Option<DataKey>>,
) -> Result<Vec<(u32, DataKey)>> {
	let mut keys = Vec::new();
	for (slot, (cid, who)) in view.inputs.iter().enumerate() {
		if *who == owner {
			let key = keyring(cid)?.ok_or_else(|| {
				anyhow!("input {slot} ({cid}) is yours but its key is not in the keyring")
			})?;
			keys.push((slot as u32, key));
		}
	}
	if view.encrypted_code && view.developer == owner {
		let key = keyring(code_cid)?.ok_or_else(|| {
			anyhow!("the lambda's code ({code_cid}) is yours but its key is not in the keyring")
		})?;
		keys.push((view.inputs.len() as u32, key));
	}
	Ok(keys)
}

/// Opens the result of a settled `task` as its recipient `index` holding `secret`: fetches
/// the envelope from `store`, checks it is the CID on-chain, opens the revealed key.
pub async fn open_result(
	chain: &Chain,
	store: &StoreClient,
	task: TaskId,
	index: usize,
	secret: &[u8; 32],
) -> Result<Vec<u8>> {
	let at = chain.at_finalized().await?;
	let (cid, job_failed) =
		reads::result(&at, task).await?.ok_or_else(|| anyhow!("task {task} has no result"))?;
	if job_failed {
		bail!("task {task}'s job failed: there is no result to open");
	}
	let keys = reads::revealed_keys(&at, task)
		.await?
		.ok_or_else(|| anyhow!("task {task}'s result keys are not revealed yet"))?;
	let sealed = keys.get(index).ok_or_else(|| anyhow!("no result key for recipient {index}"))?;
	let key = envelope::open_from_sender(secret, &task.encode(), sealed)
		.map_err(|e| anyhow!("opening the result key: {e:?}"))?;
	let id = vouch_primitives::content_id::ContentId::parse(&cid)
		.map_err(|e| anyhow!("the result's CID {cid:?}: {e:?}"))?;
	let sealed_result = store.get_bytes(&id).await?;
	envelope::open_bytes(&key, &sealed_result).map_err(|e| anyhow!("opening the result: {e:?}"))
}

/// The files of a tar archive (a job's output), by name.
pub fn untar(archive: &[u8]) -> Result<std::collections::BTreeMap<String, Vec<u8>>> {
	use std::io::Read;
	let mut files = std::collections::BTreeMap::new();
	let mut archive = tar::Archive::new(archive);
	for entry in archive.entries()? {
		let mut entry = entry?;
		let name = entry.path()?.to_string_lossy().into_owned();
		let mut bytes = Vec::new();
		entry.read_to_end(&mut bytes)?;
		files.insert(name, bytes);
	}
	Ok(files)
}

/// A tar archive of `files` (e.g. a lambda's code).
pub fn tar(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
	let mut builder = tar::Builder::new(Vec::new());
	for (name, bytes) in files {
		let mut header = tar::Header::new_ustar();
		header.set_size(bytes.len() as u64);
		header.set_mode(0o644);
		header.set_cksum();
		builder.append_data(&mut header, name, *bytes)?;
	}
	Ok(builder.into_inner()?)
}
