//! The sales-order saga: collects what happens to the reservations of one
//! process and decides the order's fate, exactly once: `salesorder/confirm`
//! when the customer is known and every line is confirmed, or
//! `salesorder/cancel` when a line is rejected or the customer withdraws.
//!
//! Events may arrive in any order and any number of times. The saga copes by
//! keeping everything it has learnt in its document (the latest request's
//! lines, and what happened to reservations that are not lines), by keeping
//! for each reservation the furthest status it has heard of (a reservation
//! only moves forward: unconfirmed, confirmed, released; or rejected), and by
//! deriving the order's status from that knowledge alone. Applying an event
//! whose effect is already in the document changes nothing and publishes
//! nothing.

use super::event::{
    ConfirmedOrder, ReservationConfirmed, ReservationRejected, ReservationReleased,
    SalesOrderCancelled, SalesOrderConfirmed, SalesOrderRequested,
};
use super::log_line::begin;
use super::{ids, invariants, Envelope, LogLine, NewEvent, Outcome, PayloadError, Source, Topic};
use super::{OrderLine, OrderStatus, ReservationStatus, SalesOrder, SalesOrderDoc};

/// Handles an event delivered to the saga, given the process's sales-order
/// document if there is one yet: [`apply`] on a copy of it.
pub fn handle(
    state: Option<&SalesOrderDoc>,
    event: &Envelope,
) -> Result<Outcome<SalesOrderDoc>, PayloadError> {
    let mut doc = state.cloned();
    let applied = apply(&mut doc, event)?;
    Ok(Outcome {
        changed: doc.filter(|_| applied.changed).into_iter().collect(),
        published: applied.published,
        log: applied.log,
    })
}

/// What applying an event to the saga's document did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// Whether the document changed (or was made).
    pub changed: bool,
    pub published: Vec<NewEvent>,
    pub log: Vec<LogLine>,
}

/// What an event tells the saga, read before anything changes.
enum News {
    Request(SalesOrderRequested),
    Reservation(OrderLine, ReservationStatus),
    Nothing,
}

/// Handles an event delivered to the saga in place: `state` is the
/// process's sales-order document (`None` until there is one) and becomes
/// what handling made of it. An event the saga cannot read is an error and
/// leaves `state` as it was. In place, so that a run of many deliveries to
/// one order costs each its own work, not a copy of the whole order.
pub fn apply(state: &mut Option<SalesOrderDoc>, event: &Envelope) -> Result<Applied, PayloadError> {
    let mut log = begin([LogLine::SalesOrderReceived(event.topic)]);
    let news = match event.topic {
        Topic::SalesOrderRequest => News::Request(event.decode()?),
        Topic::ReservationConfirm => {
            let confirmed: ReservationConfirmed = event.decode()?;
            News::Reservation(confirmed.reservation, ReservationStatus::Confirmed)
        }
        Topic::ReservationReject => {
            let rejected: ReservationRejected = event.decode()?;
            News::Reservation(rejected.reservation, ReservationStatus::Rejected)
        }
        Topic::ReservationRelease => {
            let released: ReservationReleased = event.decode()?;
            News::Reservation(released.reservation, ReservationStatus::Released)
        }
        Topic::SalesOrderConfirm | Topic::SalesOrderCancel => News::Nothing,
    };
    let mut changed = state.is_none();
    if !changed {
        log.push(LogLine::SalesOrderLoaded(event.process_id));
    }
    let doc = state.get_or_insert_with(|| SalesOrderDoc {
        id: ids::sales_order_id(event.process_id),
        process_id: event.process_id,
        object: SalesOrder {
            customer: None,
            status: OrderStatus::Pending,
            reservations: Vec::new(),
            unmatched_confirmations: Vec::new(),
            reason: None,
            withdrawn: None,
            revision: 1,
            tally: Default::default(),
        },
    });
    changed |= match &news {
        News::Request(request) => apply_request(&mut doc.object, request),
        News::Reservation(line, status) => learn(&mut doc.object, line, *status),
        News::Nothing => false,
    };
    let mut decided = Vec::new();
    let (published, decision_changed) = decide(doc, event.id, event.time, &mut decided);
    if !(changed || decision_changed) {
        log.push(LogLine::SalesOrderAlreadyHandled);
        return Ok(Applied {
            changed: false,
            published: Vec::new(),
            log,
        });
    }
    // In the original's order: what it persisted, then what it decided.
    log.push(LogLine::SalesOrderPersisted(doc.id));
    log.extend(decided);
    Ok(Applied {
        changed: true,
        published,
        log,
    })
}

