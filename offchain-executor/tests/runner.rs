//! The job data plane against a real Docker daemon of our own (Debian's dockerd on its own
//! socket and data root): pinned images, the sandbox as the daemon reports it, and hostile
//! jobs. Each hostile job is contained, ends with its own outcome, leaves no container and no
//! staged byte behind, and a normal job runs right after it.

use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	time::Duration,
};

use anyhow::{ensure, Result};
use bollard::query_parameters::ListContainersOptionsBuilder;
use vouch_executor::{
	dockerd::Dockerd,
	image::{self, builder::ImageSpec, ImageError, ImageId},
	runner::{Outcome, RunReport, Runner},
	sandbox::{container_body, policy_from_inspected, JobSpec, Mounts, JOB_LABEL, OWNER_LABEL},
	staging::{self, Staging},
};
use vouch_primitives::{
	envelope::{self, DataKey},
	sandbox::{JobLimits, SandboxPolicy, LOG_MAX_BYTES},
};

/// A daemon, a runner, the busybox image loaded, and a staging base: one per test.
struct Plane {
	runner: Runner,
	image: ImageId,
	tarball: PathBuf,
	staging: PathBuf,
	daemon: Dockerd,
	// Dropped last: the daemon's and the staging's directories live in it.
	dir: tempfile::TempDir,
}

const LIMITS: JobLimits = JobLimits {
	cpu_millicores: 1000,
	memory_mib: 128,
	time_limit_secs: 20,
	max_output_bytes: 64 << 10,
};

impl Plane {
	async fn start() -> Result<Self> {
		// Under /tmp: containerd's socket paths must stay short.
		let dir = tempfile::Builder::new().prefix("vouch-rt-").tempdir_in("/tmp")?;
		let daemon = Dockerd::start(&dir.path().join("d"))?;
		let runner = Runner::connect(&daemon.socket()).await?;
		let tarball = dir.path().join("busybox.tar");
		let image = ImageSpec::busybox(Path::new("/bin/busybox"))?
			.write_tarball(std::fs::File::create(&tarball)?)?;
		image::load(runner.docker(), &tarball, &image).await?;
		let staging = dir.path().join("staging");
		std::fs::create_dir_all(&staging)?;
		Ok(Self { runner, image, tarball, staging, daemon, dir })
	}

	fn job(&self, name: &str, script: &str, limits: JobLimits) -> JobSpec {
		JobSpec {
			name: name.into(),
			image: self.image,
			command: vec!["/bin/sh".into(), "-c".into(), script.into()],
			env: vec!["GREETING=hello".into()],
			policy: SandboxPolicy::for_task(&limits, true),
			max_output_bytes: limits.max_output_bytes,
		}
	}

	/// Stages `inputs`, runs `script`, reads the output dir, wipes: the whole path.
	async fn run(
		&self,
		name: &str,
		script: &str,
		limits: JobLimits,
		inputs: &[(&str, &[u8])],
	) -> Result<(RunReport, BTreeMap<String, Vec<u8>>)> {
		let job = self.job(name, script, limits);
		let staging = Staging::create(&self.staging, name, 1 << 20, &job.policy)?;
		for (file, bytes) in inputs {
			staging.write_input(file, bytes)?;
		}
		let report = self.runner.run(&job, &staging).await;
		let outputs = read_dir(&staging.output_dir())?;
		staging.wipe()?;
		Ok((report?, outputs))
	}

	async fn containers(&self) -> Result<usize> {
		let options = ListContainersOptionsBuilder::default().all(true).build();
		Ok(self.runner.docker().list_containers(Some(options)).await?.len())
	}

	/// Nothing of a job remains: no container, no staging area, no mount.
	async fn assert_clean(&self) -> Result<()> {
		assert_eq!(self.containers().await?, 0, "a container was left behind");
		assert_eq!(std::fs::read_dir(&self.staging)?.count(), 0, "a staging area was left behind");
		let mounts = std::fs::read_to_string("/proc/self/mountinfo")?;
		assert!(
			!mounts.contains(self.staging.to_str().unwrap()),
			"a staging mount was left behind"
		);
		Ok(())
	}

