//! The executor role: fetch the image, code and inputs the task names (each download checked
//! against its CID, the image against the lambda's pinned ID), measure, quote `Before` and
//! attest; once every key is released, unseal the keys in the TPM, decrypt into tmpfs
//! staging, run under the task's sandbox policy, encrypt the result to every recipient, store
//! it, quote `After` and submit the result; reveal the result keys once confirmed; wipe.

use std::path::PathBuf;

use anyhow::{anyhow, bail, ensure, Context as _, Result};
use codec::Encode;
use sha2::{Digest, Sha256};
use vouch_client::calls;
use vouch_primitives::{
	envelope::{self, DataKey},
	result_keys_commitment,
	sandbox::SandboxPolicy,
	tpm::nonce::{code_input_hash, quote_nonce, Measurements},
	Phase, TaskId,
};

use vouch_client::reads::{self, LambdaView, Status, TaskView};

use super::{api::Live, state::ProducedResult, Worker};
use crate::{
	image::{self, ImageId},
	sandbox::JobSpec,
	staging::Staging,
};

/// A deliberate fault, for the tests that show the committee catches it. Never set in
/// production; the flag is hidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
	/// Run this image (a `docker save` tarball with ID `id`) instead of the lambda's, while
	/// attesting the lambda's on-chain. Its attestation API answers with what it really runs.
	WrongImage {
		/// The tarball.
		tarball: PathBuf,
		/// Its image ID.
		id: crate::image::ImageId,
	},
	/// Make the first activation challenge for the newcomer's EK name instead of its AK's: a
	/// credential no TPM can activate (what a verifier blocking a competitor would post),
	/// which its reveal then does not remake.
	BogusChallenge,
}

/// What the executor fetched and measured of a task.
pub(super) struct Prepared {
	lambda: LambdaView,
	dir: PathBuf,
	/// The image it runs.
	image: ImageId,
	/// What it measured.
	actual: Measurements,
	/// What it attests on-chain: the same, unless a test fault makes it lie.
	claimed: Measurements,
}

impl Worker {
	/// Fetches and verifies everything the task names and measures it.
	async fn prepare(&self, view: &TaskView) -> Result<Prepared> {
		let at = self.chain.at_finalized().await?;
		let lambda = reads::lambda(&at, view.lambda)
			.await?
			.ok_or_else(|| anyhow!("lambda {} is not on-chain", view.lambda))?;
		let dir = self.task_dir(view.id);
		std::fs::create_dir_all(&dir)?;
		self.fetch(&lambda.image_cid, &dir.join("image.tar")).await?;
		self.fetch(&lambda.code_cid, &dir.join("code")).await?;
		for (i, (cid, _)) in view.inputs.iter().enumerate() {
			self.fetch(cid, &dir.join(format!("input-{i}"))).await?;
		}
		let pinned = ImageId(lambda.image_digest);
		let (tarball, image) = match &self.fault {
			Some(Fault::WrongImage { tarball, id }) => {
				tracing::warn!(image = %id, "FAULT: running another image than the lambda's");
				(tarball.clone(), *id)
			},
			_ => (dir.join("image.tar"), pinned),
		};
		let mut loaded = self.loaded.lock().await;
		if !loaded.contains(&image) {
			image::load(self.runner.docker(), &tarball, &image).await?;
			loaded.insert(image);
		}
		drop(loaded);
		let input_cids: Vec<&[u8]> = view.inputs.iter().map(|(c, _)| c.as_bytes()).collect();
		let policy = SandboxPolicy::for_task(&lambda.limits, view.network_none);
		let actual = Measurements {
			image_id: image.0,
			code_input_hash: code_input_hash(lambda.code_cid.as_bytes(), &input_cids),
			sandbox_policy_hash: policy.hash(),
			result_hash: None,
			keys_commitment: None,
			exit_status: None,
		};
		let claimed = Measurements { image_id: lambda.image_digest, ..actual.clone() };
		Ok(Prepared { lambda, dir, image, actual, claimed })
	}

	/// A quote of `measured` for `phase` of `task`'s `round`, made after the newest finalized
	/// block: the argument of `attest_before` and `submit_result`.
	async fn quote(
		&self,
		task: TaskId,
		round: u32,
		phase: Phase,
		measured: &Measurements,
	) -> Result<vouch_client::runtime::runtime_types::pallet_vouch_tasks::types::Quote<u32>> {
		let (number, hash) = self.chain.finalized().await?;
		let nonce = quote_nonce(task, round, phase, &hash.0, measured);
		let started = std::time::Instant::now();
		let signed = self.tpm.quote(nonce.to_vec()).await?;
		self.metrics.quote_seconds.observe(started.elapsed().as_secs_f64());
		let block = u32::try_from(number).context("a block number beyond u32")?;
		Ok(calls::quote(block, measured, &signed.attest, &signed.signature))
	}

