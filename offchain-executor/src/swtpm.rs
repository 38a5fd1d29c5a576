//! A worker's simulated TPM on a development machine: swtpm state provisioned with an EK
//! certificate from the test manufacturer CA (`scripts/tpm/swtpm.sh`), served on free local
//! ports, shut down with `TPM2_Shutdown` when dropped. Real workers point the TPM service at
//! `device:/dev/tpmrm0` instead and need none of this.

use std::{
	path::{Path, PathBuf},
	process::Command,
};

use anyhow::{ensure, Context, Result};

/// The repository's TPM scripts and test CA, found from this crate's sources.
pub fn repo_root() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The test manufacturer CA's issuing certificate (DER): the intermediate of every swtpm EK
/// chain, which a worker submits with its EK certificate.
pub fn test_ca_issuer() -> Result<Vec<u8>> {
	let path = repo_root().join("chain-spec/test-tpm-ca/issuer.der");
	std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

/// How many port pairs [`Swtpm::start`] tries.
const START_ATTEMPTS: u32 = 5;

/// A provisioned, running swtpm; stopped when dropped.
pub struct Swtpm {
	port: u16,
}

impl Swtpm {
	/// Provisions swtpm state in `dir` (unless already there) and starts it on free ports.
	pub fn start(dir: &Path) -> Result<Self> {
		if !dir.join("tpm").exists() {
			run(&["provision"], dir, None)?;
		}
		// A port pair found free can be taken before swtpm binds it (another process binding
		// port 0 meanwhile): a start that fails is tried again on another pair.
		let mut attempt = 1;
		loop {
			let port = free_port_pair()?;
			match run(&["start"], dir, Some(port)) {
				Ok(()) => return Ok(Self { port }),
				Err(e) if attempt >= START_ATTEMPTS => return Err(e),
				Err(_) => attempt += 1,
			}
		}
	}

	/// The TCTI of this TPM, for the TPM service.
	pub fn tcti(&self) -> String {
		format!("swtpm:host=127.0.0.1,port={}", self.port)
	}
}

impl Drop for Swtpm {
	fn drop(&mut self) {
		let port = self.port.to_string();
		let _ = Command::new("bash").arg(script()).args(["stop", &port]).status();
	}
}

fn script() -> PathBuf {
	repo_root().join("scripts/tpm/swtpm.sh")
}

fn run(args: &[&str], dir: &Path, port: Option<u16>) -> Result<()> {
	let mut cmd = Command::new("bash");
	cmd.arg(script()).args(args).arg(dir);
	if let Some(port) = port {
		cmd.arg(port.to_string());
	}
	let status = cmd.status().context("running scripts/tpm/swtpm.sh")?;
	ensure!(status.success(), "scripts/tpm/swtpm.sh {args:?} {} failed", dir.display());
	Ok(())
}

/// Two consecutive free local ports: the TPM's and its control channel's.
fn free_port_pair() -> Result<u16> {
	for _ in 0..100 {
		let first = std::net::TcpListener::bind("127.0.0.1:0")?;
		let port = first.local_addr()?.port();
		if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
			return Ok(port);
		}
	}
	anyhow::bail!("no two consecutive free local ports")
}
