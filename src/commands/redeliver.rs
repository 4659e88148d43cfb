//! `pi7 redeliver`: deliver an already handled event again.

use super::dispatch::print_report;
use super::pending::component_parser;
use super::Context;
use crate::dispatch::{redeliver, subscribers, Handlers, RedeliverError};
use crate::domain::Component;
use crate::store::{OpenMode, Store};

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

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let mut store = ctx.open(OpenMode::ReadWrite)?;
    let now = ctx.now;
    let reports = store.transaction(&mut |tx| {
        let event = tx
            .event(args.seq)
            .map_err(|_| RedeliverError::NoSuchEvent { seq: args.seq })?;
        let components: Vec<Component> = match args.component {
            Some(c) => vec![c],
            None => subscribers(event.topic).to_vec(),
        };
        if components.is_empty() {
            return Err(RedeliverError::Unrouted {
                seq: args.seq,
                topic: event.topic,
            }
            .into());
        }
        components
            .into_iter()
            .map(|c| redeliver(tx, args.seq, c, now, &Handlers::REAL))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    for report in &reports {
        ctx.log(&report.log)?;
        print_report(ctx, report, "redelivered")?;
    }
    let failed = ctx.report_failures(&reports)? + ctx.settle(&mut store)?;
    super::deliveries_failed(failed)
}
