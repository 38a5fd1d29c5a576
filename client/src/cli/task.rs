//! `vouch task`: Alice's side, and any data owner's. `post` seals and uploads the inputs and
//! posts the task with its payment in escrow; `watch` follows it, re-checks the committee's
//! VRF proofs and the executor's quote off-chain, and releases the keys you owe only when the
//! policy holds; `result` opens what the task returned to you.

use std::{path::PathBuf, time::Duration};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::json;
use vouch_client::{
	archive, calls,
	key_owner::{self, Policy, Watched},
	keys::KeyFile,
	reads::{self, Outcome, Status, TaskView},
	requester, Chain,
};
use vouch_primitives::{settlement::SplitRates, sortition, TaskId};

use super::{
	bad, exit, fail, follow, parse_account, parse_amount, ss58, store, vouch, Global, Keyring,
};

#[derive(Subcommand)]
pub enum TaskCommand {
	/// Seals and uploads the inputs and posts a task; `--wait` follows it to its result.
	Post(PostArgs),
	/// A task: its status, committee and requirements.
	Show {
		/// The task.
		id: TaskId,
	},
	/// Follows a task live, releasing the keys you owe when the policy holds; opens the result
	/// into `--out` if it is yours.
	Watch {
		/// The task.
		id: TaskId,
		#[command(flatten)]
		follow: FollowArgs,
	},
	/// Downloads and opens the result of a settled task you are a recipient of.
	Result {
		/// The task.
		id: TaskId,
		/// Where to write the result's files.
		#[arg(long)]
		out: PathBuf,
	},
	/// How an ended task's escrow was split (burn, developer, executor, each monitor, refund)
	/// and how its committee's credit changed.
	Settlement {
		/// The task.
		id: TaskId,
	},
	/// Cancels a task of yours that has no committee yet; the escrow comes back.
	Cancel {
		/// The task.
		id: TaskId,
	},
	/// The tasks on-chain.
	List {
		/// Only tasks you posted.
		#[arg(long)]
		mine: bool,
	},
}

#[derive(Args)]
pub struct PostArgs {
	/// The lambda to run.
	#[arg(long)]
	lambda: u64,
	/// An input file of yours: sealed under a fresh key and uploaded (repeat for more; these
	/// take the first slots, `/inputs/0`, `/inputs/1`, ...).
	#[arg(long = "input")]
	inputs: Vec<PathBuf>,
	/// Someone else's uploaded input, `CID=OWNER` (they release its key; the slots after
	/// your files).
	#[arg(long = "input-cid")]
	input_cids: Vec<String>,
	/// Who receives the result, `ACCOUNT=X25519-PUBLIC-HEX` (repeat; default you, with your
	/// key file's result key).
	#[arg(long = "recipient")]
	recipients: Vec<String>,
	/// The payment held in escrow, in VOUCH.
	#[arg(long)]
	payment: String,
	/// Committee members: one executor, the rest monitors.
	#[arg(long, default_value_t = 3)]
	committee: u32,
	/// Least credit of every member.
	#[arg(long, default_value_t = 0)]
	min_credit: u32,
	/// Committees tried before the task gives up (1 to the chain's `MaxRounds`, 5). A round
	/// is a lottery: with committee k among N workers the winners are Binomial(N, k/N), and a
	/// round with fewer than `ceil(k/2)` (at least 2 when k >= 2) seats is drawn again. One
	/// round of 3 among 10 workers comes up short about one time in seven; three rounds, about
	/// one in three hundred.
	#[arg(long, default_value_t = 3)]
	rounds: u32,
	/// Blocks per phase: sortition, attestation, key release, run, verdicts.
	#[arg(long, default_value = "10,40,40,60,40")]
	deadlines: String,
	/// Let the job use the network (default: none).
	#[arg(long)]
	network: bool,
	/// Follow the task to its end and open the result.
	#[arg(long)]
	wait: bool,
	#[command(flatten)]
	follow: FollowArgs,
}

/// How a task is followed (`watch`, `post --wait`).
#[derive(Args)]
pub struct FollowArgs {
	/// Where to write the result's files if it is yours (default `task-<id>`).
	#[arg(long)]
	out: Option<PathBuf>,
	#[command(flatten)]
	policy: follow::PolicyArgs,
	/// Seconds to wait for the end.
	#[arg(long, default_value_t = 900)]
	timeout: u64,
}

/// The least payment that covers `price` and the burn.
pub fn least_payment(price: u128) -> u128 {
	let rates = SplitRates::STANDARD;
	let mut pay = price.saturating_mul(10) / 9;
	while !rates.covers(pay, price) {
		pay += 1;
	}
	pay
}

