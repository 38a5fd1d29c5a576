//! A task's records: what Alice asked for, and where the task is in its life, with the small
//! methods that need nothing but the record (its key slots and their owners, its monitors), so
//! that the calls, the hook and the life cycle all read them from one place.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_vouch_credit::Credit;
use pallet_vouch_lambdas::Cid;
use pallet_vouch_registry::TpmStruct;
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;
use vouch_primitives::{sortition::Seat, tpm::attest::ClockInfo, LambdaId};
pub use vouch_primitives::{tpm::nonce::Measurements, Phase};

/// Largest committee any runtime may allow (one executor, the rest monitors).
pub const MAX_COMMITTEE: u32 = 32;
/// Fewest rejections that can reject a phase: one monitor alone (a requester's sybil, say)
/// cannot void an honest run by its vote. A lone monitor that saw a lie proves it instead
/// (`report_lie`), which needs no vote.
pub const MIN_REJECTIONS: u32 = 2;
/// Most inputs of one task (the set-intersection story has one per party).
pub const MAX_INPUTS: u32 = 8;
/// Most result recipients of one task.
pub const MAX_RECIPIENTS: u32 = 8;

/// One encrypted input and the party who owns it (and alone may release its key).
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Input<AccountId> {
	/// Where the encrypted input is stored.
	pub cid: Cid,
	/// Who owns it.
	pub owner: AccountId,
}

/// Who receives the result, and the X25519 key it is encrypted to.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Recipient<AccountId> {
	/// The recipient.
	pub who: AccountId,
	/// Its X25519 public key.
	pub x25519: [u8; 32],
}

/// How many blocks each phase may take.
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
pub struct PhaseDeadlines {
	/// Sortition: seats are claimed within this many blocks of a round's start.
	pub sortition: u32,
	/// The executor's `Before` attestation, counted from the election.
	pub attestation: u32,
	/// Key release by every input owner, counted from the attestation.
	pub key_release: u32,
	/// The run and the result, counted from the key release.
	pub run: u32,
	/// The monitors' `After` verdicts, counted from the result.
	pub verdicts: u32,
}

/// What the requester demands of the committee and the run.
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
pub struct Requirements {
	/// Least credit of every committee member; a multiple of the registry's bucket width.
	pub min_credit: Credit,
	/// Members: one executor and `committee_size - 1` monitors.
	pub committee_size: u32,
	/// Committees tried before the task gives up and refunds.
	pub max_rounds: u32,
	/// Phase deadlines.
	pub deadlines: PhaseDeadlines,
	/// The job runs without any network. Part of the sandbox policy the executor must quote
	/// (`vouch_primitives::sandbox::SandboxPolicy::for_task`).
	pub network_none: bool,
	/// Everything staged for the run is wiped after it. Vouch's sandbox stages only on tmpfs
	/// mounts made for the job and wipes them after it, so this must be `true`: a task asking
	/// for its data to outlive the run is refused (`NoWipeUnsupported`) rather than misled.
	pub wipe: bool,
}

/// Where a task is. Every non-final state has a deadline, after which the chain moves it on.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum TaskStatus<AccountId, BlockNumber> {
	/// Posted: round 0 starts in the next block (`until`), whose parent is the posting block,
	/// so its seed is a hash the requester could not know when it posted.
	Posted {
		/// The block that starts round 0.
		until: BlockNumber,
	},
	/// Seats are being claimed in round `round` (from 0) until `until`, when the committee is
	/// elected if enough workers claimed.
	Sortition {
		/// The round.
		round: u32,
		/// The end of the claim window.
		until: BlockNumber,
	},
	/// The committee is elected: the executor must attest its sandbox (`Before`) by `until`,
	/// with a quote made after block `since` or a later one.
	Elected {
		/// The round.
		round: u32,
		/// The member with the highest credit.
		executor: AccountId,
		/// The block of the election: the quote's block may not be older.
		since: BlockNumber,
		/// The attestation deadline.
		until: BlockNumber,
	},
	/// The monitors attest the executor's sandbox for `phase` until `until`.
	Attesting {
		/// The round.
		round: u32,
		/// The executor.
		executor: AccountId,
		/// Which attestation.
		phase: Phase,
		/// The verdicts' deadline.
		until: BlockNumber,
	},
	/// The sandbox is attested: every input owner (and the developer, for encrypted code)
	/// releases its key, sealed to the executor's TPM, until `until`.
	KeyRelease {
		/// The round.
		round: u32,
		/// The executor.
		executor: AccountId,
		/// The key release deadline.
		until: BlockNumber,
	},
	/// Every key is released: the executor runs the job and submits the result by `until`,
	/// with an `After` quote made after block `since` or a later one.
	Running {
		/// The round.
		round: u32,
		/// The executor.
		executor: AccountId,
		/// The block the last key was released in: the quote's block may not be older.
		since: BlockNumber,
		/// The result deadline.
		until: BlockNumber,
	},
	/// The monitors confirmed the run: the executor reveals the result keys it committed to
	/// by `until`, which settles the task.
	Revealing {
		/// The round.
		round: u32,
		/// The executor.
		executor: AccountId,
		/// The reveal deadline.
		until: BlockNumber,
	},
	/// Final: the job ran, the monitors confirmed it, and the payment was split.
	Settled,
	/// Final: the job failed by its own fault (or its keys were withheld): the committee was
	/// paid, the developer's price went back to the requester.
	Failed,
	/// Final: no committee could be formed in `max_rounds` rounds; the payment was refunded.
	Expired,
	/// Final: the requester withdrew the task before a committee was elected; refunded.
	Cancelled,
	/// Final: the executors of every round missed their duties; refunded in full.
	Faulted,
}

