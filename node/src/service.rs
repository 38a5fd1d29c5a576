//! The node's services. One client, two ways to make blocks:
//!
//! - a chain spec of type `Development` (`--dev`) seals blocks itself (manual seal) and
//!   finalizes each at once, so clients that follow finalized blocks see every block;
//! - any other chain (`--chain local`) runs Aura for authoring and GRANDPA for finality.

use std::{sync::Arc, time::Duration};

use futures::{channel::mpsc, FutureExt, SinkExt, StreamExt};
use polkadot_sdk::{
	sc_client_api::{Backend, BlockBackend},
	sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams},
	sc_consensus_grandpa::SharedVoterState,
	sc_consensus_manual_seal::{
		consensus::aura::AuraConsensusDataProvider, EngineCommand, ManualSealParams,
	},
	sc_service::{
		error::Error as ServiceError, ChainType, Configuration, TaskManager, WarpSyncConfig,
	},
	sc_telemetry::{Telemetry, TelemetryWorker},
	sc_transaction_pool_api::{OffchainTransactionPoolFactory, TransactionPool},
	sp_consensus_aura::sr25519::{AuthorityPair as AuraPair, AuthoritySignature as AuraSignature},
	*,
};
use vouch_runtime::{opaque::Block, Hash, RuntimeApi, SLOT_DURATION};

use crate::cli::Sealing;

/// The client: the runtime always runs as wasm.
pub type FullClient = sc_service::TFullClient<
	Block,
	RuntimeApi,
	sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>,
>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;
type GrandpaLink = sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// The minimum period of blocks on which GRANDPA justifications are imported and generated.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// What `new_partial` builds: the parts the maintenance commands need, plus GRANDPA's halves
/// on Aura chains.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(Option<(GrandpaBlockImport, GrandpaLink)>, Option<Telemetry>),
>;

/// How the dev chain seals blocks (from the command line).
#[derive(Debug, Clone, Copy)]
pub struct DevSealing {
	/// Which events make a block.
	pub mode: Sealing,
	/// Milliseconds between timer blocks.
	pub block_time_ms: u64,
}

/// Whether this chain seals its own blocks instead of running Aura + GRANDPA.
fn seals_manually(config: &Configuration) -> bool {
	config.chain_spec.chain_type() == ChainType::Development
}

/// Builds the client, pool and import queue.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	if seals_manually(config) {
		let import_queue = sc_consensus_manual_seal::import_queue(
			Box::new(client.clone()),
			&task_manager.spawn_essential_handle(),
			config.prometheus_registry(),
		);
		return Ok(sc_service::PartialComponents {
			client,
			backend,
			task_manager,
			import_queue,
			keystore_container,
			select_chain,
			transaction_pool,
			other: (None, telemetry),
		});
	}

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		GRANDPA_JUSTIFICATION_PERIOD,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	let cidp_client = client.clone();
	let import_queue =
		sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(ImportQueueParams {
			block_import: grandpa_block_import.clone(),
			justification_import: Some(Box::new(grandpa_block_import.clone())),
			client: client.clone(),
			create_inherent_data_providers: move |parent_hash, _| {
				let cidp_client = cidp_client.clone();
				async move {
					let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
						&*cidp_client,
						parent_hash,
					)?;
					let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
					let slot =
						sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
							*timestamp,
							slot_duration,
						);
					Ok((slot, timestamp))
				}
			},
			spawner: &task_manager.spawn_essential_handle(),
			registry: config.prometheus_registry(),
			check_for_equivocation: Default::default(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			compatibility_mode: Default::default(),
		})?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (Some((grandpa_block_import, grandpa_link)), telemetry),
	})
}

/// Builds and starts the full node.
pub fn new_full<
	N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
