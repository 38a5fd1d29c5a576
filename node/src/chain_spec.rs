//! Chain specifications: the `dev` and `local` chains built from the runtime's genesis presets.

use polkadot_sdk::{
	sc_service::{self, ChainType},
	sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET},
};
use vouch_runtime::WASM_BINARY;

/// A chain spec of the Vouch runtime (no client extensions).
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token metadata shown by wallets and polkadot.js apps.
fn properties() -> sc_service::Properties {
	let mut p = sc_service::Properties::new();
	p.insert("tokenSymbol".into(), "VOUCH".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY
		.ok_or_else(|| "the node was built without the runtime wasm (SKIP_WASM_BUILD)".into())
}

/// `--dev`: Alice alone authors by manual seal; dev accounts are funded; Alice is sudo.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Vouch Development")
		.with_id("vouch_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// `--chain local`: Alice, Bob, Charlie and Dave validate with Aura + GRANDPA.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Vouch Local Testnet")
		.with_id("vouch_local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// Resolves `--chain`: a built-in name or the path of a chain-spec JSON file.
pub fn load(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
	Ok(match id {
		"dev" => Box::new(development_chain_spec()?),
		"" | "local" => Box::new(local_chain_spec()?),
		path if std::path::Path::new(path).is_file() => Box::new(
			ChainSpec::from_json_file(std::path::PathBuf::from(path))
				.map_err(|e| format!("chain spec file {path} is malformed: {e}"))?,
		),
		other => {
			return Err(format!(
				"unknown chain '{other}': use 'dev', 'local' or the path of a chain-spec JSON file"
			))
		},
	})
}
