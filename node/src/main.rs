//! `vouch-node`: the Substrate node of the Vouch trusted-compute network.

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() {
	if let Err(e) = command::run() {
		// One line that names the problem, not a Debug dump.
		eprintln!("Error: {e}");
		std::process::exit(1);
	}
}
