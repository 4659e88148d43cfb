//! Crash enumeration: the walkthrough run again and again, crashing at each
//! write in turn, with the next command picking up where the crash left.
//!
//! A crash is modelled the way SQLite makes it look: the transaction it hits
//! is rolled back whole and the command goes no further. What must hold
//! after recovery is that every effect happened exactly once: the same
//! events (by id), the same documents, and every delivery handled exactly
//! once, as in the run without a crash.

use uuid::Uuid;

use crate::check::World;
use crate::dispatch::{dispatch, Handlers, Plan};
use crate::domain::order::OrderRequest;
use crate::domain::{Component, Envelope, NewEvent, ReservationDoc, SalesOrderDoc};
use crate::store::{
    Delivery, DeliveryFilter, DeliveryStatus, Finished, MemoryStore, Pick, Store, StoreError, Tx,
};

/// What the enumeration covered when every crash was recovered from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrashSummary {
    /// Writes in the run without a crash: one crash was tried at each.
    pub crash_points: usize,
}

/// Crashes the walkthrough of `order` at every write and checks recovery.
pub fn enumerate_crashes(order: &OrderRequest) -> Result<CrashSummary, String> {
    let reference = run(order, None).map_err(|e| format!("the run without a crash failed: {e}"))?;
    let writes = reference.writes;
    for crash_at in 1..=writes {
        let crashed =
            run(order, Some(crash_at)).map_err(|e| format!("crash at write {crash_at}: {e}"))?;
        if !crashed.crashed {
            return Err(format!("crash at write {crash_at} never happened"));
        }
        compare(&reference.store, &crashed.store)
            .map_err(|e| format!("after a crash at write {crash_at} and recovery: {e}"))?;
    }
    Ok(CrashSummary {
        crash_points: writes,
    })
}

fn compare(expected: &MemoryStore, actual: &MemoryStore) -> Result<(), String> {
    let ids = |s: &MemoryStore| {
        let mut ids: Vec<Uuid> = s.events.iter().map(|e| e.id).collect();
        ids.sort();
        ids
    };
    if ids(expected) != ids(actual) {
        return Err(format!(
            "the log holds {} events, not the {} of the run without a crash",
            actual.events.len(),
            expected.events.len()
        ));
    }
    if let Some(d) = actual
        .deliveries
        .iter()
        .find(|d| d.status != DeliveryStatus::Done || d.attempts != 1)
    {
        return Err(format!(
            "delivery of event {} to {} is {} after {} attempts",
            d.seq,
            d.component,
            d.status.as_str(),
            d.attempts
        ));
    }
    if expected.sales_orders != actual.sales_orders || expected.reservations != actual.reservations
    {
        return Err("the documents differ from those of the run without a crash".into());
    }
    Ok(())
}

struct Outcome {
    store: MemoryStore,
    writes: usize,
    crashed: bool,
}

