//! Builds `docker save` tarballs from a list of files, byte for byte the same on every build:
//! entries sorted by name, a fixed mtime, numeric owners 0:0, a fixed creation date in the
//! config. The image ID (sha256 of the config) is therefore a pure function of the files, so
//! tests and fixtures can pin it. No daemon and no registry are needed (none is reachable).

use std::{io::Write, path::Path};

use sha2::{Digest, Sha256};

use super::ImageId;

/// The mtime of every entry and the image's creation date: 2000-01-01T00:00:00Z.
const EPOCH: u64 = 946_684_800;
const CREATED: &str = "2000-01-01T00:00:00Z";

/// What goes into an image's single layer.
#[derive(Clone, Debug, Default)]
pub struct ImageSpec {
	/// Regular files: path (relative, no leading `/`), mode, contents.
	pub files: Vec<(String, u32, Vec<u8>)>,
	/// Symbolic links: path, target.
	pub symlinks: Vec<(String, String)>,
	/// Directories (mode 0755; 1777 for `tmp`).
	pub dirs: Vec<String>,
	/// The config's `User`.
	pub user: String,
	/// The config's `Env`.
	pub env: Vec<String>,
	/// The config's `Cmd`.
	pub cmd: Vec<String>,
}

/// The busybox applets the test image links (each `/bin/<applet> -> busybox`).
const APPLETS: &[&str] = &[
	"awk",
	"cat",
	"cp",
	"cut",
	"dd",
	"du",
	"echo",
	"env",
	"false",
	"find",
	"grep",
	"head",
	"id",
	"ip",
	"ls",
	"mkdir",
	"mount",
	"nc",
	"od",
	"printf",
	"ps",
	"rm",
	"sed",
	"seq",
	"sh",
	"sha256sum",
	"sleep",
	"sort",
	"stat",
	"tail",
	"test",
	"timeout",
	"tr",
	"true",
	"wc",
	"wget",
	"xargs",
	"yes",
];

/// The directories the sandbox mounts over or writes to: every job image has them.
const MOUNT_POINTS: [&str; 8] = ["code", "dev", "inputs", "output", "proc", "sys", "tmp", "work"];

/// The config's `User`: the job user (`vouch_primitives::sandbox::JOB_UID`).
fn job_user() -> String {
	let uid = vouch_primitives::sandbox::JOB_UID;
	format!("{uid}:{uid}")
}

/// `etc/passwd` and `etc/group` with root and the job user only.
fn accounts() -> [(String, u32, Vec<u8>); 2] {
	let uid = vouch_primitives::sandbox::JOB_UID;
	let passwd =
		format!("root:x:0:0:root:/root:/bin/sh\njob:x:{uid}:{uid}:vouch job:/work:/bin/sh\n");
	let group = format!("root:x:0:\njob:x:{uid}:\n");
	[
		("etc/group".into(), 0o644, group.into_bytes()),
		("etc/passwd".into(), 0o644, passwd.into_bytes()),
	]
}

impl ImageSpec {
	/// A busybox image: Debian's static busybox at `/bin/busybox` with its applets, a passwd
	/// with the job user (uid 10001) and the mount points of the sandbox.
	pub fn busybox(busybox: &Path) -> std::io::Result<Self> {
		let binary = std::fs::read(busybox)?;
		let mut files = vec![("bin/busybox".into(), 0o755, binary)];
		files.extend(accounts());
		let mut dirs: Vec<String> = ["bin", "etc"].map(String::from).to_vec();
		dirs.extend(MOUNT_POINTS.map(String::from));
		dirs.sort();
		Ok(Self {
			files,
			symlinks: APPLETS.iter().map(|a| (format!("bin/{a}"), "busybox".into())).collect(),
			dirs,
			user: job_user(),
			env: vec!["PATH=/bin".into()],
			cmd: vec!["/bin/sh".into()],
		})
	}

