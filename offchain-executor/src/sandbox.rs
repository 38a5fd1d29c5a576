//! The sandbox policy (`vouch_primitives::sandbox::SandboxPolicy`) as Docker sees it: the
//! container a policy asks for, and the policy read back from what the daemon reports after
//! `create`. A daemon drops the fields its API version does not know (20.10 speaks 1.41), so
//! the executor never assumes a setting took: it inspects the container, rebuilds the policy
//! from the report and refuses any difference. The quoted policy hash is the hash of the
//! policy so rebuilt.

use std::{collections::HashMap, path::Path};

use bollard::models::{
	ContainerCreateBody, ContainerInspectResponse, HostConfig, HostConfigLogConfig,
	ResourcesUlimits,
};
use vouch_primitives::sandbox::{SandboxPolicy, INPUTS_DIR, OUTPUT_DIR, WORK_DIR};

use crate::image::ImageId;

/// The label every job container carries (its value: the job's name), so that containers a
/// crash left behind can be found and removed.
pub const JOB_LABEL: &str = "vouch.job";
/// The label naming the runner that started a job container (its value: the runner's owner,
/// a worker's account), so that workers sharing one daemon clean up only their own.
pub const OWNER_LABEL: &str = "vouch.owner";
/// Where Bob's code is mounted, read-only.
pub const CODE_DIR: &str = "/code";

/// The host paths a job's container mounts.
#[derive(Clone, Debug)]
pub struct Mounts {
	/// Mounted read-only at `/inputs`.
	pub inputs: String,
	/// Mounted read-only at `/code`.
	pub code: String,
	/// Mounted read-write at `/output`.
	pub output: String,
}

impl Mounts {
	/// The staging area's dirs.
	pub fn of(staging: &crate::staging::Staging) -> Self {
		let s = |p: &Path| p.to_string_lossy().into_owned();
		Self {
			inputs: s(&staging.inputs_dir()),
			code: s(&staging.code_dir()),
			output: s(&staging.output_dir()),
		}
	}

	fn binds(&self) -> Vec<String> {
		vec![
			format!("{}:{INPUTS_DIR}:ro", self.inputs),
			format!("{}:{CODE_DIR}:ro", self.code),
			format!("{}:{OUTPUT_DIR}:rw", self.output),
		]
	}
}

/// What to run: the image, the command and its environment (from the lambda's manifest).
#[derive(Clone, Debug)]
pub struct JobSpec {
	/// A name for logs, labels and the staging dir (e.g. `task-7-round-0`).
	pub name: String,
	/// The pinned image.
	pub image: ImageId,
	/// The command (entrypoint and arguments).
	pub command: Vec<String>,
	/// `KEY=value` pairs.
	pub env: Vec<String>,
	/// The task's sandbox policy.
	pub policy: SandboxPolicy,
	/// The lambda's result cap: more output than this is [`crate::runner::Outcome::OutputOverCap`].
	pub max_output_bytes: u64,
}

fn work_tmpfs(policy: &SandboxPolicy) -> String {
	format!(
		"rw,noexec,nosuid,nodev,size={},uid={1},gid={1},mode=0700",
		policy.work_tmpfs_bytes, policy.uid
	)
}

fn ulimits(policy: &SandboxPolicy) -> Vec<ResourcesUlimits> {
	let limit = |name: &str, value: u64| ResourcesUlimits {
		name: Some(name.into()),
		soft: Some(value as i64),
		hard: Some(value as i64),
	};
	vec![
		limit("nofile", policy.nofile.into()),
		limit("core", 0),
		limit("fsize", policy.fsize_bytes),
	]
}

fn log_config(policy: &SandboxPolicy) -> HostConfigLogConfig {
	HostConfigLogConfig {
		typ: Some("json-file".into()),
		config: Some(HashMap::from([
			("max-size".into(), policy.log_max_bytes.to_string()),
			("max-file".into(), "1".into()),
		])),
	}
}

