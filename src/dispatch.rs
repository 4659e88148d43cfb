//! The integration layer: the routing table, publishing, and the delivery
//! loop that hands pending deliveries to components.
//!
//! It is generic over [`Store`], so the command line runs it on SQLite and
//! the tests and the checker run the very same code in memory. Handling one
//! delivery (load the component's documents, apply the pure handler, save,
//! publish what it published, mark the delivery done) happens inside one
//! store transaction: a crash never leaves half a delivery behind.

use std::borrow::Cow;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{
    reservation, saga, Component, Envelope, LogLine, NewEvent, Outcome, PayloadError,
    ReservationDoc, SalesOrderDoc, Topic,
};
use crate::store::{
    Delivery, DeliveryFilter, DeliveryStatus, Finished, Pick, Store, StoreError, Tx,
};

/// Which components each topic is delivered to. The one place routing lives.
pub const ROUTES: &[(Topic, &[Component])] = &[
    (
        Topic::SalesOrderRequest,
        &[Component::SalesOrder, Component::Reservation],
    ),
    (Topic::ReservationConfirm, &[Component::SalesOrder]),
    // Terminal: the integration layer records it and nobody consumes it.
    (Topic::SalesOrderConfirm, &[]),
    (Topic::ReservationReject, &[Component::SalesOrder]),
    // Compensation: the reservation component releases what is left.
    (Topic::SalesOrderCancel, &[Component::Reservation]),
    (Topic::ReservationRelease, &[Component::SalesOrder]),
];

/// How many times a delivery whose handler fails is tried before it is
/// parked as failed. Handlers are deterministic, so retrying cannot help
/// until pi7 itself changes; a bound keeps one bad event from being retried
/// by every command forever.
pub const MAX_ATTEMPTS: u32 = 3;

/// Deliveries handled per transaction. Each delivery is atomic on its own;
/// grouping them saves a commit (and its WAL writes) per delivery, and a
/// thousand still keeps the write lock for tens of milliseconds, not seconds.
pub const BATCH: usize = 1024;

pub fn subscribers(topic: Topic) -> &'static [Component] {
    ROUTES
        .iter()
        .find(|(t, _)| *t == topic)
        .map_or(&[], |(_, components)| components)
}

/// Appends `event` and creates a pending delivery for every subscriber.
///
/// Publishing is idempotent by event id: an event whose id is already in the
/// log (a handler publishing a fact that an import already brought, say) is
/// not appended again, and `None` says so.
pub fn publish(
    tx: &mut dyn Tx,
    event: NewEvent,
    log: &mut Vec<LogLine>,
) -> Result<Option<Envelope>, StoreError> {
    let (topic, id) = (event.topic, event.id);
    let Some(envelope) = tx.append_new(event)? else {
        log.push(LogLine::AlreadyInLog(topic, id));
        return Ok(None);
    };
    let components = subscribers(envelope.topic);
    log.push(LogLine::IntegrationReceived(envelope.topic));
    log.push(LogLine::Routing(components));
    for component in components {
        tx.add_delivery(envelope.seq, *component)?;
    }
    Ok(Some(envelope))
}

/// The handler of each component. The real ones unless a test swaps in a
/// broken one to show that the checker catches it.
#[derive(Clone, Copy)]
pub struct Handlers {
    /// Applies an event to the process's sales order in place (see
    /// [`saga::apply`]); on an error it must leave the document as it was.
    pub sales_order:
        fn(&mut Option<SalesOrderDoc>, &Envelope) -> Result<saga::Applied, PayloadError>,
    pub reservation:
        fn(&[ReservationDoc], &Envelope) -> Result<Outcome<ReservationDoc>, PayloadError>,
}

impl Handlers {
    pub const REAL: Handlers = Handlers {
        sales_order: saga::apply,
        reservation: reservation::handle,
    };
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handlers")
    }
}

impl PartialEq for Handlers {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.sales_order, other.sales_order)
            && std::ptr::fn_addr_eq(self.reservation, other.reservation)
    }
}

impl Eq for Handlers {}

