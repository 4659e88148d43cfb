//! What the MQTT relay and inbox keep in the database: the relay's position
//! in the log with the lease that says which relay may move it, and the
//! inbox's dead letters. Not part of the event log: nothing here is
//! exported, replayed or rebuilt.
//!
//! The lease is a row per relay name (`relay_positions`), taken and renewed
//! in write transactions, so two relays on one database never both believe
//! they hold it: whoever finds the row free, expired or already theirs
//! takes it; anyone else waits until it expires.

use rusqlite::params;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::sqlite::{envelope_from_row, SqliteStore};
use super::StoreError;
use crate::domain::Envelope;

/// Who may publish a relay's log now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The caller holds it; the broker has acknowledged every event up to
    /// `position`.
    Held { position: u64 },
    /// Another relay holds it until `until_ms` (unix milliseconds).
    HeldBy { owner: String, until_ms: i64 },
}

/// The wall clock in unix milliseconds. Leases use the clock, not
/// `PI7_NOW`: they are about processes that are running now.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn until(ttl: Duration) -> i64 {
    now_ms().saturating_add(ttl.as_millis() as i64)
}

impl SqliteStore {
    /// Takes (or renews) the lease of relay `name` for `ttl`, unless
    /// another owner holds it and it has not expired.
    pub fn take_relay_lease(
        &mut self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        self.write(&mut |tx| {
            tx.execute(
                "INSERT INTO relay_positions (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
                [name],
            )?;
            let (position, holder, lease_until): (i64, Option<String>, i64) = tx.query_row(
                "SELECT position, owner, lease_until FROM relay_positions WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            match holder {
                Some(holder) if holder != owner && lease_until > now_ms() => Ok(Lease::HeldBy {
                    owner: holder,
                    until_ms: lease_until,
                }),
                _ => {
                    tx.execute(
                        "UPDATE relay_positions SET owner = ?2, lease_until = ?3 WHERE name = ?1",
                        params![name, owner, until(ttl)],
                    )?;
                    Ok(Lease::Held {
                        position: position.max(0) as u64,
                    })
                }
            }
        })
    }

    /// Renews the lease and moves the position forward to `position` (never
    /// back). False when `owner` no longer holds the lease: another relay
    /// took it after it expired, and this one must stop publishing.
    pub fn renew_relay_lease(
        &mut self,
        name: &str,
        owner: &str,
        position: u64,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        self.write(&mut |tx| {
            let changed = tx.execute(
                "UPDATE relay_positions
                 SET position = max(position, ?3), lease_until = ?4
                 WHERE name = ?1 AND owner = ?2",
                params![name, owner, position, until(ttl)],
            )?;
            Ok(changed == 1)
        })
    }

    /// Puts the position of relay `name` at `position`, back or forward, as
    /// `--from-start` and `--since` ask. Only the lease holder may.
    pub fn set_relay_position(
        &mut self,
        name: &str,
        owner: &str,
        position: u64,
    ) -> Result<bool, StoreError> {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        self.write(&mut |tx| {
            let changed = tx.execute(
                "UPDATE relay_positions SET position = ?3 WHERE name = ?1 AND owner = ?2",
                params![name, owner, position],
            )?;
            Ok(changed == 1)
        })
    }

    /// Gives the lease up, so that another relay can take over at once.
    pub fn release_relay_lease(&mut self, name: &str, owner: &str) -> Result<(), StoreError> {
        self.write(&mut |tx| {
            tx.execute(
                "UPDATE relay_positions SET owner = NULL, lease_until = 0
                 WHERE name = ?1 AND owner = ?2",
                params![name, owner],
            )?;
            Ok(())
        })
    }

    /// Up to `limit` events after `since`, in `seq` order: a page, so that a
    /// relay behind by a million events never holds a read open for long.
    pub fn events_after(&self, since: u64, limit: usize) -> Result<Vec<Envelope>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload
             FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![
            i64::try_from(since).unwrap_or(i64::MAX),
            limit as i64
        ])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(envelope_from_row(row)?);
        }
        Ok(events)
    }

    /// Records a message the inbox could not take.
    pub fn record_dead_letter(
        &mut self,
        time: i64,
        topic: &str,
        payload: &[u8],
        reason: &str,
    ) -> Result<(), StoreError> {
        self.write(&mut |tx| {
            tx.execute(
                "INSERT INTO dead_letters (time, topic, payload, reason) VALUES (?1, ?2, ?3, ?4)",
                params![time, topic, payload, reason],
            )?;
            Ok(())
        })
    }
}
