//! `pi7 cancel`: the customer withdraws an order.

use super::list::process_of;
use super::Context;
use crate::operations;
use crate::render;
use crate::store::{OpenMode, Store};

/// Cancel a pending order for the customer: it becomes `cancelled` and
/// publishes `salesorder/cancel`, and every reservation of it is released
///
/// A confirmed order cannot be cancelled (exit 2); cancelling a cancelled
/// order changes nothing, and that is said on stderr.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A sales-order, process or reservation ID of the order, or a unique
    /// prefix of at least 4 characters
    #[arg(value_name = "ID")]
    pub id: String,

    /// Why, as the order will say
    #[arg(long, default_value = "no reason given")]
    pub reason: String,
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let mut store = ctx.open(OpenMode::ReadWrite)?;
    let process_id = process_of(&store, &args.id)?;
    let now = ctx.now;
    let acted =
        store.transaction(&mut |tx| operations::withdraw(tx, process_id, &args.reason, now))?;
    ctx.log(&acted.log)?;
    if !acted.changed {
        ctx.note(&format!(
            "the order of process {process_id} is already cancelled; nothing changed"
        ))?;
    }
    ctx.settle(&mut store)?;
    if let Some(order) = store.sales_order_by_process(process_id)? {
        if ctx.json {
            ctx.json_line(&order)?;
        } else {
            writeln!(ctx.out, "{}", render::order_summary(&order))?;
        }
    }
    Ok(())
}
