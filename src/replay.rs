//! The log as a script, and the verified replay that `import`, `rebuild`,
//! `verify` and `show --at` all run.
//!
//! A log is more than its events: it also says which events one command
//! appended together and, for every delivery that was handled, where in the
//! log that happened. Written out in that order ([`Step`]s), it is a script
//! that reproduces the database that wrote it: carry out each command
//! again where its event stands, handle each delivery where its record
//! stands, and every event a handler publishes comes out again, the same to
//! the byte, just before the file shows it.
//!
//! [`Replay`] runs such a script on any store, and trusts nothing in it: a
//! command is carried out by the command line's own code
//! (`operations::execute`), so it must be legal at that point and must
//! publish exactly the event the script shows; an event a handler published
//! must be exactly what pi7's handler publishes there. Anything else is
//! refused with the reason, and the caller rolls back.
//!
//! What this is not: a parser (see `commands::import`) or a writer of files
//! (see `commands::export`); it only turns steps into effects.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use uuid::Uuid;

use crate::dispatch::{deliver_with, Handled, Handlers, Sagas};
use crate::domain::command::Command;
use crate::domain::{Component, Envelope, LogLine, Source};
use crate::operations::{self, Refused};
use crate::store::{DeliveryFilter, DeliveryStatus, Pick, StoreError, Tx};

/// The first line of an export: what follows records where deliveries were
/// handled, so an import reproduces the log exactly.
pub const FORMAT: &str = "pi7 export";
/// The version of the export format this pi7 writes.
pub const FORMAT_VERSION: u32 = 2;

/// The header line of an export: `{"format": "pi7 export", "version": 2}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
}

impl Header {
    pub fn current() -> Self {
        Header {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
        }
    }
}

