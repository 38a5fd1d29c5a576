//! Genesis presets: the starting state of the `development` and `local_testnet` chains.
//!
//! The node turns a preset into a chain spec (`vouch-node build-spec`); the committed specs in
//! `chain-spec/` are generated from these and checked against them by a test.

use crate::{AccountId, BalancesConfig, RuntimeGenesisConfig, SudoConfig, UNIT};
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
	frame_support::build_struct_json_patch,
	sp_consensus_aura::sr25519::AuthorityId as AuraId,
	sp_consensus_grandpa::AuthorityId as GrandpaId,
	sp_genesis_builder::{self, PresetId},
	sp_keyring::{Ed25519Keyring, Sr25519Keyring},
	*,
};
use serde_json::Value;

/// What every well-known dev account holds at genesis: one million units.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// The credit each demo worker starts with on the dev chain: enough for tasks that demand
/// credit 100 (the story's Alice does), which honest work alone earns only in ten days
/// (`CapPerPeriod` a day). A real chain starts every worker at zero.
pub const DEMO_WORKER_CREDIT: u32 = 100;

/// The dev chain's demo workers: the dev accounts that neither request (Alice) nor develop
/// (Bob), and the six stashes. Ten, the story's committee.
pub fn demo_workers() -> Vec<AccountId> {
	let mut workers: Vec<AccountId> = [
		Sr25519Keyring::Charlie,
		Sr25519Keyring::Dave,
		Sr25519Keyring::Eve,
		Sr25519Keyring::Ferdie,
	]
	.iter()
	.map(|k| k.to_account_id())
	.collect();
	workers.extend(
		[
			Sr25519Keyring::AliceStash,
			Sr25519Keyring::BobStash,
			Sr25519Keyring::CharlieStash,
			Sr25519Keyring::DaveStash,
			Sr25519Keyring::EveStash,
			Sr25519Keyring::FerdieStash,
		]
		.iter()
		.map(|k| k.to_account_id()),
	);
	workers
}

/// The test TPM manufacturer's root CA (DER), made by `scripts/tpm/test-ca.sh`: the EK
/// certificates of the swtpm workers that `scripts/tpm/swtpm.sh` provisions chain to it. Only
/// the dev and local chains trust it.
pub const TEST_TPM_ROOT: &[u8] = include_bytes!("../../chain-spec/test-tpm-ca/root.der");

/// The boot state the dev and local chains allow: PCRs 0-7 all zero, as in a swtpm that no
/// firmware measured into. A real chain lists its hosts' known-good boot states instead.
pub fn swtpm_boot_state() -> [u8; 32] {
	vouch_primitives::tpm::verify::pcr_digest(&[[0u8; 32]; 8])
}

/// The validators of the local testnet. Four, not three: GRANDPA finalizes with more than
/// two thirds of the voters, so three voters stall when one is down and four tolerate one.
pub const LOCAL_VALIDATORS: [(Sr25519Keyring, Ed25519Keyring); 4] = [
	(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
	(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
	(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
	(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
];

fn genesis(
	authorities: Vec<(AuraId, GrandpaId)>,
	endowed: Vec<AccountId>,
	root: AccountId,
	credits: Vec<(AccountId, u32)>,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|who| (who, ENDOWMENT)).collect::<Vec<_>>(),
		},
		aura: pallet_aura::GenesisConfig {
			authorities: authorities.iter().map(|(aura, _)| aura.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: authorities
				.into_iter()
				.map(|(_, grandpa)| (grandpa, 1))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		credit: pallet_vouch_credit::GenesisConfig { credits },
		registry: pallet_vouch_registry::GenesisConfig {
			trusted_roots: vec![TEST_TPM_ROOT.to_vec()],
			allowed_pcr_digests: vec![swtpm_boot_state()],
		},
	})
}

/// A validator's session keys: its sr25519 key for Aura, its ed25519 key for GRANDPA.
fn authority((aura, grandpa): (Sr25519Keyring, Ed25519Keyring)) -> (AuraId, GrandpaId) {
	(aura.public().into(), grandpa.public().into())
}

/// The well-known dev accounts (Alice .. Ferdie and their stashes), all endowed.
fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// `development`: one authority (Alice), who is also sudo; the demo workers start with
/// [`DEMO_WORKER_CREDIT`].
pub fn development() -> Value {
	genesis(
		vec![authority(LOCAL_VALIDATORS[0])],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		demo_workers().into_iter().map(|who| (who, DEMO_WORKER_CREDIT)).collect(),
	)
}

/// `local_testnet`: Alice, Bob, Charlie and Dave validate; Alice is sudo.
pub fn local_testnet() -> Value {
	genesis(
		LOCAL_VALIDATORS.into_iter().map(authority).collect(),
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		Vec::new(),
	)
}

/// The preset of the given name, as JSON, or `None` for an unknown name.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_str() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
