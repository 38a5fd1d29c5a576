//! `vouch-executor`: the sidecar a Vouch worker runs beside its node. `run` is the worker: it
//! follows the chain, claims seats, executes and monitors tasks, and serves its content store,
//! attestation API and metrics. The other commands drive its parts one at a time: the content
//! store, job images, the data plane's benchmarks and the TPM service.

mod bench;
mod config_file;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use vouch_executor::tpm::{Tpm, TpmConfig};
use vouch_primitives::{
	tpm::nonce::{fixture_inputs as fixture, quote_nonce, registration_nonce},
	Phase,
};

#[derive(Parser)]
#[command(name = "vouch-executor", version, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Runs the worker until SIGINT or SIGTERM: follows the chain, claims seats its VRF draw
	/// wins, executes and monitors tasks; serves the content store, the attestation API and
	/// the metrics. Its launch log (`--launch-log`) must explain the TPM's executor PCR: on
	/// hardware the OS's measured launch writes it; on swtpm, start it with `launch`.
	Run(Box<RunArgs>),
	/// The measured launch, simulated for a software TPM: measures this executor binary, the
	/// Docker daemon serving `--docker-socket` with its OCI runtime and containerd binaries,
	/// and the daemon's sandbox configuration into the executor PCR (11), writes the launch
	/// log, then runs the worker as `run` does with the same flags. On hardware the OS's
	/// measured boot fills that PCR instead.
	Launch(Box<LaunchArgs>),
	/// Prints what `launch` would measure (kind, SHA-256, what), one per line or as JSON,
	/// without touching a TPM: the digests root allows (`vouch build allow`).
	Measure {
		/// The Docker daemon's socket.
		#[arg(long, env = "VOUCH_DOCKER_SOCKET", default_value = "/var/run/docker.sock")]
		docker_socket: String,
		#[command(flatten)]
		runtime: RuntimeArgs,
		/// Print one JSON document.
		#[arg(long)]
		json: bool,
	},
	/// Serves a content store: blobs by CID over HTTP (`PUT`/`GET`/`HEAD /blobs/{cid}`,
	/// `GET /ipfs/{cid}`), until SIGINT or SIGTERM.
	Store {
		/// Where the blobs live.
		#[arg(long, env = "VOUCH_STORE_DIR")]
		dir: PathBuf,
		/// The address to listen on.
		#[arg(long, env = "VOUCH_STORE_LISTEN", default_value = "127.0.0.1:8700")]
		listen: std::net::SocketAddr,
		/// The largest blob accepted, in bytes.
		#[arg(long, env = "VOUCH_STORE_MAX_BLOB_BYTES", default_value_t = 4 << 30)]
		max_blob_bytes: u64,
	},
	/// Job images.
	Image {
		#[command(subcommand)]
		command: ImageCommand,
	},
	/// Prints the data plane's figures: Docker paths side by side, store and envelope
	/// throughput (see `scripts/bench-data-plane.sh`).
	Bench {
		#[command(subcommand)]
		command: bench::BenchCommand,
	},
	/// The worker's TPM.
	Tpm {
		#[command(flatten)]
		tpm: TpmArgs,
		#[command(subcommand)]
		command: TpmCommand,
	},
}

/// The job runtime binaries a launch measures besides the daemon and its OCI runtime.
#[derive(clap::Args)]
struct RuntimeArgs {
	/// A job runtime binary to measure, by path or name on PATH (repeat for more).
	#[arg(
		long = "runtime-binary",
		env = "VOUCH_RUNTIME_BINARIES",
		value_delimiter = ',',
		default_values_t = ["containerd".to_string(), "containerd-shim-runc-v2".to_string()]
	)]
	runtime_binaries: Vec<String>,
}

#[derive(clap::Args)]
struct LaunchArgs {
	#[command(flatten)]
	runtime: RuntimeArgs,
	#[command(flatten)]
	run: RunArgs,
}

