//! VRF committee sortition (DESIGN §4): the one definition used by the runtime, which verifies
//! every claim, and by the executor and the CLI, which sign claims and re-check committees.
//!
//! A task's round has a public `seed`. Every worker evaluates its sr25519 VRF (schnorrkel, as
//! `sp_core::sr25519::vrf`) on the transcript [`transcript`] of `(task, seed, round)`; the
//! 16 output bytes ([`output`]) read as a little-endian `u128` are its draw `y`. It wins iff
//! [`wins`]: `y < T` with `T = u128::MAX / N * k`, `N` the number of eligible workers when the
//! round started and `k` the task's target committee size; everyone wins when `k >= N`. The
//! committee expected is therefore `k` members, each eligible worker winning with probability
//! `k / N` independently: the committee size follows Binomial(N, k/N).
//!
//! The executor is [`elect`]ed among the seats: highest credit, ties to the lowest draw.
//! Everything is integer arithmetic: the runtime must agree bit for bit with every client.

use crate::TaskId;
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_core::{
	crypto::VrfPublic,
	sr25519::{
		vrf::{VrfPreOutput, VrfProof, VrfSignData, VrfSignature, VrfTranscript},
		Public,
	},
};
use polkadot_sdk::sp_crypto_hashing::blake2_256;
use scale_info::TypeInfo;

/// The transcript's label: a proof for anything else cannot be replayed as a claim.
pub const TRANSCRIPT_LABEL: &[u8] = b"vouch-sortition";
/// The context the 16 output bytes are derived in.
pub const OUTPUT_CONTEXT: &[u8] = b"vouch-sortition-output";
/// A worker's credit score (the credit pallet's unit).
pub type Credit = u32;
/// A worker's draw: the VRF output as a number; lower is better.
pub type Draw = u128;

/// The public seed of `task`'s `round`: `blake2_256("vouch/seed" ++ task ++ block hash ++
/// round)`, SCALE-encoded, where `block_hash` is the parent of the block that started the
/// round. (Known limit: that block's author can bias it; epoch randomness is a later step.)
pub fn seed(task: TaskId, block_hash: [u8; 32], round: u32) -> [u8; 32] {
	blake2_256(&(b"vouch/seed", task, block_hash, round).encode())
}

/// The VRF input of a claim on `task`'s `round` with `seed`.
pub fn transcript(task: TaskId, seed: &[u8; 32], round: u32) -> VrfTranscript {
	VrfTranscript::new(
		TRANSCRIPT_LABEL,
		&[(b"task", &task.to_le_bytes()), (b"seed", seed), (b"round", &round.to_le_bytes())],
	)
}

/// The least number of seats for a round to elect a committee: at least half the target size
/// (`ceil(k / 2)`, at least one), and at least two when the requester asked for monitors
/// (`k >= 2`): a committee that asked for a monitor never runs unwatched. Fewer winners and the
/// round is drawn again.
pub fn min_seats(target: u32) -> u32 {
	target.div_ceil(2).max(target.min(2)).max(1)
}

/// The least number of verdicts that decide a phase among `monitors` seats: half of them,
/// rounded up (one of one, one of two, two of three). Fewer, and the phase is inconclusive:
/// redrawn, with nobody who voted blamed.
pub fn min_turnout(monitors: u32) -> u32 {
	monitors.div_ceil(2)
}

/// The winning threshold `T = u128::MAX / eligible * target`, or `None` when everyone wins
/// (`target >= eligible`).
pub fn threshold(eligible: u32, target: u32) -> Option<Draw> {
	(target < eligible).then(|| Draw::MAX / Draw::from(eligible) * Draw::from(target))
}

/// Whether `draw` wins a seat among `eligible` workers for a target of `target` seats.
pub fn wins(draw: Draw, eligible: u32, target: u32) -> bool {
	threshold(eligible, target).is_none_or(|t| draw < t)
}

/// The lottery target of an activation round with `verifiers` seats: twice the seats. The
/// round must fill all `min(verifiers, eligible)` of its seats, and with a target of exactly
/// `verifiers` the number of winners is binomial around that mean: a round came up short
/// about half the time, and with ten workers some newcomer ran out of rounds. Drawing twice
/// as many keeps the seats to the lowest draws (a lower draw evicts the highest), so a sybil
/// gains no seat by the wider draw, while a round with four or more eligible workers comes up
/// short only when most winners stay silent.
pub fn activation_target(verifiers: u32) -> u32 {
	verifiers.saturating_mul(2)
}

/// Whether `draw` may claim one of `verifiers` seats on an activation round among `eligible`
/// active workers ([`activation_target`]).
pub fn wins_activation(draw: Draw, eligible: u32, verifiers: u32) -> bool {
	wins(draw, eligible, activation_target(verifiers))
}

