//! The SQLite store: one file, WAL mode, schema version in `user_version`.
//!
//! Writing transactions take the write lock up front (`BEGIN IMMEDIATE`), so
//! a transaction never has to upgrade a read lock, which is the one case a
//! busy timeout cannot cure; whatever stays busy is retried whole, bounded,
//! with jitter.

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

use super::comparison::{DocumentChange, Replacement, StoredRow};
use super::{
    Delivery, DeliveryFilter, DeliveryStatus, Finished, Handling, Pick, Store, StoreError, Tx,
};
use crate::domain::{Component, Envelope, NewEvent, ReservationDoc, SalesOrderDoc, Source, Topic};
use crate::replay::{LogSource, Rebuilt, Recorded, Step, StepWriter};

/// The schema version this pi7 writes, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 4;

/// The page size of a database pi7 creates; one made otherwise keeps its own.
pub const PAGE_SIZE: i64 = 8192;

/// Marks a file as a pi7 database (`PRAGMA application_id`): "pi7\0".
const APPLICATION_ID: i64 = 0x7069_3700;

/// Migrations in order: entry `n` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../schema.sql"),
    include_str!("../schema2.sql"),
    include_str!("../mqtt.sql"),
    include_str!("../schema4.sql"),
];

/// Whether a command means to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    ReadWrite,
    ReadOnly,
}

pub struct SqliteStore {
    pub(super) conn: Connection,
    path: PathBuf,
    /// Inside [`begin_group`](Self::begin_group): one transaction is open,
    /// and each unit of work is a savepoint in it.
    grouped: bool,
}

/// An open read transaction, ended when dropped (however the reads inside
/// it ended: a connection left inside one would read an old state forever).
pub struct ReadSnapshot<'a>(&'a Connection);

impl Drop for ReadSnapshot<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .prepare_cached("COMMIT")
            .and_then(|mut commit| commit.execute([]));
    }
}

/// What an id (or id prefix) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DocumentKind {
    SalesOrder,
    Reservation,
    Process,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::SalesOrder => "sales order",
            DocumentKind::Reservation => "reservation",
            DocumentKind::Process => "process",
        }
    }
}

/// One match for an id prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub kind: DocumentKind,
    pub id: Uuid,
    pub process_id: Uuid,
}

mod open;
pub use open::{BackgroundCheckpoints, Checkpointer};
mod queries;
mod rebuild;
mod retry;
mod rows;
mod tx;

pub(in crate::store) use retry::*;
pub(in crate::store) use rows::*;
use tx::*;
