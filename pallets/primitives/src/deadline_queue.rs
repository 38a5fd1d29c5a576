//! A queue of deadlines by block, drained by a hook with bounded work and a backlog.
//!
//! The registry (credential activation) and the tasks pallet both keep deadlines as
//! `(block, key)` entries and handle those falling due in `on_initialize`. A block may hold more
//! deadlines than one hook can afford, so each call handles at most `max` of them, oldest block
//! first, and leaves the first block it did not drain as the backlog that the next call starts
//! from: a full block delays handling by a few blocks but never drops a deadline, and the work a
//! block does stays bounded (at most `max` deadlines handled and `max + 1` blocks' queues
//! read). The rule lives here once, without FRAME, so that it can be tested against a model
//! and the two pallets cannot drift apart; each keeps its storage and its weight accounting.

use alloc::vec::Vec;
use polkadot_sdk::sp_arithmetic::traits::{One, Saturating};

/// What one [`drain`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drained<B> {
	/// Deadlines handled.
	pub handled: u32,
	/// Blocks moved past: the queues read are `steps + 1`.
	pub steps: u32,
	/// The first block whose deadlines may not all be handled yet: where the next call starts.
	/// `None` when every deadline due by `now` was handled.
	pub backlog: Option<B>,
}

/// Handles the deadlines due by `now`, at most `max` of them, oldest block first, starting
/// from `backlog` (the last call's [`Drained::backlog`]; never later than `now`).
///
/// `due(block)` lists the keys queued at `block`, in the order they are to be handled; only
/// the first `max + 1` are taken (one more than there is room for tells whether the block is
/// drained), and taken before any is handled, so `handle` may change the queue. `handle(block,
/// key)` must take `key` off `block`'s queue and act on it. At most `max` blocks are moved
/// past, so that a long run of empty blocks behind a backlog costs no more than a full one.
///
/// Called once a block with increasing `now`, every key queued at a block after the call
/// before is handled exactly once, in block order (the deadlines `handle` queues must be for
/// later blocks than `now`).
pub fn drain<B, K, I>(
	now: B,
	backlog: Option<B>,
	max: u32,
	mut due: impl FnMut(B) -> I,
	mut handle: impl FnMut(B, K),
) -> Drained<B>
where
	B: Copy + Ord + Saturating + One,
	I: IntoIterator<Item = K>,
{
	let (mut handled, mut steps) = (0u32, 0u32);
	let mut block = backlog.unwrap_or(now).min(now);
	let backlog = loop {
		let room = max.saturating_sub(handled);
		let keys: Vec<K> = due(block).into_iter().take(room as usize + 1).collect();
		let more = keys.len() as u32 > room;
		for key in keys.into_iter().take(room as usize) {
			handle(block, key);
			handled += 1;
		}
		if more {
			break Some(block);
		}
		if block >= now {
			break None;
		}
		block = block.saturating_add(B::one());
		steps += 1;
		if steps > max {
			break Some(block);
		}
	};
	Drained { handled, steps, backlog }
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::collections::{BTreeMap, BTreeSet};
	use core::cell::RefCell;
	use proptest::prelude::*;

	/// The queue as storage keeps it: keys by block, each block's in key order.
	type Model = BTreeMap<u32, BTreeSet<u32>>;

	fn due_by(model: &Model, now: u32) -> usize {
		model.range(..=now).map(|(_, keys)| keys.len()).sum()
	}

	/// A chain's run, one call a block: before each of the first `queued.len()` blocks' hook,
	/// deadlines are queued that many blocks ahead (`0`: at that block); a handler of a key in
	/// `requeue` queues another deadline 1 to 3 blocks later than the block it runs in. Then
	/// blocks with nothing new until nothing is left.
	fn run(
		max: u32,
		start: u32,
		queued: &[Vec<u32>],
		requeue: &BTreeSet<u32>,
	) -> Result<(), TestCaseError> {
		let model = RefCell::new(Model::new());
		let (mut next_key, mut total_queued, mut total_handled) = (0u32, 0usize, 0usize);
		let mut queue = |model: &mut Model, block: u32| {
			model.entry(block).or_default().insert(next_key);
			next_key += 1;
			total_queued += 1;
		};
		let mut backlog = None;
		let mut last: Option<(u32, u32)> = None;
		let blocks = queued.len() as u32;
		for i in 0.. {
			let now = start + i;
			if i >= blocks && model.borrow().is_empty() && backlog.is_none() {
				break;
			}
			if max == 0 && i >= blocks + 8 {
				// Nothing is ever handled: only the safety properties are checked.
				return Ok(());
			}
			prop_assert!(i < blocks + 10_000, "the queue never drained");
			for ahead in queued.get(i as usize).into_iter().flatten() {
				queue(&mut model.borrow_mut(), now + ahead);
			}
			let before = model.borrow().clone();
			let mut seen = Vec::new();
			let out = drain(
				now,
				backlog,
				max,
				|block| model.borrow().get(&block).cloned().unwrap_or_default(),
				|block, key| {
					let mut m = model.borrow_mut();
					let keys = m.get_mut(&block).expect("a key handled at a block with none");
					// Exactly once: a key is handled only while it is queued, and taken off.
					assert!(keys.remove(&key), "key {key} handled twice or at the wrong block");
					if keys.is_empty() {
						m.remove(&block);
					}
					seen.push((block, key));
					if requeue.contains(&key) {
						queue(&mut m, now + 1 + key % 3);
					}
				},
			);
			let model = model.borrow();
			// At most `max` a call, never one due after `now`, oldest block first (and in
			// each block's order), across calls too.
			prop_assert_eq!(out.handled as usize, seen.len());
			prop_assert!(out.handled <= max);
			prop_assert!(out.steps <= max + 1);
			for &(block, key) in &seen {
				prop_assert!(block <= now, "key {} handled at {} before it was due", key, block);
				prop_assert!(before.get(&block).is_some_and(|keys| keys.contains(&key)));
				prop_assert!(last.is_none_or(|l| l < (block, key)), "out of order");
				last = Some((block, key));
			}
			// No backlog: nothing due by `now` is left. A backlog: not after `now`, and
			// nothing before it is left.
			match out.backlog {
				None => prop_assert_eq!(due_by(&model, now), 0),
				Some(b) => {
					prop_assert!(b <= now);
					prop_assert_eq!(model.range(..b).count(), 0);
				},
			}
			total_handled += seen.len();
			backlog = out.backlog;
		}
		// Every deadline queued was handled.
		prop_assert_eq!(total_handled, total_queued);
		Ok(())
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(512))]

		/// Against a model of the queue: every deadline handled exactly once, in block order, at
		/// most `max` a call, never before it is due, and the backlog where handling must
		/// resume.
		#[test]
		fn every_deadline_is_handled_once_in_order(
			max in 0u32..5,
			start in prop_oneof![Just(0u32), Just(1u32), 2u32..1_000],
			queued in prop::collection::vec(prop::collection::vec(0u32..6, 0..8), 0..24),
			requeue in prop::collection::btree_set(0u32..200, 0..20),
		) {
			run(max, start, &queued, &requeue)?;
		}
	}

	#[test]
	fn a_full_block_leaves_a_backlog_that_the_next_blocks_drain() {
		let mut queue: Model = [(5, (0..5).collect())].into_iter().collect();
		let mut step = |now, backlog| {
			let q = RefCell::new(&mut queue);
			drain(
				now,
				backlog,
				2,
				|b| q.borrow().get(&b).cloned().unwrap_or_default(),
				|b, k| {
					q.borrow_mut().get_mut(&b).unwrap().remove(&k);
				},
			)
		};
		assert_eq!(step(5, None), Drained { handled: 2, steps: 0, backlog: Some(5) });
		assert_eq!(step(6, Some(5)), Drained { handled: 2, steps: 0, backlog: Some(5) });
		// The last one, then blocks 6 and 7 read: nothing left.
		assert_eq!(step(7, Some(5)), Drained { handled: 1, steps: 2, backlog: None });
	}

	#[test]
	fn empty_blocks_behind_a_backlog_are_walked_at_most_max_plus_one_a_call() {
		let out = drain(100u64, Some(10), 3, |_| Vec::<u32>::new(), |_, _| unreachable!());
		assert_eq!(out, Drained { handled: 0, steps: 4, backlog: Some(14) });
	}
}
