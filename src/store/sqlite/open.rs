//! Opening a database: creating it, checking that it is pi7's, migrating
//! its schema.

use super::*;

/// Why a database in `dir` cannot be written, and what to do.
fn read_only_dir_detail(dir: &Path) -> String {
    format!(
        "its directory {} is read-only (or cannot be written), so SQLite cannot create the \
         -wal and -shm files it keeps beside the database; make the directory writable or \
         move the database to one that is",
        dir.display()
    )
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
        retrying(busy, || store.check_and_migrate(read_only_file))?;
        Ok(store)
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

    /// Stops this connection from checkpointing the WAL at its commits, and
    /// returns what checkpoints it instead, on another connection that a
    /// thread of its own may run: a server's writer then spends its time
    /// on writes, not on copying pages into the database file.
    ///
    /// One per process: the WAL's size is kept where SQLite's callback,
    /// which can hold no state of its own, can put it.
    pub fn defer_checkpoints(&self) -> Result<Checkpointer, StoreError> {
        // Replaces SQLite's own hook, the one that checkpoints.
        self.conn.wal_hook(Some(note_wal_frames));
        let conn = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.busy_timeout(busy_timeout())?;
        Ok(Checkpointer { conn })
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

    pub(super) fn display_path(&self) -> String {
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
        if fresh {
            // A new file only: a page's size is fixed once the first table
            // is written, and before WAL mode. Twice SQLite's default halves
            // the pages a bulk command writes, copies at checkpoints and
            // splits (−10% wall time for a 10,000-order submit); 16 KiB
            // made the server's small commits slower (see the README).
            self.conn
                .pragma_update(None, "page_size", super::PAGE_SIZE)?;
        }
        // WAL lets readers go on while one process writes; NORMAL syncs at
        // checkpoints, not at every commit (see the README on durability).
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The server runs each write of a group in a savepoint, whose undo
        // pages SQLite otherwise spills to a temporary file past 64 KiB:
        // a quarter of the writer's time went to those writes.
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Ids are random, so every index is written all over: with SQLite's
        // default 2 MiB of cache, a big transaction spent a quarter of its
        // time spilling pages and reading them back. At most 64 MiB.
        self.conn.pragma_update(None, "cache_size", -65536)?;
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

/// Checkpoints a database whose writer defers it
/// ([`SqliteStore::defer_checkpoints`]).
pub struct Checkpointer {
    conn: Connection,
}

/// How many frames the WAL grows to before a checkpoint copies it into the
/// database: SQLite's own default.
const CHECKPOINT_AT: i32 = 1000;

/// The frames in the WAL after the deferring writer's last commit.
static WAL_FRAMES: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The thread of [`BackgroundCheckpoints`], if one runs, for the WAL hook
/// to wake.
static WAKE: std::sync::Mutex<Option<std::thread::Thread>> = std::sync::Mutex::new(None);

/// How many frames the WAL grows to before the deferring writer checkpoints
/// it itself, in its commit, as if it deferred nothing. Under a steady
/// stream of big commits the checkpointer never copies the whole WAL before
/// the writer's next transaction begins, and only then can the writer start
/// the WAL over: it grew without end (43 GB during a 200 MB submit).
const WRITER_CHECKPOINT_AT: i32 = 10 * CHECKPOINT_AT;

fn note_wal_frames(wal: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.store(frames, std::sync::atomic::Ordering::Relaxed);
    if frames >= WRITER_CHECKPOINT_AT {
        // The commit has happened whatever this says: an error here would
        // be reported as the commit's. A busy WAL is copied next time.
        let _ = wal.checkpoint();
    } else if frames >= CHECKPOINT_AT {
        if let Some(thread) = WAKE.lock().ok().as_deref().and_then(Option::as_ref) {
            thread.unpark();
        }
    }
    Ok(())
}

/// A thread that checkpoints beside the writer, woken by the commits that
/// leave the WAL past SQLite's threshold: the writer's commit returns at
/// once, and the pages are copied while it goes on. Dropping it
/// checkpoints once more and waits for the thread, so that the writer,
/// closing after it, finds nothing left to copy.
pub struct BackgroundCheckpoints {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for BackgroundCheckpoints {
    fn drop(&mut self) {
        if let Ok(mut wake) = WAKE.lock() {
            *wake = None;
        }
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Checkpointer {
    /// Copies the WAL into the database when it has grown past SQLite's
    /// default threshold, without waiting for readers or the writer (a
    /// passive checkpoint): the writer starts the WAL over once all of it
    /// was copied.
    pub fn run(&self) -> Result<(), StoreError> {
        if WAL_FRAMES.load(std::sync::atomic::Ordering::Relaxed) >= CHECKPOINT_AT {
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Runs [`run`](Self::run) on a thread of its own after every commit
    /// that needs it, until the returned value is dropped. Should no thread
    /// start, closing the writer checkpoints all there is, as it would
    /// anyway.
    pub fn in_background(self) -> BackgroundCheckpoints {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("pi7-checkpoint".into())
            .spawn(move || loop {
                std::thread::park();
                // A busy database or a failure costs only a bigger WAL,
                // which the writer's close checkpoints.
                let _ = self.run();
                if stopped.load(Ordering::Acquire) {
                    break;
                }
            })
            .ok();
        if let (Some(thread), Ok(mut wake)) = (&thread, WAKE.lock()) {
            *wake = Some(thread.thread().clone());
        }
        BackgroundCheckpoints { stop, thread }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The WAL's size and the thread to wake are the process's: one test
    /// at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A writer on a new file that defers its checkpoints, with a table
    /// for [`fill`] to write to.
    fn deferring_writer(dir: &std::path::Path) -> (SqliteStore, Checkpointer) {
        let store = SqliteStore::open(&dir.join("pi7.db"), OpenMode::ReadWrite).unwrap();
        let checkpointer = store.defer_checkpoints().unwrap();
        store
            .conn
            .execute_batch("CREATE TABLE filler (bytes BLOB)")
            .unwrap();
        (store, checkpointer)
    }

    /// The bytes of one row of [`fill`]: a page each, nearly.
    const ROW: u64 = super::super::PAGE_SIZE as u64 - 200;

    /// Commits about `pages` pages of random bytes.
    fn fill(store: &SqliteStore, pages: u64) {
        store
            .conn
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {pages})
                 INSERT INTO filler SELECT randomblob({ROW}) FROM n;"
            ))
            .unwrap();
    }

    /// SQLite is built as `.cargo/config.toml` asks: without the memory
    /// statistics and the memory manager, which take a global mutex on
    /// every allocation and every page fetched (3% to 4% of a bulk
    /// command's instructions) for limits pi7 never sets.
    #[test]
    fn sqlite_is_built_without_memory_statistics_or_memory_management() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("pi7.db"), OpenMode::ReadWrite).unwrap();
        let options: Vec<String> = store
            .conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
    }

    /// A commit that leaves the WAL past the threshold wakes the thread,
    /// and dropping it waits for a last checkpoint: by then the pages are
    /// in the database file itself, before the writer closes. (Without
    /// it, a deferring writer leaves them all in the WAL until it closes.)
    #[test]
    fn background_checkpoints_copy_the_wal_into_the_database_before_the_writer_closes() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pi7.db");
        let (store, checkpointer) = deferring_writer(dir.path());
        let background = checkpointer.in_background();
        let before = std::fs::metadata(&path).unwrap().len();
        fill(&store, 2000);
        assert!(
            WAL_FRAMES.load(std::sync::atomic::Ordering::Relaxed) >= CHECKPOINT_AT,
            "the WAL grew past the threshold"
        );
        drop(background);
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(
            after >= before + 2000 * ROW,
            "the database file grew from {before} to only {after} bytes"
        );
        drop(store);
    }

    /// A writer that defers its checkpoints to a thread that never catches
    /// up (here, none at all) checkpoints itself once the WAL is ten times
    /// SQLite's threshold, so the WAL starts over instead of growing with
    /// every commit.
    #[test]
    fn a_deferring_writer_checkpoints_itself_when_the_wal_grows_too_big() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let (store, _checkpointer) = deferring_writer(dir.path());
        const PAGES: u64 = 1_200;
        const COMMITS: u64 = 20;
        for _ in 0..COMMITS {
            fill(&store, PAGES);
        }
        let wal = std::fs::metadata(dir.path().join("pi7.db-wal"))
            .unwrap()
            .len();
        let page = super::super::PAGE_SIZE as u64 + 24;
        assert!(
            wal < (WRITER_CHECKPOINT_AT as u64 + 2 * PAGES) * page,
            "the WAL grew to {wal} bytes over {COMMITS} commits of {PAGES} pages"
        );
        drop(store);
    }
}
