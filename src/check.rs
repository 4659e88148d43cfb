//! The interleaving checker: runs the real components and dispatcher over an
//! in-memory store and explores every order in which deliveries,
//! confirmations and (optionally) duplicate deliveries can happen.
//!
//! States are deduplicated by their content (documents, log, deliveries and
//! what is left to do), so the search visits each distinct state once while
//! still counting every schedule. The search is breadth first, so the first
//! violation found comes with a shortest schedule that reaches it.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use uuid::Uuid;

use crate::dispatch::{deliver, redeliver, Handlers};
use crate::domain::order::OrderRequest;
use crate::domain::{ids, saga, Component, Envelope, OrderStatus, ReservationStatus, Topic};
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
    /// Visit one state of each set of states that differ only in which of
    /// the interchangeable lines is which (symmetry reduction).
    pub reduce: bool,
    /// Refuse an order whose estimated state space is larger, and stop
    /// exploring when this many distinct states have been seen.
    pub max_states: usize,
}

/// About 1 GB at [`BYTES_PER_STATE`].
pub const DEFAULT_MAX_STATES: usize = 2_000_000;

/// The memory a budget of one state allows. A state the search has seen
/// costs [`NODE_BYTES`]; the worlds waiting in the queue cost far more, so
/// the search stops when both together would pass `max_states` times this,
/// whichever comes first: memory stays bounded even when each world is big.
const BYTES_PER_STATE: usize = 500;

/// The memory any budget allows, so that a small `--max-states` counts
/// states rather than the few worlds a tiny order queues.
const MIN_MEMORY: usize = 64 << 20;

/// A seen state: its node, its successors and its fingerprint in the table.
const NODE_BYTES: usize = 120;

impl Options {
    /// The real components, reduced search, default budget.
    pub fn new(scenario: Scenario, duplicates: bool) -> Self {
        Options {
            duplicates,
            handlers: Handlers::REAL,
            scenario,
            reduce: true,
            max_states: DEFAULT_MAX_STATES,
        }
    }
}

