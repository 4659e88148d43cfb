//! The use cases of pi7, the one door every face goes through: the command
//! line (`crate::commands`) and the web server (`crate::http`) parse what
//! they were given, call a function here, and render what it returns. No
//! face touches a store type or the dispatcher; no function here prints.
//!
//! Each use case runs over an [`App`]: one open database, the clock, and
//! the diagnostics (workflow log, notes) it collected for the face to show.
//! Results are plain `Serialize` types; failures are one [`Error`] whose
//! [`Kind`] each face maps to an exit code or an HTTP status.

mod at;
mod complete;
mod deliver;
mod error;
mod export;
mod import;
mod info;
pub mod lookup;
mod read;
mod rebuild;
mod relay;
mod saved;
#[cfg(test)]
mod tests;
mod verify;
mod view;
pub mod worker;
mod write;

pub use at::{AtDocument, ShownAt};
pub use complete::{Completing, IdCandidate};
pub use deliver::{Handled, Order, Report};
pub use error::{Error, Kind, Result};
#[cfg(test)]
pub(crate) use export::write_log;
#[cfg(test)]
pub(crate) use import::replay_file;
#[cfg(test)]
pub(crate) use import::WholeText;
pub use import::{remove_new_database, Chunks, Import, Log};
pub use info::Info;
pub use read::{Delivery, DeliveryStatus, EventFilter, ListFilter, Process, Shown, What};
pub use rebuild::{Change, DocumentChange, DocumentKind, Rebuilt};
pub use relay::Lease;
pub use verify::{audit, verify, Audit, Verified};
pub use view::{ProcessView, TimelineStep};
pub use write::{Decided, Decision, Recorded, Submitted};

use std::path::{Path, PathBuf};

use crate::dispatch::{self as dispatcher, Plan};
use crate::domain::{Envelope, LogLine};
use crate::operations::Acted;
use crate::store::{
    AnyStore, DeliveryFilter, DeliveryStatus as StoreDeliveryStatus, OpenMode, Pick, Queries,
    Store, StoreError, Tx,
};
use saved::{Noting, Saved};

/// Whether a face means to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// How a face wants use cases to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The current time in unix seconds; `None` reads the clock each time.
    pub now: Option<i64>,
    /// Append events but deliver nothing (`pi7 dispatch` delivers later).
    pub hold: bool,
    /// Keep the workflow log of every delivery (`-v`), not only failures.
    pub log: bool,
}

/// Something a use case has to say beside its result, in the order it
/// happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnostic {
    /// A line of the workflow log, in the original's words (`-v`).
    Log(String),
    /// A note for the user: "already confirmed; nothing changed".
    Note(String),
}

/// What a writing use case does in its transaction: its result, and what
/// it did.
type UnitOfWork<'a, T> = dyn FnMut(&mut dyn Tx) -> anyhow::Result<(T, Acted)> + 'a;

/// A [`UnitOfWork`] that delivers as it goes.
type DeliveringWork<'a, T> =
    dyn FnMut(&mut dyn Tx, &mut Delivering) -> anyhow::Result<(T, Acted)> + 'a;

/// How many deliveries a command makes in its own transaction at most. Past
/// them, the rest waits for the transactions after its commit, a batch
/// each, as work held back does: the transaction, and the WAL that holds it
/// until it commits, stop growing with what a huge command sets off (a
/// 200 MB submit's WAL grew four times bigger, to the size of the whole
/// database, and with it the WAL's index in memory).
const OWN_DELIVERIES: usize = 64 * dispatcher::BATCH;

/// Delivers what a use case published inside its own transaction, and keeps
/// what the deliveries had to say for after the commit.
pub(super) struct Delivering<'o> {
    options: &'o Options,
    /// How many more it may make ([`OWN_DELIVERIES`] in all).
    left: usize,
    said: Said,
    failed: Vec<i64>,
}

impl<'o> Delivering<'o> {
    fn new(options: &'o Options) -> Self {
        Delivering {
            options,
            left: OWN_DELIVERIES,
            said: Said::default(),
            failed: Vec::new(),
        }
    }

