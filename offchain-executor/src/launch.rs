//! The measured launch (DESIGN §5.1): before the worker runs, what it is and what it drives
//! are measured into the executor PCR (`vouch_primitives::tpm::launch::EXECUTOR_PCR`), with an
//! event log the chain replays against the quotes and checks against its allowed-build list:
//! - the executor binary (the file this process runs, `/proc/self/exe`);
//! - the job runtime: the binary of the daemon actually serving the Docker socket (found by
//!   the socket's peer credentials), its default OCI runtime and the containerd binaries;
//! - the sandbox-relevant configuration of that daemon (security options, runtimes, cgroup
//!   driver and version, init binary), canonically rendered.
//!
//! On hardware this is the OS's measured launch (an immutable OS image holding these, measured
//! by systemd-stub into the same PCR), and `run --launch-log` reads the log it produced. On
//! swtpm `vouch-executor launch` extends the PCR itself: **a simulation** of that launch. It
//! proves the protocol and the code path, not the host: a root shell can replay the same
//! extensions by hand, which on hardware needs booting the allowed image, which has none.

use std::{
	collections::BTreeMap,
	io::Read,
	path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use vouch_primitives::tpm::launch::{EXECUTOR_PCR, MAX_LAUNCH_LOG};
// The log's format is the client's: the CLI reads it to allow its builds.
pub use vouch_client::launch_log::{Kind, LaunchLog, Measurement};

use crate::tpm::LaunchTpm;

fn sha256_file(path: &Path) -> Result<[u8; 32]> {
	let mut file = std::fs::File::open(path)
		.with_context(|| format!("opening {} to measure it", path.display()))?;
	let mut hasher = Sha256::new();
	let mut buf = vec![0u8; 1 << 16];
	loop {
		let n = file.read(&mut buf)?;
		if n == 0 {
			break;
		}
		hasher.update(&buf[..n]);
	}
	Ok(hasher.finalize().into())
}

/// `name` if it holds a slash, else its first match on `$PATH`.
fn resolve(name: &str) -> Result<PathBuf> {
	if name.contains('/') {
		return Ok(name.into());
	}
	let path = std::env::var_os("PATH").unwrap_or_default();
	std::env::split_paths(&path)
		.map(|dir| dir.join(name))
		.find(|candidate| candidate.is_file())
		.with_context(|| format!("{name} is not on PATH: cannot measure the job runtime"))
}

/// Measures what a launch extends, in order: the executor, the daemon serving
/// `docker_socket`, its default OCI runtime and `runtime_binaries`, and its sandbox
/// configuration.
pub async fn measure(docker_socket: &str, runtime_binaries: &[String]) -> Result<Vec<Measurement>> {
	let mut out = Vec::new();
	let exe = Path::new("/proc/self/exe");
	let exe_path = std::fs::read_link(exe).unwrap_or_else(|_| exe.into());
	out.push(Measurement::new(
		Kind::Executor,
		sha256_file(exe)?,
		format!("vouch-executor {} ({})", env!("CARGO_PKG_VERSION"), exe_path.display()),
	));

	// The daemon that will run the jobs is whoever answers on the socket, not a file on PATH.
	let stream = tokio::net::UnixStream::connect(docker_socket)
		.await
		.with_context(|| format!("connecting to the Docker socket {docker_socket}"))?;
	let pid =
		stream.peer_cred()?.pid().context("the Docker socket's peer credentials carry no pid")?;
	drop(stream);
	let daemon = PathBuf::from(format!("/proc/{pid}/exe"));
	let daemon_path = std::fs::read_link(&daemon).unwrap_or_else(|_| daemon.clone());
	out.push(Measurement::new(
		Kind::JobRuntime,
		sha256_file(&daemon).context("measuring the Docker daemon's binary")?,
		format!("Docker daemon ({})", daemon_path.display()),
	));

	let docker =
		bollard::Docker::connect_with_unix(docker_socket, 60, bollard::API_DEFAULT_VERSION)?
			.negotiate_version()
			.await
			.with_context(|| format!("no Docker daemon answers at {docker_socket}"))?;
	let info = docker.info().await.context("reading the Docker daemon's configuration")?;
	let default_runtime = info.default_runtime.clone().unwrap_or_else(|| "runc".into());
	let runtimes: BTreeMap<String, String> = info
		.runtimes
		.clone()
		.unwrap_or_default()
		.into_iter()
		.map(|(name, runtime)| {
			let path = runtime.path.unwrap_or_else(|| name.clone());
			(name, path)
		})
		.collect();
	let oci = runtimes.get(&default_runtime).cloned().unwrap_or(default_runtime.clone());
	for name in std::iter::once(&oci).chain(runtime_binaries) {
		let path = resolve(name)?;
		out.push(Measurement::new(
			Kind::JobRuntime,
			sha256_file(&path)?,
			path.display().to_string(),
		));
	}

	let mut config = String::from("vouch sandbox config v1\n");
	let mut security = info.security_options.clone().unwrap_or_default();
	security.sort();
	for option in security {
		config.push_str(&format!("security-option={option}\n"));
	}
	config.push_str(&format!("default-runtime={default_runtime}\n"));
	for (name, path) in &runtimes {
		config.push_str(&format!("runtime={name}:{path}\n"));
	}
	let debug = |v: &dyn std::fmt::Debug| format!("{v:?}");
	config.push_str(&format!("cgroup-driver={}\n", debug(&info.cgroup_driver)));
	config.push_str(&format!("cgroup-version={}\n", debug(&info.cgroup_version)));
	config.push_str(&format!("init-binary={}\n", info.init_binary.clone().unwrap_or_default()));
	out.push(Measurement::new(
		Kind::SandboxConfig,
		Sha256::digest(config.as_bytes()).into(),
		config.trim_end().replace('\n', "; "),
	));
	if out.len() > MAX_LAUNCH_LOG {
		bail!("{} measurements; the chain takes at most {MAX_LAUNCH_LOG}", out.len());
	}
	Ok(out)
}

/// Extends the executor PCR of the TPM at `tcti` with `measured` and writes the log to
/// `log_path`. Idempotent for one TPM power cycle: if the PCR already holds exactly this
/// launch (the log replays to it), nothing is extended again. Fails if it holds anything
/// else, since no extension can bring it back.
pub fn launch(tcti: &str, log_path: &Path, measured: Vec<Measurement>) -> Result<LaunchLog> {
	let mut tpm = LaunchTpm::open(tcti)?;
	let current = *tpm.pcrs()?.last().context("no executor PCR read")?;
	let log = LaunchLog { pcr: EXECUTOR_PCR, entries: measured };
	if current != [0; 32] {
		if let Ok(previous) = LaunchLog::read(log_path) {
			if previous.check_against(&current).is_ok() {
				if previous.digests()? == log.digests()? {
					tracing::info!(log = %log_path.display(), "the TPM already holds this launch");
					return Ok(previous);
				}
				bail!(
					"PCR {EXECUTOR_PCR} holds another launch since the TPM started (a different \
					 build or runtime was measured): restart the TPM to launch this one"
				);
			}
		}
		bail!(
			"PCR {EXECUTOR_PCR} was extended by something no launch log here explains: restart \
			 the TPM to launch"
		);
	}
	for entry in &log.entries {
		tpm.extend(entry.digest()?)?;
		tracing::info!(kind = entry.kind.as_str(), digest = %entry.digest, what = %entry.what, "measured");
	}
	let pcr = *tpm.pcrs()?.last().context("no executor PCR read")?;
	log.check_against(&pcr)?;
	if let Some(dir) = log_path.parent() {
		std::fs::create_dir_all(dir)?;
	}
	let tmp = log_path.with_extension("tmp");
	std::fs::write(&tmp, serde_json::to_string_pretty(&log)?)?;
	std::fs::rename(&tmp, log_path)
		.with_context(|| format!("writing the launch log {}", log_path.display()))?;
	Ok(log)
}
