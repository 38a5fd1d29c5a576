//! Typed reads of the Vouch state at a block, through the static types, turned into plain
//! views (accounts as bytes, the primitives' measurements) that the executor's roles and the
//! CLI match on.

use crate::{
	calls::from_runtime_measurements,
	chain::AtBlock,
	runtime::{
		self,
		runtime_types::{
			pallet_vouch_registry::WorkerStatus as ChainWorkerStatus,
			pallet_vouch_tasks::types::TaskStatus, vouch_primitives as rtp,
		},
	},
	AccountId,
};
use anyhow::Result;
use vouch_primitives::{sandbox::JobLimits, tpm::nonce::Measurements, Phase, TaskId};

fn id(a: &AccountId) -> [u8; 32] {
	a.0
}

fn phase(p: &rtp::Phase) -> Phase {
	match p {
		rtp::Phase::Before => Phase::Before,
		rtp::Phase::After => Phase::After,
	}
}

fn rt_phase(p: Phase) -> rtp::Phase {
	crate::calls::phase(p)
}

/// Where a task is (the runtime's `TaskStatus`, accounts as bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Status {
	Posted,
	Sortition { until: u32 },
	Elected { executor: [u8; 32], since: u32 },
	Attesting { executor: [u8; 32], phase: Phase },
	KeyRelease { executor: [u8; 32] },
	Running { executor: [u8; 32], since: u32 },
	Revealing { executor: [u8; 32] },
	Final(Outcome),
}

/// How a task ended: the runtime's final `TaskStatus` variants. Prints (and serialises) as the
/// variant's name, which is what the CLI's text and JSON output show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Outcome {
	/// The job ran, the monitors confirmed it, and the payment was split.
	Settled,
	/// The job failed by its own fault (or its keys were withheld): the committee was paid.
	Failed,
	/// No committee was formed in its rounds (or a key owner never backed their key); refunded.
	Expired,
	/// The requester withdrew it before a committee was elected; refunded.
	Cancelled,
	/// The executors of every round missed their duties; refunded in full.
	Faulted,
}

/// A registered worker's status: the runtime's `WorkerStatus` without its details. Prints (and
/// serialises) as the variant's name, which is what the CLI's text and JSON output show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WorkerStatus {
	/// Registered; waits for credential activation. Not eligible for tasks.
	Pending,
	/// Verified and eligible for tasks.
	Active,
	/// Leaving: not eligible, deposit still held until its unbonding block.
	Unbonding,
	/// Gone: deposit released. May register again.
	Removed,
	/// Slashed below the minimum deposit: not eligible until it bonds more.
	Underbonded,
}

// Both print as the variant's name, as the runtime's metadata spells it (padded, for tables).
macro_rules! display_as_variant_name {
	($($name:ty),*) => {$(
		impl core::fmt::Display for $name {
			fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
				f.pad(&format!("{self:?}"))
			}
		}
	)*};
}
display_as_variant_name!(Outcome, WorkerStatus);

impl Status {
	/// Whether the task is over.
	pub fn is_final(&self) -> bool {
		matches!(self, Status::Final(_))
	}

	/// The elected executor, from election to the end.
	pub fn executor(&self) -> Option<[u8; 32]> {
		match self {
			Status::Elected { executor, .. }
			| Status::Attesting { executor, .. }
			| Status::KeyRelease { executor }
			| Status::Running { executor, .. }
			| Status::Revealing { executor } => Some(*executor),
			_ => None,
		}
	}
}

/// A committee seat.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct SeatView {
	pub who: [u8; 32],
}

/// A task as the roles see it.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct TaskView {
	pub id: TaskId,
	pub requester: [u8; 32],
	pub developer: [u8; 32],
	pub price: u128,
	pub max_rounds: u32,
	pub lambda: u64,
	pub encrypted_code: bool,
	pub image_id: [u8; 32],
	pub code_input_hash: [u8; 32],
	pub sandbox_policy_hash: [u8; 32],
	pub payment: u128,
	pub inputs: Vec<(String, [u8; 32])>,
	pub recipients: Vec<([u8; 32], [u8; 32])>,
	pub min_credit: u32,
	pub committee_size: u32,
	pub network_none: bool,
	pub round: u32,
	pub seed: [u8; 32],
	pub eligible: u32,
	pub committee: Vec<SeatView>,
	pub status: Status,
}

impl TaskView {
	/// Whether `who` holds a seat of the current round.
	pub fn is_member(&self, who: &[u8; 32]) -> bool {
		self.committee.iter().any(|s| &s.who == who)
	}
}

