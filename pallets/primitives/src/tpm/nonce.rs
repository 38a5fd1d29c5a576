//! The qualifying data Vouch asks TPMs to sign: recomputed by the runtime from chain data, so a
//! quote or certification made for anything else does not verify.

use crate::{Phase, TaskId};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sha2::{Digest, Sha256};

/// What the executor measured of a task: the image, the code and inputs, the sandbox policy
/// and, after the run, the result, the commitment to its keys and the exit status.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Measurements {
	/// The job image's ID (sha256 of its config).
	pub image_id: [u8; 32],
	/// [`code_input_hash`] of the code's and the inputs' CIDs, in the task's order.
	pub code_input_hash: [u8; 32],
	/// The sandbox policy's hash ([`crate::sandbox::SandboxPolicy::hash`]), of the policy the
	/// executor rebuilt from what the Docker daemon reports after creating the container.
	pub sandbox_policy_hash: [u8; 32],
	/// SHA-256 of the encrypted result (`After` only).
	pub result_hash: Option<[u8; 32]>,
	/// `result_keys_commitment` of the result key sealed to each recipient (`After` only):
	/// the keys the executor must reveal are the ones its TPM quoted.
	pub keys_commitment: Option<[u8; 32]>,
	/// The job's exit status (`After` only).
	pub exit_status: Option<i32>,
}

/// `SHA256("vouch/quote" ++ task ++ round ++ phase ++ block hash ++ measurements)`,
/// SCALE-encoded: the qualifying data of the executor's quote for `phase` of `task`'s committee
/// `round`, made after block `block_hash`. The round makes a quote evidence about that round
/// only: an honest executor elected again in a later round of the same task may measure
/// another result, and its old quote must not read as a contradiction.
pub fn quote_nonce(
	task: TaskId,
	round: u32,
	phase: Phase,
	block_hash: &[u8; 32],
	measurements: &Measurements,
) -> [u8; 32] {
	Sha256::digest((b"vouch/quote", task, round, phase, block_hash, measurements).encode()).into()
}

/// `SHA256("vouch/challenge" ++ task ++ round ++ phase ++ monitor nonce ++ measurements)`,
/// SCALE-encoded: the qualifying data of a live quote the executor gives a monitor that
/// challenges it with `monitor_nonce` about `phase` of `round`. Its own domain means no
/// challenge answer can ever equal a [`quote_nonce`] (short of a SHA-256 collision), and the
/// executor never signs caller-chosen bytes: a monitor's challenge obtains a quote of what the
/// executor measured for that task, round and phase, and nothing else. So an answer is evidence
/// of a lie exactly when those measurements are not the ones attested.
pub fn challenge_nonce(
	task: TaskId,
	round: u32,
	phase: Phase,
	monitor_nonce: &[u8; 32],
	measurements: &Measurements,
) -> [u8; 32] {
	Sha256::digest((b"vouch/challenge", task, round, phase, monitor_nonce, measurements).encode())
		.into()
}

/// `SHA256("vouch/inputs" ++ code CID ++ [input CIDs])`, SCALE-encoded: the
/// [`Measurements::code_input_hash`] of a task running `code_cid` on `input_cids`, in the
/// task's order. The chain computes it when the task is posted; the executor, from what it
/// fetched.
pub fn code_input_hash(code_cid: &[u8], input_cids: &[&[u8]]) -> [u8; 32] {
	Sha256::digest((b"vouch/inputs", code_cid, input_cids).encode()).into()
}

/// `SHA256("vouch/register" ++ account)`: the qualifying data of the certification of a
/// worker's sealing key, binding its TPM material to the account registering it (a copy of
/// someone else's material cannot be registered by another account).
pub fn registration_nonce(account: &[u8]) -> [u8; 32] {
	Sha256::digest((b"vouch/register", account).encode()).into()
}

/// The inputs of the committed TPM fixtures (`fixtures/tpm/`): the executor's `tpm fixtures`
/// command makes evidence for exactly these, and the verifier's tests recompute the nonces.
pub mod fixture_inputs {
	use super::Measurements;

	/// The account the fixtures' worker registers as.
	pub const ACCOUNT: [u8; 32] = [0x11; 32];
	/// The quoted task.
	pub const TASK: u64 = 7;
	/// The quoted committee round.
	pub const ROUND: u32 = 0;
	/// The block hash the quote is made after.
	pub const BLOCK: [u8; 32] = [0x22; 32];
	/// What the executor measured (a `Before` quote: no result yet).
	pub const MEASUREMENTS: Measurements = Measurements {
		image_id: [0x33; 32],
		code_input_hash: [0x44; 32],
		sandbox_policy_hash: [0x55; 32],
		result_hash: None,
		keys_commitment: None,
		exit_status: None,
	};
	/// What the executor measured after the run (the `After` quote): the same and a result.
	pub const AFTER_MEASUREMENTS: Measurements = Measurements {
		result_hash: Some([0x66; 32]),
		keys_commitment: Some([0x68; 32]),
		exit_status: Some(0),
		..MEASUREMENTS
	};
	/// The fixture worker's launch log: the digests its executor PCR was extended with before
	/// its keys were made (an executor, a job runtime, a sandbox configuration).
	pub const LAUNCH_LOG: [[u8; 32]; 3] = [[0x77; 32], [0x88; 32], [0x99; 32]];
}