    /// Delivers `published` and what handling it publishes, unless the
    /// options hold deliveries back. Once it has made as many as a command
    /// may, it makes no more, so that those left are taken in the order
    /// they were created, after the commit.
    pub(super) fn deliver(
        &mut self,
        tx: &mut dyn Tx,
        published: &[Envelope],
    ) -> Result<(), StoreError> {
        if self.options.hold || self.left == 0 {
            return Ok(());
        }
        let Delivering {
            options,
            left,
            said,
            failed,
        } = self;
        let handlers = &dispatcher::Handlers::REAL;
        let made = dispatcher::deliver_published(tx, published, *left, handlers, &mut |r| {
            said.hear(&r, options);
            if let Handled::Failed { parked: false, .. } = r.result {
                failed.push(r.delivery.key);
            }
        })?;
        *left -= made;
        Ok(())
    }

    /// What is left for the delivery after the commit, with `saved`, what
    /// the transaction saved. Other work pending (held by an earlier
    /// command, say) is delivered then, as before.
    fn finish(self, tx: &mut dyn Tx, saved: Saved) -> Result<AfterRecord, StoreError> {
        let settled =
            self.options.hold || tx.next_pending(Pick::First, &Default::default())?.is_none();
        // Said after the use case's own notes, as a delivery after the
        // commit would have been: `settle` adds them.
        let delivered = self.said.into_diagnostics().collect();
        Ok(AfterRecord {
            settled,
            delivered,
            failed: self.failed,
            saved,
        })
    }
}

/// One open database and how to use it.
pub struct App {
    /// First, so that it stops before the store closes: see
    /// [`checkpoint_in_background`](App::checkpoint_in_background).
    background: Option<crate::store::BackgroundCheckpoints>,
    store: AnyStore,
    options: Options,
    diagnostics: Vec<Diagnostic>,
    /// What [`record`](App::record) leaves for the `settle` after it, taken
    /// whole by that `settle` so that nothing of it outlives its use case.
    after_record: AfterRecord,
}

/// What delivering in a use case's own transaction leaves for the delivery
/// after its commit.
#[derive(Default)]
struct AfterRecord {
    /// Nothing was left pending.
    settled: bool,
    /// What the deliveries had to say, until the use case has said its own.
    delivered: Vec<Diagnostic>,
    /// Those that failed: the delivery after does not try them again.
    failed: Vec<i64>,
    /// The documents the transaction saved, as it left them.
    saved: Saved,
}

/// The database file a face names, or the platform default.
pub fn db_path(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    directories::ProjectDirs::from("", "", "pi7")
        .map(|dirs| dirs.data_dir().join("pi7.db"))
        .ok_or_else(|| {
            StoreError::CannotOpen {
                path: "pi7.db".into(),
                detail: "no home directory to keep it in; pass --db PATH or set PI7_DB".into(),
            }
            .into()
        })
}

/// Whether the database at `path` is there: an SQLite file that exists, or
/// any PostgreSQL URL (the server holds it; opening says when it cannot).
pub fn database_exists(path: &Path) -> bool {
    on_postgres(path) || path.exists()
}

/// Whether `path` is a PostgreSQL URL rather than an SQLite file.
pub fn on_postgres(path: &Path) -> bool {
    path.to_str().is_some_and(crate::store::is_postgres_url)
}

/// The write lock of a database file, held until dropped: a writer in
/// flight commits first, and no other after it.
pub struct WriteLock {
    _connection: Option<rusqlite::Connection>,
}

/// Takes the write lock of the SQLite database at `path`, waiting (up to
/// the busy timeout) for a writer in flight; holds nothing when the path is
/// no SQLite file or the lock cannot be had.
pub fn hold_writes(path: &Path) -> WriteLock {
    WriteLock {
        _connection: crate::store::SqliteStore::hold_write_lock(path),
    }
}

impl App {
    /// Opens the database at `path`; writing creates it when missing.
    pub fn open(path: &Path, access: Access, options: Options) -> Result<App> {
        let mode = match access {
            Access::Read => OpenMode::ReadOnly,
            Access::Write => OpenMode::ReadWrite,
        };
        Ok(App {
            background: None,
            store: AnyStore::open(path, mode)?,
            options,
            diagnostics: Vec::new(),
            after_record: AfterRecord::default(),
        })
    }

