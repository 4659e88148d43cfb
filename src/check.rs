//! The interleaving checker: runs the real components and dispatcher over an
//! in-memory store and explores every order in which deliveries,
//! confirmations and (optionally) duplicate deliveries can happen.
//!
//! States are deduplicated by their content (documents, log, deliveries and
//! what is left to do), so the search visits each distinct state once while
//! still counting every schedule. The search is breadth first, so the first
//! violation found comes with a shortest schedule that reaches it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use uuid::Uuid;

use crate::dispatch::{deliver, publish, redeliver, Handlers};
use crate::domain::order::OrderRequest;
use crate::domain::{
    event::SalesOrderRequested, ids, reservation, Component, NewEvent, OrderStatus,
    ReservationStatus, Source, Topic,
};
use crate::store::{DeliveryStatus, MemoryStore, Store};

/// Every time the checker needs: one instant, so times never tell schedules apart.
const TIME: i64 = 1_543_269_956;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Also deliver every handled event a second time, once.
    pub duplicates: bool,
    pub handlers: Handlers,
}

/// What the checker explored when every invariant held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub states: usize,
    pub schedules: u128,
    #[serde(rename = "finalStates")]
    pub final_states: usize,
    pub steps: usize,
}

/// An invariant that does not hold, and a shortest schedule that breaks it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub message: String,
    pub schedule: Vec<String>,
}

/// One thing that can happen next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Deliver { key: i64 },
    Confirm { reservation: Uuid },
    Redeliver { seq: u64, component: Component },
}

/// A whole system: its store and what has been done to it from outside.
#[derive(Debug, Clone)]
pub struct World {
    pub store: MemoryStore,
    confirmed: BTreeSet<Uuid>,
    redelivered: BTreeSet<(Uuid, Component)>,
    handlers: Handlers,
}

impl World {
    /// A system in which `order` was just submitted, with nothing delivered.
    pub fn submitted(order: &OrderRequest, process_id: Uuid, handlers: Handlers) -> Self {
        let mut store = MemoryStore::new();
        let payload = SalesOrderRequested {
            process_id,
            salesorder: order.clone(),
        };
        let request = NewEvent {
            id: ids::published_event_id(process_id, Component::SalesOrder, usize::MAX),
            topic: Topic::SalesOrderRequest,
            process_id,
            causation_id: None,
            source: Source::Web,
            time: TIME,
            payload: serde_json::to_value(payload).expect("a payload always serializes"),
        };
        publish(&mut store, request, &mut Vec::new()).expect("a memory store cannot fail");
        World {
            store,
            confirmed: BTreeSet::new(),
            redelivered: BTreeSet::new(),
            handlers,
        }
    }

    /// Everything that could happen next.
    pub fn steps(&self, duplicates: bool) -> Vec<Step> {
        let mut steps: Vec<Step> = self
            .store
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .map(|d| Step::Deliver { key: d.key })
            .collect();
        steps.extend(
            self.store
                .reservations
                .keys()
                .filter(|id| !self.confirmed.contains(id))
                .map(|id| Step::Confirm { reservation: *id }),
        );
        if duplicates {
            for d in &self.store.deliveries {
                let event_id = self.store.events[d.seq as usize - 1].id;
                if d.status == DeliveryStatus::Done
                    && !self.redelivered.contains(&(event_id, d.component))
                {
                    steps.push(Step::Redeliver {
                        seq: d.seq,
                        component: d.component,
                    });
                }
            }
        }
        steps
    }