/// Why the saga refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "sales order {0} is confirmed: a confirmed order can be neither cancelled nor amended"
    )]
    Confirmed(uuid::Uuid),
    #[error("sales order {0} is cancelled: a cancelled order cannot be amended")]
    Cancelled(uuid::Uuid),
    #[error(
        "the request of sales order {0} has not been delivered yet; `pi7 dispatch` delivers it"
    )]
    NotRequested(uuid::Uuid),
    #[error("line {id} is {was:?} in the order; to reserve something else, give it a new line id")]
    ChangedLine { id: i64, was: String },
    #[error("line {id} was removed by an earlier amendment and its reservation released; give it a new line id")]
    RemovedLine { id: i64 },
}

/// The customer withdraws: the order is cancelled with `reason` and
/// `salesorder/cancel` is published, so every reservation is released. A
/// confirmed order cannot be withdrawn; a cancelled one stays as it is.
pub fn withdraw(
    doc: &SalesOrderDoc,
    reason: &str,
    now: i64,
) -> Result<Outcome<SalesOrderDoc>, Refusal> {
    let mut log = begin([LogLine::SalesOrderLoaded(doc.process_id)]);
    match doc.object.status {
        OrderStatus::Confirmed => return Err(Refusal::Confirmed(doc.id)),
        OrderStatus::Cancelled => {
            log.push(LogLine::SalesOrderAlreadyCancelled(doc.id));
            return Ok(Outcome::nothing(log));
        }
        OrderStatus::Pending if doc.object.customer.is_none() => {
            return Err(Refusal::NotRequested(doc.id))
        }
        OrderStatus::Pending => {}
    }
    let mut withdrawn = doc.clone();
    withdrawn.object.withdrawn = Some(reason.to_string());
    let published = decide(&mut withdrawn, doc.process_id, now, &mut log)
        .0
        .into_iter()
        .map(|mut event| {
            // The customer's command published it, not a delivery.
            event.causation_id = None;
            event
        })
        .collect();
    log.push(LogLine::SalesOrderPersisted(doc.id));
    Ok(Outcome {
        changed: vec![withdrawn],
        published,
        log,
    })
}

/// Whether the order can take an amendment now.
pub fn can_amend(doc: &SalesOrderDoc) -> Result<(), Refusal> {
    match doc.object.status {
        OrderStatus::Confirmed => Err(Refusal::Confirmed(doc.id)),
        OrderStatus::Cancelled => Err(Refusal::Cancelled(doc.id)),
        OrderStatus::Pending if doc.object.customer.is_none() => Err(Refusal::NotRequested(doc.id)),
        OrderStatus::Pending => Ok(()),
    }
}

/// Whether `request` can amend the order: a line keeps what it reserves
/// (its reservation is made for that), and a removed line's id is not used
/// again (its reservation is released for good).
pub fn check_amendment(
    doc: &SalesOrderDoc,
    request: &super::order::OrderRequest,
) -> Result<(), Refusal> {
    can_amend(doc)?;
    for line in &request.reservations {
        let reservation_id = ids::reservation_id(doc.process_id, line.id);
        if let Some(kept) = doc
            .object
            .reservations
            .iter()
            .find(|l| l.reservation_id == reservation_id)
        {
            if kept.reserved != line.reserved {
                return Err(Refusal::ChangedLine {
                    id: line.id,
                    was: kept.reserved.clone(),
                });
            }
        } else if doc
            .object
            .unmatched_confirmations
            .iter()
            .any(|l| l.reservation_id == reservation_id)
        {
            return Err(Refusal::RemovedLine { id: line.id });
        }
    }
    Ok(())
}

