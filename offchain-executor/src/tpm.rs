//! The TPM service: the one place that touches the worker's TPM (tss-esapi). It provisions
//! the worker's keys once and persists them, then quotes, certifies and decrypts on request.
//!
//! A tss-esapi `Context` does blocking I/O and takes `&mut self`, so one dedicated thread owns
//! it and everything else talks to it through [`Tpm`], a cloneable handle that sends requests
//! over a channel: the async runtime never blocks on the TPM. Every transient object is flushed
//! after each request (swtpm holds only three, and has no resource manager).
//!
//! Keys: the EK (TCG default RSA-2048 template, recreated identically at every start), an AK
//! (ECC P-256, restricted signing) and a sealing key (RSA-2048 OAEP/SHA-256 decrypt), both
//! children of the EK, their public and private blobs kept in the worker's state file. The
//! sealing key has no password use (`userWithAuth` clear): its `authPolicy` is PolicyPCR over
//! the boot PCRs and the executor PCR at the values they had when it was made, after the
//! measured launch (`vouch_primitives::tpm::launch`), so it decrypts only in a policy session
//! while the TPM is in that state. The same code runs against hardware by changing only the
//! TCTI (`device:/dev/tpmrm0`).

use std::{path::PathBuf, str::FromStr};

use anyhow::{anyhow, bail, ensure, Context as _, Result};
use codec::{Decode, Encode};
use tokio::sync::{mpsc, oneshot};
use tss_esapi::{
	abstraction::{ak, ek, AsymmetricAlgorithmSelection},
	attributes::{ObjectAttributesBuilder, SessionAttributesBuilder},
	constants::{SessionType, Tss2ResponseCode},
	handles::PcrHandle,
	handles::{AuthHandle, KeyHandle, SessionHandle},
	interface_types::{
		algorithm::{
			HashingAlgorithm, PublicAlgorithm, RsaSchemeAlgorithm, SignatureSchemeAlgorithm,
		},
		ecc::EccCurve,
		key_bits::RsaKeyBits,
		session_handles::{AuthSession, PolicySession},
	},
	structures::{
		Data, Digest, DigestValues, EncryptedSecret, HashScheme, IdObject, PcrSelectionList,
		PcrSelectionListBuilder, PcrSlot, Private, Public, PublicBuffer, PublicBuilder,
		PublicKeyRsa, PublicRsaParametersBuilder, RsaDecryptionScheme, RsaExponent, RsaScheme,
		SignatureScheme, SymmetricDefinition,
	},
	tcti_ldr::TctiNameConf,
	traits::{Marshall, UnMarshall},
	Context, Error as TssError, WrapperErrorKind,
};
use vouch_primitives::tpm::{
	launch::{policy_pcr, EXECUTOR_PCR, QUOTED_PCRS, QUOTED_PCR_SELECT},
	verify::pcr_digest,
};

// The OAEP label of sealed keys lives with the envelope format, which every sealing client
// uses.
use vouch_primitives::{envelope::sealed_key_label, TaskId};

/// The keys a worker keeps between starts: public areas (TPM2B_PUBLIC) and private blobs,
/// which only this TPM can load.
#[derive(Clone, Debug, Encode, Decode)]
struct KeyBlobs {
	ak_public: Vec<u8>,
	ak_private: Vec<u8>,
	sealing_public: Vec<u8>,
	sealing_private: Vec<u8>,
}

/// The public identity of a worker's TPM: what registration submits.
#[derive(Clone, Debug)]
pub struct Identity {
	/// The EK certificate (DER), read from the TPM's NV storage.
	pub ek_cert: Vec<u8>,
	/// The EK public area (TPM2B_PUBLIC).
	pub ek_public: Vec<u8>,
	/// The AK public area (TPM2B_PUBLIC).
	pub ak_public: Vec<u8>,
	/// The sealing key's public area (TPM2B_PUBLIC).
	pub sealing_public: Vec<u8>,
}