>(
	config: Configuration,
	sealing: DevSealing,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa_parts, mut telemetry),
	} = new_partial(&config)?;

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	// GRANDPA's gossip protocol and warp sync exist only on Aura chains.
	let grandpa = match grandpa_parts {
		Some((block_import, link)) => {
			let protocol_name = sc_consensus_grandpa::protocol_standard_name(
				&client.block_hash(0).ok().flatten().expect("Genesis block exists; qed"),
				&config.chain_spec,
			);
			let (protocol_config, notification_service) =
				sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
					protocol_name.clone(),
					metrics.clone(),
					net_config.peer_store_handle(),
				);
			net_config.add_notification_protocol(protocol_config);
			Some((block_import, link, protocol_name, notification_service))
		},
		None => None,
	};
	let warp_sync_config = grandpa.as_ref().map(|(_, link, ..)| {
		WarpSyncConfig::WithProvider(Arc::new(
			sc_consensus_grandpa::warp_proof::NetworkProvider::new(
				backend.clone(),
				link.shared_authority_set().clone(),
				Vec::default(),
			),
		))
	});

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config,
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: true,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	// The dev chain's seal engine takes commands from the RPC, the pool and a timer.
	let (seal_sink, seal_commands) = mpsc::channel::<EngineCommand<Hash>>(1024);
	let manual_seal = grandpa.is_none();

	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		let seal_sink = seal_sink.clone();

		Box::new(move |_| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				manual_seal: manual_seal.then(|| seal_sink.clone()),
			};
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	let _rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: Arc::new(network.clone()),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	if !role.is_authority() {
		return Ok(task_manager);
	}

	let proposer_factory = sc_basic_authorship::ProposerFactory::new(
		task_manager.spawn_handle(),
		client.clone(),
		transaction_pool.clone(),
		prometheus_registry.as_ref(),
		telemetry.as_ref().map(|x| x.handle()),
	);

	let Some((block_import, grandpa_link, grandpa_protocol_name, grandpa_notification_service)) =
		grandpa
	else {
		start_dev_sealing(
			&task_manager,
			client,
			transaction_pool,
			select_chain,
			proposer_factory,
			seal_sink,
			seal_commands,
			sealing,
		)?;
		return Ok(task_manager);
	};

	let slot_duration = sc_consensus_aura::slot_duration(&*client)?;
	let aura =
		sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(StartAuraParams {
			slot_duration,
			client,
			select_chain,
			block_import,
			proposer_factory,
			create_inherent_data_providers: move |_, ()| async move {
				let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
				let slot =
					sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
						*timestamp,
						slot_duration,
					);
				Ok((slot, timestamp))
			},
			force_authoring,
			backoff_authoring_blocks: Option::<()>::None,
			keystore: keystore_container.keystore(),
			sync_oracle: sync_service.clone(),
			justification_sync_link: sync_service.clone(),
			block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
			max_block_proposal_slot_portion: None,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			compatibility_mode: Default::default(),
		})?;
	// Authoring is essential: if it fails, the node stops.
	task_manager.spawn_essential_handle().spawn_blocking("aura", Some("block-authoring"), aura);

	if enable_grandpa {
		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
			name: Some(name),
			observer_enabled: false,
			keystore: Some(keystore_container.keystore()),
			local_role: role,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};
		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service: grandpa_notification_service,
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};
		// The voter is essential too: a node that cannot vote must not look healthy.
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	Ok(task_manager)
}

/// Starts the dev chain's seal engine: blocks on transactions, on a timer and/or on
/// `engine_createBlock`, each finalized as soon as it is sealed.
#[allow(clippy::too_many_arguments)]
fn start_dev_sealing(
	task_manager: &TaskManager,
	client: Arc<FullClient>,
	pool: Arc<sc_transaction_pool::TransactionPoolHandle<Block, FullClient>>,
	select_chain: FullSelectChain,
	proposer_factory: sc_basic_authorship::ProposerFactory<
		sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
		FullClient,
	>,
	seal_sink: mpsc::Sender<EngineCommand<Hash>>,
	rpc_commands: mpsc::Receiver<EngineCommand<Hash>>,
	sealing: DevSealing,
) -> Result<(), ServiceError> {
	let seal = |create_empty| EngineCommand::SealNewBlock {
		create_empty,
		finalize: true,
		parent_hash: None,
		sender: None,
	};

	let on_transaction = matches!(sealing.mode, Sealing::Hybrid | Sealing::Instant);
	let on_timer = matches!(sealing.mode, Sealing::Hybrid | Sealing::Interval);

	let mut commands = rpc_commands.boxed();
	if on_transaction {
		let pool_commands = pool.import_notification_stream().map(move |_| seal(false));
		commands = futures::stream::select(commands, pool_commands).boxed();
	}
	if on_timer {
		let period = Duration::from_millis(sealing.block_time_ms);
		let mut sink = seal_sink;
		task_manager.spawn_essential_handle().spawn("dev-seal-timer", None, async move {
			// The first block comes right away, then one per period.
			loop {
				if sink.send(seal(true)).await.is_err() {
					break;
				}
				futures_timer::Delay::new(period).await;
			}
		});
	}

	let cidp_client = client.clone();
	let params = ManualSealParams {
		block_import: client.clone(),
		env: proposer_factory,
		client: client.clone(),
		pool,
		commands_stream: commands,
		select_chain,
		consensus_data_provider: Some(Box::new(AuraConsensusDataProvider::new(client))),
		create_inherent_data_providers: move |parent: Hash, ()| {
			let client = cidp_client.clone();
			async move { Ok(dev_timestamp(&*client, parent)?) }
		},
	};
	task_manager.spawn_essential_handle().spawn_blocking(
		"manual-seal",
		Some("block-authoring"),
		sc_consensus_manual_seal::run_manual_seal(params),
	);
	log::info!(
		"🔨 Dev chain sealing: {:?}, timer {} ms, finalizing every block",
		sealing.mode,
		sealing.block_time_ms
	);
	Ok(())
}

/// The dev chain's block timestamp: the wall clock, but at least one Aura slot after the
/// parent's slot. Aura rejects two blocks in one slot, and the dev chain may seal several
/// blocks a second, so its timestamps can run ahead of the wall clock while it is busy.
fn dev_timestamp(
	client: &FullClient,
	parent: Hash,
) -> Result<sp_timestamp::InherentDataProvider, Box<dyn std::error::Error + Send + Sync>> {
	let parent_slot = client
		.header(parent)?
		.and_then(|header| sc_consensus_aura::find_pre_digest::<Block, AuraSignature>(&header).ok())
		.map(u64::from)
		.unwrap_or(0);
	let now = sp_timestamp::Timestamp::current().as_millis();
	let next = now.max((parent_slot + 1) * SLOT_DURATION);
	Ok(sp_timestamp::InherentDataProvider::new(next.into()))
}