/// In which order `dispatch` takes pending deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Fifo,
    Lifo,
    /// Uniformly among the pending deliveries, reproducibly for a seed.
    Random {
        seed: u64,
    },
}

/// What to deliver: in which order, which deliveries, how many at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub order: Order,
    pub filter: DeliveryFilter,
    pub limit: Option<usize>,
    pub handlers: Handlers,
}

impl Plan {
    /// Every pending delivery, oldest first: what writing commands run.
    pub fn drain() -> Self {
        Plan {
            order: Order::Fifo,
            filter: DeliveryFilter::default(),
            limit: None,
            handlers: Handlers::REAL,
        }
    }
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub delivery: Delivery,
    pub result: Handled,
    /// The events the handler published, as appended.
    pub published: Vec<Envelope>,
    /// The workflow log lines, in the original's words.
    pub log: Vec<LogLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Documents changed or events were published.
    Applied,
    /// The event's effect was already there: nothing changed.
    NoOp,
    /// The handler could not read the event; `parked` once it has failed
    /// [`MAX_ATTEMPTS`] times.
    Failed { error: String, parked: bool },
}

/// Handles pending deliveries according to `plan`, calling `each` for every
/// delivery after it has been committed. Deliveries that handling publishes
/// join the pending set and are taken in the same order.
pub fn dispatch<S: Store>(
    store: &mut S,
    plan: &Plan,
    each: &mut dyn FnMut(&Report),
) -> anyhow::Result<usize> {
    let mut rng = match plan.order {
        Order::Random { seed } => Some(ChaCha8Rng::seed_from_u64(seed)),
        _ => None,
    };
    let mut filter = plan.filter.clone();
    let mut delivered = 0;
    loop {
        let room = plan.limit.map_or(BATCH, |l| (l - delivered).min(BATCH));
        if room == 0 {
            break;
        }
        // The transaction may be retried when the database is busy, so it
        // works on copies that are kept only once it has committed.
        let (reports, rng_after, filter_after) = store.transaction(&mut |tx| {
            let mut rng = rng.clone();
            let mut filter = filter.clone();
            let mut reports = Vec::new();
            let mut pool = None;
            let mut sagas = Sagas::default();
            while reports.len() < room {
                let Some(delivery) = next(tx, plan.order, &filter, rng.as_mut(), &mut pool)? else {
                    break;
                };
                let report = deliver_with(tx, &mut sagas, &delivery, &plan.handlers)?;
                if let Handled::Failed { parked: false, .. } = report.result {
                    filter.exclude.push(delivery.key);
                }
                if let Some(pool) = pool.as_mut() {
                    join_pool(tx, pool, &report.published, &filter)?;
                }
                reports.push(report);
            }
            sagas.save(tx)?;
            Ok((reports, rng, filter))
        })?;
        rng = rng_after;
        filter = filter_after;
        delivered += reports.len();
        // A short batch is not the end on PostgreSQL: a batch also ends when
        // the next delivery's order is held by another process. Only a
        // batch that found nothing is.
        let finished = reports.is_empty();
        for report in &reports {
            each(report);
        }
        if finished {
            break;
        }
    }
    Ok(delivered)
}

/// Handles, inside the caller's transaction, the pending deliveries of
/// `published` and of whatever handling them publishes, in the order they
/// were created (as a FIFO drain takes them), at most `limit` of them,
/// calling `each` with what happened to each. Writing commands call it in
/// the transaction that records them, so a command and its consequences
/// cost one commit, not two. The sales orders they change are written
/// every [`BATCH`] deliveries, so memory does not grow with their number.
/// Returns how many it handled; when that is `limit`, some may be left.
pub fn deliver_published(
    tx: &mut dyn Tx,
    published: &[Envelope],
    limit: usize,
    handlers: &Handlers,
    each: &mut dyn FnMut(Report),
) -> Result<usize, StoreError> {
    // Each with its event, which the caller has already: reading it back
    // and parsing its JSON again cost a tenth of a confirmation.
    let mut waiting: std::collections::VecDeque<(Cow<Envelope>, Component)> = routed(published)
        .map(|(event, component)| (Cow::Borrowed(event), component))
        .collect();
    let mut sagas = Sagas::default();
    let mut delivered = 0;
    while let Some((event, component)) = waiting.pop_front() {
        let Some(delivery) = tx.delivery(event.seq, component)? else {
            continue;
        };
        if delivery.status != DeliveryStatus::Pending {
            continue;
        }
        if delivered == limit {
            break;
        }
        let report = deliver_event(tx, &mut sagas, &delivery, &event, handlers)?;
        waiting.extend(
            routed(&report.published)
                .map(|(event, component)| (Cow::Owned(event.clone()), component)),
        );
        each(report);
        delivered += 1;
        if delivered % BATCH == 0 {
            std::mem::take(&mut sagas).save(tx)?;
        }
    }
    sagas.save(tx)?;
    Ok(delivered)
}