	/// A normal job, right after whatever came before: the runner still works.
	async fn assert_normal_job_runs(&self, name: &str) -> Result<()> {
		let (report, out) =
			self.run(name, "wc -c < /inputs/in > /output/n", LIMITS, &[("in", b"12345")]).await?;
		assert_eq!(report.outcome, Outcome::Exited(0));
		assert_eq!(String::from_utf8(out["n"].clone())?.trim(), "5");
		self.assert_clean().await
	}
}

fn read_dir(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
	let mut files = BTreeMap::new();
	for entry in std::fs::read_dir(dir)? {
		let entry = entry?;
		if entry.file_type()?.is_file() {
			files.insert(
				entry.file_name().to_string_lossy().into_owned(),
				std::fs::read(entry.path())?,
			);
		}
	}
	Ok(files)
}

/// Every file under `dir` (not following links) that contains `marker`.
fn files_containing(dir: &Path, marker: &[u8]) -> Vec<PathBuf> {
	let mut found = Vec::new();
	let mut stack = vec![dir.to_path_buf()];
	while let Some(d) = stack.pop() {
		let Ok(entries) = std::fs::read_dir(&d) else { continue };
		for entry in entries.flatten() {
			let Ok(meta) = std::fs::symlink_metadata(entry.path()) else { continue };
			if meta.is_dir() {
				stack.push(entry.path());
			} else if meta.is_file() {
				if let Ok(bytes) = std::fs::read(entry.path()) {
					if bytes.windows(marker.len()).any(|w| w == marker) {
						found.push(entry.path());
					}
				}
			}
		}
	}
	found
}

#[tokio::test]
async fn a_job_reads_its_inputs_as_the_job_user_and_its_policy_hash_is_the_chains() -> Result<()> {
	let plane = Plane::start().await?;
	let script = "sha256sum /inputs/data | cut -d' ' -f1 > /output/digest; id -u > /output/uid; \
	              cat /code/main.sh > /output/code; echo $GREETING; echo oops >&2";
	let job = plane.job("normal", script, LIMITS);
	let staging = Staging::create(&plane.staging, "normal", 1 << 20, &job.policy)?;
	staging.write_input("data", b"Alice's picture")?;
	let mut code = tar::Builder::new(Vec::new());
	let mut header = tar::Header::new_ustar();
	header.set_size(9);
	header.set_mode(0o644);
	code.append_data(&mut header, "main.sh", &b"echo bob\n"[..])?;
	staging.unpack_code(&code.into_inner()?[..])?;
	let report = plane.runner.run(&job, &staging).await?;
	let out = read_dir(&staging.output_dir())?;
	staging.wipe()?;

	assert_eq!(report.outcome, Outcome::Exited(0));
	assert!(!report.outcome.job_failed());
	assert_eq!(report.outcome.exit_status(), 0);
	use sha2::Digest;
	assert_eq!(
		String::from_utf8(out["digest"].clone())?.trim(),
		hex::encode(sha2::Sha256::digest(b"Alice's picture"))
	);
	assert_eq!(String::from_utf8(out["uid"].clone())?.trim(), "10001");
	assert_eq!(out["code"], b"echo bob\n");
	let logs = String::from_utf8_lossy(&report.logs);
	assert!(logs.contains("hello") && logs.contains("oops"), "{logs}");
	// The policy read back from the daemon is the one the chain derives from the manifest and
	// the requirements: its hash is what the quote carries.
	assert_eq!(report.policy, SandboxPolicy::for_task(&LIMITS, true));
	assert_eq!(report.policy.hash(), SandboxPolicy::for_task(&LIMITS, true).hash());
	plane.assert_clean().await
}

