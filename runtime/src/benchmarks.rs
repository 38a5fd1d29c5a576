//! The pallets `vouch-node benchmark pallet` measures (with `--features runtime-benchmarks`).

polkadot_sdk::frame_benchmarking::define_benchmarks!(
	[pallet_vouch_lambdas, Lambdas]
	[pallet_vouch_registry, Registry]
	[pallet_vouch_tasks, Tasks]
);
