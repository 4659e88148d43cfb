//! Exit codes, decided in one place from the kind of error, and the error
//! types of bad input that are not an order's.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a check found violations, or pi7 itself failed |
//! | 2 | usage, bad input, or a command the order's state refuses (nothing was written) |
//! | 3 | an ID names nothing, or more than one thing |
//! | 4 | storage: the database cannot be opened, read or written |
//! | 5 | the command did its work, but delivering an event failed: the delivery waits for a retry or is parked |
//! | 130 | `submit` interrupted by Ctrl-C, after saying what it had recorded |

use crate::app::{Error, Kind};
use crate::domain::order::OrderError;

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_FOUND: u8 = 3;
pub const STORAGE: u8 = 4;
pub const DELIVERY_FAILED: u8 = 5;
pub const INTERRUPTED: u8 = 130;

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

/// `dispatch`, `redeliver` or `import` did what was asked, but a handler
/// failed on a delivery: it waits to be retried or is parked. What was
/// delivered is already out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryFailed(pub String);

/// A check that ran and found something wrong; the report is already out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Violations(pub String);

/// The exit code for an error, by its kind.
pub fn exit_code(error: &Error) -> u8 {
    match error.kind {
        Kind::Usage | Kind::BadInput | Kind::Refused | Kind::Conflict => USAGE,
        Kind::NotFound | Kind::Ambiguous => NOT_FOUND,
        Kind::Storage | Kind::Busy => STORAGE,
        Kind::Violation | Kind::Internal => FAILURE,
        Kind::DeliveryFailed => DELIVERY_FAILED,
    }
}
