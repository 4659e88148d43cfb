//! `pi7 show`: one sales order, reservation or process in detail.

use super::Context;
use crate::app::{self, Access, App, AtDocument, ShownAt};
use crate::domain::Envelope;
use crate::render::{self, ShortIds};

/// Show a sales order, a reservation or a process: its document, lines,
/// history and the events of its process
///
/// With `--json`, prints the one document the ID names; a process ID names
/// its sales order, or, while the process has none yet (its request is
/// held), `{"processId", "salesorder": null, "events"}`. With `--at SEQ`, shows it as it was just after event SEQ
/// (and the deliveries handled before the next event), replayed from the
/// log.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A sales-order, reservation or process ID, or a unique prefix of at
    /// least 4 characters
    #[arg(value_name = "ID", add = super::completions::any_id())]
    pub id: String,

    /// Show it as it was just after event SEQ, with the events up to SEQ
    /// only; a SEQ past the end of the log shows it as the whole log makes
    /// it. Exits 3 if it did not exist yet.
    #[arg(long, value_name = "SEQ")]
    pub at: Option<u64>,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let app = ctx.app(Access::Read)?;
    if let Some(at) = args.at {
        let shown = app.show_at(&args.id, at)?;
        return show_at(ctx, &app, &shown);
    }
    let shown = app.show(&args.id)?;
    let process = &shown.process;
    if let Some(reservation) = shown.reservation() {
        if ctx.json {
            return Ok(ctx.json_pretty(reservation)?);
        }
        let ids = app.short_ids([reservation.id, reservation.process_id])?;
        let text = render::reservation_detail(
            reservation,
            process.salesorder.as_ref(),
            &process.events,
            &ids,
        );
        write!(ctx.out, "{text}")?;
        return Ok(());
    }
    let Some(order) = &process.salesorder else {
        if ctx.json {
            return Ok(without_order_json(
                ctx,
                process.process_id,
                &process.events,
            )?);
        }
        let ids = app.short_ids([process.process_id])?;
        return Ok(print_no_order(
            ctx,
            process.process_id,
            "has",
            &process.events,
            &ids,
        )?);
    };
    if ctx.json {
        return Ok(ctx.json_pretty(order)?);
    }
    let ids = app.short_ids(
        process
            .reservations
            .iter()
            .map(|r| r.id)
            .chain([process.process_id]),
    )?;
    write!(
        ctx.out,
        "{}",
        render::order_detail(order, &process.reservations, &process.events, &ids)
    )?;
    Ok(())
}

/// A process whose events have not reached the saga: its events only.
fn print_no_order(
    ctx: &mut Context,
    process_id: uuid::Uuid,
    has: &str,
    events: &[Envelope],
    ids: &ShortIds,
) -> anyhow::Result<()> {
    writeln!(ctx.out, "process      {process_id}")?;
    writeln!(
        ctx.out,
        "sales order  (none yet: no event of this process {has} reached the saga)"
    )?;
    write!(ctx.out, "\nevents:\n{}", render::events_header())?;
    for event in events {
        write!(ctx.out, "{}", render::event_line(event, ids))?;
    }
    Ok(())
}

/// `show --json` of a process whose request has not reached the saga yet
/// (held, say): no document to print, so what there is, as the table shows.
fn without_order_json(
    ctx: &mut Context,
    process_id: uuid::Uuid,
    events: &[Envelope],
) -> anyhow::Result<()> {
    ctx.json_pretty(&serde_json::json!({
        "processId": process_id,
        "salesorder": null,
        "events": events,
    }))
}

/// `pi7 show ID --at SEQ`: the document replayed up to event `at`.
fn show_at(ctx: &mut Context, app: &App, shown: &ShownAt) -> app::Result<()> {
    let (at, last) = (shown.at, shown.last);
    let process_events = &shown.events;
    match &shown.document {
        AtDocument::Reservation { reservation, order } => {
            if ctx.json {
                return Ok(ctx.json_pretty(reservation)?);
            }
            writeln!(ctx.out, "{}\n", as_of(at, last))?;
            let ids = app.short_ids([reservation.id, reservation.process_id])?;
            let text =
                render::reservation_detail(reservation, order.as_ref(), process_events, &ids);
            write!(ctx.out, "{text}")?;
        }
        AtDocument::NoOrder => {
            if ctx.json {
                return Ok(without_order_json(ctx, shown.process_id, process_events)?);
            }
            writeln!(ctx.out, "{}\n", as_of(at, last))?;
            let ids = app.short_ids([shown.process_id])?;
            return Ok(print_no_order(
                ctx,
                shown.process_id,
                "had",
                process_events,
                &ids,
            )?);
        }
        AtDocument::Order {
            order,
            reservations,
        } => {
            if ctx.json {
                return Ok(ctx.json_pretty(order)?);
            }
            writeln!(ctx.out, "{}\n", as_of(at, last))?;
            let ids = app.short_ids(reservations.iter().map(|r| r.id).chain([shown.process_id]))?;
            write!(
                ctx.out,
                "{}",
                render::order_detail(order, reservations, process_events, &ids)
            )?;
        }
    }
    Ok(())
}

fn as_of(at: u64, last: u64) -> String {
    if at > last {
        format!("as of event {last}, the end of the log (replayed)")
    } else {
        format!("as of event {at} (replayed)")
    }
}
