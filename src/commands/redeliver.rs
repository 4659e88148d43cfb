//! `pi7 redeliver`: deliver an already handled event again.

use super::dispatch::print_report;
use super::pending::component_parser;
use super::Context;
use crate::app::{self, Access};
use crate::domain::Component;

/// Deliver an already handled event again, as an at-least-once broker may,
/// or retry a delivery parked after failing
///
/// Handlers are idempotent, so a redelivery changes nothing and publishes
/// nothing; it is recorded all the same.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event's seq (see `pi7 events`)
    #[arg(value_name = "SEQ")]
    pub seq: u64,

    /// Only to this component [default: every component the event is routed to]
    #[arg(long = "to", value_name = "COMPONENT", value_parser = component_parser())]
    pub component: Option<Component>,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let mut app = ctx.app(Access::Write)?;
    let reports = app.redeliver(args.seq, args.component)?;
    for report in &reports {
        ctx.log(&report.log)?;
        print_report(ctx, report, "redelivered")?;
    }
    let failed = ctx.report_failures(&reports)?;
    let failed_after = app.deliver_pending();
    ctx.diagnose(&mut app)?;
    Ok(super::deliveries_failed(failed + failed_after?)?)
}