fn text(b: &[u8]) -> String {
	String::from_utf8_lossy(b).into_owned()
}

/// Task `task` at `at`.
pub async fn task(at: &AtBlock, task: TaskId) -> Result<Option<TaskView>> {
	let Some(value) = at.storage().try_fetch(runtime::storage().tasks().tasks(), (task,)).await?
	else {
		return Ok(None);
	};
	let t = value.decode()?;
	let status = match &t.status {
		TaskStatus::Posted { .. } => Status::Posted,
		TaskStatus::Sortition { until, .. } => Status::Sortition { until: *until },
		TaskStatus::Elected { executor, since, .. } => {
			Status::Elected { executor: id(executor), since: *since }
		},
		TaskStatus::Attesting { executor, phase: p, .. } => {
			Status::Attesting { executor: id(executor), phase: phase(p) }
		},
		TaskStatus::KeyRelease { executor, .. } => Status::KeyRelease { executor: id(executor) },
		TaskStatus::Running { executor, since, .. } => {
			Status::Running { executor: id(executor), since: *since }
		},
		TaskStatus::Revealing { executor, .. } => Status::Revealing { executor: id(executor) },
		TaskStatus::Settled => Status::Final(Outcome::Settled),
		TaskStatus::Failed => Status::Final(Outcome::Failed),
		TaskStatus::Expired => Status::Final(Outcome::Expired),
		TaskStatus::Cancelled => Status::Final(Outcome::Cancelled),
		TaskStatus::Faulted => Status::Final(Outcome::Faulted),
	};
	Ok(Some(TaskView {
		id: task,
		requester: id(&t.requester),
		developer: id(&t.developer),
		price: t.price,
		max_rounds: t.requirements.max_rounds,
		lambda: t.lambda,
		encrypted_code: t.encrypted_code,
		image_id: t.image_id,
		code_input_hash: t.code_input_hash,
		sandbox_policy_hash: t.sandbox_policy_hash,
		payment: t.payment,
		inputs: t.inputs.0.iter().map(|i| (text(&i.cid.0), id(&i.owner))).collect(),
		recipients: t.recipients.0.iter().map(|r| (id(&r.who), r.x25519)).collect(),
		min_credit: t.requirements.min_credit,
		committee_size: t.requirements.committee_size,
		network_none: t.requirements.network_none,
		round: t.round,
		seed: t.seed,
		eligible: t.eligible,
		committee: t.committee.0.iter().map(|s| SeatView { who: id(&s.who) }).collect(),
		status,
	}))
}

/// A lambda as the executor needs it.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct LambdaView {
	pub owner: [u8; 32],
	pub price: u128,
	pub encrypted: bool,
	pub retired: bool,
	pub runs: u64,
	pub failures: u64,
	pub code_cid: String,
	pub image_digest: [u8; 32],
	pub image_cid: String,
	pub entrypoint: String,
	pub args: Vec<String>,
	pub env: Vec<String>,
	pub limits: JobLimits,
}

/// Lambda `lambda` at `at`.
pub async fn lambda(at: &AtBlock, lambda: u64) -> Result<Option<LambdaView>> {
	let Some(value) =
		at.storage().try_fetch(runtime::storage().lambdas().lambdas(), (lambda,)).await?
	else {
		return Ok(None);
	};
	let l = value.decode()?;
	let m = &l.manifest;
	Ok(Some(LambdaView {
		owner: id(&l.owner),
		price: l.price,
		encrypted: l.encrypted,
		retired: l.retired,
		runs: l.runs.into(),
		failures: l.failures.into(),
		code_cid: text(&l.code_cid.0),
		image_digest: l.image_digest,
		image_cid: text(&l.image_cid.0),
		entrypoint: text(&m.entrypoint.0),
		args: m.args.0.iter().map(|a| text(&a.0)).collect(),
		env: m.env.0.iter().map(|a| text(&a.0)).collect(),
		limits: JobLimits {
			cpu_millicores: m.cpu_millicores,
			memory_mib: m.memory_mib,
			time_limit_secs: m.time_limit_secs,
			max_output_bytes: m.max_output_bytes,
		},
	}))
}

/// A registered worker.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct WorkerView {
	pub status: WorkerStatus,
	/// Its bond, held.
	pub deposit: u128,
	pub endpoint: String,
	pub ek_public: Vec<u8>,
	pub ak_public: Vec<u8>,
	pub ak_qualified_name: Vec<u8>,
	pub sealing_public: Vec<u8>,
	/// The PCR digest (boot PCRs and executor PCR) its quotes must carry.
	pub launch_quote_digest: [u8; 32],
	/// The builds its launch measured.
	pub launch_builds: Vec<[u8; 32]>,
}

