//! The sales-order saga: collects reservation confirmations for one process
//! and, once the customer is known and every line is confirmed, publishes
//! `salesorder/confirm`, exactly once.
//!
//! Events may arrive in any order and any number of times. The saga copes by
//! keeping everything it has learnt in its document (the request's lines,
//! and confirmations it could not match yet) and by making every transition
//! idempotent: applying an event whose effect is already in the document
//! leaves the document as it is and publishes nothing.

use super::event::{
    ConfirmedOrder, ReservationConfirmed, SalesOrderConfirmed, SalesOrderRequested,
};
use super::{ids, Component, Envelope, NewEvent, Outcome, PayloadError, Topic};
use super::{OrderLine, OrderStatus, ReservationStatus, SalesOrder, SalesOrderDoc};

const COMPONENT: Component = Component::SalesOrder;

/// Handles an event delivered to the saga, given the process's sales-order
/// document if there is one yet.
pub fn handle(
    state: Option<&SalesOrderDoc>,
    event: &Envelope,
) -> Result<Outcome<SalesOrderDoc>, PayloadError> {
    let mut log = vec![format!(
        "sales order: received {}",
        event.topic.description()
    )];
    if state.is_some() {
        log.push(format!("salesorder: loaded context {}", event.process_id));
    }
    let mut doc = state.cloned().unwrap_or_else(|| SalesOrderDoc {
        id: ids::sales_order_id(event.process_id),
        process_id: event.process_id,
        object: SalesOrder {
            customer: None,
            status: OrderStatus::Pending,
            reservations: Vec::new(),
            unmatched_confirmations: Vec::new(),
        },
    });
    match event.topic {
        Topic::SalesOrderRequest => apply_request(&mut doc.object, &event.decode()?),
        Topic::ReservationConfirm => apply_confirmation(&mut doc.object, &event.decode()?),
        Topic::SalesOrderConfirm => {}
    }
    let mut published = Vec::new();
    if is_complete(&doc.object) {
        doc.object.status = OrderStatus::Confirmed;
        published.push(confirmed_event(&doc, event));
    }
    if state == Some(&doc) {
        log.push("salesorder: already handled, nothing changes".into());
        return Ok(Outcome::nothing(log));
    }
    log.push(format!("salesorder: persisted {}", doc.id));
    if !published.is_empty() {
        log.push("salesorder: all reservations are confirmed".into());
    }
    Ok(Outcome {
        changed: vec![doc],
        published,
        log,
    })
}

/// Rule 2: the lines are the request's, in request order; a line that a
/// confirmation already confirmed stays confirmed with its reservation id.
fn apply_request(order: &mut SalesOrder, request: &SalesOrderRequested) {
    if order.status == OrderStatus::Confirmed {
        return;
    }
    let mut lines = Vec::with_capacity(request.salesorder.reservations.len());
    for requested in &request.salesorder.reservations {
        let reservation_id = ids::reservation_id(request.process_id, requested.id);
        let confirmed_before = order.reservations.iter().any(|l| {
            l.reservation_id == reservation_id && l.status == ReservationStatus::Confirmed
        }) || take_unmatched(order, reservation_id);
        lines.push(OrderLine {
            id: requested.id,
            reserved: requested.reserved.clone(),
            status: if confirmed_before {
                ReservationStatus::Confirmed
            } else {
                ReservationStatus::Unconfirmed
            },
            reservation_id,
        });
    }
    order.customer = Some(request.salesorder.customer.clone());
    order.reservations = lines;
}

fn take_unmatched(order: &mut SalesOrder, reservation_id: uuid::Uuid) -> bool {
    let before = order.unmatched_confirmations.len();
    order
        .unmatched_confirmations
        .retain(|c| c.reservation_id != reservation_id);
    order.unmatched_confirmations.len() != before
}

/// Rules 3 and 5: a confirmation confirms its line, or is kept until a
/// request brings the line (and shown as unmatched if none ever does).
fn apply_confirmation(order: &mut SalesOrder, confirmation: &ReservationConfirmed) {
    let confirmed = &confirmation.reservation;
    if let Some(line) = order
        .reservations
        .iter_mut()
        .find(|l| l.reservation_id == confirmed.reservation_id)
    {
        line.status = ReservationStatus::Confirmed;
        return;
    }
    if order
        .unmatched_confirmations
        .iter()
        .all(|c| c.reservation_id != confirmed.reservation_id)
    {
        order.unmatched_confirmations.push(OrderLine {
            status: ReservationStatus::Confirmed,
            ..confirmed.clone()
        });
        // Sorted, so the document does not depend on arrival order.
        order
            .unmatched_confirmations
            .sort_by_key(|c| (c.id, c.reservation_id));
    }
}

/// Rule 4: complete once the customer is known and every line is confirmed,
/// and only while still pending, which is what makes it happen once.
fn is_complete(order: &SalesOrder) -> bool {
    order.status == OrderStatus::Pending
        && order.customer.is_some()
        && !order.reservations.is_empty()
        && order
            .reservations
            .iter()
            .all(|l| l.status == ReservationStatus::Confirmed)
}

fn confirmed_event(doc: &SalesOrderDoc, cause: &Envelope) -> NewEvent {
    let payload = SalesOrderConfirmed {
        process_id: doc.process_id,
        salesorder: ConfirmedOrder::from_doc(doc),
    };
    NewEvent {
        id: ids::fact_event_id(doc.process_id, Topic::SalesOrderConfirm),
        topic: Topic::SalesOrderConfirm,
        process_id: doc.process_id,
        causation_id: Some(cause.id),
        source: COMPONENT.source(),
        time: cause.time,
        payload: serde_json::to_value(payload).expect("a payload always serializes"),
    }
}