    /// Makes `step` happen, as the command line would.
    pub fn apply(&mut self, step: &Step) -> anyhow::Result<()> {
        let handlers = self.handlers;
        match step {
            Step::Deliver { key } => {
                let delivery = self
                    .store
                    .deliveries
                    .iter()
                    .find(|d| d.key == *key)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("no delivery {key}"))?;
                self.store
                    .transaction(&mut |tx| Ok(deliver(tx, &delivery, &handlers)?))?;
            }
            Step::Confirm { reservation: id } => {
                let id = *id;
                self.store.transaction(&mut |tx| {
                    let doc = tx
                        .reservation(id)?
                        .ok_or_else(|| anyhow::anyhow!("no reservation {id}"))?;
                    let event_id = ids::published_event_id(id, Component::Reservation, usize::MAX);
                    let outcome = reservation::confirm(&doc, event_id, TIME);
                    for changed in &outcome.changed {
                        tx.save_reservation(changed)?;
                    }
                    for event in outcome.published {
                        publish(tx, event, &mut Vec::new())?;
                    }
                    Ok(())
                })?;
                self.confirmed.insert(id);
            }
            Step::Redeliver { seq, component } => {
                let (seq, component) = (*seq, *component);
                self.store
                    .transaction(&mut |tx| redeliver(tx, seq, component, TIME, &handlers))?;
                let event_id = self.store.events[seq as usize - 1].id;
                self.redelivered.insert((event_id, component));
            }
        }
        Ok(())
    }

    /// `step` in words, in this world (before it happens).
    pub fn describe(&self, step: &Step) -> String {
        match step {
            Step::Deliver { key } => {
                let Some(d) = self.store.deliveries.iter().find(|d| d.key == *key) else {
                    return format!("deliver #{key}");
                };
                format!(
                    "deliver {} (seq {}{}) to {}",
                    d.topic,
                    d.seq,
                    self.line_of_event(d.seq),
                    d.component
                )
            }
            Step::Confirm { reservation } => {
                let line = self.store.reservations.get(reservation).map_or_else(
                    || reservation.to_string(),
                    |r| format!("line {} ({})", r.object.id, r.object.reserved),
                );
                format!("confirm the reservation of {line}")
            }
            Step::Redeliver { seq, component } => {
                let topic = self.store.events[*seq as usize - 1].topic;
                format!(
                    "redeliver {topic} (seq {seq}{}) to {component}",
                    self.line_of_event(*seq)
                )
            }
        }
    }

    fn line_of_event(&self, seq: u64) -> String {
        let event = &self.store.events[seq as usize - 1];
        event
            .payload
            .pointer("/reservation/id")
            .map(|id| format!(", line {id}"))
            .unwrap_or_default()
    }

    /// The documents, as canonical JSON: what every schedule must agree on.
    pub fn documents(&self) -> String {
        let orders: Vec<_> = self.store.sales_orders.values().collect();
        let reservations: Vec<_> = self.store.reservations.values().collect();
        serde_json::to_string(&(orders, reservations)).expect("documents serialize")
    }

    /// Everything that makes this state what it is, but not the order in
    /// which it came about (seq numbers and delivery keys).
    fn key(&self) -> String {
        let mut key = self.documents();
        let mut events: Vec<String> = self.store.events.iter().map(|e| e.id.to_string()).collect();
        events.sort();
        let mut deliveries: Vec<String> = self
            .store
            .deliveries
            .iter()
            .map(|d| {
                format!(
                    "{}/{}/{}/{}",
                    self.store.events[d.seq as usize - 1].id,
                    d.component,
                    d.status.as_str(),
                    d.attempts
                )
            })
            .collect();
        deliveries.sort();
        let _ = write!(
            key,
            "|{}|{}|{:?}|{:?}",
            events.join(","),
            deliveries.join(","),
            self.confirmed,
            self.redelivered
        );
        key
    }

    fn published_confirmations(&self) -> usize {
        self.store
            .events
            .iter()
            .filter(|e| e.topic == Topic::SalesOrderConfirm)
            .count()
    }

    /// Invariants that must hold in every state, final or not.
    fn check_always(&self) -> Result<(), String> {
        let published = self.published_confirmations();
        if published > 1 {
            return Err(format!(
                "salesorder/confirm was published {published} times"
            ));
        }
        if published == 1 {
            let all_confirmed = self.store.sales_orders.values().all(|o| {
                o.object.status == OrderStatus::Confirmed
                    && !o.object.reservations.is_empty()
                    && o.object
                        .reservations
                        .iter()
                        .all(|l| l.status == ReservationStatus::Confirmed)
            });
            let every_reservation_confirmed = self
                .store
                .reservations
                .values()
                .all(|r| r.object.status == ReservationStatus::Confirmed);
            if !all_confirmed || !every_reservation_confirmed {
                return Err(
                    "salesorder/confirm was published while a line is not confirmed".into(),
                );
            }
        }
        Ok(())
    }

    /// Invariants of a state in which nothing more can happen.
    fn check_final(&self, lines: usize) -> Result<(), String> {
        self.check_always()?;
        if let Some(d) = self
            .store
            .deliveries
            .iter()
            .find(|d| d.status != DeliveryStatus::Done)
        {
            return Err(format!(
                "delivery of {} (seq {}) to {} is left {}",
                d.topic,
                d.seq,
                d.component,
                d.status.as_str()
            ));
        }
        let Some(order) = self.store.sales_orders.values().next() else {
            return Err("no sales order was made".into());
        };
        if order.object.reservations.len() != lines || self.store.reservations.len() != lines {
            return Err(format!(
                "the order has {} lines and {} reservations; the request had {lines}",
                order.object.reservations.len(),
                self.store.reservations.len()
            ));
        }
        for line in &order.object.reservations {
            let reservation = self.store.reservations.get(&line.reservation_id);
            if reservation.map(|r| r.object.status) != Some(line.status) {
                return Err(format!(
                    "line {} is {} in the order but its reservation is {}",
                    line.id,
                    line.status,
                    reservation.map_or("missing".into(), |r| r.object.status.to_string())
                ));
            }
        }
        for event in self
            .store
            .events
            .iter()
            .filter(|e| e.topic == Topic::ReservationConfirm)
        {
            let id = event
                .payload
                .pointer("/reservation/_id")
                .and_then(|v| v.as_str());
            let kept = order
                .object
                .reservations
                .iter()
                .chain(&order.object.unmatched_confirmations)
                .any(|l| {
                    Some(l.reservation_id.to_string().as_str()) == id
                        && l.status == ReservationStatus::Confirmed
                });
            if !kept {
                return Err(format!(
                    "the confirmation in event {} is lost: the order does not show it",
                    event.seq
                ));
            }
        }
        let all_confirmed = order
            .object
            .reservations
            .iter()
            .all(|l| l.status == ReservationStatus::Confirmed);
        let published = self.published_confirmations();
        if all_confirmed != (published == 1)
            || all_confirmed != (order.object.status == OrderStatus::Confirmed)
        {
            return Err(format!(
                "every line confirmed: {all_confirmed}, but salesorder/confirm published {published} times and the order is {}",
                order.object.status
            ));
        }
        Ok(())
    }
}