/// Worker `who` at `at`.
pub async fn worker(at: &AtBlock, who: [u8; 32]) -> Result<Option<WorkerView>> {
	let key = (AccountId::from(who),);
	let Some(value) = at.storage().try_fetch(runtime::storage().registry().workers(), key).await?
	else {
		return Ok(None);
	};
	let w = value.decode()?;
	let status = match w.status {
		ChainWorkerStatus::Pending => WorkerStatus::Pending,
		ChainWorkerStatus::Active => WorkerStatus::Active,
		ChainWorkerStatus::Unbonding { .. } => WorkerStatus::Unbonding,
		ChainWorkerStatus::Removed => WorkerStatus::Removed,
		ChainWorkerStatus::Underbonded => WorkerStatus::Underbonded,
	};
	Ok(Some(WorkerView {
		status,
		deposit: w.deposit,
		endpoint: text(&w.endpoint.0),
		ek_public: w.tpm.ek_public.0,
		ak_public: w.tpm.ak_public.0,
		ak_qualified_name: w.tpm.ak_qualified_name.0,
		sealing_public: w.tpm.sealing_public.0,
		launch_quote_digest: w.tpm.launch.quote_digest,
		launch_builds: w.tpm.launch.builds.0,
	}))
}

/// `who`'s credit at `at`.
pub async fn credit(at: &AtBlock, who: [u8; 32]) -> Result<u32> {
	let key = (AccountId::from(who),);
	Ok(match at.storage().try_fetch(runtime::storage().credit().credits(), key).await? {
		Some(value) => value.decode()?.credit,
		None => 0,
	})
}

/// An executor's verified attestation of one phase.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct AttestationView {
	pub round: u32,
	pub block: u32,
	pub measurements: Measurements,
	/// A lie about it was proven (`report_lie`).
	pub lie_proven: bool,
}

/// The attestation of `phase` of `task` at `at`.
pub async fn attestation(at: &AtBlock, task: TaskId, p: Phase) -> Result<Option<AttestationView>> {
	let address = runtime::storage().tasks().attestations();
	let Some(value) = at.storage().try_fetch(address, (task, rt_phase(p))).await? else {
		return Ok(None);
	};
	let a = value.decode()?;
	Ok(Some(AttestationView {
		round: a.round,
		block: a.block,
		measurements: from_runtime_measurements(&a.measurements),
		lie_proven: a.lie_proven,
	}))
}

/// The key released for `slot` of `task`, sealed to the executor's TPM.
pub async fn released_key(at: &AtBlock, task: TaskId, slot: u32) -> Result<Option<Vec<u8>>> {
	let address = runtime::storage().tasks().released_keys();
	Ok(match at.storage().try_fetch(address, (task, slot)).await? {
		Some(value) => Some(value.decode()?.0),
		None => None,
	})
}

/// `task`'s result: its CID, and whether the job failed.
pub async fn result(at: &AtBlock, task: TaskId) -> Result<Option<(String, bool)>> {
	Ok(match at.storage().try_fetch(runtime::storage().tasks().results(), (task,)).await? {
		Some(value) => {
			let r = value.decode()?;
			Some((text(&r.cid.0), r.job_failed))
		},
		None => None,
	})
}

/// `who`'s verdict on `phase` of `task`'s current round, if given.
pub async fn verdict(at: &AtBlock, task: TaskId, who: [u8; 32], p: Phase) -> Result<Option<bool>> {
	let address = runtime::storage().tasks().monitor_verdicts();
	let Some(value) = at.storage().try_fetch(address, (task, AccountId::from(who))).await? else {
		return Ok(None);
	};
	let v = value.decode()?;
	Ok(match p {
		Phase::Before => v.before,
		Phase::After => v.after,
	})
}

/// The chain's allowed boot states (digests of the boot PCRs' values).
pub async fn allowed_boot_states(at: &AtBlock) -> Result<Vec<[u8; 32]>> {
	let address = runtime::storage().registry().tpm_quote_policy();
	let p = at.storage().fetch(address, ()).await?.decode()?;
	Ok(p.allowed_digests.0)
}

/// A build on the chain's allowed-build list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AllowedBuildView {
	/// Its SHA-256 digest, hex.
	pub digest: String,
	/// `executor`, `job-runtime`, `sandbox-config` or `os`.
	pub kind: &'static str,
	/// What it is, for people.
	pub label: String,
}

