//! `vouch worker`: a worker registers either by itself (`vouch-executor run
//! --register-deposit`) or by its operator's `vouch worker register`, which reads the TPM's
//! evidence from the executor's attestation API; the other commands read and end a
//! registration, and `bootstrap` activates a dev chain's first workers.

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use vouch_client::{
	calls,
	reads::{self, WorkerStatus},
};

use super::{bad, exit, fail, parse_amount, ss58, vouch, who, Global};

#[derive(Subcommand)]
pub enum WorkerCommand {
	/// Registers your worker: reads its TPM's evidence (EK certificate, AK, sealing key
	/// certified for your account) from its executor's attestation API and submits it with
	/// the deposit, signed by your key. The executor must run as the same account
	/// (`vouch-executor run` without `--register-deposit`, which would register by itself).
	Register {
		/// The executor's attestation API (`vouch-executor run --api-listen`).
		#[arg(long, default_value = "http://127.0.0.1:8702")]
		api: String,
		/// The deposit to bond, in VOUCH (at least the chain's minimum).
		#[arg(long)]
		deposit: String,
		/// The endpoint other workers reach the API at (default `--api`).
		#[arg(long)]
		endpoint: Option<String>,
	},
	/// A worker's registration, credit and balance.
	Status {
		/// The worker (SS58); default yours.
		account: Option<String>,
	},
	/// Starts leaving: no new seats; the deposit unbonds (then `withdraw`).
	Deregister,
	/// Takes back the deposit once unbonded.
	Withdraw,
	/// On a dev chain, as root (`--suri //Alice`): activates the first registered worker
	/// (`force_activate`: no worker is active yet to verify its TPM), then waits until
	/// `--count` workers are active, the others activated by credential activation (their TPMs
	/// answering the active workers' challenges).
	Bootstrap {
		/// How many workers to wait for.
		#[arg(long)]
		count: usize,
		/// Seconds to wait for the node and the workers.
		#[arg(long, default_value_t = 300)]
		timeout_secs: u64,
	},
}

pub async fn run(global: &Global, command: WorkerCommand) -> Result<()> {
	match command {
		WorkerCommand::Status { account } => {
			let who = who(global, account)?;
			let chain = global.chain().await?;
			let at = chain.at_finalized().await?;
			let worker = reads::worker(&at, who).await?.ok_or_else(|| {
				fail(
					exit::NOT_FOUND,
					format!("{} is not a registered worker (`vouch worker register` or `vouch-executor run --register-deposit` registers one)", ss58(who)),
				)
			})?;
			let credit = reads::credit(&at, who).await?;
			let free = reads::free_balance(&at, who).await?;
			global.print(
				json!({ "account": ss58(who), "status": worker.status, "endpoint": worker.endpoint, "credit": credit, "free": vouch(free) }),
				|| {
					format!(
						"worker   {}\nstatus   {}\nendpoint {}\ncredit   {credit}\nfree     {} VOUCH",
						ss58(who),
						worker.status,
						worker.endpoint,
						vouch(free)
					)
				},
			);
			Ok(())
		},
		WorkerCommand::Deregister => {
			let keys = global.keys()?;
			let chain = global.chain().await?;
			chain.submit(&keys.account.signer, &calls::deregister()).await?;
			global.print(
				json!({ "account": ss58(keys.account.account()), "deregistered": true }),
				|| {
					"deregistered: no new seats; the deposit unbonds, then `vouch worker withdraw`"
						.into()
				},
			);
			Ok(())
		},
		WorkerCommand::Register { api, deposit, endpoint } => {
			let deposit = parse_amount("--deposit", &deposit)?;
			let keys = global.keys()?;
			let me = keys.account.account();
			let unreachable = |e: anyhow::Error| fail(exit::UNREACHABLE, format!("--api: {e:#}"));
			let found = vouch_client::attestation::ApiClient::new(&api)
				.map_err(|e| bad("--api", format!("{e:#}")))?
				.registration_evidence()
				.await
				.map_err(unreachable)?;
			if found.account != hex::encode(me) {
				let theirs = hex::decode(&found.account)
					.ok()
					.and_then(|b| <[u8; 32]>::try_from(b).ok())
					.map(ss58)
					.unwrap_or(found.account.clone());
				return Err(bad(
					"--api",
					format!("that executor's TPM evidence is bound to {theirs}, not to your {}: register with its account's key", ss58(me)),
				));
			}
			let chain = global.chain().await?;
			let existing = reads::worker(&chain.at_finalized().await?, me).await?;
			// A `Removed` record (withdrawn, expired, rejected) may register again.
			if let Some(worker) = existing.filter(|w| w.status != WorkerStatus::Removed) {
				return Err(fail(
					exit::ON_CHAIN,
					format!("{} is already registered ({})", ss58(me), worker.status),
				));
			}
			let endpoint = endpoint.unwrap_or_else(|| api.clone());
			chain
				.submit(&keys.account.signer, &calls::register(&found.evidence, &endpoint, deposit))
				.await?;
			let status = reads::worker(&chain.at_finalized().await?, me)
				.await?
				.map(|w| w.status.to_string())
				.unwrap_or_default();
			global.print(
				json!({ "account": ss58(me), "endpoint": endpoint, "deposit": vouch(deposit), "status": status }),
				|| {
					format!(
						"registered {} ({status}) with {} VOUCH bonded; active workers now challenge its TPM (credential activation)",
						ss58(me),
						vouch(deposit)
					)
				},
			);
			Ok(())
		},
		WorkerCommand::Bootstrap { count, timeout_secs } => {
			let keys = global.keys()?;
			let timeout = std::time::Duration::from_secs(timeout_secs);
			let chain = global.chain_within(timeout).await?;
			let bar = global.spinner(format!("waiting for {count} active workers"));
			vouch_client::demo::activate_workers(
				&chain,
				&keys.account.signer,
				count,
				vouch_client::demo::Activation::Bootstrap,
				timeout,
				|step| {
					bar.suspend(|| eprintln!("{step}"));
					bar.set_message(step.to_string());
				},
			)
			.await?;
			bar.finish_and_clear();
			let at = chain.at_finalized().await?;
			let active: Vec<_> = reads::workers(&at)
				.await?
				.into_iter()
				.filter(|(_, w)| w.status == WorkerStatus::Active)
				.map(|(who, _)| ss58(who))
				.collect();
			global
				.print(json!({ "active": active }), || format!("{} workers active", active.len()));
			Ok(())
		},
		WorkerCommand::Withdraw => {
			let keys = global.keys()?;
			let chain = global.chain().await?;
			chain.submit(&keys.account.signer, &calls::withdraw()).await?;
			global.print(
				json!({ "account": ss58(keys.account.account()), "withdrawn": true }),
				|| "the deposit is back in your free balance".into(),
			);
			Ok(())
		},
	}
}