/// Whether a worker with `credit` may claim a seat on a task demanding `min_credit`.
pub fn is_eligible(credit: Credit, min_credit: Credit) -> bool {
	credit >= min_credit
}

/// The draw a pre-output gives for `key` on `input`; `None` if the key or the pre-output is not
/// a valid point.
pub fn output(key: &[u8; 32], input: &VrfTranscript, pre_output: &VrfPreOutput) -> Option<Draw> {
	let bytes: [u8; 16] =
		Public::from_raw(*key).make_bytes(OUTPUT_CONTEXT, input, pre_output).ok()?;
	Some(Draw::from_le_bytes(bytes))
}

/// Why a VRF claim does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofError {
	/// The proof's scalars are not canonically encoded.
	MalformedProof,
	/// The key or pre-output is not a valid point, or the proof does not verify for this key,
	/// task, seed and round.
	Invalid,
}

/// Verifies `key`'s VRF claim on `(task, seed, round)` and returns its draw.
pub fn verify(
	key: &[u8; 32],
	task: TaskId,
	seed: &[u8; 32],
	round: u32,
	pre_output: &[u8; 32],
	proof: &[u8; 64],
) -> Result<Draw, ProofError> {
	verify_input(key, transcript(task, seed, round), pre_output, proof)
}

/// The transcript label of credential-activation claims: a task claim cannot be replayed as
/// one, nor one as a task claim.
pub const ACTIVATION_LABEL: &[u8] = b"vouch-activation";

/// The public seed of a newcomer's activation `round`: `blake2_256("vouch/activation-seed" ++
/// newcomer ++ block hash ++ round)`, where `block_hash` is the parent of the block that
/// started the round.
pub fn activation_seed(newcomer: &[u8; 32], block_hash: [u8; 32], round: u32) -> [u8; 32] {
	blake2_256(&(b"vouch/activation-seed", newcomer, block_hash, round).encode())
}

/// The VRF input of a verifier's claim on `newcomer`'s activation `round` with `seed`.
pub fn activation_transcript(newcomer: &[u8; 32], seed: &[u8; 32], round: u32) -> VrfTranscript {
	VrfTranscript::new(
		ACTIVATION_LABEL,
		&[(b"newcomer", newcomer), (b"seed", seed), (b"round", &round.to_le_bytes())],
	)
}

/// Verifies `key`'s VRF claim to verify `newcomer` in `round` with `seed`; returns its draw.
pub fn verify_activation(
	key: &[u8; 32],
	newcomer: &[u8; 32],
	seed: &[u8; 32],
	round: u32,
	pre_output: &[u8; 32],
	proof: &[u8; 64],
) -> Result<Draw, ProofError> {
	verify_input(key, activation_transcript(newcomer, seed, round), pre_output, proof)
}

/// Signs `pair`'s claim to verify `newcomer` in `round` with `seed`.
#[cfg(feature = "std")]
pub fn sign_activation(
	pair: &polkadot_sdk::sp_core::sr25519::Pair,
	newcomer: &[u8; 32],
	seed: &[u8; 32],
	round: u32,
) -> Claim {
	sign_input(pair, activation_transcript(newcomer, seed, round))
}

fn verify_input(
	key: &[u8; 32],
	input: VrfTranscript,
	pre_output: &[u8; 32],
	proof: &[u8; 64],
) -> Result<Draw, ProofError> {
	let pre_output = VrfPreOutput::decode(&mut &pre_output[..]).map_err(|_| ProofError::Invalid)?;
	let proof = VrfProof::decode(&mut &proof[..]).map_err(|_| ProofError::MalformedProof)?;
	let signature = VrfSignature { pre_output, proof };
	let public = Public::from_raw(*key);
	if !public.vrf_verify(&VrfSignData::new(input.clone()), &signature) {
		return Err(ProofError::Invalid);
	}
	output(key, &input, &signature.pre_output).ok_or(ProofError::Invalid)
}

/// A worker's signed claim: what `claim_seat` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
	/// The VRF pre-output.
	pub pre_output: [u8; 32],
	/// The VRF proof.
	pub proof: [u8; 64],
	/// The draw it gives.
	pub draw: Draw,
}

/// Signs `pair`'s claim on `(task, seed, round)`: what a worker does for every round it may
/// enter. Whether it [`wins`] is for the caller to check before submitting.
#[cfg(feature = "std")]
pub fn sign(
	pair: &polkadot_sdk::sp_core::sr25519::Pair,
	task: TaskId,
	seed: &[u8; 32],
	round: u32,
) -> Claim {
	sign_input(pair, transcript(task, seed, round))
}