impl<AccountId, BlockNumber: Copy> TaskStatus<AccountId, BlockNumber> {
	/// The deadline of an open status; `None` once the task is over.
	pub fn deadline(&self) -> Option<BlockNumber> {
		match self {
			Self::Posted { until }
			| Self::Sortition { until, .. }
			| Self::Elected { until, .. }
			| Self::Attesting { until, .. }
			| Self::KeyRelease { until, .. }
			| Self::Running { until, .. }
			| Self::Revealing { until, .. } => Some(*until),
			_ => None,
		}
	}

	/// The current round of an open task.
	pub fn round(&self) -> Option<u32> {
		match self {
			Self::Posted { .. } => Some(0),
			Self::Sortition { round, .. }
			| Self::Elected { round, .. }
			| Self::Attesting { round, .. }
			| Self::KeyRelease { round, .. }
			| Self::Running { round, .. }
			| Self::Revealing { round, .. } => Some(*round),
			_ => None,
		}
	}

	/// The elected executor, from election until the task ends.
	pub fn executor(&self) -> Option<&AccountId> {
		match self {
			Self::Elected { executor, .. }
			| Self::Attesting { executor, .. }
			| Self::KeyRelease { executor, .. }
			| Self::Running { executor, .. }
			| Self::Revealing { executor, .. } => Some(executor),
			_ => None,
		}
	}

	/// Whether the task is over (its escrow released).
	pub fn is_final(&self) -> bool {
		matches!(
			self,
			Self::Settled | Self::Failed | Self::Expired | Self::Cancelled | Self::Faulted
		)
	}
}

/// A monitor's verdicts on one task's round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct Verdicts {
	/// On the `Before` attestation: `Some(true)` if the sandbox checked out.
	pub before: Option<bool>,
	/// On the `After` attestation.
	pub after: Option<bool>,
}

impl Verdicts {
	/// The verdict on `phase`, if given.
	pub fn on(&self, phase: Phase) -> Option<bool> {
		match phase {
			Phase::Before => self.before,
			Phase::After => self.after,
		}
	}

	/// Where the verdict on `phase` goes.
	pub fn on_mut(&mut self, phase: Phase) -> &mut Option<bool> {
		match phase {
			Phase::Before => &mut self.before,
			Phase::After => &mut self.after,
		}
	}
}

/// Longest sealed key (a key wrapped for a TPM or an X25519 recipient), in bytes.
pub const MAX_SEALED_KEY_LEN: u32 = 1024;
/// A sealed key.
pub type SealedKey = BoundedVec<u8, ConstU32<MAX_SEALED_KEY_LEN>>;
/// The executor's TPM quote for one phase of a task, and what it measured.
///
/// The quote's qualifying data must be `vouch_primitives::tpm::nonce::quote_nonce(task, phase,
/// hash of block, measurements)`: the runtime recomputes it, so a quote made for another task,
/// phase, state or time does not verify.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Quote<BlockNumber> {
	/// The block whose hash went into the nonce: the quote was made after it. An attestation's
	/// block may not be older than the duty it attests (the election for `Before`, the last
	/// key's release for `After`).
	pub block: BlockNumber,
	/// What the executor measured: the image, code and inputs, sandbox policy and (`After`)
	/// the result and exit status.
	pub measurements: Measurements,
	/// The quote (TPMS_ATTEST), as `TPM2_Quote` returned it.
	pub attest: TpmStruct,
	/// Its signature by the worker's AK (TPMT_SIGNATURE).
	pub signature: TpmStruct,
}

/// A monitor's challenge as its executor answered it (the attestation API's
/// `vouch_challenge`): a quote whose qualifying data is
/// `vouch_primitives::tpm::nonce::challenge_nonce(task, round, phase, nonce, measurements)`.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ChallengeQuote {
	/// The monitor's nonce.
	pub nonce: [u8; 32],
	/// What the executor answered it measured.
	pub measurements: Measurements,
	/// The quote (TPMS_ATTEST).
	pub attest: TpmStruct,
	/// Its signature by the executor's AK (TPMT_SIGNATURE).
	pub signature: TpmStruct,
}

/// What proves an executor lied about a phase: a quote by its TPM, for the attested task,
/// round and phase, of other measurements than it attested.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub enum LieEvidence<BlockNumber> {
	/// A second attestation-domain quote (`quote_nonce`).
	Attestation(Quote<BlockNumber>),
	/// An answer to a monitor's challenge (`challenge_nonce`): what the executor's pinned
	/// build measured live, which a faulty operator cannot make it misreport.
	Challenge(ChallengeQuote),
}

