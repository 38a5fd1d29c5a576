//! Pinned job images (DESIGN §6). A lambda names its image by ID, the sha256 of the image's
//! config JSON, and stores it as a `docker save` tarball. Before the daemon sees a byte, the
//! tarball is checked: its config hashes to the pinned ID, and every layer hashes to the
//! config's `rootfs.diff_ids`. It is then loaded and run as `sha256:<id>`, never by a tag
//! (a tag is whatever was loaded last under that name).

pub mod builder;

use std::{
	collections::HashMap,
	fmt,
	io::{self, Read},
	path::Path,
};

use anyhow::Context as _;
use bollard::{query_parameters::ImportImageOptionsBuilder, Docker};
use futures::StreamExt;
use sha2::{Digest, Sha256};

/// An image ID: the sha256 of its config JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageId(pub [u8; 32]);

impl ImageId {
	/// The 64 hex digits.
	pub fn hex(&self) -> String {
		hex::encode(self.0)
	}

	/// Parses `sha256:<64 hex>` or the bare hex digits.
	pub fn parse(text: &str) -> Result<Self, ImageError> {
		let digits = text.strip_prefix("sha256:").unwrap_or(text);
		let bytes = hex::decode(digits).map_err(|_| ImageError::BadId(text.to_string()))?;
		Ok(Self(bytes.try_into().map_err(|_| ImageError::BadId(text.to_string()))?))
	}
}

impl fmt::Display for ImageId {
	/// `sha256:<hex>`, the form the Engine API takes as an image reference.
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "sha256:{}", self.hex())
	}
}

impl fmt::Debug for ImageId {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "ImageId({self})")
	}
}

/// Why an image tarball is refused.
#[derive(Debug)]
pub enum ImageError {
	/// Reading the tarball failed.
	Io(io::Error),
	/// Not `sha256:` and 64 hex digits.
	BadId(String),
	/// No `manifest.json` in the tarball.
	NoManifest,
	/// `manifest.json` is not the `docker save` format.
	BadManifest(String),
	/// The tarball holds other than exactly one image.
	ImageCount(usize),
	/// A file the manifest names is not in the tarball.
	Missing(String),
	/// A JSON file over the size a config or manifest can reasonably have.
	TooLarge(String),
	/// The config does not hash to the pinned image ID.
	ConfigDigest {
		/// The lambda's image ID.
		expected: ImageId,
		/// sha256 of the config in the tarball.
		found: ImageId,
	},
	/// The config is not JSON with `rootfs.diff_ids`.
	BadConfig(String),
	/// The manifest lists another number of layers than the config's `diff_ids`.
	LayerCount {
		/// `rootfs.diff_ids` in the config.
		expected: usize,
		/// Layers in the manifest.
		found: usize,
	},
	/// Layer `index` does not hash to its diff ID.
	LayerDigest {
		/// Position in `rootfs.diff_ids`.
		index: usize,
		/// The diff ID in the config.
		expected: String,
		/// sha256 of the layer in the tarball.
		found: String,
	},
}

impl fmt::Display for ImageError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::Io(e) => write!(f, "reading the image tarball: {e}"),
			Self::BadId(s) => write!(f, "{s:?} is not an image ID (sha256:<64 hex digits>)"),
			Self::NoManifest => write!(f, "no manifest.json: not a `docker save` tarball"),
			Self::BadManifest(why) => write!(f, "manifest.json: {why}"),
			Self::ImageCount(n) => write!(f, "the tarball holds {n} images; a job image is one"),
			Self::Missing(name) => {
				write!(f, "{name} is named by the manifest but not in the tarball")
			},
			Self::TooLarge(name) => write!(f, "{name} is too large for a manifest or config"),
			Self::ConfigDigest { expected, found } => {
				write!(f, "image config digest mismatch: the lambda pins {expected}, the tarball's config is {found}")
			},
			Self::BadConfig(why) => write!(f, "image config: {why}"),
			Self::LayerCount { expected, found } => {
				write!(f, "the config lists {expected} layers, the manifest {found}")
			},
			Self::LayerDigest { index, expected, found } => write!(
				f,
				"layer {index} digest mismatch: the config expects {expected}, the layer is sha256:{found}"
			),
		}
	}
}

impl std::error::Error for ImageError {}

impl From<io::Error> for ImageError {
	fn from(e: io::Error) -> Self {
		Self::Io(e)
	}
}

/// A tarball whose config and layers match its pinned ID.
#[derive(Clone, Debug)]
pub struct VerifiedImage {
	/// The pinned ID.
	pub id: ImageId,
	/// The layers' diff IDs, in order.
	pub diff_ids: Vec<String>,
}

/// The largest manifest or config read into memory.
const MAX_JSON: u64 = 1 << 20;

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
	config: String,
	layers: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Config {
	rootfs: RootFs,
}