#[tokio::test]
async fn the_image_is_reproducible_pinned_by_id_and_refused_when_altered() -> Result<()> {
	let plane = Plane::start().await?;
	// The same files make the same bytes and the same ID, build after build.
	let mut again = Vec::new();
	let id = ImageSpec::busybox(Path::new("/bin/busybox"))?.write_tarball(&mut again)?;
	assert_eq!(id, plane.image);
	assert_eq!(again, std::fs::read(&plane.tarball)?);
	let inspected = plane.runner.docker().inspect_image(&plane.image.to_string()).await?;
	assert_eq!(inspected.id.as_deref(), Some(plane.image.to_string().as_str()));

	// Another ID pinned: refused, both digests named.
	let other = ImageId([0xAB; 32]);
	let error = image::verify_tarball(&again[..], &other).unwrap_err();
	assert!(
		matches!(error, ImageError::ConfigDigest { expected, found } if expected == other && found == id)
	);
	assert!(
		error.to_string().contains(&other.to_string())
			&& error.to_string().contains(&id.to_string())
	);

	// One byte of the layer changed, config and manifest untouched: the layer is refused by
	// its digest, before the daemon sees it.
	let mut altered = tar::Builder::new(Vec::new());
	for entry in tar::Archive::new(&again[..]).entries()? {
		let mut entry = entry?;
		let mut header = entry.header().clone();
		let mut bytes = Vec::new();
		std::io::Read::read_to_end(&mut entry, &mut bytes)?;
		if entry.path()?.ends_with("layer.tar") {
			let at = bytes.len() / 2;
			bytes[at] ^= 1;
		}
		altered.append_data(&mut header, entry.path()?, &bytes[..])?;
	}
	let altered = altered.into_inner()?;
	let error = image::verify_tarball(&altered[..], &id).unwrap_err();
	let ImageError::LayerDigest { index: 0, expected, found } = &error else { panic!("{error}") };
	assert!(
		error.to_string().contains(expected.as_str()) && error.to_string().contains(found.as_str())
	);
	let path = plane.dir.path().join("altered.tar");
	std::fs::write(&path, &altered)?;
	assert!(image::load(plane.runner.docker(), &path, &id).await.is_err());
	// Not a docker save tarball at all.
	assert!(matches!(
		image::verify_tarball(&b"garbage"[..], &id),
		Err(ImageError::Io(_) | ImageError::NoManifest)
	));
	Ok(())
}

#[tokio::test]
async fn a_container_the_daemon_reports_otherwise_than_the_policy_is_refused() -> Result<()> {
	let plane = Plane::start().await?;
	let job = plane.job("inspect", "true", LIMITS);
	let staging = Staging::create(&plane.staging, "inspect", 1 << 20, &job.policy)?;
	let mounts = Mounts::of(&staging);
	let docker = plane.runner.docker();
	let created = docker.create_container(None, container_body(&job, &mounts)).await?;
	let inspected = docker.inspect_container(&created.id, None).await?;
	let capacity = staging.output_capacity()?;
	// What the daemon reports for the policy's container rebuilds the policy exactly.
	assert_eq!(policy_from_inspected(&inspected, &job, &mounts, capacity)?, job.policy);
	// Each weakening a daemon (or an attacker with the socket) could introduce is named.
	let cases: Vec<(&str, Box<dyn Fn(&mut bollard::models::HostConfig)>)> = vec![
		("NetworkMode", Box::new(|h| h.network_mode = Some("host".into()))),
		("ReadonlyRootfs", Box::new(|h| h.readonly_rootfs = Some(false))),
		("Privileged", Box::new(|h| h.privileged = Some(true))),
		("CapAdd", Box::new(|h| h.cap_add = Some(vec!["SYS_ADMIN".into()]))),
		("SecurityOpt", Box::new(|h| h.security_opt = Some(vec!["seccomp=unconfined".into()]))),
		("IpcMode", Box::new(|h| h.ipc_mode = Some("host".into()))),
		("PidMode", Box::new(|h| h.pid_mode = Some("host".into()))),
		("MemorySwap", Box::new(|h| h.memory_swap = Some(-1))),
		("PidsLimit", Box::new(|h| h.pids_limit = None)),
		("Binds", Box::new(|h| h.binds.as_mut().unwrap().push("/:/host".into()))),
		("Ulimits", Box::new(|h| h.ulimits = Some(vec![]))),
		("LogConfig.Type", Box::new(|h| h.log_config.as_mut().unwrap().typ = Some("none".into()))),
		("policy", Box::new(|h| (h.memory, h.memory_swap) = (Some(1 << 40), Some(1 << 40)))),
	];
	for (field, weaken) in cases {
		let mut report = inspected.clone();
		weaken(report.host_config.as_mut().unwrap());
		let violation = policy_from_inspected(&report, &job, &mounts, capacity).unwrap_err();
		assert_eq!(violation.field, field, "{violation}");
	}
	// A user other than the job's, and a larger output mount than asked.
	let mut root = inspected.clone();
	root.config.as_mut().unwrap().user = Some("0:0".into());
	assert_eq!(policy_from_inspected(&root, &job, &mounts, capacity).unwrap_err().field, "User");
	assert_eq!(
		policy_from_inspected(&inspected, &job, &mounts, capacity * 2).unwrap_err().field,
		"policy"
	);
	// Made here, not by the runner: not labelled as the runner's, so removed by id.
	let force =
		bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build();
	docker.remove_container(&created.id, Some(force)).await?;
	staging.wipe()?;
	plane.assert_clean().await
}

