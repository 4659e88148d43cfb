//! `pi7 show`: one sales order, reservation or process in detail.

use super::Context;
use crate::app::lookup::{resolve, short_ids, LookupError};
use crate::app::{self, Access};
use crate::domain::Envelope;
use crate::error::Violations;
use crate::render::{self, ShortIds};
use crate::replay::rebuild;
use crate::store::{AnyStore, DocumentKind, Found, OpenMode, Queries};

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
    if let Some(at) = args.at {
        // Replaying up to a seq is the event log's business, not a use case
        // yet: it reads the store directly.
        let store = ctx.open(OpenMode::ReadOnly)?;
        let kinds = [
            DocumentKind::SalesOrder,
            DocumentKind::Reservation,
            DocumentKind::Process,
        ];
        let found = resolve(&store, &args.id, &kinds)?;
        return Ok(show_at(ctx, &store, &found, at)?);
    }
    let app = ctx.app(Access::Read)?;
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

/// Stops `for_each_event` once it is past the events a replay needs.
#[derive(Debug, thiserror::Error)]
#[error("past the events asked for")]
struct PastTheEnd;

/// `pi7 show ID --at SEQ`: the document replayed up to event `at`.
fn show_at(ctx: &mut Context, store: &AnyStore, found: &Found, at: u64) -> anyhow::Result<()> {
    let mut events = Vec::new();
    let read = store.for_each_event(0, None, None, &mut |e| {
        if e.seq > at {
            return Err(PastTheEnd.into());
        }
        events.push(e);
        Ok(())
    });
    match read {
        Err(e) if !e.is::<PastTheEnd>() => return Err(e),
        _ => {}
    }
    let rebuilt = rebuild(store, at, &mut |_| {}).map_err(|e| {
        Violations(format!(
            "cannot replay the log up to event {at}: {e} (`pi7 verify` checks the database)"
        ))
    })?;
    let last = events.last().map_or(0, |e| e.seq);
    let process_events: Vec<Envelope> = events
        .into_iter()
        .filter(|e| e.process_id == found.process_id)
        .collect();
    // "no reservation that existed just after event 4 has an ID starting with …"
    let not_yet = |what: &str| LookupError::NotFound {
        prefix: found.id.to_string(),
        what: what.to_string(),
    };
    let existed = format!("that existed just after event {at}");
    let order = rebuilt.sales_orders.get(&found.process_id);
    match found.kind {
        DocumentKind::Reservation => {
            let reservation = rebuilt
                .reservations
                .get(&found.id)
                .ok_or_else(|| not_yet(&format!("reservation {existed}")))?;
            if ctx.json {
                return ctx.json_pretty(reservation);
            }
            writeln!(ctx.out, "{}\n", as_of(at, last))?;
            let ids = short_ids(store, [reservation.id, reservation.process_id])?;
            let text = render::reservation_detail(reservation, order, &process_events, &ids);
            write!(ctx.out, "{text}")?;
        }
        DocumentKind::SalesOrder | DocumentKind::Process => {
            let order = order.filter(|o| found.kind == DocumentKind::Process || o.id == found.id);
            let Some(order) = order else {
                let what = match found.kind {
                    DocumentKind::SalesOrder => format!("sales order {existed}"),
                    _ if process_events.is_empty() => {
                        format!("process that had begun by event {at}")
                    }
                    _ => format!("sales order {existed} for any process that"),
                };
                if found.kind == DocumentKind::SalesOrder || process_events.is_empty() {
                    return Err(not_yet(&what).into());
                }
                if ctx.json {
                    return without_order_json(ctx, found.process_id, &process_events);
                }
                writeln!(ctx.out, "{}\n", as_of(at, last))?;
                let ids = short_ids(store, [found.process_id])?;
                return print_no_order(ctx, found.process_id, "had", &process_events, &ids);
            };
            if ctx.json {
                return ctx.json_pretty(order);
            }
            // In the order of the order's lines, as `show` lists them.
            let mut reservations: Vec<_> = rebuilt
                .reservations
                .values()
                .filter(|r| r.process_id == found.process_id)
                .cloned()
                .collect();
            let lines = &order.object.reservations;
            reservations.sort_by_key(|r| {
                lines
                    .iter()
                    .position(|l| l.reservation_id == r.id)
                    .unwrap_or(usize::MAX)
            });
            writeln!(ctx.out, "{}\n", as_of(at, last))?;
            let ids = short_ids(
                store,
                reservations.iter().map(|r| r.id).chain([found.process_id]),
            )?;
            write!(
                ctx.out,
                "{}",
                render::order_detail(order, &reservations, &process_events, &ids)
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