struct Node {
    parent: Option<(usize, String)>,
    successors: Vec<usize>,
}

/// Explores every schedule of `order` and checks every invariant.
pub fn check(order: &OrderRequest, options: &Options) -> Result<Summary, Violation> {
    let process_id = Uuid::from_u128(0x5049_3700_0000_4000_8000_0000_0000_0001);
    let start = World::submitted(order, process_id, options.handlers);
    let lines = order.reservations.len();
    let mut nodes = vec![Node {
        parent: None,
        successors: Vec::new(),
    }];
    let mut seen: HashMap<String, usize> = HashMap::from([(start.key(), 0)]);
    let mut queue = VecDeque::from([(0usize, start)]);
    let mut finals: Vec<(usize, String)> = Vec::new();
    let mut steps_taken = 0;

    let schedule_to = |nodes: &[Node], mut index: usize, last: Option<String>| {
        let mut steps = Vec::new();
        steps.extend(last);
        while let Some((parent, step)) = &nodes[index].parent {
            steps.push(step.clone());
            index = *parent;
        }
        steps.reverse();
        steps
    };

    while let Some((index, world)) = queue.pop_front() {
        let steps = world.steps(options.duplicates);
        if steps.is_empty() {
            if let Err(message) = world.check_final(lines) {
                return Err(Violation {
                    message,
                    schedule: schedule_to(&nodes, index, None),
                });
            }
            let documents = world.documents();
            if let Some((other, reference)) = finals.first() {
                if *reference != documents {
                    return Err(Violation {
                        message: format!(
                            "this schedule ends with other documents than this one: {}",
                            schedule_to(&nodes, *other, None).join("; ")
                        ),
                        schedule: schedule_to(&nodes, index, None),
                    });
                }
            }
            finals.push((index, documents));
            continue;
        }
        for step in steps {
            steps_taken += 1;
            let description = world.describe(&step);
            let mut next = world.clone();
            let checked = next
                .apply(&step)
                .map_err(|e| format!("the step failed: {e:#}"))
                .and_then(|()| next.check_always());
            if let Err(message) = checked {
                return Err(Violation {
                    message,
                    schedule: schedule_to(&nodes, index, Some(description)),
                });
            }
            let key = next.key();
            let successor = match seen.get(&key) {
                Some(existing) => *existing,
                None => {
                    let new_index = nodes.len();
                    nodes.push(Node {
                        parent: Some((index, description)),
                        successors: Vec::new(),
                    });
                    seen.insert(key, new_index);
                    queue.push_back((new_index, next));
                    new_index
                }
            };
            nodes[index].successors.push(successor);
        }
    }

    // Every step makes progress that the state records, so edges only go
    // from a node to a later one: count paths from the last node back.
    let mut paths = vec![0u128; nodes.len()];
    for index in (0..nodes.len()).rev() {
        paths[index] = if nodes[index].successors.is_empty() {
            1
        } else {
            nodes[index]
                .successors
                .iter()
                .fold(0u128, |sum, s| sum.saturating_add(paths[*s]))
        };
    }
    Ok(Summary {
        states: nodes.len(),
        schedules: paths[0],
        final_states: finals.len(),
        steps: steps_taken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::RequestedLine;
    use crate::domain::{saga, Envelope, Outcome, PayloadError, SalesOrderDoc};
    use proptest::prelude::*;

    fn order(lines: usize) -> OrderRequest {
        OrderRequest {
            customer: "christophe".into(),
            reservations: (1..=lines as i64)
                .map(|id| RequestedLine {
                    id,
                    reserved: format!("thing {id}"),
                })
                .collect(),
        }
    }

    fn with_saga(
        sales_order: fn(
            Option<&SalesOrderDoc>,
            &Envelope,
        ) -> Result<Outcome<SalesOrderDoc>, PayloadError>,
        duplicates: bool,
    ) -> Options {
        Options {
            duplicates,
            handlers: Handlers {
                sales_order,
                ..Handlers::REAL
            },
        }
    }

    #[test]
    fn the_real_saga_holds_in_every_schedule() {
        for duplicates in [false, true] {
            let options = with_saga(saga::handle, duplicates);
            let summary = check(&order(2), &options).unwrap();
            assert!(summary.schedules > 1);
            assert!(summary.states > 1);
        }
        let three = check(&order(3), &with_saga(saga::handle, true)).unwrap();
        let two = check(&order(2), &with_saga(saga::handle, true)).unwrap();
        assert!(three.schedules > two.schedules);
    }

    /// Completes the order as soon as any line is confirmed.
    fn completes_on_first_confirmation(
        state: Option<&SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Outcome<SalesOrderDoc>, PayloadError> {
        let mut outcome = saga::handle(state, event)?;
        if event.topic == Topic::ReservationConfirm && outcome.published.is_empty() {
            if let Some(doc) = outcome.changed.last_mut() {
                if doc.object.status == OrderStatus::Pending && doc.object.customer.is_some() {
                    doc.object.status = OrderStatus::Confirmed;
                    outcome.published.push(NewEvent {
                        id: ids::published_event_id(event.id, Component::SalesOrder, 0),
                        topic: Topic::SalesOrderConfirm,
                        process_id: event.process_id,
                        causation_id: Some(event.id),
                        source: Source::SalesOrder,
                        time: event.time,
                        payload: serde_json::json!({}),
                    });
                }
            }
        }
        Ok(outcome)
    }

    /// Publishes `salesorder/confirm` whenever it handles a confirmation of a
    /// complete order, as the original did on every persist.
    fn publishes_on_every_persist(
        state: Option<&SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Outcome<SalesOrderDoc>, PayloadError> {
        let mut outcome = saga::handle(state, event)?;
        let confirmed = state.is_some_and(|s| s.object.status == OrderStatus::Confirmed);
        if confirmed && event.topic == Topic::ReservationConfirm {
            outcome.published.push(NewEvent {
                id: ids::published_event_id(event.id, Component::SalesOrder, 1),
                topic: Topic::SalesOrderConfirm,
                process_id: event.process_id,
                causation_id: Some(event.id),
                source: Source::SalesOrder,
                time: event.time,
                payload: serde_json::json!({}),
            });
        }
        Ok(outcome)
    }

    /// Drops a confirmation that arrives before the request, as a saga
    /// without rule 3 would.
    fn forgets_early_confirmations(
        state: Option<&SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Outcome<SalesOrderDoc>, PayloadError> {
        if state.is_none() && event.topic == Topic::ReservationConfirm {
            return Ok(Outcome::nothing(Vec::new()));
        }
        saga::handle(state, event)
    }

    #[test]
    fn catches_a_saga_that_completes_on_the_first_confirmation() {
        let violation = check(
            &order(2),
            &with_saga(completes_on_first_confirmation, false),
        )
        .unwrap_err();
        assert_eq!(
            violation.message,
            "salesorder/confirm was published while a line is not confirmed"
        );
        // Shortest: both request deliveries, one confirmation, its delivery.
        assert_eq!(violation.schedule.len(), 4);
        assert!(violation.schedule[3].starts_with("deliver reservation/confirm"));
        assert!(violation.schedule[3].ends_with("to salesorder"));
    }

    #[test]
    fn catches_a_saga_that_publishes_again_on_a_duplicate_only_with_duplicates() {
        assert!(check(&order(2), &with_saga(publishes_on_every_persist, false)).is_ok());
        let violation = check(&order(2), &with_saga(publishes_on_every_persist, true)).unwrap_err();
        assert_eq!(
            violation.message,
            "salesorder/confirm was published 2 times"
        );
        assert!(violation
            .schedule
            .last()
            .unwrap()
            .starts_with("redeliver reservation/confirm"));
    }

    #[test]
    fn catches_a_saga_that_loses_a_confirmation_arriving_before_the_request() {
        let violation =
            check(&order(2), &with_saga(forgets_early_confirmations, false)).unwrap_err();
        assert_eq!(
            violation.message,
            "line 1 is unconfirmed in the order but its reservation is confirmed"
        );
        let request_to_saga = violation
            .schedule
            .iter()
            .position(|s| {
                s.starts_with("deliver salesorder/request") && s.ends_with("to salesorder")
            })
            .unwrap();
        let confirmation_to_saga = violation
            .schedule
            .iter()
            .position(|s| s.starts_with("deliver reservation/confirm"))
            .unwrap();
        assert!(confirmation_to_saga < request_to_saga);
    }

    /// Runs `world` to the end, taking at each point the step `choose` picks.
    fn run_to_end(
        mut world: World,
        duplicates: bool,
        mut choose: impl FnMut(usize) -> usize,
    ) -> World {
        loop {
            let steps = world.steps(duplicates);
            if steps.is_empty() {
                return world;
            }
            let step = &steps[choose(steps.len()) % steps.len()];
            world.apply(step).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_schedule_converges_to_what_fifo_gives(
            lines in 1usize..=6,
            duplicates in any::<bool>(),
            choices in proptest::collection::vec(any::<usize>(), 64),
        ) {
            let process_id = Uuid::from_u128(7);
            let start = World::submitted(&order(lines), process_id, Handlers::REAL);
            // FIFO: the oldest pending delivery first, confirmations when
            // nothing is pending, no duplicates.
            let fifo = run_to_end(start.clone(), false, |_| 0);
            let mut next = choices.into_iter().cycle();
            let random = run_to_end(start, duplicates, |_| next.next().unwrap());
            prop_assert_eq!(random.documents(), fifo.documents());
            prop_assert_eq!(random.published_confirmations(), 1);
            prop_assert!(random.check_final(lines).is_ok());
        }
    }
}
