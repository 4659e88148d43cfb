//! What commands do to the system, as units of work over any store: the
//! command line runs them on SQLite, the checker and the crash enumeration
//! in memory. Each runs inside the caller's transaction and returns what it
//! did; none reads a clock or draws an id (the caller passes them in).

use uuid::Uuid;

use crate::dispatch::{deliver, publish, Handlers};
use crate::domain::event::SalesOrderRequested;
use crate::domain::order::OrderRequest;
use crate::domain::{
    log_line, reservation, saga, Component, Envelope, LogLine, NewEvent, Outcome, Source, Topic,
};
use crate::store::{DeliveryFilter, StoreError, Tx};

/// What a command did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Acted {
    /// False when it found nothing to do (already confirmed, say).
    pub changed: bool,
    pub published: Vec<Envelope>,
    pub log: Vec<LogLine>,
}

impl Acted {
    /// Adds what another command of the same unit of work did.
    pub fn absorb(&mut self, other: Acted) {
        self.changed |= other.changed;
        self.published.extend(other.published);
        self.log.extend(other.log);
    }
}

/// Why a command cannot be carried out. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("there is no reservation {0}")]
    NoReservation(Uuid),
    #[error("process {0} has no sales order yet; `pi7 dispatch` delivers its request")]
    NoOrder(Uuid),
    #[error(transparent)]
    Saga(#[from] saga::Refusal),
    #[error("process {0} has deliveries still pending; `pi7 dispatch` delivers them before it can be amended")]
    Pending(Uuid),
    #[error("process {0} already exists: a new order needs a new processId")]
    ProcessExists(Uuid),
    #[error("reservation {reservation} belongs to process {owner}, not to process {process}")]
    OtherProcess {
        reservation: Uuid,
        owner: Uuid,
        process: Uuid,
    },
    #[error("amendment {found} of process {process} comes where amendment {expected} is next")]
    Revision {
        process: Uuid,
        expected: u64,
        found: u32,
    },
    #[error("{0}, so the command changes nothing")]
    Unchanged(String),
}

/// Carries out a command that the log records, with the id and time its
/// event has there, exactly as the command line carried it out: the same
/// functions, after the checks that the command line makes by how it finds
/// things (a reservation's process is the one the event names; a new order
/// is a new process). A command that would change nothing is refused: no
/// such event would have been published.
pub fn execute(
    tx: &mut dyn Tx,
    process_id: Uuid,
    command: &crate::domain::command::Command,
    event_id: Uuid,
    time: i64,
    handlers: &Handlers,
) -> anyhow::Result<Acted> {
    use crate::domain::command::Command;
    let acted = match command {
        Command::Submit { order } => {
            if tx.sales_order(process_id)?.is_some() || !tx.reservations(process_id)?.is_empty() {
                return Err(Refused::ProcessExists(process_id).into());
            }
            submit(tx, order, process_id, event_id, time)?
        }
        Command::Amend { order, revision } => {
            let doc = tx
                .sales_order(process_id)?
                .ok_or(Refused::NoOrder(process_id))?;
            let expected = u64::from(doc.object.revision) + 1;
            if u64::from(*revision) != expected {
                return Err(Refused::Revision {
                    process: process_id,
                    expected,
                    found: *revision,
                }
                .into());
            }
            amend(tx, process_id, order, event_id, time, handlers)?
        }
        Command::Confirm { reservation } => {
            owned(tx, *reservation, process_id)?;
            confirm(tx, *reservation, event_id, time)?
        }
        Command::Reject {
            reservation,
            reason,
        } => {
            owned(tx, *reservation, process_id)?;
            reject(tx, *reservation, reason, event_id, time)?
        }
        Command::Cancel { reason } => withdraw(tx, process_id, reason, time)?,
    };
    if !acted.changed {
        let why = match command {
            Command::Confirm { reservation } | Command::Reject { reservation, .. } => {
                let status = tx
                    .reservation(*reservation)?
                    .map(|r| r.object.status.to_string())
                    .unwrap_or_default();
                format!("reservation {reservation} is already {status}")
            }
            _ => format!("sales order of process {process_id} is already cancelled"),
        };
        return Err(Refused::Unchanged(why).into());
    }
    Ok(acted)
}

/// The reservation exists and belongs to `process_id`.
fn owned(tx: &mut dyn Tx, reservation: Uuid, process_id: Uuid) -> anyhow::Result<()> {
    let doc = tx
        .reservation(reservation)?
        .ok_or(Refused::NoReservation(reservation))?;
    if doc.process_id != process_id {
        return Err(Refused::OtherProcess {
            reservation,
            owner: doc.process_id,
            process: process_id,
        }
        .into());
    }
    Ok(())
}

