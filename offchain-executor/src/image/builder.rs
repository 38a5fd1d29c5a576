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

impl ImageSpec {
	/// A busybox image: Debian's static busybox at `/bin/busybox` with its applets, a passwd
	/// with the job user (uid 10001) and the mount points of the sandbox.
	pub fn busybox(busybox: &Path) -> std::io::Result<Self> {
		let binary = std::fs::read(busybox)?;
		let uid = vouch_primitives::sandbox::JOB_UID;
		let passwd =
			format!("root:x:0:0:root:/root:/bin/sh\njob:x:{uid}:{uid}:vouch job:/work:/bin/sh\n");
		let group = format!("root:x:0:\njob:x:{uid}:\n");
		Ok(Self {
			files: vec![
				("bin/busybox".into(), 0o755, binary),
				("etc/group".into(), 0o644, group.into_bytes()),
				("etc/passwd".into(), 0o644, passwd.into_bytes()),
			],
			symlinks: APPLETS.iter().map(|a| (format!("bin/{a}"), "busybox".into())).collect(),
			dirs: ["bin", "code", "dev", "etc", "inputs", "output", "proc", "sys", "tmp", "work"]
				.map(String::from)
				.to_vec(),
			user: format!("{uid}:{uid}"),
			env: vec!["PATH=/bin".into()],
			cmd: vec!["/bin/sh".into()],
		})
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
					header.set_mode(if path == "tmp" { 0o1777 } else { 0o755 });
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