fn status_text(status: &Status) -> String {
	match status {
		Status::Posted => "Posted".into(),
		Status::Sortition { until } => format!("Sortition (claims until block {until})"),
		Status::Elected { executor, .. } => format!("Elected (executor {})", ss58(*executor)),
		Status::Attesting { phase, .. } => format!("Attesting ({phase:?})"),
		Status::KeyRelease { .. } => "KeyRelease (waiting for the data owners' keys)".into(),
		Status::Running { since, .. } => format!("Running (since block {since})"),
		Status::Revealing { .. } => "Revealing (the executor reveals the result keys)".into(),
		Status::Final(outcome) => outcome.to_string(),
	}
}

async fn fetch(chain: &Chain, id: TaskId) -> Result<TaskView> {
	reads::task(&chain.at_finalized().await?, id).await?.ok_or_else(|| {
		fail(
			exit::NOT_FOUND,
			format!("there is no task {id} (reaped or never posted: `vouch task list`)"),
		)
	})
}

fn view_json(v: &TaskView, credits: &[u32]) -> serde_json::Value {
	json!({
		"id": v.id,
		"status": status_text(&v.status),
		"final": v.status.is_final(),
		"lambda": v.lambda,
		"requester": ss58(v.requester),
		"developer": ss58(v.developer),
		"payment": vouch(v.payment),
		"price": vouch(v.price),
		"committee_size": v.committee_size,
		"min_credit": v.min_credit,
		"network": !v.network_none,
		"round": v.round,
		"max_rounds": v.max_rounds,
		"image_id": format!("sha256:{}", hex::encode(v.image_id)),
		"inputs": v.inputs.iter().map(|(cid, owner)| json!({ "cid": cid, "owner": ss58(*owner) })).collect::<Vec<_>>(),
		"recipients": v.recipients.iter().map(|(who, key)| json!({ "account": ss58(*who), "x25519": hex::encode(key) })).collect::<Vec<_>>(),
		"executor": v.status.executor().map(ss58),
		"committee": v.committee.iter().zip(credits).map(|(s, c)| json!({ "account": ss58(s.who), "credit": c })).collect::<Vec<_>>(),
	})
}

/// Opens task `id`'s result as `keys` into the directory `out`: the files written.
async fn open(
	global: &Global,
	chain: &Chain,
	keys: &KeyFile,
	view: &TaskView,
	out: &std::path::Path,
) -> Result<Vec<(String, usize)>> {
	let me = keys.account.account();
	let index = view
		.recipients
		.iter()
		.position(|(who, key)| *who == me && *key == keys.result_public)
		.ok_or_else(|| {
			bad("--key", format!("task {} does not send its result to your result key", view.id))
		})?;
	let result =
		requester::open_result(chain, &global.store(), view.id, index, &keys.result_secret)
			.await
			.map_err(|e| global.store_error(e))?;
	// The result names its files; none may leave `out`.
	archive::write_result(&result, out)
}

/// The result's files, one line each with its size.
fn listing(files: &[(String, usize)]) -> String {
	files
		.iter()
		.map(|(name, len)| format!("\n    {name} ({})", store::bytes(*len as u64)))
		.collect()
}

