//! A Docker daemon of the executor's own for tests, benchmarks and the demo: Debian's
//! `dockerd` on its own socket, data root, exec root and pidfile under one directory, with no
//! bridge and no iptables rules, so nothing else on the machine is touched. Stopped (SIGTERM,
//! then SIGKILL) when dropped. A worker in production points the runner at its own daemon's
//! socket instead.

use std::{
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

/// A running daemon of ours.
pub struct Dockerd {
	child: Child,
	dir: PathBuf,
}

impl Dockerd {
	/// Starts `dockerd` with all its state under `dir` and waits until it answers.
	pub fn start(dir: &Path) -> Result<Self> {
		std::fs::create_dir_all(dir)?;
		let log = std::fs::File::create(dir.join("dockerd.log"))?;
		let arg = |name: &str, path: &str| format!("--{name}={}", dir.join(path).display());
		let child = Command::new("dockerd")
			.arg(format!("--host=unix://{}", dir.join("docker.sock").display()))
			.arg(arg("data-root", "data"))
			.arg(arg("exec-root", "exec"))
			.arg(arg("pidfile", "dockerd.pid"))
			.args(["--bridge=none", "--iptables=false", "--ip-masq=false", "--log-level=warn"])
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.spawn()
			.context("starting dockerd (Debian package docker.io; scripts/setup.sh installs it)")?;
		let daemon = Self { child, dir: dir.to_path_buf() };
		daemon.wait_ready(Duration::from_secs(60))?;
		Ok(daemon)
	}

	/// The daemon's socket path.
	pub fn socket(&self) -> String {
		self.dir.join("docker.sock").display().to_string()
	}

	/// Where the daemon keeps images, containers and logs.
	pub fn data_root(&self) -> PathBuf {
		self.dir.join("data")
	}

	fn wait_ready(&self, limit: Duration) -> Result<()> {
		let started = Instant::now();
		let socket = self.dir.join("docker.sock");
		while started.elapsed() < limit {
			if let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&socket) {
				use std::io::{Read, Write};
				stream.set_read_timeout(Some(Duration::from_secs(2)))?;
				if stream.write_all(b"GET /_ping HTTP/1.0\r\n\r\n").is_ok() {
					let mut answer = String::new();
					let _ = stream.read_to_string(&mut answer);
					if answer.ends_with("OK") {
						return Ok(());
					}
				}
			}
			std::thread::sleep(Duration::from_millis(100));
		}
		let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
		bail!("dockerd did not answer within {limit:?}; its log:\n{log}")
	}
}

impl Drop for Dockerd {
	fn drop(&mut self) {
		let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
		let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
		let started = Instant::now();
		while started.elapsed() < Duration::from_secs(20) {
			if let Ok(Some(_)) = self.child.try_wait() {
				return;
			}
			std::thread::sleep(Duration::from_millis(50));
		}
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}
