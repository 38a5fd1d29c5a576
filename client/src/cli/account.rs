//! Accounts and the market: `vouch market`, `vouch credit`, `vouch balance`.

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use vouch_client::reads;
use vouch_primitives::settlement::SplitRates;

use super::{ss58, vouch, who, Global};

#[derive(Subcommand)]
pub enum CreditCommand {
	/// An account's credit.
	Show {
		/// The account (SS58); default yours.
		account: Option<String>,
	},
}

pub async fn market(global: &Global) -> Result<()> {
	let chain = global.chain().await?;
	let at = chain.at_finalized().await?;
	let mut open = Vec::new();
	for id in reads::task_ids(&at).await? {
		let Some(view) = reads::task(&at, id).await? else { continue };
		if !matches!(view.status, reads::Status::Posted | reads::Status::Sortition { .. }) {
			continue;
		}
		let seats = view.committee_size.max(1);
		let monitors = seats - 1;
		let payout = SplitRates::STANDARD.split(view.payment, view.price, monitors, monitors).ok();
		open.push((view, seats, payout));
	}
	let mut workers = Vec::new();
	for (account, worker) in reads::workers(&at).await? {
		workers.push((account, worker.status, reads::credit(&at, account).await?));
	}
	workers.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
	global.print(
		json!({
			"open_tasks": open.iter().map(|(v, seats, payout)| json!({
				"id": v.id,
				"lambda": v.lambda,
				"payment": vouch(v.payment),
				"per_seat": vouch(v.payment / u128::from(*seats)),
				"executor_pay": payout.as_ref().map(|p| vouch(p.executor)),
				"monitor_pay": payout.as_ref().map(|p| vouch(p.per_monitor)),
				"committee_size": v.committee_size,
				"min_credit": v.min_credit,
				"network": !v.network_none,
			})).collect::<Vec<_>>(),
			"workers": workers.iter().map(|(a, status, credit)| json!({
				"account": ss58(*a), "status": status, "credit": credit,
			})).collect::<Vec<_>>(),
		}),
		|| {
			let mut text = format!(
				"open tasks (per seat: what a worker's --min-payment-per-seat compares)\n{:>5}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}  {:>4}  {:>6}",
				"task", "lambda", "payment", "per seat", "executor", "monitor", "size", "credit"
			);
			for (v, seats, payout) in &open {
				text.push_str(&format!(
					"\n{:>5}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}  {:>4}  {:>6}",
					v.id,
					v.lambda,
					vouch(v.payment),
					vouch(v.payment / u128::from(*seats)),
					payout.as_ref().map(|p| vouch(p.executor)).unwrap_or_default(),
					payout.as_ref().map(|p| vouch(p.per_monitor)).unwrap_or_default(),
					v.committee_size,
					v.min_credit
				));
			}
			if open.is_empty() {
				text.push_str("\n    (none)");
			}
			text.push_str(&format!("\nworkers\n{:>6}  {:<11}  account", "credit", "status"));
			for (a, status, credit) in &workers {
				text.push_str(&format!("\n{credit:>6}  {status:<11}  {}", ss58(*a)));
			}
			text
		},
	);
	Ok(())
}

pub async fn credit(global: &Global, command: CreditCommand) -> Result<()> {
	let CreditCommand::Show { account } = command;
	let who = who(global, account)?;
	let chain = global.chain().await?;
	let credit = reads::credit(&chain.at_finalized().await?, who).await?;
	global.print(json!({ "account": ss58(who), "credit": credit }), || {
		format!("{} has credit {credit}", ss58(who))
	});
	Ok(())
}

pub async fn balance(global: &Global, account: Option<String>) -> Result<()> {
	let who = who(global, account)?;
	let chain = global.chain().await?;
	let free = reads::free_balance(&chain.at_finalized().await?, who).await?;
	global.print(
		json!({ "account": ss58(who), "free": vouch(free), "free_units": free.to_string() }),
		|| format!("{} holds {} VOUCH (free)", ss58(who), vouch(free)),
	);
	Ok(())
}
