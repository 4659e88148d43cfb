//! Rebuilding documents from the log alone: the events, and the deliveries
//! that were handled, each at the point of the log where it was handled.
//!
//! This is what makes the documents a cache of the log: `pi7 verify`
//! compares them with a replay, `pi7 rebuild` replaces them by one, and
//! `pi7 show --at` replays a prefix of the log. A replay runs the real
//! handlers over an in-memory store: it appends the events in `seq` order,
//! applies what each command-published event records (a person's
//! confirmation, say) as the command did, and after each event handles the
//! deliveries that were handled at that point, in their original order.
//! What the handlers publish is already in the log and is not appended
//! again.

use std::collections::BTreeMap;
use uuid::Uuid;

use crate::dispatch::{apply, apply_command_event, Handlers};
use crate::domain::{Envelope, NewEvent, ReservationDoc, SalesOrderDoc};
use crate::store::{Delivery, DeliveryStatus, MemoryStore, Tx};

/// Where a handled delivery was handled: its place among all handled
/// deliveries, and the highest `seq` in the log when it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handling {
    pub order: u64,
    pub after_seq: u64,
}

/// Documents rebuilt from the log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rebuilt {
    /// By processId.
    pub sales_orders: BTreeMap<Uuid, SalesOrderDoc>,
    /// By id.
    pub reservations: BTreeMap<Uuid, ReservationDoc>,
}

/// Replays the whole log.
pub fn replay(
    events: &[Envelope],
    handled: &[(Delivery, Handling)],
    handlers: &Handlers,
) -> Result<Rebuilt, String> {
    replay_until(events, handled, handlers, u64::MAX)
}

/// Replays the log up to and including event `until`: the documents as
/// they were just after it was appended and the deliveries handled before
/// the next one.
pub fn replay_until(
    events: &[Envelope],
    handled: &[(Delivery, Handling)],
    handlers: &Handlers,
    until: u64,
) -> Result<Rebuilt, String> {
    replay_observed(events, handled, handlers, until, &mut |_| {})
}

/// [`replay_until`], calling `progress` with the `seq` of every event once
/// it and the deliveries handled after it have been replayed (for a
/// progress bar).
pub fn replay_observed(
    events: &[Envelope],
    handled: &[(Delivery, Handling)],
    handlers: &Handlers,
    until: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Rebuilt, String> {
    let mut at: BTreeMap<u64, Vec<(u64, &Delivery)>> = BTreeMap::new();
    for (delivery, handling) in handled {
        if delivery.status == DeliveryStatus::Done {
            at.entry(handling.after_seq)
                .or_default()
                .push((handling.order, delivery));
        }
    }
    let mut store = MemoryStore::new();
    let storage = |e: crate::store::StoreError| e.to_string();
    for event in events.iter().take_while(|e| e.seq <= until) {
        let appended = store
            .append(NewEvent {
                id: event.id,
                topic: event.topic,
                process_id: event.process_id,
                causation_id: event.causation_id,
                source: event.source,
                time: event.time,
                payload: event.payload.clone(),
            })
            .map_err(storage)?;
        if appended.seq != event.seq {
            return Err(format!(
                "event {} comes where the log should have event {}: events are missing",
                event.seq, appended.seq
            ));
        }
        apply_command_event(&mut store, event).map_err(storage)?;
        let Some(mut deliveries) = at.remove(&event.seq) else {
            progress(event.seq);
            continue;
        };
        deliveries.sort_by_key(|(order, _)| *order);
        for (_, delivery) in deliveries {
            let delivered = store.event(delivery.seq).map_err(|_| {
                format!(
                    "event {} was handled before it was in the log",
                    delivery.seq
                )
            })?;
            apply(&mut store, delivery.component, &delivered, handlers)
                .map_err(storage)?
                .map_err(|e| format!("event {}: {e}", delivery.seq))?;
        }
        progress(event.seq);
    }
    if let Some((after_seq, _)) = at.iter().find(|(seq, _)| **seq <= until) {
        return Err(format!(
            "deliveries were handled after event {after_seq}, which is not in the log"
        ));
    }
    Ok(Rebuilt {
        sales_orders: store.sales_orders,
        reservations: store.reservations,
    })
}
