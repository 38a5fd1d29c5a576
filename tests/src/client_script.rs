//! Scripts of other clients (Node.js with @polkadot/api, Python with py-substrate-interface)
//! run against a node, each printing one JSON line last.

use std::{path::Path, time::Duration};

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::Node;

/// Runs `program script <node's ws url>` in `dir` (at most two minutes) and parses the last
/// line it printed as JSON; a failure carries its stderr and the node's log tail.
pub async fn run(program: &Path, script: &str, dir: &Path, node: &Node) -> Result<Value> {
	let mut command = tokio::process::Command::new(program);
	command.arg(script).arg(node.ws_url()).current_dir(dir).kill_on_drop(true);
	let out = tokio::time::timeout(Duration::from_secs(120), command.output())
		.await
		.with_context(|| format!("{script} did not finish within 2 minutes"))?
		.with_context(|| format!("running {}", program.display()))?;
	ensure!(
		out.status.success(),
		"{script} failed: {}\n{}",
		String::from_utf8_lossy(&out.stderr),
		node.log_tail()
	);
	let stdout = String::from_utf8(out.stdout)?;
	serde_json::from_str(stdout.lines().last().unwrap_or_default())
		.with_context(|| format!("{script} printed no JSON: {stdout}"))
}
