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
pub const SCHEMA_VERSION: i64 = 3;

/// Marks a file as a pi7 database (`PRAGMA application_id`): "pi7\0".
const APPLICATION_ID: i64 = 0x7069_3700;

/// Migrations in order: entry `n` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("schema2.sql"),
    include_str!("mqtt.sql"),
];

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one attempt waits for another writer to let go of the lock:
/// [`BUSY_TIMEOUT`], or `PI7_BUSY_TIMEOUT_MS` for whoever would rather hear
/// "busy" sooner (the tests that provoke it cannot wait eight times 5 s).
fn busy_timeout() -> Duration {
    static TIMEOUT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        std::env::var("PI7_BUSY_TIMEOUT_MS")
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(BUSY_TIMEOUT, Duration::from_millis)
    })
}
pub(super) const MAX_ATTEMPTS: u32 = 8;

/// Why a database in `dir` cannot be written, and what to do.
fn read_only_dir_detail(dir: &Path) -> String {
    format!(
        "its directory {} is read-only (or cannot be written), so SQLite cannot create the \
         -wal and -shm files it keeps beside the database; make the directory writable or \
         move the database to one that is",
        dir.display()
    )
}

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

impl SqliteStore {
    /// Opens the database at `path`, creating it (and its directory) when
    /// writing and it does not exist yet. A file that is not a pi7 database,
    /// or that a newer pi7 wrote, is refused and left exactly as it was.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        let display = path.display().to_string();
        let exists = path.exists();
        let read_only_file = exists
            && std::fs::metadata(path)
                .map(|m| m.permissions().readonly())
                .unwrap_or(false);
        if mode == OpenMode::ReadWrite && read_only_file {
            return Err(StoreError::ReadOnly { path: display });
        }
        // SQLite keeps -wal and -shm files beside the database; in a
        // read-only directory it cannot make them, and would only say
        // "unable to open database file". Reading can do without them.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let read_only_dir = dir.metadata().is_ok_and(|m| m.permissions().readonly());
        if mode == OpenMode::ReadWrite && read_only_dir {
            return Err(StoreError::CannotOpen {
                path: display,
                detail: read_only_dir_detail(dir),
            });
        }
        let read_only_file = read_only_file || (exists && read_only_dir);
        if mode == OpenMode::ReadOnly && !exists {
            // Reading a database that is not there shows an empty one, and
            // does not leave a new file behind a mistyped --db.
            let mut store = Self::in_memory()?;
            store.path = path.to_path_buf();
            return Ok(store);
        }
        if !exists {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::CannotOpen {
                    path: display.clone(),
                    detail: format!("cannot create {}: {e}", dir.display()),
                })?;
            }
        }
        let opened = if read_only_file {
            // Immutable: SQLite reads the file as it is and creates no -wal
            // or -shm beside it, which would be left read-only too and keep
            // writes failing after the file is made writable again.
            Connection::open_with_flags(
                immutable_uri(path),
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        } else {
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        };
        let conn = opened.map_err(|e| StoreError::CannotOpen {
            path: display.clone(),
            detail: match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::CannotOpen) => read_only_dir_detail(dir),
                _ => e.to_string(),
            },
        })?;
        conn.busy_timeout(busy_timeout())?;
        // The bundled SQLite is built with STAT4, under which a statement
        // whose WHERE compares a bound value with an indexed column is
        // compiled again whenever that value changes (a third of the time of
        // `pi7 confirm -` went to recompiling the prefix lookups). pi7 keeps
        // no statistics, so plans never depend on the values anyway: ask for
        // stable plans.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        if mode == OpenMode::ReadOnly && is_fresh(&conn) {
            // An empty file (or an SQLite file with nothing in it) reads as
            // an empty database and stays exactly as it is: only a command
            // that writes makes it a pi7 database.
            let mut store = Self::in_memory()?;
            store.path = path.to_path_buf();
            return Ok(store);
        }
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            grouped: false,
        };
        // Many processes opening one file at once can see SQLITE_BUSY
        // (e.g. while another recovers the WAL) despite the busy timeout.
        let mut attempt = 1;
        loop {
            match store.check_and_migrate(read_only_file) {
                Err(StoreError::Sqlite(e)) if is_busy_code(e.sqlite_error_code()) => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Busy { attempts: attempt });
                    }
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                other => return other.map(|()| store),
            }
        }
    }

    /// Takes the write lock of the database file at `path` on a connection
    /// of its own and keeps it while the connection lives, waiting (up to
    /// the busy timeout) for a writer in flight to commit. `None` when the
    /// path is no SQLite file or the lock cannot be had.
    pub fn hold_write_lock(path: &Path) -> Option<Connection> {
        if !path.is_file() {
            return None;
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
        conn.busy_timeout(busy_timeout()).ok()?;
        conn.execute_batch("BEGIN IMMEDIATE").ok()?;
        Some(conn)
    }

    /// An empty database in memory, for tests and benchmarks.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        let mut store = SqliteStore {
            conn,
            path: PathBuf::from(":memory:"),
            grouped: false,
        };
        store.check_and_migrate(false)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False for a database in memory: what a read-only open of a path that
    /// holds no database yet gives.
    pub fn on_disk(&self) -> bool {
        self.conn.path().is_some_and(|p| !p.is_empty())
    }

    fn display_path(&self) -> String {
        self.path.display().to_string()
    }

    fn check_and_migrate(&mut self, read_only: bool) -> Result<(), StoreError> {
        let path = self.display_path();
        let not_pi7 = |detail: &str| StoreError::NotPi7 {
            path: path.clone(),
            detail: detail.to_string(),
        };
        let header = self.conn.query_row(
            "SELECT (SELECT application_id FROM pragma_application_id()),
                    (SELECT user_version FROM pragma_user_version()),
                    (SELECT count(*) FROM sqlite_master)",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        );
        let (application_id, version, objects) = match header {
            Ok(h) => h,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(not_pi7("the file is not an SQLite database"));
            }
            Err(e) => return Err(e.into()),
        };
        let fresh = application_id == 0 && version == 0 && objects == 0;
        if !fresh && application_id != APPLICATION_ID {
            return Err(not_pi7("it is an SQLite database of another application"));
        }
        if version < 0 {
            return Err(not_pi7(&format!(
                "it has an unknown schema version {version}"
            )));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if read_only {
            if version < SCHEMA_VERSION {
                return Err(StoreError::ReadOnly { path });
            }
            return Ok(());
        }
        // WAL lets readers go on while one process writes; NORMAL syncs at
        // checkpoints, not at every commit (see the README on durability).
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        if version < SCHEMA_VERSION {
            self.migrate(version)?;
        }
        Ok(())
    }

    /// Runs every migration from `from` on, all in one transaction.
    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current == from {
            for migration in &MIGRATIONS[from as usize..] {
                tx.execute_batch(migration)?;
            }
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Starts a read transaction that lasts until the returned guard is
    /// dropped: every read meanwhile sees one state of the database, and
    /// the file's locks are taken once rather than for every statement.
    /// `None` when a transaction is open already (or cannot be begun): the
    /// reads then run as they would have.
    pub fn begin_read(&self) -> Option<ReadSnapshot<'_>> {
        if !self.conn.is_autocommit() {
            return None;
        }
        self.conn
            .prepare_cached("BEGIN")
            .and_then(|mut begin| begin.execute([]))
            .ok()?;
        Some(ReadSnapshot(&self.conn))
    }

    /// Opens one write transaction that the units of work run until
    /// [`end_group`](Self::end_group) share, each in a savepoint of its own:
    /// each still lands whole or not at all, and all of them cost one commit.
    /// Taking the write lock is retried while the database is busy.
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        let mut attempt = 1;
        loop {
            match self.conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => {
                    self.grouped = true;
                    return Ok(());
                }
                Err(e) if is_busy_code(e.sqlite_error_code()) => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Busy { attempts: attempt });
                    }
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) => {
                    return Err(StoreError::ReadOnly {
                        path: self.display_path(),
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Commits (or, when `commit` is false, rolls back) what the group's
    /// units of work wrote. A commit that fails rolls everything back.
    pub fn end_group(&mut self, commit: bool) -> Result<(), StoreError> {
        if !self.grouped {
            return Ok(());
        }
        self.grouped = false;
        if commit {
            if let Err(e) = self.conn.execute_batch("COMMIT") {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
            return Ok(());
        }
        Ok(self.conn.execute_batch("ROLLBACK")?)
    }

    fn run_once<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if self.grouped {
            // Dropped without `commit` (work failed), it rolls back to where
            // it began: the group's other units of work keep what they wrote.
            let savepoint = self.conn.savepoint()?;
            let value = work(&mut SqliteTx::new(&savepoint))?;
            savepoint.commit()?;
            return Ok(value);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&mut SqliteTx::new(&tx))?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `work` in one write transaction on the raw connection, retried
    /// whole while the database is busy, for the store's own bookkeeping
    /// tables (the MQTT relay's position) that no unit of work touches.
    pub(super) fn write<T>(
        &mut self,
        work: &mut dyn FnMut(&rusqlite::Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 1;
        loop {
            let result = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)
                .and_then(|tx| {
                    let value = work(&tx)?;
                    tx.commit()?;
                    Ok(value)
                });
            match result {
                Err(StoreError::Sqlite(e)) if is_busy_code(e.sqlite_error_code()) => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Busy { attempts: attempt });
                    }
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                Err(StoreError::Sqlite(e))
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) =>
                {
                    return Err(StoreError::ReadOnly {
                        path: self.display_path(),
                    })
                }
                other => return other,
            }
        }
    }

    // ---- reads the command line makes ----

    pub fn sales_order_by_id(&self, id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.conn
            .prepare_cached("SELECT document FROM salesorders WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|json| parse_document(&json))
            .transpose()
    }

    pub fn sales_order_by_process(
        &self,
        process_id: Uuid,
    ) -> Result<Option<SalesOrderDoc>, StoreError> {
        SqliteTx::new(&self.conn).sales_order(process_id)
    }

    pub fn reservation_by_id(&self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        SqliteTx::new(&self.conn).reservation(id)
    }

    pub fn reservations_of(&self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        SqliteTx::new(&self.conn).reservations(process_id)
    }

    /// Sales orders in the order they were created, narrowed by the
    /// filters, one document at a time.
    pub fn for_each_sales_order(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(SalesOrderDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT document FROM salesorders
             WHERE (?1 IS NULL OR status = ?1)
               AND (?2 IS NULL OR process_id = ?2)
               AND (?3 IS NULL OR customer = ?3)
             ORDER BY rowid",
        )?;
        let mut rows = stmt.query(params![status, process_id.map(|p| p.to_string()), customer])?;
        while let Some(row) = rows.next()? {
            each(parse_document(&row.get::<_, String>(0)?)?)?;
        }
        Ok(())
    }

    /// Reservations in the order they were made, narrowed by the filters
    /// (`customer`: that of their sales order), one document at a time.
    pub fn for_each_reservation(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(ReservationDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.document FROM reservations r
             WHERE (?1 IS NULL OR r.status = ?1)
               AND (?2 IS NULL OR r.process_id = ?2)
               AND (?3 IS NULL OR r.process_id IN
                    (SELECT process_id FROM salesorders WHERE customer = ?3))
             ORDER BY r.rowid",
        )?;
        let mut rows = stmt.query(params![status, process_id.map(|p| p.to_string()), customer])?;
        while let Some(row) = rows.next()? {
            each(parse_document(&row.get::<_, String>(0)?)?)?;
        }
        Ok(())
    }

    /// Everything of `kinds` whose id starts with `prefix` (lowercase hex and
    /// dashes). At most `limit` of each kind.
    /// The ids just before and just after `id` among sales orders,
    /// reservations and processes: what the shortest unique prefix of `id`
    /// must tell it apart from. Six index seeks.
    pub fn neighbours(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let queries = [
            "SELECT max(id) FROM salesorders WHERE id < ?1",
            "SELECT min(id) FROM salesorders WHERE id > ?1",
            "SELECT max(id) FROM reservations WHERE id < ?1",
            "SELECT min(id) FROM reservations WHERE id > ?1",
            "SELECT max(process_id) FROM events WHERE process_id < ?1",
            "SELECT min(process_id) FROM events WHERE process_id > ?1",
        ];
        let mut found = Vec::new();
        for sql in queries {
            let mut stmt = self.conn.prepare_cached(sql)?;
            if let Some(neighbour) =
                stmt.query_row(params![id], |r| r.get::<_, Option<String>>(0))?
            {
                found.push(neighbour);
            }
        }
        Ok(found)
    }

    pub fn find(
        &self,
        prefix: &str,
        kinds: &[DocumentKind],
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let upper = format!("{prefix}~"); // '~' sorts after every id character
        let mut found = Vec::new();
        let queries: [(DocumentKind, &str); 3] = [
            (
                DocumentKind::SalesOrder,
                "SELECT id, process_id FROM salesorders WHERE id >= ?1 AND id < ?2 LIMIT ?3",
            ),
            (
                DocumentKind::Reservation,
                "SELECT id, process_id FROM reservations WHERE id >= ?1 AND id < ?2 LIMIT ?3",
            ),
            (
                DocumentKind::Process,
                "SELECT DISTINCT process_id, process_id FROM events
                 WHERE process_id >= ?1 AND process_id < ?2 LIMIT ?3",
            ),
        ];
        for (kind, sql) in queries.into_iter().filter(|(k, _)| kinds.contains(k)) {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![prefix, upper, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (id, process_id) = row?;
                found.push(Found {
                    kind,
                    id: parse_uuid(&id)?,
                    process_id: parse_uuid(&process_id)?,
                });
            }
        }
        Ok(found)
    }

    /// Calls `each` for every event after `since`, in `seq` order, narrowed by
    /// process and topic, without holding more than one event in memory.
    pub fn for_each_event(
        &self,
        since: u64,
        process_id: Option<Uuid>,
        topic: Option<Topic>,
        each: &mut dyn FnMut(Envelope) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        // One statement per combination of filters, so that each can use its
        // index (`events_by_process`, `events_by_topic`): given `?2 IS NULL OR
        // process_id = ?2`, SQLite cannot, and scans the whole log. Every
        // statement names ?1, ?2 and ?3, so that all take the same parameters.
        let sql = match (process_id.is_some(), topic.is_some()) {
            (false, false) => {
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events
                 WHERE seq > ?1 AND ?2 IS NULL AND ?3 IS NULL
                 ORDER BY seq"
            }
            (true, _) => {
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events
                 WHERE process_id = ?2 AND seq > ?1 AND (?3 IS NULL OR topic = ?3)
                 ORDER BY seq"
            }
            (false, true) => {
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events
                 WHERE topic = ?3 AND seq > ?1 AND ?2 IS NULL
                 ORDER BY seq"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![
            // A seq past i64::MAX is past every event, not a negative one.
            i64::try_from(since).unwrap_or(i64::MAX),
            process_id.map(|p| p.to_string()),
            topic.map(|t| t.as_str())
        ])?;
        let mut last = since;
        while let Some(row) = rows.next()? {
            let event = envelope_from_row(row)?;
            last = event.seq;
            each(event)?;
        }
        Ok(last)
    }

    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Every row whose filter columns (those `list`, `expire` and lookups
    /// search by) disagree with its document, as one line each.
    pub fn column_mismatches(&self) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT id, process_id, customer, status, document FROM salesorders")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let doc: SalesOrderDoc = parse_document(&row.get::<_, String>(4)?)?;
            let columns = (
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
            );
            let documented = (
                doc.process_id.to_string(),
                doc.object.customer.clone(),
                doc.object.status.as_str().to_string(),
            );
            if id != doc.id.to_string() || columns != documented {
                found.push(format!(
                    "sales order {id}: its columns say process {}, customer {:?}, status {} but its document says process {}, customer {:?}, status {}",
                    columns.0, columns.1, columns.2, documented.0, documented.1, documented.2
                ));
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id, process_id, status, document FROM reservations")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let doc: ReservationDoc = parse_document(&row.get::<_, String>(3)?)?;
            let columns = (row.get::<_, String>(1)?, row.get::<_, String>(2)?);
            let documented = (
                doc.process_id.to_string(),
                doc.object.status.as_str().to_string(),
            );
            if id != doc.id.to_string() || columns != documented {
                found.push(format!(
                    "reservation {id}: its columns say process {}, status {} but its document says process {}, status {}",
                    columns.0, columns.1, documented.0, documented.1
                ));
            }
        }
        Ok(found)
    }

    /// `PRAGMA integrity_check`: `["ok"]` or what SQLite found wrong.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The schema version, and how many rows each table holds, by status
    /// where it has one: what `pi7 info` shows. Counts, no documents read.
    pub fn counts(&self) -> Result<(i64, BTreeMap<String, u64>), StoreError> {
        let version = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
        let mut counts = BTreeMap::new();
        let mut stmt = self.conn.prepare(
            "SELECT 'events', count(*) FROM events
             UNION ALL SELECT 'deliveries ' || status, count(*) FROM deliveries GROUP BY status
             UNION ALL SELECT 'salesorders ' || status, count(*) FROM salesorders GROUP BY status
             UNION ALL SELECT 'reservations ' || status, count(*) FROM reservations GROUP BY status",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (what, n) = row?;
            counts.insert(what, n as u64);
        }
        Ok((version, counts))
    }

    /// (number of events, highest seq).
    pub fn event_count(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(max(seq), 0) FROM events",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// Every delivery (of one process, when given) with where it was
    /// handled (`None` while not handled), in handling order, unhandled
    /// ones last.
    pub fn deliveries_by_handling(
        &self,
        process_id: Option<Uuid>,
    ) -> Result<Vec<(Delivery, Option<Handling>)>, StoreError> {
        // Two statements, so that one process's deliveries are found through
        // its events' index rather than by reading every delivery.
        let filter = if process_id.is_some() {
            "WHERE e.process_id = ?1"
        } else {
            "WHERE ?1 IS NULL"
        };
        let sql = format!(
            "{DELIVERY_COLUMNS_HANDLED} {filter} ORDER BY d.handled IS NULL, d.handled, d.key"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([process_id.map(|p| p.to_string())])?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let order: Option<i64> = row.get(8)?;
            let after_seq: Option<i64> = row.get(9)?;
            let handling = order.zip(after_seq).map(|(order, position)| Handling {
                order: order as u64,
                position: position as u64,
            });
            found.push((delivery_from_row(row)?, handling));
        }
        Ok(found)
    }

    /// Deliveries with `status`, first first, narrowed by `filter`.
    pub fn deliveries(
        &self,
        status: DeliveryStatus,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>, StoreError> {
        select_deliveries(&self.conn, status, filter, Pick::First, None)
    }
}

impl LogSource for SqliteStore {
    fn for_each_step(
        &self,
        process_id: Option<Uuid>,
        each: &mut dyn FnMut(Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let process = process_id.map(|p| p.to_string());
        let mut handled = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT d.log_seq, d.handled, e.id, d.component
                 FROM deliveries d JOIN events e ON e.seq = d.seq
                 WHERE d.status = 'done' AND (?1 IS NULL OR e.process_id = ?1)",
            )?;
            let mut rows = stmt.query([&process])?;
            while let Some(row) = rows.next()? {
                let component: String = row.get(3)?;
                handled.push(Recorded {
                    position: row.get::<_, i64>(0)? as u64,
                    order: row.get::<_, i64>(1)? as u64,
                    event: parse_uuid(&row.get::<_, String>(2)?)?,
                    component: Component::from_str(&component).map_err(StoreError::Corrupt)?,
                });
            }
        }
        let mut sizes = std::collections::HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT command, count(*) FROM events
                 WHERE command IS NOT NULL AND (?1 IS NULL OR process_id = ?1)
                 GROUP BY command HAVING count(*) > 1",
            )?;
            let mut rows = stmt.query([&process])?;
            while let Some(row) = rows.next()? {
                sizes.insert(row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as usize);
            }
        }
        let mut writer = StepWriter::new(handled, sizes);
        // Two statements, so that a process's events are found by their index.
        let sql = if process.is_some() {
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload, command
             FROM events WHERE process_id = ?1 ORDER BY seq"
        } else {
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload, command
             FROM events WHERE ?1 IS NULL ORDER BY seq"
        };
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query([&process])?;
        while let Some(row) = rows.next()? {
            let event = envelope_from_row(row)?;
            let command = row.get::<_, Option<i64>>(8)?.map(|c| c as u64);
            writer.event(event, command, each)?;
        }
        writer.finish(each)
    }
}

