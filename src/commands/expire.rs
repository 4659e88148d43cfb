//! `pi7 expire`: reject reservations nobody confirmed in time.

use std::time::Duration;

use super::confirm::{decide, Decision};
use super::Context;
use crate::domain::ReservationStatus;
use crate::error::InputError;
use crate::store::OpenMode;

/// Reject, with reason "expired", every unconfirmed reservation made longer
/// ago than DURATION; their orders are cancelled and compensated as by
/// `pi7 reject`
///
/// "Now" is the clock, or `PI7_NOW` (unix seconds) when set.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How old an unconfirmed reservation may get: `90s`, `30m`, `2h`,
    /// `1d`, `1h 30m`...
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (try 90s, 30m, 2h or 1d)"))
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let mut store = ctx.open(OpenMode::ReadWrite)?;
    let deadline = i64::try_from(args.older_than.as_secs())
        .ok()
        .and_then(|age| ctx.now.checked_sub(age))
        .ok_or_else(|| InputError(format!("{:?} is too long a duration", args.older_than)))?;
    let unconfirmed = ReservationStatus::Unconfirmed.as_str();
    let expired: Vec<_> = store
        .list_reservations(Some(unconfirmed), None, None)?
        .into_iter()
        .filter(|r| r.object.history.first().is_some_and(|h| h.time < deadline))
        .map(|r| r.id)
        .collect();
    if expired.is_empty() {
        ctx.note("no unconfirmed reservation is that old")?;
        return ctx.settle(&mut store);
    }
    let reason = Decision::Reject {
        reason: "expired".to_string(),
    };
    decide(ctx, &mut store, &expired, &reason)
}
