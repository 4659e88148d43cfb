//! `pi7 list`: sales orders or reservations, as a table or JSON.

use uuid::Uuid;

use super::lookup::resolve;
use super::Context;
use crate::domain::{OrderStatus, ReservationStatus};
use crate::error::InputError;
use crate::render;
use crate::store::{DocumentKind, OpenMode, SqliteStore};

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

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let store = ctx.open(OpenMode::ReadOnly)?;
    let status = args
        .status
        .as_deref()
        .map(|s| check_status(args.what, s))
        .transpose()?;
    let process = args
        .process
        .as_deref()
        .map(|text| process_of(&store, text))
        .transpose()?;
    let customer = args.customer.as_deref();
    match args.what {
        What::Orders => {
            if ctx.json {
                let mut array = JsonArray::start(&mut *ctx.out)?;
                store
                    .for_each_sales_order(status, process, customer, &mut |doc| array.push(&doc))?;
                return array.end();
            }
            let orders = store.list_sales_orders(status, process, customer)?;
            if orders.is_empty() {
                ctx.note("no sales orders match")?;
            } else {
                write!(ctx.out, "{}", render::orders_table(&orders))?;
            }
        }
        What::Reservations => {
            if ctx.json {
                let mut array = JsonArray::start(&mut *ctx.out)?;
                store
                    .for_each_reservation(status, process, customer, &mut |doc| array.push(&doc))?;
                return array.end();
            }
            let reservations = store.list_reservations(status, process, customer)?;
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
/// a million documents never holds them all.
struct JsonArray<'a> {
    out: &'a mut dyn std::io::Write,
    empty: bool,
}

impl<'a> JsonArray<'a> {
    fn start(out: &'a mut dyn std::io::Write) -> std::io::Result<Self> {
        out.write_all(b"[")?;
        Ok(JsonArray { out, empty: true })
    }

    /// Writes `value` as `serde_json::to_writer_pretty` writes an element.
    fn push<T: serde::Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        let element = serde_json::to_string_pretty(value)?;
        self.out
            .write_all(if self.empty { b"\n  " } else { b",\n  " })?;
        self.out
            .write_all(element.replace('\n', "\n  ").as_bytes())?;
        self.empty = false;
        Ok(())
    }

    fn end(self) -> anyhow::Result<()> {
        self.out
            .write_all(if self.empty { b"]\n" } else { b"\n]\n" })?;
        Ok(())
    }
}

fn check_status(what: What, status: &str) -> Result<&'static str, InputError> {
    let known: Vec<&'static str> = match what {
        What::Orders => OrderStatus::ALL.iter().map(|s| s.as_str()).collect(),
        What::Reservations => ReservationStatus::ALL.iter().map(|s| s.as_str()).collect(),
    };
    known
        .iter()
        .find(|k| **k == status)
        .copied()
        .ok_or_else(|| {
            let noun = match what {
                What::Orders => "order",
                What::Reservations => "reservation",
            };
            InputError(format!(
                "unknown {noun} status '{status}' (known: {})",
                known.join(", ")
            ))
        })
}

/// The process that an ID of any kind belongs to.
pub fn process_of(store: &SqliteStore, text: &str) -> anyhow::Result<Uuid> {
    let kinds = [
        DocumentKind::Process,
        DocumentKind::SalesOrder,
        DocumentKind::Reservation,
    ];
    Ok(resolve(store, text, &kinds)?.process_id)
}
