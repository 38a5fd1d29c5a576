//! Where a job's decrypted code and inputs live, and its output: two tmpfs mounts per job,
//! so no plaintext ever reaches a persistent disk (tmpfs pages are never written back; swap
//! is the one way out, and a worker should run without it). `wipe` overwrites every file
//! and unmounts, and a crash leaves nothing a restart does not find: [`remove_leftovers`]
//! unmounts every staging mount under the base directory.
//!
//! Mounting needs `CAP_SYS_ADMIN` (the executor runs as root beside the Docker daemon, which
//! needs it too).

use std::{
	fs,
	io::{self, Write},
	path::{Path, PathBuf},
};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use vouch_primitives::{
	envelope::{self, DataKey},
	sandbox::{SandboxPolicy, JOB_UID},
};

/// One job's staging area: `<base>/<job>/in` (read-only inputs and code for the job) and
/// `<base>/<job>/out` (the job's output dir, owned by the job user, capped by the policy).
#[derive(Debug)]
pub struct Staging {
	root: PathBuf,
	mounted: Vec<PathBuf>,
}

/// The size of a job's input tmpfs: what its staged inputs may total.
pub const DEFAULT_INPUT_BYTES: u64 = 256 << 20;

fn tmpfs(at: &Path, options: &str, noexec: bool) -> io::Result<()> {
	fs::create_dir_all(at)?;
	let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
	if noexec {
		flags |= MsFlags::MS_NOEXEC;
	}
	mount(Some("tmpfs"), at, Some("tmpfs"), flags, Some(options))
		.map_err(|e| io::Error::other(format!("mounting a tmpfs at {}: {e}", at.display())))
}

/// A name for a staged file: one path component, no dot-dot, nothing hidden.
fn check_name(name: &str) -> io::Result<()> {
	let ok = !name.is_empty()
		&& name.len() <= 255
		&& !name.starts_with('.')
		&& name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
	if ok {
		Ok(())
	} else {
		Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad staged file name {name:?}")))
	}
}

impl Staging {
	/// Mounts the staging area of `job` under `base`: inputs up to `input_bytes`, output sized
	/// by the policy.
	pub fn create(
		base: &Path,
		job: &str,
		input_bytes: u64,
		policy: &SandboxPolicy,
	) -> io::Result<Self> {
		check_name(job)?;
		let root = base.join(job);
		if root.exists() {
			return Err(io::Error::new(
				io::ErrorKind::AlreadyExists,
				format!("staging area {} exists", root.display()),
			));
		}
		let mut staging = Self { root, mounted: Vec::new() };
		let input = staging.root.join("in");
		tmpfs(&input, &format!("size={input_bytes},mode=0755"), false)?;
		staging.mounted.push(input.clone());
		fs::create_dir(input.join("inputs"))?;
		fs::create_dir(input.join("code"))?;
		let output = staging.output_dir();
		tmpfs(
			&output,
			&format!("size={},mode=0700,uid={JOB_UID},gid={JOB_UID}", policy.output_tmpfs_bytes),
			true,
		)?;
		staging.mounted.push(output);
		Ok(staging)
	}

	/// The host dir mounted read-only at `/inputs`.
	pub fn inputs_dir(&self) -> PathBuf {
		self.root.join("in/inputs")
	}

	/// The host dir mounted read-only at `/code`.
	pub fn code_dir(&self) -> PathBuf {
		self.root.join("in/code")
	}

	/// The host dir mounted read-write at `/output`.
	pub fn output_dir(&self) -> PathBuf {
		self.root.join("out")
	}

	/// The size of the output tmpfs as the kernel reports it (what the policy asked for,
	/// rounded to pages): the executor measures its sandbox rather than trusting itself.
	pub fn output_capacity(&self) -> io::Result<u64> {
		let stat = nix::sys::statvfs::statvfs(&self.output_dir()).map_err(io::Error::other)?;
		Ok(stat.blocks() as u64 * stat.fragment_size() as u64)
	}

	/// Writes a plaintext input (tests, and inputs that were never encrypted).
	pub fn write_input(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
		check_name(name)?;
		let mut file = fs::File::create(self.inputs_dir().join(name))?;
		file.write_all(bytes)?;
		set_read_only(&self.inputs_dir().join(name))
	}

