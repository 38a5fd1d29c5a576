//! `vouch build`: the chain's allowed-build list, which every worker's measured launch is
//! checked against (DESIGN §5.1). Root allows what an operator reproduced: an executor build
//! (`scripts/reproducible-build.sh`), the job runtime's binaries and its sandbox
//! configuration, as `vouch-executor measure --json` prints them.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use vouch_client::{
	calls,
	launch_log::{self, LaunchLog, Measurement},
	reads,
};

use super::{bad, exit, fail, Global};

#[derive(Subcommand)]
pub enum BuildCommand {
	/// The allowed builds: kind, SHA-256 and label.
	List,
	/// As root (`--suri //Alice` on a dev chain): allows builds in launch logs, in one
	/// transaction: every entry of `--from` (`vouch-executor measure --json`, or a worker's
	/// launch log), or the one `--digest`.
	Allow {
		/// A JSON list of measurements (`kind`, `digest`, `what`) or a launch log.
		#[arg(long, conflicts_with = "digest")]
		from: Option<PathBuf>,
		/// One build's SHA-256 (hex).
		#[arg(long, requires_all = ["kind", "label"])]
		digest: Option<String>,
		/// With `--digest`: `executor`, `job-runtime`, `sandbox-config` or `os`.
		#[arg(long)]
		kind: Option<String>,
		/// With `--digest`: what it is, for people (the chain keeps 128 bytes of it).
		#[arg(long)]
		label: Option<String>,
	},
	/// As root: revokes an allowed build; workers whose launch measured it take no new seats.
	Revoke {
		/// The build's SHA-256 (hex).
		digest: String,
	},
}

/// `--from`: the entries `vouch-executor measure --json` prints, or a whole launch log.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Measured {
	List(Vec<Measurement>),
	Log(LaunchLog),
}

fn digest(flag: &str, text: &str) -> Result<[u8; 32]> {
	let bytes = hex::decode(text.trim_start_matches("0x"))
		.map_err(|e| bad(flag, format!("{text:?} is not hex: {e}")))?;
	bytes.try_into().map_err(|_| bad(flag, "a SHA-256 digest is 32 bytes"))
}

fn label(flag: &str, text: &str) -> Result<String> {
	if text.is_empty() {
		return Err(bad(flag, "a label may not be empty"));
	}
	Ok(text.to_string())
}

type Kind = vouch_client::runtime::runtime_types::pallet_vouch_registry::tpm::BuildKind;

fn kind(flag: &str, name: &str) -> Result<Kind> {
	calls::build_kind(name).ok_or_else(|| {
		bad(flag, format!("{name:?} is not executor, job-runtime, sandbox-config or os"))
	})
}

pub async fn run(global: &Global, command: BuildCommand) -> Result<()> {
	match command {
		BuildCommand::List => {
			let chain = global.chain().await?;
			let builds = reads::allowed_builds(&chain.at_finalized().await?).await?;
			global.print(json!(builds), || {
				if builds.is_empty() {
					return "no build is allowed: no worker can register".into();
				}
				builds
					.iter()
					.map(|b| format!("{:<14} {} {}", b.kind, b.digest, b.label))
					.collect::<Vec<_>>()
					.join("\n")
			});
			Ok(())
		},
		BuildCommand::Allow { from, digest: one, kind: one_kind, label: one_label } => {
			let builds = match (from, one) {
				(Some(path), _) => {
					let text = std::fs::read_to_string(&path)
						.map_err(|e| bad("--from", format!("{}: {e}", path.display())))?;
					let list = match serde_json::from_str::<Measured>(&text) {
						Ok(Measured::List(list)) => list,
						Ok(Measured::Log(log)) => log.entries,
						Err(e) => {
							return Err(bad(
								"--from",
								format!("{} is not a list of measurements: {e}", path.display()),
							))
						},
					};
					launch_log::builds(&list).map_err(|e| bad("--from", format!("{e:#}")))?
				},
				(None, Some(one)) => vec![(
					digest("--digest", &one)?,
					kind("--kind", one_kind.as_deref().unwrap_or_default())?,
					label("--label", one_label.as_deref().unwrap_or_default())?,
				)],
				(None, None) => return Err(bad("--from", "give --from FILE or --digest")),
			};
			let keys = global.keys()?;
			// Often run right after the node starts (`scripts/run-dev.sh`): wait for it.
			let chain = global.chain_within(std::time::Duration::from_secs(120)).await?;
			chain.submit(&keys.account.signer, &calls::sudo_allow_builds(&builds)).await?;
			let allowed: Vec<_> = builds
				.iter()
				.map(|(d, _, l)| json!({ "digest": hex::encode(d), "label": l }))
				.collect();
			global.print(json!({ "allowed": allowed }), || {
				builds
					.iter()
					.map(|(d, _, l)| format!("allowed {} {l}", hex::encode(d)))
					.collect::<Vec<_>>()
					.join("\n")
			});
			Ok(())
		},
		BuildCommand::Revoke { digest: text } => {
			let digest = digest("DIGEST", &text)?;
			let keys = global.keys()?;
			let chain = global.chain().await?;
			let at = chain.at_finalized().await?;
			if !reads::allowed_builds(&at).await?.iter().any(|b| b.digest == hex::encode(digest)) {
				return Err(fail(exit::NOT_FOUND, format!("{text} is not an allowed build")));
			}
			chain.submit(&keys.account.signer, &calls::sudo_revoke_build(digest)).await?;
			global.print(json!({ "revoked": hex::encode(digest) }), || {
				format!(
					"revoked {}: workers whose launch measured it take no new seats",
					hex::encode(digest)
				)
			});
			Ok(())
		},
	}
}