/// Why an order was not (completely) checked: its state space is larger
/// than the budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TooLarge {
    #[error(
        "{}: about {} distinct states to explore, more than --max-states {max} allows; \
         check fewer lines or raise --max-states (about 500 MB per million states)",
        count_lines(*lines),
        about(*estimate)
    )]
    Estimated {
        lines: usize,
        estimate: u128,
        max: usize,
    },
    #[error(
        "{}: stopped at the budget of --max-states {max} after {states} distinct states, \
         without reaching the end: nothing was proved; check fewer lines or raise --max-states",
        count_lines(*lines)
    )]
    Stopped {
        lines: usize,
        states: usize,
        max: usize,
    },
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

    /// The documents in canonical form (see [`Canonical`]).
    fn canonical_documents<'a>(&self, symmetry: &'a Symmetry) -> Canonical<'a> {
        let mut canonical = Canonical::new(symmetry);
        for order in self.store.sales_orders.values() {
            let mut value = serde_json::to_value(order).expect("documents serialize");
            canonical.split(&mut value, "order");
            canonical.global.push(format!("order {value}"));
        }
        for reservation in self.store.reservations.values() {
            let mut value = serde_json::to_value(reservation).expect("documents serialize");
            let line = reservation.object.id;
            if canonical.symmetric(line) {
                strip_line(&mut value);
            }
            canonical.line(line, format!("reservation {value}"));
        }
        canonical
    }

    /// The documents, in a form that is the same for every state they could
    /// be in after interchangeable lines swapped.
    pub fn documents_up_to_symmetry(&self, symmetry: &Symmetry) -> String {
        self.canonical_documents(symmetry).finish()
    }

    /// The line whose reservation `command` decided, if it decided one.
    fn decided_line(&self, command: &str) -> Option<i64> {
        let id = Uuid::parse_str(command.strip_prefix("decide ")?).ok()?;
        self.store.reservations.get(&id).map(|r| r.object.id)
    }

    /// The commands given, up to symmetry: which class of line each decision
    /// was about, not which line.
    pub fn commands_up_to_symmetry(&self, symmetry: &Symmetry) -> String {
        let mut commands: Vec<String> = self
            .commands
            .iter()
            .map(|command| match self.decided_line(command) {
                Some(line) => format!("decide {}", symmetry.class(line)),
                None => command.clone(),
            })
            .collect();
        commands.sort();
        commands.join(", ")
    }

    /// Everything that makes this state what it is, up to the order in which
    /// it came about and up to swapping interchangeable lines: documents,
    /// events (by what they are, not their ids), their deliveries, commands
    /// and redeliveries.
    fn canonical_key(&self, symmetry: &Symmetry) -> String {
        let mut canonical = self.canonical_documents(symmetry);
        let line_of_event = |e: &Envelope| e.payload.pointer("/reservation").and_then(line_of);
        // What each event is, without its id: the ids of events published by
        // handlers derive from the line that caused them. As with ids in
        // `key`, a handler's event is known by its cause, not its payload;
        // a command's by its payload.
        let mut tags: HashMap<Uuid, String> = HashMap::new();
        let mut payloads = Vec::with_capacity(self.store.events.len());
        for event in &self.store.events {
            let cause = event.causation_id.map(|id| match tags.get(&id) {
                Some(tag) => tag.clone(),
                None => id.to_string(),
            });
            let mut payload = match cause {
                Some(_) => Value::Null,
                None => event.payload.clone(),
            };
            let tag = match line_of_event(event) {
                Some(line) => {
                    if canonical.symmetric(line) {
                        strip_line(&mut payload);
                    }
                    format!("{} of {}", event.topic, symmetry.class(line))
                }
                None => {
                    canonical.split(&mut payload, event.topic.as_str());
                    match &cause {
                        Some(cause) => format!("{} after ({cause})", event.topic),
                        None => format!("{} {payload}", event.topic),
                    }
                }
            };
            tags.insert(event.id, tag);
            payloads.push(payload);
        }
        let mut deliveries: HashMap<u64, Vec<String>> = HashMap::new();
        for d in &self.store.deliveries {
            deliveries.entry(d.seq).or_default().push(format!(
                "{}/{}/{}",
                d.component,
                d.status.as_str(),
                d.attempts
            ));
        }
        for (event, payload) in self.store.events.iter().zip(payloads) {
            let cause =
                event
                    .causation_id
                    .map_or("a command".to_string(), |id| match tags.get(&id) {
                        Some(tag) => tag.clone(),
                        None => id.to_string(),
                    });
            let mut handled = deliveries.remove(&event.seq).unwrap_or_default();
            handled.sort();
            let mut again: Vec<String> = self
                .redelivered
                .iter()
                .filter(|(id, _)| *id == event.id)
                .map(|(_, component)| component.to_string())
                .collect();
            again.sort();
            let text = format!(
                "{} from {} caused by {cause}: {payload} delivered {handled:?} again {again:?}",
                event.topic,
                event.source.as_str()
            );
            let caused_by_line = event
                .causation_id
                .and_then(|id| self.store.events.iter().find(|e| e.id == id))
                .and_then(line_of_event);
            match (line_of_event(event), caused_by_line) {
                (Some(line), _) => canonical.line(line, text),
                (None, Some(line)) => {
                    canonical.line(line, format!("caused {}", tags[&event.id]));
                    canonical.global.push(text);
                }
                (None, None) => canonical.global.push(text),
            }
        }
        for command in &self.commands {
            match self.decided_line(command) {
                Some(line) => canonical.line(line, "decided".into()),
                None => canonical.global.push(format!("command {command}")),
            }
        }
        canonical.finish()
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
            // Rule 4, as the saga itself decides it.
            let lines_confirmed = order.object.status == OrderStatus::Confirmed
                && crate::domain::invariants::is_complete(&order.object);
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

/// Which lines the scenario treats alike. Lines in one class are
/// interchangeable: the handlers look at a line's status, never at its
/// position or what it reserves, so a state and the state in which two such
/// lines swapped everything have the same futures, up to the swap.
#[derive(Debug, Clone, Default)]
pub struct Symmetry {
    /// Line id → class; a line absent from here is a class of its own.
    classes: HashMap<i64, &'static str>,
}

impl Symmetry {
    pub fn new(order: &OrderRequest, scenario: &Scenario) -> Self {
        let mut classes = HashMap::new();
        for line in &order.reservations {
            if scenario.reject == Some(line.id) {
                continue;
            }
            let class = match &scenario.amend {
                None => "line",
                Some(amended) => match amended.reservations.iter().find(|l| l.id == line.id) {
                    None => "dropped line",
                    Some(l) if l.reserved == line.reserved => "kept line",
                    Some(_) => continue,
                },
            };
            classes.insert(line.id, class);
        }
        if let Some(amended) = &scenario.amend {
            for line in &amended.reservations {
                let known = order.reservations.iter().any(|l| l.id == line.id);
                if !known && scenario.reject != Some(line.id) {
                    classes.insert(line.id, "added line");
                }
            }
        }
        Symmetry { classes }
    }

    /// A class name that is the same for interchangeable lines only.
    fn class(&self, line: i64) -> String {
        match self.classes.get(&line) {
            Some(class) => (*class).to_string(),
            None => format!("line {line}"),
        }
    }

    /// How many lines each class with more than one line has.
    fn sizes(&self) -> BTreeMap<&'static str, usize> {
        let mut sizes = BTreeMap::new();
        for class in self.classes.values() {
            *sizes.entry(*class).or_insert(0) += 1;
        }
        sizes.retain(|_, n| *n > 1);
        sizes
    }
}