/// The container a job's policy asks for.
pub fn container_body(job: &JobSpec, mounts: &Mounts) -> ContainerCreateBody {
	let p = &job.policy;
	let host_config = HostConfig {
		network_mode: Some(if p.network_none { "none" } else { "bridge" }.into()),
		readonly_rootfs: Some(true),
		tmpfs: Some(HashMap::from([(WORK_DIR.to_string(), work_tmpfs(p))])),
		binds: Some(mounts.binds()),
		cap_drop: Some(vec!["ALL".into()]),
		security_opt: Some(vec!["no-new-privileges:true".into()]),
		pids_limit: Some(p.pids_limit.into()),
		memory: Some(p.memory_bytes as i64),
		memory_swap: Some(p.memory_bytes as i64),
		nano_cpus: Some(p.nano_cpus as i64),
		ulimits: Some(ulimits(p)),
		ipc_mode: Some("none".into()),
		log_config: Some(log_config(p)),
		privileged: Some(false),
		..Default::default()
	};
	ContainerCreateBody {
		image: Some(job.image.to_string()),
		user: Some(format!("{0}:{0}", p.uid)),
		entrypoint: Some(job.command.clone()),
		cmd: Some(Vec::new()),
		env: Some(job.env.clone()),
		working_dir: Some(WORK_DIR.into()),
		network_disabled: Some(p.network_none),
		labels: Some(HashMap::from([(JOB_LABEL.to_string(), job.name.clone())])),
		host_config: Some(host_config),
		..Default::default()
	}
}

/// A setting the daemon reports otherwise than the policy asks (or cannot be checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyViolation {
	/// The setting, as the Engine API names it.
	pub field: &'static str,
	/// What the policy needs.
	pub expected: String,
	/// What the daemon reports.
	pub found: String,
}

impl std::fmt::Display for PolicyViolation {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(
			f,
			"sandbox {}: the policy needs {}, the daemon reports {}",
			self.field, self.expected, self.found
		)
	}
}

impl std::error::Error for PolicyViolation {}

fn need<T: std::fmt::Debug + PartialEq>(
	field: &'static str,
	expected: T,
	found: T,
) -> Result<(), PolicyViolation> {
	if expected == found {
		Ok(())
	} else {
		Err(PolicyViolation {
			field,
			expected: format!("{expected:?}"),
			found: format!("{found:?}"),
		})
	}
}

fn positive(field: &'static str, value: Option<i64>) -> Result<u64, PolicyViolation> {
	match value {
		Some(v) if v > 0 => Ok(v as u64),
		other => Err(PolicyViolation {
			field,
			expected: "a positive limit".into(),
			found: format!("{other:?}"),
		}),
	}
}

fn tmpfs_size(options: &str) -> Option<u64> {
	options.split(',').find_map(|o| o.strip_prefix("size=")).and_then(|s| s.parse().ok())
}

