//! The committed chain specs are what the node generates from the runtime's presets.

use std::process::Command;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use vouch_tests::node_binary;

/// The spec the node exports for `chain`, as JSON.
fn generated(chain: &str) -> Result<Value> {
	let out = Command::new(node_binary())
		.args(["export-chain-spec", "--chain", chain])
		.output()
		.context("running vouch-node export-chain-spec")?;
	ensure!(
		out.status.success(),
		"export-chain-spec failed: {}",
		String::from_utf8_lossy(&out.stderr)
	);
	Ok(serde_json::from_slice(&out.stdout)?)
}

fn committed(chain: &str) -> Result<Value> {
	let path = format!("{}/../chain-spec/{chain}.json", env!("CARGO_MANIFEST_DIR"));
	let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
	Ok(serde_json::from_str(&text)?)
}

/// The runtime code, taken out of the spec: its bytes depend on the toolchain that built
/// it, so it is compared for presence, and everything else for equality.
fn take_code(spec: &mut Value) -> Option<String> {
	spec.pointer_mut("/genesis/runtimeGenesis/code")
		.map(Value::take)
		.and_then(|code| code.as_str().map(str::to_owned))
}

fn check(chain: &str) -> Result<()> {
	let mut want = generated(chain)?;
	let mut have = committed(chain)?;
	let want_code = take_code(&mut want).context("the generated spec has no runtime code")?;
	let have_code = take_code(&mut have)
		.with_context(|| format!("chain-spec/{chain}.json has no runtime code"))?;
	ensure!(want_code.starts_with("0x") && have_code.starts_with("0x") && have_code.len() > 1000);
	ensure!(
		want == have,
		"chain-spec/{chain}.json is stale: run scripts/generate-chain-specs.sh\n\
		 generated: {}\ncommitted: {}",
		serde_json::to_string_pretty(&want)?,
		serde_json::to_string_pretty(&have)?
	);
	Ok(())
}

#[test]
fn committed_dev_spec_matches_the_runtime_preset() -> Result<()> {
	check("dev")
}

#[test]
fn committed_local_spec_matches_the_runtime_preset() -> Result<()> {
	check("local")
}

#[test]
fn committed_local_spec_starts_the_testnet_genesis() -> Result<()> {
	// The spec file is usable as `--chain <file>`: it names four Aura authorities.
	let spec = committed("local")?;
	let authorities = spec
		.pointer("/genesis/runtimeGenesis/patch/aura/authorities")
		.and_then(Value::as_array)
		.context("no aura authorities in chain-spec/local.json")?;
	ensure!(authorities.len() == 4, "expected 4 validators, found {}", authorities.len());
	Ok(())
}
