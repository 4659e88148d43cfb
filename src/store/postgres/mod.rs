//! The PostgreSQL store: one pi7 system shared by many processes on many
//! machines (`--db postgres://…`).
//!
//! It keeps the same tables as SQLite and passes the same contract suite;
//! what differs is that many writers run at once, which `tx.rs` explains
//! (process locks, the append lock, claiming deliveries). Here: connecting,
//! the schema version table and its add-only migrations, and running a unit
//! of work with bounded retries of serialization failures, deadlocks and
//! lost lock races, as SQLite retries a busy database.
//!
//! It uses the synchronous `postgres` crate: pi7 is a synchronous program
//! (the dispatcher, the replay and the commands are plain loops over a
//! `&mut dyn Tx`), and one connection per process is all a command or a
//! worker thread needs; sqlx would bring an async runtime into every command
//! and its compile-time query checking needs a database at build time.

mod reads;
mod rebuild;
mod relay;
mod tx;

use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::cell::RefCell;

use super::sqlite::retrying;
use super::{Store, StoreError, Tx};
use tx::{PgTx, Statements};

pub use reads::Notifications;

/// The schema version this pi7 writes, kept in `pi7_schema`.
pub const PG_SCHEMA_VERSION: i64 = 2;

/// Migrations in order: entry `n` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[include_str!("schema1.sql"), include_str!("schema2.sql")];

/// The channel workers LISTEN on; a transaction that adds deliveries
/// notifies it when it commits.
pub const CHANNEL: &str = "pi7_deliveries";

struct Conn {
    client: Client,
    statements: Statements,
}

pub struct PgStore {
    conn: RefCell<Conn>,
    /// The URL without its password, for messages.
    shown: String,
    url: String,
    /// `SET search_path` to this schema first (tests use one per run).
    schema: Option<String>,
}

/// Whether `db` names a PostgreSQL database rather than an SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `url` without the password, fit to print.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let shown_authority = match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    format!("{scheme}://{shown_authority}/{path}")
}

impl PgStore {
    /// Connects and creates or migrates the schema. A server that is down or
    /// refuses the login is [`StoreError::CannotOpen`]; a schema written by a
    /// newer pi7 is refused untouched.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_in(url, None)
    }

    /// As [`open`](Self::open), in the schema `schema` (created when
    /// missing) instead of the connection's default.
    pub fn open_in(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let shown = redact(url);
        let client = connect(url, &shown, schema)?;
        let store = PgStore {
            conn: RefCell::new(Conn {
                client,
                statements: Statements::new(),
            }),
            shown,
            url: url.to_string(),
            schema: schema.map(str::to_string),
        };
        store.migrate()?;
        Ok(store)
    }

    /// A second connection to the same database and schema.
    pub fn reconnect(&self) -> Result<Self, StoreError> {
        Self::open_in(&self.url, self.schema.as_deref())
    }

    /// The database, as messages name it (no password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs statements outside any unit of work (tests empty tables so).
    #[cfg(test)]
    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.conn.get_mut().client.batch_execute(sql)?)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let conn = &mut *self.conn.borrow_mut();
        let mut tx = conn.client.transaction()?;
        // One migrator at a time; the others find the work done.
        tx.execute("SELECT pg_advisory_xact_lock(7366455, 0)", &[])?;
        let has_version_table = tx
            .query_one("SELECT to_regclass('pi7_schema') IS NOT NULL", &[])?
            .get::<_, bool>(0);
        let version = if has_version_table {
            tx.query_opt("SELECT max(version) FROM pi7_schema", &[])?
                .and_then(|r| r.get::<_, Option<i64>>(0))
                .unwrap_or(0)
        } else {
            let foreign = tx
                .query_one("SELECT to_regclass('events') IS NOT NULL", &[])?
                .get::<_, bool>(0);
            if foreign {
                return Err(StoreError::NotPi7 {
                    path: self.shown.clone(),
                    detail: "its schema has an events table but no pi7_schema version".into(),
                });
            }
            tx.batch_execute(
                "CREATE TABLE pi7_schema (version bigint NOT NULL, migrated bigint NOT NULL)",
            )?;
            0
        };
        if version > PG_SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.shown.clone(),
                found: version,
                supported: PG_SCHEMA_VERSION,
            });
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(migration)?;
            tx.execute(
                "INSERT INTO pi7_schema (version, migrated)
                 VALUES ($1, extract(epoch FROM now())::bigint)",
                &[&(index as i64 + 1)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn run_once<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let Conn { client, statements } = self.conn.get_mut();
        let tx = client.transaction()?;
        let mut pg = PgTx::new(tx, statements);
        pg.pass_gate(false)?;
        let value = work(&mut pg)?;
        if pg.added_deliveries {
            pg.tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
        }
        pg.tx.commit()?;
        Ok(value)
    }
}

impl Store for PgStore {
    fn transaction<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        retrying(is_retryable, || self.run_once(work))
    }
}

fn connect(url: &str, shown: &str, schema: Option<&str>) -> Result<Client, StoreError> {
    let cannot = |detail: String| StoreError::CannotOpen {
        path: shown.to_string(),
        detail,
    };
    let mut client = Client::connect(url, NoTls).map_err(|e| cannot(describe(&e)))?;
    if let Some(schema) = schema {
        // Names cannot be bound; this one comes from tests, checked here.
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(cannot(format!("'{schema}' is not a plain schema name")));
        }
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}"
            ))
            .map_err(|e| cannot(describe(&e)))?;
    }
    Ok(client)
}

/// What went wrong, in one line: the server's message when it sent one.
pub fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        // The server's hint is worth a reader's time ("You might need to
        // increase max_locks_per_transaction.") but arrives as a line of
        // its own.
        return match db.hint() {
            Some(hint) => format!("{} ({})", db.message(), hint.replace('\n', " ")),
            None => db.message().to_string(),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// Serialization failures, deadlocks and lost lock races: the whole unit
/// of work runs again.
fn is_retryable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(StoreError::Contended) = cause.downcast_ref::<StoreError>() {
            return true;
        }
        let pg = cause.downcast_ref::<postgres::Error>().or_else(|| {
            cause.downcast_ref::<StoreError>().and_then(|s| match s {
                StoreError::Postgres(inner) => Some(inner),
                _ => None,
            })
        });
        pg.and_then(|p| p.code()).is_some_and(|code| {
            *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        })
    })
}
