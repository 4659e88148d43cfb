//! Given/when/then tests of the pure components. No I/O: events in,
//! documents and published events out.

use serde_json::json;
use uuid::Uuid;

use super::event::SalesOrderRequested;
use super::order::{OrderRequest, RequestedLine};
use super::*;

const T0: i64 = 1_543_269_956;
const T1: i64 = 1_543_269_959;
const T2: i64 = 1_543_269_961;

fn process() -> Uuid {
    Uuid::from_u128(0x6b91_c191_5923_4374_887d_183a_d752_d46d)
}

fn request_event(lines: &[(i64, &str)]) -> Envelope {
    let payload = SalesOrderRequested {
        process_id: process(),
        salesorder: OrderRequest {
            customer: "christophe".into(),
            reservations: lines
                .iter()
                .map(|(id, reserved)| RequestedLine {
                    id: *id,
                    reserved: reserved.to_string(),
                })
                .collect(),
        },
        revision: 1,
    };
    Envelope {
        seq: 1,
        id: Uuid::from_u128(1),
        topic: Topic::SalesOrderRequest,
        process_id: process(),
        causation_id: None,
        source: Source::Web,
        time: T0,
        payload: serde_json::to_value(payload).unwrap(),
    }
}

fn story() -> Envelope {
    request_event(&[(1, "some hotel"), (2, "a plane")])
}

/// The reservations the reservation component makes for `request`.
fn reservations_for(request: &Envelope) -> Vec<ReservationDoc> {
    reservation::handle(&[], request).unwrap().changed
}

/// Confirms `doc` at `time` and returns the delivered `reservation/confirm`.
fn confirmation(doc: &ReservationDoc, seq: u64, time: i64) -> (ReservationDoc, Envelope) {
    let outcome = reservation::confirm(doc, Uuid::from_u128(100 + seq as u128), time);
    let event = outcome.published[0].clone().sequenced(seq);
    (outcome.changed[0].clone(), event)
}

/// Runs the saga over `events` in order, returning the final document and
/// every event it published.
fn saga_over(events: &[&Envelope]) -> (Option<SalesOrderDoc>, Vec<NewEvent>) {
    let mut state = None;
    let mut published = Vec::new();
    for event in events {
        let outcome = saga::handle(state.as_ref(), event).unwrap();
        if let Some(doc) = outcome.changed.into_iter().last() {
            state = Some(doc);
        }
        published.extend(outcome.published);
    }
    (state, published)
}

fn statuses(doc: &SalesOrderDoc) -> Vec<ReservationStatus> {
    doc.object.reservations.iter().map(|l| l.status).collect()
}

#[test]
fn request_makes_one_unconfirmed_reservation_per_line() {
    let made = reservations_for(&story());
    assert_eq!(made.len(), 2);
    assert_eq!(
        serde_json::to_value(&made[0]).unwrap(),
        json!({
            "_id": ids::reservation_id(process(), 1),
            "processId": process(),
            "object": {
                "id": 1, "reserved": "some hotel", "status": "unconfirmed",
                "history": [{"status": "unconfirmed", "time": T0}]
            }
        })
    );
}

#[test]
fn in_order_story_confirms_the_order_once_every_line_is_confirmed() {
    let request = story();
    let made = reservations_for(&request);
    let (hotel, first) = confirmation(&made[0], 2, T1);
    let (_, second) = confirmation(&made[1], 3, T2);

    let (after_request, published) = saga_over(&[&request]);
    let after_request = after_request.unwrap();
    assert_eq!(after_request.object.status, OrderStatus::Pending);
    assert_eq!(after_request.object.customer.as_deref(), Some("christophe"));
    assert!(published.is_empty());

    let (after_first, published) = saga_over(&[&request, &first]);
    assert_eq!(
        statuses(after_first.as_ref().unwrap()),
        [ReservationStatus::Confirmed, ReservationStatus::Unconfirmed]
    );
    assert!(published.is_empty());

    let (done, published) = saga_over(&[&request, &first, &second]);
    let done = done.unwrap();
    assert_eq!(done.object.status, OrderStatus::Confirmed);
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].topic, Topic::SalesOrderConfirm);
    assert_eq!(published[0].causation_id, Some(second.id));
    assert_eq!(published[0].time, T2);
    assert_eq!(
        serde_json::to_value(&done).unwrap(),
        json!({
            "_id": ids::sales_order_id(process()),
            "processId": process(),
            "object": {
                "customer": "christophe", "status": "confirmed",
                "reservations": [
                    {"id": 1, "reserved": "some hotel", "status": "confirmed", "_id": made[0].id},
                    {"id": 2, "reserved": "a plane", "status": "confirmed", "_id": made[1].id},
                ]
            }
        })
    );
    assert_eq!(hotel.object.history.len(), 2);
    assert_eq!(hotel.object.history[1].time, T1);
}

