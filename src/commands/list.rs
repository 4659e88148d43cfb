//! `pi7 list`: sales orders or reservations, as a table or JSON.

use super::Context;
use crate::app::{self, Access, ListFilter};
use crate::domain::{OrderStatus, ReservationStatus};
use crate::error::InputError;
use crate::render;
use clap::ValueEnum as _;

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
    #[arg(long, value_name = "ID", add = super::completions::any_id())]
    pub process: Option<String>,

    /// Only those of this customer
    #[arg(long)]
    pub customer: Option<String>,

    /// In this order instead of the order they were made: `status`,
    /// `customer` (orders), `reserved` or `since` (reservations: when their
    /// status last changed)
    #[arg(long, value_enum, value_name = "KEY")]
    pub sort: Option<SortKey>,

    /// The other way round (with `--sort`, or newest first without)
    #[arg(long)]
    pub reverse: bool,

    /// At most this many (after sorting)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    Status,
    Customer,
    Reserved,
    Since,
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
    let arranged = args.sort.is_some() || args.reverse || args.limit.is_some();
    let limit = args.limit.map_or(usize::MAX, |n| n as usize);
    match (args.what, args.sort) {
        (What::Orders, Some(key @ (SortKey::Reserved | SortKey::Since)))
        | (What::Reservations, Some(key @ SortKey::Customer)) => {
            return Err(InputError(format!(
                "--sort {} does not apply to {}: orders sort by status or customer, \
                 reservations by status, reserved or since",
                key.to_possible_value()
                    .map_or("?".into(), |v| v.get_name().to_string()),
                match args.what {
                    What::Orders => "orders",
                    What::Reservations => "reservations",
                }
            ))
            .into());
        }
        _ => {}
    }
    match args.what {
        What::Orders => {
            if ctx.json && !arranged {
                let mut array = JsonArray::start(&mut *ctx.out);
                app.for_each_order(&filter, &mut |doc| array.push(&doc))?;
                return Ok(array.end()?);
            }
            let mut orders = app.orders(&filter)?;
            match args.sort {
                // In the order of their lifecycle: pending, confirmed, cancelled.
                Some(SortKey::Status) => orders
                    .sort_by_key(|o| OrderStatus::ALL.iter().position(|s| *s == o.object.status)),
                Some(SortKey::Customer) => {
                    orders.sort_by(|a, b| a.object.customer.cmp(&b.object.customer))
                }
                _ => {}
            }
            if args.reverse {
                orders.reverse();
            }
            orders.truncate(limit);
            if ctx.json {
                return Ok(ctx.json_pretty(&orders)?);
            }
            if orders.is_empty() {
                ctx.note("no sales orders match")?;
            } else {
                let ids = app.short_ids(orders.iter().flat_map(|o| [o.id, o.process_id]))?;
                write!(
                    ctx.out,
                    "{}",
                    render::orders_table(&orders, &ids, ctx.width())
                )?;
            }
        }
        What::Reservations => {
            if ctx.json && !arranged {
                let mut array = JsonArray::start(&mut *ctx.out);
                app.for_each_reservation(&filter, &mut |doc| array.push(&doc))?;
                return Ok(array.end()?);
            }
            let mut reservations = app.reservations(&filter)?;
            match args.sort {
                Some(SortKey::Status) => reservations.sort_by_key(|r| {
                    ReservationStatus::ALL
                        .iter()
                        .position(|s| *s == r.object.status)
                }),
                Some(SortKey::Reserved) => {
                    reservations.sort_by(|a, b| a.object.reserved.cmp(&b.object.reserved))
                }
                Some(SortKey::Since) => {
                    reservations.sort_by_key(|r| r.object.history.last().map(|h| h.time))
                }
                _ => {}
            }
            if args.reverse {
                reservations.reverse();
            }
            reservations.truncate(limit);
            if ctx.json {
                return Ok(ctx.json_pretty(&reservations)?);
            }
            if reservations.is_empty() {
                ctx.note("no reservations match")?;
            } else {
                let ids = app.short_ids(reservations.iter().flat_map(|r| [r.id, r.process_id]))?;
                write!(
                    ctx.out,
                    "{}",
                    render::reservations_table(&reservations, &ids, ctx.width())
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