	/// An image of a root filesystem made elsewhere (a `debootstrap` tree, say), with the job
	/// user and the sandbox's mount points added. What would make two builds of the same
	/// package set differ, or has no place in a job image, is left out: device nodes and
	/// sockets, logs, caches, apt's lists, compiled Python bytecode (marshal output is not
	/// byte-stable; the job runs with `-B`) and the account databases, replaced by a root and
	/// job user of their own. Permission bits are kept without setuid, setgid and sticky (but
	/// `tmp` is 1777); owners become 0:0, mtimes the fixed epoch.
	pub fn rootfs(root: &Path, env: Vec<String>, cmd: Vec<String>) -> std::io::Result<Self> {
		let mut spec = Self { user: job_user(), env, cmd, ..Default::default() };
		spec.add_tree(root, "")?;
		spec.files.retain(|(path, _, _)| !matches!(path.as_str(), "etc/passwd" | "etc/group"));
		spec.files.extend(accounts());
		for dir in MOUNT_POINTS {
			if !spec.dirs.iter().any(|d| d == dir) {
				spec.dirs.push(dir.into());
			}
		}
		Ok(spec)
	}

	/// Whether `path` (relative) stays out of a rootfs image, with everything under it.
	fn left_out(path: &str) -> bool {
		const TREES: &[&str] = &[
			"dev",
			"proc",
			"sys",
			"run",
			"tmp",
			"var/tmp",
			"var/log",
			"var/cache",
			"var/lib/apt",
			"usr/share/doc",
			"usr/share/man",
			"usr/share/info",
			"usr/share/locale",
		];
		const FILES: &[&str] = &[
			"etc/shadow",
			"etc/shadow-",
			"etc/gshadow",
			"etc/gshadow-",
			"etc/passwd-",
			"etc/group-",
			"etc/machine-id",
			"etc/hostname",
			"etc/resolv.conf",
			"etc/ld.so.cache",
			"var/lib/dpkg/status-old",
			"var/lib/dpkg/diversions-old",
			"var/lib/dpkg/statoverride-old",
		];
		let name = path.rsplit('/').next().unwrap_or(path);
		name == "__pycache__"
			|| name.ends_with(".pyc")
			|| FILES.contains(&path)
			|| TREES.iter().any(|t| path.strip_prefix(t).is_some_and(|rest| rest.starts_with('/')))
	}

	/// Adds the tree under `root/relative` (kept empty directories for the left-out trees, so
	/// that mount points and `tmp` exist).
	fn add_tree(&mut self, root: &Path, relative: &str) -> std::io::Result<()> {
		use std::os::unix::fs::PermissionsExt;
		let mut entries: Vec<_> =
			std::fs::read_dir(root.join(relative))?.collect::<Result<Vec<_>, _>>()?;
		entries.sort_by_key(|e| e.file_name());
		for entry in entries {
			let name = entry.file_name().into_string().map_err(|n| {
				std::io::Error::other(format!("{n:?} under {relative:?} is not UTF-8"))
			})?;
			let path = if relative.is_empty() { name } else { format!("{relative}/{name}") };
			let kind = entry.file_type()?;
			if Self::left_out(&format!("{path}/")) && kind.is_dir() {
				self.dirs.push(path);
				continue;
			}
			if Self::left_out(&path) {
				continue;
			}
			if kind.is_symlink() {
				let target = std::fs::read_link(entry.path())?;
				self.symlinks.push((path, target.to_string_lossy().into_owned()));
			} else if kind.is_dir() {
				self.dirs.push(path.clone());
				self.add_tree(root, &path)?;
			} else if kind.is_file() {
				let mode = entry.metadata()?.permissions().mode() & 0o777;
				self.files.push((path, mode, std::fs::read(entry.path())?));
			}
			// Device nodes, fifos and sockets stay out: the runtime provides /dev.
		}
		Ok(())
	}

