//! `vouch-executor bench`: the data plane's figures, printed (never asserted: speed targets
//! live here, not in tests). `scripts/bench-data-plane.sh` runs them all.

use std::{
	path::{Path, PathBuf},
	process::Command,
	time::{Duration, Instant},
};

use anyhow::{ensure, Context as _, Result};
use bollard::query_parameters::{RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder};
use futures::StreamExt;
use vouch_executor::{
	dockerd::Dockerd,
	image::{self, builder::ImageSpec},
	runner::{Outcome, Runner},
	sandbox::{container_body, JobSpec, Mounts},
	staging::Staging,
	store::{client::StoreClient, BlobStore},
};
use vouch_primitives::{
	envelope,
	sandbox::{JobLimits, SandboxPolicy},
};

use crate::report;

#[derive(clap::Subcommand)]
pub enum BenchCommand {
	/// One trivial busybox job, side by side: `docker run --rm` with the CLI, the bare Engine
	/// API (create, start, wait, remove) and the runner's whole path (staging, create with the
	/// policy, inspect and check, start, wait, outcome, logs, remove, wipe).
	Docker {
		/// Runs of each path.
		#[arg(long, default_value_t = 20)]
		runs: usize,
		/// A running daemon's socket; without it, a daemon of our own is started.
		#[arg(long, env = "VOUCH_DOCKER_SOCKET")]
		socket: Option<String>,
		/// The docker CLI for the first path.
		#[arg(long, default_value = "docker")]
		docker_cli: String,
	},
	/// Store PUT and GET throughput for 1 MiB and 256 MiB blobs, against `cat` of the file.
	Store {
		/// Runs of each.
		#[arg(long, default_value_t = 5)]
		runs: usize,
	},
	/// Envelope encrypt and decrypt throughput (256 MiB in memory).
	Envelope {
		/// Runs of each.
		#[arg(long, default_value_t = 5)]
		runs: usize,
	},
}

pub async fn run(command: BenchCommand) -> Result<()> {
	match command {
		BenchCommand::Docker { runs, socket, docker_cli } => {
			docker(runs, socket, &docker_cli).await
		},
		BenchCommand::Store { runs } => store(runs).await,
		BenchCommand::Envelope { runs } => envelope(runs),
	}
}

fn median(times: &mut [Duration]) -> Duration {
	times.sort();
	times[times.len() / 2]
}

async fn docker(runs: usize, socket: Option<String>, docker_cli: &str) -> Result<()> {
	ensure!(runs > 0, "--runs must be at least 1");
	let dir = tempfile::Builder::new().prefix("vouch-bench-").tempdir_in("/tmp")?;
	let own;
	let socket = match socket {
		Some(s) => s,
		None => {
			own = Dockerd::start(&dir.path().join("dockerd"))?;
			own.socket()
		},
	};
	let runner = Runner::connect(&socket).await?;
	let tarball = dir.path().join("busybox.tar");
	let id = ImageSpec::busybox(Path::new("/bin/busybox"))?
		.write_tarball(std::fs::File::create(&tarball)?)?;
	image::load(runner.docker(), &tarball, &id).await?;
	let limits = JobLimits {
		cpu_millicores: 1000,
		memory_mib: 64,
		time_limit_secs: 30,
		max_output_bytes: 1 << 20,
	};
	let policy = SandboxPolicy::for_task(&limits, true);
	let command =
		vec!["/bin/sh".into(), "-c".into(), "wc -c < /inputs/input > /output/count".into()];
	let job = |name: String| JobSpec {
		name,
		image: id,
		command: command.clone(),
		env: vec![],
		policy,
		max_output_bytes: limits.max_output_bytes,
	};
	let staging_base = dir.path().join("staging");
	// The CLI and bare paths reuse one staging area: they measure Docker alone.
	let shared = Staging::create(&staging_base, "shared", 1 << 20, &policy)?;
	shared.write_input("input", b"the same trivial input\n")?;
	let mounts = Mounts::of(&shared);

	let mut cli = Vec::new();
	for _ in 0..runs {
		let started = Instant::now();
		let status = Command::new(docker_cli)
			.args([
				"-H",
				&format!("unix://{socket}"),
				"run",
				"--rm",
				"--network",
				"none",
				"--read-only",
			])
			.args([
				"--cap-drop",
				"ALL",
				"--security-opt",
				"no-new-privileges:true",
				"--user",
				"10001:10001",
			])
			.args([
				"-v",
				&format!("{}:/inputs:ro", mounts.inputs),
				"-v",
				&format!("{}:/output:rw", mounts.output),
			])
			.arg(id.to_string())
			.args(&command)
			.status()
			.with_context(|| format!("running {docker_cli}"))?;
		ensure!(status.success(), "docker run failed");
		cli.push(started.elapsed());
	}

	let docker = runner.docker();
	let mut bare = Vec::new();
	for i in 0..runs {
		let started = Instant::now();
		let created = docker
			.create_container(None, container_body(&job(format!("bare-{i}")), &mounts))
			.await?;
		docker.start_container(&created.id, None).await?;
		let condition = WaitContainerOptionsBuilder::default().condition("not-running").build();
		let _ = docker.wait_container(&created.id, Some(condition)).next().await;
		let remove = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
		docker.remove_container(&created.id, Some(remove)).await?;
		bare.push(started.elapsed());
	}
	shared.wipe()?;

	let mut whole = Vec::new();
	for i in 0..runs {
		let started = Instant::now();
		let name = format!("runner-{i}");
		let staging = Staging::create(&staging_base, &name, 1 << 20, &policy)?;
		staging.write_input("input", b"the same trivial input\n")?;
		let report = runner.run(&job(name), &staging).await?;
		ensure!(report.outcome == Outcome::Exited(0), "the job failed: {:?}", report.outcome);
		let count = std::fs::read_to_string(staging.output_dir().join("count"))?;
		ensure!(count.trim() == "23", "unexpected output {count:?}");
		staging.wipe()?;
		whole.push(started.elapsed());
	}
	let (mut c, mut b, mut w) = (cli.clone(), bare.clone(), whole.clone());
	report("docker run --rm (CLI)", cli);
	report("bare Engine API: create, start, wait, remove", bare);
	report("runner, whole path (staging, policy check, outcome, logs, wipe)", whole);
	let (c, b, w) = (median(&mut c), median(&mut b), median(&mut w));
	println!(
		"runner / bare Engine API: {:.2}x (goal <= 1.25x); CLI / bare: {:.2}x",
		w.as_secs_f64() / b.as_secs_f64(),
		c.as_secs_f64() / b.as_secs_f64()
	);
	Ok(())
}

