//! The documents components keep, in the original store's shape:
//! `{_id, processId, object}`.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A stored document: an id, the process it belongs to, and its object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Document<T> {
    #[serde(rename = "_id")]
    pub id: Uuid,
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub object: T,
}

pub type SalesOrderDoc = Document<SalesOrder>;
pub type ReservationDoc = Document<Reservation>;

/// The sales-order saga's state for one process.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SalesOrder {
    /// Unknown until the request arrives; a confirmation may come first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub status: OrderStatus,
    pub reservations: Vec<OrderLine>,
    /// What happened to reservations that are not lines of the order (yet:
    /// the request may still be on its way; or any more: an amendment
    /// removed them), kept so that nothing is lost.
    #[serde(
        default,
        rename = "unmatchedConfirmations",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub unmatched_confirmations: Vec<OrderLine>,
    /// Why the order was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The customer's reason, when the customer withdrew the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Which request set the lines: 1 for the first, one more for each
    /// amendment.
    #[serde(default = "first_revision", skip_serializing_if = "is_first_revision")]
    pub revision: u32,
    /// Not part of the document: what the saga keeps of its lines to
    /// handle a delivery without going through all of them.
    #[serde(skip)]
    pub(crate) tally: Tally,
}

/// Where each line is and how many are unconfirmed or rejected, derived
/// from an order's lines (built from them on first use, then kept up to
/// date by the saga as it changes them). Never stored, and no part of what
/// makes two orders equal.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub built: bool,
    /// The index in `reservations` of each line, by reservation id.
    pub position: std::collections::HashMap<Uuid, usize>,
    pub unconfirmed: usize,
    pub rejected: usize,
}

impl PartialEq for Tally {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Tally {}

impl std::hash::Hash for Tally {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

fn first_revision() -> u32 {
    1
}

fn is_first_revision(revision: &u32) -> bool {
    *revision == 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 3] = [
        OrderStatus::Pending,
        OrderStatus::Confirmed,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a sales order, and the reservation it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderLine {
    pub id: i64,
    pub reserved: String,
    pub status: ReservationStatus,
    /// The id of the reservation document made for this line.
    #[serde(rename = "_id")]
    pub reservation_id: Uuid,
    /// Why the reservation was rejected or released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationStatus {
    Unconfirmed,
    Confirmed,
    /// Refused (or expired): the order is cancelled.
    Rejected,
    /// Given back: its order was cancelled, or an amendment removed its line.
    Released,
}

pub type LineStatus = ReservationStatus;

impl ReservationStatus {
    pub const ALL: [ReservationStatus; 4] = [
        ReservationStatus::Unconfirmed,
        ReservationStatus::Confirmed,
        ReservationStatus::Rejected,
        ReservationStatus::Released,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Unconfirmed => "unconfirmed",
            ReservationStatus::Confirmed => "confirmed",
            ReservationStatus::Rejected => "rejected",
            ReservationStatus::Released => "released",
        }
    }

    /// How far along a reservation is. A reservation only ever moves up, so
    /// the saga keeps the highest status it has heard of, whatever order it
    /// hears of them in.
    pub fn rank(self) -> u8 {
        match self {
            ReservationStatus::Unconfirmed => 0,
            ReservationStatus::Confirmed => 1,
            ReservationStatus::Released => 2,
            ReservationStatus::Rejected => 3,
        }
    }

    /// The later of two statuses of one reservation.
    pub fn latest(self, other: ReservationStatus) -> ReservationStatus {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for ReservationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reservation made for one order line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reservation {
    pub id: i64,
    pub reserved: String,
    pub status: ReservationStatus,
    pub history: Vec<HistoryEntry>,
    /// Why it was rejected or released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The revision of the order's request that made it.
    #[serde(default = "first_revision", skip_serializing_if = "is_first_revision")]
    pub revision: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub status: ReservationStatus,
    pub time: i64,
}

impl ReservationDoc {
    /// The reservation as an order line, the way `reservation/confirm`
    /// carries it.
    pub fn as_line(&self) -> OrderLine {
        OrderLine {
            id: self.object.id,
            reserved: self.object.reserved.clone(),
            status: self.object.status,
            reservation_id: self.id,
            reason: self.object.reason.clone(),
        }
    }
}
