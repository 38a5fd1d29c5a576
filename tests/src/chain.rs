//! Reading chain state the way any client does: through the metadata, by pallet and item name.

use anyhow::Result;
use subxt::{dynamic, ext::scale_decode, utils::H256, OnlineClient, PolkadotConfig};

#[derive(Debug, scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct AccountInfo {
	data: AccountData,
}

/// The balances of an account (`System.Account`'s `data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
pub struct AccountData {
	/// Spendable.
	pub free: u128,
	/// Held: escrow and bonds are here.
	pub reserved: u128,
}

/// `who`'s balances at block `at`.
pub async fn account_at(
	api: &OnlineClient<PolkadotConfig>,
	at: H256,
	who: [u8; 32],
) -> Result<AccountData> {
	let address = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let at = api.at_block(at).await?;
	Ok(at.storage().fetch(address, (who,)).await?.decode()?.data)
}

/// `who`'s balances at the last finalized block.
pub async fn account(api: &OnlineClient<PolkadotConfig>, who: [u8; 32]) -> Result<AccountData> {
	let at = api.at_current_block().await?.block_hash();
	account_at(api, at, who).await
}

/// `Balances.TotalIssuance` at the last finalized block.
pub async fn total_issuance(api: &OnlineClient<PolkadotConfig>) -> Result<u128> {
	let at = api.at_current_block().await?;
	let address = dynamic::storage::<(), u128>("Balances", "TotalIssuance");
	Ok(at.storage().fetch(address, ()).await?.decode()?)
}
