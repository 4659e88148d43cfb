//! Commands as the log records them: what a customer or a person asked
//! for, read once from an event that no handler published.
//!
//! A command-published event is the only trace a command leaves in the log,
//! so replaying a log means carrying its commands out again. Reading such
//! an event into a [`Command`] here, once, is what lets the command line,
//! `import`, `rebuild` and `verify` all run the very same code
//! (`operations::execute`) for it, and what makes an event that no command
//! publishes (a confirmation claiming to come from the web, say) stand out
//! before it touches anything.

use uuid::Uuid;

use super::event::{
    ReservationConfirmed, ReservationRejected, SalesOrderCancelled, SalesOrderRequested,
};
use super::order::OrderRequest;
use super::{Envelope, Source, Topic};

/// What someone asked pi7 to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A customer's new order (the process's first request).
    Submit { order: OrderRequest },
    /// A customer's changed order for a pending process.
    Amend { order: OrderRequest, revision: u32 },
    /// A person confirms a reservation.
    Confirm { reservation: Uuid },
    /// A person rejects a reservation (or it expired).
    Reject { reservation: Uuid, reason: String },
    /// The customer withdraws the order.
    Cancel { reason: String },
}

impl Command {
    /// The command an event with no cause records, or why it records none.
    pub fn from_event(event: &Envelope) -> Result<Command, String> {
        if let Some(cause) = event.causation_id {
            return Err(format!(
                "it was published while handling event {cause}, so it is no command"
            ));
        }
        let unreadable =
            |e: super::PayloadError| format!("its payload is not readable: {}", e.reason);
        match (event.topic, event.source) {
            (Topic::SalesOrderRequest, Source::Web) => {
                let request: SalesOrderRequested = event.decode().map_err(unreadable)?;
                // The same rules as an order typed on the command line.
                let text =
                    serde_json::to_string(&request.salesorder).expect("an order always serializes");
                super::order::parse_orders(&text)
                    .map_err(|e| format!("its order is not valid: {}", e.message))?;
                Ok(match request.revision {
                    0 => return Err("a request's revision starts at 1".into()),
                    1 => Command::Submit {
                        order: request.salesorder,
                    },
                    revision => Command::Amend {
                        order: request.salesorder,
                        revision,
                    },
                })
            }
            (Topic::ReservationConfirm, Source::Reservation) => {
                let confirmed: ReservationConfirmed = event.decode().map_err(unreadable)?;
                Ok(Command::Confirm {
                    reservation: confirmed.reservation.reservation_id,
                })
            }
            (Topic::ReservationReject, Source::Reservation) => {
                let rejected: ReservationRejected = event.decode().map_err(unreadable)?;
                Ok(Command::Reject {
                    reservation: rejected.reservation.reservation_id,
                    reason: rejected.reason,
                })
            }
            (Topic::SalesOrderCancel, Source::SalesOrder) => {
                let cancelled: SalesOrderCancelled = event.decode().map_err(unreadable)?;
                Ok(Command::Cancel {
                    reason: cancelled.reason,
                })
            }
            (topic, source) => Err(format!(
                "no command publishes {topic} from {}: only a handler can, or nothing does",
                source.as_str()
            )),
        }
    }
}