/// Each (event, component) pair the routing table makes of `events`, in
/// the order their deliveries were created.
fn routed(events: &[Envelope]) -> impl Iterator<Item = (&Envelope, Component)> {
    events.iter().flat_map(|event| {
        subscribers(event.topic)
            .iter()
            .map(move |component| (event, *component))
    })
}

/// How many of the deliveries that `published` made `filter` admits: what
/// a dispatch has to do more after handling the delivery that published
/// them.
pub fn joining(published: &[Envelope], filter: &DeliveryFilter) -> usize {
    routed(published)
        .filter(|(event, component)| filter.routes(*component, event.process_id))
        .count()
}

/// Takes the next delivery of `order`. A random order reads the pending set
/// once per transaction into `pool` and keeps it up to date itself: reading
/// it again for every pick made dispatching n held deliveries cost n².
fn next(
    tx: &mut dyn Tx,
    order: Order,
    filter: &DeliveryFilter,
    rng: Option<&mut ChaCha8Rng>,
    pool: &mut Option<Vec<Delivery>>,
) -> Result<Option<Delivery>, StoreError> {
    match (order, rng) {
        (Order::Fifo, _) => tx.next_pending(Pick::First, filter),
        (Order::Lifo, _) => tx.next_pending(Pick::Last, filter),
        (Order::Random { .. }, Some(rng)) => {
            let pending = match pool {
                Some(pending) => pending,
                None => pool.insert(tx.pending(filter)?),
            };
            if pending.is_empty() {
                return Ok(None);
            }
            // Uniform whatever the pool's order, and deterministic for a seed
            // because the pool starts in key order and changes the same way.
            let index = rng.random_range(0..pending.len());
            Ok(Some(pending.swap_remove(index)))
        }
        (Order::Random { .. }, None) => unreachable!("a random order always has its rng"),
    }
}

/// Adds the deliveries of what a handler just published to a random order's
/// pool, as they joined the pending set in the store.
fn join_pool(
    tx: &mut dyn Tx,
    pool: &mut Vec<Delivery>,
    published: &[Envelope],
    filter: &DeliveryFilter,
) -> Result<(), StoreError> {
    for (event, component) in routed(published) {
        if let Some(delivery) = tx.delivery(event.seq, component)? {
            if delivery.status == DeliveryStatus::Pending && filter.admits(&delivery) {
                pool.push(delivery);
            }
        }
    }
    Ok(())
}

/// Handles one delivery inside the caller's transaction.
pub fn deliver(
    tx: &mut dyn Tx,
    delivery: &Delivery,
    handlers: &Handlers,
) -> Result<Report, StoreError> {
    let mut sagas = Sagas::default();
    let report = deliver_with(tx, &mut sagas, delivery, handlers)?;
    sagas.save(tx)?;
    Ok(report)
}

/// The sales orders a run of deliveries in one transaction works on: each
/// is read once, changed in place by every delivery to it, and written once
/// when the run ends ([`save`](Self::save)), inside the same transaction.
/// Reading, parsing, copying and writing the whole order again for every
/// delivery made confirming each of an order's n lines cost n².
///
/// Nothing else may read or write these orders in the transaction before
/// they are saved.
#[derive(Debug, Default)]
pub struct Sagas {
    orders: std::collections::HashMap<uuid::Uuid, Option<SalesOrderDoc>>,
    /// Those changed, in the order they first changed.
    changed: Vec<uuid::Uuid>,
}