#[tokio::test]
async fn a_job_that_opens_a_network_connection_reaches_nothing() -> Result<()> {
	let plane = Plane::start().await?;
	// A listener of ours on every host address; the job aims at it by the host's addresses.
	let listener = std::net::TcpListener::bind("0.0.0.0:0")?;
	listener.set_nonblocking(true)?;
	let port = listener.local_addr()?.port();
	let mut targets = vec!["127.0.0.1".to_string()];
	let hostname = std::process::Command::new("hostname").arg("-I").output()?;
	targets.extend(String::from_utf8_lossy(&hostname.stdout).split_whitespace().map(String::from));
	let probes: Vec<String> = targets
		.iter()
		.map(|ip| format!("nc -w 2 {ip} {port} </dev/null && echo reached {ip} >> /output/net; wget -q -T 2 -O /dev/null http://{ip}:{port}/ && echo reached {ip} >> /output/net"))
		.collect();
	let script = format!(
		"{}; ip -o link | cut -d: -f2 > /output/links; test -s /output/net && exit 0 || exit 3",
		probes.join("; ")
	);
	let (report, out) = plane.run("network", &script, LIMITS, &[]).await?;
	assert_eq!(
		report.outcome,
		Outcome::Exited(3),
		"logs: {}",
		String::from_utf8_lossy(&report.logs)
	);
	assert!(report.outcome.job_failed());
	assert!(
		!out.contains_key("net"),
		"{:?}",
		out.get("net").map(|b| String::from_utf8_lossy(b).into_owned())
	);
	// Loopback is the only interface the job has.
	assert_eq!(
		String::from_utf8(out["links"].clone())?.split_whitespace().collect::<Vec<_>>(),
		["lo"]
	);
	assert!(listener.accept().is_err(), "the listener was reached");
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-network").await
}

#[tokio::test]
async fn a_fork_bomb_hits_the_pids_cap_and_is_killed_at_the_deadline() -> Result<()> {
	let plane = Plane::start().await?;
	let limits = JobLimits { time_limit_secs: 3, ..LIMITS };
	let (report, _) =
		plane.run("forkbomb", "bomb() { bomb | bomb & }; bomb; sleep 60", limits, &[]).await?;
	assert_eq!(report.outcome, Outcome::DeadlineKilled);
	assert_eq!(report.outcome.exit_status(), 137);
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-forkbomb").await
}

#[tokio::test]
async fn a_memory_bomb_is_oom_killed_even_when_the_job_then_exits_zero() -> Result<()> {
	let plane = Plane::start().await?;
	let limits = JobLimits { memory_mib: 32, ..LIMITS };
	// The child that hogs memory is killed; the parent shell carries on and exits 0.
	let script = "sh -c 'x=$(head -c 200000000 /dev/zero | tr \"\\0\" a); echo ${#x}'; exit 0";
	let (report, _) = plane.run("memory", script, limits, &[]).await?;
	assert_eq!(
		report.outcome,
		Outcome::OomKilled,
		"logs: {}",
		String::from_utf8_lossy(&report.logs)
	);
	assert!(report.outcome.job_failed());
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-memory").await
}

