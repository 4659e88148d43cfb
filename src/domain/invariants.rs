//! The rules about orders and reservations that more than one part of pi7
//! states: the saga decides by them, the reservation component acts by
//! them, `verify` and the interleaving checker audit by them. Each is
//! written once, here, so that a change to one is a change everywhere.

use super::{ReservationStatus, SalesOrder};

/// A reservation that is still held: it can be confirmed, or released when
/// its order goes. Rejected and released ones are settled for good.
pub fn is_open(status: ReservationStatus) -> bool {
    matches!(
        status,
        ReservationStatus::Unconfirmed | ReservationStatus::Confirmed
    )
}

/// The customer's request has arrived: the order knows its customer and
/// its lines.
pub fn is_requested(order: &SalesOrder) -> bool {
    order.customer.is_some() && !order.reservations.is_empty()
}

/// Rule 4: the order is complete once it is requested and every one of its
/// lines is confirmed.
pub fn is_complete(order: &SalesOrder) -> bool {
    is_requested(order)
        && order
            .reservations
            .iter()
            .all(|l| l.status == ReservationStatus::Confirmed)
}

/// A requested order one of whose lines was rejected: it must be cancelled.
pub fn has_rejected_line(order: &SalesOrder) -> bool {
    is_requested(order)
        && order
            .reservations
            .iter()
            .any(|l| l.status == ReservationStatus::Rejected)
}
