//! `pi7 verify`: audit a database.

use super::progress::Progress;
use super::Context;
use crate::app;
use crate::error::Violations;
use crate::render;

/// Audit a database: integrity, log, deliveries, the saga's invariants, and
/// the documents against a replay of the log
///
/// Checks SQLite's integrity, that `seq` has no gaps, that every event has
/// the deliveries its topic routes to, that each order was confirmed or
/// cancelled exactly once as its lines say, that a cancelled order's
/// reservations are all rejected or released, and that the documents equal a
/// replay of the log.
///
/// The replay is the one `pi7 import` runs: a log that import would refuse
/// (an event pi7 would not have published there) is a violation. So are a
/// parked delivery, and a column that commands filter on (status, process,
/// customer) that disagrees with its document.
///
/// Prints what it checked, or one line per violation and exits 1.
/// Processes with deliveries still pending are in flight: their documents
/// are compared with the replay but not held to the saga's end-state
/// invariants.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &mut Context, _args: Args) -> app::Result<()> {
    let mut progress = Progress::new("verifying", "events");
    let verified = app::verify(&ctx.db_path()?, &mut |seq, last| progress.show(seq, last));
    drop(progress);
    let app::Verified {
        audit: report,
        database,
    } = verified?;
    if ctx.json {
        ctx.json_line(&serde_json::json!({
            "events": report.events,
            "deliveries": report.deliveries,
            "pending": report.pending,
            "failed": report.failed,
            "salesorders": report.orders,
            "reservations": report.reservations,
            "violations": report.violations,
        }))?;
    } else {
        writeln!(
            ctx.out,
            "{}, {} ({} pending, {} failed), {}, {}",
            render::count(report.events as usize, "event"),
            render::count(report.deliveries, "delivery"),
            report.pending,
            report.failed,
            render::count(report.orders, "sales order"),
            render::count(report.reservations, "reservation")
        )?;
        if report.violations.is_empty() {
            writeln!(
                ctx.out,
                "ok: integrity, log, deliveries, saga invariants and replay all check out"
            )?;
        }
        // A violation can quote whole documents; `--json` has them whole.
        for violation in &report.violations {
            let line = format!("violation: {violation}");
            writeln!(ctx.out, "{}", render::wrap(&line, 80, 2))?;
        }
    }
    if report.violations.is_empty() {
        Ok(())
    } else {
        Err(Violations(format!(
            "{} violation{} found in {}",
            report.violations.len(),
            if report.violations.len() == 1 {
                ""
            } else {
                "s"
            },
            database
        ))
        .into())
    }
}
