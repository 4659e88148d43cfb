//! `pi7 show`: one sales order, reservation or process in detail.

use super::lookup::{resolve, LookupError};
use super::Context;
use crate::domain::Envelope;
use crate::render;
use crate::store::{DocumentKind, OpenMode, SqliteStore};

/// Show a sales order, a reservation or a process: its document, lines,
/// history and the events of its process
///
/// With `--json`, prints the one document the ID names; a process ID names
/// its sales order.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A sales-order, reservation or process ID, or a unique prefix of at
    /// least 4 characters
    #[arg(value_name = "ID")]
    pub id: String,
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let store = ctx.open(OpenMode::ReadOnly)?;
    let kinds = [
        DocumentKind::SalesOrder,
        DocumentKind::Reservation,
        DocumentKind::Process,
    ];
    let found = resolve(&store, &args.id, &kinds)?;
    let events = process_events(&store, found.process_id)?;
    match found.kind {
        DocumentKind::Reservation => {
            let reservation =
                store
                    .reservation_by_id(found.id)?
                    .ok_or_else(|| LookupError::NotFound {
                        prefix: found.id.to_string(),
                        what: "reservation".into(),
                    })?;
            if ctx.json {
                return ctx.json_pretty(&reservation);
            }
            let order = store.sales_order_by_process(found.process_id)?;
            let text = render::reservation_detail(&reservation, order.as_ref(), &events);
            write!(ctx.out, "{text}")?;
        }
        DocumentKind::SalesOrder | DocumentKind::Process => {
            let Some(order) = store.sales_order_by_process(found.process_id)? else {
                if ctx.json {
                    return Err(LookupError::NotFound {
                        prefix: found.id.to_string(),
                        what: "sales order (its request has not been delivered yet) for any process that".into(),
                    }
                    .into());
                }
                writeln!(ctx.out, "process      {}", found.process_id)?;
                writeln!(
                    ctx.out,
                    "sales order  (none yet: no event of this process has reached the saga)"
                )?;
                write!(ctx.out, "\nevents:\n{}", render::events_header())?;
                for event in &events {
                    write!(ctx.out, "{}", render::event_line(event))?;
                }
                return Ok(());
            };
            if ctx.json {
                return ctx.json_pretty(&order);
            }
            let reservations = store.reservations_of(found.process_id)?;
            write!(
                ctx.out,
                "{}",
                render::order_detail(&order, &reservations, &events)
            )?;
        }
    }
    Ok(())
}

fn process_events(store: &SqliteStore, process_id: uuid::Uuid) -> anyhow::Result<Vec<Envelope>> {
    let mut events = Vec::new();
    store.for_each_event(0, Some(process_id), None, &mut |e| {
        events.push(e);
        Ok(())
    })?;
    Ok(events)
}