impl Sagas {
    fn order(
        &mut self,
        tx: &mut dyn Tx,
        process_id: uuid::Uuid,
    ) -> Result<&mut Option<SalesOrderDoc>, StoreError> {
        use std::collections::hash_map::Entry;
        Ok(match self.orders.entry(process_id) {
            Entry::Occupied(order) => order.into_mut(),
            Entry::Vacant(slot) => slot.insert(tx.sales_order(process_id)?),
        })
    }

    fn changed(&mut self, process_id: uuid::Uuid) {
        if !self.changed.contains(&process_id) {
            self.changed.push(process_id);
        }
    }

    /// How many orders are held in memory.
    pub fn held(&self) -> usize {
        self.orders.len()
    }

    /// Writes the orders that changed.
    pub fn save(mut self, tx: &mut dyn Tx) -> Result<(), StoreError> {
        for process_id in std::mem::take(&mut self.changed) {
            if let Some(Some(doc)) = self.orders.get(&process_id) {
                tx.save_sales_order(doc)?;
            }
        }
        Ok(())
    }
}

/// Handles one delivery inside the caller's transaction, keeping the sales
/// orders it changes in `sagas` for the caller to save.
pub fn deliver_with(
    tx: &mut dyn Tx,
    sagas: &mut Sagas,
    delivery: &Delivery,
    handlers: &Handlers,
) -> Result<Report, StoreError> {
    let event = tx.event(delivery.seq)?;
    deliver_event(tx, sagas, delivery, &event, handlers)
}

/// [`deliver_with`], given the delivery's event.
fn deliver_event(
    tx: &mut dyn Tx,
    sagas: &mut Sagas,
    delivery: &Delivery,
    event: &Envelope,
    handlers: &Handlers,
) -> Result<Report, StoreError> {
    let position = tx.last_seq()?;
    match apply_with(tx, sagas, delivery.component, event, handlers)? {
        Ok(effects) => {
            let mut log = effects.log;
            let mut published = Vec::new();
            for new_event in effects.published {
                published.extend(publish(tx, new_event, &mut log)?);
            }
            tx.finish_delivery(delivery, Finished::Done { position })?;
            let result = if effects.changed == 0 && published.is_empty() {
                Handled::NoOp
            } else {
                Handled::Applied
            };
            Ok(Report {
                delivery: delivery.clone(),
                result,
                published,
                log,
            })
        }
        Err(error) => {
            let parked = delivery.attempts + 1 >= MAX_ATTEMPTS;
            tx.finish_delivery(
                delivery,
                Finished::Failed {
                    error: error.clone(),
                    park: parked,
                },
            )?;
            Ok(Report {
                delivery: delivery.clone(),
                log: vec![LogLine::Failed(delivery.component, error.clone())],
                result: Handled::Failed { error, parked },
                published: Vec::new(),
            })
        }
    }
}

/// Delivers an already handled event to `component` again, as an
/// at-least-once broker may. The handlers make that a no-op; whatever it
/// does is applied all the same and the duplicate is recorded. A parked
/// delivery is retried instead.
pub fn redeliver(
    tx: &mut dyn Tx,
    seq: u64,
    component: Component,
    now: i64,
    handlers: &Handlers,
) -> anyhow::Result<Report> {
    if tx.event(seq).is_err() {
        return Err(RedeliverError::NoSuchEvent { seq }.into());
    }
    let delivery = tx
        .delivery(seq, component)?
        .ok_or(RedeliverError::NotRouted { seq, component })?;
    match delivery.status {
        DeliveryStatus::Pending => Err(RedeliverError::StillPending { seq, component }.into()),
        DeliveryStatus::Failed => {
            // One more attempt: parked again if it fails again.
            let retry = Delivery {
                attempts: MAX_ATTEMPTS - 1,
                ..delivery
            };
            Ok(deliver(tx, &retry, handlers)?)
        }
        DeliveryStatus::Done => {
            let event = tx.event(seq)?;
            let effects = apply(tx, component, &event, handlers)?.map_err(|error| {
                RedeliverError::HandlerFailed {
                    seq,
                    component,
                    error,
                }
            })?;
            let mut log = effects.log;
            let mut published = Vec::new();
            for new_event in effects.published {
                published.extend(publish(tx, new_event, &mut log)?);
            }
            let changed = effects.changed > 0 || !published.is_empty();
            tx.record_redelivery(seq, component, now, changed)?;
            Ok(Report {
                delivery,
                result: if changed {
                    Handled::Applied
                } else {
                    Handled::NoOp
                },
                published,
                log,
            })
        }
    }
}

