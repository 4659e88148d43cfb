//! The documents a use case's own transaction saved, as it left them.
//!
//! A writing use case returns its documents as they are after its commit.
//! Reading them back from the database it has just written took a fifth of
//! a bulk submit's instructions and a tenth of a bulk confirm's, for
//! documents it held a moment before. So the transaction notes what it
//! saves ([`Noting`]), and the use case reads from that note ([`Saved`]),
//! and from the database only what the transaction did not save.
//!
//! The note holds only while nothing else has changed those documents:
//! [`App::settle`](super::App) gives it back only when nothing was
//! delivered after the commit, and a transaction that saves more than
//! [`KEPT_BYTES`] of documents keeps none, so that memory does not grow with
//! a huge submit. A note that is not known to hold every document its
//! transaction saved (one that overflowed, or none at all) answers nothing,
//! and the use case reads everything back.

use std::collections::HashMap;

use uuid::Uuid;

use crate::domain::{Component, Envelope, NewEvent, OrderLine, ReservationDoc, SalesOrderDoc};
use crate::store::{Delivery, DeliveryFilter, Finished, Pick, StoreError, Tx};

/// About how much memory one transaction's documents may take; past that it
/// keeps none, and its use case reads them all back.
const KEPT_BYTES: usize = 8 << 20;

/// The documents one transaction saved, each as it last saved it.
#[derive(Debug, Default)]
pub(super) struct Saved {
    reservations: HashMap<Uuid, ReservationDoc>,
    /// Each process's reservations, in the order first saved.
    of_process: HashMap<Uuid, Vec<Uuid>>,
    /// Sales orders by processId.
    orders: HashMap<Uuid, SalesOrderDoc>,
    /// About how many bytes they take ([`reservation_bytes`],
    /// [`order_bytes`]).
    bytes: usize,
    /// It holds every document its transaction saved. False for the
    /// default, which noted no transaction, and once past [`KEPT_BYTES`].
    complete: bool,
}

impl Saved {
    /// A note of a transaction that has saved nothing yet.
    fn new() -> Self {
        Saved {
            complete: true,
            ..Saved::default()
        }
    }

    /// The reservation `id` as the transaction left it, if it saved it.
    pub(super) fn reservation(&self, id: Uuid) -> Option<&ReservationDoc> {
        self.reservations.get(&id)
    }

    /// The sales order of `process_id` as the transaction left it, if it
    /// saved it.
    pub(super) fn sales_order(&self, process_id: Uuid) -> Option<&SalesOrderDoc> {
        self.orders.get(&process_id)
    }

    /// The reservations of a process the transaction created, in the order
    /// they were created, as the database lists them; `None` when the note
    /// may not hold them all. Only for a process that did not exist before
    /// the transaction: of another, the transaction may have saved only
    /// some.
    pub(super) fn reservations_of_new(&self, process_id: Uuid) -> Option<Vec<ReservationDoc>> {
        if !self.complete {
            return None;
        }
        let ids = self
            .of_process
            .get(&process_id)
            .map_or(&[][..], Vec::as_slice);
        ids.iter()
            .map(|id| self.reservations.get(id).cloned())
            .collect()
    }

    /// Counts `added` bytes in place of `removed`; past [`KEPT_BYTES`],
    /// forgets everything. Whether the document may be kept.
    fn make_room(&mut self, removed: usize, added: usize) -> bool {
        if !self.complete {
            return false;
        }
        self.bytes = self.bytes - removed + added;
        if self.bytes > KEPT_BYTES {
            *self = Saved::default();
            return false;
        }
        true
    }

    fn note_reservation(&mut self, doc: &ReservationDoc) {
        let before = self.reservations.get(&doc.id).map_or(0, reservation_bytes);
        if !self.make_room(before, reservation_bytes(doc)) {
            return;
        }
        if self.reservations.insert(doc.id, doc.clone()).is_none() {
            self.of_process
                .entry(doc.process_id)
                .or_default()
                .push(doc.id);
        }
    }

    fn note_sales_order(&mut self, doc: &SalesOrderDoc) {
        let before = self.orders.get(&doc.process_id).map_or(0, order_bytes);
        if self.make_room(before, order_bytes(doc)) {
            self.orders.insert(doc.process_id, doc.clone());
        }
    }
}

/// About how many bytes of memory a reservation takes: its text, and a
/// share for its fields and each step of its history.
fn reservation_bytes(doc: &ReservationDoc) -> usize {
    let r = &doc.object;
    160 + r.reserved.len() + r.reason.as_ref().map_or(0, String::len) + 24 * r.history.len()
}

/// [`reservation_bytes`] for a sales order, with a share for each line.
fn order_bytes(doc: &SalesOrderDoc) -> usize {
    let o = &doc.object;
    let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
    let line = |l: &OrderLine| 128 + l.reserved.len() + text(&l.reason);
    let lines = o.reservations.iter().chain(&o.unmatched_confirmations);
    160 + text(&o.customer) + text(&o.reason) + text(&o.withdrawn) + lines.map(line).sum::<usize>()
}

/// A transaction that notes the documents it saves in a [`Saved`].
pub(super) struct Noting<'t> {
    tx: &'t mut dyn Tx,
    pub(super) saved: Saved,
}