/// A signed TPM statement: TPMS_ATTEST and its TPMT_SIGNATURE.
#[derive(Clone, Debug)]
pub struct Signed {
	/// What the TPM signed (TPMS_ATTEST).
	pub attest: Vec<u8>,
	/// The AK's signature (TPMT_SIGNATURE).
	pub signature: Vec<u8>,
}

/// Where the TPM is and where its keys are kept.
#[derive(Clone, Debug)]
pub struct TpmConfig {
	/// The TCTI: `swtpm:host=127.0.0.1,port=2321`, or `device:/dev/tpmrm0` on hardware.
	pub tcti: String,
	/// The file holding the AK's and sealing key's blobs (made on first start).
	pub key_file: PathBuf,
}

enum Request {
	Identity(oneshot::Sender<Result<Identity>>),
	Certify(Vec<u8>, oneshot::Sender<Result<Signed>>),
	Quote(Vec<u8>, oneshot::Sender<Result<Signed>>),
	PcrValues(oneshot::Sender<Result<Vec<[u8; 32]>>>),
	Extend([u8; 32], oneshot::Sender<Result<()>>),
	Decrypt(String, Vec<u8>, oneshot::Sender<Result<Vec<u8>>>),
	DecryptWithPassword(String, Vec<u8>, oneshot::Sender<Result<Vec<u8>>>),
	Encrypt(String, Vec<u8>, oneshot::Sender<Result<Vec<u8>>>),
	Activate(Vec<u8>, Vec<u8>, oneshot::Sender<Result<CredentialAnswer>>),
}

/// Whether a TPM response code says "not now" (memory, sessions, rate, lockout, retry): the
/// command may succeed later, so it proves nothing about what was asked.
fn transient(code: Tss2ResponseCode) -> bool {
	use tss_esapi::constants::Tss2ResponseCodeKind as K;
	matches!(
		code.kind(),
		Some(
			K::ContextGap
				| K::ObjectMemory
				| K::SessionMemory
				| K::Memory | K::SessionHandles
				| K::ObjectHandles
				| K::Yielded | K::Canceled
				| K::Testing | K::NvRate
				| K::Lockout | K::Retry
				| K::NvUnavailable
		)
	)
}

/// What the TPM made of a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialAnswer {
	/// `TPM2_ActivateCredential` returned the credential's secret.
	Secret(Vec<u8>),
	/// The TPM refused the credential (an error response that is not a passing condition,
	/// the TPM still well), or its bytes are not TPM2Bs at all: not a credential for this
	/// TPM's EK and AK. Why, as the TPM said it.
	Refused(String),
}

/// A handle on the TPM service; clone it freely.
#[derive(Clone)]
pub struct Tpm {
	requests: mpsc::Sender<Request>,
}

impl Tpm {
	/// Starts the service: connects to the TPM, provisions the keys if the key file does not
	/// exist yet (and writes it), and serves requests until every handle is dropped.
	pub async fn start(config: TpmConfig) -> Result<Self> {
		let (requests, mut incoming) = mpsc::channel::<Request>(16);
		let (ready, started) = oneshot::channel();
		std::thread::Builder::new().name("tpm".into()).spawn(move || {
			let mut service = match Service::open(&config) {
				Ok(service) => {
					let _ = ready.send(Ok(()));
					service
				},
				Err(e) => {
					let _ = ready.send(Err(e));
					return;
				},
			};
			while let Some(request) = incoming.blocking_recv() {
				service.serve(request);
			}
			tracing::debug!("TPM service stopped");
		})?;
		started.await.map_err(|_| anyhow!("the TPM thread died while starting"))??;
		Ok(Self { requests })
	}

