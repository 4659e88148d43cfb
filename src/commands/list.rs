//! `pi7 list`: sales orders or reservations, as a table or JSON.

use super::Context;
use crate::app::{self, Access, ListFilter};
use crate::domain::{OrderStatus, ReservationStatus};
use crate::render;

/// List sales orders or reservations
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to list
    #[arg(value_enum, default_value_t = What::Orders)]
    pub what: What,

    /// Only those with this status (orders: pending, confirmed, cancelled;
    /// reservations: unconfirmed, confirmed, rejected, released)
    #[arg(long, value_parser = StatusParser, hide_possible_values = true)]
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
                let ids = app.short_ids(orders.iter().flat_map(|o| [o.id, o.process_id]))?;
                write!(ctx.out, "{}", render::orders_table(&orders, &ids))?;
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
                let ids = app.short_ids(reservations.iter().flat_map(|r| [r.id, r.process_id]))?;
                write!(
                    ctx.out,
                    "{}",
                    render::reservations_table(&reservations, &ids)
                )?;
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

/// Takes any text (which statuses apply depends on what is listed, and the
/// listing says so), and offers every status to shell completion.
#[derive(Debug, Clone, Copy)]
struct StatusParser;

impl clap::builder::TypedValueParser for StatusParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let mut statuses: Vec<&'static str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        for status in ReservationStatus::ALL {
            if !statuses.contains(&status.as_str()) {
                statuses.push(status.as_str());
            }
        }
        Some(Box::new(
            statuses.into_iter().map(clap::builder::PossibleValue::new),
        ))
    }
}