	/// Elected: attest the sandbox.
	pub(super) async fn attest(&self, task: TaskId, round: u32) -> Result<()> {
		let (at, view) = self.current(task).await?;
		let me = self.account();
		let Status::Elected { executor, .. } = view.status else { return Ok(()) };
		if executor != me || view.round != round {
			return Ok(());
		}
		self.metrics.tasks_won.inc();
		if reads::attestation(&at, task, Phase::Before).await?.is_some_and(|a| a.round == round) {
			return Ok(());
		}
		let prepared = self.prepare(&view).await?;
		self.executing
			.write()
			.await
			.insert(task, Live { round, before: prepared.actual.clone(), after: None });
		let quote = self.quote(task, round, Phase::Before, &prepared.claimed).await?;
		self.submit(&calls::attest_before(task, quote)).await?;
		tracing::info!(task, round, "sandbox attested");
		Ok(())
	}

	/// After a restart: what the attestation API answers for a task being executed.
	pub(super) async fn prepare_live(&self, task: TaskId, round: u32) -> Result<()> {
		let (_, view) = self.current(task).await?;
		if view.status.executor() != Some(self.account()) || view.round != round {
			return Ok(());
		}
		let prepared = self.prepare(&view).await?;
		let after = self
			.state
			.result(task)?
			.filter(|r| r.round == round)
			.map(|r| Measurements { image_id: prepared.actual.image_id, ..r.after });
		self.executing.write().await.insert(task, Live { round, before: prepared.actual, after });
		Ok(())
	}

	/// Running: run the job and submit the result (or submit the one already produced).
	pub(super) async fn run_job(&self, task: TaskId, round: u32) -> Result<()> {
		let (at, view) = self.current(task).await?;
		let Status::Running { executor, .. } = view.status else { return Ok(()) };
		if executor != self.account() || view.round != round {
			return Ok(());
		}
		let prepared = self.prepare(&view).await?;
		let produced = match self.state.result(task)? {
			Some(r) if r.round == round => {
				tracing::info!(task, round, cid = %r.cid, "the result was produced before a restart: submitting it");
				r
			},
			_ => self.produce(&at, &view, &prepared).await?,
		};
		let after_actual =
			Measurements { image_id: prepared.actual.image_id, ..produced.after.clone() };
		self.executing.write().await.insert(
			task,
			Live { round, before: prepared.actual.clone(), after: Some(after_actual) },
		);
		let quote = self.quote(task, round, Phase::After, &produced.after).await?;
		let keys: Vec<&[u8]> = produced.sealed_keys.iter().map(Vec::as_slice).collect();
		let commitment = result_keys_commitment(&keys);
		self.submit(&calls::submit_result(
			task,
			&produced.cid,
			commitment,
			produced.job_failed,
			quote,
		))
		.await?;
		self.metrics.tasks_executed.inc();
		tracing::info!(task, round, cid = %produced.cid, job_failed = produced.job_failed, "result submitted");
		Ok(())
	}

