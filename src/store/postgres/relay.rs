//! The MQTT relay's position and lease, and the inbox's dead letters, on
//! PostgreSQL: the same rows and rules as SQLite's (`store/relay.rs`). Each
//! write is one statement, atomic on its row, so relays on several machines
//! never both take a lease; lease times are the server's clock, so machines
//! whose clocks differ still agree on when a lease lapses.

use std::time::Duration;

use super::tx::{envelope_from_row, ENVELOPE_COLUMNS};
use super::PgStore;
use crate::domain::Envelope;
use crate::store::{Lease, StoreError};

/// The server's clock in unix milliseconds, as SQL.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

fn position(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Takes (or renews) the lease of relay `name` for `ttl`, unless
    /// another owner holds it and it has not expired.
    pub fn take_relay_lease(
        &mut self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        let taken = self.rows(
            &format!(
                "INSERT INTO relay_positions AS r (name, owner, lease_until)
                 VALUES ($1, $2, {NOW_MS} + $3)
                 ON CONFLICT (name) DO UPDATE
                   SET owner = excluded.owner, lease_until = excluded.lease_until
                   WHERE r.owner IS NULL OR r.owner = excluded.owner OR r.lease_until <= {NOW_MS}
                 RETURNING position"
            ),
            &[&name, &owner, &millis(ttl)],
        )?;
        if let Some(row) = taken.first() {
            return Ok(Lease::Held {
                position: row.get::<_, i64>(0).max(0) as u64,
            });
        }
        let holder = self.rows(
            "SELECT owner, lease_until FROM relay_positions WHERE name = $1",
            &[&name],
        )?;
        Ok(match holder.first() {
            Some(row) => Lease::HeldBy {
                owner: row.get::<_, Option<String>>(0).unwrap_or_default(),
                until_ms: row.get(1),
            },
            // Not reachable (the row was there a statement ago and is never
            // deleted); an expired lease makes the caller try again.
            None => Lease::HeldBy {
                owner: String::new(),
                until_ms: 0,
            },
        })
    }

    /// Renews the lease and moves the position forward to `position` (never
    /// back). False when `owner` no longer holds the lease.
    pub fn renew_relay_lease(
        &mut self,
        name: &str,
        owner: &str,
        position: u64,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let changed = self.rows(
            &format!(
                "UPDATE relay_positions
                 SET position = greatest(position, $3), lease_until = {NOW_MS} + $4
                 WHERE name = $1 AND owner = $2
                 RETURNING 1"
            ),
            &[&name, &owner, &self::position(position), &millis(ttl)],
        )?;
        Ok(changed.len() == 1)
    }

    /// Puts the position of relay `name` at `position`, back or forward.
    /// Only the lease holder may.
    pub fn set_relay_position(
        &mut self,
        name: &str,
        owner: &str,
        position: u64,
    ) -> Result<bool, StoreError> {
        let changed = self.rows(
            "UPDATE relay_positions SET position = $3
             WHERE name = $1 AND owner = $2
             RETURNING 1",
            &[&name, &owner, &self::position(position)],
        )?;
        Ok(changed.len() == 1)
    }

    /// Gives the lease up, so that another relay can take over at once.
    pub fn release_relay_lease(&mut self, name: &str, owner: &str) -> Result<(), StoreError> {
        self.rows(
            "UPDATE relay_positions SET owner = NULL, lease_until = 0
             WHERE name = $1 AND owner = $2
             RETURNING 1",
            &[&name, &owner],
        )?;
        Ok(())
    }

    /// Up to `limit` events after `since`, in `seq` order. `seq` is given in
    /// commit order (see `tx.rs`), so a page never skips an event that
    /// commits later with a smaller position.
    pub fn events_after(&self, since: u64, limit: usize) -> Result<Vec<Envelope>, StoreError> {
        self.rows(
            &format!("{ENVELOPE_COLUMNS} WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&position(since), &i64::try_from(limit).unwrap_or(i64::MAX)],
        )?
        .iter()
        .map(envelope_from_row)
        .collect()
    }

    /// Records a message the inbox could not take.
    pub fn record_dead_letter(
        &mut self,
        time: i64,
        topic: &str,
        payload: &[u8],
        reason: &str,
    ) -> Result<(), StoreError> {
        self.rows(
            "INSERT INTO dead_letters (time, topic, payload, reason)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&time, &topic, &payload, &reason],
        )?;
        Ok(())
    }
}
