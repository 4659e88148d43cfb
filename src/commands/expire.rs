//! `pi7 expire`: reject reservations nobody confirmed in time.

use std::time::Duration;

use super::confirm::{print_decided, print_recorded};
use super::Context;
use crate::app::{self, Access, Decision};

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

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let mut app = ctx.app(Access::Write)?;
    let expired = app.expire(args.older_than);
    ctx.diagnose(&mut app)?;
    let reason = Decision::Reject {
        reason: "expired".to_string(),
    };
    let expired = print_recorded(ctx, &reason, expired)?;
    print_decided(ctx, &app, &expired, &reason)
}