impl Store for SqliteStore {
    fn transaction<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut attempt = 1;
        loop {
            match self.run_once(work) {
                Err(e) if is_busy(&e) => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Busy { attempts: attempt }.into());
                    }
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                Err(e) if is_read_only(&e) => {
                    return Err(StoreError::ReadOnly {
                        path: self.display_path(),
                    }
                    .into())
                }
                other => return other,
            }
        }
    }
}

/// Whether the file holds nothing yet: no pi7 marks and no tables. A file
/// SQLite cannot read at all is not fresh; opening reports it.
fn is_fresh(conn: &Connection) -> bool {
    conn.query_row(
        "SELECT (SELECT application_id FROM pragma_application_id()) = 0
            AND (SELECT user_version FROM pragma_user_version()) = 0
            AND (SELECT count(*) FROM sqlite_master) = 0",
        [],
        |r| r.get::<_, bool>(0),
    )
    .unwrap_or(false)
}

/// `file:PATH?immutable=1`, with the characters a URI gives meaning to
/// escaped.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn sqlite_code(e: &anyhow::Error) -> Option<rusqlite::ErrorCode> {
    let sqlite = e.downcast_ref::<rusqlite::Error>().or_else(|| {
        e.downcast_ref::<StoreError>().and_then(|s| match s {
            StoreError::Sqlite(inner) => Some(inner),
            _ => None,
        })
    })?;
    sqlite.sqlite_error_code()
}

