//! The Vouch pallets' weights as measured by `scripts/benchmark.sh` (FRAME benchmarks run by
//! `vouch-node benchmark pallet` on the project's 2-core build machine, dev-profile node: the
//! host side runs unoptimised, so these err on the heavy side).

pub mod pallet_vouch_lambdas;
pub mod pallet_vouch_registry;
pub mod pallet_vouch_tasks;
