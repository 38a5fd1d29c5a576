//! The job's tar archives, in one place for everyone who writes or reads them
//! (`docs/formats.md` §1): the lambda's code, packed by its developer and unpacked into
//! `/code` by the executor, and the result, packed by the executor from `/output` and opened
//! by its recipient into a directory of its choosing.

use std::{
	collections::BTreeMap,
	io::{self, Read},
	path::{Component, Path},
};

use anyhow::{anyhow, Context as _, Result};

/// A tar archive (ustar headers, mode 0644) of `files`, by name, in the order given.
pub fn pack(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
	let mut builder = tar::Builder::new(Vec::new());
	for (name, bytes) in files {
		let mut header = tar::Header::new_ustar();
		header.set_size(bytes.len() as u64);
		header.set_mode(0o644);
		header.set_cksum();
		builder.append_data(&mut header, name, *bytes)?;
	}
	Ok(builder.into_inner()?)
}

/// The regular files under `dir`, recursively: each path relative to `dir`, sorted, with its
/// bytes (a lambda's code directory, ready for [`pack`]). Links and other entries are
/// skipped.
pub fn files_under(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
	fn walk(base: &Path, dir: &Path, found: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
		for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
			let path = entry?.path();
			if path.is_dir() {
				walk(base, &path, found)?;
			} else if path.is_file() {
				let name = path.strip_prefix(base).unwrap_or(&path).to_string_lossy().into_owned();
				found.push((name, std::fs::read(&path)?));
			}
		}
		Ok(())
	}
	let mut files = Vec::new();
	walk(dir, dir, &mut files)?;
	files.sort();
	Ok(files)
}

/// The job's result: a tar archive (GNU headers) of the top-level regular files of `dir`,
/// sorted by name. Subdirectories, links and other entries are left out, and no link is
/// followed, so a job cannot make the result carry a file from outside its output.
pub fn pack_output(dir: &Path) -> Result<Vec<u8>> {
	let mut builder = tar::Builder::new(Vec::new());
	builder.follow_symlinks(false);
	let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
	entries.sort_by_key(|e| e.file_name());
	for entry in entries {
		let meta = std::fs::symlink_metadata(entry.path())?;
		if meta.is_file() {
			builder.append_path_with_name(entry.path(), entry.file_name())?;
		}
	}
	Ok(builder.into_inner()?)
}

/// Unpacks a lambda's code archive into `dir`, without its owners and modes. Only regular
/// files and directories are accepted, and an entry that would land outside `dir` (an
/// absolute path, `..`) is refused by the tar crate's `unpack_in`.
pub fn unpack_code(archive: impl Read, dir: &Path) -> io::Result<()> {
	let mut archive = tar::Archive::new(archive);
	archive.set_preserve_permissions(false);
	archive.set_preserve_ownerships(false);
	for entry in archive.entries()? {
		let mut entry = entry?;
		if !matches!(
			entry.header().entry_type(),
			tar::EntryType::Regular | tar::EntryType::Directory
		) {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				format!("code archive entry {:?} is not a file or directory", entry.path()?),
			));
		}
		if !entry.unpack_in(dir)? {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				format!("code archive entry {:?} points outside /code", entry.path()?),
			));
		}
	}
	Ok(())
}

/// The files of a tar archive (a job's result), by name.
pub fn files(archive: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
	let mut files = BTreeMap::new();
	let mut archive = tar::Archive::new(archive);
	for entry in archive.entries()? {
		let mut entry = entry?;
		let name = entry.path()?.to_string_lossy().into_owned();
		let mut bytes = Vec::new();
		entry.read_to_end(&mut bytes)?;
		files.insert(name, bytes);
	}
	Ok(files)
}

