//! The content store over real HTTP on loopback: what an uploader, a downloader and IPFS
//! tooling see, every refusal with its status and JSON body, and the integrity checks on the
//! way in and on every way out.

use anyhow::Result;
use vouch_executor::store::{client::StoreClient, serve, BlobStore};
use vouch_primitives::content_id::ContentId;

struct Served {
	base: String,
	dir: tempfile::TempDir,
	stop: Option<tokio::sync::oneshot::Sender<()>>,
	server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Served {
	async fn start(max_blob_bytes: u64) -> Result<Self> {
		let dir = tempfile::tempdir()?;
		let store = BlobStore::open(dir.path(), max_blob_bytes)?;
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
		let base = format!("http://{}", listener.local_addr()?);
		let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
		let server = tokio::spawn(serve(store, listener, async {
			let _ = stopped.await;
		}));
		Ok(Self { base, dir, stop: Some(stop), server: Some(server) })
	}

	fn blob_path(&self, id: &ContentId) -> std::path::PathBuf {
		self.dir.path().join("blobs").join(id.to_string())
	}

	/// A raw HTTP exchange, to see statuses, headers and bodies as any client would.
	async fn request(
		&self,
		method: &str,
		path: &str,
		headers: &[(&str, &str)],
		body: Vec<u8>,
	) -> Result<(u16, reqwest_like::Headers, Vec<u8>)> {
		reqwest_like::send(&self.base, method, path, headers, body).await
	}

	async fn stop(mut self) -> Result<()> {
		let _ = self.stop.take().unwrap().send(());
		self.server.take().unwrap().await??;
		Ok(())
	}
}

/// A minimal HTTP/1.1 exchange over hyper, keeping the status, headers and body.
mod reqwest_like {
	use anyhow::Result;
	use http_body_util::{BodyExt, Full};
	use hyper::body::Bytes;

	pub type Headers = hyper::HeaderMap;