#[derive(serde::Deserialize)]
struct RootFs {
	diff_ids: Vec<String>,
}

/// Checks a `docker save` tarball against the image ID a lambda pins, in one pass over the
/// tarball: every entry is hashed as it streams, the small JSON files kept.
pub fn verify_tarball(tarball: impl Read, expected: &ImageId) -> Result<VerifiedImage, ImageError> {
	let mut digests: HashMap<String, String> = HashMap::new();
	let mut small: HashMap<String, Vec<u8>> = HashMap::new();
	let mut archive = tar::Archive::new(tarball);
	for entry in archive.entries()? {
		let mut entry = entry?;
		if !entry.header().entry_type().is_file() {
			continue;
		}
		let name = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
		let keep = name == "manifest.json" || name.ends_with(".json") || name.starts_with("blobs/");
		let mut hasher = Sha256::new();
		let mut kept = Vec::new();
		let mut buf = vec![0u8; 64 * 1024];
		loop {
			let n = entry.read(&mut buf)?;
			if n == 0 {
				break;
			}
			hasher.update(&buf[..n]);
			if keep && (kept.len() as u64) < MAX_JSON {
				kept.extend_from_slice(&buf[..n.min(MAX_JSON as usize - kept.len())]);
			}
		}
		if keep && entry.size() <= MAX_JSON {
			small.insert(name.clone(), kept);
		}
		digests.insert(name, hex::encode(hasher.finalize()));
	}
	let manifest = small.get("manifest.json").ok_or(ImageError::NoManifest)?;
	let manifest: Vec<ManifestEntry> =
		serde_json::from_slice(manifest).map_err(|e| ImageError::BadManifest(e.to_string()))?;
	let [image] = &manifest[..] else { return Err(ImageError::ImageCount(manifest.len())) };
	let config_digest =
		digests.get(&image.config).ok_or_else(|| ImageError::Missing(image.config.clone()))?;
	let found = ImageId::parse(config_digest)?;
	if found != *expected {
		return Err(ImageError::ConfigDigest { expected: *expected, found });
	}
	let config =
		small.get(&image.config).ok_or_else(|| ImageError::TooLarge(image.config.clone()))?;
	let config: Config =
		serde_json::from_slice(config).map_err(|e| ImageError::BadConfig(e.to_string()))?;
	let diff_ids = config.rootfs.diff_ids;
	if diff_ids.len() != image.layers.len() {
		return Err(ImageError::LayerCount { expected: diff_ids.len(), found: image.layers.len() });
	}
	for (index, (diff_id, layer)) in diff_ids.iter().zip(&image.layers).enumerate() {
		let found = digests.get(layer).ok_or_else(|| ImageError::Missing(layer.clone()))?;
		if diff_id.strip_prefix("sha256:") != Some(found.as_str()) {
			return Err(ImageError::LayerDigest {
				index,
				expected: diff_id.clone(),
				found: found.clone(),
			});
		}
	}
	Ok(VerifiedImage { id: *expected, diff_ids })
}

/// Verifies the tarball at `path` against `expected`, loads it into the daemon
/// (`POST /images/load`, streamed from the file) and checks that the daemon now holds
/// `sha256:<id>` with the same layers. Loading an image the daemon already has is cheap.
pub async fn load(
	docker: &Docker,
	path: &Path,
	expected: &ImageId,
) -> anyhow::Result<VerifiedImage> {
	let verified = {
		let path = path.to_path_buf();
		let expected = *expected;
		tokio::task::spawn_blocking(move || {
			verify_tarball(io::BufReader::new(std::fs::File::open(&path)?), &expected)
		})
		.await??
	};
	let file =
		tokio::fs::File::open(path).await.with_context(|| format!("opening {}", path.display()))?;
	let body = tokio_util::io::ReaderStream::new(file);
	let mut progress = docker.import_image_stream(
		ImportImageOptionsBuilder::default().quiet(true).build(),
		body,
		None,
	);
	while let Some(step) = progress.next().await {
		step.context("the daemon refused the image tarball")?;
	}
	let inspected = docker
		.inspect_image(&expected.to_string())
		.await
		.with_context(|| format!("the daemon does not hold {expected} after loading it"))?;
	let layers = inspected.root_fs.and_then(|r| r.layers).unwrap_or_default();
	anyhow::ensure!(
		inspected.id.as_deref() == Some(expected.to_string().as_str())
			&& layers == verified.diff_ids,
		"the daemon reports image {:?} with layers {layers:?}, not {expected} with {:?}",
		inspected.id,
		verified.diff_ids
	);
	tracing::info!(image = %expected, layers = layers.len(), "job image verified and loaded");
	Ok(verified)
}
