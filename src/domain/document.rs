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
    /// Confirmations for lines the order does not have (or does not have
    /// yet, while the request is still on its way), kept so nothing is lost.
    #[serde(
        default,
        rename = "unmatchedConfirmations",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub unmatched_confirmations: Vec<OrderLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Confirmed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 2] = [OrderStatus::Pending, OrderStatus::Confirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Confirmed => "confirmed",
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationStatus {
    Unconfirmed,
    Confirmed,
}

pub type LineStatus = ReservationStatus;

impl ReservationStatus {
    pub const ALL: [ReservationStatus; 2] =
        [ReservationStatus::Unconfirmed, ReservationStatus::Confirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Unconfirmed => "unconfirmed",
            ReservationStatus::Confirmed => "confirmed",
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
        }
    }
}