	pub async fn send(
		base: &str,
		method: &str,
		path: &str,
		headers: &[(&str, &str)],
		body: Vec<u8>,
	) -> Result<(u16, Headers, Vec<u8>)> {
		let client =
			hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
				.build_http::<Full<Bytes>>();
		let mut request = hyper::Request::builder().method(method).uri(format!("{base}{path}"));
		for (name, value) in headers {
			request = request.header(*name, *value);
		}
		let response = client.request(request.body(Full::new(Bytes::from(body)))?).await?;
		let status = response.status().as_u16();
		let headers = response.headers().clone();
		let body = response.into_body().collect().await?.to_bytes().to_vec();
		Ok((status, headers, body))
	}
}

fn json(body: &[u8]) -> serde_json::Value {
	serde_json::from_slice(body)
		.unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn a_blob_put_under_its_cid_comes_back_byte_for_byte_from_every_route() -> Result<()> {
	let store = Served::start(1 << 20).await?;
	let client = StoreClient::new(&store.base);
	let bytes = b"Alice's encrypted picture, as an envelope would hold it".to_vec();
	let id = client.put_bytes(bytes.clone()).await?;
	assert_eq!(id, ContentId::of(&bytes));
	assert!(id.to_string().starts_with("bafkrei"), "{id}");
	assert_eq!(client.get_bytes(&id).await?, bytes);
	assert_eq!(client.size(&id).await?, Some(bytes.len() as u64));

	// A second PUT of the same blob is accepted and changes nothing.
	let (status, _, body) =
		store.request("PUT", &format!("/blobs/{id}"), &[], bytes.clone()).await?;
	assert_eq!((status, json(&body)["cid"].as_str()), (200, Some(id.to_string().as_str())));

	// As an IPFS trustless gateway serves a raw block.
	let (status, headers, body) = store
		.request("GET", &format!("/ipfs/{id}"), &[("accept", "application/vnd.ipld.raw")], vec![])
		.await?;
	assert_eq!(status, 200);
	assert_eq!(body, bytes);
	assert_eq!(headers["content-type"], "application/vnd.ipld.raw");
	assert_eq!(headers["x-ipfs-path"], format!("/ipfs/{id}").as_str());
	assert_eq!(headers["etag"], format!("\"{id}.raw\"").as_str());
	let (status, _, body) =
		store.request("GET", &format!("/ipfs/{id}?format=raw"), &[], vec![]).await?;
	assert_eq!((status, body), (200, bytes));
	let (status, _, body) =
		store.request("GET", &format!("/ipfs/{id}?format=car"), &[], vec![]).await?;
	assert_eq!((status, json(&body)["error"].as_str()), (406, Some("not_acceptable")));
	store.stop().await
}

#[tokio::test]
async fn bad_requests_get_their_own_status_and_a_json_body_naming_the_problem() -> Result<()> {
	let store = Served::start(1024).await?;
	let bytes = b"some bytes".to_vec();
	let id = ContentId::of(&bytes);

	// Not a CID; a CIDv0; a dag-pb CIDv1.
	for bad in [
		"not-a-cid",
		"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
		"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
	] {
		let (status, _, body) =
			store.request("PUT", &format!("/blobs/{bad}"), &[], bytes.clone()).await?;
		assert_eq!((status, json(&body)["error"].as_str()), (400, Some("bad_cid")), "{bad}");
		let (status, _, _) = store.request("GET", &format!("/blobs/{bad}"), &[], vec![]).await?;
		assert_eq!(status, 400);
	}

	// Bytes that are not the CID's: refused, named, nothing stored under it.
	let other = ContentId::of(b"other bytes");
	let (status, _, body) =
		store.request("PUT", &format!("/blobs/{other}"), &[], bytes.clone()).await?;
	let body = json(&body);
	assert_eq!(status, 422);
	assert_eq!(body["error"], "digest_mismatch");
	assert_eq!(body["expected"], other.to_string());
	assert_eq!(body["found"], id.to_string());
	assert!(!store.blob_path(&other).exists());

	// Over the cap, declared or not.
	let big = vec![7u8; 2048];
	let big_id = ContentId::of(&big);
	let (status, _, body) =
		store.request("PUT", &format!("/blobs/{big_id}"), &[], big.clone()).await?;
	assert_eq!(
		(status, json(&body)["error"].as_str(), json(&body)["max_bytes"].as_u64()),
		(413, Some("too_large"), Some(1024))
	);
	assert!(!store.blob_path(&big_id).exists());

	// Unknown.
	let (status, _, body) = store.request("GET", &format!("/blobs/{id}"), &[], vec![]).await?;
	assert_eq!((status, json(&body)["error"].as_str()), (404, Some("not_found")));
	let (status, _, _) = store.request("HEAD", &format!("/blobs/{id}"), &[], vec![]).await?;
	assert_eq!(status, 404);
	// Nothing was left half-written.
	assert_eq!(std::fs::read_dir(store.dir.path().join("tmp"))?.count(), 0);
	store.stop().await
}

#[tokio::test]
async fn a_blob_altered_on_disk_is_never_served_whole_and_is_moved_aside() -> Result<()> {
	let store = Served::start(8 << 20).await?;
	let client = StoreClient::new(&store.base);
	// Several read chunks long, so the damage is found after bytes have gone out.
	let bytes: Vec<u8> = (0..(3 << 20)).map(|i: u32| (i % 253) as u8).collect();
	let id = client.put_bytes(bytes.clone()).await?;
	let path = store.blob_path(&id);
	let mut on_disk = std::fs::read(&path)?;
	on_disk[(2 << 20) + 17] ^= 0xFF;
	std::fs::write(&path, &on_disk)?;

	let error = client.get_bytes(&id).await.expect_err("a corrupt blob must not download");
	assert!(format!("{error:#}").contains("broke off"), "{error:#}");
	// The raw response is cut short of its Content-Length: no client takes it for whole.
	assert!(!path.exists(), "the corrupt blob is moved aside");
	assert!(store.dir.path().join("corrupt").join(id.to_string()).exists());
	let (status, _, _) = store.request("GET", &format!("/blobs/{id}"), &[], vec![]).await?;
	assert_eq!(status, 404);
	// And it can be stored again from a good copy.
	assert_eq!(client.put_bytes(bytes.clone()).await?, id);
	assert_eq!(client.get_bytes(&id).await?, bytes);
	store.stop().await
}

#[tokio::test]
async fn a_large_blob_streams_through_in_bounded_memory() -> Result<()> {
	// 64 MiB through the store and back from files: neither side holds it in memory (the
	// 1 GiB figure and the store's RSS are in scripts/bench-data-plane.sh).
	let store = Served::start(1 << 30).await?;
	let client = StoreClient::new(&store.base);
	let dir = tempfile::tempdir()?;
	let file = dir.path().join("big");
	{
		use std::io::Write;
		let mut f = std::io::BufWriter::new(std::fs::File::create(&file)?);
		for i in 0..(64u32 << 4) {
			f.write_all(&[(i % 251) as u8; 64 << 10])?;
		}
	}
	let id = client.put_file(&file).await?;
	// Publishing the same file again (a second lambda on the same image) is a no-op, not a
	// broken upload: the store would answer before reading a body it already holds.
	assert_eq!(client.put_file(&file).await?, id);
	let back = dir.path().join("back");
	assert_eq!(client.get_file(&id, &back).await?, 64 << 20);
	assert_eq!(vouch_executor::store::client::cid_of_file(&back).await?, id);
	store.stop().await
}

#[tokio::test]
async fn an_upload_cut_off_midway_leaves_nothing_under_the_cid() -> Result<()> {
	let store = Served::start(1 << 20).await?;
	let bytes = vec![9u8; 100_000];
	let id = ContentId::of(&bytes);
	// Declare 100 000 bytes, send half, hang up.
	let addr = store.base.trim_start_matches("http://").to_string();
	{
		use tokio::io::AsyncWriteExt;
		let mut socket = tokio::net::TcpStream::connect(&addr).await?;
		let head =
			format!("PUT /blobs/{id} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 100000\r\n\r\n");
		socket.write_all(head.as_bytes()).await?;
		socket.write_all(&bytes[..50_000]).await?;
		socket.shutdown().await?;
	}
	// Let the server notice.
	for _ in 0..50 {
		if std::fs::read_dir(store.dir.path().join("tmp"))?.count() == 0 {
			break;
		}
		tokio::time::sleep(std::time::Duration::from_millis(20)).await;
	}
	assert!(!store.blob_path(&id).exists());
	assert_eq!(std::fs::read_dir(store.dir.path().join("tmp"))?.count(), 0);
	// A store reopened after a crash mid-upload clears what was in flight.
	std::fs::write(store.dir.path().join("tmp").join("crashed-upload"), b"partial")?;
	BlobStore::open(store.dir.path(), 1 << 20)?;
	assert_eq!(std::fs::read_dir(store.dir.path().join("tmp"))?.count(), 0);
	store.stop().await
}
