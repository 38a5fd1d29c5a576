//! A mistyped `--chain` stops the node at once with one line that names the problem.

use std::process::{Command, Output};

use anyhow::{ensure, Result};
use vouch_tests::node_binary;

fn run_with_chain(chain: &str) -> Result<Output> {
	let dir = tempfile::tempdir()?;
	Ok(Command::new(node_binary())
		.args(["--chain", chain, "--base-path"])
		.arg(dir.path())
		.args(["--rpc-port", "0", "--port", "0", "--no-prometheus", "--no-telemetry"])
		.output()?)
}

/// The error lines the node printed (its log lines carry timestamps; errors do not).
fn error_lines(out: &Output) -> Vec<String> {
	String::from_utf8_lossy(&out.stderr)
		.lines()
		.filter(|l| l.starts_with("Error"))
		.map(str::to_owned)
		.collect()
}

#[test]
fn unknown_chain_name_is_a_one_line_error() -> Result<()> {
	let out = run_with_chain("moonbase")?;
	ensure!(!out.status.success(), "the node accepted --chain moonbase");
	let errors = error_lines(&out);
	ensure!(errors.len() == 1, "expected one error line, got {errors:?}");
	ensure!(errors[0].contains("unknown chain 'moonbase'"), "unhelpful error: {}", errors[0]);
	Ok(())
}

#[test]
fn malformed_chain_spec_file_is_a_one_line_error() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let file = dir.path().join("broken.json");
	std::fs::write(&file, "{ \"name\": \"Vouch\", \"id\": ")?;
	let out = run_with_chain(file.to_str().unwrap())?;
	ensure!(!out.status.success(), "the node accepted a malformed spec");
	let errors = error_lines(&out);
	ensure!(errors.len() == 1, "expected one error line, got {errors:?}");
	ensure!(
		errors[0].contains("broken.json") && errors[0].contains("malformed"),
		"unhelpful error: {}",
		errors[0]
	);
	Ok(())
}