#[tokio::test]
async fn filling_the_work_tmpfs_fails_the_job_and_nothing_else() -> Result<()> {
	let plane = Plane::start().await?;
	let (report, _) =
		plane.run("fill", "dd if=/dev/zero of=/work/fill bs=1M count=500", LIMITS, &[]).await?;
	assert!(matches!(report.outcome, Outcome::Exited(code) if code != 0), "{:?}", report.outcome);
	let logs = String::from_utf8_lossy(&report.logs);
	assert!(logs.contains("No space left") || logs.contains("File too large"), "{logs}");
	// The root is read-only too.
	let (report, _) = plane.run("rootfs", "echo x > /bin/x", LIMITS, &[]).await?;
	assert!(String::from_utf8_lossy(&report.logs).contains("Read-only file system"));
	assert!(matches!(report.outcome, Outcome::Exited(code) if code != 0), "{:?}", report.outcome);
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-fill").await
}

#[tokio::test]
async fn a_gigabyte_on_stdout_is_capped_by_the_log_limit() -> Result<()> {
	let plane = Plane::start().await?;
	// The daemon moves a job's stdout at some 8 MB/s here (1 GiB took over 120 s), so within
	// its 20-second limit the job is killed at the deadline; on a faster host it ends first.
	// Either way what the daemon kept is within the log cap.
	let (report, _) = plane.run("stdout", "yes vouch | head -c 1073741824", LIMITS, &[]).await?;
	assert!(
		matches!(report.outcome, Outcome::Exited(0) | Outcome::DeadlineKilled),
		"{:?}",
		report.outcome
	);
	assert!(report.logs.len() as u64 <= LOG_MAX_BYTES, "{} bytes of logs", report.logs.len());
	assert!(!report.logs.is_empty() && report.logs.iter().all(|b| b"vouch\n".contains(b)));
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-stdout").await
}

#[tokio::test]
async fn output_over_the_cap_is_its_own_outcome() -> Result<()> {
	let plane = Plane::start().await?;
	// Ignoring the write error does not help: what is left in /output is over the cap.
	let (report, _) =
		plane.run("output", "head -c 1000000 /dev/zero > /output/big; exit 0", LIMITS, &[]).await?;
	let Outcome::OutputOverCap { bytes } = report.outcome else { panic!("{:?}", report.outcome) };
	assert!(
		bytes > LIMITS.max_output_bytes && bytes <= report.policy.output_tmpfs_bytes,
		"{bytes}"
	);
	assert!(report.outcome.job_failed());
	// At the cap exactly is fine.
	let script = format!("head -c {} /dev/zero > /output/full", LIMITS.max_output_bytes);
	let (report, out) = plane.run("at-cap", &script, LIMITS, &[]).await?;
	assert_eq!(report.outcome, Outcome::Exited(0));
	assert_eq!(out["full"].len() as u64, LIMITS.max_output_bytes);
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-output").await
}

#[tokio::test]
async fn a_job_that_never_exits_is_killed_at_its_deadline() -> Result<()> {
	let plane = Plane::start().await?;
	let limits = JobLimits { time_limit_secs: 2, ..LIMITS };
	let (report, _) = plane.run("forever", "trap '' TERM; sleep 3600", limits, &[]).await?;
	assert_eq!(report.outcome, Outcome::DeadlineKilled);
	assert!(
		report.ran_for >= Duration::from_secs(2) && report.ran_for < Duration::from_secs(15),
		"{:?}",
		report.ran_for
	);
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-forever").await
}