/// Writes the files of `archive` (a job's result) into `out`, creating it: each file's name
/// and size. A name that would leave `out` (absolute, or with `..`) is an error, and nothing
/// is written for it: the result comes from the executor, which need not be trusted with the
/// recipient's file system.
pub fn write_result(archive: &[u8], out: &Path) -> Result<Vec<(String, usize)>> {
	std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
	let mut written = Vec::new();
	for (name, bytes) in files(archive)? {
		let relative = Path::new(&name);
		if relative.is_absolute()
			|| relative.components().any(|c| matches!(c, Component::ParentDir))
		{
			return Err(anyhow!("the result names a file outside its directory: {name:?}"));
		}
		let path = out.join(relative);
		if let Some(dir) = path.parent() {
			std::fs::create_dir_all(dir)?;
		}
		std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
		written.push((name, bytes.len()));
	}
	Ok(written)
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A tar archive of one entry whose header says `name` and `kind` as given, which the tar
	/// crate's own builder would refuse to write: what a hostile packer sends.
	fn raw(name: &str, kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
		let mut header = tar::Header::new_gnu();
		header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
		header.set_entry_type(kind);
		header.set_mode(0o644);
		if let Some(link) = link {
			header.set_link_name(link).unwrap();
		}
		let body: &[u8] = if kind == tar::EntryType::Regular { b"payload" } else { b"" };
		header.set_size(body.len() as u64);
		header.set_cksum();
		let mut builder = tar::Builder::new(Vec::new());
		builder.append(&header, body).unwrap();
		builder.into_inner().unwrap()
	}

	#[test]
	fn code_packed_from_a_directory_unpacks_to_the_same_files() {
		let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
		std::fs::create_dir(src.path().join("lib")).unwrap();
		std::fs::write(src.path().join("main.sh"), b"echo hi").unwrap();
		std::fs::write(src.path().join("lib/util.sh"), b"true").unwrap();
		let files = files_under(src.path()).unwrap();
		let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
		assert_eq!(names, ["lib/util.sh", "main.sh"]);
		let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
		unpack_code(&pack(&refs).unwrap()[..], dst.path()).unwrap();
		assert_eq!(files_under(dst.path()).unwrap(), files);
	}

	#[test]
	fn code_with_a_link_or_a_path_out_of_its_directory_is_refused() {
		let dir = tempfile::tempdir().unwrap();
		let code = dir.path().join("code");
		std::fs::create_dir(&code).unwrap();
		let link = raw("passwd", tar::EntryType::Symlink, Some("/etc/passwd"));
		let err = unpack_code(&link[..], &code).unwrap_err();
		assert!(err.to_string().contains("is not a file or directory"), "{err}");
		let escaping = raw("../escaped", tar::EntryType::Regular, None);
		let err = unpack_code(&escaping[..], &code).unwrap_err();
		assert!(err.to_string().contains("points outside /code"), "{err}");
		assert!(!dir.path().join("escaped").exists());
		assert!(files_under(&code).unwrap().is_empty());
	}

	#[test]
	fn a_result_holds_the_top_level_regular_files_of_the_output_only() {
		let out = tempfile::tempdir().unwrap();
		std::fs::write(out.path().join("b.txt"), b"two").unwrap();
		std::fs::write(out.path().join("a.txt"), b"one").unwrap();
		std::fs::create_dir(out.path().join("sub")).unwrap();
		std::fs::write(out.path().join("sub/c.txt"), b"nested").unwrap();
		std::os::unix::fs::symlink("/etc/hostname", out.path().join("host")).unwrap();
		let result = files(&pack_output(out.path()).unwrap()).unwrap();
		let names: Vec<_> = result.keys().map(String::as_str).collect();
		assert_eq!(names, ["a.txt", "b.txt"]);
		assert_eq!(result["a.txt"], b"one");
	}

	#[test]
	fn a_result_naming_a_file_out_of_its_directory_writes_nothing_there() {
		let dir = tempfile::tempdir().unwrap();
		let out = dir.path().join("out");
		let hostile = raw("../planted", tar::EntryType::Regular, None);
		let err = write_result(&hostile, &out).unwrap_err();
		assert!(err.to_string().contains("outside its directory"), "{err}");
		assert!(!dir.path().join("planted").exists());
		let fine = pack(&[("result.txt", b"ok")]).unwrap();
		assert_eq!(write_result(&fine, &out).unwrap(), [("result.txt".to_string(), 2)]);
		assert_eq!(std::fs::read(out.join("result.txt")).unwrap(), b"ok");
	}
}
