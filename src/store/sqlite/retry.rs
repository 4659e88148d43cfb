//! Running a unit of work: one write transaction, retried whole while the
//! database is busy, with jitter; or a savepoint in a group of them that
//! shares one transaction.

use super::*;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one attempt waits for another writer to let go of the lock:
/// [`BUSY_TIMEOUT`], or `PI7_BUSY_TIMEOUT_MS` for whoever would rather hear
/// "busy" sooner (the tests that provoke it cannot wait eight times 5 s).
pub(super) fn busy_timeout() -> Duration {
    static TIMEOUT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        std::env::var("PI7_BUSY_TIMEOUT_MS")
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(BUSY_TIMEOUT, Duration::from_millis)
    })
}
pub(in crate::store) const MAX_ATTEMPTS: u32 = 8;

/// Runs `once` until it succeeds or fails for good: an error `retryable`
/// accepts (a busy database, a lost lock race) is tried again after a
/// backoff, [`MAX_ATTEMPTS`] times in all, and then is
/// [`StoreError::Busy`]. Both stores retry every unit of work so.
pub(in crate::store) fn retrying<T, E: From<StoreError>>(
    retryable: impl Fn(&E) -> bool,
    mut once: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut attempt = 1;
    loop {
        match once() {
            Err(e) if retryable(&e) => {
                if attempt >= MAX_ATTEMPTS {
                    return Err(StoreError::Busy { attempts: attempt }.into());
                }
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether SQLite said the database is busy (or locked).
pub(super) fn busy(e: &StoreError) -> bool {
    matches!(e, StoreError::Sqlite(e) if is_busy_code(e.sqlite_error_code()))
}

impl SqliteStore {
    /// `e`, or, when SQLite refused to write a read-only database, the
    /// error that names it so.
    pub(super) fn read_only_named(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Sqlite(inner)
                if inner.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) =>
            {
                StoreError::ReadOnly {
                    path: self.display_path(),
                }
            }
            other => other,
        }
    }
}

impl SqliteStore {
    /// Opens one write transaction that the units of work run until
    /// [`end_group`](Self::end_group) share, each in a savepoint of its own:
    /// each still lands whole or not at all, and all of them cost one commit.
    /// Taking the write lock is retried while the database is busy.
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        self.begin_immediate()?;
        self.grouped = true;
        Ok(())
    }

    /// Takes the write lock (`BEGIN IMMEDIATE`), retried while the database
    /// is busy.
    pub(super) fn begin_immediate(&self) -> Result<(), StoreError> {
        retrying(busy, || {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(StoreError::from)
        })
        .map_err(|e| self.read_only_named(e))
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
            let mut unit = SqliteTx::new(&savepoint);
            let value = work(&mut unit)?;
            unit.flush()?;
            // Gives back the statements it kept prepared.
            drop(unit);
            savepoint.commit()?;
            return Ok(value);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut unit = SqliteTx::new(&tx);
        let value = work(&mut unit)?;
        unit.flush()?;
        drop(unit);
        tx.commit()?;
        Ok(value)
    }

    /// Runs `work` in one write transaction on the raw connection, retried
    /// whole while the database is busy, for the store's own bookkeeping
    /// tables (the MQTT relay's position) that no unit of work touches.
    pub(in crate::store) fn write<T>(
        &mut self,
        work: &mut dyn FnMut(&rusqlite::Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        retrying(busy, || {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .map_err(|e| self.read_only_named(e))
    }
}

impl Store for SqliteStore {
    fn transaction<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        retrying(is_busy, || self.run_once(work)).map_err(|e| {
            if is_read_only(&e) {
                StoreError::ReadOnly {
                    path: self.display_path(),
                }
                .into()
            } else {
                e
            }
        })
    }
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

pub(super) fn is_busy_code(code: Option<rusqlite::ErrorCode>) -> bool {
    matches!(
        code,
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

pub(super) fn is_read_only(e: &anyhow::Error) -> bool {
    sqlite_code(e) == Some(rusqlite::ErrorCode::ReadOnly)
}

/// Exponential backoff with jitter, so that processes that collided do not
/// collide again in lockstep.
pub(in crate::store) fn backoff(attempt: u32) -> Duration {
    let base_ms = 10u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as u64;
    let jitter = (nanos ^ u64::from(std::process::id()).wrapping_mul(0x9e37_79b9)) % base_ms;
    Duration::from_millis(base_ms / 2 + jitter)
}
