//! `show --at`: a document as it was just after an event, replayed from
//! the log.

use uuid::Uuid;

use super::lookup::{resolve, LookupError};
use super::{App, Result};
use crate::domain::{Envelope, ReservationDoc, SalesOrderDoc};
use crate::error::Violations;
use crate::replay::rebuild;
use crate::store::{DocumentKind, Queries};

/// What an id named just after event `at`, replayed.
#[derive(Debug, Clone)]
pub struct ShownAt {
    /// The event asked for.
    pub at: u64,
    /// The last event up to `at`: less than `at` past the end of the log.
    pub last: u64,
    pub process_id: Uuid,
    /// The events of the process up to `at`.
    pub events: Vec<Envelope>,
    pub document: AtDocument,
}

/// The document an id named, as it was then.
#[derive(Debug, Clone)]
pub enum AtDocument {
    Reservation {
        reservation: ReservationDoc,
        order: Option<SalesOrderDoc>,
    },
    /// With its reservations in the order of its lines.
    Order {
        order: SalesOrderDoc,
        reservations: Vec<ReservationDoc>,
    },
    /// A process that had begun but whose events had not reached the saga.
    NoOrder,
}

/// Stops `for_each_event` once it is past the events a replay needs.
#[derive(Debug, thiserror::Error)]
#[error("past the events asked for")]
struct PastTheEnd;

impl App {
    /// The sales order, reservation or process `text` names, replayed up to
    /// event `at` (and the deliveries handled before the next event). Not
    /// found when it did not exist yet.
    pub fn show_at(&self, text: &str, at: u64) -> Result<ShownAt> {
        let kinds = [
            DocumentKind::SalesOrder,
            DocumentKind::Reservation,
            DocumentKind::Process,
        ];
        let found = resolve(&self.store, text, &kinds)?;
        let mut events = Vec::new();
        let read = self.store.for_each_event(0, None, None, &mut |e| {
            if e.seq > at {
                return Err(PastTheEnd.into());
            }
            events.push(e);
            Ok(())
        });
        match read {
            Err(e) if !e.is::<PastTheEnd>() => return Err(e.into()),
            _ => {}
        }
        let mut rebuilt = rebuild(&self.store, at, &mut |_| {}).map_err(|e| {
            Violations(format!(
                "cannot replay the log up to event {at}: {e} (`pi7 verify` checks the database)"
            ))
        })?;
        let last = events.last().map_or(0, |e| e.seq);
        let process_events: Vec<Envelope> = events
            .into_iter()
            .filter(|e| e.process_id == found.process_id)
            .collect();
        // "no reservation that existed just after event 4 has an ID starting with …"
        let not_yet = |what: &str| LookupError::NotFound {
            prefix: found.id.to_string(),
            what: what.to_string(),
        };
        let existed = format!("that existed just after event {at}");
        let order = rebuilt.sales_orders.remove(&found.process_id);
        let document = match found.kind {
            DocumentKind::Reservation => AtDocument::Reservation {
                reservation: rebuilt
                    .reservations
                    .remove(&found.id)
                    .ok_or_else(|| not_yet(&format!("reservation {existed}")))?,
                order,
            },
            DocumentKind::SalesOrder | DocumentKind::Process => {
                let order =
                    order.filter(|o| found.kind == DocumentKind::Process || o.id == found.id);
                match order {
                    None => {
                        let what = match found.kind {
                            DocumentKind::SalesOrder => format!("sales order {existed}"),
                            _ if process_events.is_empty() => {
                                format!("process that had begun by event {at}")
                            }
                            _ => format!("sales order {existed} for any process that"),
                        };
                        if found.kind == DocumentKind::SalesOrder || process_events.is_empty() {
                            return Err(not_yet(&what).into());
                        }
                        AtDocument::NoOrder
                    }
                    Some(order) => {
                        // In the order of the order's lines, as `show` lists them.
                        let mut reservations: Vec<_> = rebuilt
                            .reservations
                            .into_values()
                            .filter(|r| r.process_id == found.process_id)
                            .collect();
                        let lines = &order.object.reservations;
                        reservations.sort_by_key(|r| {
                            lines
                                .iter()
                                .position(|l| l.reservation_id == r.id)
                                .unwrap_or(usize::MAX)
                        });
                        AtDocument::Order {
                            order,
                            reservations,
                        }
                    }
                }
            }
        };
        Ok(ShownAt {
            at,
            last,
            process_id: found.process_id,
            events: process_events,
            document,
        })
    }
}
