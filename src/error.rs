//! Exit codes, decided in one place from the kind of error.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a check found violations, or pi7 itself failed |
//! | 2 | usage, bad input, or a command the order's state refuses (nothing was written) |
//! | 3 | an ID names nothing, or more than one thing |
//! | 4 | storage: the database cannot be opened, read or written |

use crate::commands::lookup::LookupError;
use crate::dispatch::RedeliverError;
use crate::domain::order::OrderError;
use crate::operations::Refused;
use crate::store::StoreError;

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_FOUND: u8 = 3;
pub const STORAGE: u8 = 4;

/// Bad input that is not an order: a file that cannot be read, a filter
/// value pi7 does not know.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// An order file that is not a valid order, with where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}:{error}")]
pub struct BadOrder {
    pub source_name: String,
    pub error: OrderError,
}

/// A check that ran and found something wrong; the report is already out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Violations(pub String);

/// The exit code for an error: the first error in the chain whose kind pi7
/// knows decides.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<InputError>() || cause.is::<BadOrder>() || cause.is::<OrderError>() {
            return USAGE;
        }
        if let Some(lookup) = cause.downcast_ref::<LookupError>() {
            return match lookup {
                LookupError::TooShort { .. } | LookupError::NotAnId { .. } => USAGE,
                LookupError::NotFound { .. } | LookupError::Ambiguous { .. } => NOT_FOUND,
            };
        }
        if let Some(redeliver) = cause.downcast_ref::<RedeliverError>() {
            return match redeliver {
                RedeliverError::NotRouted { .. }
                | RedeliverError::NoSuchEvent { .. }
                | RedeliverError::Unrouted { .. } => NOT_FOUND,
                RedeliverError::StillPending { .. } => USAGE,
                RedeliverError::HandlerFailed { .. } => FAILURE,
            };
        }
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return match refused {
                Refused::NoReservation(_) => NOT_FOUND,
                Refused::NoOrder(_)
                | Refused::Saga(_)
                | Refused::Pending(_)
                | Refused::ProcessExists(_)
                | Refused::OtherProcess { .. }
                | Refused::Revision { .. }
                | Refused::Unchanged(_) => USAGE,
            };
        }
        if cause.is::<StoreError>() || cause.is::<rusqlite::Error>() {
            return STORAGE;
        }
        if cause.is::<Violations>() {
            return FAILURE;
        }
    }
    FAILURE
}