/// The line a JSON object describes, if it is a line: an integer `id` and a
/// `reserved` text, as in requests, orders and reservation payloads.
fn line_of(value: &Value) -> Option<i64> {
    let object = value.as_object()?;
    object.get("reserved")?.as_str()?;
    object.get("id")?.as_i64()
}

/// Removes what tells interchangeable lines apart from `value`, in place:
/// line ids, what they reserve, and the ids derived from them.
fn strip_line(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.remove("id");
            object.remove("reserved");
            object.remove("_id");
            object.values_mut().for_each(strip_line);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_line),
        _ => {}
    }
}

/// A state in canonical form: the part that belongs to no line, and each
/// line's part, so that states which differ only by a permutation of
/// interchangeable lines read the same.
struct Canonical<'a> {
    symmetry: &'a Symmetry,
    global: Vec<String>,
    lines: BTreeMap<i64, Vec<String>>,
}

impl<'a> Canonical<'a> {
    fn new(symmetry: &'a Symmetry) -> Self {
        Canonical {
            symmetry,
            global: Vec::new(),
            lines: BTreeMap::new(),
        }
    }

    fn symmetric(&self, line: i64) -> bool {
        self.symmetry.classes.contains_key(&line)
    }

    /// Adds `text` to the part of `line`.
    fn line(&mut self, line: i64, text: String) {
        self.lines.entry(line).or_default().push(text);
    }

    /// Moves every line found in `value`'s arrays to that line's part (with
    /// `place` saying where it was), leaving its class in its position.
    fn split(&mut self, value: &mut Value, place: &str) {
        match value {
            Value::Array(items) => {
                for item in items.iter_mut() {
                    match line_of(item) {
                        Some(line) => {
                            let mut entry =
                                std::mem::replace(item, Value::String(self.symmetry.class(line)));
                            if self.symmetric(line) {
                                strip_line(&mut entry);
                            }
                            self.line(line, format!("{place}: {entry}"));
                        }
                        None => self.split(item, place),
                    }
                }
            }
            Value::Object(object) => {
                for (key, field) in object.iter_mut() {
                    self.split(field, &format!("{place}/{key}"));
                }
            }
            _ => {}
        }
    }