/// An executor's verified attestation of one phase: what the monitors check, and what a lie
/// report is judged against.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Attestation<AccountId, BlockNumber> {
	/// Who attested: the round's executor.
	pub executor: AccountId,
	/// The round it executed.
	pub round: u32,
	/// The block its quote was made after.
	pub block: BlockNumber,
	/// What it attested.
	pub measurements: Measurements,
	/// Its TPM's clock in the quote.
	pub clock: ClockInfo,
	/// Whether a lie about this attestation was proven already.
	pub lie_proven: bool,
}

/// What the executor returns with its `After` quote: the result, and a commitment to its keys,
/// which it reveals ([`ResultKeys`]) only once the monitors confirmed the run. Extrinsics are
/// public, so keys submitted with the result would reach the recipients before the payment
/// settles: a requester could then reject the run and have both its refund and the result.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct TaskResult {
	/// Where the encrypted result is stored.
	pub cid: Cid,
	/// [`keys_commitment`] of the result key sealed to each recipient.
	pub keys_commitment: [u8; 32],
	/// Whether the job itself failed (non-zero exit, limits exceeded).
	pub job_failed: bool,
}

/// The result key sealed to each recipient's X25519 key, in the order of the recipients.
pub type ResultKeys = BoundedVec<SealedKey, ConstU32<MAX_RECIPIENTS>>;

/// What the executor commits to with the result and must reveal exactly
/// (`vouch_primitives::result_keys_commitment`).
pub fn keys_commitment(keys: &ResultKeys) -> [u8; 32] {
	let keys: alloc::vec::Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
	vouch_primitives::result_keys_commitment(&keys)
}

/// A posted task.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct Task<AccountId, Balance, BlockNumber> {
	/// Who posted and pays.
	pub requester: AccountId,
	/// The lambda to run.
	pub lambda: LambdaId,
	/// The lambda's developer, paid its price at settlement.
	pub developer: AccountId,
	/// Whether the lambda's code is encrypted: its developer then releases the code key too.
	pub encrypted_code: bool,
	/// The lambda's price when the task was posted: what its developer gets.
	pub price: Balance,
	/// The image the executor must run: the lambda's image digest at posting.
	pub image_id: [u8; 32],
	/// What the executor's quotes must carry as `code_input_hash`: over the lambda's code CID
	/// and the inputs' CIDs (`vouch_primitives::tpm::nonce::code_input_hash`).
	pub code_input_hash: [u8; 32],
	/// What the executor's quotes must carry as `sandbox_policy_hash`: the hash of the policy
	/// of the lambda's manifest limits and the task's `network_none`
	/// (`vouch_primitives::sandbox::SandboxPolicy::for_task`), the function the executor and
	/// the monitors use too.
	pub sandbox_policy_hash: [u8; 32],
	/// The payment held in escrow.
	pub payment: Balance,
	/// The inputs and their owners.
	pub inputs: BoundedVec<Input<AccountId>, ConstU32<MAX_INPUTS>>,
	/// Who receives the result.
	pub recipients: BoundedVec<Recipient<AccountId>, ConstU32<MAX_RECIPIENTS>>,
	/// What the committee and the run must satisfy.
	pub requirements: Requirements,
	/// The last round drawn (the current one while the task is open).
	pub round: u32,
	/// The public sortition seed of that round (zero until round 0 starts).
	pub seed: [u8; 32],
	/// How many workers were eligible when that round started: the `N` of its threshold.
	pub eligible: u32,
	// Spelled as before the move so that the metadata's type name (and the clients' file) stay
	// the same.
	/// That round's seats, in the order they were claimed (an evicted seat's place is taken by
	/// the claim that evicted it).
	pub committee: BoundedVec<Seat<AccountId>, ConstU32<{ crate::MAX_COMMITTEE }>>,
	/// Where the task is.
	pub status: TaskStatus<AccountId, BlockNumber>,
}

impl<AccountId: Clone + PartialEq, Balance, BlockNumber> Task<AccountId, Balance, BlockNumber> {
	/// How many keys the executor needs: one per input, plus the code key if encrypted.
	pub fn key_slots(&self) -> u32 {
		self.inputs.len() as u32 + u32::from(self.encrypted_code)
	}

	/// Who may release the key of `slot`.
	pub fn key_owner(&self, slot: u32) -> Option<AccountId> {
		match self.inputs.get(slot as usize) {
			Some(input) => Some(input.owner.clone()),
			None if self.encrypted_code && slot == self.inputs.len() as u32 => {
				Some(self.developer.clone())
			},
			None => None,
		}
	}

	/// The monitors of the current committee: everyone but the executor.
	pub fn monitors(&self, executor: &AccountId) -> alloc::vec::Vec<AccountId> {
		self.committee.iter().filter(|s| s.who != *executor).map(|s| s.who.clone()).collect()
	}
}
