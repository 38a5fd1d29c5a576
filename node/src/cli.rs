//! Command-line interface: Substrate's standard flags plus how the dev chain seals blocks.

use polkadot_sdk::sc_cli;

/// How the `--dev` chain makes blocks. The testnet (`--chain local`) always uses Aura + GRANDPA.
#[derive(Debug, Copy, Clone, PartialEq, Eq, clap::ValueEnum)]
pub enum Sealing {
	/// A block as soon as a transaction arrives, and one every `--block-time` milliseconds when
	/// none does. Every block is finalized at once.
	Hybrid,
	/// A block only when a transaction arrives (or `engine_createBlock` is called), finalized at
	/// once. The chain stands still while nobody transacts.
	Instant,
	/// A block every `--block-time` milliseconds, finalized at once.
	Interval,
	/// Blocks only on the `engine_createBlock` / `engine_finalizeBlock` RPC calls.
	Manual,
}

/// Flags of `vouch-node` on top of Substrate's `run` flags.
#[derive(Debug, clap::Parser)]
pub struct NodeRunCmd {
	#[allow(missing_docs)]
	#[clap(flatten)]
	pub base: sc_cli::RunCmd,

	/// Block production of the dev chain (ignored by Aura chains such as `--chain local`).
	#[arg(long, value_enum, default_value_t = Sealing::Hybrid, env = "VOUCH_SEALING")]
	pub sealing: Sealing,

	/// Milliseconds between blocks for `--sealing hybrid` and `--sealing interval`. The default
	/// is one Aura slot: shorter block times make block timestamps run ahead of the clock.
	#[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=60_000), env = "VOUCH_BLOCK_TIME")]
	pub block_time: u64,
}

/// The node's command line.
#[derive(Debug, clap::Parser)]
#[command(
	propagate_version = true,
	args_conflicts_with_subcommands = true,
	subcommand_negates_reqs = true
)]
pub struct Cli {
	/// A maintenance subcommand; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	#[allow(missing_docs)]
	#[clap(flatten)]
	pub run: NodeRunCmd,
}

/// Maintenance subcommands (Substrate's standard set).
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management tools.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (deprecated name of `export-chain-spec`, kept for tools).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification of `--chain` as JSON.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Measure the pallets' weights (built with `--features runtime-benchmarks`).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(polkadot_sdk::frame_benchmarking_cli::BenchmarkCmd),
}
