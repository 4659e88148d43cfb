//! The pure domain core: events, documents, the reservation component and
//! the sales-order saga.
//!
//! Nothing in here touches a database, a clock, a random source or a
//! terminal. Every handler is a function of (state, event) that returns the
//! new state, the events it publishes and the lines it would log, so that the
//! dispatcher, the SQLite store, the in-memory checker and the tests all run
//! exactly the same logic. Ids a handler creates are derived from its input
//! (see [`ids`]) and times it records are the handled event's time, which is
//! what makes a log replayable to the byte.

pub mod command;
pub mod document;
pub mod event;
pub mod ids;
pub mod invariants;
pub mod log_line;
pub mod order;
pub mod reservation;
pub mod saga;

pub use document::{
    Document, HistoryEntry, LineStatus, OrderLine, OrderStatus, Reservation, ReservationDoc,
    ReservationStatus, SalesOrder, SalesOrderDoc,
};
pub use event::{Component, Envelope, NewEvent, Source, Topic};
pub use log_line::LogLine;

/// What handling one delivery decided: the documents it changed, the events
/// it publishes, and the workflow log lines it would print.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<D> {
    pub changed: Vec<D>,
    pub published: Vec<NewEvent>,
    pub log: Vec<LogLine>,
}

impl<D> Outcome<D> {
    pub fn nothing(log: Vec<LogLine>) -> Self {
        Outcome {
            changed: Vec::new(),
            published: Vec::new(),
            log,
        }
    }

    /// True when handling changed no document and published nothing, as a
    /// duplicate delivery must.
    pub fn is_no_op(&self) -> bool {
        self.changed.is_empty() && self.published.is_empty()
    }
}

/// A component could not read the event it was handed. Handlers fail only
/// here, before deciding anything, so a failed delivery changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the {topic} payload of event {event_id}: {reason}")]
pub struct PayloadError {
    pub topic: Topic,
    pub event_id: uuid::Uuid,
    pub reason: String,
}

#[cfg(test)]
mod tests;