	async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Request) -> Result<T> {
		let (reply, answer) = oneshot::channel();
		self.requests.send(make(reply)).await.map_err(|_| anyhow!("the TPM service stopped"))?;
		answer.await.map_err(|_| anyhow!("the TPM service dropped a request"))?
	}

	/// The EK certificate and the public areas of the EK, AK and sealing key.
	pub async fn identity(&self) -> Result<Identity> {
		self.ask(Request::Identity).await
	}

	/// `TPM2_Certify` of the sealing key by the AK, with `nonce` as qualifying data.
	pub async fn certify_sealing_key(&self, nonce: Vec<u8>) -> Result<Signed> {
		self.ask(|reply| Request::Certify(nonce, reply)).await
	}

	/// `TPM2_Quote` of the boot PCRs and the executor PCR by the AK, with `nonce` as
	/// qualifying data.
	pub async fn quote(&self, nonce: Vec<u8>) -> Result<Signed> {
		self.ask(|reply| Request::Quote(nonce, reply)).await
	}

	/// The current values of the quoted PCRs (`QUOTED_PCRS`: the boot PCRs, then the
	/// executor PCR).
	pub async fn pcrs(&self) -> Result<Vec<[u8; 32]>> {
		self.ask(Request::PcrValues).await
	}

	/// Extends the executor PCR with `digest`: what a measured launch does, and what any
	/// other program on the host can do too (after which the sealing key no longer opens).
	pub async fn extend_executor_pcr(&self, digest: [u8; 32]) -> Result<()> {
		self.ask(|reply| Request::Extend(digest, reply)).await
	}

	/// Decrypts, inside the TPM, the key released for `slot` of `task` and sealed to this
	/// TPM's sealing key (RSA-OAEP-SHA256 with the label of that task and slot,
	/// `vouch_primitives::envelope::sealed_key_label`). A key sealed for another task or slot
	/// fails here, as one sealed to another TPM does.
	pub async fn unseal(&self, task: TaskId, slot: u32, ciphertext: Vec<u8>) -> Result<Vec<u8>> {
		let label = sealed_key_label(task, slot);
		self.ask(|reply| Request::Decrypt(label, ciphertext, reply)).await
	}

	/// What any program with access to the TPM and the key file can try, as
	/// `tpm2_rsadecrypt` with an empty password does: `TPM2_RSA_Decrypt` of a sealed key
	/// authorised by the sealing key's (empty) password instead of its policy. The TPM
	/// refuses: the key has `userWithAuth` clear. The executor never calls it; the tests
	/// show the refusal with it.
	pub async fn unseal_with_password(
		&self,
		task: TaskId,
		slot: u32,
		ciphertext: Vec<u8>,
	) -> Result<Vec<u8>> {
		let label = sealed_key_label(task, slot);
		self.ask(|reply| Request::DecryptWithPassword(label, ciphertext, reply)).await
	}

	/// `TPM2_ActivateCredential` with the AK and the EK: the secret of a credential made for
	/// this TPM's EK and `Name(AK)` (`vouch_primitives::tpm::credential`). Both arguments are
	/// TPM2Bs. A credential made for any other EK or name is [`CredentialAnswer::Refused`]; an
	/// error is a failure to ask (the TPM unreachable, out of memory), which may pass.
	pub async fn activate_credential(
		&self,
		credential_blob: Vec<u8>,
		encrypted_secret: Vec<u8>,
	) -> Result<CredentialAnswer> {
		self.ask(|reply| Request::Activate(credential_blob, encrypted_secret, reply)).await
	}

	/// Seals `secret` for `slot` of `task` to this TPM's own sealing key, with the TPM doing
	/// the public-key operation that a key owner's client does off-TPM: for self-tests and
	/// benchmarks.
	pub async fn seal_for_self(&self, task: TaskId, slot: u32, secret: Vec<u8>) -> Result<Vec<u8>> {
		let label = sealed_key_label(task, slot);
		self.ask(|reply| Request::Encrypt(label, secret, reply)).await
	}
}

/// The thread-side of the service: the context, the EK (kept loaded: recreating an RSA
/// primary key costs tens of milliseconds) and the children's blobs.
struct Service {
	ctx: Context,
	ek: KeyHandle,
	blobs: KeyBlobs,
}

fn ek_selection() -> AsymmetricAlgorithmSelection {
	AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048)
}

/// The PCRs quoted and bound into the sealing key's policy
/// (`vouch_primitives::tpm::launch::QUOTED_PCRS`), as tss-esapi selects them.
fn quoted_pcrs() -> Result<PcrSelectionList> {
	selection(&QUOTED_PCRS)
}