/// The allowed-build list at `at`, by digest.
pub async fn allowed_builds(at: &AtBlock) -> Result<Vec<AllowedBuildView>> {
	use runtime::runtime_types::pallet_vouch_registry::tpm::BuildKind;
	let address = runtime::storage().registry().allowed_builds();
	let mut entries = at.storage().iter(address, ()).await?;
	let mut out = Vec::new();
	while let Some(entry) = entries.next().await {
		let entry = entry?;
		let (digest,) = entry.key()?.decode()?;
		let build = entry.value().decode()?;
		out.push(AllowedBuildView {
			digest: hex::encode(digest),
			kind: match build.kind {
				BuildKind::Executor => "executor",
				BuildKind::JobRuntime => "job-runtime",
				BuildKind::SandboxConfig => "sandbox-config",
				BuildKind::Os => "os",
			},
			label: text(&build.label.0),
		});
	}
	out.sort_by(|a, b| (a.kind, &a.label).cmp(&(b.kind, &b.label)));
	Ok(out)
}

/// `who`'s free balance.
pub async fn free_balance(at: &AtBlock, who: [u8; 32]) -> Result<u128> {
	let address = runtime::storage().system().account();
	Ok(at.storage().fetch(address, (AccountId::from(who),)).await?.decode()?.data.free)
}

/// The result keys revealed for `task` (one sealed key per recipient), once settled.
pub async fn revealed_keys(at: &AtBlock, task: TaskId) -> Result<Option<Vec<Vec<u8>>>> {
	Ok(match at.storage().try_fetch(runtime::storage().tasks().revealed_keys(), (task,)).await? {
		Some(value) => Some(value.decode()?.0.into_iter().map(|k| k.0).collect()),
		None => None,
	})
}

/// Every registered worker, with its account.
pub async fn workers(at: &AtBlock) -> Result<Vec<([u8; 32], WorkerView)>> {
	let mut found = Vec::new();
	let mut entries = at.storage().iter(runtime::storage().registry().workers(), ()).await?;
	let mut accounts = Vec::new();
	while let Some(entry) = entries.next().await {
		let entry = entry?;
		let (who,) = entry.key()?.decode()?;
		accounts.push(who.0);
	}
	for who in accounts {
		if let Some(view) = worker(at, who).await? {
			found.push((who, view));
		}
	}
	Ok(found)
}

/// One verifier's challenge to a newcomer.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct ChallengeView {
	pub verifier: [u8; 32],
	pub draw: u128,
	pub credential_blob: Vec<u8>,
	pub encrypted_secret: Vec<u8>,
	pub commitment: [u8; 32],
}

/// Where a credential activation is (`Registry.Activations`' stage, without its deadline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationStep {
	/// Round 0's seed is drawn next block.
	Seeding,
	/// Verifiers post their challenges.
	Challenging,
	/// The newcomer answers.
	Answering,
	/// The newcomer disputed challenge `index`; its verifier reveals it.
	Disputed {
		/// The challenge's index.
		index: u32,
	},
}

/// A newcomer's credential activation under way.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct ActivationView {
	pub round: u32,
	pub seed: [u8; 32],
	pub eligible: u32,
	pub needed: u32,
	/// Where it is; `until` is that stage's last block.
	pub stage: ActivationStep,
	pub until: u32,
	pub challenges: Vec<ChallengeView>,
}

/// Every activation under way at `at`, by newcomer.
pub async fn activations(at: &AtBlock) -> Result<Vec<([u8; 32], ActivationView)>> {
	use runtime::runtime_types::pallet_vouch_registry::activation::ActivationStage;
	let mut found = Vec::new();
	let mut entries = at.storage().iter(runtime::storage().registry().activations(), ()).await?;
	while let Some(entry) = entries.next().await {
		let entry = entry?;
		let (who,) = entry.key()?.decode()?;
		let a = entry.value().decode()?;
		let (stage, until) = match a.stage {
			ActivationStage::Seeding { until } => (ActivationStep::Seeding, until),
			ActivationStage::Challenging { until } => (ActivationStep::Challenging, until),
			ActivationStage::Answering { until } => (ActivationStep::Answering, until),
			ActivationStage::Disputed { index, until } => {
				(ActivationStep::Disputed { index }, until)
			},
		};
		found.push((
			who.0,
			ActivationView {
				round: a.round,
				seed: a.seed,
				eligible: a.eligible,
				needed: a.needed,
				stage,
				until,
				challenges: a
					.challenges
					.0
					.into_iter()
					.map(|c| ChallengeView {
						verifier: c.verifier.0,
						draw: c.draw,
						credential_blob: c.credential_blob.0,
						encrypted_secret: c.encrypted_secret.0,
						commitment: c.commitment,
					})
					.collect(),
			},
		));
	}
	Ok(found)
}

