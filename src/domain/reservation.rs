//! The reservation component: one reservation per order line, confirmed or
//! rejected by a person, released when its order is cancelled or an
//! amendment removes its line.
//!
//! `handle` reacts to delivered events; `confirm` and `reject` are the
//! commands a person gives. All are pure: they return what changes and what
//! is published.

use uuid::Uuid;

use super::event::{
    ReservationConfirmed, ReservationRejected, ReservationReleased, SalesOrderCancelled,
    SalesOrderRequested,
};
use super::log_line::begin;
use super::{ids, Envelope, LogLine, NewEvent, Outcome, PayloadError, Source, Topic};
use super::{HistoryEntry, Reservation, ReservationDoc, ReservationStatus};

/// Handles an event delivered to the reservation component, given the
/// reservations that already exist for the event's process.
pub fn handle(
    existing: &[ReservationDoc],
    event: &Envelope,
) -> Result<Outcome<ReservationDoc>, PayloadError> {
    match event.topic {
        Topic::SalesOrderRequest => Ok(make_reservations(existing, event, &event.decode()?)),
        Topic::SalesOrderCancel => Ok(release_all(existing, event, &event.decode()?)),
        Topic::ReservationConfirm
        | Topic::SalesOrderConfirm
        | Topic::ReservationReject
        | Topic::ReservationRelease => Ok(Outcome::nothing(vec![LogLine::ReservationNotForMe(
            event.topic,
        )])),
    }
}

/// One reservation per requested line that has none yet; with an
/// amendment, the reservations of lines it removed are released.
fn make_reservations(
    existing: &[ReservationDoc],
    event: &Envelope,
    request: &SalesOrderRequested,
) -> Outcome<ReservationDoc> {
    let mut log = begin([LogLine::ReservationReceived(event.topic)]);
    if let Some(newer) = existing
        .iter()
        .find(|r| r.object.revision > request.revision)
    {
        log.push(LogLine::OlderRevision {
            here: newer.object.revision,
            older: request.revision,
        });
        return Outcome::nothing(log);
    }
    let mut changed = Vec::new();
    let mut published = Vec::new();
    let lines = &request.salesorder.reservations;
    log.reserve(2 * lines.len());
    for line in lines {
        let id = ids::reservation_id(event.process_id, line.id);
        if existing.iter().any(|doc| doc.id == id) {
            continue;
        }
        log.push(LogLine::Making(line.reserved.clone()));
        log.push(LogLine::ReservationPersisted(id));
        changed.push(unconfirmed(
            id,
            event,
            line.id,
            &line.reserved,
            request.revision,
        ));
    }
    for doc in existing {
        let removed = lines.iter().all(|l| l.id != doc.object.id);
        let mut updated = if removed && is_releasable(doc) {
            let (released, event) = release(doc, "removed from the order by an amendment", event);
            log.push(LogLine::ReleasedLineRemoved(doc.id));
            published.push(event);
            released
        } else {
            doc.clone()
        };
        // Every reservation of a process carries its latest revision, so a
        // late copy of an older request is recognised whatever it names.
        updated.object.revision = request.revision;
        if updated != *doc {
            changed.push(updated);
        }
    }
    if changed.is_empty() {
        log.push(LogLine::EveryLineReserved);
    }
    Outcome {
        changed,
        published,
        log,
    }
}

/// Compensation: every reservation of a cancelled order's lines that is not
/// rejected or released already is released. Lines the cancellation names
/// that have no reservation yet get one, released from the start, so a
/// request that arrives late makes nothing.
fn release_all(
    existing: &[ReservationDoc],
    event: &Envelope,
    cancel: &SalesOrderCancelled,
) -> Outcome<ReservationDoc> {
    let mut log = begin([LogLine::ReservationReceived(event.topic)]);
    let reason = format!("order cancelled: {}", cancel.reason);
    let mut changed = Vec::new();
    let mut published = Vec::new();
    // The cancelled order's lines; a reservation of a line that an
    // amendment removed is released by that amendment's request instead, so
    // that its reason does not depend on which came first.
    let lines = &cancel.salesorder.reservations;
    let of_order = |doc: &&ReservationDoc| {
        lines.is_empty() || lines.iter().any(|l| l.reservation_id == doc.id)
    };
    for doc in existing
        .iter()
        .filter(|d| is_releasable(d))
        .filter(of_order)
    {
        let (released, event) = release(doc, &reason, event);
        log.push(LogLine::Released(doc.id));
        changed.push(released);
        published.push(event);
    }
    for line in &cancel.salesorder.reservations {
        if existing.iter().any(|d| d.id == line.reservation_id) {
            continue;
        }
        // As the request would have made it, so that the documents do not
        // depend on whether the request or the cancellation came first.
        let never_made = unconfirmed(
            line.reservation_id,
            event,
            line.id,
            &line.reserved,
            cancel.revision,
        );
        let (released, event) = release(&never_made, &reason, event);
        log.push(LogLine::ReleasedBeforeMade(line.reservation_id));
        changed.push(released);
        published.push(event);
    }
    if changed.is_empty() {
        log.push(LogLine::NothingToRelease);
    }
    Outcome {
        changed,
        published,
        log,
    }
}

