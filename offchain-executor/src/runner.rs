//! Runs one job in its sandbox and says how it ended. The path: create the container with the
//! policy, inspect it and rebuild the policy from the report (refusing any difference), start,
//! wait under the wall-clock deadline (then SIGKILL), read the outcome from the inspected
//! state, collect the capped logs, remove the container. The staging area is the caller's
//! and is wiped by it (`Staging::wipe`).

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use bollard::{
	query_parameters::{
		CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
		LogsOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
	},
	Docker,
};
use futures::StreamExt;
use vouch_primitives::sandbox::SandboxPolicy;

use crate::{
	sandbox::{container_body, policy_from_inspected, JobSpec, Mounts, JOB_LABEL, OWNER_LABEL},
	staging::Staging,
};

/// How a job ended. Each maps to the chain's `job_failed` rule: only a clean exit with code 0
/// and an output within its cap is a job that succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
	/// The job exited by itself with this code.
	Exited(i64),
	/// The kernel killed a process of the job for memory (even if the job then exited 0).
	OomKilled,
	/// The job ran past its wall-clock limit and was killed.
	DeadlineKilled,
	/// The job left more output than the lambda's cap.
	OutputOverCap {
		/// What it left.
		bytes: u64,
	},
}

impl Outcome {
	/// Whether the task's result records a failed job (`result.job_failed` on-chain).
	pub fn job_failed(&self) -> bool {
		*self != Outcome::Exited(0)
	}

	/// The exit status the `After` quote carries: the job's own code when it exited, else the
	/// shell convention for a kill by SIGKILL (137), or 1 for output over the cap. Zero
	/// exactly when the job did not fail.
	pub fn exit_status(&self) -> i32 {
		match self {
			Outcome::Exited(0) => 0,
			// A non-zero code that does not fit (or would read as 0) still reads as a failure.
			Outcome::Exited(code) => i32::try_from(*code).ok().filter(|c| *c != 0).unwrap_or(1),
			Outcome::OomKilled | Outcome::DeadlineKilled => 137,
			Outcome::OutputOverCap { .. } => 1,
		}
	}
}

/// What a run produced besides the output files in the staging area.
#[derive(Clone, Debug)]
pub struct RunReport {
	/// How the job ended.
	pub outcome: Outcome,
	/// The policy as the daemon reported it, which the `After` quote hashes.
	pub policy: SandboxPolicy,
	/// The tail of stdout and stderr that the daemon kept (at most the policy's log cap).
	pub logs: Vec<u8>,
	/// Bytes the job left in `/output`.
	pub output_bytes: u64,
	/// Wall-clock time from start to exit.
	pub ran_for: Duration,
}

/// The Docker side of the executor: one daemon connection, reused by every job.
#[derive(Clone)]
pub struct Runner {
	docker: Docker,
	/// Whose job containers these are ([`OWNER_LABEL`]): several workers may share a daemon.
	owner: String,
}

/// How long the daemon may take to answer one API call before the runner gives up on it.
const API_TIMEOUT_SECS: u64 = 120;