/// Whether `request` is the order as it stands: the same customer and the
/// same lines, in the same order. Amending to it changes nothing.
pub fn amends_nothing(doc: &SalesOrderDoc, request: &super::order::OrderRequest) -> bool {
    doc.object.customer.as_deref() == Some(request.customer.as_str())
        && doc.object.reservations.len() == request.reservations.len()
        && doc
            .object
            .reservations
            .iter()
            .zip(&request.reservations)
            .all(|(line, requested)| line.id == requested.id && line.reserved == requested.reserved)
}

/// Rule 2, with amendments: the lines are the latest request's, in request
/// order, each with the furthest status heard of for its reservation. What
/// was heard of lines a newer request removed is kept as unmatched.
/// Returns whether the order changed. A request is as long as the order,
/// so comparing the whole order costs no more than applying it.
fn apply_request(order: &mut SalesOrder, request: &SalesOrderRequested) -> bool {
    if request.revision < order.revision {
        return false;
    }
    let before = order.clone();
    let mut lines = Vec::with_capacity(request.salesorder.reservations.len());
    for requested in &request.salesorder.reservations {
        let reservation_id = ids::reservation_id(request.process_id, requested.id);
        let mut line = OrderLine {
            id: requested.id,
            reserved: requested.reserved.clone(),
            status: ReservationStatus::Unconfirmed,
            reservation_id,
            reason: None,
        };
        let heard = order
            .reservations
            .iter()
            .chain(&order.unmatched_confirmations)
            .filter(|l| l.reservation_id == reservation_id);
        for known in heard {
            merge(&mut line, known.status, known.reason.as_deref());
        }
        lines.push(line);
    }
    order
        .unmatched_confirmations
        .retain(|u| lines.iter().all(|l| l.reservation_id != u.reservation_id));
    for removed in std::mem::take(&mut order.reservations) {
        let kept = lines
            .iter()
            .any(|l| l.reservation_id == removed.reservation_id);
        if !kept && removed.status != ReservationStatus::Unconfirmed {
            order.unmatched_confirmations.push(removed);
        }
    }
    sort_unmatched(order);
    order.customer = Some(request.salesorder.customer.clone());
    order.reservations = lines;
    order.revision = request.revision;
    order.tally.built = false;
    *order != before
}

/// Rules 3 and 5: what happened to a reservation updates its line, or is
/// kept until a request brings the line (and shown as unmatched if none
/// ever does). Returns whether the order changed.
fn learn(order: &mut SalesOrder, reservation: &OrderLine, status: ReservationStatus) -> bool {
    let reason = reservation.reason.as_deref();
    let tally = tally(order);
    if let Some(&at) = tally.position.get(&reservation.reservation_id) {
        let line = &mut order.reservations[at];
        let was = line.status;
        if !merge(line, status, reason) {
            return false;
        }
        let tally = &mut order.tally;
        let counts = |s| {
            (
                usize::from(s != ReservationStatus::Confirmed),
                usize::from(s == ReservationStatus::Rejected),
            )
        };
        let (before, after) = (counts(was), counts(line.status));
        tally.unconfirmed = tally.unconfirmed + after.0 - before.0;
        tally.rejected = tally.rejected + after.1 - before.1;
        return true;
    }
    if let Some(line) = order
        .unmatched_confirmations
        .iter_mut()
        .find(|l| l.reservation_id == reservation.reservation_id)
    {
        return merge(line, status, reason);
    }
    order.unmatched_confirmations.push(OrderLine {
        status,
        reason: reason.map(str::to_string),
        ..reservation.clone()
    });
    sort_unmatched(order);
    true
}

/// The order's tally, built from its lines if it is not yet.
fn tally(order: &mut SalesOrder) -> &mut super::document::Tally {
    let tally = &mut order.tally;
    if !tally.built {
        tally.position = (order.reservations.iter().enumerate())
            .map(|(at, line)| (line.reservation_id, at))
            .collect();
        let lines = order.reservations.iter();
        tally.unconfirmed = lines
            .clone()
            .filter(|l| l.status != ReservationStatus::Confirmed)
            .count();
        tally.rejected = lines
            .filter(|l| l.status == ReservationStatus::Rejected)
            .count();
        tally.built = true;
    }
    tally
}