/// Why an event cannot be redelivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedeliverError {
    #[error("there is no event with seq {seq}")]
    NoSuchEvent { seq: u64 },
    #[error("event {seq} ({topic}) is routed to no component")]
    Unrouted { seq: u64, topic: Topic },
    #[error("event {seq} is not routed to the {component} component")]
    NotRouted { seq: u64, component: Component },
    #[error("event {seq} has not been delivered to {component} yet; `pi7 dispatch` delivers it")]
    StillPending { seq: u64, component: Component },
    #[error("redelivering event {seq} to {component} failed: {error}")]
    HandlerFailed {
        seq: u64,
        component: Component,
        error: String,
    },
}

/// What a handler did: how many documents it changed, what it publishes.
pub struct Effects {
    pub changed: usize,
    pub published: Vec<NewEvent>,
    pub log: Vec<LogLine>,
}

impl<D> From<Outcome<D>> for Effects {
    fn from(outcome: Outcome<D>) -> Self {
        Effects {
            changed: outcome.changed.len(),
            published: outcome.published,
            log: outcome.log,
        }
    }
}

/// Loads the component's state for the event's process, runs the pure
/// handler and saves what it changed, without publishing anything. The
/// inner error is the handler's: it could not read the event, and nothing
/// was saved.
pub fn apply(
    tx: &mut dyn Tx,
    component: Component,
    event: &Envelope,
    handlers: &Handlers,
) -> Result<Result<Effects, String>, StoreError> {
    let mut sagas = Sagas::default();
    let effects = apply_with(tx, &mut sagas, component, event, handlers)?;
    sagas.save(tx)?;
    Ok(effects)
}

