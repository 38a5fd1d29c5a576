//! `vouch-executor run --config FILE` (or `VOUCH_CONFIG`): a TOML file of `run`'s flags by
//! their long names (`node-url = "ws://..."`, `gateway = ["http://..."]`). A flag on the
//! command line wins over its environment variable, which wins over the file: the file's
//! values are applied as the flags' environment variables where those are unset, before the
//! command line is parsed, so clap's own rules (types, ranges, required flags) check them.

use std::{ffi::OsString, path::Path};

use anyhow::{bail, Context as _, Result};

/// The config file named on `argv` (`run --config FILE` / `--config=FILE`) or in
/// `VOUCH_CONFIG`, if the subcommand is `run` or `launch` (which takes `run`'s flags).
pub fn path_from(argv: &[OsString]) -> Option<std::path::PathBuf> {
	let args: Vec<&str> = argv.iter().filter_map(|a| a.to_str()).collect();
	if !matches!(args.get(1), Some(&"run") | Some(&"launch")) {
		return None;
	}
	for (i, arg) in args.iter().enumerate() {
		if let Some(path) = arg.strip_prefix("--config=") {
			return Some(path.into());
		}
		if *arg == "--config" {
			return args.get(i + 1).map(Into::into);
		}
	}
	std::env::var_os("VOUCH_CONFIG").map(Into::into)
}

/// The `(environment variable, value)` pairs `file` sets for `run`, whose flags `command`
/// describes. Fails on a key that is not a flag of `run`, or one without a variable.
pub fn env_pairs(file: &Path, command: &clap::Command) -> Result<Vec<(String, String)>> {
	let text =
		std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
	let table: toml::Table =
		text.parse().with_context(|| format!("{} is not valid TOML", file.display()))?;
	let run = command.find_subcommand("run").context("no `run` subcommand")?;
	let mut pairs = Vec::new();
	for (key, value) in table {
		let Some(arg) = run.get_arguments().find(|a| a.get_long() == Some(key.as_str())) else {
			bail!(
				"{}: `{key}` is not a flag of `vouch-executor run` (keys are the long flag names, \
				 e.g. `node-url`)",
				file.display()
			);
		};
		let Some(env) = arg.get_env() else {
			bail!("{}: `{key}` cannot be set from a file", file.display());
		};
		let text = match value {
			toml::Value::String(s) => s,
			toml::Value::Integer(i) => i.to_string(),
			toml::Value::Boolean(b) => b.to_string(),
			toml::Value::Array(items) => items
				.into_iter()
				.map(|v| match v {
					toml::Value::String(s) => Ok(s),
					toml::Value::Integer(i) => Ok(i.to_string()),
					other => {
						bail!("{}: `{key}` holds {other}, not a string or number", file.display())
					},
				})
				.collect::<Result<Vec<_>>>()?
				.join(","),
			other => bail!("{}: `{key}` = {other} is not a string, number or list", file.display()),
		};
		pairs.push((env.to_string_lossy().into_owned(), text));
	}
	Ok(pairs)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn command() -> clap::Command {
		clap::Command::new("vouch-executor").subcommand(
			clap::Command::new("run")
				.arg(clap::Arg::new("node_url").long("node-url").env("VOUCH_NODE_URL"))
				.arg(clap::Arg::new("gateways").long("gateway").env("VOUCH_GATEWAYS"))
				.arg(clap::Arg::new("poll").long("poll-ms").env("VOUCH_POLL_MS"))
				.arg(clap::Arg::new("fault").long("fault")),
		)
	}

	fn file(text: &str) -> tempfile::NamedTempFile {
		let file = tempfile::NamedTempFile::new().unwrap();
		std::fs::write(file.path(), text).unwrap();
		file
	}

	#[test]
	fn a_file_sets_the_flags_environment_variables() {
		let f = file("node-url = \"ws://10.0.0.1:9944\"\ngateway = [\"http://a\", \"http://b\"]\npoll-ms = 250\n");
		let mut pairs = env_pairs(f.path(), &command()).unwrap();
		pairs.sort();
		assert_eq!(
			pairs,
			vec![
				("VOUCH_GATEWAYS".into(), "http://a,http://b".into()),
				("VOUCH_NODE_URL".into(), "ws://10.0.0.1:9944".into()),
				("VOUCH_POLL_MS".into(), "250".into()),
			]
		);
	}

	#[test]
	fn an_unknown_key_or_a_bad_value_is_named() {
		let f = file("node_url = \"x\"\n");
		let e = env_pairs(f.path(), &command()).unwrap_err().to_string();
		assert!(e.contains("`node_url` is not a flag"), "{e}");
		let f = file("fault = \"x\"\n");
		let e = env_pairs(f.path(), &command()).unwrap_err().to_string();
		assert!(e.contains("`fault` cannot be set from a file"), "{e}");
		let f = file("poll-ms = 2.5\n");
		let e = env_pairs(f.path(), &command()).unwrap_err().to_string();
		assert!(e.contains("`poll-ms` = 2.5"), "{e}");
		let f = file("node-url = \n");
		assert!(env_pairs(f.path(), &command())
			.unwrap_err()
			.to_string()
			.contains("not valid TOML"));
	}

	#[test]
	fn the_file_is_found_on_the_command_line_of_run_only() {
		let argv = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
		assert_eq!(
			path_from(&argv(&["vouch-executor", "run", "--config", "w.toml"])),
			Some("w.toml".into())
		);
		assert_eq!(
			path_from(&argv(&["vouch-executor", "run", "--config=w.toml"])),
			Some("w.toml".into())
		);
		assert_eq!(path_from(&argv(&["vouch-executor", "store", "--config", "w.toml"])), None);
	}
}
