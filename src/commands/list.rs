//! `pi7 list`: sales orders or reservations, as a table or JSON.

use super::Context;
use crate::app::{self, Access, ListFilter};
use crate::render;

/// List sales orders or reservations
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to list
    #[arg(value_enum, default_value_t = What::Orders)]
    pub what: What,

    /// Only those with this status (orders: pending, confirmed; reservations:
    /// unconfirmed, confirmed)
    #[arg(long)]
    pub status: Option<String>,

    /// Only those of this process (any ID of the process, or a unique prefix)
    #[arg(long, value_name = "ID")]
    pub process: Option<String>,

    /// Only those of this customer
    #[arg(long)]
    pub customer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    Orders,
    Reservations,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let app = ctx.app(Access::Read)?;
    let filter = ListFilter {
        status: args.status,
        process: args.process,
        customer: args.customer,
    };
    match args.what {
        What::Orders => {
            if ctx.json {
                let mut array = JsonArray::start(&mut *ctx.out);
                app.for_each_order(&filter, &mut |doc| array.push(&doc))?;
                return Ok(array.end()?);
            }
            let orders = app.orders(&filter)?;
            if orders.is_empty() {
                ctx.note("no sales orders match")?;
            } else {
                write!(ctx.out, "{}", render::orders_table(&orders))?;
            }
        }
        What::Reservations => {
            if ctx.json {
                let mut array = JsonArray::start(&mut *ctx.out);
                app.for_each_reservation(&filter, &mut |doc| array.push(&doc))?;
                return Ok(array.end()?);
            }
            let reservations = app.reservations(&filter)?;
            if reservations.is_empty() {
                ctx.note("no reservations match")?;
            } else {
                write!(ctx.out, "{}", render::reservations_table(&reservations))?;
            }
        }
    }
    Ok(())
}

/// An indented JSON array written one element at a time, so a listing of
/// a million documents never holds them all. Nothing is written before the
/// first element, so a listing refused up front prints nothing.
struct JsonArray<'a> {
    out: &'a mut dyn std::io::Write,
    empty: bool,
}

impl<'a> JsonArray<'a> {
    fn start(out: &'a mut dyn std::io::Write) -> Self {
        JsonArray { out, empty: true }
    }

    /// Writes `value` as `serde_json::to_writer_pretty` writes an element.
    fn push<T: serde::Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        let element = serde_json::to_string_pretty(value)?;
        self.out
            .write_all(if self.empty { b"[\n  " } else { b",\n  " })?;
        self.out
            .write_all(element.replace('\n', "\n  ").as_bytes())?;
        self.empty = false;
        Ok(())
    }

    fn end(self) -> anyhow::Result<()> {
        self.out
            .write_all(if self.empty { b"[]\n" } else { b"\n]\n" })?;
        Ok(())
    }
}