/// [`apply`], keeping the sales orders it changes in `sagas`.
fn apply_with(
    tx: &mut dyn Tx,
    sagas: &mut Sagas,
    component: Component,
    event: &Envelope,
    handlers: &Handlers,
) -> Result<Result<Effects, String>, StoreError> {
    match component {
        Component::SalesOrder => {
            let order = sagas.order(tx, event.process_id)?;
            match (handlers.sales_order)(order, event) {
                Ok(applied) => {
                    if applied.changed {
                        sagas.changed(event.process_id);
                    }
                    Ok(Ok(Effects {
                        changed: usize::from(applied.changed),
                        published: applied.published,
                        log: applied.log,
                    }))
                }
                Err(e) => Ok(Err(e.to_string())),
            }
        }
        Component::Reservation => {
            let state = tx.reservations(event.process_id)?;
            match (handlers.reservation)(&state, event) {
                Ok(outcome) => {
                    for doc in &outcome.changed {
                        tx.save_reservation(doc)?;
                    }
                    Ok(Ok(outcome.into()))
                }
                Err(e) => Ok(Err(e.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{OrderRequest, RequestedLine};
    use crate::domain::OrderStatus;
    use crate::store::MemoryStore;
    use uuid::Uuid;

    /// An order of `lines` lines, "room 1" and on.
    fn order(lines: i64) -> OrderRequest {
        OrderRequest {
            customer: "christophe".into(),
            reservations: (1..=lines)
                .map(|id| RequestedLine {
                    id,
                    reserved: format!("room {id}"),
                })
                .collect(),
        }
    }

    /// A bulk submit delivers its orders a batch at a time between its
    /// own requests (`App::submit_all`), and its export stays one command
    /// only because handling a new order's request publishes nothing: an
    /// event published there would split the command in the log.
    #[test]
    fn handling_a_new_orders_request_publishes_nothing() {
        let mut store = MemoryStore::new();
        for lines in [1, 3] {
            let order = order(lines);
            let published = store
                .transaction(&mut |tx| {
                    let process = Uuid::new_v4();
                    let acted = crate::operations::submit(tx, &order, process, Uuid::new_v4(), 10)?;
                    let mut published = Vec::new();
                    let all = usize::MAX;
                    deliver_published(tx, &acted.published, all, &Handlers::REAL, &mut |report| {
                        assert_eq!(report.result, Handled::Applied);
                        published.extend(report.published);
                    })?;
                    Ok(published)
                })
                .unwrap();
            assert_eq!(published, Vec::new(), "{lines} lines");
        }
        assert_eq!(store.reservations.len(), 4);
    }

    /// A command makes only so many deliveries in its own transaction: at
    /// the limit, those left stay pending, the newest of them last.
    #[test]
    fn delivering_what_was_published_stops_at_its_limit() {
        let mut store = MemoryStore::new();
        let order = order(1);
        let (made, pending, second) = store
            .transaction(&mut |tx| {
                let mut published = Vec::new();
                for n in 0..2 {
                    let (process, event) = (Uuid::from_u128(10 + n), Uuid::from_u128(20 + n));
                    published.extend(
                        crate::operations::submit(tx, &order, process, event, 10)?.published,
                    );
                }
                let made = deliver_published(tx, &published, 3, &Handlers::REAL, &mut |_| {})?;
                let pending = tx.pending(&Default::default())?;
                Ok((made, pending, published[1].seq))
            })
            .unwrap();
        assert_eq!(made, 3);
        let left: Vec<_> = pending.iter().map(|d| (d.seq, d.component)).collect();
        assert_eq!(left, [(second, subscribers(Topic::SalesOrderRequest)[1])]);
    }

    /// A store with one order of `lines` lines, its request delivered and
    /// every reservation confirmed but not yet delivered to the saga.
    fn confirmed_but_undelivered(lines: i64) -> MemoryStore {
        let mut store = MemoryStore::new();
        let process = Uuid::from_u128(1);
        let order = order(lines);
        store
            .transaction(&mut |tx| {
                crate::operations::submit(tx, &order, process, Uuid::from_u128(2), 10)?;
                Ok(())
            })
            .unwrap();
        dispatch(&mut store, &Plan::drain(), &mut |_| {}).unwrap();
        let ids: Vec<Uuid> = store.reservations.keys().copied().collect();
        store
            .transaction(&mut |tx| {
                for (n, id) in ids.iter().enumerate() {
                    crate::operations::confirm(tx, *id, Uuid::from_u128(100 + n as u128), 20)?;
                }
                Ok(())
            })
            .unwrap();
        store
    }

    /// Many deliveries to one order share one copy of it in a batch; the
    /// order they make must be the one that handling each delivery in a
    /// transaction of its own, reading and writing the order each time,
    /// makes.
    #[test]
    fn a_batch_of_deliveries_to_one_order_ends_as_one_at_a_time_does() {
        let mut batched = confirmed_but_undelivered(40);
        let mut one_by_one = confirmed_but_undelivered(40);
        let handled = dispatch(&mut batched, &Plan::drain(), &mut |_| {}).unwrap();
        let mut singly = 0;
        let one = Plan {
            limit: Some(1),
            ..Plan::drain()
        };
        while dispatch(&mut one_by_one, &one, &mut |_| {}).unwrap() == 1 {
            singly += 1;
        }
        assert_eq!(handled, 40);
        assert_eq!(singly, 40);
        assert_eq!(batched.sales_orders, one_by_one.sales_orders);
        assert_eq!(batched.reservations, one_by_one.reservations);
        let order = batched.sales_orders.values().next().unwrap();
        assert_eq!(order.object.status, OrderStatus::Confirmed);
        let published: Vec<Topic> = batched.events.iter().map(|e| e.topic).collect();
        assert_eq!(published.last(), Some(&Topic::SalesOrderConfirm));
    }
}