/// Follows `id` as `keys` until it ends; opens the result into `out` when it settled and is
/// yours.
async fn watch(
	global: &Global,
	chain: &Chain,
	keys: &KeyFile,
	id: TaskId,
	policy: &Policy,
	timeout: Duration,
	out: Option<PathBuf>,
) -> Result<()> {
	let me = keys.account.account();
	let view = fetch(chain, id).await?;
	let at = chain.at_finalized().await?;
	let code_cid = follow::lambda(&at, view.lambda).await?.code_cid;
	let keyring = Keyring::new(global);
	let owed = key_owner::owed_keys(&view, &code_cid, me, |cid| keyring.get(cid))
		.map_err(|e| bad("--home", format!("{e:#}")))?;
	let started = std::time::Instant::now();
	let bar = global.spinner(format!("task {id}: following"));
	let (end, timeline) =
		key_owner::watch_task(chain, &keys.account.signer, id, &owed, policy, timeout, |event| {
			bar.suspend(|| follow::report(id, event));
			if let Watched::Status { name, .. } = event {
				bar.set_message(format!("task {id}: {name}"));
			}
		})
		.await?;
	bar.finish_and_clear();
	let view = fetch(chain, id).await?;
	let mine = view.recipients.iter().any(|(who, key)| *who == me && *key == keys.result_public);
	let files = if end == Outcome::Settled && mine {
		let out = out.unwrap_or_else(|| PathBuf::from(format!("task-{id}")));
		let files = open(global, chain, keys, &view, &out).await?;
		Some((out, files))
	} else {
		None
	};
	let seconds = started.elapsed().as_secs_f64();
	global.print(
		json!({
			"id": id,
			"status": end,
			"seconds": seconds,
			"timeline": timeline.steps.iter().map(|(s, b, t)| json!({ "status": s, "block": b, "seconds": t })).collect::<Vec<_>>(),
			"out": files.as_ref().map(|(o, _)| o.clone()),
			"files": files.as_ref().map(|(_, f)| f.iter().map(|(n, l)| json!({ "name": n, "bytes": l })).collect::<Vec<_>>()),
		}),
		|| {
			let mut text = format!("task {id} ended {end} in {seconds:.1} s");
			if let Some((out, files)) = &files {
				text.push_str(&format!("\nresult in {}:{}", out.display(), listing(files)));
			}
			text
		},
	);
	let not_backed = end == Outcome::Expired
		&& reads::settlement(chain, id).await?.is_some_and(|s| s.keys_not_backed);
	if not_backed {
		return Err(fail(
			exit::ON_CHAIN,
			format!(
				"task {id} ended Expired: its committee was drawn, but not every input's owner had \
				 backed their key with a key bond by the election (each owner follows the task with \
				 `vouch task watch {id}`, which backs and releases their key); the payment went back \
				 to the requester"
			),
		));
	}
	if end == Outcome::Expired {
		let needed = sortition::min_seats(view.committee_size);
		return Err(fail(
			exit::ON_CHAIN,
			format!(
				"task {id} ended Expired: no committee of at least {needed} seats formed in its {} round(s) \
				 ({} eligible workers at min credit {}); the payment went back to the requester. Post \
				 again with more --rounds, a smaller --committee or a lower --min-credit (`vouch market` \
				 shows the workers)",
				view.max_rounds, view.eligible, view.min_credit
			),
		));
	}
	if end != Outcome::Settled {
		return Err(fail(exit::ON_CHAIN, format!("task {id} ended {end}: its escrow went back as the chain's rules say (`vouch task show {id}`)")));
	}
	Ok(())
}

async fn post(global: &Global, args: PostArgs) -> Result<()> {
	let payment = parse_amount("--payment", &args.payment)?;
	let deadlines: Vec<u32> = args
		.deadlines
		.split(',')
		.map(|d| d.trim().parse())
		.collect::<Result<_, _>>()
		.map_err(|_| {
			bad("--deadlines", "five block counts: sortition,attestation,key-release,run,verdicts")
		})?;
	let deadlines: [u32; 5] = deadlines.try_into().map_err(|_| {
		bad("--deadlines", "five block counts: sortition,attestation,key-release,run,verdicts")
	})?;
	if args.committee == 0 {
		return Err(bad("--committee", "a committee has at least one member (the executor)"));
	}
	if args.inputs.is_empty() && args.input_cids.is_empty() {
		return Err(bad(
			"--input",
			"a task takes at least one input (--input FILE or --input-cid CID=OWNER)",
		));
	}
	let mut others = Vec::new();
	for given in &args.input_cids {
		let (cid, owner) = given
			.split_once('=')
			.ok_or_else(|| bad("--input-cid", format!("{given:?} is not CID=OWNER")))?;
		store::parse_cid("--input-cid", cid)?;
		others.push(calls::InputSpec {
			cid: cid.trim().into(),
			owner: parse_account("--input-cid", owner)?,
		});
	}
	for file in &args.inputs {
		if !file.is_file() {
			return Err(bad("--input", format!("{} is not a file", file.display())));
		}
	}
	let policy = args.follow.policy.policy()?;
	let keys = global.keys()?;
	let me = keys.account.account();
	let mut recipients = Vec::new();
	for given in &args.recipients {
		let (who, key) = given
			.split_once('=')
			.ok_or_else(|| bad("--recipient", format!("{given:?} is not ACCOUNT=X25519-HEX")))?;
		let key = hex::decode(key.trim().trim_start_matches("0x"))
			.ok()
			.and_then(|k| <[u8; 32]>::try_from(k).ok())
			.ok_or_else(|| {
				bad("--recipient", format!("{key:?} is not an X25519 public key (64 hex digits)"))
			})?;
		recipients.push((parse_account("--recipient", who)?, key));
	}
	if recipients.is_empty() {
		recipients.push((me, keys.result_public));
	}

	let chain = global.chain().await?;
	let at = chain.at_finalized().await?;
	let lambda = follow::lambda(&at, args.lambda).await?;
	if lambda.retired {
		return Err(bad(
			"--lambda",
			format!("lambda {} is retired: its owner takes no new task", args.lambda),
		));
	}
	if !SplitRates::STANDARD.covers(payment, lambda.price) {
		return Err(bad(
			"--payment",
			format!(
				"{} VOUCH does not cover lambda {}'s price ({} VOUCH) and the 10% burn: pay at least {} VOUCH",
				vouch(payment),
				args.lambda,
				vouch(lambda.price),
				vouch(least_payment(lambda.price))
			),
		));
	}

	let keyring = Keyring::new(global);
	let mut inputs = Vec::new();
	for file in &args.inputs {
		let (cid, key, _) = store::put(global, file).await?;
		keyring.save(&cid.to_string(), &key)?;
		inputs.push(calls::InputSpec { cid: cid.to_string(), owner: me });
	}
	inputs.extend(others);
	let spec = calls::TaskSpec {
		lambda: args.lambda,
		inputs,
		recipients,
		min_credit: args.min_credit,
		committee_size: args.committee,
		max_rounds: args.rounds,
		deadlines,
		network_none: !args.network,
		payment,
	};
	let task = requester::post_task(&chain, &keys.account.signer, &spec).await?;
	if !args.wait {
		global.print(json!({ "id": task, "payment": vouch(payment) }), || {
			format!("task {task} posted with {} VOUCH in escrow; follow it with `vouch task watch {task}`", vouch(payment))
		});
		return Ok(());
	}
	if !global.json {
		eprintln!("task {task} posted with {} VOUCH in escrow", vouch(payment));
	}
	watch(
		global,
		&chain,
		&keys,
		task,
		&policy,
		Duration::from_secs(args.follow.timeout),
		args.follow.out,
	)
	.await
}