impl Runner {
	/// Connects to the daemon at `socket` (a Unix socket path) and negotiates the API version
	/// (Debian's 20.10 daemon speaks 1.41).
	pub async fn connect(socket: &str) -> Result<Self> {
		let docker =
			Docker::connect_with_unix(socket, API_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
				.with_context(|| format!("connecting to the Docker daemon at {socket}"))?
				.negotiate_version()
				.await
				.with_context(|| format!("no Docker daemon answers at {socket}"))?;
		Ok(Self { docker, owner: "vouch".into() })
	}

	/// The same connection, labelling its containers as `owner`'s (a worker's account) and
	/// cleaning up only those.
	pub fn owned_by(self, owner: &str) -> Self {
		Self { owner: owner.into(), ..self }
	}

	/// The daemon connection, for image loading.
	pub fn docker(&self) -> &Docker {
		&self.docker
	}

	/// Removes every job container of this runner's owner that a crash left behind (they carry
	/// [`JOB_LABEL`] and the owner's [`OWNER_LABEL`]); returns how many. Other owners' jobs on
	/// the same daemon are left running.
	pub async fn remove_leftovers(&self) -> Result<usize> {
		let owner = format!("{OWNER_LABEL}={}", self.owner);
		let filters = std::collections::HashMap::from([("label", vec![JOB_LABEL, owner.as_str()])]);
		let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
		let leftovers = self.docker.list_containers(Some(options)).await?;
		for container in &leftovers {
			let id = container.id.as_deref().unwrap_or_default();
			tracing::warn!(container = id, "removing a job container left by an earlier run");
			self.remove(id).await?;
		}
		Ok(leftovers.len())
	}

	async fn remove(&self, id: &str) -> Result<()> {
		let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
		self.docker
			.remove_container(id, Some(options))
			.await
			.with_context(|| format!("removing container {id}"))
	}

	/// Runs `job` with `staging` mounted, and removes its container whatever happens.
	pub async fn run(&self, job: &JobSpec, staging: &Staging) -> Result<RunReport> {
		let mounts = Mounts::of(staging);
		let name = format!("vouch-{}", job.name);
		let options = CreateContainerOptionsBuilder::default().name(&name).build();
		let mut body = container_body(job, &mounts);
		body.labels
			.get_or_insert_with(Default::default)
			.insert(OWNER_LABEL.into(), self.owner.clone());
		let created = self
			.docker
			.create_container(Some(options), body)
			.await
			.with_context(|| format!("creating the container of job {}", job.name))?;
		let id = created.id;
		let result = self.run_created(&id, job, staging, &mounts).await;
		let removed = self.remove(&id).await;
		let report = result?;
		removed?;
		Ok(report)
	}

	async fn run_created(
		&self,
		id: &str,
		job: &JobSpec,
		staging: &Staging,
		mounts: &Mounts,
	) -> Result<RunReport> {
		let inspected = self.docker.inspect_container(id, None).await?;
		let policy = policy_from_inspected(&inspected, job, mounts, staging.output_capacity()?)
			.with_context(|| format!("the daemon did not apply the sandbox of job {}", job.name))?;
		let started = Instant::now();
		self.docker
			.start_container(id, None)
			.await
			.with_context(|| format!("starting job {}", job.name))?;
		let deadline = Duration::from_secs(job.policy.time_limit_secs.into());
		let mut wait = self.docker.wait_container(
			id,
			Some(WaitContainerOptionsBuilder::default().condition("not-running").build()),
		);
		// A non-zero exit comes back as an error from wait: the state read below says which.
		let killed = tokio::time::timeout(deadline, wait.next()).await.is_err();
		if killed {
			tracing::warn!(job = %job.name, limit_secs = deadline.as_secs(), "job ran past its deadline: killing it");
			let kill = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
			// It may have exited between the timeout and the kill.
			let _ = self.docker.kill_container(id, Some(kill)).await;
			let mut wait = self
				.docker
				.wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
			let _ = wait.next().await;
		}
		let ran_for = started.elapsed();
		let state = self
			.docker
			.inspect_container(id, None)
			.await?
			.state
			.context("the daemon reports no container state")?;
		let output_bytes = staging.output_bytes()?;
		let outcome = if killed {
			Outcome::DeadlineKilled
		} else if state.oom_killed == Some(true) {
			Outcome::OomKilled
		} else if output_bytes > job.max_output_bytes {
			Outcome::OutputOverCap { bytes: output_bytes }
		} else {
			Outcome::Exited(state.exit_code.context("the daemon reports no exit code")?)
		};
		let logs = self.logs(id, job.policy.log_max_bytes).await?;
		tracing::info!(job = %job.name, ?outcome, output_bytes, ran_ms = ran_for.as_millis() as u64, "job ended");
		Ok(RunReport { outcome, policy, logs, output_bytes, ran_for })
	}

	/// The job's stdout and stderr as the daemon kept them, at most `cap` bytes.
	async fn logs(&self, id: &str, cap: u64) -> Result<Vec<u8>> {
		let options = LogsOptionsBuilder::default().stdout(true).stderr(true).build();
		let mut stream = self.docker.logs(id, Some(options));
		let mut logs = Vec::new();
		while let Some(chunk) = stream.next().await {
			let bytes = chunk?.into_bytes();
			let room = (cap as usize).saturating_sub(logs.len());
			logs.extend_from_slice(&bytes[..bytes.len().min(room)]);
			if room == 0 {
				break;
			}
		}
		Ok(logs)
	}
}
