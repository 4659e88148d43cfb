//! The reservation component: one reservation per order line, confirmed by
//! a person.
//!
//! `handle` reacts to delivered events; `confirm` is the command a person
//! gives. Both are pure: they return what changes and what is published.

use uuid::Uuid;

use super::event::{ReservationConfirmed, SalesOrderRequested};
use super::{ids, Envelope, NewEvent, Outcome, PayloadError, Source, Topic};
use super::{HistoryEntry, Reservation, ReservationDoc, ReservationStatus};

/// Handles an event delivered to the reservation component, given the
/// reservations that already exist for the event's process.
pub fn handle(
    existing: &[ReservationDoc],
    event: &Envelope,
) -> Result<Outcome<ReservationDoc>, PayloadError> {
    match event.topic {
        Topic::SalesOrderRequest => {
            let request: SalesOrderRequested = event.decode()?;
            Ok(make_reservations(existing, event, &request))
        }
        Topic::ReservationConfirm | Topic::SalesOrderConfirm => {
            Ok(Outcome::nothing(vec![format!(
                "reservation: {} is not for me, ignored",
                event.topic
            )]))
        }
    }
}

fn make_reservations(
    existing: &[ReservationDoc],
    event: &Envelope,
    request: &SalesOrderRequested,
) -> Outcome<ReservationDoc> {
    let mut log = vec![format!(
        "reservation: received {}",
        event.topic.description()
    )];
    let mut changed = Vec::new();
    for line in &request.salesorder.reservations {
        let id = ids::reservation_id(event.process_id, line.id);
        if existing.iter().any(|doc| doc.id == id) {
            continue;
        }
        log.push(format!(
            "reservation: making reservation for {}",
            line.reserved
        ));
        log.push(format!("reservation: persisted {id}"));
        changed.push(ReservationDoc {
            id,
            process_id: event.process_id,
            object: Reservation {
                id: line.id,
                reserved: line.reserved.clone(),
                status: ReservationStatus::Unconfirmed,
                history: vec![HistoryEntry {
                    status: ReservationStatus::Unconfirmed,
                    time: event.time,
                }],
            },
        });
    }
    if changed.is_empty() {
        log.push("reservation: every line already has its reservation, nothing changes".into());
    }
    Outcome {
        changed,
        published: Vec::new(),
        log,
    }
}

/// Confirms a reservation: unconfirmed → confirmed, history appended,
/// `reservation/confirm` published with `event_id` at `now`. Confirming a
/// confirmed reservation changes nothing and publishes nothing.
pub fn confirm(doc: &ReservationDoc, event_id: Uuid, now: i64) -> Outcome<ReservationDoc> {
    let mut log = vec![format!("reservation: loaded {}", doc.id)];
    if doc.object.status == ReservationStatus::Confirmed {
        log.push(format!("reservation: {} is already confirmed", doc.id));
        return Outcome::nothing(log);
    }
    log.push(format!("reservation: confirming {}", doc.id));
    log.push(format!("reservation: persisted {}", doc.id));
    let mut confirmed = doc.clone();
    confirmed.object.status = ReservationStatus::Confirmed;
    confirmed.object.history.push(HistoryEntry {
        status: ReservationStatus::Confirmed,
        time: now,
    });
    let payload = ReservationConfirmed {
        process_id: doc.process_id,
        reservation: confirmed.as_line(),
    };
    let published = NewEvent {
        id: event_id,
        topic: Topic::ReservationConfirm,
        process_id: doc.process_id,
        causation_id: None,
        source: Source::Reservation,
        time: now,
        payload: serde_json::to_value(payload).expect("a payload always serializes"),
    };
    Outcome {
        changed: vec![confirmed],
        published: vec![published],
        log,
    }
}