fn is_busy(e: &anyhow::Error) -> bool {
    is_busy_code(sqlite_code(e))
}

fn is_busy_code(code: Option<rusqlite::ErrorCode>) -> bool {
    matches!(
        code,
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn is_read_only(e: &anyhow::Error) -> bool {
    sqlite_code(e) == Some(rusqlite::ErrorCode::ReadOnly)
}

/// Exponential backoff with jitter, so that processes that collided do not
/// collide again in lockstep.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base_ms = 10u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as u64;
    let jitter = (nanos ^ u64::from(std::process::id()).wrapping_mul(0x9e37_79b9)) % base_ms;
    Duration::from_millis(base_ms / 2 + jitter)
}

struct SqliteTx<'a> {
    conn: &'a Connection,
    /// The first seq of the command this transaction is appending.
    command: Option<u64>,
}

impl<'a> SqliteTx<'a> {
    fn new(conn: &'a Connection) -> Self {
        SqliteTx {
            conn,
            command: None,
        }
    }

    /// Counts a write, and fails the one `PI7_FAIL_AT_WRITE` names (the
    /// Nth of this process), as a full disk would: the fault-injection
    /// tests run a command failing at each of its writes in turn. Before
    /// the one `PI7_PAUSE_AT_WRITE` names, says so on stderr and stops for
    /// good, inside its transaction: the kill tests kill pi7 there, at a
    /// point they choose rather than one a timer happens to hit.
    fn write(&self) -> Result<(), StoreError> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::OnceLock;
        static AT: OnceLock<(Option<usize>, Option<usize>)> = OnceLock::new();
        static WRITES: AtomicUsize = AtomicUsize::new(0);
        let at = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
        let (fail_at, pause_at) =
            *AT.get_or_init(|| (at("PI7_FAIL_AT_WRITE"), at("PI7_PAUSE_AT_WRITE")));
        if fail_at.is_none() && pause_at.is_none() {
            return Ok(());
        }
        let write = WRITES.fetch_add(1, Ordering::Relaxed) + 1;
        if Some(write) == pause_at {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "pi7: paused before write {write} (PI7_PAUSE_AT_WRITE)"
            );
            loop {
                std::thread::park();
            }
        }
        if Some(write) == fail_at {
            return Err(StoreError::Injected(write));
        }
        Ok(())
    }
}