#[derive(clap::Args)]
struct RunArgs {
	/// A TOML file of these flags by their long names (`node-url = "ws://..."`); a flag given
	/// on the command line or in its environment variable wins over the file.
	#[arg(long, env = "VOUCH_CONFIG")]
	config: Option<PathBuf>,
	/// The node's WebSocket RPC.
	#[arg(long, env = "VOUCH_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	node_url: String,
	/// A file holding the worker account's secret URI (mode 0600; never on the command line).
	#[arg(long, env = "VOUCH_ACCOUNT_KEY_FILE")]
	account_key_file: PathBuf,
	#[command(flatten)]
	tpm: TpmArgs,
	/// The Docker daemon's socket.
	#[arg(long, env = "VOUCH_DOCKER_SOCKET", default_value = "/var/run/docker.sock")]
	docker_socket: String,
	/// Where the worker keeps its state, downloads, staging and store.
	#[arg(long, env = "VOUCH_DATA_DIR")]
	data_dir: PathBuf,
	/// The measured launch's event log (JSON; see `launch`); default
	/// `<data-dir>/launch-log.json`.
	#[arg(long, env = "VOUCH_LAUNCH_LOG")]
	launch_log: Option<PathBuf>,
	/// The content store's listen address.
	#[arg(long, env = "VOUCH_STORE_LISTEN", default_value = "127.0.0.1:8701")]
	store_listen: std::net::SocketAddr,
	/// The largest blob the store takes, in bytes.
	#[arg(long, env = "VOUCH_STORE_MAX_BLOB_BYTES", default_value_t = 4 << 30)]
	store_max_blob_bytes: u64,
	/// The attestation API's listen address (JSON-RPC over HTTP and WebSocket).
	#[arg(long, env = "VOUCH_API_LISTEN", default_value = "127.0.0.1:8702")]
	api_listen: std::net::SocketAddr,
	/// The endpoint to register (the attestation API's public URL); `http://<api-listen>` if
	/// not given.
	#[arg(long, env = "VOUCH_ENDPOINT")]
	endpoint: Option<String>,
	/// Serve Prometheus metrics at `/metrics` on this address.
	#[arg(long, env = "VOUCH_METRICS_LISTEN")]
	metrics_listen: Option<std::net::SocketAddr>,
	/// Stores or IPFS gateways to fetch blobs from, in order (results are also put to the
	/// first).
	#[arg(long = "gateway", env = "VOUCH_GATEWAYS", value_delimiter = ',')]
	gateways: Vec<String>,
	/// The least payment per committee seat the worker takes, in units.
	#[arg(long, env = "VOUCH_MIN_PAYMENT_PER_SEAT", default_value_t = 0)]
	min_payment_per_seat: u128,
	/// Take only these lambdas.
	#[arg(long = "allow-lambda", env = "VOUCH_ALLOW_LAMBDAS", value_delimiter = ',')]
	allow_lambdas: Vec<u64>,
	/// Never take these lambdas.
	#[arg(long = "deny-lambda", env = "VOUCH_DENY_LAMBDAS", value_delimiter = ',')]
	deny_lambdas: Vec<u64>,
	/// Register the worker with this deposit (units) if it is not registered yet.
	#[arg(long, env = "VOUCH_REGISTER_DEPOSIT")]
	register_deposit: Option<u128>,
	/// The EK certificate's issuing CA certificates (DER), submitted at registration.
	#[arg(long = "ek-intermediate", env = "VOUCH_EK_INTERMEDIATES", value_delimiter = ',')]
	ek_intermediates: Vec<PathBuf>,
	/// How often the node's finalized head is read, in milliseconds.
	#[arg(long, env = "VOUCH_POLL_MS", default_value_t = 500)]
	poll_ms: u64,
	/// Test-only fault: run the image `ID@TARBALL` instead of the lambda's while attesting
	/// the lambda's.
	#[arg(long, hide = true)]
	fault_wrong_image: Option<String>,
	/// Test-only fault: make the first activation challenge one no TPM can answer.
	#[arg(long, hide = true, conflicts_with = "fault_wrong_image")]
	fault_bogus_challenge: bool,
}

impl RunArgs {
	fn launch_log(&self) -> PathBuf {
		self.launch_log.clone().unwrap_or_else(|| self.data_dir.join("launch-log.json"))
	}

