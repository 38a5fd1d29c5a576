//! The content store (DESIGN §6): blobs on disk under their CID (CIDv1, raw, sha2-256), served
//! over HTTP. Embedded in the executor and usable alone (`vouch-executor store`).
//!
//! - `PUT /blobs/{cid}` streams the body to a temporary file while hashing it, refuses it if
//!   it passes the size cap (413) or does not hash to the CID (422), and otherwise fsyncs and
//!   renames it into place: a crash never leaves a partial blob under a CID.
//! - `GET /blobs/{cid}` streams the blob and hashes it again as it goes: if the bytes on disk
//!   no longer match, the response is cut before its last byte (so no client sees a complete
//!   body) and the blob is moved aside to `corrupt/`. `HEAD` gives the size.
//! - `GET /ipfs/{cid}` answers as an IPFS trustless gateway does for a raw block
//!   (`application/vnd.ipld.raw`), so IPFS tooling can fetch Vouch blobs.
//!
//! Errors carry a JSON body `{"error": code, "message": text}`: `bad_cid` (400), `not_found`
//! (404), `not_acceptable` (406), `too_large` (413), `digest_mismatch` (422).

/// The client of any store: in `vouch-client`, shared with the CLI.
pub use vouch_client::store as client;

use std::{
	io,
	path::{Path, PathBuf},
	sync::Arc,
};

use axum::{
	body::{Body, Bytes},
	extract::{Path as UrlPath, Query, State},
	http::{header, HeaderMap, HeaderValue, StatusCode},
	response::{IntoResponse, Response},
	routing::get,
	Json, Router,
};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vouch_primitives::content_id::ContentId;

/// The media type of a raw IPLD block.
pub const IPLD_RAW: &str = "application/vnd.ipld.raw";

/// Blobs on disk: `<dir>/blobs/<cid>`, uploads in progress in `<dir>/tmp/`, blobs that failed
/// a read check in `<dir>/corrupt/`.
#[derive(Clone, Debug)]
pub struct BlobStore {
	dir: PathBuf,
	max_blob_bytes: u64,
}

/// Why a store operation failed; each maps to one HTTP status.
#[derive(Debug)]
pub enum StoreError {
	/// The path's CID does not parse, or is not raw/sha2-256.
	BadCid(String),
	/// No blob under this CID.
	NotFound(ContentId),
	/// The blob is larger than the store's cap.
	TooLarge {
		/// The cap.
		max: u64,
	},
	/// The bytes do not hash to the CID they were sent under.
	DigestMismatch {
		/// The CID in the path.
		expected: ContentId,
		/// The CID of the bytes received.
		found: ContentId,
	},
	/// The client asked for a representation other than the raw block.
	NotAcceptable(String),
	/// A disk or transfer error.
	Io(io::Error),
}

impl From<io::Error> for StoreError {
	fn from(e: io::Error) -> Self {
		Self::Io(e)
	}
}

impl std::fmt::Display for StoreError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::BadCid(why) => write!(f, "bad CID: {why}"),
			Self::NotFound(id) => write!(f, "no blob {id} in this store"),
			Self::TooLarge { max } => write!(f, "the blob is over this store's cap of {max} bytes"),
			Self::DigestMismatch { expected, found } => {
				write!(f, "the bytes sent are {found}, not {expected}")
			},
			Self::NotAcceptable(what) => {
				write!(f, "{what} is not served here; ask for {IPLD_RAW} (format=raw)")
			},
			Self::Io(e) => write!(f, "store I/O error: {e}"),
		}
	}
}

impl std::error::Error for StoreError {}

impl StoreError {
	fn status_and_code(&self) -> (StatusCode, &'static str) {
		match self {
			Self::BadCid(_) => (StatusCode::BAD_REQUEST, "bad_cid"),
			Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
			Self::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
			Self::DigestMismatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "digest_mismatch"),
			Self::NotAcceptable(_) => (StatusCode::NOT_ACCEPTABLE, "not_acceptable"),
			Self::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, "io"),
		}
	}
}

impl IntoResponse for StoreError {
	fn into_response(self) -> Response {
		let (status, code) = self.status_and_code();
		let mut body = serde_json::json!({ "error": code, "message": self.to_string() });
		if let Self::DigestMismatch { expected, found } = &self {
			body["expected"] = expected.to_string().into();
			body["found"] = found.to_string().into();
		}
		if let Self::TooLarge { max } = &self {
			body["max_bytes"] = (*max).into();
		}
		(status, Json(body)).into_response()
	}
}

/// Whether a PUT stored new bytes or found them already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
	/// Written now.
	New,
	/// The store already held this blob; the body was not read.
	AlreadyHeld,
}

/// Reading chunk: large enough for throughput, small enough to stay constant in memory.
const CHUNK: usize = 256 * 1024;

