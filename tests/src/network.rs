//! A whole Vouch network on this machine, as `scripts/run-dev.sh` starts it, for the tests that
//! need the executors: a dev node (with a base path, so that it can be restarted with its
//! chain), a Docker daemon of its own, a content store, the busybox job image, and workers,
//! each a swtpm-backed TPM and a `vouch-executor run` process that registers itself; sudo
//! activates them. Everything stops when the network is dropped: the executors with SIGTERM
//! (they remove their containers and wipe their staging), then the rest.

use std::{
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use subxt_signer::{sr25519::Keypair, SecretUri};
use vouch_client::{demo, Chain};
use vouch_executor::{dockerd::Dockerd, image::builder::ImageSpec, swtpm::Swtpm};

use crate::{free_port, Node};

/// Where a workspace binary is: `$<env>`, or `$CARGO_TARGET_DIR/debug/<name>`.
/// Root allows what `executor launch` measures on this machine (`vouch-executor measure`):
/// the executor binary, the job runtime driving `docker_socket`, and its sandbox
/// configuration, as `scripts/run-dev.sh` does with `vouch build allow`.
pub async fn allow_launch(
	chain: &Chain,
	root: &Keypair,
	executor: &Path,
	docker_socket: &str,
) -> Result<()> {
	let output = std::process::Command::new(executor)
		.args(["measure", "--json", "--docker-socket", docker_socket])
		.output()
		.with_context(|| format!("running {} measure", executor.display()))?;
	anyhow::ensure!(
		output.status.success(),
		"vouch-executor measure failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	let measured: Vec<vouch_executor::launch::Measurement> =
		serde_json::from_slice(&output.stdout).context("vouch-executor measure's JSON")?;
	let builds = vouch_client::launch_log::builds(&measured)?;
	chain.submit(root, &vouch_client::calls::sudo_allow_builds(&builds)).await?;
	Ok(())
}

pub fn binary(name: &str, env: &str) -> PathBuf {
	if let Some(path) = std::env::var_os(env) {
		return path.into();
	}
	crate::node_binary().with_file_name(name)
}

/// A child process with its output in a log file; restartable with the same arguments.
/// Dropping it kills it.
pub struct Process {
	/// Short name, for messages.
	pub name: String,
	command: PathBuf,
	args: Vec<String>,
	envs: Vec<(String, String)>,
	log: PathBuf,
	child: Option<Child>,
}

impl Process {
	/// Starts `command args` with `envs`; output appended to `log`.
	pub fn start(
		name: &str,
		command: PathBuf,
		args: Vec<String>,
		envs: Vec<(String, String)>,
		log: PathBuf,
	) -> Result<Self> {
		let mut process = Self { name: name.into(), command, args, envs, log, child: None };
		process.spawn()?;
		Ok(process)
	}

	fn spawn(&mut self) -> Result<()> {
		if !self.command.is_file() {
			bail!("{} is missing: `scripts/test.sh` builds it", self.command.display());
		}
		let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
		let child = Command::new(&self.command)
			.args(&self.args)
			.envs(self.envs.iter().map(|(k, v)| (k, v)))
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.spawn()
			.with_context(|| format!("starting {}", self.command.display()))?;
		self.child = Some(child);
		Ok(())
	}

	/// Its process id, while it runs.
	pub fn pid(&self) -> Option<u32> {
		self.child.as_ref().map(Child::id)
	}

	/// Fails if the process has exited.
	pub fn check_alive(&mut self) -> Result<()> {
		let Some(child) = self.child.as_mut() else { bail!("{} is stopped", self.name) };
		if let Some(status) = child.try_wait()? {
			bail!("{} exited with {status}\n{}", self.name, self.log_tail());
		}
		Ok(())
	}

	/// SIGKILL: a crash, with no chance to clean up.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// SIGTERM, then waits up to `patience` for it to exit (SIGKILL after that). Returns
	/// whether it exited by itself.
	pub fn terminate(&mut self, patience: Duration) -> bool {
		let Some(mut child) = self.child.take() else { return true };
		let pid = nix::unistd::Pid::from_raw(child.id() as i32);
		let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
		let started = Instant::now();
		while started.elapsed() < patience {
			if let Ok(Some(_)) = child.try_wait() {
				return true;
			}
			std::thread::sleep(Duration::from_millis(50));
		}
		let _ = child.kill();
		let _ = child.wait();
		false
	}

	/// Starts it again with the same arguments (after [`Self::kill`] or
	/// [`Self::terminate`]).
	pub fn restart(&mut self) -> Result<()> {
		self.kill();
		self.spawn()
	}

	/// Everything it printed.
	pub fn log_text(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	/// The last lines it printed, for failure messages.
	pub fn log_tail(&self) -> String {
		let text = self.log_text();
		let lines: Vec<&str> = text.lines().collect();
		let from = lines.len().saturating_sub(40);
		format!("--- last lines of {} ---\n{}", self.log.display(), lines[from..].join("\n"))
	}
}

impl Drop for Process {
	fn drop(&mut self) {
		if std::thread::panicking() {
			eprintln!("{}", self.log_tail());
		}
		self.kill();
	}
}

/// The dev accounts the first workers use, in order; more workers are `//Worker<i>`, funded
/// by Alice.
pub const WORKER_SEEDS: [&str; 4] = ["//Charlie", "//Dave", "//Eve", "//Ferdie"];

fn worker_seed(i: usize) -> String {
	WORKER_SEEDS.get(i).map(|s| s.to_string()).unwrap_or_else(|| format!("//Worker{i}"))
}

/// One worker: its TPM and its executor process.
pub struct Worker {
	/// Its account's secret URI.
	pub seed: String,
	/// Its account.
	pub keypair: Keypair,
	/// Its attestation API, as registered on-chain.
	pub api_url: String,
	/// Its Prometheus metrics (`/metrics`), host:port.
	pub metrics_addr: String,
	/// Its executor.
	pub executor: Process,
	_tpm: Swtpm,
}

impl Worker {
	/// Its account id.
	pub fn account(&self) -> [u8; 32] {
		self.keypair.public_key().0
	}

	/// The value of the metric `name` (a sample line `name value`), or 0 if absent.
	pub fn metric(&self, name: &str) -> Result<f64> {
		use std::io::{Read, Write};
		let mut stream = std::net::TcpStream::connect(&self.metrics_addr)?;
		stream.set_read_timeout(Some(Duration::from_secs(5)))?;
		stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")?;
		let mut text = String::new();
		stream.read_to_string(&mut text)?;
		Ok(text
			.lines()
			.filter_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
			.next()
			.unwrap_or(0.0))
	}

	/// The executor's resident memory, in KiB (`VmRSS`).
	pub fn rss_kib(&self) -> Result<u64> {
		let pid = self.executor.pid().context("the executor is not running")?;
		let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
		status
			.lines()
			.find_map(|l| l.strip_prefix("VmRSS:"))
			.and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
			.context("no VmRSS")
	}
}

/// What kind of network to start.
#[derive(Clone, Copy, Debug)]
pub struct Options {
	/// How many workers.
	pub workers: usize,
	/// Every executor runs another image than the lambda's while claiming the lambda's (the
	/// test-only `--fault-wrong-image`); only the elected one acts on it.
	pub wrong_image: bool,
	/// Worker 0 makes its first activation challenge one no TPM can answer (the test-only
	/// `--fault-bogus-challenge`), and bonds twice the minimum so that its penalty for it
	/// leaves it active.
	pub bogus_verifier: bool,
	/// How the workers become active.
	pub activation: demo::Activation,
}

/// The deposit each worker registers with: the runtime's `MinWorkerDeposit`, 100 VOUCH.
pub const MIN_DEPOSIT: u128 = 100 * vouch_client::UNIT;

/// The running network. Fields drop in order: the executors first, the node last.
pub struct Network {
	/// The workers.
	pub workers: Vec<Worker>,
	/// The content store everyone uses.
	pub store: Process,
	/// Its URL.
	pub store_url: String,
	/// The busybox job image: tarball and ID.
	pub image: (PathBuf, [u8; 32]),
	/// The Docker daemon the executors share.
	pub docker: Dockerd,
	/// A client of the node.
	pub chain: Chain,
	/// The dev node.
	pub node: Node,
	dir: PathBuf,
	wrong_image: Option<String>,
	bogus_verifier: bool,
}

impl Network {
	/// Starts everything under `dir` and waits until `options.workers` workers are active.
	pub async fn start(dir: &Path, options: Options) -> Result<Self> {
		let base = dir.join("node");
		let node =
			Node::start("node", dir, &["--dev", "--base-path", &base.display().to_string()])?;
		let docker = {
			let dir = dir.join("docker");
			tokio::task::spawn_blocking(move || Dockerd::start(&dir)).await??
		};
		let executor = binary("vouch-executor", "VOUCH_EXECUTOR");
		let store_port = free_port();
		let store = Process::start(
			"store",
			executor.clone(),
			vec![
				"store".into(),
				"--dir".into(),
				dir.join("store").display().to_string(),
				"--listen".into(),
				format!("127.0.0.1:{store_port}"),
			],
			vec![],
			dir.join("store.log"),
		)?;
		let store_url = format!("http://127.0.0.1:{store_port}");

		let busybox = ImageSpec::busybox(Path::new("/bin/busybox"))
			.context("reading /bin/busybox (Debian's busybox-static)")?;
		let image = (dir.join("busybox.tar"), write_image(&busybox, &dir.join("busybox.tar"))?);
		let mut wrong = None;
		if options.wrong_image {
			// The same busybox with one file more: another image ID.
			let mut other = busybox.clone();
			other.files.push(("etc/other".into(), 0o644, b"not the lambda's image\n".to_vec()));
			let path = dir.join("other.tar");
			let id = write_image(&other, &path)?;
			wrong = Some(format!("sha256:{}@{}", hex(&id), path.display()));
		}

		// The node builds its genesis state first (10 s in debug on an idle 2-core machine,
		// more while the previous test's network winds down): wait as the other tests do, and
		// fail with its log if it exits.
		node.client(Duration::from_secs(120)).await?;
		let chain = Chain::connect(&node.ws_url(), Duration::from_secs(60)).await?;
		let alice = subxt_signer::sr25519::dev::alice();
		allow_launch(&chain, &alice, &executor, &docker.socket()).await?;
		let mut network = Self {
			workers: Vec::new(),
			store,
			store_url,
			image,
			docker,
			chain,
			node,
			dir: dir.to_path_buf(),
			wrong_image: wrong,
			bogus_verifier: options.bogus_verifier,
		};
		for i in 0..options.workers {
			network.add_worker(i, true).await?;
		}
		let activated = demo::activate_workers(
			&network.chain,
			&alice,
			options.workers,
			options.activation,
			Duration::from_secs(360),
			|step| eprintln!("==> {step}"),
		)
		.await;
		if let Err(e) = activated {
			for worker in &mut network.workers {
				worker.executor.check_alive()?;
			}
			return Err(e);
		}
		Ok(network)
	}

	/// Starts worker `i` (its swtpm and `vouch-executor launch`, which measures the executor
	/// into its TPM and runs it, account [`worker_seed`]`(i)`,
	/// funded by Alice beyond the dev accounts); with `register`, the executor registers
	/// itself (`--register-deposit`), else it waits for `vouch worker register`.
	pub async fn add_worker(&mut self, i: usize, register: bool) -> Result<()> {
		let alice = subxt_signer::sr25519::dev::alice();
		let seed = worker_seed(i);
		let keypair = Keypair::from_uri(&seed.parse::<SecretUri>()?)?;
		if i >= WORKER_SEEDS.len() {
			let funds =
				vouch_client::calls::transfer(keypair.public_key().0, 1_000 * vouch_client::UNIT);
			self.chain.submit(&alice, &funds).await?;
		}
		let wdir = self.dir.join(format!("worker-{i}"));
		std::fs::create_dir_all(&wdir)?;
		let tpm = {
			let tpm_dir = wdir.join("tpm-state");
			tokio::task::spawn_blocking(move || Swtpm::start(&tpm_dir)).await??
		};
		let key_file = wdir.join("key");
		std::fs::write(&key_file, &seed)?;
		std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
		let api_port = free_port();
		let metrics_addr = format!("127.0.0.1:{}", free_port());
		let mut args: Vec<String> = [
			"launch",
			"--node-url",
			&self.node.ws_url(),
			"--tcti",
			&tpm.tcti(),
			"--key-file",
			&wdir.join("tpm-keys").display().to_string(),
			"--docker-socket",
			&self.docker.socket(),
			"--data-dir",
			&wdir.join("data").display().to_string(),
			"--store-listen",
			&format!("127.0.0.1:{}", free_port()),
			"--api-listen",
			&format!("127.0.0.1:{api_port}"),
			"--gateway",
			&self.store_url,
			"--ek-intermediate",
			&vouch_executor::swtpm::repo_root()
				.join("chain-spec/test-tpm-ca/issuer.der")
				.display()
				.to_string(),
			"--metrics-listen",
			&metrics_addr,
			"--poll-ms",
			"200",
		]
		.map(String::from)
		.to_vec();
		let bogus = self.bogus_verifier && i == 0;
		if register {
			let deposit = if bogus { 2 * MIN_DEPOSIT } else { MIN_DEPOSIT };
			args.extend(["--register-deposit".into(), deposit.to_string()]);
		}
		if let Some(wrong) = &self.wrong_image {
			args.push(format!("--fault-wrong-image={wrong}"));
		}
		if bogus {
			args.push("--fault-bogus-challenge".into());
		}
		let envs = vec![
			("VOUCH_ACCOUNT_KEY_FILE".into(), key_file.display().to_string()),
			("RUST_LOG".into(), "info".into()),
		];
		let executor = Process::start(
			&format!("executor {i} ({seed})"),
			binary("vouch-executor", "VOUCH_EXECUTOR"),
			args,
			envs,
			wdir.join("executor.log"),
		)?;
		self.workers.push(Worker {
			seed,
			keypair,
			api_url: format!("http://127.0.0.1:{api_port}"),
			metrics_addr,
			executor,
			_tpm: tpm,
		});
		Ok(())
	}

	/// The story's settings on this network.
	pub fn story(&self) -> demo::Story {
		demo::Story {
			image: self.image.clone(),
			store: self.store_url.clone(),
			committee: self.workers.len() as u32,
			timeout: Duration::from_secs(240),
			..Default::default()
		}
	}

	/// The worker with `account`.
	pub fn worker_mut(&mut self, account: [u8; 32]) -> Result<&mut Worker> {
		self.workers
			.iter_mut()
			.find(|w| w.account() == account)
			.context("no worker of this network has that account")
	}

	/// Worker `i`'s launch log (what `vouch-executor launch` measured into its TPM).
	pub fn launch_log(&self, i: usize) -> Result<vouch_executor::launch::LaunchLog> {
		vouch_executor::launch::LaunchLog::read(
			&self.dir.join(format!("worker-{i}/data/launch-log.json")),
		)
	}

	/// The executors' logs, for failure messages.
	pub fn executor_logs(&self) -> String {
		self.workers.iter().map(|w| w.executor.log_tail()).collect::<Vec<_>>().join("\n")
	}
}

impl Drop for Network {
	fn drop(&mut self) {
		for worker in &mut self.workers {
			worker.executor.terminate(Duration::from_secs(20));
		}
		self.store.terminate(Duration::from_secs(5));
	}
}

fn write_image(spec: &ImageSpec, path: &Path) -> Result<[u8; 32]> {
	let file = std::fs::File::create(path)?;
	let id = spec.write_tarball(std::io::BufWriter::new(file))?;
	Ok(id.0)
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signed extrinsic as the blocks hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
	/// The block number.
	pub block: u64,
	/// The signer's address bytes.
	pub signer: Vec<u8>,
	/// `Pallet.call`.
	pub call: String,
	/// The call's encoded arguments.
	pub data: Vec<u8>,
	/// Whether it failed (`System.ExtrinsicFailed`).
	pub failed: bool,
}

/// Every signed extrinsic of the finalized chain, from block 1 to the newest finalized.
pub async fn signed_extrinsics(chain: &Chain) -> Result<Vec<Sent>> {
	let (head, _) = chain.finalized().await?;
	let mut sent = Vec::new();
	for number in 1..=head {
		let (hash, _) = chain.block(number).await?.context("a finalized block without a hash")?;
		let at = chain.at(hash).await?;
		let extrinsics = at.extrinsics().fetch().await?;
		for extrinsic in extrinsics.iter() {
			let extrinsic = extrinsic?;
			let Some(signer) = extrinsic.address_bytes() else { continue };
			let failed = extrinsic
				.events()
				.await?
				.iter()
				.filter_map(|e| e.ok())
				.any(|e| e.pallet_name() == "System" && e.event_name() == "ExtrinsicFailed");
			sent.push(Sent {
				block: number,
				signer: signer.to_vec(),
				call: format!("{}.{}", extrinsic.pallet_name(), extrinsic.call_name()),
				data: extrinsic.call_data_field_bytes().to_vec(),
				failed,
			});
		}
	}
	Ok(sent)
}

/// The extrinsics that appear more than once (same signer, call and arguments).
/// `Tasks.submit_verdict(task, ok)` is left out: its arguments are the same in both phases
/// (the phase is the task's state), so callers count verdicts per member instead.
pub fn duplicates(sent: &[Sent]) -> Vec<&Sent> {
	let mut seen = std::collections::HashSet::new();
	sent.iter()
		.filter(|s| s.call != "Tasks.submit_verdict")
		.filter(|s| !seen.insert((&s.signer, &s.call, &s.data)))
		.collect()
}

/// Every `E` event of the finalized chain, from block 1 on, in order.
pub async fn events<E: subxt::events::DecodeAsEvent>(chain: &Chain) -> Result<Vec<E>> {
	let (head, _) = chain.finalized().await?;
	let mut found = Vec::new();
	for number in 1..=head {
		let (hash, _) = chain.block(number).await?.context("a finalized block without a hash")?;
		for event in chain.at(hash).await?.events().fetch().await?.find::<E>() {
			found.push(event?);
		}
	}
	Ok(found)
}

/// `pallet`'s events of the finalized chain, one line each (`block N: Event`), for a failing
/// assertion to tell the story it saw.
pub async fn event_story(chain: &Chain, pallet: &str) -> Result<String> {
	let (head, _) = chain.finalized().await?;
	let mut story = String::new();
	for number in 1..=head {
		let (hash, _) = chain.block(number).await?.context("a finalized block without a hash")?;
		for event in chain.at(hash).await?.events().fetch().await?.iter() {
			let event = event?;
			if event.pallet_name() == pallet {
				story.push_str(&format!("block {number}: {}\n", event.event_name()));
			}
		}
	}
	Ok(story)
}