	fn config(self) -> Result<(vouch_executor::worker::Config, vouch_client::keys::AccountKey)> {
		let key = vouch_client::keys::AccountKey::from_file(&self.account_key_file)?;
		let launch_log = self.launch_log();
		let fault = match self.fault_wrong_image {
			Some(spec) => {
				let (id, tarball) =
					spec.split_once('@').context("--fault-wrong-image takes ID@TARBALL")?;
				Some(vouch_executor::worker::Fault::WrongImage {
					tarball: tarball.into(),
					id: vouch_executor::image::ImageId::parse(id)?,
				})
			},
			None if self.fault_bogus_challenge => {
				Some(vouch_executor::worker::Fault::BogusChallenge)
			},
			None => None,
		};
		let config = vouch_executor::worker::Config {
			launch_log,
			node_url: self.node_url,
			tpm: TpmConfig { tcti: self.tpm.tcti, key_file: self.tpm.key_file },
			docker_socket: self.docker_socket,
			data_dir: self.data_dir,
			store_listen: self.store_listen,
			store_max_blob_bytes: self.store_max_blob_bytes,
			api_listen: self.api_listen,
			endpoint: self.endpoint,
			metrics_listen: self.metrics_listen,
			gateways: self.gateways,
			pay: vouch_executor::worker::PayPolicy {
				min_payment_per_seat: self.min_payment_per_seat,
				allow_lambdas: self.allow_lambdas,
				deny_lambdas: self.deny_lambdas,
			},
			register_deposit: self.register_deposit,
			ek_intermediates: self.ek_intermediates,
			poll: std::time::Duration::from_millis(self.poll_ms.max(50)),
			fault,
		};
		Ok((config, key))
	}
}

#[derive(Subcommand)]
enum ImageCommand {
	/// Writes the reproducible busybox test image (a `docker save` tarball) and prints its
	/// image ID, the same on every build from the same busybox.
	BuildBusybox {
		/// The tarball to write.
		#[arg(long)]
		out: PathBuf,
		/// The static busybox to put in it (Debian's busybox-static).
		#[arg(long, default_value = "/bin/busybox")]
		busybox: PathBuf,
	},
	/// Writes an image of a root filesystem (a `debootstrap` tree: `scripts/demo/python-image.sh`)
	/// with the job user and the sandbox's mount points, reproducibly: the same tree gives the
	/// same image ID. Prints the ID.
	BuildRootfs {
		/// The root filesystem's directory.
		#[arg(long)]
		rootfs: PathBuf,
		/// The tarball to write.
		#[arg(long)]
		out: PathBuf,
		/// An environment variable of the image, `KEY=value` (repeat for more).
		#[arg(long = "env", default_values_t = ["PATH=/usr/local/bin:/usr/bin:/bin".to_string()])]
		env: Vec<String>,
		/// The image's default command (repeat for each word).
		#[arg(long = "cmd", default_values_t = ["/bin/sh".to_string()])]
		cmd: Vec<String>,
	},
	/// Checks a `docker save` tarball against an image ID (config and every layer).
	Verify {
		/// The tarball.
		#[arg(long)]
		tarball: PathBuf,
		/// The pinned image ID, `sha256:<hex>`.
		#[arg(long)]
		id: String,
	},
}

#[derive(clap::Args)]
struct TpmArgs {
	/// The TPM's TCTI: `swtpm:host=127.0.0.1,port=2321` for a simulator, `device:/dev/tpmrm0`
	/// for hardware.
	#[arg(long, env = "VOUCH_TPM_TCTI", default_value = "device:/dev/tpmrm0")]
	tcti: String,
	/// Where the worker's AK and sealing key blobs are kept (made on first use).
	#[arg(long, env = "VOUCH_TPM_KEY_FILE")]
	key_file: PathBuf,
}

#[derive(Subcommand)]
enum TpmCommand {
	/// Provisions the AK and sealing key if needed and prints the TPM's public identity.
	Identity,
	/// Writes the evidence the verifier's tests check (`pallets/primitives/fixtures/tpm/`):
	/// EK certificate and public areas, a certification of the sealing key and a `Before`
	/// and an `After` quote, for the inputs of `vouch_primitives::tpm::nonce::fixture_inputs`.
	Fixtures {
		/// The directory to write into.
		#[arg(long)]
		out: PathBuf,
	},
	/// Times quotes and unseals through the service (each loads and flushes its keys, as in
	/// production) and prints the median, min and max of each.
	Bench {
		/// How many of each.
		#[arg(long, default_value_t = 20)]
		rounds: usize,
	},
}

