//! The settlement split (DESIGN §7): how a task's payment leaves escrow.
//!
//! A burn first, then the developer's price, then the rest: half to the executor, half shared
//! by the monitors' seats. A seat whose monitor was not honest is not paid; its share goes back
//! to the requester. Integer division leaves dust, which goes to the executor. Every unit of the
//! payment ends in exactly one place: [`Payout::total`] equals the payment, always.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_arithmetic::{
	traits::{AtLeast32BitUnsigned, Zero},
	Perbill,
};
use scale_info::TypeInfo;

/// Where each unit of a settled payment goes.
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
pub struct Payout<Balance> {
	/// Burnt: leaves the total issuance.
	pub burn: Balance,
	/// To the lambda's developer: the lambda's price.
	pub developer: Balance,
	/// To the executor: its half of the rest plus the division's dust.
	pub executor: Balance,
	/// To each honest monitor.
	pub per_monitor: Balance,
	/// How many monitors are paid `per_monitor`.
	pub honest_monitors: u32,
	/// Back to the requester: the seats of monitors that were not honest (or, with no monitor
	/// seats at all, the whole monitors' half).
	pub refund: Balance,
}

impl<Balance: AtLeast32BitUnsigned + Copy> Payout<Balance> {
	/// The sum of every share: equals the payment that was split.
	pub fn total(&self) -> Balance {
		self.burn
			+ self.developer
			+ self.executor
			+ self.per_monitor * Balance::from(self.honest_monitors)
			+ self.refund
	}
}

/// Why a payment cannot be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
	/// The lambda's price plus the burn exceed the payment.
	PaymentBelowPriceAndBurn,
	/// More honest monitors than monitor seats.
	MoreHonestMonitorsThanSeats,
}

/// The split rates. The runtime sets them as constants; governance may change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitRates {
	/// The part of every payment that is burnt.
	pub burn: Perbill,
	/// The executor's part of what remains after the burn and the price; the monitors share
	/// the complement.
	pub executor: Perbill,
}

impl SplitRates {
	/// DESIGN §7: burn 10%, executor half of the rest.
	pub const STANDARD: SplitRates =
		SplitRates { burn: Perbill::from_percent(10), executor: Perbill::from_percent(50) };

	/// The burn taken from `payment` (rounded down).
	pub fn burn_of<Balance: AtLeast32BitUnsigned + Copy>(&self, payment: Balance) -> Balance {
		self.burn.mul_floor(payment)
	}

	/// Whether `payment` covers `price` plus the burn: `post_task` refuses it otherwise.
	pub fn covers<Balance: AtLeast32BitUnsigned + Copy>(
		&self,
		payment: Balance,
		price: Balance,
	) -> bool {
		price.checked_add(&self.burn_of(payment)).is_some_and(|needed| needed <= payment)
	}