#[cfg(feature = "std")]
fn sign_input(pair: &polkadot_sdk::sp_core::sr25519::Pair, input: VrfTranscript) -> Claim {
	use polkadot_sdk::sp_core::{crypto::VrfSecret, Pair as _};
	let signature = pair.vrf_sign(&VrfSignData::new(input.clone()));
	let draw = output(&pair.public().0, &input, &signature.pre_output)
		.expect("a pair's own pre-output is a valid point");
	let mut pre_output = [0u8; 32];
	pre_output.copy_from_slice(&signature.pre_output.encode());
	let mut proof = [0u8; 64];
	proof.copy_from_slice(&signature.proof.encode());
	Claim { pre_output, proof, draw }
}

/// `pair`'s draw on `(task, seed, round)` without a proof: enough to know whether to claim.
#[cfg(feature = "std")]
pub fn draw(
	pair: &polkadot_sdk::sp_core::sr25519::Pair,
	task: TaskId,
	seed: &[u8; 32],
	round: u32,
) -> Draw {
	use polkadot_sdk::sp_core::{crypto::VrfSecret, Pair as _};
	let input = transcript(task, seed, round);
	let pre_output = pair.vrf_pre_output(&input);
	output(&pair.public().0, &input, &pre_output).expect("a pair's own pre-output is valid")
}

/// A committee seat: who claimed it, with what, and its credit when the committee was elected.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Seat<AccountId> {
	/// The worker.
	pub who: AccountId,
	/// Its sr25519 VRF public key (on Vouch, its account id).
	pub key: [u8; 32],
	/// The VRF pre-output it claimed with.
	pub pre_output: [u8; 32],
	/// The VRF proof.
	pub proof: [u8; 64],
	/// The draw the proof gives.
	pub draw: Draw,
	/// Its credit: at claim time, refreshed when the committee is elected.
	pub credit: Credit,
}

/// The index of the executor among `seats`: the highest credit, ties to the lowest draw; `None`
/// for no seats.
pub fn elect<AccountId>(seats: &[Seat<AccountId>]) -> Option<usize> {
	(0..seats.len()).min_by_key(|&i| (core::cmp::Reverse(seats[i].credit), seats[i].draw))
}

/// Everything a client needs to re-check a round's committee from chain data alone (the
/// tasks pallet's runtime API returns it).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct SortitionRecord<AccountId> {
	/// The task.
	pub task: TaskId,
	/// The round.
	pub round: u32,
	/// The round's seed.
	pub seed: [u8; 32],
	/// Eligible workers when the round started (`N`).
	pub eligible: u32,
	/// The task's target committee size (`k`).
	pub target: u32,
	/// The task's minimum credit.
	pub min_credit: Credit,
	/// The seats, as stored.
	pub seats: Vec<Seat<AccountId>>,
	/// The elected executor, once the round's window closed with enough seats.
	pub executor: Option<AccountId>,
}

/// Why a committee does not re-check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecheckError {
	/// Seat `index`'s proof does not verify.
	BadProof { index: usize },
	/// Seat `index`'s proof gives another draw than the one recorded.
	WrongDraw { index: usize },
	/// Seat `index`'s draw does not win.
	Losing { index: usize },
	/// Seat `index`'s credit is below the minimum.
	Ineligible { index: usize },
	/// Seat `index`'s key also holds an earlier seat.
	Duplicate { index: usize },
	/// The executor recorded is not the one the election rule gives.
	WrongExecutor,
}

/// Re-checks `record` as the runtime did: every proof, draw, win and credit, no key twice, and
/// the executor. Returns the executor's seat index, if elected.
pub fn recheck<AccountId: PartialEq>(
	record: &SortitionRecord<AccountId>,
) -> Result<Option<usize>, RecheckError> {
	for (index, seat) in record.seats.iter().enumerate() {
		let draw = verify(
			&seat.key,
			record.task,
			&record.seed,
			record.round,
			&seat.pre_output,
			&seat.proof,
		)
		.map_err(|_| RecheckError::BadProof { index })?;
		if draw != seat.draw {
			return Err(RecheckError::WrongDraw { index });
		}
		if !wins(draw, record.eligible, record.target) {
			return Err(RecheckError::Losing { index });
		}
		if !is_eligible(seat.credit, record.min_credit) {
			return Err(RecheckError::Ineligible { index });
		}
		if record.seats[..index].iter().any(|s| s.key == seat.key) {
			return Err(RecheckError::Duplicate { index });
		}
	}
	let Some(executor) = &record.executor else { return Ok(None) };
	let index = elect(&record.seats).ok_or(RecheckError::WrongExecutor)?;
	if record.seats[index].who != *executor {
		return Err(RecheckError::WrongExecutor);
	}
	Ok(Some(index))
}

#[cfg(test)]
mod tests;