impl BlobStore {
	/// Opens (making if needed) a store in `dir`, holding blobs of at most `max_blob_bytes`.
	/// Uploads interrupted by a crash are deleted.
	pub fn open(dir: &Path, max_blob_bytes: u64) -> io::Result<Self> {
		for sub in ["blobs", "tmp", "corrupt"] {
			std::fs::create_dir_all(dir.join(sub))?;
		}
		for leftover in std::fs::read_dir(dir.join("tmp"))? {
			std::fs::remove_file(leftover?.path())?;
		}
		Ok(Self { dir: dir.to_path_buf(), max_blob_bytes })
	}

	/// The store's size cap.
	pub fn max_blob_bytes(&self) -> u64 {
		self.max_blob_bytes
	}

	fn path_of(&self, id: &ContentId) -> PathBuf {
		self.dir.join("blobs").join(id.to_string())
	}

	/// The size of blob `id`, if held.
	pub async fn size(&self, id: &ContentId) -> Option<u64> {
		tokio::fs::metadata(self.path_of(id)).await.ok().map(|m| m.len())
	}

	/// Stores the bytes of `body` under `id` if they hash to it and fit the cap.
	pub async fn put<S, E>(
		&self,
		id: &ContentId,
		declared_len: Option<u64>,
		body: S,
	) -> Result<Stored, StoreError>
	where
		S: Stream<Item = Result<Bytes, E>> + Unpin,
		E: std::fmt::Display,
	{
		if self.size(id).await.is_some() {
			return Ok(Stored::AlreadyHeld);
		}
		if declared_len.is_some_and(|n| n > self.max_blob_bytes) {
			return Err(StoreError::TooLarge { max: self.max_blob_bytes });
		}
		let n = UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
		let tmp = self.dir.join("tmp").join(format!("{id}.{}.{n}", std::process::id()));
		let result = self.receive(&tmp, id, body).await;
		if result.is_err() {
			let _ = tokio::fs::remove_file(&tmp).await;
		}
		result
	}

	async fn receive<S, E>(
		&self,
		tmp: &Path,
		id: &ContentId,
		mut body: S,
	) -> Result<Stored, StoreError>
	where
		S: Stream<Item = Result<Bytes, E>> + Unpin,
		E: std::fmt::Display,
	{
		let mut file = tokio::fs::File::create(tmp).await?;
		let mut hasher = Sha256::new();
		let mut len = 0u64;
		while let Some(chunk) = body.next().await {
			let chunk = chunk.map_err(|e| io::Error::other(format!("reading the upload: {e}")))?;
			len += chunk.len() as u64;
			if len > self.max_blob_bytes {
				return Err(StoreError::TooLarge { max: self.max_blob_bytes });
			}
			hasher.update(&chunk);
			file.write_all(&chunk).await?;
		}
		let found = ContentId::from_digest(hasher.finalize().into());
		if found != *id {
			return Err(StoreError::DigestMismatch { expected: *id, found });
		}
		file.sync_all().await?;
		drop(file);
		tokio::fs::rename(tmp, self.path_of(id)).await?;
		// The rename is durable once the directory is synced.
		tokio::fs::File::open(self.dir.join("blobs")).await?.sync_all().await?;
		tracing::debug!(cid = %id, bytes = len, "blob stored");
		Ok(Stored::New)
	}

	/// Blob `id` as a stream that hashes as it reads: the last chunk is replaced by an error
	/// (and the blob moved to `corrupt/`) if the bytes no longer match the CID.
	pub async fn read(
		&self,
		id: &ContentId,
	) -> Result<(u64, impl Stream<Item = io::Result<Bytes>> + Send + 'static), StoreError> {
		let path = self.path_of(id);
		let file = match tokio::fs::File::open(&path).await {
			Ok(f) => f,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::NotFound(*id)),
			Err(e) => return Err(e.into()),
		};
		let len = file.metadata().await?.len();
		let corrupt = self.dir.join("corrupt").join(id.to_string());
		let reading = Reading { file, hasher: Sha256::new(), id: *id, path, corrupt, held: None };
		// One chunk is held back until the next read shows whether it is the last: the last
		// is released only once the whole blob has hashed to its CID.
		let stream = futures::stream::unfold(Some(reading), |state| async move {
			let mut r = state?;
			loop {
				let mut buf = vec![0u8; CHUNK];
				let n = match r.file.read(&mut buf).await {
					Ok(n) => n,
					Err(e) => return Some((Err(e), None)),
				};
				if n == 0 {
					let found = ContentId::from_digest(r.hasher.finalize_reset().into());
					if found != r.id {
						tracing::error!(cid = %r.id, %found, "a stored blob no longer matches its CID: moved aside");
						let _ = tokio::fs::rename(&r.path, &r.corrupt).await;
						let error = io::Error::other(format!("stored blob {} is corrupt", r.id));
						return Some((Err(error), None));
					}
					return r.held.take().map(|last| (Ok(last), None));
				}
				buf.truncate(n);
				r.hasher.update(&buf);
				if let Some(previous) = r.held.replace(Bytes::from(buf)) {
					return Some((Ok(previous), Some(r)));
				}
			}
		});
		Ok((len, stream))
	}
}