/// The walkthrough: submit (held), deliver, confirm each reservation and
/// deliver after each. A command that crashes is followed by a command that
/// delivers whatever is pending; a crashed confirmation is given again.
fn run(order: &OrderRequest, crash_at: Option<usize>) -> anyhow::Result<Outcome> {
    let process_id = Uuid::from_u128(0x5049_3700_0000_4000_8000_0000_0000_0002);
    let world = World::submitted(order, process_id, Handlers::REAL);
    let mut store = CrashingStore {
        inner: world.store,
        writes: 0,
        crash_at,
        crashed: false,
    };
    let drain = Plan::drain();
    let recover = |store: &mut CrashingStore, result: anyhow::Result<()>| -> anyhow::Result<bool> {
        match result {
            Ok(()) => Ok(false),
            Err(e) if store.crashed && e.to_string().contains(CRASH) => {
                dispatch(store, &drain, &mut |_| {})?;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    };
    let drained = dispatch(&mut store, &drain, &mut |_| {}).map(|_| ());
    recover(&mut store, drained)?;
    let lines: Vec<i64> = order.reservations.iter().map(|l| l.id).collect();
    for line in lines {
        let id = crate::domain::ids::reservation_id(process_id, line);
        loop {
            let confirmed = confirm(&mut store, id);
            if !recover(&mut store, confirmed)? {
                break;
            }
        }
        let drained = dispatch(&mut store, &drain, &mut |_| {}).map(|_| ());
        recover(&mut store, drained)?;
    }
    Ok(Outcome {
        crashed: store.crashed,
        writes: store.writes,
        store: store.inner,
    })
}

fn confirm(store: &mut CrashingStore, id: Uuid) -> anyhow::Result<()> {
    let event_id = crate::domain::ids::published_event_id(id, Component::Reservation, 7);
    store.transaction(&mut |tx| crate::operations::confirm(tx, id, event_id, 0))?;
    Ok(())
}

const CRASH: &str = "simulated crash";

/// A memory store whose `crash_at`-th write fails, once, as a crash would.
struct CrashingStore {
    inner: MemoryStore,
    writes: usize,
    crash_at: Option<usize>,
    crashed: bool,
}

impl Store for CrashingStore {
    fn transaction<T>(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let before = self.inner.clone();
        self.inner.start_command();
        let result = work(self);
        if result.is_err() {
            self.inner = before;
        }
        result
    }
}

impl CrashingStore {
    fn write(&mut self) -> Result<&mut MemoryStore, StoreError> {
        self.writes += 1;
        if !self.crashed && Some(self.writes) == self.crash_at {
            self.crashed = true;
            return Err(StoreError::Corrupt(CRASH.into()));
        }
        Ok(&mut self.inner)
    }
}

impl Tx for CrashingStore {
    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError> {
        self.write()?.append(event)
    }
    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError> {
        self.write()?.add_delivery(seq, component)
    }
    fn start_command(&mut self) {
        self.inner.start_command()
    }
    fn last_seq(&mut self) -> Result<u64, StoreError> {
        self.inner.last_seq()
    }
    fn event_by_id(&mut self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        self.inner.event_by_id(id)
    }
    fn events_of(&mut self, process_id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        self.inner.events_of(process_id)
    }
    fn event(&mut self, seq: u64) -> Result<Envelope, StoreError> {
        self.inner.event(seq)
    }
    fn has_event(&mut self, id: Uuid) -> Result<bool, StoreError> {
        self.inner.has_event(id)
    }
    fn has_process(&mut self, process_id: Uuid) -> Result<bool, StoreError> {
        self.inner.has_process(process_id)
    }
    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError> {
        self.inner.next_pending(order, filter)
    }
    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        self.inner.pending(filter)
    }
    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError> {
        self.write()?.finish_delivery(delivery, result)
    }
    fn record_redelivery(
        &mut self,
        seq: u64,
        component: Component,
        time: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        self.write()?
            .record_redelivery(seq, component, time, changed)
    }
    fn delivery(&mut self, seq: u64, component: Component) -> Result<Option<Delivery>, StoreError> {
        self.inner.delivery(seq, component)
    }
    fn sales_order(&mut self, process_id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.inner.sales_order(process_id)
    }
    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        self.inner.reservations(process_id)
    }
    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        self.inner.reservation(id)
    }
    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.write()?.save_sales_order(doc)
    }
    fn save_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError> {
        self.write()?.save_reservation(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::RequestedLine;

    fn order(lines: i64) -> OrderRequest {
        OrderRequest {
            customer: "koen".into(),
            reservations: (1..=lines)
                .map(|id| RequestedLine {
                    id,
                    reserved: format!("thing {id}"),
                })
                .collect(),
        }
    }

    #[test]
    fn every_effect_happens_exactly_once_whatever_write_a_crash_hits() {
        let summary = enumerate_crashes(&order(3)).unwrap();
        // 3 lines: the request's 2 deliveries, 3 reservations, 3
        // confirmations and their deliveries, the order confirmed: dozens.
        assert!(summary.crash_points > 20, "{summary:?}");
    }

    #[test]
    fn the_crash_really_happens_and_really_rolls_back() {
        let crashed = run(&order(1), Some(1)).unwrap();
        assert!(crashed.crashed);
        let clean = run(&order(1), None).unwrap();
        assert_eq!(crashed.store.events.len(), clean.store.events.len());
        assert!(compare(&clean.store, &crashed.store).is_ok());
        let mut broken = clean.store.clone();
        broken.deliveries[0].attempts = 2;
        assert!(compare(&clean.store, &broken).is_err());
    }
}