    fn finish(mut self) -> String {
        let mut lines: Vec<String> = std::mem::take(&mut self.lines)
            .into_iter()
            .map(|(line, mut parts)| {
                parts.sort();
                format!("{} {{{}}}", self.symmetry.class(line), parts.join("; "))
            })
            .collect();
        lines.sort();
        self.global.sort();
        format!("{}\n{}", self.global.join("\n"), lines.join("\n"))
    }
}

fn count_lines(lines: usize) -> String {
    format!("{lines} line{}", if lines == 1 { "" } else { "s" })
}

/// A large count the way a person reads it: 1234567 as 1.2e6.
fn about(n: u128) -> String {
    if n < 1_000_000 {
        n.to_string()
    } else {
        format!("{:.1e}", n as f64)
    }
}

/// One distinct state the search reached: how it was first reached and
/// where each of its steps leads. Worlds are not kept here, only in the
/// queue, so memory grows with the states by tens of bytes each.
struct Node {
    /// The parent node and the step from it; the root has none.
    parent: Option<(u32, Step)>,
    successors: Vec<u32>,
}

/// What one exploration found: the summary and every final state's
/// commands and documents, up to symmetry.
struct Exploration {
    summary: Summary,
    // Only the tests that compare the reduced and the full search read it.
    #[cfg_attr(not(test), allow(dead_code))]
    finals: BTreeSet<(String, String)>,
}

/// The process id of the order being checked.
const PROCESS_ID: Uuid = Uuid::from_u128(0x5049_3700_0000_4000_8000_0000_0000_0001);

/// Explores every schedule of `order` and checks every invariant, unless
/// the state space would exceed `options.max_states`.
pub fn check(
    order: &OrderRequest,
    options: &Options,
) -> Result<Result<Summary, Violation>, TooLarge> {
    let estimate = estimate(order, options)?;
    if estimate > options.max_states as u128 {
        return Err(TooLarge::Estimated {
            lines: order.reservations.len(),
            estimate,
            max: options.max_states,
        });
    }
    Ok(explore(order, options)?.map(|e| e.summary))
}

/// How many distinct states exploring `order` would visit, without
/// exploring it: explores the same scenario with each class of
/// interchangeable lines cut down to one line, then to two, and
/// extrapolates. With symmetry a class of n lines, each line in one of k
/// local states, gives C(n+k-1, n) combinations (which lines are in which
/// state does not matter); without it, kⁿ. Zero when no class has more than
/// one line: then there is nothing to extrapolate, and the exploration
/// itself stops at the budget.
pub fn estimate(order: &OrderRequest, options: &Options) -> Result<u128, TooLarge> {
    let symmetry = Symmetry::new(order, &options.scenario);
    let sizes = symmetry.sizes();
    if sizes.is_empty() {
        return Ok(0);
    }
    let order_lines = order.reservations.len();
    let probe = |keep: &BTreeMap<&'static str, usize>| -> Result<Option<f64>, TooLarge> {
        let (order, scenario) = truncated(order, &options.scenario, &symmetry, keep);
        let options = Options {
            scenario,
            ..options.clone()
        };
        match explore(&order, &options) {
            Ok(exploration) => Ok(exploration.ok().map(|e| e.summary.states as f64)),
            // Already a part of the order does not fit.
            Err(TooLarge::Stopped { states, max, .. }) => Err(TooLarge::Stopped {
                lines: order_lines,
                states,
                max,
            }),
            Err(estimated) => Err(estimated),
        }
    };
    let ones: BTreeMap<&'static str, usize> = sizes.keys().map(|class| (*class, 1)).collect();
    // A probe that finds a violation says nothing about the size: the
    // exploration will find the same violation early, within the budget.
    let Some(base) = probe(&ones)? else {
        return Ok(0);
    };
    let mut estimate = base;
    for (class, size) in &sizes {
        let mut twos = ones.clone();
        twos.insert(class, 2);
        let Some(two) = probe(&twos)? else {
            return Ok(0);
        };
        let size = *size as i32;
        estimate *= if options.reduce {
            // R(2) / R(1) = C(k+1, 2) / k = (k + 1) / 2.
            let k = (2.0 * two / base - 1.0).max(1.0);
            (1..=size)
                .map(|i| (k - 1.0 + f64::from(i)) / f64::from(i))
                .product::<f64>()
                / k
        } else {
            (two / base).max(1.0).powi(size - 1)
        };
    }
    Ok(if estimate >= u128::MAX as f64 {
        u128::MAX
    } else {
        estimate.round() as u128
    })
}

