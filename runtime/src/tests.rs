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

/// The dev chain seeds the ten demo workers with credit enough for the story's task (minimum
/// credit 100), and nobody else; the local testnet seeds nobody.
#[test]
fn only_the_dev_chain_seeds_credit_and_only_for_its_demo_workers() {
	use pallet_vouch_credit::CreditLedger;
	let credit = |who: &crate::AccountId| {
		<pallet_vouch_credit::Pallet<Runtime> as CreditLedger<_>>::credit_of(who)
	};
	with_preset(DEV_RUNTIME_PRESET, || {
		let workers = genesis::demo_workers();
		assert_eq!(workers.len(), 10, "the story's committee");
		for who in &workers {
			assert_eq!(credit(who), genesis::DEMO_WORKER_CREDIT);
		}
		assert_eq!(credit(&Sr25519Keyring::Alice.to_account_id()), 0, "the requester is no worker");
		assert_eq!(credit(&Sr25519Keyring::Bob.to_account_id()), 0, "the developer is no worker");
		assert_eq!(pallet_vouch_credit::Credits::<Runtime>::iter().count(), 10);
	});
	with_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
		assert_eq!(pallet_vouch_credit::Credits::<Runtime>::iter().count(), 0);
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

/// The dev and local chains trust the test TPM manufacturer CA and a swtpm's boot state: a
/// worker whose swtpm was provisioned by `scripts/tpm/swtpm.sh` registers with its real evidence
/// (the committed fixtures), verified by the runtime's own verifier; a copy of it registered by
/// another account, or a chain that trusts no root, refuses it.
#[test]
fn dev_and_local_chains_verify_swtpm_workers_against_the_test_ca() {
	use crate::{AccountId, Registry, RuntimeOrigin, UNIT};
	use pallet_vouch_registry::{TpmEvidence, TpmQuotePolicy, TrustedTpmRoots};
	use polkadot_sdk::frame_support::{assert_noop, assert_ok, traits::fungible::Mutate};
	use vouch_primitives::tpm::{fixtures::*, nonce::fixture_inputs::ACCOUNT};
	fn bounded<S: polkadot_sdk::frame_support::traits::Get<u32>>(
		b: &[u8],
	) -> polkadot_sdk::frame_support::BoundedVec<u8, S> {
		b.to_vec().try_into().unwrap()
	}
	let evidence = TpmEvidence::try_from(registration_evidence()).expect("within the bounds");
	let allow_fixture_launch = || {
		for digest in vouch_primitives::tpm::nonce::fixture_inputs::LAUNCH_LOG {
			assert_ok!(Registry::allow_build(
				RuntimeOrigin::root(),
				digest,
				pallet_vouch_registry::BuildKind::Executor,
				bounded(b"fixture executor"),
			));
		}
	};
	// `who` registers the fixture's evidence with a bond of 100 units.
	let register = |who: &AccountId| {
		Registry::register(
			RuntimeOrigin::signed(who.clone()),
			evidence.clone(),
			bounded(b"http://127.0.0.1:8700"),
			100 * UNIT,
		)
	};
	for preset in [DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET] {
		with_preset(preset, || {
			let worker = AccountId::from(ACCOUNT);
			pallet_balances::Pallet::<Runtime>::set_balance(&worker, 1_000 * UNIT);
			// No executor build is allowed at genesis: root allows the one a worker launched
			// (as `scripts/run-dev.sh` does) before it can register.
			assert_noop!(
				register(&worker),
				pallet_vouch_registry::Error::<Runtime>::BuildNotAllowed
			);
			allow_fixture_launch();
			// The chain's clock at zero: no certificate of the chain is valid yet.
			assert_noop!(
				register(&worker),
				pallet_vouch_registry::Error::<Runtime>::EkCertificateNotValidNow
			);
			pallet_timestamp::Now::<Runtime>::put(valid_at() * 1000);
			let root: pallet_vouch_registry::Certificate = bounded(ROOT);
			assert_eq!(TrustedTpmRoots::<Runtime>::get().to_vec(), vec![root]);
			assert_eq!(
				TpmQuotePolicy::<Runtime>::get().allowed_digests.to_vec(),
				vec![boot_state()],
				"a swtpm's boot state is allowed"
			);
			let other = Sr25519Keyring::Bob.to_account_id();
			assert_noop!(
				register(&other),
				pallet_vouch_registry::Error::<Runtime>::CertificationWrongNonce
			);
			assert_ok!(register(&worker));
			let tpm = pallet_vouch_registry::Workers::<Runtime>::get(&worker).unwrap().tpm;
			assert_eq!(tpm.sealing_public.to_vec(), SEALING_PUBLIC);
		});
	}
	with_preset(DEV_RUNTIME_PRESET, || {
		pallet_timestamp::Now::<Runtime>::put(valid_at() * 1000);
		allow_fixture_launch();
		TrustedTpmRoots::<Runtime>::kill();
		let worker = AccountId::from(ACCOUNT);
		pallet_balances::Pallet::<Runtime>::set_balance(&worker, 1_000 * UNIT);
		assert_noop!(register(&worker), pallet_vouch_registry::Error::<Runtime>::EkIssuerUntrusted);
	});
}

/// The metadata the `vouch-client` crate's static types are generated from
/// (`client/metadata/vouch.scale`) is this runtime's: a runtime change that alters a call, an
/// event or a type fails here until `scripts/refresh-metadata.sh` rewrites the file.
#[test]
fn the_clients_metadata_file_is_this_runtimes() {
	let current: Vec<u8> =
		Runtime::metadata_at_version(16).expect("the runtime serves metadata V16").to_vec();
	let path =
		std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/metadata/vouch.scale");
	if std::env::var_os("VOUCH_WRITE_METADATA").is_some() {
		std::fs::create_dir_all(path.parent().unwrap()).expect("creating client/metadata");
		std::fs::write(&path, &current).expect("writing client/metadata/vouch.scale");
		return;
	}
	let committed = std::fs::read(&path).unwrap_or_default();
	assert!(
		committed == current,
		"{} is stale against the runtime ({} bytes committed, {} now): run \
		 scripts/refresh-metadata.sh and commit the file",
		path.display(),
		committed.len(),
		current.len()
	);
}

/// Block space is priced so that stuffing cannot cheaply keep a duty out of its window: the
/// normal share of one block costs several VOUCH, the chain's shortest phase window more than
/// the slashes an attacker could cause, while a large real call (a worker's registration, a
/// few KB of TPM evidence) stays cheap.
#[test]
fn stuffing_a_duty_window_costs_more_than_the_slashes_it_could_cause() {
	use crate::{configs::MinDeadlines, UNIT};
	use frame_support::{dispatch::DispatchClass, traits::Get};
	let fee = pallet_transaction_payment::Pallet::<Runtime>::length_to_fee;
	let length = <Runtime as frame_system::Config>::BlockLength::get();
	let per_block = fee(*length.max.get(DispatchClass::Normal));
	assert!(per_block >= 5 * UNIT, "a full block costs {per_block}");
	let d = MinDeadlines::get();
	let shortest = [d.sortition, d.attestation, d.key_release, d.run, d.verdicts]
		.into_iter()
		.chain([<Runtime as pallet_vouch_tasks::Config>::RevealBlocks::get()])
		.min()
		.unwrap();
	let slashes = <<Runtime as pallet_vouch_tasks::Config>::MissedDutySlash as Get<u128>>::get()
		+ <<Runtime as pallet_vouch_tasks::Config>::FaultSlash as Get<u128>>::get();
	assert!(per_block * u128::from(shortest) > slashes);
	assert!(fee(4096) <= UNIT / 100, "4 KB cost {}", fee(4096));
}
