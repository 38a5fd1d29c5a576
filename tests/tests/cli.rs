//! The `vouch` command line as its users type it: each test runs the real binary (the one
//! `scripts/build` makes) against nothing, or against a real dev chain with dockerd, swtpm
//! workers and their executors (`vouch_tests::network`), and reads its exit code, its JSON
//! (`--json`) and its files.

use std::{
	path::{Path, PathBuf},
	process::Stdio,
	time::Duration,
};

use anyhow::{ensure, Context as _, Result};
use serde_json::Value;
use subxt_signer::sr25519::dev;
use vouch_client::{demo, AccountId};
use vouch_tests::network::{binary, Network, Options};

const THREE: Options = Options {
	workers: 3,
	wrong_image: false,
	bogus_verifier: false,
	activation: demo::Activation::ForceAll,
};

/// One run of `vouch`.
#[derive(Debug)]
struct Run {
	code: i32,
	stdout: String,
	stderr: String,
}

impl Run {
	fn json(&self) -> Result<Value> {
		serde_json::from_str(&self.stdout).with_context(|| format!("stdout is not JSON: {self:#?}"))
	}

	fn ok(self) -> Result<Self> {
		ensure!(self.code == 0, "vouch failed: {self:#?}");
		Ok(self)
	}
}

/// `vouch` with `home` as `$VOUCH_HOME`, on the chain and store of `urls` (if any).
struct Vouch {
	home: PathBuf,
	urls: Vec<(String, String)>,
}

impl Vouch {
	fn new(home: &Path) -> Self {
		std::fs::create_dir_all(home).unwrap();
		Self { home: home.into(), urls: vec![] }
	}

	fn on(home: &Path, network: &Network) -> Self {
		let mut vouch = Self::new(home);
		vouch.urls = vec![
			("VOUCH_NODE_URL".into(), network.node.ws_url()),
			("VOUCH_STORE".into(), network.store_url.clone()),
		];
		vouch
	}

	fn command(&self, args: &[&str]) -> tokio::process::Command {
		let mut command = tokio::process::Command::new(binary("vouch", "VOUCH_CLI"));
		command
			.args(args)
			.env("VOUCH_HOME", &self.home)
			.env_remove("VOUCH_KEY")
			.env_remove("VOUCH_PASSPHRASE")
			.envs(self.urls.iter().map(|(k, v)| (k, v)))
			.stdin(Stdio::null())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.kill_on_drop(true);
		command
	}

	async fn run(&self, args: &[&str]) -> Result<Run> {
		self.run_with(args, |_| {}, None).await
	}

	async fn run_with(
		&self,
		args: &[&str],
		setup: impl FnOnce(&mut tokio::process::Command),
		stdin: Option<&str>,
	) -> Result<Run> {
		let mut command = self.command(args);
		setup(&mut command);
		if stdin.is_some() {
			command.stdin(Stdio::piped());
		}
		let mut child = command.spawn().context("starting vouch")?;
		if let Some(text) = stdin {
			use tokio::io::AsyncWriteExt;
			let mut pipe = child.stdin.take().context("vouch's stdin")?;
			pipe.write_all(text.as_bytes()).await?;
		}
		finish(child, &format!("vouch {}", args.join(" "))).await
	}
}

/// Exit `code` and a message on stderr naming `field`.
fn assert_refused(run: &Run, code: i32, field: &str) {
	assert_eq!(run.code, code, "{run:#?}");
	assert!(run.stderr.contains(field), "the error names {field}: {run:#?}");
}