	/// The layer: an uncompressed tar of the spec, entries sorted by path.
	fn layer(&self) -> std::io::Result<Vec<u8>> {
		enum Entry<'a> {
			Dir,
			File(u32, &'a [u8]),
			Link(&'a str),
		}
		let mut entries: Vec<(&str, Entry)> = Vec::new();
		entries.extend(self.dirs.iter().map(|d| (d.as_str(), Entry::Dir)));
		entries.extend(self.files.iter().map(|(p, m, c)| (p.as_str(), Entry::File(*m, c))));
		entries.extend(self.symlinks.iter().map(|(p, t)| (p.as_str(), Entry::Link(t))));
		entries.sort_by(|a, b| a.0.cmp(b.0));
		let mut tar = tar::Builder::new(Vec::new());
		for (path, entry) in entries {
			let mut header = tar::Header::new_ustar();
			header.set_uid(0);
			header.set_gid(0);
			header.set_mtime(EPOCH);
			match entry {
				Entry::Dir => {
					header.set_entry_type(tar::EntryType::Directory);
					header.set_mode(if path == "tmp" || path == "var/tmp" {
						0o1777
					} else {
						0o755
					});
					header.set_size(0);
					tar.append_data(&mut header, format!("{path}/"), std::io::empty())?;
				},
				Entry::File(mode, contents) => {
					header.set_entry_type(tar::EntryType::Regular);
					header.set_mode(mode);
					header.set_size(contents.len() as u64);
					tar.append_data(&mut header, path, contents)?;
				},
				Entry::Link(target) => {
					header.set_entry_type(tar::EntryType::Symlink);
					header.set_mode(0o777);
					header.set_size(0);
					tar.append_link(&mut header, path, target)?;
				},
			}
		}
		tar.into_inner()
	}

	/// Writes the `docker save` tarball (the format `docker load` reads: `manifest.json`, the
	/// config as `<id>.json`, the layer as `<diff id>/layer.tar`) and returns the image ID.
	pub fn write_tarball(&self, out: impl Write) -> std::io::Result<ImageId> {
		let layer = self.layer()?;
		let diff_id = hex::encode(Sha256::digest(&layer));
		let config = serde_json::json!({
			"architecture": "amd64",
			"os": "linux",
			"created": CREATED,
			"config": {
				"User": self.user,
				"Env": self.env,
				"Cmd": self.cmd,
				"WorkingDir": vouch_primitives::sandbox::WORK_DIR,
			},
			"rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
			"history": [{ "created": CREATED, "created_by": "vouch image builder" }],
		});
		let config = serde_json::to_vec(&config)?;
		let id = ImageId(Sha256::digest(&config).into());
		let manifest = serde_json::to_vec(&serde_json::json!([{
			"Config": format!("{}.json", id.hex()),
			"RepoTags": null,
			"Layers": [format!("{diff_id}/layer.tar")],
		}]))?;
		let mut tar = tar::Builder::new(out);
		let mut add = |path: String, contents: &[u8], dir: bool| {
			let mut header = tar::Header::new_ustar();
			header.set_uid(0);
			header.set_gid(0);
			header.set_mtime(EPOCH);
			header.set_mode(if dir { 0o755 } else { 0o644 });
			header.set_entry_type(if dir {
				tar::EntryType::Directory
			} else {
				tar::EntryType::Regular
			});
			header.set_size(contents.len() as u64);
			tar.append_data(&mut header, path, contents)
		};
		add(format!("{}.json", id.hex()), &config, false)?;
		add(format!("{diff_id}/"), &[], true)?;
		add(format!("{diff_id}/layer.tar"), &layer, false)?;
		add("manifest.json".into(), &manifest, false)?;
		tar.into_inner()?.flush()?;
		Ok(id)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A small tree with what a debootstrap tree has: programs, a symlink, logs, caches,
	/// bytecode, account databases, a fifo.
	fn tree(root: &Path, log: &str) -> std::io::Result<()> {
		use std::os::unix::fs::PermissionsExt;
		for dir in ["usr/bin", "usr/lib/python3/__pycache__", "var/log", "var/cache/apt", "etc"] {
			std::fs::create_dir_all(root.join(dir))?;
		}
		std::fs::write(root.join("usr/bin/python3"), b"#!interpreter")?;
		std::fs::set_permissions(
			root.join("usr/bin/python3"),
			std::fs::Permissions::from_mode(0o4755),
		)?;
		std::fs::write(root.join("usr/lib/python3/site.py"), b"import os\n")?;
		std::fs::write(root.join("usr/lib/python3/__pycache__/site.cpython-311.pyc"), log)?;
		std::fs::write(root.join("var/log/dpkg.log"), log)?;
		std::fs::write(root.join("var/cache/apt/pkgcache.bin"), log)?;
		std::fs::write(root.join("etc/shadow"), log)?;
		std::fs::write(root.join("etc/passwd"), b"root:x:0:0::/root:/bin/bash\n")?;
		std::os::unix::fs::symlink("usr/bin", root.join("bin"))?;
		nix::unistd::mkfifo(&root.join("etc/initctl"), nix::sys::stat::Mode::S_IRWXU)?;
		Ok(())
	}

	fn entries(spec: &ImageSpec) -> Vec<(String, u32, Vec<u8>)> {
		let layer = spec.layer().unwrap();
		let mut archive = tar::Archive::new(&layer[..]);
		archive
			.entries()
			.unwrap()
			.map(|e| {
				let mut e = e.unwrap();
				let mut body = Vec::new();
				std::io::Read::read_to_end(&mut e, &mut body).unwrap();
				(e.path().unwrap().display().to_string(), e.header().mode().unwrap(), body)
			})
			.collect()
	}

	/// Two trees that differ only in logs, caches, bytecode and secrets (as two debootstrap
	/// runs of one package set do) give the same image; what is left in is the job's.
	#[test]
	fn a_rootfs_image_is_the_same_for_the_same_packages_and_leaves_out_logs_and_secrets() {
		let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
		tree(a.path(), "monday").unwrap();
		tree(b.path(), "tuesday").unwrap();
		let env = vec!["PATH=/usr/bin".to_string()];
		let cmd = vec!["/usr/bin/python3".to_string()];
		let spec_a = ImageSpec::rootfs(a.path(), env.clone(), cmd.clone()).unwrap();
		let spec_b = ImageSpec::rootfs(b.path(), env.clone(), cmd.clone()).unwrap();
		let id_a = spec_a.write_tarball(std::io::sink()).unwrap();
		assert_eq!(id_a, spec_b.write_tarball(std::io::sink()).unwrap());

		let listed = entries(&spec_a);
		let names: Vec<&str> = listed.iter().map(|(n, _, _)| n.as_str()).collect();
		for kept in ["usr/bin/python3", "usr/lib/python3/site.py", "bin", "var/log/", "etc/passwd"]
		{
			assert!(names.contains(&kept), "{kept} is in the image: {names:?}");
		}
		for dropped in
			["var/log/dpkg.log", "var/cache/apt/pkgcache.bin", "etc/shadow", "etc/initctl"]
		{
			assert!(!names.contains(&dropped), "{dropped} is left out: {names:?}");
		}
		assert!(!names.iter().any(|n| n.contains("__pycache__")), "no bytecode: {names:?}");
		let mode = |name: &str| listed.iter().find(|(n, _, _)| n == name).map(|(_, m, _)| *m);
		assert_eq!(mode("usr/bin/python3"), Some(0o755), "setuid is dropped");
		assert_eq!(mode("tmp/"), Some(0o1777));
		let passwd = &listed.iter().find(|(n, _, _)| n == "etc/passwd").unwrap().2;
		assert!(String::from_utf8_lossy(passwd).contains("job:x:10001:10001"), "the job user");
		// The image is a real `docker save` tarball for its ID.
		let mut tarball = Vec::new();
		spec_a.write_tarball(&mut tarball).unwrap();
		crate::image::verify_tarball(&tarball[..], &id_a).unwrap();

		// A changed program is another image.
		std::fs::write(b.path().join("usr/lib/python3/site.py"), b"import sys\n").unwrap();
		let changed = ImageSpec::rootfs(b.path(), env, cmd).unwrap();
		assert_ne!(id_a, changed.write_tarball(std::io::sink()).unwrap());
	}
}
