//! Where events, deliveries and documents live.
//!
//! [`Store`] and [`Tx`] are what the dispatcher needs from storage, nothing
//! more: SQLite ([`SqliteStore`]) for the command line, and an in-memory
//! twin ([`MemoryStore`]) for tests and the interleaving checker. Queries
//! that only the command line makes (listing, lookups by prefix, following
//! the log) are inherent methods of `SqliteStore`.

mod comparison;
#[cfg(test)]
mod contract;
mod memory;
mod postgres;
mod queries;
mod relay;
mod sqlite;
#[cfg(test)]
mod test_postgres;

pub use comparison::{Change, DocumentChange};
pub use memory::MemoryStore;
pub use postgres::{is_postgres_url, redact, Notifications, PgStore, CHANNEL, PG_SCHEMA_VERSION};
pub use queries::{AnyStore, Queries};
pub use relay::Lease;
pub use sqlite::{
    BackgroundCheckpoints, Checkpointer, DocumentKind, Found, OpenMode, ReadSnapshot, SqliteStore,
    PAGE_SIZE, SCHEMA_VERSION,
};

use uuid::Uuid;

use crate::domain::{Component, Envelope, NewEvent, ReservationDoc, SalesOrderDoc, Topic};

/// Storage that can run a unit of work atomically.
pub trait Store {
    /// Runs `work` in one transaction: every write it makes lands, or none
    /// does. `work` may be run more than once when the storage was busy, so
    /// it must not have effects outside the transaction.
    fn transaction<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T>;
}

/// The reads and writes a unit of work may make.
pub trait Tx {
    /// Appends an event, giving it the next `seq`. An event no handler
    /// published (`causation_id` is `None`) joins the command that the
    /// transaction is carrying out; see [`Tx::start_command`].
    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError>;
    /// [`append`](Tx::append)s `event` unless the log has an event with its
    /// id already, and then says so with `None`.
    fn append_new(&mut self, event: NewEvent) -> Result<Option<Envelope>, StoreError> {
        if self.has_event(event.id)? {
            return Ok(None);
        }
        self.append(event).map(Some)
    }
    /// The events a command publishes from here on are one command's,
    /// apart from those it published before. A transaction starts one
    /// command; an import that carries several commands in one
    /// transaction starts each where the exported log says it started.
    fn start_command(&mut self);
    /// The highest `seq` in the log (0 when it is empty).
    fn last_seq(&mut self) -> Result<u64, StoreError>;
    /// The event with this id, if the log has it.
    fn event_by_id(&mut self, id: Uuid) -> Result<Option<Envelope>, StoreError>;
    /// Every event of a process, in `seq` order.
    fn events_of(&mut self, process_id: Uuid) -> Result<Vec<Envelope>, StoreError>;
    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError>;
    fn event(&mut self, seq: u64) -> Result<Envelope, StoreError>;
    fn has_event(&mut self, id: Uuid) -> Result<bool, StoreError>;
    /// Whether any event of `process_id` is in the log.
    fn has_process(&mut self, process_id: Uuid) -> Result<bool, StoreError>;
    /// The first pending delivery that `filter` lets through, in `order`.
    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError>;
    /// Every pending delivery that `filter` lets through, first first.
    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError>;
    /// Records how handling a delivery went.
    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError>;
    /// Records a delivery of an already handled event; returns its record.
    fn record_redelivery(
        &mut self,
        seq: u64,
        component: Component,
        time: i64,
        changed: bool,
    ) -> Result<(), StoreError>;
    fn delivery(&mut self, seq: u64, component: Component) -> Result<Option<Delivery>, StoreError>;
    fn sales_order(&mut self, process_id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError>;
    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError>;
    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError>;
    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError>;
    fn save_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError>;
}

/// Where a handled delivery was handled: its place among all handled
/// deliveries, and the highest `seq` in the log when its handling began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handling {
    pub order: u64,
    pub position: u64,
}

/// Which end of the pending deliveries to take from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    First,
    Last,
}

/// One (event, component) pair to handle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// Orders deliveries: a delivery created earlier has a smaller key.
    #[serde(skip)]
    pub key: i64,
    pub seq: u64,
    pub topic: Topic,
    pub component: Component,
    #[serde(rename = "processId")]
    pub process_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Done,
    /// Parked after failing: not retried until someone redelivers it.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Done => "done",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "done" => Some(DeliveryStatus::Done),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// How handling a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Handled when the log ended at `position`: the events the handler
    /// published come right after it.
    Done { position: u64 },
    /// The handler could not handle it; `park` takes it out of the pending set.
    Failed { error: String, park: bool },
}

/// Narrows the pending deliveries a dispatch considers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub component: Option<Component>,
    pub process_id: Option<Uuid>,
    /// Skip deliveries whose key is in here (those that failed this run).
    pub exclude: Vec<i64>,
}

impl DeliveryFilter {
    pub fn admits(&self, delivery: &Delivery) -> bool {
        self.routes(delivery.component, delivery.process_id)
            && !self.exclude.contains(&delivery.key)
    }

    /// Whether the deliveries to `component` of `process_id`'s events pass,
    /// known before they exist (those that an event just published makes).
    pub fn routes(&self, component: Component, process_id: Uuid) -> bool {
        self.component.is_none_or(|c| c == component)
            && self.process_id.is_none_or(|p| p == process_id)
    }
}

/// A storage failure, typed where the command line must tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} is not a pi7 database ({detail})")]
    NotPi7 { path: String, detail: String },
    #[error("{path} was written by a newer pi7 (schema version {found}; this pi7 knows up to {supported}); upgrade pi7 to use it")]
    TooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("{path} is read-only: this command writes to the database")]
    ReadOnly { path: String },
    #[error("cannot open the database {path}: {detail}")]
    CannotOpen { path: String, detail: String },
    #[error("the database stays busy (locked by another pi7) after {attempts} attempts")]
    Busy { attempts: u32 },
    #[error("the database holds data this pi7 cannot read: {0}")]
    Corrupt(String),
    /// Not a `#[source]`, for the reason given at `Postgres`: SQLite's
    /// message and its code's would otherwise be printed again after it.
    #[error("database error: {}", describe_sqlite(.0))]
    Sqlite(rusqlite::Error),
    #[error("cannot write to the database: write {0} failed (PI7_FAIL_AT_WRITE)")]
    Injected(usize),
    /// Not a `#[source]`: [`postgres::describe`] says all of it in one
    /// line, which the error chain would otherwise print again, hint and
    /// all, on a line of its own.
    #[error("database error: {}", postgres::describe(.0))]
    Postgres(::postgres::Error),
    /// Another transaction held a process this one needed while it held
    /// others; the store runs the whole unit of work again.
    #[error("another pi7 kept changing the same orders")]
    Contended,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// SQLite's failure in one line: its own message, and for a full disk
/// what that means for the user, instead of the code's generic words.
fn describe_sqlite(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => match failure.code {
            ErrorCode::DiskFull => {
                "the disk is full; free some space and run the command again".into()
            }
            ErrorCode::SystemIoFailure => format!(
                "{} (is the disk full or gone?)",
                message.as_deref().unwrap_or("disk I/O error")
            ),
            _ => message.clone().unwrap_or_else(|| failure.to_string()),
        },
        other => other.to_string(),
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        StoreError::Postgres(e)
    }
}