/// The chain's number of verifiers per activation (`Registry.ActivationVerifiers`).
pub fn activation_verifiers(at: &AtBlock) -> Result<u32> {
	Ok(at.constants().entry(runtime::constants().registry().activation_verifiers())?)
}

/// Every lambda's id, in order.
pub async fn lambda_ids(at: &AtBlock) -> Result<Vec<u64>> {
	let next =
		at.storage().fetch(runtime::storage().lambdas().next_lambda_id(), ()).await?.decode()?;
	Ok((0..next).collect())
}

/// The ids of the tasks on-chain (reaped ones are gone), in order.
pub async fn task_ids(at: &AtBlock) -> Result<Vec<TaskId>> {
	let mut ids = Vec::new();
	let mut entries = at.storage().iter(runtime::storage().tasks().tasks(), ()).await?;
	while let Some(entry) = entries.next().await {
		let (task,) = entry?.key()?.decode()?;
		ids.push(task);
	}
	ids.sort_unstable();
	Ok(ids)
}

/// The bond `owner` holds for the keys it owes `task`, if it backed them.
pub async fn key_bond(at: &AtBlock, task: TaskId, owner: [u8; 32]) -> Result<Option<u128>> {
	let address = runtime::storage().tasks().key_bonds();
	Ok(match at.storage().try_fetch(address, (task, AccountId::from(owner))).await? {
		Some(value) => Some(value.decode()?),
		None => None,
	})
}

/// How an ended task's escrow went, read from the block it ended in.
#[derive(Clone, Debug)]
pub struct SettlementView {
	/// The block the task ended in.
	pub block: u64,
	/// `Settled`, `Failed`, `Faulted`, `Expired` or `Cancelled`.
	pub outcome: Outcome,
	/// The split of a settled or failed task (the others were refunded in full).
	pub payout: Option<vouch_primitives::settlement::Payout<u128>>,
	/// The executor, if one was elected.
	pub executor: Option<[u8; 32]>,
	/// `(member, credit before, credit after)`, in seat order.
	pub credit: Vec<([u8; 32], u32, u32)>,
	/// An `Expired` task whose committee was drawn but whose keys were not all backed
	/// (`KeysNotBacked`), rather than one no round filled.
	pub keys_not_backed: bool,
}

/// The settlement of `task`: `None` while it is open (or once reaped).
pub async fn settlement(chain: &crate::Chain, task: TaskId) -> Result<Option<SettlementView>> {
	use runtime::tasks::events::{KeysNotBacked, TaskFailed, TaskSettled};
	let at = chain.at_finalized().await?;
	let Some(ended) = at.storage().try_fetch(runtime::storage().tasks().ended(), (task,)).await?
	else {
		return Ok(None);
	};
	let block = u64::from(ended.decode()?);
	let (hash, parent) = chain.block(block).await?.ok_or_else(|| {
		anyhow::anyhow!("task {task} ended in block {block}, which the node lacks")
	})?;
	let (after, before) = (chain.at(hash).await?, chain.at(parent).await?);
	let view = self::task(&after, task)
		.await?
		.ok_or_else(|| anyhow::anyhow!("task {task}'s record is gone from block {block}"))?;
	let Status::Final(outcome) = view.status else {
		anyhow::bail!("task {task} is marked ended at block {block} but is {:?}", view.status);
	};
	let events = after.events().fetch().await?;
	let split = |p: rtp::settlement::Payout<u128>| vouch_primitives::settlement::Payout {
		burn: p.burn,
		developer: p.developer,
		executor: p.executor,
		per_monitor: p.per_monitor,
		honest_monitors: p.honest_monitors,
		refund: p.refund,
	};
	let mut payout = None;
	for event in events.find::<TaskSettled>() {
		let event = event?;
		if event.task == task {
			payout = Some(split(event.payout));
		}
	}
	for event in events.find::<TaskFailed>() {
		let event = event?;
		if event.task == task {
			payout = Some(split(event.payout));
		}
	}
	let keys_not_backed = events.find::<KeysNotBacked>().any(|e| e.is_ok_and(|e| e.task == task));
	let mut credit = Vec::new();
	for seat in &view.committee {
		credit.push((
			seat.who,
			self::credit(&before, seat.who).await?,
			self::credit(&after, seat.who).await?,
		));
	}
	// A final status names no executor; the block before still does.
	let executor = self::task(&before, task).await?.and_then(|v| v.status.executor());
	Ok(Some(SettlementView { block, outcome, payout, executor, credit, keys_not_backed }))
}