/// The SHA-256 PCRs `pcrs`, as tss-esapi selects them.
fn selection(pcrs: &[u8]) -> Result<PcrSelectionList> {
	let slots = pcrs
		.iter()
		.map(|n| PcrSlot::try_from(1u32 << n))
		.collect::<std::result::Result<Vec<_>, _>>()?;
	Ok(PcrSelectionListBuilder::new().with_selection(HashingAlgorithm::Sha256, &slots).build()?)
}

fn tpm2b(public: &Public) -> Result<Vec<u8>> {
	Ok(PublicBuffer::try_from(public.clone())?.marshall()?)
}

fn from_tpm2b(bytes: &[u8]) -> Result<Public> {
	Ok(Public::try_from(PublicBuffer::unmarshall(bytes)?)?)
}

/// The sealing key's template: RSA-2048, OAEP/SHA-256, decrypt only, bound to this TPM, and
/// usable only through `policy` (no password use: `userWithAuth` clear).
fn sealing_template(policy: [u8; 32]) -> Result<Public> {
	let attributes = ObjectAttributesBuilder::new()
		.with_fixed_tpm(true)
		.with_fixed_parent(true)
		.with_sensitive_data_origin(true)
		.with_user_with_auth(false)
		.with_decrypt(true)
		.with_sign_encrypt(false)
		.with_restricted(false)
		.build()?;
	let parameters = PublicRsaParametersBuilder::new()
		.with_scheme(RsaScheme::create(RsaSchemeAlgorithm::Oaep, Some(HashingAlgorithm::Sha256))?)
		.with_key_bits(RsaKeyBits::Rsa2048)
		.with_exponent(RsaExponent::default())
		.with_is_signing_key(false)
		.with_is_decryption_key(true)
		.with_restricted(false)
		.build()?;
	Ok(PublicBuilder::new()
		.with_public_algorithm(PublicAlgorithm::Rsa)
		.with_name_hashing_algorithm(HashingAlgorithm::Sha256)
		.with_object_attributes(attributes)
		.with_auth_policy(Digest::try_from(policy.to_vec())?)
		.with_rsa_parameters(parameters)
		.with_rsa_unique_identifier(PublicKeyRsa::default())
		.build()?)
}

/// Runs `f` with a PolicySecret(endorsement) session: what the EK's policy asks of anyone
/// using it as a parent (creating or loading a child).
fn with_ek_policy<T>(
	ctx: &mut Context,
	f: impl FnOnce(&mut Context) -> tss_esapi::Result<T>,
) -> tss_esapi::Result<T> {
	with_ek_session(ctx, |ctx, session| ctx.execute_with_session(Some(session), f))
}

/// Runs `f` with a fresh policy session satisfied by PolicySecret(endorsement), flushed after.
fn with_ek_session<T>(
	ctx: &mut Context,
	f: impl FnOnce(&mut Context, AuthSession) -> tss_esapi::Result<T>,
) -> tss_esapi::Result<T> {
	with_policy_session(ctx, |ctx, session| {
		ctx.execute_with_nullauth_session(|ctx| {
			ctx.policy_secret(
				PolicySession::try_from(session)?,
				AuthHandle::Endorsement,
				Default::default(),
				Default::default(),
				Default::default(),
				None,
			)
		})?;
		f(ctx, session)
	})
}

/// Runs `f` with a fresh, empty policy session (`f` satisfies its policy), flushed after.
fn with_policy_session<T>(
	ctx: &mut Context,
	f: impl FnOnce(&mut Context, AuthSession) -> tss_esapi::Result<T>,
) -> tss_esapi::Result<T> {
	let session = ctx
		.start_auth_session(
			None,
			None,
			None,
			SessionType::Policy,
			SymmetricDefinition::AES_128_CFB,
			HashingAlgorithm::Sha256,
		)?
		.ok_or(TssError::WrapperError(WrapperErrorKind::WrongValueFromTpm))?;
	let (attributes, mask) =
		SessionAttributesBuilder::new().with_decrypt(true).with_encrypt(true).build();
	ctx.tr_sess_set_attributes(session, attributes, mask)?;
	ctx.execute_with_temporary_object(SessionHandle::from(session).into(), |ctx, _| f(ctx, session))
}