impl Tx for SqliteTx<'_> {
    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError> {
        self.write()?;
        let command = match (event.causation_id, self.command) {
            (Some(_), _) => None,
            (None, Some(first)) => Some(first),
            // The write lock is held, so the next seq is the one SQLite
            // gives this row.
            (None, None) => Some(self.last_seq()? + 1),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO events
                   (id, topic, process_id, causation_id, source, time, payload, command)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                event.id.to_string(),
                event.topic.as_str(),
                event.process_id.to_string(),
                event.causation_id.map(|c| c.to_string()),
                event.source.as_str(),
                event.time,
                event.payload.to_string(),
                command.map(|c| c as i64),
            ])?;
        let seq = self.conn.last_insert_rowid() as u64;
        if event.causation_id.is_none() && self.command.is_none() {
            self.command = Some(seq);
        }
        Ok(event.sequenced(seq))
    }

    fn start_command(&mut self) {
        self.command = None;
    }

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM events")?
            .query_row([], |r| r.get::<_, i64>(0))? as u64)
    }

    fn events_of(&mut self, process_id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload
             FROM events WHERE process_id = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([process_id.to_string()])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(envelope_from_row(row)?);
        }
        Ok(events)
    }

    fn event_by_id(&mut self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload
             FROM events WHERE id = ?1",
        )?;
        let mut rows = stmt.query([id.to_string()])?;
        match rows.next()? {
            Some(row) => Ok(Some(envelope_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError> {
        self.write()?;
        self.conn
            .prepare_cached("INSERT INTO deliveries (seq, component) VALUES (?1, ?2)")?
            .execute(params![seq as i64, component.as_str()])?;
        Ok(())
    }

    fn event(&mut self, seq: u64) -> Result<Envelope, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events WHERE seq = ?1",
            )?
            .query_row([seq as i64], |row| Ok(envelope_from_row(row)))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("no event with seq {seq}")))?
    }

    fn has_event(&mut self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1")?
            .exists([id.to_string()])?)
    }

    fn has_process(&mut self, process_id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE process_id = ?1 LIMIT 1")?
            .exists([process_id.to_string()])?)
    }

    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError> {
        Ok(select_deliveries(self.conn, DeliveryStatus::Pending, filter, order, Some(1))?.pop())
    }

    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        select_deliveries(
            self.conn,
            DeliveryStatus::Pending,
            filter,
            Pick::First,
            None,
        )
    }

    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError> {
        self.write()?;
        let (status, error, position) = match result {
            Finished::Done { position } => (DeliveryStatus::Done, None, Some(position as i64)),
            Finished::Failed { error, park: true } => (DeliveryStatus::Failed, Some(error), None),
            Finished::Failed { error, park: false } => (delivery.status, Some(error), None),
        };
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET status = ?2, attempts = attempts + 1, error = ?3,
                   handled = CASE WHEN ?2 = 'done'
                     THEN (SELECT coalesce(max(handled), 0) + 1 FROM deliveries)
                   END,
                   log_seq = ?4
                 WHERE key = ?1",
            )?
            .execute(params![delivery.key, status.as_str(), error, position])?;
        Ok(())
    }

    fn record_redelivery(
        &mut self,
        seq: u64,
        component: Component,
        time: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO redeliveries (seq, component, time, changed) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![seq as i64, component.as_str(), time, changed])?;
        Ok(())
    }

    fn delivery(&mut self, seq: u64, component: Component) -> Result<Option<Delivery>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{DELIVERY_COLUMNS} WHERE d.seq = ?1 AND d.component = ?2"
        ))?;
        let mut rows = stmt.query(params![seq as i64, component.as_str()])?;
        match rows.next()? {
            Some(row) => Ok(Some(delivery_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn sales_order(&mut self, process_id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.conn
            .prepare_cached("SELECT document FROM salesorders WHERE process_id = ?1")?
            .query_row([process_id.to_string()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|json| parse_document(&json))
            .transpose()
    }

    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT document FROM reservations WHERE process_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([process_id.to_string()], |r| r.get::<_, String>(0))?;
        rows.map(|json| parse_document(&json?)).collect()
    }

    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        self.conn
            .prepare_cached("SELECT document FROM reservations WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|json| parse_document(&json))
            .transpose()
    }

    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.write()?;
        self.conn
            .prepare_cached(
                "INSERT INTO salesorders (id, process_id, customer, status, document)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET
                   customer = excluded.customer, status = excluded.status,
                   document = excluded.document",
            )?
            .execute(params![
                doc.id.to_string(),
                doc.process_id.to_string(),
                doc.object.customer,
                doc.object.status.as_str(),
                to_json(doc),
            ])?;
        Ok(())
    }

    fn save_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError> {
        self.write()?;
        self.conn
            .prepare_cached(
                "INSERT INTO reservations (id, process_id, status, document)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET
                   status = excluded.status, document = excluded.document",
            )?
            .execute(params![
                doc.id.to_string(),
                doc.process_id.to_string(),
                doc.object.status.as_str(),
                to_json(doc),
            ])?;
        Ok(())
    }
}

const DELIVERY_COLUMNS: &str =
    "SELECT d.key, d.seq, e.topic, d.component, e.process_id, d.status, d.attempts, d.error
     FROM deliveries d JOIN events e ON e.seq = d.seq";

const DELIVERY_COLUMNS_HANDLED: &str =
    "SELECT d.key, d.seq, e.topic, d.component, e.process_id, d.status, d.attempts, d.error,
            d.handled, d.log_seq
     FROM deliveries d JOIN events e ON e.seq = d.seq";

fn select_deliveries(
    conn: &Connection,
    status: DeliveryStatus,
    filter: &DeliveryFilter,
    order: Pick,
    limit: Option<usize>,
) -> Result<Vec<Delivery>, StoreError> {
    let direction = match order {
        Pick::First => "ASC",
        Pick::Last => "DESC",
    };
    // The status is written into the statement, not bound: only a literal
    // `status = 'pending'` lets SQLite use the partial indexes
    // (`deliveries_pending`, `deliveries_failed`); with a bound parameter it
    // scans every delivery ever made to find the next pending one.
    // Deliveries excluded by the caller are few (those that failed in this
    // run), so they are skipped here rather than in SQL.
    let sql = format!(
        "{DELIVERY_COLUMNS}
         WHERE d.status = '{status}'
           AND (?1 IS NULL OR d.component = ?1)
           AND (?2 IS NULL OR e.process_id = ?2)
         ORDER BY d.key {direction}",
        status = status.as_str(),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        filter.component.map(|c| c.as_str()),
        filter.process_id.map(|p| p.to_string()),
    ])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        let delivery = delivery_from_row(row)?;
        if filter.exclude.contains(&delivery.key) {
            continue;
        }
        found.push(delivery);
        if limit.is_some_and(|l| found.len() >= l) {
            break;
        }
    }
    Ok(found)
}