#[tokio::test]
async fn without_a_chain_keys_are_made_and_bad_input_and_unreachable_services_are_named(
) -> Result<()> {
	let dir = tempfile::tempdir()?;
	let vouch = Vouch::new(&dir.path().join("home"));

	// A key file: made once, never overwritten, shown without its secrets.
	let made = vouch.run(&["--json", "key", "new"]).await?.ok()?.json()?;
	let account = made["account"].as_str().context("an account")?.to_string();
	let key_file = PathBuf::from(made["key_file"].as_str().context("a key file")?);
	use std::os::unix::fs::PermissionsExt;
	assert_eq!(std::fs::metadata(&key_file)?.permissions().mode() & 0o777, 0o600);
	let shown = vouch.run(&["--json", "key", "show"]).await?.ok()?.json()?;
	assert_eq!(shown["account"], made["account"]);
	assert_eq!(shown["result_public"], made["result_public"]);
	let again = vouch.run(&["key", "new"]).await?;
	assert_refused(&again, 2, "--out");
	assert_eq!(vouch.run(&["--json", "key", "show"]).await?.json()?["account"], account.as_str());

	// An import reads the secret from stdin; a sealed file opens with its passphrase only.
	let sealed = dir.path().join("eve.json");
	let sealed_arg = sealed.display().to_string();
	let imported = vouch
		.run_with(
			&["--json", "key", "import", "--passphrase", "--out", &sealed_arg],
			|c| {
				c.env("VOUCH_PASSPHRASE", "correct horse");
			},
			Some("//Eve\n"),
		)
		.await?
		.ok()?
		.json()?;
	assert_eq!(imported["account"], AccountId::from(dev::eve().public_key().0).to_string());
	assert!(!std::fs::read_to_string(&sealed)?.contains("Eve"), "the secret is sealed");
	let wrong = vouch
		.run_with(
			&["--key", &sealed_arg, "--node-url", "ws://127.0.0.1:1", "balance"],
			|c| {
				c.env("VOUCH_PASSPHRASE", "wrong horse");
			},
			None,
		)
		.await?;
	assert_refused(&wrong, 2, "wrong passphrase");

	// Secrets never on argv: `--suri` takes dev names only.
	let phrase = vouch.run(&["--suri", "bottom drive obey lake", "balance"]).await?;
	assert_refused(&phrase, 2, "--suri");

	// Bad flags, each named.
	let input = dir.path().join("input");
	std::fs::write(&input, b"data")?;
	let input_arg = input.display().to_string();
	let post = |extra: &[&'static str]| -> Vec<String> {
		let base = ["task", "post", "--lambda", "0", "--input", &input_arg, "--payment"];
		base.iter().chain(extra).map(|a| a.to_string()).collect()
	};
	let publish = ["lambda", "publish", "/nonexistent", "--image", "x", "--image-id", "sha256:12"];
	let digest = "ab".repeat(32);
	for (args, field) in [
		(post(&["ten"]), "--payment"),
		(post(&["10", "--deadlines", "1,2"]), "--deadlines"),
		(post(&["10", "--recipient", "nobody"]), "--recipient"),
		(
			["task", "post", "--lambda", "zero", "--payment", "10"].map(String::from).to_vec(),
			"--lambda",
		),
		(
			[&publish[..], &["--price", "1"]].concat().iter().map(|a| a.to_string()).collect(),
			"--image-id",
		),
		(["store", "get", "not-a-cid", "--out", "x"].map(String::from).to_vec(), "CID"),
		(
			["build", "allow", "--digest", "12", "--kind", "executor", "--label", "x"]
				.map(String::from)
				.to_vec(),
			"--digest",
		),
		(
			["build", "allow", "--digest", digest.as_str(), "--kind", "kernel", "--label", "x"]
				.map(String::from)
				.to_vec(),
			"--kind",
		),
		(["build", "allow", "--from", "/nonexistent.json"].map(String::from).to_vec(), "--from"),
	] {
		let args: Vec<&str> =
			["--suri", "//Alice"].into_iter().chain(args.iter().map(String::as_str)).collect();
		let run = vouch.run(&args).await?;
		assert_refused(&run, 2, field);
	}

	// Nothing answers: the node and the store are named, with their own exit code.
	let node = vouch
		.run(&["--json", "--suri", "//Alice", "--node-url", "ws://127.0.0.1:1", "balance"])
		.await?;
	assert_refused(&node, 4, "--node-url");
	assert_eq!(node.json()?["exit_code"], 4);
	let store = vouch.run(&["--store", "http://127.0.0.1:1", "store", "put", &input_arg]).await?;
	assert_refused(&store, 4, "--store");
	Ok(())
}

/// Waits for a background `vouch` and reads it.
async fn finish(child: tokio::process::Child, what: &str) -> Result<Run> {
	let out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output())
		.await
		.with_context(|| format!("{what} did not end"))??;
	let run = Run {
		code: out.status.code().unwrap_or(-1),
		stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
		stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
	};
	eprintln!("$ {what}\n{}{}", run.stdout, run.stderr);
	Ok(run)
}