	/// Unseals the keys, stages, runs, encrypts and stores the result; keeps it in the state
	/// before anything is submitted.
	async fn produce(
		&self,
		at: &vouch_client::chain::AtBlock,
		view: &TaskView,
		prepared: &Prepared,
	) -> Result<ProducedResult> {
		let task = view.id;
		let round = view.round;
		let slots = view.inputs.len() as u32 + u32::from(view.encrypted_code);
		let mut keys = Vec::new();
		for slot in 0..slots {
			let sealed = reads::released_key(at, task, slot)
				.await?
				.ok_or_else(|| anyhow!("no key released for slot {slot}"))?;
			let plain = self
				.tpm
				.unseal(task, slot, sealed)
				.await
				.with_context(|| format!("unsealing the key of slot {slot} in the TPM"))?;
			keys.push(
				DataKey::try_from(&plain[..]).map_err(|e| anyhow!("slot {slot}'s key: {e:?}"))?,
			);
		}
		let policy = SandboxPolicy::for_task(&prepared.lambda.limits, view.network_none);
		ensure!(
			policy.hash() == view.sandbox_policy_hash,
			"the task's sandbox policy is not the one its manifest and requirements give"
		);
		let mut staged_bytes = std::fs::metadata(prepared.dir.join("code"))?.len();
		for i in 0..view.inputs.len() {
			staged_bytes += std::fs::metadata(prepared.dir.join(format!("input-{i}")))?.len();
		}
		let name = format!("task-{task}-round-{round}");
		let staging = Staging::create(
			&self.data_dir.join("staging"),
			&name,
			(staged_bytes * 2).max(1 << 20),
			&policy,
		)?;
		let staged = self.stage(view, prepared, &keys, &staging);
		if let Err(e) = staged {
			staging.wipe()?;
			return Err(e);
		}
		let mut command = vec![prepared.lambda.entrypoint.clone()];
		command.extend(prepared.lambda.args.iter().cloned());
		let job = JobSpec {
			name: name.clone(),
			image: prepared.image,
			command,
			env: prepared.lambda.env.clone(),
			policy: policy.clone(),
			max_output_bytes: prepared.lambda.limits.max_output_bytes,
		};
		tracing::info!(task, round, image = %prepared.image, "running the job");
		let ran = tokio::select! {
			report = self.runner.run(&job, &staging) => Some(report),
			_ = self.shutdown.cancelled() => None,
		};
		let Some(report) = ran else {
			// Leave nothing behind: the container the dropped run left, and the staging.
			let _ = self.runner.remove_leftovers().await;
			staging.wipe()?;
			bail!(
				"shutting down: the job was stopped, its container removed and its staging wiped"
			);
		};
		let report = match report {
			Ok(report) => report,
			Err(e) => {
				staging.wipe()?;
				return Err(e);
			},
		};
		self.metrics.job_seconds.observe(report.ran_for.as_secs_f64());
		let output = if report.outcome.job_failed() {
			Ok(Vec::new())
		} else {
			vouch_client::archive::pack_output(&staging.output_dir())
		};
		staging.wipe()?;
		let output = output?;
		ensure!(
			report.policy.hash() == view.sandbox_policy_hash,
			"the daemon ran the job under another sandbox than the task's"
		);

		// The result: a tar of /output, sealed under a fresh key; the key sealed to each
		// recipient with the task as context.
		let key = DataKey::generate();
		let sealed_result = envelope::seal_bytes(&key, &output);
		let result_hash: [u8; 32] = Sha256::digest(&sealed_result).into();
		let cid = self.own_store.put_bytes(sealed_result.clone()).await?;
		if let Some(gateway) = self.gateways.first() {
			gateway.put_bytes(sealed_result).await.context("putting the result to the gateway")?;
		}
		let context = task.encode();
		let sealed_keys = view
			.recipients
			.iter()
			.map(|(_, x25519)| envelope::seal_to_recipient(x25519, &context, &key))
			.collect::<Result<Vec<_>, _>>()
			.map_err(|e| anyhow!("sealing the result key: {e:?}"))?;
		let sealed: Vec<&[u8]> = sealed_keys.iter().map(Vec::as_slice).collect();
		let after = Measurements {
			result_hash: Some(result_hash),
			keys_commitment: Some(vouch_primitives::result_keys_commitment(&sealed)),
			exit_status: Some(report.outcome.exit_status()),
			..prepared.claimed.clone()
		};
		let produced = ProducedResult {
			round,
			cid: cid.to_string(),
			sealed_keys,
			job_failed: report.outcome.job_failed(),
			after,
		};
		self.state.keep_result(task, &produced)?;
		tracing::info!(task, round, outcome = ?report.outcome, output_bytes = output.len(), ran_ms = report.ran_for.as_millis() as u64, "job ran; result stored");
		Ok(produced)
	}

	/// Decrypts the code and inputs into the staging area.
	fn stage(
		&self,
		view: &TaskView,
		prepared: &Prepared,
		keys: &[DataKey],
		staging: &Staging,
	) -> Result<()> {
		let code = std::fs::read(prepared.dir.join("code"))?;
		if view.encrypted_code {
			let key = keys.last().ok_or_else(|| anyhow!("no code key"))?;
			let plain = envelope::open_bytes(key, &code).map_err(|e| anyhow!("the code: {e:?}"))?;
			staging.unpack_code(&plain[..])?;
		} else {
			staging.unpack_code(&code[..])?;
		}
		for i in 0..view.inputs.len() {
			let file = std::fs::File::open(prepared.dir.join(format!("input-{i}")))?;
			staging
				.decrypt_input(&i.to_string(), &keys[i], std::io::BufReader::new(file))
				.map_err(|e| anyhow!("input {i}: {e:?}"))?;
		}
		Ok(())
	}

	/// Revealing: reveal the result keys, which settles the task.
	pub(super) async fn reveal(&self, task: TaskId, round: u32) -> Result<()> {
		let (_, view) = self.current(task).await?;
		let Status::Revealing { executor } = view.status else { return Ok(()) };
		if executor != self.account() || view.round != round {
			return Ok(());
		}
		let produced =
			self.state.result(task)?.filter(|r| r.round == round).ok_or_else(|| {
				anyhow!("the result keys of round {round} are lost: cannot reveal")
			})?;
		self.submit(&calls::reveal_result_keys(task, &produced.sealed_keys)).await?;
		tracing::info!(task, round, "result keys revealed");
		Ok(())
	}
}
