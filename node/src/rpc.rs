//! The node's RPC methods beyond Substrate's standard ones (chain, state, author, system):
//! account nonces, fee queries and, on the dev chain, manual sealing.

use std::sync::Arc;

use futures::channel::mpsc;
use jsonrpsee::RpcModule;
use polkadot_sdk::{
	sc_consensus_manual_seal::{
		rpc::{ManualSeal, ManualSealApiServer},
		EngineCommand,
	},
	sc_transaction_pool_api::TransactionPool,
	sp_api::ProvideRuntimeApi,
	sp_block_builder::BlockBuilder,
	sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata},
	*,
};
use vouch_runtime::{opaque::Block, AccountId, Balance, Hash, Nonce};

/// What the RPC handlers need.
pub struct FullDeps<C, P> {
	/// The client instance to use.
	pub client: Arc<C>,
	/// Transaction pool instance.
	pub pool: Arc<P>,
	/// The dev chain's seal engine, for `engine_createBlock` and `engine_finalizeBlock`.
	pub manual_seal: Option<mpsc::Sender<EngineCommand<Hash>>>,
}

/// Builds the RPC extensions: `system_accountNextIndex`, `payment_queryInfo`,
/// `payment_queryFeeDetails` and, on the dev chain, `engine_*`.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, manual_seal } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;
	if let Some(sender) = manual_seal {
		module.merge(ManualSeal::new(sender).into_rpc())?;
	}

	Ok(module)
}
