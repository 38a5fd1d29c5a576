//! The Vouch runtime.
//!
//! FRAME's system pallets (balances, timestamp, transaction payment, sudo) with Aura and GRANDPA
//! for the multi-validator testnet. The Vouch pallets (registry, lambdas, tasks, escrow, credit,
//! settlement) plug in here as they land. Genesis presets for the `development` and
//! `local_testnet` chains live in [`genesis`].

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`/`impl_runtime_apis` need a higher recursion limit.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
mod configs;
pub mod genesis;
#[cfg(test)]
mod tests;
mod weights;

use polkadot_sdk::{
	frame_support, frame_system, pallet_aura, pallet_balances, pallet_grandpa, pallet_sudo,
	pallet_timestamp, pallet_transaction_payment, pallet_utility,
	sp_runtime::{
		generic, impl_opaque_keys,
		traits::{BlakeTwo256, IdentifyAccount, Verify},
		MultiAddress, MultiSignature,
	},
	sp_version::RuntimeVersion,
	*,
};

pub use apis::RuntimeApi;

/// Opaque types: what the node needs to know of the runtime without knowing its calls.
pub mod opaque {
	use super::*;
	use polkadot_sdk::sp_runtime::OpaqueExtrinsic;

	/// Opaque block header.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block.
	pub type Block = generic::Block<Header, OpaqueExtrinsic>;
	/// Opaque block identifier.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash.
	pub type Hash = <BlakeTwo256 as polkadot_sdk::sp_runtime::traits::Hash>::Output;

	impl_opaque_keys! {
		/// The session keys of a validator: Aura for authoring, GRANDPA for finality.
		pub struct SessionKeys {
			pub aura: Aura,
			pub grandpa: Grandpa,
		}
	}
}

/// The runtime's version. `spec_version` rises with every change of runtime logic,
/// `transaction_version` with every change of call indices or arguments.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("vouch"),
	impl_name: alloc::borrow::Cow::Borrowed("vouch-node"),
	authoring_version: 1,
	spec_version: 100,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Time between two Aura slots on the testnet. The dev chain's manual seal advances block
/// timestamps by at least this much per block, so Aura's slot always moves forward.
pub const SLOT_DURATION: u64 = 3000;

/// Block numbers, as everywhere in Vouch deadlines are counted in blocks.
pub type BlockNumber = u32;
/// Signatures: sr25519 in practice (the account key is also the worker's VRF key).
pub type Signature = MultiSignature;
/// An account id: the 32-byte public key of the signer.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balances, with 12 decimals (see [`UNIT`]).
pub type Balance = u128;
/// Transaction counter of an account.
pub type Nonce = u32;
/// Block hash.
pub type Hash = polkadot_sdk::sp_core::H256;

/// One unit of the native token: 10^12 plancks.
pub const UNIT: Balance = 1_000_000_000_000;
/// A thousandth of a unit.
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// A millionth of a unit.
pub const MICRO_UNIT: Balance = 1_000_000;
/// The smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header type as expected by this runtime.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// A block with its justifications.
pub type SignedBlock = generic::SignedBlock<Block>;
/// The transaction extensions, checked in this order for every signed transaction. The
/// standard set: subxt and polkadot.js know every one of them.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);
/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;
/// Storage migrations run at the next runtime upgrade (none yet).
type Migrations = ();
/// Executive: dispatches incoming extrinsics to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;
	#[runtime::pallet_index(7)]
	pub type Utility = pallet_utility;

	// Vouch. Indices 10..=19 are kept for Vouch's pallets, in the order of the story.
	#[runtime::pallet_index(10)]
	pub type Registry = pallet_vouch_registry;
	#[runtime::pallet_index(11)]
	pub type Lambdas = pallet_vouch_lambdas;
	#[runtime::pallet_index(12)]
	pub type Tasks = pallet_vouch_tasks;
	#[runtime::pallet_index(15)]
	pub type Credit = pallet_vouch_credit;
}