/// A new reservation for line `line_id`, made while handling `event`.
fn unconfirmed(
    id: Uuid,
    event: &Envelope,
    line_id: i64,
    reserved: &str,
    revision: u32,
) -> ReservationDoc {
    ReservationDoc {
        id,
        process_id: event.process_id,
        object: Reservation {
            id: line_id,
            reserved: reserved.to_string(),
            status: ReservationStatus::Unconfirmed,
            history: vec![HistoryEntry {
                status: ReservationStatus::Unconfirmed,
                time: event.time,
            }],
            reason: None,
            revision,
        },
    }
}

fn is_releasable(doc: &ReservationDoc) -> bool {
    super::invariants::is_open(doc.object.status)
}

/// The reservation released while handling `cause`, and the
/// `reservation/release` that says so (once per reservation, whatever
/// caused it).
fn release(doc: &ReservationDoc, reason: &str, cause: &Envelope) -> (ReservationDoc, NewEvent) {
    let mut released = doc.clone();
    released.object.status = ReservationStatus::Released;
    released.object.reason = Some(reason.to_string());
    released.object.history.push(HistoryEntry {
        status: ReservationStatus::Released,
        time: cause.time,
    });
    let payload = ReservationReleased {
        process_id: doc.process_id,
        reservation: released.as_line(),
        reason: reason.to_string(),
    };
    let event = NewEvent {
        id: ids::fact_event_id(doc.id, Topic::ReservationRelease),
        topic: Topic::ReservationRelease,
        process_id: doc.process_id,
        causation_id: Some(cause.id),
        source: Source::Reservation,
        time: cause.time,
        payload: serde_json::to_value(payload).expect("a payload always serializes"),
    };
    (released, event)
}

/// Confirms a reservation: unconfirmed → confirmed, history appended,
/// `reservation/confirm` published with `event_id` at `now`. A reservation
/// that is not unconfirmed any more changes nothing and publishes nothing.
pub fn confirm(doc: &ReservationDoc, event_id: Uuid, now: i64) -> Outcome<ReservationDoc> {
    decide(doc, ReservationStatus::Confirmed, None, event_id, now)
}

/// Rejects a reservation: unconfirmed → rejected, with `reason`, and
/// `reservation/reject` published, which cancels its order. A reservation
/// that is not unconfirmed any more changes nothing and publishes nothing.
pub fn reject(
    doc: &ReservationDoc,
    reason: &str,
    event_id: Uuid,
    now: i64,
) -> Outcome<ReservationDoc> {
    decide(
        doc,
        ReservationStatus::Rejected,
        Some(reason),
        event_id,
        now,
    )
}

fn decide(
    doc: &ReservationDoc,
    to: ReservationStatus,
    reason: Option<&str>,
    event_id: Uuid,
    now: i64,
) -> Outcome<ReservationDoc> {
    let mut log = begin([LogLine::ReservationLoaded(doc.id)]);
    if doc.object.status != ReservationStatus::Unconfirmed {
        log.push(LogLine::AlreadyDecided(doc.id, doc.object.status));
        return Outcome::nothing(log);
    }
    log.push(match to {
        ReservationStatus::Rejected => LogLine::Rejecting(doc.id),
        _ => LogLine::Confirming(doc.id),
    });
    log.push(LogLine::ReservationPersisted(doc.id));
    let mut decided = doc.clone();
    decided.object.status = to;
    decided.object.reason = reason.map(str::to_string);
    decided.object.history.push(HistoryEntry {
        status: to,
        time: now,
    });
    let (topic, payload) = match reason {
        Some(reason) => (
            Topic::ReservationReject,
            serde_json::to_value(ReservationRejected {
                process_id: doc.process_id,
                reservation: decided.as_line(),
                reason: reason.to_string(),
            }),
        ),
        None => (
            Topic::ReservationConfirm,
            serde_json::to_value(ReservationConfirmed {
                process_id: doc.process_id,
                reservation: decided.as_line(),
            }),
        ),
    };
    let published = NewEvent {
        id: event_id,
        topic,
        process_id: doc.process_id,
        causation_id: None,
        source: Source::Reservation,
        time: now,
        payload: payload.expect("a payload always serializes"),
    };
    Outcome {
        changed: vec![decided],
        published: vec![published],
        log,
    }
}
