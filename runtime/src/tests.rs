//! The genesis presets build a valid starting state: who validates, who is sudo, who is funded.

use crate::{genesis, Runtime, RuntimeGenesisConfig};
use polkadot_sdk::{
	frame_support::genesis_builder_helper::build_state,
	sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET},
	sp_io::TestExternalities,
	sp_keyring::{Ed25519Keyring, Sr25519Keyring},
	*,
};
use serde_json::Value;

/// Applies a preset (a JSON patch) to the default genesis config, as the node does.
fn merge(base: &mut Value, patch: Value) {
	match (base, patch) {
		(Value::Object(base), Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(Value::Null), value);
			}
		},
		(base, patch) => *base = patch,
	}
}

/// Runs `check` on the state that the preset `name` builds.
fn with_preset(name: &str, check: impl FnOnce()) {
	let patch = genesis::get_preset(&PresetId::from(name)).expect("the preset exists");
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).expect("serializes");
	merge(&mut config, serde_json::from_slice(&patch).expect("the preset is JSON"));
	let mut ext = TestExternalities::new_empty();
	ext.execute_with(|| {
		build_state::<RuntimeGenesisConfig>(serde_json::to_vec(&config).expect("serializes"))
			.expect("the preset builds a genesis state");
		check()
	});
}

fn aura_authorities() -> Vec<[u8; 32]> {
	pallet_aura::Authorities::<Runtime>::get().iter().map(|a| a.clone().into_inner().0).collect()
}

fn grandpa_authorities() -> Vec<([u8; 32], u64)> {
	pallet_grandpa::Pallet::<Runtime>::grandpa_authorities()
		.into_iter()
		.map(|(id, weight)| (id.into_inner().0, weight))
		.collect()
}

#[test]
fn the_runtime_offers_exactly_the_dev_and_local_presets() {
	let names = genesis::preset_names();
	assert_eq!(names, [DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET]);
	assert!(genesis::get_preset(&PresetId::from("mainnet")).is_none());
}

#[test]
fn development_has_alice_as_sole_authority_and_sudo_and_funds_every_dev_account() {
	with_preset(DEV_RUNTIME_PRESET, || {
		assert_eq!(aura_authorities(), [Sr25519Keyring::Alice.public().0]);
		assert_eq!(grandpa_authorities(), [(Ed25519Keyring::Alice.public().0, 1)]);
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(Sr25519Keyring::Alice.to_account_id()));
		let accounts: Vec<_> = Sr25519Keyring::well_known().collect();
		assert_eq!(accounts.len(), 12, "six dev accounts and their stashes");
		for who in &accounts {
			assert_eq!(
				pallet_balances::Pallet::<Runtime>::free_balance(who.to_account_id()),
				genesis::ENDOWMENT,
				"{who:?} is endowed"
			);
		}
		assert_eq!(
			pallet_balances::TotalIssuance::<Runtime>::get(),
			genesis::ENDOWMENT * accounts.len() as u128
		);
	});
}

#[test]
fn local_testnet_has_four_equal_validators_so_finality_survives_one_loss() {
	with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
		let expected: Vec<_> =
			genesis::LOCAL_VALIDATORS.iter().map(|(s, _)| s.public().0).collect();
		assert_eq!(aura_authorities(), expected);
		let voters = grandpa_authorities();
		let expected: Vec<_> =
			genesis::LOCAL_VALIDATORS.iter().map(|(_, e)| (e.public().0, 1)).collect();
		assert_eq!(voters, expected);
		// GRANDPA finalizes with more than 2/3 of the weight: with one voter down the rest
		// must still reach that threshold.
		let total: u64 = voters.iter().map(|(_, w)| w).sum();
		let threshold = total - (total - 1) / 3;
		assert!(total - 1 >= threshold, "{total} voters tolerate losing one");
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(Sr25519Keyring::Alice.to_account_id()));
	});
}
