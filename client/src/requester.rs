//! The requester's and the developer's uploads and posts: publish a lambda, seal and upload an
//! input, post a task, and open the result once it settled. What happens in between, as the
//! owner of a key the task needs, is in [`crate::key_owner`].

use anyhow::{anyhow, bail, Context as _, Result};
use codec::Encode;
use subxt_signer::sr25519::Keypair;
use vouch_primitives::{
	envelope::{self, DataKey},
	TaskId,
};

use crate::{calls, reads, store::StoreClient, Chain};

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