/// Prints the split of task `id`'s escrow and its committee's credit changes.
async fn settlement(global: &Global, id: TaskId) -> Result<()> {
	let chain = global.chain().await?;
	let view = fetch(&chain, id).await?;
	let Some(s) = reads::settlement(&chain, id).await? else {
		return Err(fail(
			exit::NOT_FOUND,
			format!("task {id} is {}: it has not ended, so nothing was split yet (`vouch task watch {id}`)", status_text(&view.status)),
		));
	};
	let role = |who: &[u8; 32]| if Some(*who) == s.executor { "executor" } else { "monitor" };
	let credit: Vec<_> = s
		.credit
		.iter()
		.map(|(who, before, after)| json!({ "account": ss58(*who), "role": role(who), "before": before, "after": after }))
		.collect();
	let payout = s.payout.as_ref().map(|p| {
		json!({
			"burn": vouch(p.burn),
			"developer": vouch(p.developer),
			"executor": vouch(p.executor),
			"per_monitor": vouch(p.per_monitor),
			"honest_monitors": p.honest_monitors,
			"refund": vouch(p.refund),
			"total": vouch(p.total()),
			"total_units": p.total().to_string(),
		})
	});
	global.print(
		json!({ "id": id, "outcome": s.outcome, "block": s.block, "payment": vouch(view.payment), "payment_units": view.payment.to_string(), "payout": payout, "credit": credit }),
		|| {
			let mut text = format!("task {id}: {} in block {}, payment {} VOUCH", s.outcome, s.block, vouch(view.payment));
			match &s.payout {
				Some(p) => {
					let rows = [
						("burnt".to_string(), p.burn),
						(format!("developer {}", ss58(view.developer)), p.developer),
						(format!("executor {}", s.executor.map(ss58).unwrap_or_default()), p.executor),
						(format!("each of {} honest monitors", p.honest_monitors), p.per_monitor),
						("back to the requester".to_string(), p.refund),
					];
					for (who, amount) in rows {
						text.push_str(&format!("\n    {who:<60} {:>18} VOUCH", vouch(amount)));
					}
					text.push_str(&format!("\n    {:<60} {:>18} VOUCH (the payment, to the unit)", "total", vouch(p.total())));
				},
				None => text.push_str("\n    refunded to the requester in full"),
			}
			text.push_str("\ncredit:");
			for (who, before, after) in &s.credit {
				let change = i64::from(*after) - i64::from(*before);
				text.push_str(&format!("\n    {:<8} {}  {before:>5} -> {after:>5} ({change:+})", role(who), ss58(*who)));
			}
			text
		},
	);
	Ok(())
}

