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

use crate::dispatch::{deliver, redeliver, Handlers};
use crate::domain::order::OrderRequest;
use crate::domain::{ids, saga, Component, OrderStatus, ReservationStatus, Topic};
use crate::operations;
use crate::store::{DeliveryStatus, MemoryStore};

/// Every time the checker needs: one instant, so times never tell schedules apart.
const TIME: i64 = 1_543_269_956;

#[derive(Debug, Clone)]
pub struct Options {
    /// Also deliver every handled event a second time, once.
    pub duplicates: bool,
    pub handlers: Handlers,
    pub scenario: Scenario,
}

/// What people do besides confirming: by default every reservation is
/// confirmed as soon as it exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// Reject this line's reservation instead of confirming it.
    pub reject: Option<i64>,
    /// The customer withdraws the order, at any moment it can.
    pub withdraw: bool,
    /// The customer amends the order to this, at any moment it can.
    pub amend: Option<OrderRequest>,
}

/// What the checker explored when every invariant held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub states: usize,
    pub schedules: u128,
    #[serde(rename = "finalStates")]
    pub final_states: usize,
    /// Distinct sets of commands that schedules ended up giving (a
    /// withdrawal that came too late to be possible, say).
    pub outcomes: usize,
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
    Reject { reservation: Uuid },
    Withdraw,
    Amend,
    Redeliver { seq: u64, component: Component },
}

/// A whole system: its store and what has been done to it from outside.
#[derive(Debug, Clone)]
pub struct World {
    pub store: MemoryStore,
    process_id: Uuid,
    /// The commands given so far, in words.
    commands: BTreeSet<String>,
    redelivered: BTreeSet<(Uuid, Component)>,
    handlers: Handlers,
}

impl World {
    /// A system in which `order` was just submitted, with nothing delivered.
    pub fn submitted(order: &OrderRequest, process_id: Uuid, handlers: Handlers) -> Self {
        let mut store = MemoryStore::new();
        let request_id = ids::published_event_id(process_id, Component::SalesOrder, usize::MAX);
        operations::submit(&mut store, order, process_id, request_id, TIME)
            .expect("a memory store cannot fail");
        World {
            store,
            process_id,
            commands: BTreeSet::new(),
            redelivered: BTreeSet::new(),
            handlers,
        }
    }

    fn order(&self) -> Option<&crate::domain::SalesOrderDoc> {
        self.store.sales_orders.get(&self.process_id)
    }