/// Rebuilds the policy from the container the daemon reports, refusing every setting that
/// differs from what any Vouch sandbox must have. `output_capacity` is the output tmpfs's
/// size as the kernel reports it (the daemon only sees a bind mount there); `time_limit_secs`
/// is the runner's own deadline (no daemon setting holds it).
pub fn policy_from_inspected(
	inspected: &ContainerInspectResponse,
	job: &JobSpec,
	mounts: &Mounts,
	output_capacity: u64,
) -> Result<SandboxPolicy, PolicyViolation> {
	let missing =
		|field| PolicyViolation { field, expected: "a value".into(), found: "nothing".into() };
	let hc = inspected.host_config.as_ref().ok_or(missing("HostConfig"))?;
	let config = inspected.config.as_ref().ok_or(missing("Config"))?;
	need("Image", Some(job.image.to_string()), inspected.image.clone())?;
	let network_none = match hc.network_mode.as_deref() {
		Some("none") => true,
		Some("bridge" | "default") => false,
		other => {
			return Err(PolicyViolation {
				field: "NetworkMode",
				expected: "none or bridge".into(),
				found: format!("{other:?}"),
			})
		},
	};
	need("ReadonlyRootfs", Some(true), hc.readonly_rootfs)?;
	need("Privileged", false, hc.privileged.unwrap_or(false))?;
	need("CapDrop", Some(vec!["ALL".to_string()]), hc.cap_drop.clone())?;
	need("CapAdd", 0, hc.cap_add.as_ref().map_or(0, Vec::len))?;
	need("SecurityOpt", Some(vec!["no-new-privileges:true".to_string()]), hc.security_opt.clone())?;
	need("IpcMode", Some("none"), hc.ipc_mode.as_deref())?;
	for (field, mode) in
		[("PidMode", &hc.pid_mode), ("UTSMode", &hc.uts_mode), ("UsernsMode", &hc.userns_mode)]
	{
		need(field, "", mode.as_deref().unwrap_or(""))?;
	}
	need("Devices", 0, hc.devices.as_ref().map_or(0, Vec::len))?;
	need("Sysctls", 0, hc.sysctls.as_ref().map_or(0, HashMap::len))?;
	need("Mounts", 0, hc.mounts.as_ref().map_or(0, Vec::len))?;
	need("VolumesFrom", 0, hc.volumes_from.as_ref().map_or(0, Vec::len))?;
	need("Binds", Some(mounts.binds()), hc.binds.clone())?;
	let work = hc.tmpfs.as_ref().and_then(|t| (t.len() == 1).then(|| t.get(WORK_DIR)).flatten());
	let work_tmpfs_bytes = work.and_then(|o| tmpfs_size(o)).ok_or_else(|| PolicyViolation {
		field: "Tmpfs",
		expected: format!("only {WORK_DIR} with a size"),
		found: format!("{:?}", hc.tmpfs),
	})?;
	need("Tmpfs", work_tmpfs(&job.policy), work.cloned().unwrap_or_default())?;
	let memory_bytes = positive("Memory", hc.memory)?;
	need("MemorySwap", hc.memory, hc.memory_swap)?;
	let nano_cpus = positive("NanoCpus", hc.nano_cpus)?;
	let pids_limit = positive("PidsLimit", hc.pids_limit)?;
	let ulimit = |name: &str| {
		hc.ulimits
			.as_ref()
			.and_then(|u| u.iter().find(|l| l.name.as_deref() == Some(name)))
			.and_then(|l| (l.soft == l.hard).then_some(l.soft).flatten())
	};
	need("Ulimits", 3, hc.ulimits.as_ref().map_or(0, Vec::len))?;
	need("Ulimits core", Some(0), ulimit("core"))?;
	let nofile = positive("Ulimits nofile", ulimit("nofile"))?;
	let fsize_bytes = positive("Ulimits fsize", ulimit("fsize"))?;
	let log = hc.log_config.as_ref().ok_or(missing("LogConfig"))?;
	need("LogConfig.Type", Some("json-file"), log.typ.as_deref())?;
	let log_options = log.config.clone().unwrap_or_default();
	need("LogConfig max-file", Some("1"), log_options.get("max-file").map(String::as_str))?;
	let log_max_bytes =
		log_options.get("max-size").and_then(|s| s.parse().ok()).ok_or_else(|| {
			PolicyViolation {
				field: "LogConfig max-size",
				expected: "a size in bytes".into(),
				found: format!("{:?}", log_options.get("max-size")),
			}
		})?;
	let uid = config
		.user
		.as_deref()
		.and_then(|u| u.split_once(':'))
		.filter(|(u, g)| u == g)
		.and_then(|(u, _)| u.parse::<u32>().ok())
		.filter(|uid| *uid != 0)
		.ok_or_else(|| PolicyViolation {
			field: "User",
			expected: "uid:gid, the same non-zero number".into(),
			found: format!("{:?}", config.user),
		})?;
	let rebuilt = SandboxPolicy {
		network_none,
		memory_bytes,
		nano_cpus,
		pids_limit: pids_limit as u32,
		nofile: nofile as u32,
		fsize_bytes,
		work_tmpfs_bytes,
		output_tmpfs_bytes: output_capacity,
		uid,
		log_max_bytes,
		time_limit_secs: job.policy.time_limit_secs,
	};
	need("policy", job.policy, rebuilt)?;
	Ok(rebuilt)
}