fn mib_per_s(bytes: u64, d: Duration) -> f64 {
	bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

async fn store(runs: usize) -> Result<()> {
	ensure!(runs > 0, "--runs must be at least 1");
	let dir = tempfile::tempdir()?;
	let store_dir = dir.path().join("store");
	let store = BlobStore::open(&store_dir, 1 << 30)?;
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
	let base = format!("http://{}", listener.local_addr()?);
	let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
	let server = tokio::spawn(vouch_executor::store::serve(store, listener, async {
		let _ = stopped.await;
	}));
	let client = StoreClient::new(&base);
	for size in [1u64 << 20, 256 << 20] {
		let file: PathBuf = dir.path().join(format!("blob-{size}"));
		let mut data = vec![0u8; size as usize];
		for (i, b) in data.iter_mut().enumerate() {
			*b = (i.wrapping_mul(2654435761) >> 13) as u8;
		}
		std::fs::write(&file, &data)?;
		drop(data);
		let (mut cat, mut put, mut get) = (Vec::new(), Vec::new(), Vec::new());
		for _ in 0..runs {
			let started = Instant::now();
			let status = Command::new("sh")
				.arg("-c")
				.arg(format!("cat {} > /dev/null", file.display()))
				.status()?;
			ensure!(status.success());
			cat.push(started.elapsed());
			let started = Instant::now();
			let id = client.put_file(&file).await?;
			put.push(started.elapsed());
			let started = Instant::now();
			let n = client.get_to(&id, &mut tokio::io::sink()).await?;
			ensure!(n == size);
			get.push(started.elapsed());
			std::fs::remove_file(store_dir.join("blobs").join(id.to_string()))?;
		}
		let label = if size == 1 << 20 { "1 MiB" } else { "256 MiB" };
		for (what, mut times) in
			[("cat (floor)", cat), ("PUT (hash + upload + fsync)", put), ("GET (verified)", get)]
		{
			let m = median(&mut times);
			println!(
				"store {label} {what}: median {:.1} ms, {:.0} MiB/s",
				m.as_secs_f64() * 1e3,
				mib_per_s(size, m)
			);
		}
	}
	let _ = stop.send(());
	server.await??;
	Ok(())
}

fn envelope(runs: usize) -> Result<()> {
	ensure!(runs > 0, "--runs must be at least 1");
	let size = 256usize << 20;
	let plaintext = vec![0x5Au8; size];
	let key = envelope::DataKey::generate();
	let (mut enc, mut dec) = (Vec::new(), Vec::new());
	let mut sealed = Vec::with_capacity(envelope::sealed_len(size as u64) as usize);
	for _ in 0..runs {
		sealed.clear();
		let started = Instant::now();
		envelope::encrypt(&key, &plaintext[..], &mut sealed)?;
		enc.push(started.elapsed());
		let started = Instant::now();
		envelope::decrypt(&key, &sealed[..], std::io::sink())?;
		dec.push(started.elapsed());
	}
	for (what, mut times) in [("encrypt", enc), ("decrypt", dec)] {
		let m = median(&mut times);
		println!(
			"envelope {what} 256 MiB: median {:.0} ms, {:.0} MiB/s",
			m.as_secs_f64() * 1e3,
			mib_per_s(size as u64, m)
		);
	}
	Ok(())
}