    /// Everything that could happen next.
    pub fn steps(&self, duplicates: bool, scenario: &Scenario) -> Vec<Step> {
        let mut steps: Vec<Step> = self
            .store
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .map(|d| Step::Deliver { key: d.key })
            .collect();
        for (id, r) in &self.store.reservations {
            if r.object.status != ReservationStatus::Unconfirmed
                || self.commands.contains(&format!("decide {id}"))
            {
                continue;
            }
            steps.push(if scenario.reject == Some(r.object.id) {
                Step::Reject { reservation: *id }
            } else {
                Step::Confirm { reservation: *id }
            });
        }
        let pending_order = self.order().filter(|o| saga::can_amend(o).is_ok());
        if scenario.withdraw && !self.commands.contains("withdraw") && pending_order.is_some() {
            steps.push(Step::Withdraw);
        }
        let quiet = self
            .store
            .deliveries
            .iter()
            .all(|d| d.status != DeliveryStatus::Pending);
        if scenario.amend.is_some()
            && !self.commands.contains("amend")
            && pending_order.is_some()
            && quiet
        {
            steps.push(Step::Amend);
        }
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
    pub fn apply(&mut self, step: &Step, scenario: &Scenario) -> anyhow::Result<()> {
        let handlers = self.handlers;
        let process_id = self.process_id;
        // Commands draw no random ids here, so that states compare equal.
        let command_id = |what: &str| {
            let mut name = process_id.as_bytes().to_vec();
            name.extend_from_slice(what.as_bytes());
            Uuid::new_v5(&process_id, &name)
        };
        // A failed step ends the exploration with a violation and this world
        // is dropped, so there is nothing to roll back: the steps run on the
        // store directly, without the copy a transaction would keep.
        let tx = &mut self.store;
        match step {
            Step::Deliver { key } => {
                let delivery = tx
                    .deliveries
                    .iter()
                    .find(|d| d.key == *key)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("no delivery {key}"))?;
                deliver(tx, &delivery, &handlers)?;
            }
            Step::Confirm { reservation } | Step::Reject { reservation } => {
                let id = *reservation;
                let event_id = command_id(&format!("decide {id}"));
                if matches!(step, Step::Reject { .. }) {
                    operations::reject(tx, id, "refused", event_id, TIME)?;
                } else {
                    operations::confirm(tx, id, event_id, TIME)?;
                }
                self.commands.insert(format!("decide {id}"));
            }
            Step::Withdraw => {
                operations::withdraw(tx, process_id, "changed my mind", TIME)?;
                self.commands.insert("withdraw".into());
            }
            Step::Amend => {
                let amended = scenario
                    .amend
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("no amendment in this scenario"))?;
                let event_id = command_id("amend");
                operations::amend(tx, process_id, amended, event_id, TIME, &handlers)?;
                self.commands.insert("amend".into());
            }
            Step::Redeliver { seq, component } => {
                redeliver(tx, *seq, *component, TIME, &handlers)?;
                let event_id = tx.events[*seq as usize - 1].id;
                self.redelivered.insert((event_id, *component));
            }
        }
        Ok(())
    }

    /// `step` in words, in this world (before it happens).
    pub fn describe(&self, step: &Step) -> String {
        let line_of = |reservation: &Uuid| {
            self.store.reservations.get(reservation).map_or_else(
                || reservation.to_string(),
                |r| format!("line {} ({})", r.object.id, r.object.reserved),
            )
        };
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
                format!("confirm the reservation of {}", line_of(reservation))
            }
            Step::Reject { reservation } => {
                format!("reject the reservation of {}", line_of(reservation))
            }
            Step::Withdraw => "the customer withdraws the order".to_string(),
            Step::Amend => "the customer amends the order".to_string(),
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

    /// The documents, as canonical JSON: what every schedule that gave the
    /// same commands must agree on.
    pub fn documents(&self) -> String {
        let orders: Vec<_> = self.store.sales_orders.values().collect();
        let reservations: Vec<_> = self.store.reservations.values().collect();
        serde_json::to_string(&(orders, reservations)).expect("documents serialize")
    }

    /// The commands given, as one comparable string.
    pub fn commands(&self) -> String {
        self.commands.iter().cloned().collect::<Vec<_>>().join(", ")
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
            self.commands,
            self.redelivered
        );
        key
    }

    fn published(&self, topic: Topic) -> usize {
        self.store
            .events
            .iter()
            .filter(|e| e.topic == topic)
            .count()
    }

    /// Invariants that must hold in every state, final or not.
    fn check_always(&self) -> Result<(), String> {
        let confirms = self.published(Topic::SalesOrderConfirm);
        let cancels = self.published(Topic::SalesOrderCancel);
        if confirms > 1 {
            return Err(format!("salesorder/confirm was published {confirms} times"));
        }
        if cancels > 1 {
            return Err(format!("salesorder/cancel was published {cancels} times"));
        }
        if confirms + cancels > 1 {
            return Err("both salesorder/confirm and salesorder/cancel were published".into());
        }
        if confirms == 1 {
            let Some(order) = self.order() else {
                return Err("salesorder/confirm was published without a sales order".into());
            };
            let lines_confirmed = order.object.status == OrderStatus::Confirmed
                && !order.object.reservations.is_empty()
                && order
                    .object
                    .reservations
                    .iter()
                    .all(|l| l.status == ReservationStatus::Confirmed);
            let reservations_confirmed = order.object.reservations.iter().all(|l| {
                self.store
                    .reservations
                    .get(&l.reservation_id)
                    .is_some_and(|r| r.object.status == ReservationStatus::Confirmed)
            });
            if !lines_confirmed || !reservations_confirmed {
                return Err(
                    "salesorder/confirm was published while a line is not confirmed".into(),
                );
            }
        }
        Ok(())
    }

    /// Invariants of a state in which nothing more can happen.
    fn check_final(&self, scenario: &Scenario, first: &OrderRequest) -> Result<(), String> {
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
        let Some(order) = self.order() else {
            return Err("no sales order was made".into());
        };
        let o = &order.object;
        let requested = if self.commands.contains("amend") {
            scenario.amend.as_ref().unwrap_or(first)
        } else {
            first
        };
        let line_ids: Vec<i64> = o.reservations.iter().map(|l| l.id).collect();
        let requested_ids: Vec<i64> = requested.reservations.iter().map(|l| l.id).collect();
        if line_ids != requested_ids {
            return Err(format!(
                "the order has lines {line_ids:?}; the latest request has {requested_ids:?}"
            ));
        }
        for line in o.reservations.iter().chain(&o.unmatched_confirmations) {
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
        for (id, r) in &self.store.reservations {
            let shown = o
                .reservations
                .iter()
                .chain(&o.unmatched_confirmations)
                .any(|l| l.reservation_id == *id);
            if !shown {
                return Err(format!(
                    "reservation of line {} ({}) is lost: the order does not show it",
                    r.object.id, r.object.status
                ));
            }
        }
        let confirms = self.published(Topic::SalesOrderConfirm);
        let cancels = self.published(Topic::SalesOrderCancel);
        match o.status {
            OrderStatus::Confirmed if confirms == 1 && cancels == 0 => Ok(()),
            OrderStatus::Cancelled if cancels == 1 && confirms == 0 => {
                match self.store.reservations.values().find(|r| {
                    !matches!(
                        r.object.status,
                        ReservationStatus::Rejected | ReservationStatus::Released
                    )
                }) {
                    Some(r) => Err(format!(
                        "the order is cancelled but the reservation of line {} is still {}",
                        r.object.id, r.object.status
                    )),
                    None => Ok(()),
                }
            }
            status => Err(format!(
                "the order ends {status} with salesorder/confirm published {confirms} times and salesorder/cancel {cancels} times"
            )),
        }
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
    let scenario = &options.scenario;
    let mut nodes = vec![Node {
        parent: None,
        successors: Vec::new(),
    }];
    let mut seen: HashMap<String, usize> = HashMap::from([(start.key(), 0)]);
    let mut queue = VecDeque::from([(0usize, start)]);
    // The documents each set of commands ends in, with the first schedule
    // that got there.
    let mut finals: HashMap<String, (usize, String)> = HashMap::new();
    let mut final_states = 0;
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
        let steps = world.steps(options.duplicates, scenario);
        if steps.is_empty() {
            final_states += 1;
            if let Err(message) = world.check_final(scenario, order) {
                return Err(Violation {
                    message,
                    schedule: schedule_to(&nodes, index, None),
                });
            }
            let documents = world.documents();
            match finals.get(&world.commands()) {
                Some((other, reference)) if *reference != documents => {
                    return Err(Violation {
                        message: format!(
                            "this schedule ends with other documents than this one, which gave the same commands: {}",
                            schedule_to(&nodes, *other, None).join("; ")
                        ),
                        schedule: schedule_to(&nodes, index, None),
                    });
                }
                Some(_) => {}
                None => {
                    finals.insert(world.commands(), (index, documents));
                }
            }
            continue;
        }
        for step in steps {
            steps_taken += 1;
            let description = world.describe(&step);
            let mut next = world.clone();
            let checked = next
                .apply(&step, scenario)
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
        final_states,
        outcomes: finals.len(),
        steps: steps_taken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::RequestedLine;
    use crate::domain::{saga, Envelope, NewEvent, Outcome, PayloadError, SalesOrderDoc, Source};
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
            scenario: Scenario::default(),
        }
    }

    fn real(scenario: Scenario, duplicates: bool) -> Options {
        Options {
            duplicates,
            handlers: Handlers::REAL,
            scenario,
        }
    }

    /// Keeps line 1, drops line 2 and adds line 9.
    fn amended() -> OrderRequest {
        OrderRequest {
            customer: "christophe".into(),
            reservations: vec![
                RequestedLine {
                    id: 1,
                    reserved: "thing 1".into(),
                },
                RequestedLine {
                    id: 9,
                    reserved: "thing 9".into(),
                },
            ],
        }
    }

    #[test]
    fn rejection_withdrawal_and_amendment_hold_in_every_schedule() {
        let scenarios = [
            Scenario {
                reject: Some(2),
                ..Scenario::default()
            },
            Scenario {
                withdraw: true,
                ..Scenario::default()
            },
            Scenario {
                amend: Some(amended()),
                ..Scenario::default()
            },
            Scenario {
                reject: Some(9),
                withdraw: true,
                amend: Some(amended()),
            },
        ];
        for (number, scenario) in scenarios.into_iter().enumerate() {
            // Everything at once with duplicates is 47k states: `pi7 check`
            // explores it in release builds, too slow for a debug test.
            let duplicates: &[bool] = if number == 3 {
                &[false]
            } else {
                &[false, true]
            };
            for &duplicates in duplicates {
                let summary = check(&order(2), &real(scenario.clone(), duplicates))
                    .unwrap_or_else(|v| panic!("{scenario:?}: {v:?}"));
                assert!(summary.schedules > 1);
            }
        }
        // Withdrawing is possible until the order is confirmed: two outcomes.
        let withdraw = Scenario {
            withdraw: true,
            ..Scenario::default()
        };
        assert!(check(&order(2), &real(withdraw, false)).unwrap().outcomes > 1);
    }

    /// Cancels on a rejection but forgets that the customer can withdraw.
    fn confirms_after_a_withdrawal(
        state: Option<&SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Outcome<SalesOrderDoc>, PayloadError> {
        let mut unwithdrawn = state.cloned();
        if let Some(doc) = unwithdrawn.as_mut() {
            if doc.object.withdrawn.is_some() {
                doc.object.withdrawn = None;
                doc.object.status = OrderStatus::Pending;
            }
        }
        saga::handle(unwithdrawn.as_ref(), event)
    }

    #[test]
    fn catches_a_saga_that_confirms_a_withdrawn_order() {
        let options = Options {
            scenario: Scenario {
                withdraw: true,
                ..Scenario::default()
            },
            ..with_saga(confirms_after_a_withdrawal, false)
        };
        let violation = check(&order(1), &options).unwrap_err();
        assert_eq!(
            violation.message,
            "both salesorder/confirm and salesorder/cancel were published"
        );
        assert!(violation
            .schedule
            .contains(&"the customer withdraws the order".to_string()));
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

    /// A `salesorder/confirm` that a broken saga publishes while handling
    /// `cause`, with an id of its own.
    fn extra_confirmation(cause: &Envelope, index: usize) -> NewEvent {
        NewEvent {
            id: ids::published_event_id(cause.id, Component::SalesOrder, index),
            topic: Topic::SalesOrderConfirm,
            process_id: cause.process_id,
            causation_id: Some(cause.id),
            source: Source::SalesOrder,
            time: cause.time,
            payload: serde_json::json!({}),
        }
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
                    outcome.published.push(extra_confirmation(event, 0));
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
            outcome.published.push(extra_confirmation(event, 1));
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
        scenario: &Scenario,
        duplicates: bool,
        mut choose: impl FnMut(usize) -> usize,
    ) -> World {
        loop {
            let steps = world.steps(duplicates, scenario);
            if steps.is_empty() {
                return world;
            }
            let step = &steps[choose(steps.len()) % steps.len()];
            world.apply(step, scenario).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_schedule_converges_to_what_fifo_gives(
            lines in 1usize..=6,
            reject in proptest::option::of(1i64..=6),
            withdraw in any::<bool>(),
            amend in any::<bool>(),
            duplicates in any::<bool>(),
            choices in proptest::collection::vec(any::<usize>(), 64),
        ) {
            let first = order(lines);
            let scenario = Scenario {
                reject,
                withdraw,
                // Drops the first line and adds line 7.
                amend: amend.then(|| OrderRequest {
                    customer: first.customer.clone(),
                    reservations: first.reservations[1..]
                        .iter()
                        .cloned()
                        .chain([RequestedLine { id: 7, reserved: "thing 7".into() }])
                        .collect(),
                }),
            };
            let process_id = Uuid::from_u128(7);
            let start = World::submitted(&first, process_id, Handlers::REAL);
            // FIFO: the oldest pending delivery first, then commands in
            // order, no duplicates.
            let fifo = run_to_end(start.clone(), &scenario, false, |_| 0);
            let mut next = choices.into_iter().cycle();
            let random = run_to_end(start, &scenario, duplicates, |_| next.next().unwrap());
            if let Err(message) = random.check_final(&scenario, &first) {
                return Err(TestCaseError::fail(message));
            }
            if random.commands() == fifo.commands() {
                prop_assert_eq!(random.documents(), fifo.documents());
            }
            let confirmed = random.published(Topic::SalesOrderConfirm);
            let cancelled = random.published(Topic::SalesOrderCancel);
            prop_assert_eq!(confirmed + cancelled, 1);
        }
    }
}