pub async fn run(global: &Global, command: TaskCommand) -> Result<()> {
	match command {
		TaskCommand::Post(args) => post(global, args).await,
		TaskCommand::Settlement { id } => settlement(global, id).await,
		TaskCommand::Show { id } => {
			let chain = global.chain().await?;
			let view = fetch(&chain, id).await?;
			let at = chain.at_finalized().await?;
			let mut credits = Vec::new();
			for seat in &view.committee {
				credits.push(reads::credit(&at, seat.who).await?);
			}
			let result = reads::result(&at, id).await?;
			let mut value = view_json(&view, &credits);
			value["result_cid"] = json!(result.as_ref().map(|(cid, _)| cid));
			value["job_failed"] = json!(result.as_ref().map(|(_, failed)| failed));
			global.print(value, || {
				let mut text = format!(
					"task       {id}\nstatus     {}\nlambda     {} (price {} VOUCH)\npayment    {} VOUCH\nrequester  {}\ncommittee  {} seats, min credit {}, round {}/{}\nnetwork    {}\ninputs     {}\nrecipients {}",
					status_text(&view.status),
					view.lambda,
					vouch(view.price),
					vouch(view.payment),
					ss58(view.requester),
					view.committee_size,
					view.min_credit,
					view.round,
					view.max_rounds,
					if view.network_none { "none" } else { "allowed" },
					view.inputs.len(),
					view.recipients.len(),
				);
				let executor = view.status.executor();
				for (seat, credit) in view.committee.iter().zip(&credits) {
					text.push_str(&format!(
						"\n    {} {} credit {credit}",
						if Some(seat.who) == executor { "executor" } else { "member  " },
						ss58(seat.who)
					));
				}
				if let Some((cid, failed)) = &result {
					text.push_str(&format!("\nresult     {cid}{}", if *failed { " (the job failed)" } else { "" }));
				}
				text
			});
			Ok(())
		},
		TaskCommand::Watch { id, follow: FollowArgs { out, policy, timeout } } => {
			let policy = policy.policy()?;
			let keys = global.keys()?;
			let chain = global.chain().await?;
			watch(global, &chain, &keys, id, &policy, Duration::from_secs(timeout), out).await
		},
		TaskCommand::Result { id, out } => {
			let keys = global.keys()?;
			let chain = global.chain().await?;
			let view = fetch(&chain, id).await?;
			if view.status != Status::Final(Outcome::Settled) {
				return Err(fail(
					exit::ON_CHAIN,
					format!(
						"task {id} is {}: only a settled task has a result",
						status_text(&view.status)
					),
				));
			}
			let files = open(global, &chain, &keys, &view, &out).await?;
			global.print(
				json!({ "id": id, "out": out, "files": files.iter().map(|(n, l)| json!({ "name": n, "bytes": l })).collect::<Vec<_>>() }),
				|| {
					format!("result of task {id} in {}:{}", out.display(), listing(&files))
				},
			);
			Ok(())
		},
		TaskCommand::Cancel { id } => {
			let keys = global.keys()?;
			let chain = global.chain().await?;
			let view = fetch(&chain, id).await?;
			if view.requester != keys.account.account() {
				return Err(bad(
					"ID",
					format!(
						"task {id} is {}'s: only its requester cancels it",
						ss58(view.requester)
					),
				));
			}
			chain.submit(&keys.account.signer, &calls::cancel_task(id)).await?;
			global.print(json!({ "id": id, "cancelled": true }), || {
				format!("task {id} cancelled: its escrow is back")
			});
			Ok(())
		},
		TaskCommand::List { mine } => {
			let me = if mine { Some(global.keys()?.account.account()) } else { None };
			let chain = global.chain().await?;
			let at = chain.at_finalized().await?;
			let mut all = Vec::new();
			for id in reads::task_ids(&at).await? {
				if let Some(view) = reads::task(&at, id).await? {
					if me.is_none_or(|me| me == view.requester) {
						all.push(view);
					}
				}
			}
			global.print(json!(all.iter().map(|v| view_json(v, &[])).collect::<Vec<_>>()), || {
				let mut text = format!(
					"{:>5}  {:>6}  {:>10}  {:>4}  status",
					"task", "lambda", "payment", "size"
				);
				for v in &all {
					text.push_str(&format!(
						"\n{:>5}  {:>6}  {:>10}  {:>4}  {}",
						v.id,
						v.lambda,
						vouch(v.payment),
						v.committee_size,
						status_text(&v.status)
					));
				}
				text
			});
			Ok(())
		},
	}
}
