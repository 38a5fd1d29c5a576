//! The few raw RPC calls the tests make besides subxt's typed API: block heights, the fee
//! that `payment_queryInfo` predicts, runtime API calls and, on the dev chain, sealing a block.

use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use subxt::rpcs::{client::rpc_params, RpcClient};

/// A raw JSON-RPC connection to one node.
#[derive(Clone)]
pub struct Rpc(pub RpcClient);

impl Rpc {
	/// Connects to a `ws://` address.
	pub async fn connect(url: &str) -> Result<Rpc> {
		Ok(Rpc(RpcClient::from_insecure_url(url)
			.await
			.with_context(|| format!("connecting to {url}"))?))
	}

	/// Number of the best block (`chain_getHeader`).
	pub async fn best_number(&self) -> Result<u64> {
		let header: Value = self.0.request("chain_getHeader", rpc_params![]).await?;
		header_number(&header)
	}

	/// Number of the last finalized block (`chain_getFinalizedHead`, then its header).
	pub async fn finalized_number(&self) -> Result<u64> {
		let hash: Value = self.0.request("chain_getFinalizedHead", rpc_params![]).await?;
		let header: Value = self.0.request("chain_getHeader", rpc_params![hash]).await?;
		header_number(&header)
	}

	/// The fee, without tip, that `payment_queryInfo` predicts for a signed extrinsic.
	pub async fn query_partial_fee(&self, extrinsic: &[u8]) -> Result<u128> {
		let info: Value =
			self.0.request("payment_queryInfo", rpc_params![to_hex(extrinsic)]).await?;
		// `partialFee` is a decimal string (u128 does not fit a JSON number).
		info.get("partialFee")
			.and_then(Value::as_str)
			.ok_or_else(|| anyhow!("payment_queryInfo answered without partialFee: {info}"))?
			.parse()
			.context("partialFee is not a decimal number")
	}

	/// `state_call`: calls runtime API `method` (e.g. `TasksApi_sortition`) with SCALE-encoded
	/// `args` at the best block and returns the SCALE-encoded answer.
	pub async fn state_call(&self, method: &str, args: &[u8]) -> Result<Vec<u8>> {
		let answer: String =
			self.0.request("state_call", rpc_params![method, to_hex(args)]).await?;
		from_hex(&answer)
	}

	/// `engine_createBlock` on the dev chain: seals a block now (empty if the pool is) and
	/// finalizes it.
	pub async fn create_block(&self) -> Result<()> {
		let _: Value =
			self.0.request("engine_createBlock", rpc_params![true, true, Value::Null]).await?;
		Ok(())
	}

	/// The best block's number and hash: what a quote made now refers to.
	pub async fn best_block(&self) -> Result<(u64, [u8; 32])> {
		let header: Value = self.0.request("chain_getHeader", rpc_params![]).await?;
		let number = header_number(&header)?;
		let hash: String = self.0.request("chain_getBlockHash", rpc_params![number]).await?;
		let hash: [u8; 32] =
			from_hex(&hash)?.try_into().map_err(|_| anyhow!("a block hash is 32 bytes"))?;
		Ok((number, hash))
	}

	/// `system_chain`: the chain's name.
	pub async fn chain_name(&self) -> Result<String> {
		Ok(self.0.request("system_chain", rpc_params![]).await?)
	}
}

fn header_number(header: &Value) -> Result<u64> {
	let number = header
		.get("number")
		.and_then(Value::as_str)
		.ok_or_else(|| anyhow!("header without a number: {header}"))?;
	u64::from_str_radix(number.trim_start_matches("0x"), 16)
		.with_context(|| format!("block number {number} is not hex"))
}

/// Bytes from `0x`-prefixed hex.
pub fn from_hex(hex: &str) -> Result<Vec<u8>> {
	let digits = hex.strip_prefix("0x").ok_or_else(|| anyhow!("{hex} lacks its 0x"))?;
	(0..digits.len())
		.step_by(2)
		.map(|i| {
			digits
				.get(i..i + 2)
				.and_then(|d| u8::from_str_radix(d, 16).ok())
				.ok_or_else(|| anyhow!("{hex} is not hex"))
		})
		.collect()
}

/// `0x`-prefixed lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
	let mut out = String::with_capacity(2 + bytes.len() * 2);
	out.push_str("0x");
	for b in bytes {
		out.push_str(&format!("{b:02x}"));
	}
	out
}