/// `order` and `scenario` with each class of interchangeable lines cut down
/// to its first `keep[class]` lines.
fn truncated(
    order: &OrderRequest,
    scenario: &Scenario,
    symmetry: &Symmetry,
    keep: &BTreeMap<&'static str, usize>,
) -> (OrderRequest, Scenario) {
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    let mut kept = BTreeSet::new();
    let amended = scenario.amend.iter().flat_map(|a| &a.reservations);
    for line in order.reservations.iter().chain(amended) {
        match symmetry.classes.get(&line.id) {
            Some(class) => {
                let count = counts.entry(class).or_insert(0);
                let room = *count < keep.get(class).copied().unwrap_or(1);
                if room && kept.insert(line.id) {
                    *count += 1;
                }
            }
            None => {
                kept.insert(line.id);
            }
        }
    }
    let cut = |o: &OrderRequest| OrderRequest {
        customer: o.customer.clone(),
        reservations: o
            .reservations
            .iter()
            .filter(|l| kept.contains(&l.id))
            .cloned()
            .collect(),
    };
    let scenario = Scenario {
        amend: scenario.amend.as_ref().map(cut),
        ..scenario.clone()
    };
    (cut(order), scenario)
}

/// A 128-bit hash of a state's key: the search keeps these instead of the
/// keys (kilobytes each). Two different states share one with a
/// probability around 2⁻¹²⁸ per pair, far below any hardware fault rate.
fn fingerprint(key: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut low = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut low);
    let mut high = std::collections::hash_map::DefaultHasher::new();
    0xA5u8.hash(&mut high);
    key.hash(&mut high);
    (u128::from(high.finish()) << 64) | u128::from(low.finish())
}

