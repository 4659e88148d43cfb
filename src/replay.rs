//! Rebuilding documents from the log: the events, and the deliveries that
//! were handled, in the order they were handled.
//!
//! This is what makes the documents a cache of the log: `pi7 verify`
//! compares them with a replay. Reservations change in two ways only: a
//! delivered request makes them, and a person's confirmation (a
//! `reservation/confirm` that a command published) confirms them; so they
//! are rebuilt from those, while the saga's document is rebuilt by handling
//! its deliveries again in their original order.

use std::collections::BTreeMap;
use uuid::Uuid;

use crate::dispatch::Handlers;
use crate::domain::{
    reservation, Component, Envelope, ReservationDoc, SalesOrderDoc, Source, Topic,
};
use crate::store::{Delivery, DeliveryStatus};

/// Documents rebuilt from the log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rebuilt {
    /// By processId.
    pub sales_orders: BTreeMap<Uuid, SalesOrderDoc>,
    /// By id.
    pub reservations: BTreeMap<Uuid, ReservationDoc>,
}

/// Replays `handled` deliveries (in handling order) over `events` (by seq,
/// starting at 1). An event a handler cannot read is reported, not skipped.
pub fn replay(
    events: &[Envelope],
    handled: &[Delivery],
    handlers: &Handlers,
) -> Result<Rebuilt, String> {
    let event = |seq: u64| {
        events
            .get((seq as usize).wrapping_sub(1))
            .filter(|e| e.seq == seq)
            .ok_or_else(|| format!("delivery of event {seq}, which is not in the log"))
    };
    let mut rebuilt = Rebuilt::default();
    let mut reservations_of: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for delivery in handled.iter().filter(|d| d.status == DeliveryStatus::Done) {
        let event = event(delivery.seq)?;
        match delivery.component {
            Component::SalesOrder => {
                let state = rebuilt.sales_orders.get(&event.process_id);
                let outcome = (handlers.sales_order)(state, event).map_err(|e| e.to_string())?;
                for doc in outcome.changed {
                    rebuilt.sales_orders.insert(doc.process_id, doc);
                }
            }
            Component::Reservation => {
                let ids = reservations_of.entry(event.process_id).or_default();
                let state: Vec<ReservationDoc> = ids
                    .iter()
                    .filter_map(|id| rebuilt.reservations.get(id).cloned())
                    .collect();
                let outcome = (handlers.reservation)(&state, event).map_err(|e| e.to_string())?;
                for doc in outcome.changed {
                    if !ids.contains(&doc.id) {
                        ids.push(doc.id);
                    }
                    rebuilt.reservations.insert(doc.id, doc);
                }
            }
        }
    }
    for event in events.iter().filter(|e| is_confirm_command(e)) {
        let id = event
            .payload
            .pointer("/reservation/_id")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| format!("event {} names no reservation", event.seq))?;
        let Some(doc) = rebuilt.reservations.get(&id) else {
            return Err(format!(
                "event {} confirms reservation {id}, which no delivered request made",
                event.seq
            ));
        };
        let outcome = reservation::confirm(doc, event.id, event.time);
        for doc in outcome.changed {
            rebuilt.reservations.insert(doc.id, doc);
        }
    }
    Ok(rebuilt)
}

/// A confirmation a person gave (published by a command, not a handler).
fn is_confirm_command(event: &Envelope) -> bool {
    event.topic == Topic::ReservationConfirm
        && event.source == Source::Reservation
        && event.causation_id.is_none()
}