    /// The database as messages may show it: the file, or a PostgreSQL URL
    /// without its password.
    pub fn name(&self) -> String {
        self.store.name()
    }

    /// Runs `work` on one snapshot of the database: what it reads belongs
    /// together (a document and its events from the same commit), and on
    /// SQLite the file's locks are taken once for all of it.
    pub fn snapshot<T>(&self, work: impl FnOnce(&App) -> T) -> T {
        let _snapshot = self.store.begin_read();
        work(self)
    }

    /// Whether reads are answered from a local file (SQLite), in
    /// microseconds, rather than over a network connection.
    pub fn reads_locally(&self) -> bool {
        !matches!(self.store, AnyStore::Postgres(_))
    }

    /// False for a database in memory: what reading a path that holds no
    /// database yet gives.
    pub fn on_disk(&self) -> bool {
        self.store.on_disk()
    }

    /// The current time: the fixed one the face gave, or the clock.
    pub fn now(&self) -> i64 {
        self.options.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
    }

    /// Starts a group: the writing use cases run until [`end_group`]
    /// share one commit. On SQLite each of their transactions becomes a
    /// savepoint in one transaction, so each still lands whole or not at
    /// all, and a server with many writes waiting pays one commit for all
    /// of them. What they return holds only once `end_group` returns `Ok`.
    ///
    /// [`end_group`]: Self::end_group
    pub fn begin_group(&mut self) -> Result<()> {
        Ok(self.store.begin_group()?)
    }

    /// Has a thread of its own checkpoint the WAL after this App's commits,
    /// instead of the commits themselves, until the App is dropped: a
    /// server's next write no longer waits for the pages to be copied into
    /// the database. Past ten times SQLite's threshold the commits
    /// checkpoint again themselves, so that the WAL cannot grow without
    /// end. Nothing on PostgreSQL, whose server checkpoints, or in memory.
    /// One App per process at a time.
    pub fn checkpoint_in_background(&mut self) -> Result<()> {
        if let AnyStore::Sqlite(s) = &self.store {
            if s.on_disk() {
                self.background = Some(s.defer_checkpoints()?.in_background());
            }
        }
        Ok(())
    }

    /// Commits the group [`begin_group`](Self::begin_group) started; a
    /// commit that fails undoes every write of the group.
    pub fn end_group(&mut self) -> Result<()> {
        Ok(self.store.end_group(true)?)
    }

    /// What the use cases run so far had to say, oldest first; taking them
    /// leaves none behind.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        self.diagnostics.append(&mut self.after_record.delivered);
        std::mem::take(&mut self.diagnostics)
    }

    /// The workflow log becomes text here, and only when it is kept.
    fn log(&mut self, lines: &[LogLine]) {
        if self.options.log {
            self.diagnostics
                .extend(lines.iter().map(|line| Diagnostic::Log(line.to_string())));
        }
    }

    fn note(&mut self, message: String) {
        self.diagnostics.push(Diagnostic::Note(message));
    }

    /// Runs a writing use case's unit of work and, unless the options hold
    /// deliveries back, delivers in the same transaction what it published
    /// and what handling that publishes: a command and its consequences are
    /// one commit, not two. `work` returns its result and what it did; the
    /// log of what it did joins the diagnostics. Anything still pending
    /// afterwards (held work, or a delivery that failed) is left to
    /// [`settle`](Self::settle), which tells the face apart what was
    /// recorded from what failed after it.
    fn record<T>(&mut self, work: &mut UnitOfWork<T>) -> Result<T> {
        self.record_delivering(&mut |tx, _| work(tx))
    }

    /// [`record`](Self::record) for a use case that publishes so much that
    /// it delivers as it goes ([`Delivering::deliver`]), in its own
    /// transaction still, rather than hold everything it published until
    /// its end.
    fn record_delivering<T>(&mut self, work: &mut DeliveringWork<T>) -> Result<T> {
        let options = self.options.clone();
        let (result, acted, after) = self.store.transaction(&mut |tx| {
            let mut tx = Noting::new(tx);
            let mut delivering = Delivering::new(&options);
            let (result, acted) = work(&mut tx, &mut delivering)?;
            delivering.deliver(&mut tx, &acted.published)?;
            // Finishing reads, and saves nothing: the note is whole.
            let saved = std::mem::take(&mut tx.saved);
            let after = delivering.finish(&mut tx, saved)?;
            Ok((result, acted, after))
        })?;
        self.log(&acted.log);
        self.after_record = after;
        Ok(result)
    }

    /// Delivers everything pending, as every writing use case does before it
    /// returns, unless the options hold deliveries back or the use case's
    /// own transaction delivered everything already. Returns the documents
    /// that transaction saved, as they are now: none when anything was
    /// delivered after its commit, which may have changed them.
    fn settle(&mut self) -> Result<Saved> {
        let mut after = std::mem::take(&mut self.after_record);
        self.diagnostics.append(&mut after.delivered);
        if after.settled && !self.options.hold {
            return Ok(after.saved);
        }
        settle(
            &mut self.store,
            &self.options,
            &mut self.diagnostics,
            after.failed,
        )?;
        // Held deliveries stay held, and leave the documents as they were.
        Ok(if self.options.hold {
            after.saved
        } else {
            Saved::default()
        })
    }
}

