//! A client of any Vouch store (or IPFS gateway path): uploads stream from files, downloads
//! stream to writers, and every download is checked against its CID, so it does not matter
//! which store served it.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::{body::Frame, Method, Request, StatusCode};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vouch_primitives::content_id::ContentId;

type Body = BoxBody<Bytes, std::io::Error>;

/// A store at one base URL (`http://host:port`).
#[derive(Clone)]
pub struct StoreClient {
	base: String,
	http: Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
}

/// The CID of a file's bytes, read in chunks.
pub async fn cid_of_file(path: &Path) -> Result<ContentId> {
	let mut file =
		tokio::fs::File::open(path).await.with_context(|| format!("opening {}", path.display()))?;
	let mut hasher = Sha256::new();
	let mut buf = vec![0u8; 256 * 1024];
	loop {
		let n = file.read(&mut buf).await?;
		if n == 0 {
			break;
		}
		hasher.update(&buf[..n]);
	}
	Ok(ContentId::from_digest(hasher.finalize().into()))
}

impl StoreClient {
	/// A client of the store at `base` (e.g. `http://127.0.0.1:8700`).
	pub fn new(base: &str) -> Self {
		let http = Client::builder(TokioExecutor::new()).build_http();
		Self { base: base.trim_end_matches('/').to_string(), http }
	}

	async fn send(
		&self,
		method: Method,
		path: &str,
		body: Body,
		len: Option<u64>,
	) -> Result<hyper::Response<hyper::body::Incoming>> {
		let mut request = Request::builder().method(method).uri(format!("{}{path}", self.base));
		if let Some(len) = len {
			request = request.header(hyper::header::CONTENT_LENGTH, len);
		}
		Ok(self
			.http
			.request(request.body(body)?)
			.await
			.with_context(|| format!("store {} unreachable", self.base))?)
	}

	async fn fail(response: hyper::Response<hyper::body::Incoming>) -> anyhow::Error {
		let status = response.status();
		let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
		let message = serde_json::from_slice::<serde_json::Value>(&body)
			.ok()
			.and_then(|v| v["message"].as_str().map(String::from))
			.unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
		anyhow::anyhow!("store answered {status}: {message}")
	}

	/// Uploads bytes; returns their CID.
	pub async fn put_bytes(&self, bytes: Vec<u8>) -> Result<ContentId> {
		let id = ContentId::of(&bytes);
		let len = bytes.len() as u64;
		let body = Full::new(Bytes::from(bytes)).map_err(|never| match never {}).boxed();
		self.put(id, body, len).await
	}

	/// Uploads a file, streaming it (hashed first, then sent); returns its CID.
	pub async fn put_file(&self, path: &Path) -> Result<ContentId> {
		self.put_file_reporting(path, |_| {}).await
	}

	/// [`Self::put_file`], calling `sent` with the length of each chunk as it goes into the
	/// request body (a progress bar's feed).
	pub async fn put_file_reporting(
		&self,
		path: &Path,
		sent: impl Fn(u64) + Send + Sync + 'static,
	) -> Result<ContentId> {
		let id = cid_of_file(path).await?;
		let file = tokio::fs::File::open(path).await?;
		let len = file.metadata().await?.len();
		let frames =
			tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map_ok(move |chunk| {
				sent(chunk.len() as u64);
				Frame::data(chunk)
			});
		self.put(id, BodyExt::boxed(StreamBody::new(frames)), len).await
	}

	async fn put(&self, id: ContentId, body: Body, len: u64) -> Result<ContentId> {
		// A blob the store holds is not sent again: the store answers such a PUT without
		// reading the body, which a large upload would see as a broken connection.
		if self.size(&id).await? == Some(len) {
			return Ok(id);
		}
		let response = self.send(Method::PUT, &format!("/blobs/{id}"), body, Some(len)).await?;
		match response.status() {
			StatusCode::CREATED | StatusCode::OK => Ok(id),
			_ => Err(Self::fail(response).await),
		}
	}

	/// Whether the store holds `id`, and its size.
	pub async fn size(&self, id: &ContentId) -> Result<Option<u64>> {
		let response = self.send(Method::HEAD, &format!("/blobs/{id}"), empty(), None).await?;
		match response.status() {
			StatusCode::OK => Ok(response
				.headers()
				.get(hyper::header::CONTENT_LENGTH)
				.and_then(|v| v.to_str().ok())
				.and_then(|v| v.parse().ok())),
			StatusCode::NOT_FOUND => Ok(None),
			_ => Err(Self::fail(response).await),
		}
	}

	/// Downloads `id` into `out`, checking the bytes against the CID; returns the length.
	/// On a mismatch `out` has received bytes that must be discarded.
	pub async fn get_to(&self, id: &ContentId, out: &mut (impl AsyncWrite + Unpin)) -> Result<u64> {
		let response = self.send(Method::GET, &format!("/blobs/{id}"), empty(), None).await?;
		if response.status() != StatusCode::OK {
			return Err(Self::fail(response).await);
		}
		let mut body = response.into_body();
		let mut hasher = Sha256::new();
		let mut len = 0u64;
		while let Some(frame) = body.frame().await {
			let frame =
				frame.with_context(|| format!("downloading {id}: the transfer broke off"))?;
			if let Ok(data) = frame.into_data() {
				hasher.update(&data);
				len += data.len() as u64;
				out.write_all(&data).await?;
			}
		}
		out.flush().await?;
		let found = ContentId::from_digest(hasher.finalize().into());
		if found != *id {
			bail!("the store sent {found} for {id}");
		}
		Ok(len)
	}

	/// Downloads `id` into memory (checked).
	pub async fn get_bytes(&self, id: &ContentId) -> Result<Vec<u8>> {
		let mut out = Vec::new();
		self.get_to(id, &mut out).await?;
		Ok(out)
	}

	/// Downloads `id` into a file (checked; the file is removed on a mismatch).
	pub async fn get_file(&self, id: &ContentId, path: &Path) -> Result<u64> {
		let mut file = tokio::fs::File::create(path).await?;
		match self.get_to(id, &mut file).await {
			Ok(n) => {
				file.sync_all().await?;
				Ok(n)
			},
			Err(e) => {
				drop(file);
				let _ = tokio::fs::remove_file(path).await;
				Err(e)
			},
		}
	}
}

fn empty() -> Body {
	Full::new(Bytes::new()).map_err(|never| match never {}).boxed()
}