/// The values of the quoted PCRs (`QUOTED_PCRS` order). A read returns at most eight
/// digests, so the boot PCRs and the executor PCR are read apart.
fn read_pcrs(ctx: &mut Context) -> Result<Vec<[u8; 32]>> {
	let (boot, executor) = QUOTED_PCRS.split_at(QUOTED_PCRS.len() - 1);
	let mut values = Vec::with_capacity(QUOTED_PCRS.len());
	for part in [boot, executor] {
		let asked = selection(part)?;
		let (_, selected, digests) =
			ctx.execute_without_session(|ctx| ctx.pcr_read(asked.clone()))?;
		if selected != asked || digests.value().len() != part.len() {
			bail!("the TPM returned another PCR selection than asked");
		}
		for d in digests.value() {
			values
				.push(d.value().try_into().map_err(|_| anyhow!("a SHA-256 PCR is not 32 bytes"))?);
		}
	}
	Ok(values)
}

/// The PolicyPCR digest of the TPM's current state: what a sealing key made now is bound to.
fn current_policy(ctx: &mut Context) -> Result<[u8; 32]> {
	Ok(policy_pcr(&QUOTED_PCR_SELECT, &pcr_digest(&read_pcrs(ctx)?)))
}

/// The `authPolicy` of a sealing key's public area (TPM2B_PUBLIC).
fn sealing_policy_of(tpm2b_public: &[u8]) -> Result<[u8; 32]> {
	let public = vouch_primitives::tpm::public::Public::from_tpm2b(tpm2b_public)
		.map_err(|e| anyhow!("the stored sealing key does not parse: {e:?}"))?;
	Ok(public.auth_policy.try_into().unwrap_or([0; 32]))
}

/// Extends the executor PCR's SHA-256 bank with `digest`.
fn extend_executor_pcr(ctx: &mut Context, digest: [u8; 32]) -> Result<()> {
	let mut values = DigestValues::new();
	values.set(HashingAlgorithm::Sha256, Digest::try_from(digest.to_vec())?);
	let pcr = match EXECUTOR_PCR {
		11 => PcrHandle::Pcr11,
		other => bail!("no PCR handle for PCR {other}"),
	};
	ctx.execute_with_session(Some(AuthSession::Password), |ctx| ctx.pcr_extend(pcr, values))
		.context("extending the executor PCR")?;
	Ok(())
}

/// The measured launch's TPM side, without the service (which makes keys bound to the state
/// and so must start after it): reads the quoted PCRs and extends the executor PCR.
pub struct LaunchTpm {
	ctx: Context,
}

impl LaunchTpm {
	/// Connects to the TPM at `tcti`.
	pub fn open(tcti: &str) -> Result<Self> {
		let tcti =
			TctiNameConf::from_str(tcti).with_context(|| format!("TCTI {tcti:?} is not valid"))?;
		let ctx = Context::new(tcti).context("connecting to the TPM")?;
		Ok(Self { ctx })
	}

	/// The quoted PCRs' values: the boot PCRs, then the executor PCR.
	pub fn pcrs(&mut self) -> Result<Vec<[u8; 32]>> {
		read_pcrs(&mut self.ctx)
	}

	/// Extends the executor PCR with `digest`.
	pub fn extend(&mut self, digest: [u8; 32]) -> Result<()> {
		extend_executor_pcr(&mut self.ctx, digest)
	}
}

/// The contents of a TPM2B (its 2-byte size checked).
fn tpm2b_contents(bytes: &[u8]) -> Result<Vec<u8>> {
	let (size, rest) = bytes.split_first_chunk::<2>().context("shorter than a TPM2B size")?;
	ensure!(usize::from(u16::from_be_bytes(*size)) == rest.len(), "a TPM2B of the wrong size");
	Ok(rest.to_vec())
}

