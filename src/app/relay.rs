//! What the MQTT face keeps in the database beside the log: the relay's
//! position with its lease, and the inbox's dead letters. The face reads
//! the log in pages through here and never touches the store.

use std::time::Duration;

use super::{App, Result};
use crate::domain::Envelope;
pub use crate::store::Lease;

impl App {
    /// Takes (or renews) the lease of relay `name`, unless another owner
    /// holds it and it has not lapsed.
    pub fn take_relay_lease(&mut self, name: &str, owner: &str, ttl: Duration) -> Result<Lease> {
        Ok(self.store.take_relay_lease(name, owner, ttl)?)
    }

    /// Renews the lease and moves the position forward to `position`;
    /// false when another relay holds the lease now.
    pub fn renew_relay_lease(
        &mut self,
        name: &str,
        owner: &str,
        position: u64,
        ttl: Duration,
    ) -> Result<bool> {
        Ok(self.store.renew_relay_lease(name, owner, position, ttl)?)
    }

    /// Puts the position back or forward (`--from-start`, `--since`).
    pub fn set_relay_position(&mut self, name: &str, owner: &str, position: u64) -> Result<bool> {
        Ok(self.store.set_relay_position(name, owner, position)?)
    }

    pub fn release_relay_lease(&mut self, name: &str, owner: &str) -> Result<()> {
        Ok(self.store.release_relay_lease(name, owner)?)
    }

    /// Up to `limit` events after `since`, in log order.
    pub fn events_after(&self, since: u64, limit: usize) -> Result<Vec<Envelope>> {
        Ok(self.store.events_after(since, limit)?)
    }

    /// Keeps a message the inbox could not take, with why.
    pub fn record_dead_letter(&mut self, topic: &str, body: &[u8], reason: &str) -> Result<()> {
        let now = self.now();
        Ok(self.store.record_dead_letter(now, topic, body, reason)?)
    }
}