/// Keeps the furthest status, and the reason that came with it. Returns
/// whether the line changed.
fn merge(line: &mut OrderLine, status: ReservationStatus, reason: Option<&str>) -> bool {
    if status.rank() > line.status.rank() {
        line.status = status;
        line.reason = reason.map(str::to_string);
        return true;
    }
    false
}

/// Sorted, so the document does not depend on arrival order.
fn sort_unmatched(order: &mut SalesOrder) {
    order
        .unmatched_confirmations
        .sort_by_key(|c| (c.id, c.reservation_id));
}

/// Rule 4 and compensation: the order's status follows from what the saga
/// knows. It leaves `pending` once, for good, and says so once. Returns
/// what it publishes, and whether the order changed.
fn decide(
    doc: &mut SalesOrderDoc,
    cause: uuid::Uuid,
    time: i64,
    log: &mut Vec<LogLine>,
) -> (Vec<NewEvent>, bool) {
    let order = &mut doc.object;
    if order.status != OrderStatus::Pending {
        let mut changed = false;
        if order.status == OrderStatus::Cancelled {
            let reason = cancellation_reason(order);
            changed = reason != order.reason;
            order.reason = reason;
        }
        return (Vec::new(), changed);
    }
    // What `invariants::has_rejected_line` and `is_complete` say, from the
    // tally rather than from every line.
    let requested = invariants::is_requested(order);
    let tally = tally(order);
    let (rejected, complete) = (
        requested && tally.rejected > 0,
        requested && tally.unconfirmed == 0,
    );
    debug_assert_eq!(rejected, invariants::has_rejected_line(order), "tally");
    debug_assert_eq!(complete, invariants::is_complete(order), "tally");
    if order.withdrawn.is_some() || rejected {
        order.status = OrderStatus::Cancelled;
        order.reason = cancellation_reason(order);
        log.push(LogLine::SalesOrderCancelled(
            order.reason.clone().unwrap_or_default(),
        ));
        let payload = SalesOrderCancelled {
            process_id: doc.process_id,
            salesorder: ConfirmedOrder::from_doc(doc),
            reason: doc
                .object
                .withdrawn
                .clone()
                .or_else(|| doc.object.reason.clone())
                .unwrap_or_default(),
            revision: doc.object.revision,
        };
        return (
            vec![fact(doc, Topic::SalesOrderCancel, cause, time, payload)],
            true,
        );
    }
    if complete {
        order.status = OrderStatus::Confirmed;
        log.push(LogLine::SalesOrderConfirmed);
        let payload = SalesOrderConfirmed {
            process_id: doc.process_id,
            salesorder: ConfirmedOrder::from_doc(doc),
        };
        return (
            vec![fact(doc, Topic::SalesOrderConfirm, cause, time, payload)],
            true,
        );
    }
    (Vec::new(), false)
}

/// Derived from the document alone, so it is the same in every order of
/// arrival: the customer's words, or every rejected line's reason.
fn cancellation_reason(order: &SalesOrder) -> Option<String> {
    if let Some(reason) = &order.withdrawn {
        return Some(format!("withdrawn by the customer: {reason}"));
    }
    let rejected: Vec<String> = order
        .reservations
        .iter()
        .filter(|l| l.status == ReservationStatus::Rejected)
        .map(|l| {
            format!(
                "line {} ({}) rejected: {}",
                l.id,
                l.reserved,
                l.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    (!rejected.is_empty()).then(|| rejected.join("; "))
}

/// An event that happens once per process, with an id derived from the
/// process, so that it is the same whichever event led to it.
fn fact<T: serde::Serialize>(
    doc: &SalesOrderDoc,
    topic: Topic,
    cause: uuid::Uuid,
    time: i64,
    payload: T,
) -> NewEvent {
    NewEvent {
        id: ids::fact_event_id(doc.process_id, topic),
        topic,
        process_id: doc.process_id,
        causation_id: Some(cause),
        source: Source::SalesOrder,
        time,
        payload: serde_json::to_value(payload).expect("a payload always serializes"),
    }
}
