//! What following a task as a key owner needs, shared by `vouch task post --wait`, `vouch task
//! watch` and `vouch lambda serve`: the release policy's flags, the lambda a task runs (for
//! its code key), and the report of what a watch saw.

use anyhow::Result;
use clap::Args;
use vouch_client::{
	chain::AtBlock,
	key_owner::{Policy, Watched},
	reads,
};
use vouch_primitives::TaskId;

use super::{exit, fail, parse_image_id, ss58};

/// When the keys you owe are released: each bound tightens what the chain already demands.
#[derive(Args, Clone, Default)]
pub struct PolicyArgs {
	/// Release only once this many monitors confirmed the executor's sandbox on-chain.
	#[arg(long)]
	quorum: Option<u32>,
	/// Release only to an executor with at least this credit.
	#[arg(long, default_value_t = 0)]
	min_executor_credit: u32,
	/// Release only if the executor attested this image ID (`sha256:<hex>`; default the
	/// lambda's).
	#[arg(long)]
	expect_image: Option<String>,
}

impl PolicyArgs {
	pub fn policy(&self) -> Result<Policy> {
		Ok(Policy {
			quorum: self.quorum,
			min_executor_credit: self.min_executor_credit,
			expect_image: match &self.expect_image {
				Some(text) => Some(parse_image_id("--expect-image", text)?),
				None => None,
			},
		})
	}
}

/// Lambda `id`, or a not-found failure naming it.
pub async fn lambda(at: &AtBlock, id: u64) -> Result<reads::LambdaView> {
	reads::lambda(at, id).await?.ok_or_else(|| {
		fail(exit::NOT_FOUND, format!("--lambda: there is no lambda {id} (`vouch lambda list`)"))
	})
}

/// Prints what a watch saw, on stderr (stdout stays for the result).
pub fn report(task: TaskId, event: &Watched) {
	match event {
		Watched::Status { name, block } => eprintln!("task {task}: {name} (block {block})"),
		Watched::Backed => {
			eprintln!("task {task}: your keys are backed (your key bond is held until the end)")
		},
		Watched::Checked(c) => {
			eprintln!(
				"task {task}: checked off-chain: {} VRF proofs re-verified, executor's Before quote verified (block {}), image sha256:{}…, {} of {} monitors confirmed",
				c.seats.len(),
				c.quote_block,
				&hex::encode(c.image_id)[..12],
				c.confirmed.0,
				c.confirmed.1
			);
			for (i, (who, draw, credit)) in c.seats.iter().enumerate() {
				eprintln!(
					"    {} {}  credit {credit:>5}  draw {draw:032x}",
					if i == c.executor { "executor" } else { "monitor " },
					ss58(*who)
				);
			}
		},
		Watched::Released(slot) => {
			eprintln!("task {task}: released the key of slot {slot}, sealed to the executor's TPM")
		},
	}
}