	/// Decrypts an envelope into input `name`; on any error the partial file is removed.
	pub fn decrypt_input(
		&self,
		name: &str,
		key: &DataKey,
		envelope_reader: impl io::Read,
	) -> Result<u64, envelope::EnvelopeError> {
		check_name(name)?;
		let path = self.inputs_dir().join(name);
		let file = fs::File::create(&path)?;
		match envelope::decrypt(key, envelope_reader, io::BufWriter::new(file)) {
			Ok(n) => {
				set_read_only(&path)?;
				Ok(n)
			},
			Err(e) => {
				overwrite(&path)?;
				fs::remove_file(&path)?;
				Err(e)
			},
		}
	}

	/// Unpacks Bob's code (a tar archive) into `/code`: only files and directories, none
	/// outside it ([`vouch_client::archive::unpack_code`]).
	pub fn unpack_code(&self, archive: impl io::Read) -> io::Result<()> {
		vouch_client::archive::unpack_code(archive, &self.code_dir())
	}

	/// Bytes the job left in its output dir (all regular files, recursively).
	pub fn output_bytes(&self) -> io::Result<u64> {
		let mut total = 0;
		walk(&self.output_dir(), &mut |path, meta| {
			let _ = path;
			if meta.is_file() {
				total += meta.len();
			}
			Ok(())
		})?;
		Ok(total)
	}

	/// Overwrites every staged file with zeros, unmounts both tmpfs and removes the dirs.
	pub fn wipe(mut self) -> io::Result<()> {
		self.wipe_now()
	}

	fn wipe_now(&mut self) -> io::Result<()> {
		for at in self.mounted.drain(..).rev() {
			walk(&at, &mut |path, meta| if meta.is_file() { overwrite(path) } else { Ok(()) })?;
			umount2(&at, MntFlags::MNT_DETACH)
				.map_err(|e| io::Error::other(format!("unmounting {}: {e}", at.display())))?;
		}
		if self.root.exists() {
			fs::remove_dir_all(&self.root)?;
		}
		Ok(())
	}
}

impl Drop for Staging {
	fn drop(&mut self) {
		if !self.mounted.is_empty() {
			if let Err(e) = self.wipe_now() {
				tracing::error!(root = %self.root.display(), error = %e, "wiping a staging area failed");
			}
		}
	}
}

fn set_read_only(path: &Path) -> io::Result<()> {
	use std::os::unix::fs::PermissionsExt;
	fs::set_permissions(path, fs::Permissions::from_mode(0o444))
}

/// Overwrites a file's bytes with zeros in place (tmpfs has no copy-on-write).
fn overwrite(path: &Path) -> io::Result<()> {
	use std::os::unix::fs::PermissionsExt;
	let meta = fs::symlink_metadata(path)?;
	if !meta.is_file() {
		return Ok(());
	}
	fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
	let mut file = fs::OpenOptions::new().write(true).open(path)?;
	let zeros = vec![0u8; 64 * 1024];
	let mut left = meta.len();
	while left > 0 {
		let n = left.min(zeros.len() as u64) as usize;
		file.write_all(&zeros[..n])?;
		left -= n as u64;
	}
	file.sync_all()
}

/// Visits every entry under `dir` (not following links).
fn walk(
	dir: &Path,
	visit: &mut dyn FnMut(&Path, &fs::Metadata) -> io::Result<()>,
) -> io::Result<()> {
	for entry in fs::read_dir(dir)? {
		let entry = entry?;
		let meta = fs::symlink_metadata(entry.path())?;
		visit(&entry.path(), &meta)?;
		if meta.is_dir() {
			walk(&entry.path(), visit)?;
		}
	}
	Ok(())
}

/// Unmounts and removes every staging area under `base` that a crashed executor left behind;
/// returns how many mounts it took down.
pub fn remove_leftovers(base: &Path) -> io::Result<usize> {
	if !base.exists() {
		return Ok(0);
	}
	let base = fs::canonicalize(base)?;
	let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
	// Deepest first, so that nested mounts come down before their parents.
	let mut points: Vec<PathBuf> = mountinfo
		.lines()
		.filter_map(|l| l.split(' ').nth(4))
		.map(PathBuf::from)
		.filter(|p| p.starts_with(&base) && *p != base)
		.collect();
	points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
	for at in &points {
		walk(at, &mut |path, meta| if meta.is_file() { overwrite(path) } else { Ok(()) })?;
		umount2(at, MntFlags::MNT_DETACH)
			.map_err(|e| io::Error::other(format!("unmounting {}: {e}", at.display())))?;
	}
	for entry in fs::read_dir(&base)? {
		fs::remove_dir_all(entry?.path())?;
	}
	Ok(points.len())
}