fn delivery_from_row(row: &Row) -> Result<Delivery, StoreError> {
    let status: String = row.get(5)?;
    Ok(Delivery {
        key: row.get(0)?,
        seq: row.get::<_, i64>(1)? as u64,
        topic: parse_text(&row.get::<_, String>(2)?)?,
        component: parse_text(&row.get::<_, String>(3)?)?,
        process_id: parse_uuid(&row.get::<_, String>(4)?)?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status '{status}'")))?,
        attempts: row.get(6)?,
        error: row.get(7)?,
    })
}

pub(super) fn envelope_from_row(row: &Row) -> Result<Envelope, StoreError> {
    let causation: Option<String> = row.get(4)?;
    let payload: String = row.get(7)?;
    Ok(Envelope {
        seq: row.get::<_, i64>(0)? as u64,
        id: parse_uuid(&row.get::<_, String>(1)?)?,
        topic: parse_text(&row.get::<_, String>(2)?)?,
        process_id: parse_uuid(&row.get::<_, String>(3)?)?,
        causation_id: causation.as_deref().map(parse_uuid).transpose()?,
        source: parse_text::<Source>(&row.get::<_, String>(5)?)?,
        time: row.get(6)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
    })
}

pub(super) fn parse_text<T: FromStr<Err = String>>(text: &str) -> Result<T, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

