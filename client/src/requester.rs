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
	Chain,
};

/// Publishes a lambda: uploads the image tarball and the code archive to `store` and
/// publishes them with `manifest` for `price`. Returns the lambda's id.
pub async fn publish_lambda(
	chain: &Chain,
	developer: &Keypair,
	store: &StoreClient,
	image_tarball: &std::path::Path,
	image_id: [u8; 32],
	code_tar: Vec<u8>,
	manifest: &calls::ManifestSpec,
	price: u128,
) -> Result<u64> {
	let image_cid = store.put_file(image_tarball).await.context("uploading the job image")?;
	let code_cid = store.put_bytes(code_tar).await.context("uploading the code")?;
	let published = chain
		.submit(
			developer,
			&calls::publish_lambda(
				&code_cid.to_string(),
				image_id,
				&image_cid.to_string(),
				manifest,
				price,
				false,
			),
		)
		.await?;
	published.id_from("Lambdas.Published").ok_or_else(|| anyhow!("no Lambdas.Published event"))
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
/// the executor's TPM as soon as the task asks for them; `progress` is told of each new
/// status. Returns the final status and the timeline.
pub async fn follow_task(
	chain: &Chain,
	owner: &Keypair,
	task: TaskId,
	keys: &[(u32, DataKey)],
	timeout: Duration,
	mut progress: impl FnMut(&str, u64),
) -> Result<(String, Timeline)> {
	let started = tokio::time::Instant::now();
	let mut timeline = Timeline::default();
	let mut released = false;
	let mut name = String::from("unknown");
	loop {
		// One look at the chain. An error here (the node restarting, a dropped connection)
		// is retried until the timeout: every step re-reads what it needs, so none is
		// repeated.
		let step = async {
			let at = chain.at_finalized().await?;
			let number = at.block_number();
			let view = reads::task(&at, task).await?.ok_or_else(|| anyhow!("no task {task}"))?;
			let now = status_name(&view.status);
			if timeline.steps.last().map(|s| &s.0) != Some(&now) {
				progress(&now, number);
				timeline.steps.push((now.clone(), number, started.elapsed().as_secs_f64()));
			}
			name = now;
			if let Status::Final(end) = view.status {
				return Ok::<_, anyhow::Error>(Some(end.to_string()));
			}
			if let Status::KeyRelease { executor } = view.status {
				if !released {
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
					}
					released = true;
				}
			}
			Ok(None)
		};
		match step.await {
			Ok(Some(end)) => return Ok((end, timeline)),
			Ok(None) => {},
			// A transaction that failed on-chain will fail again: that is an answer.
			Err(e)
				if e.downcast_ref::<crate::chain::SubmitError>()
					.is_some_and(|e| matches!(e, crate::chain::SubmitError::Dispatch { .. })) =>
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
