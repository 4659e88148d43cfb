//! `pi7 cancel`: the customer withdraws an order.

use super::Context;
use crate::app::{self, Access};
use crate::render;

/// Cancel a pending order for the customer: it becomes `cancelled` and
/// publishes `salesorder/cancel`, and every reservation of it is released
///
/// A confirmed order cannot be cancelled (exit 2); cancelling a cancelled
/// order changes nothing, and that is said on stderr.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A sales-order, process or reservation ID of the order, or a unique
    /// prefix of at least 4 characters
    #[arg(value_name = "ID", add = super::completions::pending_orders())]
    pub id: String,

    /// Why, as the order will say
    #[arg(long, default_value = "no reason given", value_parser = super::confirm::reason)]
    pub reason: String,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let mut app = ctx.app(Access::Write)?;
    let cancelled = app.cancel(&args.id, &args.reason);
    ctx.diagnose(&mut app)?;
    if let Some(order) = cancelled? {
        if ctx.json {
            ctx.json_line(&order)?;
        } else {
            writeln!(
                ctx.out,
                "{}",
                render::order_summary(&order, &app.short_ids([order.id])?)
            )?;
        }
    }
    Ok(())
}