pub(super) fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("id '{text}': {e}")))
}

pub(super) fn parse_document<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("document: {e}")))
}

pub(super) fn to_json<T: serde::Serialize>(doc: &T) -> String {
    serde_json::to_string(doc).expect("documents always serialize")
}

impl SqliteStore {
    /// Runs `work` inside one writing transaction (`BEGIN IMMEDIATE`) on
    /// this store, so that everything it reads and writes through the
    /// store's methods is one consistent unit: committed when it returns
    /// `Ok`, rolled back when it returns an error. `work` runs once; only
    /// taking the write lock is retried while the database is busy.
    pub fn write_locked<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut attempt = 1;
        loop {
            match self.conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => break,
                Err(e) if is_busy_code(e.sqlite_error_code()) => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Busy { attempts: attempt }.into());
                    }
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) => {
                    return Err(StoreError::ReadOnly {
                        path: self.display_path(),
                    }
                    .into())
                }
                Err(e) => return Err(StoreError::from(e).into()),
            }
        }
        let result = work(self).and_then(|value| {
            self.conn
                .execute_batch("COMMIT")
                .map_err(StoreError::from)?;
            Ok(value)
        });
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        match result {
            Err(e) if is_read_only(&e) => Err(StoreError::ReadOnly {
                path: self.display_path(),
            }
            .into()),
            other => other,
        }
    }

    /// Makes the stored sales orders and reservations exactly the rebuilt
    /// ones, in one transaction (the caller's, inside
    /// [`write_locked`](Self::write_locked), or its own): removes what the
    /// rebuild does not have, adds what it has that is not stored, and
    /// rewrites (with the filter columns) what differs. Documents that are
    /// already right are left alone, so they keep their place in listings;
    /// added ones come after them, in the order their processes began.
    /// Returns what it changed.
    pub fn replace_documents(&mut self, rebuilt: &Rebuilt) -> anyhow::Result<Vec<DocumentChange>> {
        if self.conn.is_autocommit() {
            return self.write_locked(|store| store.replace_documents(rebuilt));
        }
        let orders = self.stored_rows(
            "SELECT rowid, id, process_id, customer, status, document
             FROM salesorders ORDER BY rowid",
        )?;
        let reservations = self.stored_rows(
            "SELECT rowid, id, process_id, NULL, status, document
             FROM reservations ORDER BY rowid",
        )?;
        let plan = Replacement::plan(&orders, &reservations, rebuilt, &mut |process_id| {
            self.first_seq_of(process_id)
        })?;
        // Deletions first, so that what is re-added never meets a stale row.
        for rowid in &plan.delete_orders {
            self.conn
                .prepare_cached("DELETE FROM salesorders WHERE rowid = ?1")?
                .execute([rowid])?;
        }
        for rowid in &plan.delete_reservations {
            self.conn
                .prepare_cached("DELETE FROM reservations WHERE rowid = ?1")?
                .execute([rowid])?;
        }
        let mut tx = SqliteTx::new(&self.conn);
        for doc in &plan.orders {
            tx.save_sales_order(doc)?;
        }
        for doc in &plan.reservations {
            tx.save_reservation(doc)?;
        }
        Ok(plan.changes)
    }

    /// The event with this id, if the log has it.
    pub fn event_by_id(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload
             FROM events WHERE id = ?1",
        )?;
        let mut rows = stmt.query([id.to_string()])?;
        match rows.next()? {
            Some(row) => Ok(Some(envelope_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn stored_rows(&self, sql: &str) -> Result<Vec<StoredRow>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredRow {
                rowid: r.get(0)?,
                id: r.get(1)?,
                process_id: r.get(2)?,
                customer: r.get(3)?,
                status: r.get(4)?,
                document: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The seq of the first event of a process (`u64::MAX` when it has none).
    fn first_seq_of(&self, process_id: Uuid) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached("SELECT min(seq) FROM events WHERE process_id = ?1")?
            .query_row([process_id.to_string()], |r| r.get(0))?;
        Ok(seq.map_or(u64::MAX, |s| s as u64))
    }
}