/// A blob being read: the file, the running hash and the chunk held back.
struct Reading {
	file: tokio::fs::File,
	hasher: Sha256,
	id: ContentId,
	path: PathBuf,
	corrupt: PathBuf,
	held: Option<Bytes>,
}

/// Names uploads in progress apart (two uploads of one CID may race; the rename settles it).
static UPLOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn parse_cid(text: &str) -> Result<ContentId, StoreError> {
	ContentId::parse(text).map_err(|e| StoreError::BadCid(e.to_string()))
}

/// The store's routes.
pub fn router(store: BlobStore) -> Router {
	Router::new()
		.route("/blobs/{cid}", get(get_blob).head(head_blob).put(put_blob))
		.route("/ipfs/{cid}", get(get_ipfs).head(head_blob))
		.route("/health", get(|| async { "ok" }))
		.with_state(Arc::new(store))
}

/// Serves `store` on `listener` until `shutdown` resolves, then finishes the requests under
/// way.
pub async fn serve(
	store: BlobStore,
	listener: tokio::net::TcpListener,
	shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
	axum::serve(listener, router(store)).with_graceful_shutdown(shutdown).await
}

async fn put_blob(
	State(store): State<Arc<BlobStore>>,
	UrlPath(cid): UrlPath<String>,
	headers: HeaderMap,
	body: Body,
) -> Result<Response, StoreError> {
	let id = parse_cid(&cid)?;
	let declared = headers
		.get(header::CONTENT_LENGTH)
		.and_then(|v| v.to_str().ok())
		.and_then(|v| v.parse().ok());
	let stored = store.put(&id, declared, body.into_data_stream()).await?;
	let status = match stored {
		Stored::New => StatusCode::CREATED,
		Stored::AlreadyHeld => StatusCode::OK,
	};
	let size = store.size(&id).await.unwrap_or_default();
	Ok((status, Json(serde_json::json!({ "cid": id.to_string(), "size": size }))).into_response())
}

async fn head_blob(
	State(store): State<Arc<BlobStore>>,
	UrlPath(cid): UrlPath<String>,
) -> Result<Response, StoreError> {
	let id = parse_cid(&cid)?;
	let size = store.size(&id).await.ok_or(StoreError::NotFound(id))?;
	let mut response = Response::new(Body::empty());
	response.headers_mut().insert(header::CONTENT_LENGTH, size.into());
	response
		.headers_mut()
		.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
	Ok(response)
}

async fn streamed(
	store: &BlobStore,
	id: &ContentId,
	content_type: &'static str,
) -> Result<Response, StoreError> {
	let (size, stream) = store.read(id).await?;
	let mut response = Response::new(Body::from_stream(stream));
	let headers = response.headers_mut();
	headers.insert(header::CONTENT_LENGTH, size.into());
	headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
	headers.insert(header::ETAG, HeaderValue::try_from(format!("\"{id}\"")).expect("ASCII"));
	// Content-addressed: the bytes under a CID never change.
	headers.insert(
		header::CACHE_CONTROL,
		HeaderValue::from_static("public, max-age=29030400, immutable"),
	);
	Ok(response)
}

async fn get_blob(
	State(store): State<Arc<BlobStore>>,
	UrlPath(cid): UrlPath<String>,
) -> Result<Response, StoreError> {
	streamed(&store, &parse_cid(&cid)?, "application/octet-stream").await
}

#[derive(serde::Deserialize)]
struct GatewayQuery {
	format: Option<String>,
}

/// `GET /ipfs/{cid}` as a trustless gateway answers for a raw block: the block's bytes as
/// `application/vnd.ipld.raw` (asked for by `Accept` or `?format=raw`; a raw block's
/// deserialised form is the same bytes). CAR responses are not offered (406).
async fn get_ipfs(
	State(store): State<Arc<BlobStore>>,
	UrlPath(cid): UrlPath<String>,
	Query(query): Query<GatewayQuery>,
	headers: HeaderMap,
) -> Result<Response, StoreError> {
	let id = parse_cid(&cid)?;
	if let Some(format) = query.format.as_deref().filter(|f| *f != "raw") {
		return Err(StoreError::NotAcceptable(format!("format={format}")));
	}
	let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("*/*");
	if accept.contains("application/vnd.ipld.car") && !accept.contains(IPLD_RAW) {
		return Err(StoreError::NotAcceptable(accept.to_string()));
	}
	let mut response = streamed(&store, &id, IPLD_RAW).await?;
	let headers = response.headers_mut();
	headers.insert(header::ETAG, HeaderValue::try_from(format!("\"{id}.raw\"")).expect("ASCII"));
	headers.insert("x-ipfs-path", HeaderValue::try_from(format!("/ipfs/{id}")).expect("ASCII"));
	headers.insert("x-ipfs-roots", HeaderValue::try_from(id.to_string()).expect("ASCII"));
	headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
	headers.insert(header::VARY, HeaderValue::from_static("Accept"));
	Ok(response)
}