#[tokio::test]
async fn jobs_see_neither_the_host_nor_each_other_and_leave_no_plaintext() -> Result<()> {
	let plane = Plane::start().await?;
	// A secret on the host, and two jobs running at once, each with a marker in its input.
	let host_secret = plane.dir.path().join("host-secret");
	std::fs::write(&host_secret, b"HOST-SECRET-7f3a")?;
	let marker_a = b"MARKER-ALPHA-91c4";
	let marker_b = b"MARKER-BRAVO-28d6";
	let snoop = |other: &str| {
		format!(
			"sleep 1; cat {} > /output/host 2>&1; \
			 find / -path /proc -prune -o -path /sys -prune -o -path /dev -prune -o -type f -print \
			   | xargs grep -l -e {other} -e HOST-SECRET 2>/dev/null > /output/found; \
			 ls /proc | grep -c '^[0-9]' > /output/pids; cat /proc/1/cmdline > /output/init; sleep 1",
			host_secret.display()
		)
	};
	let (script_a, script_b) = (snoop("MARKER-BRAVO"), snoop("MARKER-ALPHA"));
	let (inputs_a, inputs_b): ([(&str, &[u8]); 1], [(&str, &[u8]); 1]) =
		([("secret", marker_a)], [("secret", marker_b)]);
	let (a, b) = tokio::join!(
		plane.run("snoop-a", &script_a, LIMITS, &inputs_a),
		plane.run("snoop-b", &script_b, LIMITS, &inputs_b),
	);
	for ((report, out), own) in [(a?, "MARKER-ALPHA"), (b?, "MARKER-BRAVO")] {
		assert_eq!(report.outcome, Outcome::Exited(0), "{}", String::from_utf8_lossy(&report.logs));
		let found = String::from_utf8_lossy(&out["found"]).into_owned();
		// The only match is its own input.
		assert!(found.lines().all(|l| l == "/inputs/secret"), "{own} found {found:?}");
		assert!(String::from_utf8_lossy(&out["host"]).contains("No such file"), "host file seen");
		// Its own PID namespace: a handful of its own processes, its own init.
		let pids: u32 = String::from_utf8_lossy(&out["pids"]).trim().parse()?;
		assert!(pids < 10, "{pids} processes visible");
		assert!(String::from_utf8_lossy(&out["init"]).starts_with("/bin/sh"));
	}
	plane.assert_clean().await?;
	// Decrypting an encrypted input goes through the same staging: after the run, no trace
	// of either plaintext in the executor's dirs or the daemon's data root.
	let key = DataKey::generate();
	let marker_c = b"MARKER-CHARLIE-55e0";
	let sealed = envelope::seal_bytes(&key, marker_c);
	let job = plane.job("sealed", "cat /inputs/data > /dev/null", LIMITS);
	let staging = Staging::create(&plane.staging, "sealed", 1 << 20, &job.policy)?;
	staging.decrypt_input("data", &key, &sealed[..])?;
	assert_eq!(std::fs::read(staging.inputs_dir().join("data"))?, marker_c);
	assert_eq!(plane.runner.run(&job, &staging).await?.outcome, Outcome::Exited(0));
	staging.wipe()?;
	for marker in [&marker_a[..], &marker_b[..], &marker_c[..]] {
		for root in [plane.staging.as_path(), plane.daemon.data_root().as_path()] {
			let found = files_containing(root, marker);
			assert!(found.is_empty(), "{} found in {found:?}", String::from_utf8_lossy(marker));
		}
	}
	plane.assert_clean().await
}

#[tokio::test]
async fn what_a_crash_left_behind_is_removed_at_start() -> Result<()> {
	let plane = Plane::start().await?;
	// A crashed executor: a created container and a mounted staging area, never cleaned.
	let job = plane.job("crashed", "true", LIMITS);
	let staging = Staging::create(&plane.staging, "crashed", 1 << 20, &job.policy)?;
	staging.write_input("left", b"plaintext left by a crash")?;
	let owned = |owner: &str| {
		let mut body = container_body(&job, &Mounts::of(&staging));
		body.labels.get_or_insert_with(Default::default).insert(OWNER_LABEL.into(), owner.into());
		body
	};
	plane.runner.docker().create_container(None, owned("vouch")).await?;
	// Another worker on the same daemon, whose job is running: not ours to remove.
	let theirs = plane.runner.docker().create_container(None, owned("another-worker")).await?;
	std::mem::forget(staging);
	let labelled = ListContainersOptionsBuilder::default().all(true).build();
	let containers = plane.runner.docker().list_containers(Some(labelled.clone())).await?;
	ensure!(containers
		.iter()
		.all(|c| c.labels.as_ref().is_some_and(|l| l.contains_key(JOB_LABEL))));

	assert_eq!(plane.runner.remove_leftovers().await?, 1);
	let left = plane.runner.docker().list_containers(Some(labelled)).await?;
	assert_eq!(left.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![Some(theirs.id)]);
	plane.runner.clone().owned_by("another-worker").remove_leftovers().await?;
	assert_eq!(staging::remove_leftovers(&plane.staging)?, 2);
	plane.assert_clean().await?;
	plane.assert_normal_job_runs("after-crash").await
}