/// Lets the first attempt of a unit of work that reads its input as it
/// goes run, and fails the next ones (a store retries a unit of work whole,
/// when the database was busy): what the input gave the first attempt
/// cannot be read again, so a retry would replay a half-read input.
fn first_attempt(started: &mut bool) -> std::result::Result<(), StoreError> {
    if std::mem::replace(started, true) {
        return Err(StoreError::Busy { attempts: 2 });
    }
    Ok(())
}

/// Delivers everything pending on `store` but the deliveries `exclude`
/// names (those that failed in this run already) or, when `options` hold,
/// says how much waits, adding to `diagnostics` what the delivery had to
/// say. Returns how many deliveries failed.
fn settle(
    store: &mut AnyStore,
    options: &Options,
    diagnostics: &mut Vec<Diagnostic>,
    exclude: Vec<i64>,
) -> Result<usize> {
    if options.hold {
        let pending = store
            .deliveries(StoreDeliveryStatus::Pending, &Default::default())?
            .len();
        diagnostics.push(Diagnostic::Note(format!(
            "held: {pending} deliveries pending; `pi7 dispatch` delivers them"
        )));
        return Ok(0);
    }
    // Only what will be shown is kept: a drain of a million deliveries must
    // not hold a million reports.
    let mut said = Said::default();
    let plan = Plan {
        filter: DeliveryFilter {
            exclude,
            ..Default::default()
        },
        ..Plan::drain()
    };
    dispatcher::dispatch(store, &plan, &mut |r| said.hear(r, options))?;
    let failed = said.notes.len();
    diagnostics.extend(said.into_diagnostics());
    Ok(failed)
}

/// What deliveries had to say: a note for each that failed and, when the
/// options keep the workflow log, every delivery's log, the notes first.
#[derive(Default)]
struct Said {
    notes: Vec<String>,
    logs: Vec<String>,
}

impl Said {
    fn hear(&mut self, report: &Report, options: &Options) {
        self.notes
            .extend(failure_notes(std::slice::from_ref(report)));
        if options.log {
            self.logs.extend(report.log.iter().map(LogLine::to_string));
        }
    }

    fn into_diagnostics(self) -> impl Iterator<Item = Diagnostic> {
        (self.notes.into_iter().map(Diagnostic::Note))
            .chain(self.logs.into_iter().map(Diagnostic::Log))
    }
}

/// One note for each delivery whose handler failed.
pub(crate) fn failure_notes(reports: &[Report]) -> Vec<String> {
    let mut notes = Vec::new();
    for report in reports {
        if let Handled::Failed { error, parked } = &report.result {
            let d = &report.delivery;
            let what = if *parked {
                "parked it; `pi7 pending --failed` lists it"
            } else {
                "will retry"
            };
            notes.push(format!(
                "delivering event {} to {} failed ({what}): {error}",
                d.seq, d.component
            ));
        }
    }
    notes
}