/// Resolves at SIGINT or SIGTERM: the cue for a graceful shutdown.
async fn shutdown_signal() {
	use tokio::signal::unix::{signal, SignalKind};
	let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {},
		_ = term.recv() => {},
	}
	tracing::info!("shutting down");
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> Result<()> {
	// The config file's values become the flags' environment variables where those are unset,
	// before any thread exists and before clap reads them.
	let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
	if let Some(path) = config_file::path_from(&argv) {
		use clap::CommandFactory as _;
		for (name, value) in config_file::env_pairs(&path, &Cli::command())? {
			if std::env::var_os(&name).is_none() {
				std::env::set_var(name, value);
			}
		}
	}
	tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run_command())
}

async fn run_command() -> Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
		.with_writer(std::io::stderr)
		.init();
	let cli = Cli::parse();
	match cli.command {
		Command::Run(args) => run_worker(*args).await?,
		Command::Launch(args) => {
			let LaunchArgs { runtime, run } = *args;
			let measured =
				vouch_executor::launch::measure(&run.docker_socket, &runtime.runtime_binaries)
					.await?;
			let (tcti, log) = (run.tpm.tcti.clone(), run.launch_log());
			tracing::warn!(
				"simulated measured launch: this process extends the executor PCR itself, as the \
				 OS's measured boot does on hardware"
			);
			tokio::task::spawn_blocking(move || {
				vouch_executor::launch::launch(&tcti, &log, measured)
			})
			.await??;
			run_worker(run).await?;
		},
		Command::Measure { docker_socket, runtime, json } => {
			let measured =
				vouch_executor::launch::measure(&docker_socket, &runtime.runtime_binaries).await?;
			if json {
				println!("{}", serde_json::to_string_pretty(&measured)?);
			} else {
				for m in measured {
					println!("{} {} {}", m.kind.as_str(), m.digest, m.what);
				}
			}
		},
		Command::Store { dir, listen, max_blob_bytes } => {
			let store = vouch_executor::store::BlobStore::open(&dir, max_blob_bytes)
				.with_context(|| format!("opening the store in {}", dir.display()))?;
			let listener = tokio::net::TcpListener::bind(listen)
				.await
				.with_context(|| format!("listening on {listen}"))?;
			tracing::info!(%listen, dir = %dir.display(), max_blob_bytes, "content store serving");
			vouch_executor::store::serve(store, listener, shutdown_signal()).await?;
			tracing::info!("content store stopped");
		},
		Command::Image { command } => match command {
			ImageCommand::BuildBusybox { out, busybox } => {
				let spec = vouch_executor::image::builder::ImageSpec::busybox(&busybox)
					.with_context(|| format!("reading {}", busybox.display()))?;
				let file = std::io::BufWriter::new(std::fs::File::create(&out)?);
				println!("{}", spec.write_tarball(file)?);
			},
			ImageCommand::BuildRootfs { rootfs, out, env, cmd } => {
				let spec = vouch_executor::image::builder::ImageSpec::rootfs(&rootfs, env, cmd)
					.with_context(|| format!("reading the root filesystem {}", rootfs.display()))?;
				let file = std::io::BufWriter::new(std::fs::File::create(&out)?);
				println!("{}", spec.write_tarball(file)?);
			},
			ImageCommand::Verify { tarball, id } => {
				let id = vouch_executor::image::ImageId::parse(&id)?;
				let file = std::io::BufReader::new(std::fs::File::open(&tarball)?);
				let verified = vouch_executor::image::verify_tarball(file, &id)?;
				println!("{} verified: {} layers", verified.id, verified.diff_ids.len());
			},
		},
		Command::Bench { command } => bench::run(command).await?,
		Command::Tpm { tpm, command } => {
			if matches!(command, TpmCommand::Fixtures { .. }) {
				// The fixture worker's launch, before its keys are made (bound to it).
				let mut launch = vouch_executor::tpm::LaunchTpm::open(&tpm.tcti)?;
				for digest in fixture::LAUNCH_LOG {
					launch.extend(digest)?;
				}
			}
			let tpm = Tpm::start(TpmConfig { tcti: tpm.tcti, key_file: tpm.key_file }).await?;
			match command {
				TpmCommand::Identity => {
					let id = tpm.identity().await?;
					println!("ek_cert {}", hex(&id.ek_cert));
					println!("ek_public {}", hex(&id.ek_public));
					println!("ak_public {}", hex(&id.ak_public));
					println!("sealing_public {}", hex(&id.sealing_public));
				},
				TpmCommand::Fixtures { out } => write_fixtures(&tpm, &out).await?,
				TpmCommand::Bench { rounds } => bench(&tpm, rounds).await?,
			}
		},
	}
	Ok(())
}