/// One line of an exported log after its header.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An event, as `pi7 events --json` prints it.
    Event(Envelope),
    /// The next `events` command-published events were appended together by
    /// one command. A command event with no such line before it was a
    /// command of its own.
    Command { events: usize },
    /// The delivery of `event` to `component` was handled here: after the
    /// events before this line, before the events it published.
    Handled { event: Uuid, component: Component },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandLine {
    command: CommandRecord,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandRecord {
    events: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HandledLine {
    handled: HandledRecord,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HandledRecord {
    event: Uuid,
    component: Component,
}

impl Step {
    /// Writes the step as one line of JSON (without the newline).
    pub fn write(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()> {
        match self {
            Step::Event(event) => serde_json::to_writer(out, event),
            Step::Command { events } => serde_json::to_writer(
                out,
                &CommandLine {
                    command: CommandRecord { events: *events },
                },
            ),
            Step::Handled { event, component } => serde_json::to_writer(
                out,
                &HandledLine {
                    handled: HandledRecord {
                        event: *event,
                        component: *component,
                    },
                },
            ),
        }
    }

    /// Reads one line of an export, given as both its parsed value and its
    /// text: which kind it is follows from its keys, so that a mistake is
    /// reported against the kind it meant to be, with where in `raw` it is
    /// (1-based line and column) when serde can say.
    pub fn parse(
        value: serde_json::Value,
        raw: &str,
    ) -> Result<Step, (String, Option<(usize, usize)>)> {
        fn read<T: serde::de::DeserializeOwned>(
            value: serde_json::Value,
            raw: &str,
            what: &str,
        ) -> Result<T, (String, Option<(usize, usize)>)> {
            serde_json::from_value(value).map_err(|e| {
                // Read again from the text, only to say where it went wrong.
                let at = serde_json::from_str::<T>(raw)
                    .err()
                    .filter(|e| e.line() > 0)
                    .map(|e| (e.line(), e.column()));
                let message = e.to_string();
                (format!("not {what}: {message}"), at)
            })
        }
        if value.get("handled").is_some() {
            let line: HandledLine = read(value, raw, "a handling record")?;
            return Ok(Step::Handled {
                event: line.handled.event,
                component: line.handled.component,
            });
        }
        if value.get("command").is_some() {
            let line: CommandLine = read(value, raw, "a command record")?;
            if line.command.events == 0 {
                return Err(("a command record names at least 1 event".into(), None));
            }
            return Ok(Step::Command {
                events: line.command.events,
            });
        }
        read(value, raw, "an event envelope").map(Step::Event)
    }
}

/// A delivery that was handled, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The highest seq in the log when its handling began.
    pub position: u64,
    /// Its place among all handled deliveries.
    pub order: u64,
    pub event: Uuid,
    pub component: Component,
}

/// Turns a log (its events in `seq` order with the command each belongs
/// to, and its handling records) into steps, without holding the events.
pub struct StepWriter {
    handled: VecDeque<Recorded>,
    /// How many of the written events each command appended, by the seq
    /// of its first event; commands of one event are not in here.
    command_sizes: HashMap<u64, usize>,
    current_command: Option<u64>,
}

impl StepWriter {
    /// `handled` in any order; `command_sizes` as counted over the events
    /// that will be written.
    pub fn new(mut handled: Vec<Recorded>, command_sizes: HashMap<u64, usize>) -> Self {
        handled.sort_by_key(|r| (r.position, r.order));
        StepWriter {
            handled: handled.into(),
            command_sizes,
            current_command: None,
        }
    }

    /// The steps up to and including `event`.
    pub fn event(
        &mut self,
        event: Envelope,
        command: Option<u64>,
        each: &mut dyn FnMut(Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        while let Some(record) = self.handled.front().filter(|r| r.position < event.seq) {
            each(handled_step(record))?;
            self.handled.pop_front();
        }
        if command.is_some() && command != self.current_command {
            if let Some(&events) = command.and_then(|c| self.command_sizes.get(&c)) {
                if events > 1 {
                    each(Step::Command { events })?;
                }
            }
        }
        self.current_command = command;
        each(Step::Event(event))
    }

    /// The handling records after the last event.
    pub fn finish(
        mut self,
        each: &mut dyn FnMut(Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        while let Some(record) = self.handled.pop_front() {
            each(handled_step(&record))?;
        }
        Ok(())
    }
}

fn handled_step(record: &Recorded) -> Step {
    Step::Handled {
        event: record.event,
        component: record.component,
    }
}

/// Why a step cannot be taken. Nothing the replay did should be kept.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The step is not what pi7 would have done here.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// How many sales orders a replay holds in memory, changed by deliveries,
/// before it writes them: a run of deliveries to many orders (an export of
/// a bulk submit has the handling of every order after all the requests)
/// would hold them all. A run to one order still writes it once.
const SAGAS_HELD: usize = 1000;

/// Runs steps on a store, checking each against what pi7 itself does.
pub struct Replay<'h> {
    handlers: &'h Handlers,
    /// The script says where every delivery was handled. Without that (an
    /// older export, or `pi7 events --json`), every delivery pending before
    /// an event that needs it is handled first, as soon as it could have
    /// been.
    exact: bool,
    /// What the store published here that the script has not shown yet.
    expected: VecDeque<Envelope>,
    /// Command events still to come of the command that the last command
    /// record announced.
    command_left: usize,
    /// Events this replay appended, and events the store already had.
    pub appended: u64,
    pub present: u64,
    /// Workflow log lines of what was carried out.
    pub log: Vec<LogLine>,
    /// The sales orders deliveries changed, not saved yet: a long run of
    /// deliveries to one order reads and writes it once.
    sagas: Sagas,
}

impl<'h> Replay<'h> {
    pub fn new(handlers: &'h Handlers, exact: bool) -> Self {
        Replay {
            handlers,
            exact,
            expected: VecDeque::new(),
            command_left: 0,
            appended: 0,
            present: 0,
            log: Vec::new(),
            sagas: Sagas::default(),
        }
    }

    /// Writes what deliveries changed and keeps in memory. [`finish`]
    /// does; a caller that stops before the end must, before it commits.
    ///
    /// [`finish`]: Self::finish
    pub fn save(&mut self, tx: &mut dyn Tx) -> Result<(), ReplayError> {
        Ok(std::mem::take(&mut self.sagas).save(tx)?)
    }

    pub fn step(&mut self, tx: &mut dyn Tx, step: &Step) -> Result<(), ReplayError> {
        match step {
            Step::Command { events } => {
                self.no_gap(None)?;
                tx.start_command();
                self.command_left = *events;
                Ok(())
            }
            Step::Handled { event, component } => self.handled(tx, *event, *component),
            Step::Event(event) => self.event(tx, event),
        }
    }

    /// After the last step: saves what is unsaved; what the store
    /// published must all have been shown, when the script claims to be
    /// exact.
    pub fn finish(&mut self, tx: &mut dyn Tx) -> Result<(), ReplayError> {
        self.save(tx)?;
        if !self.exact {
            return Ok(());
        }
        match self.expected.front() {
            Some(missing) => Err(ReplayError::Refused(format!(
                "the log ends before event {} ({}), which pi7 publishes at its end",
                missing.id, missing.topic
            ))),
            None => Ok(()),
        }
    }

    /// Nothing the store published may be skipped by the script.
    fn no_gap(&self, before: Option<&str>) -> Result<(), ReplayError> {
        match self.expected.front() {
            Some(missing) => Err(ReplayError::Refused(format!(
                "event {} ({}), which pi7 publishes here, is missing{}",
                missing.id,
                missing.topic,
                before.map(|b| format!(" before {b}")).unwrap_or_default()
            ))),
            None => Ok(()),
        }
    }

    fn handled(
        &mut self,
        tx: &mut dyn Tx,
        event_id: Uuid,
        component: Component,
    ) -> Result<(), ReplayError> {
        let Some(event) = tx.event_by_id(event_id)? else {
            return Err(ReplayError::Refused(format!(
                "the delivery of event {event_id} to {component} was handled before the event is in the log"
            )));
        };
        let Some(delivery) = tx.delivery(event.seq, component)? else {
            return Err(ReplayError::Refused(format!(
                "event {event_id} ({}) is not delivered to {component}",
                event.topic
            )));
        };
        if delivery.status != DeliveryStatus::Pending {
            // Handled already: here by the command that published it (an
            // amendment), or in this database before the import.
            return Ok(());
        }
        self.no_gap(Some(&format!(
            "the delivery of event {event_id} to {component}"
        )))?;
        self.deliver(tx, &delivery)
    }

    fn deliver(
        &mut self,
        tx: &mut dyn Tx,
        delivery: &crate::store::Delivery,
    ) -> Result<(), ReplayError> {
        let report = deliver_with(tx, &mut self.sagas, delivery, self.handlers)?;
        if self.sagas.held() >= SAGAS_HELD {
            self.save(tx)?;
        }
        if let Handled::Failed { error, .. } = &report.result {
            return Err(ReplayError::Refused(format!(
                "delivering event {} to {} fails: {error}",
                delivery.seq, delivery.component
            )));
        }
        self.log.extend(report.log);
        self.expected.extend(report.published);
        Ok(())
    }

    fn event(&mut self, tx: &mut dyn Tx, event: &Envelope) -> Result<(), ReplayError> {
        if self.expected.is_empty() {
            if let Some(existing) = tx.event_by_id(event.id)? {
                if same_event(&existing, event) {
                    self.present += 1;
                    self.command_left = self.command_left.saturating_sub(1);
                    return Ok(());
                }
                return Err(ReplayError::Refused(format!(
                    "event {} is already event {} of the log, with different contents ({})",
                    event.id,
                    existing.seq,
                    difference(&existing, event)
                )));
            }
            match event.causation_id {
                Some(cause) => {
                    if !self.exact {
                        self.deliver_cause(tx, event, cause)?;
                    }
                    if self.expected.is_empty() {
                        return Err(ReplayError::Refused(format!(
                            "event {} ({}) claims that handling event {cause} published it, but pi7's handlers publish no such event here",
                            event.id, event.topic
                        )));
                    }
                }
                None => self.command(tx, event)?,
            }
        }
        let Some(derived) = self.expected.pop_front() else {
            unreachable!("an event is expected here: it was checked above");
        };
        if derived.id != event.id {
            return Err(ReplayError::Refused(format!(
                "event {} ({}) comes where pi7 publishes event {} ({})",
                event.id, event.topic, derived.id, derived.topic
            )));
        }
        if !same_event(&derived, event) {
            return Err(ReplayError::Refused(format!(
                "event {} ({}) is not what pi7 publishes here: {}",
                event.id,
                event.topic,
                difference(&derived, event)
            )));
        }
        self.appended += 1;
        Ok(())
    }

    /// A script without handling records: the delivery whose handling
    /// published `event` is handled where the event stands, which is where
    /// the log that wrote it handled it.
    fn deliver_cause(
        &mut self,
        tx: &mut dyn Tx,
        event: &Envelope,
        cause: Uuid,
    ) -> Result<(), ReplayError> {
        let component = match event.source {
            Source::SalesOrder => Component::SalesOrder,
            Source::Reservation => Component::Reservation,
            Source::Web => return Ok(()),
        };
        let Some(delivered) = tx.event_by_id(cause)? else {
            return Ok(());
        };
        match tx.delivery(delivered.seq, component)? {
            Some(delivery) if delivery.status == DeliveryStatus::Pending => {
                self.deliver(tx, &delivery)
            }
            _ => Ok(()),
        }
    }

    /// A script without handling records: what the process has pending,
    /// oldest first, as a command given without `--hold` finds it.
    fn settle_process(&mut self, tx: &mut dyn Tx, process_id: Uuid) -> Result<bool, ReplayError> {
        let filter = DeliveryFilter {
            process_id: Some(process_id),
            ..DeliveryFilter::default()
        };
        let mut delivered = false;
        while let Some(delivery) = tx.next_pending(Pick::First, &filter)? {
            self.deliver(tx, &delivery)?;
            delivered = true;
        }
        Ok(delivered)
    }

    fn command(&mut self, tx: &mut dyn Tx, event: &Envelope) -> Result<(), ReplayError> {
        let refused = |why: String| {
            ReplayError::Refused(format!(
                "event {} ({}) is not a command pi7 takes here: {why}",
                event.id, event.topic
            ))
        };
        let command = Command::from_event(event).map_err(refused)?;
        if self.command_left == 0 {
            tx.start_command();
        } else {
            self.command_left -= 1;
        }
        let mut attempt = self.execute(tx, event, &command);
        // Without handling records, a command may come before the
        // deliveries it needed are handled here (the reservation it
        // confirms is not made yet): they were handled before it.
        if !self.exact {
            if let Err(Outcome::NotReady(_)) = &attempt {
                if self.settle_process(tx, event.process_id)? {
                    self.no_gap(Some(&format!("event {}", event.id)))?;
                    attempt = self.execute(tx, event, &command);
                }
            }
        }
        match attempt {
            Ok(()) => Ok(()),
            Err(Outcome::NotReady(refusal) | Outcome::Refused(refusal)) => {
                Err(refused(self.conflict(tx, event, &command, refusal)))
            }
            Err(Outcome::Failed(e)) => Err(e),
        }
    }

    fn execute(
        &mut self,
        tx: &mut dyn Tx,
        event: &Envelope,
        command: &Command,
    ) -> Result<(), Outcome> {
        // Commands read the orders they act on from the store.
        self.save(tx).map_err(Outcome::Failed)?;
        let acted = operations::execute(
            tx,
            event.process_id,
            command,
            event.id,
            event.time,
            self.handlers,
        )
        .map_err(|e| match e.downcast::<Refused>() {
            Ok(
                refusal @ (Refused::NoReservation(_)
                | Refused::NoOrder(_)
                | Refused::Pending(_)
                | Refused::Saga(crate::domain::saga::Refusal::NotRequested(_))),
            ) => Outcome::NotReady(refusal),
            Ok(refusal) => Outcome::Refused(refusal),
            Err(e) => Outcome::Failed(match e.downcast::<StoreError>() {
                Ok(storage) => ReplayError::Storage(storage),
                Err(e) => ReplayError::Refused(format!("{e:#}")),
            }),
        })?;
        self.log.extend(acted.log);
        self.expected.extend(acted.published);
        Ok(())
    }

    /// The refusal, naming the event of the log it conflicts with where
    /// there is one.
    fn conflict(
        &self,
        tx: &mut dyn Tx,
        event: &Envelope,
        command: &Command,
        refusal: Refused,
    ) -> String {
        let subject = match command {
            Command::Confirm { reservation } | Command::Reject { reservation, .. } => {
                Some(*reservation)
            }
            _ => None,
        };
        let last = tx.events_of(event.process_id).ok().and_then(|events| {
            events.into_iter().rev().find(|e| match subject {
                Some(reservation) => {
                    e.payload
                        .pointer("/reservation/_id")
                        .and_then(|v| v.as_str())
                        == Some(reservation.to_string().as_str())
                }
                None => true,
            })
        });
        match last {
            Some(other) => format!("{refusal} (after event {}, {})", other.id, other.topic),
            None => refusal.to_string(),
        }
    }
}

/// The same event, wherever it is in its log.
pub fn same_event(a: &Envelope, b: &Envelope) -> bool {
    a.id == b.id
        && a.topic == b.topic
        && a.process_id == b.process_id
        && a.causation_id == b.causation_id
        && a.source == b.source
        && a.time == b.time
        && a.payload == b.payload
}

/// The first field in which `found` differs from `expected`, for a message.
pub fn difference(expected: &Envelope, found: &Envelope) -> String {
    let field = |name: &str, e: String, f: String| format!("{name} is {f}, pi7 has {e}");
    if expected.topic != found.topic {
        return field("topic", expected.topic.to_string(), found.topic.to_string());
    }
    if expected.process_id != found.process_id {
        return field(
            "processId",
            expected.process_id.to_string(),
            found.process_id.to_string(),
        );
    }
    if expected.causation_id != found.causation_id {
        let show = |c: Option<Uuid>| c.map_or("null".to_string(), |c| c.to_string());
        return field(
            "causationId",
            show(expected.causation_id),
            show(found.causation_id),
        );
    }
    if expected.source != found.source {
        return field(
            "source",
            expected.source.as_str().into(),
            found.source.as_str().into(),
        );
    }
    if expected.time != found.time {
        return field("time", expected.time.to_string(), found.time.to_string());
    }
    match first_difference("/payload", &expected.payload, &found.payload) {
        Some((path, e, f)) => field(&path, e, f),
        None => "the same".into(),
    }
}

fn first_difference(
    path: &str,
    expected: &serde_json::Value,
    found: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    if expected == found {
        return None;
    }
    let absent = || "absent".to_string();
    match (expected, found) {
        (Value::Object(e), Value::Object(f)) => {
            for (key, value) in e {
                let here = format!("{path}/{key}");
                match f.get(key) {
                    Some(other) => {
                        if let Some(d) = first_difference(&here, value, other) {
                            return Some(d);
                        }
                    }
                    None => return Some((here, value.to_string(), absent())),
                }
            }
            f.iter()
                .find(|(key, _)| !e.contains_key(*key))
                .map(|(key, value)| (format!("{path}/{key}"), absent(), value.to_string()))
        }
        (Value::Array(e), Value::Array(f)) if e.len() == f.len() => e
            .iter()
            .zip(f)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(&format!("{path}/{i}"), a, b)),
        _ => Some((path.to_string(), expected.to_string(), found.to_string())),
    }
}

/// How carrying out a command went wrong.
enum Outcome {
    /// What it needs is not there yet (the request is not delivered).
    NotReady(Refused),
    Refused(Refused),
    Failed(ReplayError),
}

/// A log that can be read as steps: a store's own.
pub trait LogSource {
    /// Calls `each` with the steps of the log (only `process_id`'s, when
    /// given), in order, without holding the log in memory.
    fn for_each_step(
        &self,
        process_id: Option<Uuid>,
        each: &mut dyn FnMut(Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()>;
}

/// Documents rebuilt from the log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rebuilt {
    /// By processId.
    pub sales_orders: std::collections::BTreeMap<Uuid, crate::domain::SalesOrderDoc>,
    /// By id.
    pub reservations: std::collections::BTreeMap<Uuid, crate::domain::ReservationDoc>,
    /// Events replayed.
    pub events: u64,
}

/// Replays a log in memory with the verified replay, up to and including
/// event `until` and the deliveries handled before the next one; calls
/// `progress` with the seq of every event replayed. A log that its own
/// replay refuses is not a log pi7 wrote (or `import` would take): the
/// error says where and why.
pub fn rebuild(
    log: &dyn LogSource,
    until: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Rebuilt, String> {
    let mut store = crate::store::MemoryStore::new();
    let handlers = Handlers::REAL;
    let mut replay = Replay::new(&handlers, true);
    let mut events = 0u64;
    let mut past_the_end = false;
    let outcome = log.for_each_step(None, &mut |step| {
        if let Step::Event(event) = &step {
            if event.seq > until {
                past_the_end = true;
                return Err(PastTheEnd.into());
            }
        }
        let seq = match &step {
            Step::Event(event) => Some(event.seq),
            _ => None,
        };
        replay.step(&mut store, &step).map_err(|e| match seq {
            Some(seq) => anyhow::anyhow!("event {seq}: {e}"),
            None => anyhow::Error::new(e),
        })?;
        if let Some(seq) = seq {
            events += 1;
            progress(seq);
        }
        Ok(())
    });
    match outcome {
        Err(e) if !e.is::<PastTheEnd>() => return Err(format!("{e:#}")),
        _ => {}
    }
    if past_the_end {
        replay.save(&mut store).map_err(|e| e.to_string())?;
    } else {
        replay.finish(&mut store).map_err(|e| e.to_string())?;
    }
    Ok(Rebuilt {
        sales_orders: store.sales_orders,
        reservations: store.reservations,
        events,
    })
}

/// Stops reading a log once a replay is past the events asked for.
#[derive(Debug, thiserror::Error)]
#[error("past the events asked for")]
struct PastTheEnd;
