//! Harness for end-to-end tests: starts real `vouch-node` processes on free loopback ports and
//! stops them when the test ends, whether it passes or panics.
//!
//! The node binary is `$VOUCH_NODE`, or `$CARGO_TARGET_DIR/debug/vouch-node` (the same build
//! the README's run command makes); `scripts/test.sh` builds it before the tests run.

use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::Mutex,
	time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use subxt::{OnlineClient, PolkadotConfig};

pub mod chain;
pub mod client_script;
pub mod network;
pub mod rpc;
pub mod software_ak;
pub mod sortition;
pub mod tpm;

/// Where the node binary is.
pub fn node_binary() -> PathBuf {
	if let Some(path) = std::env::var_os("VOUCH_NODE") {
		return path.into();
	}
	let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
		PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/vouch-target")
	});
	target.join("debug/vouch-node")
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("the loopback interface has free ports")
}

/// A running `vouch-node` process. Dropping it kills the process.
pub struct Node {
	/// Short name, for messages.
	pub name: String,
	/// The RPC port on 127.0.0.1.
	pub rpc_port: u16,
	/// The p2p port on 127.0.0.1.
	pub p2p_port: u16,
	/// The arguments it was started with, to restart it.
	args: Vec<String>,
	log: PathBuf,
	child: Mutex<Option<Child>>,
}

impl Node {
	/// Starts `vouch-node` with `args` plus free RPC and p2p ports; its output goes to a log
	/// file in `dir`.
	pub fn start(name: &str, dir: &Path, args: &[&str]) -> Result<Node> {
		let rpc_port = free_port();
		let p2p_port = free_port();
		let mut node = Node {
			name: name.into(),
			rpc_port,
			p2p_port,
			args: args.iter().map(|a| a.to_string()).collect(),
			log: dir.join(format!("{name}.log")),
			child: Mutex::new(None),
		};
		node.spawn()?;
		Ok(node)
	}

	fn spawn(&mut self) -> Result<()> {
		let binary = node_binary();
		if !binary.is_file() {
			bail!("{} is missing: build it with `cargo build -p vouch-node`", binary.display());
		}
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&self.log)
			.with_context(|| format!("opening {}", self.log.display()))?;
		let child = Command::new(&binary)
			.args(&self.args)
			.args(["--rpc-port", &self.rpc_port.to_string()])
			.args(["--port", &self.p2p_port.to_string()])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.spawn()
			.with_context(|| format!("starting {}", binary.display()))?;
		*self.child.lock().expect("not poisoned") = Some(child);
		Ok(())
	}

	/// The node's websocket RPC address.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// A subxt client, once the node answers on its RPC port (at most `timeout`).
	pub async fn client(&self, timeout: Duration) -> Result<OnlineClient<PolkadotConfig>> {
		let deadline = Instant::now() + timeout;
		loop {
			self.check_alive()?;
			match OnlineClient::<PolkadotConfig>::from_insecure_url(self.ws_url()).await {
				Ok(client) => return Ok(client),
				Err(e) if Instant::now() > deadline => {
					bail!(
						"{} did not answer on {} within {timeout:?}: {e}\n{}",
						self.name,
						self.ws_url(),
						self.log_tail()
					)
				},
				Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
			}
		}
	}

	/// Fails if the process has exited.
	pub fn check_alive(&self) -> Result<()> {
		let mut child = self.child.lock().expect("not poisoned");
		let Some(child) = child.as_mut() else { bail!("{} is stopped", self.name) };
		if let Some(status) = child.try_wait()? {
			bail!("{} exited with {status}\n{}", self.name, self.log_tail());
		}
		Ok(())
	}

	/// Kills the process (SIGKILL: no chance to shut down cleanly) and waits for it.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.lock().expect("not poisoned").take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Starts the process again with the same arguments and ports.
	pub fn restart(&mut self) -> Result<()> {
		self.kill();
		self.spawn()
	}

	/// The last lines the node printed, for failure messages.
	pub fn log_tail(&self) -> String {
		let text = std::fs::read_to_string(&self.log).unwrap_or_default();
		let lines: Vec<&str> = text.lines().collect();
		let from = lines.len().saturating_sub(40);
		format!("--- last lines of {} ---\n{}", self.log.display(), lines[from..].join("\n"))
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if std::thread::panicking() {
			eprintln!("{}", self.log_tail());
		}
		self.kill();
	}
}

/// Polls `check` every 250 ms until it returns `Some`, or fails after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<T>
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Result<Option<T>>>,
{
	let deadline = Instant::now() + timeout;
	loop {
		if let Some(value) = check().await? {
			return Ok(value);
		}
		if Instant::now() > deadline {
			bail!("timed out after {timeout:?} waiting for {what}");
		}
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
}