fn explore(
    order: &OrderRequest,
    options: &Options,
) -> Result<Result<Exploration, Violation>, TooLarge> {
    let start = World::submitted(order, PROCESS_ID, options.handlers);
    let scenario = &options.scenario;
    let symmetry = Symmetry::new(order, scenario);
    // A key's length follows the size of its world (documents, events,
    // deliveries), which the queue holds: four times it bounds what a world
    // takes in memory.
    // Without two interchangeable lines there is nothing to reduce, and the
    // exact key is cheaper to compute.
    let reduce = options.reduce && !symmetry.sizes().is_empty();
    let key = |world: &World| {
        let key = if reduce {
            world.canonical_key(&symmetry)
        } else {
            world.key()
        };
        (fingerprint(&key), key.len() * 4)
    };
    let budget = options
        .max_states
        .saturating_mul(BYTES_PER_STATE)
        .max(MIN_MEMORY);
    let (start_key, start_bytes) = key(&start);
    let mut queued_bytes = start_bytes;
    let mut nodes = vec![Node {
        parent: None,
        successors: Vec::new(),
    }];
    let mut seen: HashMap<u128, u32> = HashMap::from([(start_key, 0)]);
    let mut queue = VecDeque::from([(0u32, start.clone(), start_bytes)]);
    // The documents each set of commands ends in, with the first schedule
    // that got there.
    let mut finals: HashMap<String, (u32, String)> = HashMap::new();
    let mut every_final = BTreeSet::new();
    let mut final_states = 0;
    let mut steps_taken = 0;

    // Replays the steps to `index` (and `last`) from the start, describing
    // each in the world it happens in: nodes keep steps, not words.
    let schedule_to = |nodes: &[Node], mut index: u32, last: Option<Step>| {
        let mut steps: Vec<Step> = last.into_iter().collect();
        while let Some((parent, step)) = &nodes[index as usize].parent {
            steps.push(step.clone());
            index = *parent;
        }
        steps.reverse();
        let mut world = start.clone();
        let mut words = Vec::new();
        for step in &steps {
            words.push(world.describe(step));
            if world.apply(step, scenario).is_err() {
                break;
            }
        }
        words
    };

    while let Some((index, world, bytes)) = queue.pop_front() {
        queued_bytes -= bytes;
        let steps = world.steps(options.duplicates, scenario);
        if steps.is_empty() {
            final_states += 1;
            if let Err(message) = world.check_final(scenario, order) {
                return Ok(Err(Violation {
                    message,
                    schedule: schedule_to(&nodes, index, None),
                }));
            }
            let (commands, documents) = if options.reduce {
                (
                    world.commands_up_to_symmetry(&symmetry),
                    world.documents_up_to_symmetry(&symmetry),
                )
            } else {
                (world.commands(), world.documents())
            };
            every_final.insert((
                world.commands_up_to_symmetry(&symmetry),
                world.documents_up_to_symmetry(&symmetry),
            ));
            match finals.get(&commands) {
                Some((other, reference)) if *reference != documents => {
                    return Ok(Err(Violation {
                        message: format!(
                            "this schedule ends with other documents than this one, which gave the same commands: {}",
                            schedule_to(&nodes, *other, None).join("; ")
                        ),
                        schedule: schedule_to(&nodes, index, None),
                    }));
                }
                Some(_) => {}
                None => {
                    finals.insert(commands, (index, documents));
                }
            }
            continue;
        }
        for step in steps {
            steps_taken += 1;
            let mut next = world.clone();
            let checked = next
                .apply(&step, scenario)
                .map_err(|e| format!("the step failed: {e:#}"))
                .and_then(|()| next.check_always());
            if let Err(message) = checked {
                return Ok(Err(Violation {
                    message,
                    schedule: schedule_to(&nodes, index, Some(step)),
                }));
            }
            let (fingerprint, bytes) = key(&next);
            let successor = match seen.get(&fingerprint) {
                Some(existing) => *existing,
                None => {
                    let memory = nodes.len() * NODE_BYTES + queued_bytes + bytes;
                    if nodes.len() >= options.max_states || memory > budget {
                        return Err(TooLarge::Stopped {
                            lines: order.reservations.len(),
                            states: nodes.len(),
                            max: options.max_states,
                        });
                    }
                    let new_index = nodes.len() as u32;
                    nodes.push(Node {
                        parent: Some((index, step)),
                        successors: Vec::new(),
                    });
                    seen.insert(fingerprint, new_index);
                    queue.push_back((new_index, next, bytes));
                    queued_bytes += bytes;
                    new_index
                }
            };
            nodes[index as usize].successors.push(successor);
        }
    }

    // Every step makes progress that the state records, so edges only go
    // from a node to a later one: count paths from the last node back.
    // Under symmetry a step into a state counts as a step into whichever
    // state of its class it really reached, so the count stays exact.
    let mut paths = vec![0u128; nodes.len()];
    for index in (0..nodes.len()).rev() {
        paths[index] = if nodes[index].successors.is_empty() {
            1
        } else {
            nodes[index]
                .successors
                .iter()
                .fold(0u128, |sum, s| sum.saturating_add(paths[*s as usize]))
        };
    }
    Ok(Ok(Exploration {
        summary: Summary {
            states: nodes.len(),
            schedules: paths[0],
            final_states,
            outcomes: finals.len(),
            steps: steps_taken,
        },
        finals: every_final,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::RequestedLine;
    use crate::domain::saga::{self, Applied};
    use crate::domain::{Envelope, NewEvent, PayloadError, SalesOrderDoc, Source};
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
        sales_order: fn(&mut Option<SalesOrderDoc>, &Envelope) -> Result<Applied, PayloadError>,
        duplicates: bool,
    ) -> Options {
        Options {
            handlers: Handlers {
                sales_order,
                ..Handlers::REAL
            },
            ..Options::new(Scenario::default(), duplicates)
        }
    }

    fn real(scenario: Scenario, duplicates: bool) -> Options {
        Options::new(scenario, duplicates)
    }

    /// Every order the tests check fits the default budget.
    fn check(order: &OrderRequest, options: &Options) -> Result<Summary, Violation> {
        super::check(order, options).expect("within the budget")
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

    /// Each command besides confirming, on its own.
    fn one_command_each() -> [Scenario; 3] {
        [
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
        ]
    }

    #[test]
    fn rejection_withdrawal_and_amendment_hold_in_every_schedule() {
        let [reject, withdraw, amend] = one_command_each();
        let scenarios = [
            reject,
            withdraw,
            amend,
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
        state: &mut Option<SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Applied, PayloadError> {
        let mut unwithdrawn = state.clone();
        if let Some(doc) = unwithdrawn.as_mut() {
            if doc.object.withdrawn.is_some() {
                doc.object.withdrawn = None;
                doc.object.status = OrderStatus::Pending;
            }
        }
        let mut applied = saga::apply(&mut unwithdrawn, event)?;
        applied.changed |= unwithdrawn != *state;
        *state = unwithdrawn;
        Ok(applied)
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
            let options = with_saga(saga::apply, duplicates);
            let summary = check(&order(2), &options).unwrap();
            assert!(summary.schedules > 1);
            assert!(summary.states > 1);
        }
        let three = check(&order(3), &with_saga(saga::apply, true)).unwrap();
        let two = check(&order(2), &with_saga(saga::apply, true)).unwrap();
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
        state: &mut Option<SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Applied, PayloadError> {
        let mut applied = saga::apply(state, event)?;
        if event.topic == Topic::ReservationConfirm
            && applied.changed
            && applied.published.is_empty()
        {
            if let Some(doc) = state.as_mut() {
                if doc.object.status == OrderStatus::Pending && doc.object.customer.is_some() {
                    doc.object.status = OrderStatus::Confirmed;
                    applied.published.push(extra_confirmation(event, 0));
                }
            }
        }
        Ok(applied)
    }

    /// Publishes `salesorder/confirm` whenever it handles a confirmation of a
    /// complete order, as the original did on every persist.
    fn publishes_on_every_persist(
        state: &mut Option<SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Applied, PayloadError> {
        let confirmed = state
            .as_ref()
            .is_some_and(|s| s.object.status == OrderStatus::Confirmed);
        let mut applied = saga::apply(state, event)?;
        if confirmed && event.topic == Topic::ReservationConfirm {
            applied.published.push(extra_confirmation(event, 1));
        }
        Ok(applied)
    }

    /// Drops a confirmation that arrives before the request, as a saga
    /// without rule 3 would.
    fn forgets_early_confirmations(
        state: &mut Option<SalesOrderDoc>,
        event: &Envelope,
    ) -> Result<Applied, PayloadError> {
        if state.is_none() && event.topic == Topic::ReservationConfirm {
            return Ok(Applied {
                changed: false,
                published: Vec::new(),
                log: Vec::new(),
            });
        }
        saga::apply(state, event)
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

    /// Every broken saga the tests define, with the scenario that shows it.
    fn broken_sagas() -> Vec<(&'static str, Options)> {
        vec![
            (
                "completes on the first confirmation",
                with_saga(completes_on_first_confirmation, false),
            ),
            (
                "publishes on every persist",
                with_saga(publishes_on_every_persist, true),
            ),
            (
                "forgets early confirmations",
                with_saga(forgets_early_confirmations, false),
            ),
            (
                "confirms after a withdrawal",
                Options {
                    scenario: Scenario {
                        withdraw: true,
                        ..Scenario::default()
                    },
                    ..with_saga(confirms_after_a_withdrawal, false)
                },
            ),
        ]
    }

    #[test]
    fn the_reduced_search_catches_every_broken_saga_on_larger_orders() {
        for (name, options) in broken_sagas() {
            for lines in [2, 4] {
                assert!(options.reduce);
                let violation = check(&order(lines), &options);
                assert!(violation.is_err(), "{name}, {lines} lines: {violation:?}");
            }
        }
    }

    #[test]
    fn reduced_and_full_search_agree_on_small_orders() {
        let mut cases = broken_sagas();
        let scenarios = std::iter::once(Scenario::default()).chain(one_command_each());
        for scenario in scenarios {
            for duplicates in [false, true] {
                cases.push(("the real saga", real(scenario.clone(), duplicates)));
            }
        }
        for (name, options) in cases {
            // The full search of three lines with duplicates and another
            // command is too slow for a debug build.
            let most = if options.duplicates && options.scenario != Scenario::default() {
                2
            } else {
                3
            };
            for lines in 1..=most {
                let full = explore(
                    &order(lines),
                    &Options {
                        reduce: false,
                        ..options.clone()
                    },
                )
                .unwrap();
                let reduced = explore(&order(lines), &options).unwrap();
                let what = format!("{name}, {lines} lines, {:?}", options.scenario);
                match (full, reduced) {
                    (Ok(full), Ok(reduced)) => {
                        assert_eq!(full.finals, reduced.finals, "{what}");
                        assert_eq!(full.summary.schedules, reduced.summary.schedules, "{what}");
                        assert!(!full.finals.is_empty());
                    }
                    (Err(full), Err(reduced)) => {
                        assert_eq!(full.message, reduced.message, "{what}");
                        // Breadth first, both find a shortest schedule.
                        assert_eq!(full.schedule.len(), reduced.schedule.len(), "{what}");
                    }
                    (full, reduced) => panic!(
                        "{what}: full {:?}, reduced {:?}",
                        full.map(|e| e.summary),
                        reduced.map(|e| e.summary)
                    ),
                }
            }
        }
    }

    #[test]
    fn symmetry_shrinks_the_search_by_orders_of_magnitude() {
        let options = real(Scenario::default(), true);
        let reduced = check(&order(5), &options).unwrap();
        let full = check(
            &order(5),
            &Options {
                reduce: false,
                ..options
            },
        )
        .unwrap();
        assert_eq!(reduced.schedules, full.schedules);
        assert!(reduced.states * 10 < full.states, "{reduced:?} {full:?}");
    }

    #[test]
    fn refuses_an_order_whose_estimate_exceeds_the_budget() {
        let options = Options {
            max_states: 1000,
            ..real(Scenario::default(), true)
        };
        let estimate = estimate(&order(10_000), &options).unwrap();
        assert!(estimate > 1_000_000_000, "{estimate}");
        assert!(matches!(
            super::check(&order(10_000), &options),
            Err(TooLarge::Estimated {
                lines: 10_000,
                max: 1000,
                ..
            })
        ));
        // The estimate is of the right size: within a factor of two.
        let unlimited = real(Scenario::default(), true);
        let states = check(&order(5), &unlimited).unwrap().states as u128;
        let estimated = estimate_of(&order(5), &unlimited);
        assert!(
            estimated * 2 > states && estimated < states * 2,
            "{estimated} vs {states}"
        );
    }

    fn estimate_of(order: &OrderRequest, options: &Options) -> u128 {
        estimate(order, options).unwrap()
    }

    #[test]
    fn stops_at_the_budget_when_there_is_nothing_to_estimate_from() {
        // One line: no class of interchangeable lines to extrapolate.
        let options = Options {
            max_states: 5,
            ..real(Scenario::default(), true)
        };
        assert_eq!(estimate(&order(1), &options).unwrap(), 0);
        // Five states or the memory five are allowed, whichever comes first.
        assert!(matches!(
            super::check(&order(1), &options),
            Err(TooLarge::Stopped {
                lines: 1,
                states: 1..=5,
                max: 5
            })
        ));
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
