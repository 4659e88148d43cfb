//! An in-memory store with the same behaviour as the SQLite one, for tests
//! and for the checker, which clones whole systems to explore schedules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// For each event (by `seq - 1`), the `seq` of the first event of the
    /// command that appended it; `None` for what a handler published.
    pub commands: Vec<Option<u64>>,
    /// Handled deliveries in handling order: (key, position in the log).
    pub handled: Vec<(i64, u64)>,
    /// The command the current transaction is appending, by its first seq.
    command: Option<u64>,
    /// Indexes, so that a replay of a long log stays linear.
    event_ids: HashMap<Uuid, u64>,
    /// A process's reservations in the order they were made, as SQLite
    /// lists them.
    reservations_by_process: BTreeMap<Uuid, Vec<Uuid>>,
    deliveries_by_event: HashMap<(u64, Component), usize>,
    pending: BTreeSet<i64>,
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
        self.command = None;
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
        let seq = self.events.len() as u64 + 1;
        if self.event_ids.insert(event.id, seq).is_some() {
            return Err(StoreError::Corrupt(format!(
                "event {} is already in the log",
                event.id
            )));
        }
        let command = match event.causation_id {
            Some(_) => None,
            None => Some(*self.command.get_or_insert(seq)),
        };
        let envelope = event.sequenced(seq);
        self.events.push(envelope.clone());
        self.commands.push(command);
        Ok(envelope)
    }

    fn start_command(&mut self) {
        self.command = None;
    }

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        Ok(self.events.len() as u64)
    }

    fn events_of(&mut self, process_id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        Ok(self
            .events
            .iter()
            .filter(|e| e.process_id == process_id)
            .cloned()
            .collect())
    }

    fn event_by_id(&mut self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        Ok(self
            .event_ids
            .get(&id)
            .map(|seq| self.events[*seq as usize - 1].clone()))
    }

    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError> {
        let event = self.event(seq)?;
        let key = self.deliveries.len() as i64 + 1;
        if self
            .deliveries_by_event
            .insert((seq, component), self.deliveries.len())
            .is_some()
        {
            return Err(StoreError::Corrupt(format!(
                "event {seq} already has a delivery to {component}"
            )));
        }
        self.pending.insert(key);
        self.deliveries.push(Delivery {
            key,
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
        Ok(self.event_ids.contains_key(&id))
    }

    fn has_process(&mut self, process_id: Uuid) -> Result<bool, StoreError> {
        Ok(self.events.iter().any(|e| e.process_id == process_id))
    }

    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError> {
        let deliveries = &self.deliveries;
        let mut admitted = self
            .pending
            .iter()
            .map(|key| &deliveries[*key as usize - 1])
            .filter(|d| filter.admits(d));
        Ok(match order {
            Pick::First => admitted.next(),
            Pick::Last => admitted.next_back(),
        }
        .cloned())
    }

    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        Ok(self
            .pending
            .iter()
            .map(|key| &self.deliveries[*key as usize - 1])
            .filter(|d| filter.admits(d))
            .cloned()
            .collect())
    }

    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError> {
        let row = delivery
            .key
            .checked_sub(1)
            .and_then(|i| self.deliveries.get_mut(i as usize))
            .ok_or_else(|| StoreError::Corrupt(format!("no delivery {}", delivery.key)))?;
        row.attempts += 1;
        match result {
            Finished::Done { position } => {
                row.status = DeliveryStatus::Done;
                row.error = None;
                self.pending.remove(&row.key);
                self.handled.push((row.key, position));
            }
            Finished::Failed { error, park } => {
                if park {
                    row.status = DeliveryStatus::Failed;
                    self.pending.remove(&row.key);
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
            .deliveries_by_event
            .get(&(seq, component))
            .map(|i| self.deliveries[*i].clone()))
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
        if self.reservations.insert(doc.id, doc.clone()).is_none() {
            self.reservations_by_process
                .entry(doc.process_id)
                .or_default()
                .push(doc.id);
        }
        Ok(())
    }
}

impl crate::replay::LogSource for MemoryStore {
    fn for_each_step(
        &self,
        process_id: Option<Uuid>,
        each: &mut dyn FnMut(crate::replay::Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        use crate::replay::{Recorded, StepWriter};
        let of_process = |e: &Envelope| process_id.is_none_or(|p| p == e.process_id);
        let handled = self
            .handled
            .iter()
            .enumerate()
            .filter_map(|(order, (key, position))| {
                let delivery = &self.deliveries[*key as usize - 1];
                let event = &self.events[delivery.seq as usize - 1];
                of_process(event).then_some(Recorded {
                    position: *position,
                    order: order as u64 + 1,
                    event: event.id,
                    component: delivery.component,
                })
            })
            .collect();
        let mut sizes: HashMap<u64, usize> = HashMap::new();
        for (event, command) in self.events.iter().zip(&self.commands) {
            if let Some(first) = command.filter(|_| of_process(event)) {
                *sizes.entry(first).or_default() += 1;
            }
        }
        let mut writer = StepWriter::new(handled, sizes);
        for (event, command) in self.events.iter().zip(&self.commands) {
            if of_process(event) {
                writer.event(event.clone(), *command, each)?;
            }
        }
        writer.finish(each)
    }
}