/// A customer's order enters as `salesorder/request`.
pub fn submit(
    tx: &mut dyn Tx,
    order: &OrderRequest,
    process_id: Uuid,
    event_id: Uuid,
    now: i64,
) -> Result<Acted, StoreError> {
    let mut log = log_line::begin([
        LogLine::WebReceivedRequest,
        LogLine::AssignedProcess(process_id),
        LogLine::PublishingRequest,
    ]);
    let published = publish(tx, request(order, process_id, 1, event_id, now), &mut log)?;
    Ok(Acted {
        changed: true,
        published: published.into_iter().collect(),
        log,
    })
}

fn request(
    order: &OrderRequest,
    process_id: Uuid,
    revision: u32,
    event_id: Uuid,
    now: i64,
) -> NewEvent {
    let payload = SalesOrderRequested {
        process_id,
        salesorder: order.clone(),
        revision,
    };
    NewEvent {
        id: event_id,
        topic: Topic::SalesOrderRequest,
        process_id,
        causation_id: None,
        source: Source::Web,
        time: now,
        payload: serde_json::to_value(payload).expect("a payload always serializes"),
    }
}

/// A person confirms a reservation.
pub fn confirm(tx: &mut dyn Tx, id: Uuid, event_id: Uuid, now: i64) -> anyhow::Result<Acted> {
    let doc = tx.reservation(id)?.ok_or(Refused::NoReservation(id))?;
    let outcome = reservation::confirm(&doc, event_id, now);
    Ok(save_reservations(tx, outcome)?)
}

/// A person rejects a reservation (or it expired).
pub fn reject(
    tx: &mut dyn Tx,
    id: Uuid,
    reason: &str,
    event_id: Uuid,
    now: i64,
) -> anyhow::Result<Acted> {
    let doc = tx.reservation(id)?.ok_or(Refused::NoReservation(id))?;
    let outcome = reservation::reject(&doc, reason, event_id, now);
    Ok(save_reservations(tx, outcome)?)
}

fn save_reservations(
    tx: &mut dyn Tx,
    outcome: Outcome<crate::domain::ReservationDoc>,
) -> Result<Acted, StoreError> {
    for doc in &outcome.changed {
        tx.save_reservation(doc)?;
    }
    publish_all(tx, outcome)
}

/// Publishes what a command decided, once its documents are saved.
fn publish_all<D>(tx: &mut dyn Tx, outcome: Outcome<D>) -> Result<Acted, StoreError> {
    let mut log = outcome.log;
    let mut published = Vec::new();
    for event in outcome.published {
        published.extend(publish(tx, event, &mut log)?);
    }
    Ok(Acted {
        changed: !outcome.changed.is_empty(),
        published,
        log,
    })
}

/// The customer withdraws a pending order.
pub fn withdraw(
    tx: &mut dyn Tx,
    process_id: Uuid,
    reason: &str,
    now: i64,
) -> anyhow::Result<Acted> {
    let doc = tx
        .sales_order(process_id)?
        .ok_or(Refused::NoOrder(process_id))?;
    let outcome = saga::withdraw(&doc, reason, now).map_err(Refused::from)?;
    for doc in &outcome.changed {
        tx.save_sales_order(doc)?;
    }
    Ok(publish_all(tx, outcome)?)
}

/// The customer submits a changed order for a pending process. The new
/// request is delivered to the saga in the same transaction, so that no
/// confirmation can complete the order by its old lines after the customer
/// changed them; the reservation component gets it as usual.
pub fn amend(
    tx: &mut dyn Tx,
    process_id: Uuid,
    order: &OrderRequest,
    event_id: Uuid,
    now: i64,
    handlers: &Handlers,
) -> anyhow::Result<Acted> {
    let doc = tx
        .sales_order(process_id)?
        .ok_or(Refused::NoOrder(process_id))?;
    saga::check_amendment(&doc, order).map_err(Refused::from)?;
    let of_process = DeliveryFilter {
        process_id: Some(process_id),
        ..DeliveryFilter::default()
    };
    if !tx.pending(&of_process)?.is_empty() {
        return Err(Refused::Pending(process_id).into());
    }
    let mut log = log_line::begin([
        LogLine::WebReceivedRequest,
        LogLine::AmendingProcess(process_id),
        LogLine::PublishingRequest,
    ]);
    let revision = doc
        .object
        .revision
        .checked_add(1)
        .ok_or(Refused::Revision {
            process: process_id,
            expected: u64::from(doc.object.revision) + 1,
            found: u32::MAX,
        })?;
    let mut published: Vec<Envelope> = publish(
        tx,
        request(order, process_id, revision, event_id, now),
        &mut log,
    )?
    .into_iter()
    .collect();
    let to_saga = DeliveryFilter {
        component: Some(Component::SalesOrder),
        process_id: Some(process_id),
        exclude: Vec::new(),
    };
    for delivery in tx.pending(&to_saga)? {
        let report = deliver(tx, &delivery, handlers)?;
        log.extend(report.log);
        published.extend(report.published);
    }
    Ok(Acted {
        changed: true,
        published,
        log,
    })
}