async fn run_worker(args: RunArgs) -> Result<()> {
	if let Some(file) = &args.config {
		tracing::info!(file = %file.display(), "settings from the config file (flags and environment win)");
	}
	let (config, key) = args.config()?;
	let token = tokio_util::sync::CancellationToken::new();
	tokio::spawn({
		let token = token.clone();
		async move {
			shutdown_signal().await;
			token.cancel();
		}
	});
	vouch_executor::worker::run(config, key, token).await
}

async fn write_fixtures(tpm: &Tpm, out: &std::path::Path) -> Result<()> {
	std::fs::create_dir_all(out)?;
	let write = |name: &str, bytes: &[u8]| {
		std::fs::write(out.join(name), bytes).with_context(|| format!("writing {name}"))
	};
	let id = tpm.identity().await?;
	write("ek-cert.der", &id.ek_cert)?;
	write("ek-public.bin", &id.ek_public)?;
	write("ak-public.bin", &id.ak_public)?;
	write("sealing-public.bin", &id.sealing_public)?;
	let certified = tpm.certify_sealing_key(registration_nonce(&fixture::ACCOUNT).to_vec()).await?;
	write("certify-attest.bin", &certified.attest)?;
	write("certify-signature.bin", &certified.signature)?;
	// In this order: the After quote's clock must follow the Before one's.
	for (phase, measured, name) in [
		(Phase::Before, &fixture::MEASUREMENTS, "quote"),
		(Phase::After, &fixture::AFTER_MEASUREMENTS, "quote-after"),
	] {
		let nonce = quote_nonce(fixture::TASK, fixture::ROUND, phase, &fixture::BLOCK, measured);
		let quoted = tpm.quote(nonce.to_vec()).await?;
		write(&format!("{name}-attest.bin"), &quoted.attest)?;
		write(&format!("{name}-signature.bin"), &quoted.signature)?;
	}
	let pcrs = tpm.pcrs().await?;
	let boot = &pcrs[..vouch_primitives::tpm::BOOT_PCRS.len()];
	let state = vouch_primitives::tpm::launch::launch_state(boot, &fixture::LAUNCH_LOG)
		.map_err(|e| anyhow::anyhow!("{e:?}"))?;
	anyhow::ensure!(
		pcrs.last() == Some(&state.executor_pcr),
		"the executor PCR is not the fixture launch's: make the fixtures on a fresh TPM"
	);
	write("pcrs.bin", &boot.concat())?;
	tracing::info!(dir = %out.display(), "wrote the TPM fixtures");
	Ok(())
}

/// Prints `label: median (min..max) ms` of `times`.
fn report(label: &str, mut times: Vec<std::time::Duration>) {
	times.sort();
	let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
	println!(
		"{label}: median {:.2} ms (min {:.2}, max {:.2}, n = {})",
		ms(times[times.len() / 2]),
		ms(times[0]),
		ms(times[times.len() - 1]),
		times.len()
	);
}

async fn bench(tpm: &Tpm, rounds: usize) -> Result<()> {
	use std::time::Instant;
	anyhow::ensure!(rounds > 0, "--rounds must be at least 1");
	let mut quotes = Vec::new();
	for i in 0..rounds {
		let started = Instant::now();
		tpm.quote(vec![i as u8; 32]).await?;
		quotes.push(started.elapsed());
	}
	report("quote (load AK, quote PCRs 0-7, flush)", quotes);
	// A real sealed key needs an OAEP encryption to this TPM's key: the TPM encrypts one
	// for itself through the public part, which is what any client does.
	let sealed = tpm.seal_for_self(0, 0, b"a 32-byte data key for the input".to_vec()).await?;
	let mut unseals = Vec::new();
	for _ in 0..rounds {
		let started = Instant::now();
		tpm.unseal(0, 0, sealed.clone()).await?;
		unseals.push(started.elapsed());
	}
	report("unseal (load sealing key, RSA-OAEP decrypt, flush)", unseals);
	Ok(())
}