impl<'t> Noting<'t> {
    pub(super) fn new(tx: &'t mut dyn Tx) -> Self {
        Noting {
            tx,
            saved: Saved::new(),
        }
    }
}

impl Tx for Noting<'_> {
    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.tx.save_sales_order(doc)?;
        self.saved.note_sales_order(doc);
        Ok(())
    }

    fn save_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError> {
        self.tx.save_reservation(doc)?;
        self.saved.note_reservation(doc);
        Ok(())
    }

    // The rest is the transaction's own.

    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError> {
        self.tx.append(event)
    }
    fn append_new(&mut self, event: NewEvent) -> Result<Option<Envelope>, StoreError> {
        self.tx.append_new(event)
    }
    fn start_command(&mut self) {
        self.tx.start_command()
    }
    fn last_seq(&mut self) -> Result<u64, StoreError> {
        self.tx.last_seq()
    }
    fn event_by_id(&mut self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        self.tx.event_by_id(id)
    }
    fn events_of(&mut self, process_id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        self.tx.events_of(process_id)
    }
    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError> {
        self.tx.add_delivery(seq, component)
    }
    fn event(&mut self, seq: u64) -> Result<Envelope, StoreError> {
        self.tx.event(seq)
    }
    fn has_event(&mut self, id: Uuid) -> Result<bool, StoreError> {
        self.tx.has_event(id)
    }
    fn has_process(&mut self, process_id: Uuid) -> Result<bool, StoreError> {
        self.tx.has_process(process_id)
    }
    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError> {
        self.tx.next_pending(order, filter)
    }
    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        self.tx.pending(filter)
    }
    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError> {
        self.tx.finish_delivery(delivery, result)
    }
    fn record_redelivery(
        &mut self,
        seq: u64,
        component: Component,
        time: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        self.tx.record_redelivery(seq, component, time, changed)
    }
    fn delivery(&mut self, seq: u64, component: Component) -> Result<Option<Delivery>, StoreError> {
        self.tx.delivery(seq, component)
    }
    fn sales_order(&mut self, process_id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.tx.sales_order(process_id)
    }
    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        self.tx.reservations(process_id)
    }
    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        self.tx.reservation(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Reservation, ReservationStatus};
    use crate::store::MemoryStore;
    use crate::store::Store;

    fn reservation(process_id: Uuid, line: i64, status: ReservationStatus) -> ReservationDoc {
        ReservationDoc {
            id: crate::domain::ids::reservation_id(process_id, line),
            process_id,
            object: Reservation {
                id: line,
                reserved: format!("room {line}"),
                status,
                history: Vec::new(),
                reason: None,
                revision: 1,
            },
        }
    }

    /// Saves `docs` in one transaction on a new store, noting them.
    fn noted(docs: &[ReservationDoc]) -> Saved {
        let mut store = MemoryStore::new();
        store
            .transaction(&mut |tx| {
                let mut tx = Noting::new(tx);
                for doc in docs {
                    tx.save_reservation(doc)?;
                }
                Ok(tx.saved)
            })
            .unwrap()
    }

    #[test]
    fn a_document_saved_twice_is_kept_as_last_saved_and_listed_where_first_saved() {
        let (p, q) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let [p2, p1, q1] = [(p, 2), (p, 1), (q, 1)]
            .map(|(process, line)| reservation(process, line, ReservationStatus::Unconfirmed));
        let p2_confirmed = reservation(p, 2, ReservationStatus::Confirmed);
        let saved = noted(&[p2, p1.clone(), q1.clone(), p2_confirmed.clone()]);
        assert_eq!(saved.reservation(p2_confirmed.id), Some(&p2_confirmed));
        assert_eq!(
            saved.reservations_of_new(p),
            Some(vec![p2_confirmed, p1]),
            "in the order first saved, each as last saved"
        );
        assert_eq!(saved.reservations_of_new(q), Some(vec![q1]));
        assert_eq!(saved.reservations_of_new(Uuid::from_u128(3)), Some(vec![]));
    }

    #[test]
    fn past_its_bound_a_transaction_keeps_no_document() {
        let p = Uuid::from_u128(1);
        let big = |line| ReservationDoc {
            object: Reservation {
                reserved: "x".repeat(KEPT_BYTES / 4),
                ..reservation(p, line, ReservationStatus::Unconfirmed).object
            },
            ..reservation(p, line, ReservationStatus::Unconfirmed)
        };
        let docs: Vec<_> = (1..=4).map(big).collect();
        let saved = noted(&docs[..3]);
        assert_eq!(saved.reservations_of_new(p).map(|r| r.len()), Some(3));
        let saved = noted(&docs);
        assert_eq!(saved.reservations_of_new(p), None);
        assert_eq!(saved.reservation(docs[0].id), None);
        assert_eq!(saved.reservation(docs[3].id), None);
    }

    /// What noted no transaction knows nothing: not even that a process
    /// has no reservations.
    #[test]
    fn a_note_of_no_transaction_answers_nothing() {
        let saved = Saved::default();
        assert_eq!(saved.reservations_of_new(Uuid::from_u128(1)), None);
        assert_eq!(
            noted(&[]).reservations_of_new(Uuid::from_u128(1)),
            Some(vec![])
        );
    }
}