impl Service {
	fn open(config: &TpmConfig) -> Result<Self> {
		let tcti = TctiNameConf::from_str(&config.tcti)
			.with_context(|| format!("TCTI {:?} is not valid", config.tcti))?;
		let mut ctx = Context::new(tcti)
			.with_context(|| format!("connecting to the TPM at {:?}", config.tcti))?;
		// Made once per start and kept loaded: recreating an RSA primary key is slow.
		let ek =
			ek::create_ek_object_2(&mut ctx, ek_selection(), None).context("creating the EK")?;
		// The sealing key is bound to the state the TPM is in now: after the measured launch.
		let policy = current_policy(&mut ctx)?;
		let save = |blobs: &KeyBlobs| -> Result<()> {
			if let Some(dir) = config.key_file.parent() {
				std::fs::create_dir_all(dir)?;
			}
			std::fs::write(&config.key_file, blobs.encode())
				.with_context(|| format!("writing {}", config.key_file.display()))
		};
		let blobs = match std::fs::read(&config.key_file) {
			Ok(bytes) => {
				let mut blobs = KeyBlobs::decode(&mut &bytes[..]).with_context(|| {
					format!("{} is not a Vouch TPM key file", config.key_file.display())
				})?;
				if sealing_policy_of(&blobs.sealing_public)? != policy {
					// Another launch (another executor build) than the key was made for: it
					// could never open a released key here. A new one must be registered.
					let (public, private) = Self::create_sealing_key(&mut ctx, ek, policy)?;
					(blobs.sealing_public, blobs.sealing_private) = (public, private);
					save(&blobs)?;
					tracing::warn!(file = %config.key_file.display(), "the TPM is in another launch state than the sealing key was made for: made a new sealing key (the worker must register it)");
				}
				blobs
			},
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				let blobs = Self::provision(&mut ctx, ek, policy)?;
				save(&blobs)?;
				tracing::info!(file = %config.key_file.display(), "provisioned the TPM's AK and sealing key");
				blobs
			},
			Err(e) => {
				return Err(e).with_context(|| format!("reading {}", config.key_file.display()))
			},
		};
		Ok(Self { ctx, ek, blobs })
	}

	/// Creates a sealing key under the (loaded) EK with `policy` as its `authPolicy`.
	fn create_sealing_key(
		ctx: &mut Context,
		ek: KeyHandle,
		policy: [u8; 32],
	) -> Result<(Vec<u8>, Vec<u8>)> {
		let template = sealing_template(policy)?;
		let sealing = with_ek_policy(ctx, |ctx| ctx.create(ek, template, None, None, None, None))
			.context("creating the sealing key")?;
		Ok((tpm2b(&sealing.out_public)?, sealing.out_private.value().to_vec()))
	}

	/// Creates the AK and the sealing key under the (loaded) EK.
	fn provision(ctx: &mut Context, ek: KeyHandle, policy: [u8; 32]) -> Result<KeyBlobs> {
		(|| -> Result<KeyBlobs> {
			let ak = ak::create_ak_2(
				ctx,
				ek,
				HashingAlgorithm::Sha256,
				AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP256),
				SignatureSchemeAlgorithm::EcDsa,
				None,
				None,
			)
			.context("creating the AK")?;
			let (sealing_public, sealing_private) = Self::create_sealing_key(ctx, ek, policy)?;
			Ok(KeyBlobs {
				ak_public: tpm2b(&ak.out_public)?,
				ak_private: ak.out_private.value().to_vec(),
				sealing_public,
				sealing_private,
			})
		})()
	}

	/// Runs `f` with the requested children of the EK loaded, then flushes them.
	fn with_keys<T>(
		&mut self,
		load_ak: bool,
		load_sealing: bool,
		f: impl FnOnce(&mut Context, KeyHandle, Option<KeyHandle>, Option<KeyHandle>) -> Result<T>,
	) -> Result<T> {
		let ctx = &mut self.ctx;
		let ek = self.ek;
		let mut loaded = Vec::new();
		let result = (|| -> Result<T> {
			let ak = if load_ak {
				let public = from_tpm2b(&self.blobs.ak_public)?;
				let private = Private::try_from(self.blobs.ak_private.clone())?;
				let handle =
					ak::load_ak(ctx, ek, None, private, public).context("loading the AK")?;
				loaded.push(handle);
				Some(handle)
			} else {
				None
			};
			let sealing = if load_sealing {
				let public = from_tpm2b(&self.blobs.sealing_public)?;
				let private = Private::try_from(self.blobs.sealing_private.clone())?;
				let handle = with_ek_policy(ctx, |ctx| ctx.load(ek, private, public))
					.context("loading the sealing key")?;
				loaded.push(handle);
				Some(handle)
			} else {
				None
			};
			f(ctx, ek, ak, sealing)
		})();
		for handle in loaded {
			if let Err(e) = ctx.flush_context(handle.into()) {
				tracing::warn!(error = %e, "could not flush a TPM object");
			}
		}
		result
	}

	fn serve(&mut self, request: Request) {
		match request {
			Request::Identity(reply) => {
				let _ = reply.send(self.identity());
			},
			Request::Certify(nonce, reply) => {
				let _ = reply.send(self.certify(nonce));
			},
			Request::Quote(nonce, reply) => {
				let _ = reply.send(self.quote(nonce));
			},
			Request::PcrValues(reply) => {
				let _ = reply.send(read_pcrs(&mut self.ctx));
			},
			Request::Extend(digest, reply) => {
				let _ = reply.send(extend_executor_pcr(&mut self.ctx, digest));
			},
			Request::Decrypt(label, ciphertext, reply) => {
				let _ = reply.send(self.decrypt(&label, ciphertext));
			},
			Request::DecryptWithPassword(label, ciphertext, reply) => {
				let _ = reply.send(self.decrypt_with_password(&label, ciphertext));
			},
			Request::Encrypt(label, secret, reply) => {
				let _ = reply.send(self.encrypt(&label, secret));
			},
			Request::Activate(blob, secret, reply) => {
				let _ = reply.send(self.activate_credential(blob, secret));
			},
		}
	}

	fn identity(&mut self) -> Result<Identity> {
		let (ak_public, sealing_public) =
			(self.blobs.ak_public.clone(), self.blobs.sealing_public.clone());
		self.with_keys(false, false, |ctx, ek_handle, _, _| {
			let (ek_public, _, _) = ctx.read_public(ek_handle)?;
			let ek_cert = ek::retrieve_ek_pubcert(ctx, ek_selection()).context(
				"reading the EK certificate from NV (was the TPM provisioned with one?)",
			)?;
			Ok(Identity { ek_cert, ek_public: tpm2b(&ek_public)?, ak_public, sealing_public })
		})
	}

	fn certify(&mut self, nonce: Vec<u8>) -> Result<Signed> {
		self.with_keys(true, true, |ctx, _, ak, sealing| {
			let (ak, sealing) = (ak.expect("loaded"), sealing.expect("loaded"));
			let nonce = Data::try_from(nonce)?;
			let (attest, signature) = ctx.execute_with_sessions(
				(Some(AuthSession::Password), Some(AuthSession::Password), None),
				|ctx| ctx.certify(sealing.into(), ak, nonce, SignatureScheme::Null),
			)?;
			Ok(Signed { attest: attest.marshall()?, signature: signature.marshall()? })
		})
	}

	fn quote(&mut self, nonce: Vec<u8>) -> Result<Signed> {
		let pcrs = quoted_pcrs()?;
		self.with_keys(true, false, |ctx, _, ak, _| {
			let nonce = Data::try_from(nonce)?;
			let (attest, signature) = ctx
				.execute_with_session(Some(AuthSession::Password), |ctx| {
					ctx.quote(ak.expect("loaded"), nonce, SignatureScheme::Null, pcrs)
				})?;
			Ok(Signed { attest: attest.marshall()?, signature: signature.marshall()? })
		})
	}

	fn activate_credential(&mut self, blob: Vec<u8>, secret: Vec<u8>) -> Result<CredentialAnswer> {
		let parsed = tpm2b_contents(&blob)
			.context("the credential blob is not a TPM2B")
			.and_then(|b| Ok(IdObject::try_from(b)?))
			.and_then(|blob| {
				let secret =
					tpm2b_contents(&secret).context("the encrypted secret is not a TPM2B")?;
				Ok((blob, EncryptedSecret::try_from(secret)?))
			});
		let (blob, secret) = match parsed {
			Ok(parsed) => parsed,
			Err(e) => return Ok(CredentialAnswer::Refused(format!("{e:#}"))),
		};
		self.with_keys(true, false, |ctx, ek, ak, _| {
			// Session 1 authorises the AK (no password), session 2 the EK (its policy).
			let answer = with_ek_session(ctx, |ctx, policy| {
				ctx.execute_with_sessions(
					(Some(AuthSession::Password), Some(policy), None),
					|ctx| ctx.activate_credential(ak.expect("loaded"), ek, blob, secret),
				)
			});
			match answer {
				Ok(answer) => Ok(CredentialAnswer::Secret(answer.value().to_vec())),
				// The TPM answered with an error that is not a passing condition (a parameter's
				// integrity or value, or, as libtpms reports a seed that does not decrypt,
				// TPM_RC_FAILURE). If it still answers a harmless command, it is well and it
				// refused this credential; if not, the TPM (or the way to it) failed.
				Err(e @ TssError::Tss2Error(code)) if !transient(code) => match ctx.get_random(8) {
					Ok(_) => Ok(CredentialAnswer::Refused(e.to_string())),
					Err(_) => Err(anyhow!(e).context("the TPM failed activating a credential")),
				},
				Err(e) => Err(anyhow!(e).context("asking the TPM to activate a credential")),
			}
		})
	}

	fn encrypt(&mut self, label: &str, secret: Vec<u8>) -> Result<Vec<u8>> {
		self.with_keys(false, true, |ctx, _, _, sealing| {
			let label = Data::try_from(label.as_bytes().to_vec())?;
			let sealed = ctx.execute_without_session(|ctx| {
				ctx.rsa_encrypt(
					sealing.expect("loaded"),
					PublicKeyRsa::try_from(secret)?,
					RsaDecryptionScheme::Oaep(HashScheme::new(HashingAlgorithm::Sha256)),
					label,
				)
			})?;
			Ok(sealed.value().to_vec())
		})
	}

	fn decrypt_with_password(&mut self, label: &str, ciphertext: Vec<u8>) -> Result<Vec<u8>> {
		self.with_keys(false, true, |ctx, _, _, sealing| {
			let label = Data::try_from(label.as_bytes().to_vec())?;
			let plain = ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
				ctx.rsa_decrypt(
					sealing.expect("loaded"),
					PublicKeyRsa::try_from(ciphertext)?,
					RsaDecryptionScheme::Oaep(HashScheme::new(HashingAlgorithm::Sha256)),
					label,
				)
			})?;
			Ok(plain.value().to_vec())
		})
	}

	/// Decrypts in a policy session satisfied by PolicyPCR over the quoted PCRs: the TPM
	/// refuses unless they hold the values the sealing key was made for.
	fn decrypt(&mut self, label: &str, ciphertext: Vec<u8>) -> Result<Vec<u8>> {
		let selection = quoted_pcrs()?;
		self.with_keys(false, true, |ctx, _, _, sealing| {
			let label = Data::try_from(label.as_bytes().to_vec())?;
			let plain = with_policy_session(ctx, |ctx, session| {
				ctx.execute_with_nullauth_session(|ctx| {
					ctx.policy_pcr(
						PolicySession::try_from(session)?,
						Digest::default(),
						selection.clone(),
					)
				})?;
				ctx.execute_with_session(Some(session), |ctx| {
					ctx.rsa_decrypt(
						sealing.expect("loaded"),
						PublicKeyRsa::try_from(ciphertext)?,
						RsaDecryptionScheme::Oaep(HashScheme::new(HashingAlgorithm::Sha256)),
						label,
					)
				})
			})
			.context(
				"the TPM refused to decrypt: not sealed to this TPM's key for this task and slot, \
				 or the TPM is not in the launch state the key is bound to",
			)?;
			Ok(plain.value().to_vec())
		})
	}
}
