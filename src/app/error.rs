//! The one error every use case returns, with the kind that each face maps
//! to what it speaks: the command line to an exit code (`crate::error`),
//! HTTP to a status (`crate::http`), each in one exhaustive match.

use crate::app::lookup::LookupError;
use crate::dispatch::RedeliverError;
use crate::domain::order::OrderError;
use crate::error::{BadOrder, DeliveryFailed, InputError, Violations};
use crate::operations::Refused;
use crate::store::StoreError;

/// What kind of failure an error is, as far as a caller must tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The request itself is malformed (an option that does not exist).
    Usage,
    /// The input is not what pi7 takes: an invalid order, a bad id.
    BadInput,
    /// An id names nothing.
    NotFound,
    /// An id prefix names more than one thing.
    Ambiguous,
    /// The state of an order or reservation does not allow it.
    Refused,
    /// Someone else's write got there first (a log that diverged).
    Conflict,
    /// The database cannot be opened, read or written.
    Storage,
    /// The database stayed locked by another writer after every retry.
    Busy,
    /// A check found the data inconsistent.
    Violation,
    /// pi7 itself failed.
    Internal,
    /// The work was done, but a handler failed on a delivery: the delivery
    /// waits for a retry or is parked.
    DeliveryFailed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::BadInput => "bad_input",
            Kind::NotFound => "not_found",
            Kind::Ambiguous => "ambiguous",
            Kind::Refused => "refused",
            Kind::Conflict => "conflict",
            Kind::Storage => "storage",
            Kind::Busy => "busy",
            Kind::Violation => "violation",
            Kind::Internal => "internal",
            Kind::DeliveryFailed => "delivery_failed",
        }
    }

    /// The kind of `error`: the first cause in its chain whose kind pi7 knows
    /// decides; anything else is pi7's own failure.
    pub fn of(error: &anyhow::Error) -> Kind {
        error
            .chain()
            .find_map(kind_of_cause)
            .unwrap_or(Kind::Internal)
    }
}

fn kind_of_cause(cause: &(dyn std::error::Error + 'static)) -> Option<Kind> {
    if cause.is::<InputError>() || cause.is::<BadOrder>() || cause.is::<OrderError>() {
        return Some(Kind::BadInput);
    }
    if let Some(lookup) = cause.downcast_ref::<LookupError>() {
        return Some(match lookup {
            LookupError::TooShort { .. } | LookupError::NotAnId { .. } => Kind::BadInput,
            LookupError::NotFound { .. } => Kind::NotFound,
            LookupError::Ambiguous { .. } => Kind::Ambiguous,
        });
    }
    if let Some(redeliver) = cause.downcast_ref::<RedeliverError>() {
        return Some(match redeliver {
            RedeliverError::NotRouted { .. }
            | RedeliverError::NoSuchEvent { .. }
            | RedeliverError::Unrouted { .. } => Kind::NotFound,
            RedeliverError::StillPending { .. } => Kind::Refused,
            RedeliverError::HandlerFailed { .. } => Kind::DeliveryFailed,
        });
    }
    if let Some(refused) = cause.downcast_ref::<Refused>() {
        return Some(match refused {
            Refused::NoReservation(_) => Kind::NotFound,
            Refused::NoOrder(_) | Refused::Saga(_) | Refused::Pending(_) => Kind::Refused,
            // What an imported command would do against this database.
            Refused::ProcessExists(_)
            | Refused::OtherProcess { .. }
            | Refused::Revision { .. }
            | Refused::Unchanged(_) => Kind::Conflict,
        });
    }
    if let Some(store) = cause.downcast_ref::<StoreError>() {
        return Some(match store {
            StoreError::Busy { .. } => Kind::Busy,
            _ => Kind::Storage,
        });
    }
    if cause.is::<rusqlite::Error>() {
        return Some(Kind::Storage);
    }
    if cause.is::<Violations>() {
        return Some(Kind::Violation);
    }
    if cause.is::<DeliveryFailed>() {
        return Some(Kind::DeliveryFailed);
    }
    None
}

/// A use case that failed: its kind, and the whole story as one line.
///
/// Like `anyhow::Error` it is deliberately not a `std::error::Error`, so that
/// `?` turns any error into it, its kind read from the causes.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    source: anyhow::Error,
    /// What a failed command had already recorded: the processes of a
    /// submit (their requests are in the log, waiting to be delivered;
    /// submitting them again would make a second order), or the
    /// reservations a confirm, reject or expire decided. The faces show them.
    pub recorded: Vec<uuid::Uuid>,
}

impl Error {
    /// This error, after a command committed `what` (the confirmation of
    /// reservation R, say): says that it is kept and what finishes it, so
    /// that nobody has to guess whether to give the command again.
    pub fn after_commit(self, what: &str) -> Self {
        Error {
            kind: self.kind,
            source: self.source.context(format!(
                "{what} recorded before it failed and is kept: `pi7 dispatch` delivers what is pending"
            )),
            recorded: self.recorded,
        }
    }

    /// This error, after `processes` were recorded: says so, and what
    /// finishes their work.
    pub fn recorded(self, processes: Vec<uuid::Uuid>) -> Self {
        let count = processes.len();
        let orders = if count == 1 {
            "order was"
        } else {
            "orders were"
        };
        Error {
            kind: self.kind,
            source: self.source.context(format!(
                "{count} {orders} recorded before it failed (processIds on stdout) and wait to be delivered: `pi7 dispatch` delivers them; do not submit them again"
            )),
            recorded: processes,
        }
    }

    /// The one-line message the command line prints after `pi7: error: `.
    pub fn message(&self) -> String {
        format!("{:#}", self.source)
    }

    /// Back to a plain error for code that speaks anyhow (the commands of
    /// the event log); its kind is read again from the same causes.
    pub fn into_source(self) -> anyhow::Error {
        self.source
    }

    /// The causes, outermost first (a broken pipe hides in here).
    pub fn chain(&self) -> anyhow::Chain<'_> {
        self.source.chain()
    }

    /// An error of a kind decided here rather than by its causes.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            source: anyhow::anyhow!(message.into()),
            recorded: Vec::new(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            write!(f, "{:#}", self.source)
        } else {
            write!(f, "{}", self.source)
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Error {
    fn from(error: E) -> Self {
        let source = error.into();
        Error {
            kind: Kind::of(&source),
            source,
            recorded: Vec::new(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