#[tokio::test]
async fn the_stories_from_the_command_line() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let mut network = Network::start(dir.path(), THREE).await?;
	let (image, image_id) = &network.image;
	let image_arg = image.display().to_string();
	let image_id = format!("sha256:{}", hex::encode(image_id));
	let alice = Vouch::on(&dir.path().join("alice"), &network);
	let bob = Vouch::on(&dir.path().join("bob"), &network);

	// Bob publishes his job sealed, at price 3, and serves its code key.
	let code = dir.path().join("code");
	std::fs::create_dir_all(&code)?;
	std::fs::write(code.join("main.sh"), demo::SCRIPT)?;
	let code_arg = code.display().to_string();
	let published = bob
		.run(&[
			"--json",
			"--suri",
			"//Bob",
			"lambda",
			"publish",
			&code_arg,
			"--image",
			&image_arg,
			"--image-id",
			&image_id,
			"--price",
			"3",
			"--arg",
			"/code/main.sh",
			"--encrypt",
		])
		.await?
		.ok()?
		.json()?;
	let lambda = published["id"].as_u64().context("a lambda id")?.to_string();
	let key_file = PathBuf::from(published["key_file"].as_str().context("the code key's file")?);
	assert!(key_file.starts_with(&bob.home), "the code key is in Bob's keyring");
	let shown = bob.run(&["--json", "lambda", "show", &lambda]).await?.ok()?.json()?;
	assert_eq!(shown["price"], "3");
	assert_eq!(shown["encrypted"], true);
	assert_eq!(shown["image_id"], image_id.as_str());
	let serving = bob.command(&["--suri", "//Bob", "lambda", "serve"]).spawn()?;

	// Alice's mistakes, refused before anything is spent.
	let input = dir.path().join("input.txt");
	std::fs::write(&input, demo::INPUT)?;
	let input_arg = input.display().to_string();
	// `vouch task post` by Alice of `lambda` on her input with `payment`, then `extra` flags.
	let post_args = |lambda: &str, payment: &str, extra: &[&str]| -> Vec<String> {
		let base = ["--suri", "//Alice", "task", "post", "--lambda", lambda, "--input", &input_arg];
		base.iter().chain(&["--payment", payment]).chain(extra).map(|a| a.to_string()).collect()
	};
	let post = |lambda: &str, payment: &str, extra: &[&str]| {
		let args = post_args(lambda, payment, extra);
		let alice = &alice;
		async move { alice.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await }
	};
	let unknown = post("999", "10", &[]).await?;
	assert_refused(&unknown, 5, "lambda 999");
	let cheap = post(&lambda, "3", &[]).await?;
	assert_refused(&cheap, 2, "--payment");
	assert!(cheap.stderr.contains("at least 3.333333333333"), "{cheap:#?}");
	let before = alice.run(&["--json", "--suri", "//Alice", "balance"]).await?.ok()?.json()?;

	// Alice and Bob: one command to the decrypted result.
	let out = dir.path().join("result");
	let out_arg = out.display().to_string();
	let follow = ["--json", "--committee", "3", "--quorum", "2", "--expect-image", &image_id];
	let ended =
		post(&lambda, "10", &[&follow[..], &["--wait", "--out", &out_arg]].concat()).await?;
	let ended = ended.ok().with_context(|| network.executor_logs())?.json()?;
	assert_eq!(ended["status"], "Settled");
	let (words, sha) = demo::expected_output();
	assert_eq!(std::fs::read_to_string(out.join("words"))?.trim(), words);
	assert_eq!(std::fs::read_to_string(out.join("sha256"))?.trim(), sha);
	let task = ended["id"].as_u64().context("a task id")?.to_string();
	let after = alice.run(&["--json", "--suri", "//Alice", "balance"]).await?.ok()?.json()?;
	let units =
		|v: &Value| v["free_units"].as_str().and_then(|u| u.parse::<u128>().ok()).unwrap_or(0);
	let spent = units(&before) - units(&after);
	assert!(
		spent >= 10 * vouch_client::UNIT && spent < 11 * vouch_client::UNIT,
		"Alice paid 10 and fees: {spent}"
	);
	let shown = alice.run(&["--json", "task", "show", &task]).await?.ok()?.json()?;
	assert_eq!(shown["status"], "Settled");
	assert_eq!(shown["committee"].as_array().map(Vec::len), Some(3));
	let again = dir.path().join("again");
	alice
		.run(&["--suri", "//Alice", "task", "result", &task, "--out", &again.display().to_string()])
		.await?
		.ok()?;
	assert_eq!(std::fs::read(again.join("words"))?, std::fs::read(out.join("words"))?);
	// Bob is no recipient: the result is not his to open.
	let not_his = bob.run(&["--suri", "//Bob", "task", "result", &task, "--out", &out_arg]).await?;
	assert_refused(&not_his, 2, "does not send its result to your result key");
	// A refusal on-chain comes with the error's documentation.
	let late = alice.run(&["--suri", "//Alice", "task", "cancel", &task]).await?;
	assert_eq!(late.code, 3, "{late:#?}");
	assert!(
		late.stderr.contains("Tasks.") && late.stderr.contains("refused on-chain with"),
		"{late:#?}"
	);

	let market = alice.run(&["--json", "market"]).await?.ok()?.json()?;
	let workers = market["workers"].as_array().context("the workers")?;
	assert_eq!(workers.len(), 3);
	let worker = workers[0]["account"].as_str().context("a worker")?;
	let status = alice.run(&["--json", "worker", "status", worker]).await?.ok()?.json()?;
	assert_eq!(status["status"], "Active");
	let credit = alice.run(&["--json", "credit", "show", worker]).await?.ok()?.json()?;
	assert_eq!(credit["credit"], workers[0]["credit"]);

	// Private set intersection: Ferdie and Bob (no workers of theirs) each seal a list; one
	// task on both inputs; both read the intersection, neither the other's list.
	let ferdie = Vouch::on(&dir.path().join("ferdie"), &network);
	std::fs::create_dir_all(dir.path().join("psi"))?;
	std::fs::write(
		dir.path().join("psi/main.sh"),
		"set -eu\ngrep -Fx -f /inputs/0 /inputs/1 | sort > /output/common\n",
	)?;
	let psi = alice
		.run(&[
			"--json",
			"--suri",
			"//Alice",
			"lambda",
			"publish",
			&dir.path().join("psi").display().to_string(),
			"--image",
			&image_arg,
			"--image-id",
			&image_id,
			"--price",
			"1",
			"--arg",
			"/code/main.sh",
		])
		.await?
		.ok()?
		.json()?;
	let psi = psi["id"].as_u64().context("the PSI lambda")?.to_string();
	let list = |names: &[&str], file: &str| -> Result<String> {
		let path = dir.path().join(file);
		std::fs::write(&path, names.join("\n") + "\n")?;
		Ok(path.display().to_string())
	};
	let ferdies = list(&["ada", "bob", "eve", "mallory"], "ferdie.txt")?;
	let bobs = list(&["carol", "eve", "ada", "trent"], "bob.txt")?;
	let bobs_cid = bob.run(&["--json", "store", "put", &bobs]).await?.ok()?.json()?;
	let bobs_cid = bobs_cid["cid"].as_str().context("Bob's CID")?.to_string();
	let bob_key = bob.run(&["--json", "--suri", "//Bob", "key", "show"]).await?.ok()?.json()?;
	let bob_account = AccountId::from(dev::bob().public_key().0).to_string();
	let ferdie_key =
		ferdie.run(&["--json", "--suri", "//Ferdie", "key", "show"]).await?.ok()?.json()?;
	let posted = ferdie
		.run(&[
			"--json",
			"--suri",
			"//Ferdie",
			"task",
			"post",
			"--lambda",
			&psi,
			"--input",
			&ferdies,
			"--input-cid",
			&format!("{bobs_cid}={bob_account}"),
			"--recipient",
			&format!(
				"{}={}",
				ferdie_key["account"].as_str().unwrap_or_default(),
				ferdie_key["result_public"].as_str().unwrap_or_default()
			),
			"--recipient",
			&format!("{bob_account}={}", bob_key["result_public"].as_str().unwrap_or_default()),
			"--payment",
			"5",
			"--committee",
			"3",
		])
		.await?
		.ok()?
		.json()?;
	let psi_task = posted["id"].as_u64().context("the PSI task")?.to_string();
	let ferdie_out = dir.path().join("ferdie-out");
	let bob_out = dir.path().join("bob-out");
	let ferdie_watch = ferdie
		.command(&[
			"--json",
			"--suri",
			"//Ferdie",
			"task",
			"watch",
			&psi_task,
			"--out",
			&ferdie_out.display().to_string(),
		])
		.spawn()?;
	let bob_watch = bob
		.command(&[
			"--json",
			"--suri",
			"//Bob",
			"task",
			"watch",
			&psi_task,
			"--out",
			&bob_out.display().to_string(),
		])
		.spawn()?;
	let ferdie_run = finish(ferdie_watch, "Ferdie's watch").await?;
	let bob_run = finish(bob_watch, "Bob's watch").await?;
	ensure!(ferdie_run.code == 0 && bob_run.code == 0, "the PSI task: {}", network.executor_logs());
	for out in [&ferdie_out, &bob_out] {
		assert_eq!(std::fs::read_to_string(out.join("common"))?, "ada\neve\n");
	}
	// Ferdie's keyring has no key to Bob's list, and the store only holds its envelope.
	let peek = ferdie
		.run(&["store", "get", &bobs_cid, "--out", &dir.path().join("peek").display().to_string()])
		.await?;
	assert_refused(&peek, 2, "no key for");
	// Bob does not follow this one: his key is never backed, and the task ends unworked.
	let unbacked = ferdie
		.run(&[
			"--suri",
			"//Ferdie",
			"task",
			"post",
			"--lambda",
			&psi,
			"--input",
			&ferdies,
			"--input-cid",
			&format!("{bobs_cid}={bob_account}"),
			"--payment",
			"5",
			"--wait",
		])
		.await?;
	assert_refused(&unbacked, 3, "not every input's owner had backed their key");

	// A task no worker may serve (credit 630 is above them all) is drawn again, then expires:
	// the CLI shows the redraw, says why it ended and what to change, and the payment comes
	// back whole (Alice pays only fees).
	let before = alice.run(&["--json", "--suri", "//Alice", "balance"]).await?.ok()?.json()?;
	let no_worker_may_serve =
		["--min-credit", "630", "--rounds", "2", "--deadlines", "5,40,40,60,40", "--wait"];
	let expired = post(&lambda, "10", &no_worker_may_serve).await?;
	assert_refused(&expired, 3, "no committee of at least 2 seats formed in its 2 round(s)");
	assert!(expired.stderr.contains("--rounds"), "{expired:#?}");
	assert!(
		expired.stderr.contains("Sortition(round 2 of 2)"),
		"the redraw is shown: {expired:#?}"
	);
	let after = alice.run(&["--json", "--suri", "//Alice", "balance"]).await?.ok()?.json()?;
	let spent = units(&before) - units(&after);
	assert!(spent < vouch_client::UNIT, "the payment came back, only fees were paid: {spent}");
	drop(serving);

	// A worker operator registers by hand: Ferdie's executor runs without
	// `--register-deposit`; `vouch worker register` reads its TPM's evidence from its API.
	network.add_worker(3, false).await?;
	let api = network.workers[3].api_url.clone();
	let register = |who: &'static str| {
		let vouch = &ferdie;
		let api = api.clone();
		async move {
			// The executor's API comes up with it: unreachable (exit 4) until then.
			for _ in 0..60 {
				let run = vouch
					.run(&[
						"--json",
						"--suri",
						who,
						"worker",
						"register",
						"--api",
						&api,
						"--deposit",
						"100",
					])
					.await?;
				if run.code != 4 {
					return Ok::<_, anyhow::Error>(run);
				}
				tokio::time::sleep(std::time::Duration::from_millis(500)).await;
			}
			anyhow::bail!("Ferdie's attestation API never answered at {api}")
		}
	};
	// Evidence certified for Ferdie's account is not Alice's to register.
	assert_refused(&register("//Alice").await?, 2, "--api");
	let registered = register("//Ferdie").await?.ok()?.json()?;
	assert_eq!(registered["status"], "Pending");
	assert_eq!(registered["deposit"], "100");
	assert_refused(&register("//Ferdie").await?, 3, "already registered");
	// The active workers challenge its TPM, which answers: Active by credential activation.
	let ferdie_account = AccountId::from(dev::ferdie().public_key().0).to_string();
	let mut status = Value::Null;
	for _ in 0..120 {
		status = alice.run(&["--json", "worker", "status", &ferdie_account]).await?.ok()?.json()?;
		if status["status"] == "Active" {
			break;
		}
		tokio::time::sleep(std::time::Duration::from_millis(500)).await;
	}
	assert_eq!(status["status"], "Active", "{}", network.executor_logs());
	Ok(())
}