#[test]
fn confirmation_before_the_request_is_kept_and_applied_when_it_arrives() {
    let request = story();
    let made = reservations_for(&request);
    let (_, first) = confirmation(&made[0], 2, T1);
    let (_, second) = confirmation(&made[1], 3, T2);

    // The original crashed here: its placeholder had no reservations list.
    let (early, published) = saga_over(&[&first]);
    let early = early.unwrap();
    assert_eq!(early.object.customer, None);
    assert_eq!(early.object.status, OrderStatus::Pending);
    assert_eq!(early.object.unmatched_confirmations.len(), 1);
    assert!(published.is_empty());

    let (late, _) = saga_over(&[&first, &second, &request]);
    let (in_order, _) = saga_over(&[&request, &first, &second]);
    assert_eq!(late, in_order);
    let (_, published) = saga_over(&[&second, &first, &request]);
    assert_eq!(published.len(), 1);
}

#[test]
fn the_same_event_delivered_twice_changes_nothing_the_second_time() {
    let request = story();
    let made = reservations_for(&request);
    let (_, first) = confirmation(&made[0], 2, T1);
    let (_, second) = confirmation(&made[1], 3, T2);
    let (state, _) = saga_over(&[&request, &first, &second]);
    for event in [&request, &first, &second] {
        let again = saga::handle(state.as_ref(), event).unwrap();
        assert!(again.is_no_op(), "{} twice changed something", event.topic);
    }
    let (_, published) = saga_over(&[&request, &first, &second, &second, &request, &first]);
    assert_eq!(published.len(), 1, "salesorder/confirm published once");

    let again = reservation::handle(&made, &request).unwrap();
    assert!(again.is_no_op());
}

#[test]
fn confirming_a_confirmed_reservation_publishes_nothing() {
    let made = reservations_for(&story());
    let (confirmed, _) = confirmation(&made[0], 2, T1);
    let again = reservation::confirm(&confirmed, Uuid::from_u128(7), T2);
    assert!(again.is_no_op());
}

#[test]
fn confirmation_for_a_line_the_order_does_not_have_is_kept_and_never_completes() {
    let request = request_event(&[(1, "some hotel")]);
    let stranger = request_event(&[(1, "some hotel"), (9, "a yacht")]);
    let made = reservations_for(&stranger);
    let (_, yacht) = confirmation(&made[1], 2, T1);

    let (doc, published) = saga_over(&[&request, &yacht]);
    let doc = doc.unwrap();
    assert_eq!(doc.object.status, OrderStatus::Pending);
    assert_eq!(statuses(&doc), [ReservationStatus::Unconfirmed]);
    assert_eq!(doc.object.unmatched_confirmations.len(), 1);
    assert_eq!(doc.object.unmatched_confirmations[0].id, 9);
    assert!(published.is_empty());

    let (_, hotel) = confirmation(&reservations_for(&request)[0], 3, T2);
    let (doc, published) = saga_over(&[&yacht, &request, &hotel]);
    let doc = doc.unwrap();
    assert_eq!(doc.object.status, OrderStatus::Confirmed);
    assert_eq!(doc.object.unmatched_confirmations.len(), 1, "still shown");
    assert_eq!(published.len(), 1);
}

#[test]
fn a_payload_the_component_cannot_read_is_an_error_not_a_panic() {
    let mut broken = story();
    broken.payload = json!({"processId": "nope"});
    assert!(saga::handle(None, &broken).is_err());
    assert!(reservation::handle(&[], &broken).is_err());
}
