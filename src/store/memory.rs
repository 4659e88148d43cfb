//! An in-memory store with the same behaviour as the SQLite one, for tests
//! and for the checker, which clones whole systems to explore schedules.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use uuid::Uuid;

use super::{Delivery, DeliveryFilter, DeliveryStatus, Finished, Pick, Store, StoreError, Tx};
use crate::domain::{Component, Envelope, NewEvent, ReservationDoc, SalesOrderDoc};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryStore {
    pub events: Vec<Envelope>,
    pub deliveries: Vec<Delivery>,
    /// Sales orders by processId.
    pub sales_orders: BTreeMap<Uuid, SalesOrderDoc>,
    /// Reservations by id.
    pub reservations: BTreeMap<Uuid, ReservationDoc>,
    /// (seq, component, changed) for every redelivery, in arrival order.
    pub redeliveries: Vec<(u64, Component, bool)>,
    /// Indexes, so that a replay of a long log stays linear.
    event_ids: HashSet<Uuid>,
    reservations_by_process: BTreeMap<Uuid, BTreeSet<Uuid>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn transaction<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let before = self.clone();
        let result = work(self);
        if result.is_err() {
            *self = before;
        }
        result
    }
}

impl Tx for MemoryStore {
    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError> {
        // As SQLite's UNIQUE constraint does: an event id is appended once.
        if !self.event_ids.insert(event.id) {
            return Err(StoreError::Corrupt(format!(
                "event {} is already in the log",
                event.id
            )));
        }
        let envelope = event.sequenced(self.events.len() as u64 + 1);
        self.events.push(envelope.clone());
        Ok(envelope)
    }

    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError> {
        let event = self.event(seq)?;
        self.deliveries.push(Delivery {
            key: self.deliveries.len() as i64 + 1,
            seq,
            topic: event.topic,
            component,
            process_id: event.process_id,
            status: DeliveryStatus::Pending,
            attempts: 0,
            error: None,
        });
        Ok(())
    }

    fn event(&mut self, seq: u64) -> Result<Envelope, StoreError> {
        seq.checked_sub(1)
            .and_then(|i| self.events.get(i as usize))
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("no event with seq {seq}")))
    }

    fn has_event(&mut self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.event_ids.contains(&id))
    }

    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut admitted = self
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending && filter.admits(d));
        Ok(match order {
            Pick::First => admitted.next(),
            Pick::Last => admitted.next_back(),
        }
        .cloned())
    }

    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        Ok(self
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending && filter.admits(d))
            .cloned()
            .collect())
    }

    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError> {
        let row = self
            .deliveries
            .iter_mut()
            .find(|d| d.key == delivery.key)
            .ok_or_else(|| StoreError::Corrupt(format!("no delivery {}", delivery.key)))?;
        row.attempts += 1;
        match result {
            Finished::Done => {
                row.status = DeliveryStatus::Done;
                row.error = None;
            }
            Finished::Failed { error, park } => {
                if park {
                    row.status = DeliveryStatus::Failed;
                }
                row.error = Some(error);
            }
        }
        Ok(())
    }

    fn record_redelivery(
        &mut self,
        seq: u64,
        component: Component,
        _time: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        self.redeliveries.push((seq, component, changed));
        Ok(())
    }

    fn delivery(&mut self, seq: u64, component: Component) -> Result<Option<Delivery>, StoreError> {
        Ok(self
            .deliveries
            .iter()
            .find(|d| d.seq == seq && d.component == component)
            .cloned())
    }

    fn sales_order(&mut self, process_id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        Ok(self.sales_orders.get(&process_id).cloned())
    }

    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        let ids = self.reservations_by_process.get(&process_id);
        Ok(ids
            .into_iter()
            .flatten()
            .filter_map(|id| self.reservations.get(id).cloned())
            .collect())
    }

    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        Ok(self.reservations.get(&id).cloned())
    }

    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.sales_orders.insert(doc.process_id, doc.clone());
        Ok(())
    }

    fn save_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError> {
        self.reservations_by_process
            .entry(doc.process_id)
            .or_default()
            .insert(doc.id);
        self.reservations.insert(doc.id, doc.clone());
        Ok(())
    }
}