	/// Splits `payment` for a lambda of `price`, with `seats` monitor seats of which `honest`
	/// monitors were honest.
	pub fn split<Balance: AtLeast32BitUnsigned + Copy>(
		&self,
		payment: Balance,
		price: Balance,
		seats: u32,
		honest: u32,
	) -> Result<Payout<Balance>, SplitError> {
		if honest > seats {
			return Err(SplitError::MoreHonestMonitorsThanSeats);
		}
		if !self.covers(payment, price) {
			return Err(SplitError::PaymentBelowPriceAndBurn);
		}
		let burn = self.burn_of(payment);
		let rest = payment - burn - price;
		let executor = self.executor.mul_floor(rest);
		let monitors = rest - executor;
		if seats == 0 {
			return Ok(Payout {
				burn,
				developer: price,
				executor,
				per_monitor: Zero::zero(),
				honest_monitors: 0,
				refund: monitors,
			});
		}
		let per_monitor = monitors / Balance::from(seats);
		let dust = monitors - per_monitor * Balance::from(seats);
		Ok(Payout {
			burn,
			developer: price,
			executor: executor + dust,
			per_monitor,
			honest_monitors: honest,
			refund: per_monitor * Balance::from(seats - honest),
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	/// One unit of the chain's token: 12 decimals.
	const UNIT: u128 = 1_000_000_000_000;

	#[test]
	fn the_seeds_example_splits_ten_units_exactly() {
		// Payment 10, price 3, ten members: one executor and nine honest monitors.
		let payout = SplitRates::STANDARD.split(10 * UNIT, 3 * UNIT, 9, 9).unwrap();
		assert_eq!(payout.burn, UNIT);
		assert_eq!(payout.developer, 3 * UNIT);
		assert_eq!(payout.per_monitor, 333_333_333_333);
		// 3 units / 9 leaves 3 base units of dust, which go to the executor.
		assert_eq!(payout.executor, 3 * UNIT + 3);
		assert_eq!(payout.refund, 0);
		assert_eq!(payout.total(), 10 * UNIT);
	}

	#[test]
	fn a_dishonest_monitors_seat_goes_back_to_the_requester() {
		let payout = SplitRates::STANDARD.split(10 * UNIT, 3 * UNIT, 9, 7).unwrap();
		assert_eq!(payout.honest_monitors, 7);
		assert_eq!(payout.refund, 2 * 333_333_333_333);
		assert_eq!(payout.executor, 3 * UNIT + 3);
		assert_eq!(payout.total(), 10 * UNIT);
	}

	#[test]
	fn without_monitor_seats_their_half_is_refunded() {
		let payout = SplitRates::STANDARD.split(10 * UNIT, 3 * UNIT, 0, 0).unwrap();
		assert_eq!((payout.executor, payout.refund, payout.per_monitor), (3 * UNIT, 3 * UNIT, 0));
	}

	#[test]
	fn a_payment_below_price_and_burn_is_refused() {
		// Price 9.5 + burn 1 > 10.
		assert_eq!(
			SplitRates::STANDARD.split(10 * UNIT, 9 * UNIT + UNIT / 2, 9, 9),
			Err(SplitError::PaymentBelowPriceAndBurn)
		);
		// Price 9 + burn 1 == 10: allowed, nothing left for the committee.
		let payout = SplitRates::STANDARD.split(10 * UNIT, 9 * UNIT, 9, 9).unwrap();
		assert_eq!((payout.executor, payout.per_monitor), (0, 0));
		assert!(!SplitRates::STANDARD.covers(u128::MAX, u128::MAX));
	}

	#[test]
	fn more_honest_monitors_than_seats_is_refused() {
		assert_eq!(
			SplitRates::STANDARD.split(10 * UNIT, 0, 3, 4),
			Err(SplitError::MoreHonestMonitorsThanSeats)
		);
	}

	proptest! {
		/// Escrow balances to the unit: whatever the numbers, the shares sum to the payment
		/// and the executor gets less than one unit per seat more than its exact half.
		#[test]
		fn every_unit_of_the_payment_lands_exactly_once(
			payment in 0u128..=u128::MAX / 2,
			price_part in 0u32..=1_000_000,
			burn in 0u32..=1_000_000_000,
			executor in 0u32..=1_000_000_000,
			seats in 0u32..=255,
			honest_part in 0u32..=255,
		) {
			let rates = SplitRates { burn: Perbill::from_parts(burn), executor: Perbill::from_parts(executor) };
			let price = (payment / 1_000_000) * u128::from(price_part) / 2;
			let honest = honest_part.min(seats);
			match rates.split(payment, price, seats, honest) {
				Ok(payout) => {
					prop_assert_eq!(payout.total(), payment);
					prop_assert_eq!(payout.burn, rates.burn.mul_floor(payment));
					prop_assert_eq!(payout.developer, price);
					let rest = payment - payout.burn - price;
					let exact_half = rates.executor.mul_floor(rest);
					prop_assert!(payout.executor >= exact_half);
					prop_assert!(payout.executor - exact_half < u128::from(seats.max(1)));
				},
				Err(e) => {
					prop_assert_eq!(e, SplitError::PaymentBelowPriceAndBurn);
					prop_assert!(price + rates.burn.mul_floor(payment) > payment);
				},
			}
		}
	}
}
