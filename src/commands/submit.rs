//! `pi7 submit`: a customer's order enters the system as `salesorder/request`.

use std::io::Read;
use uuid::Uuid;

use super::Context;
use crate::dispatch::publish;
use crate::domain::event::SalesOrderRequested;
use crate::domain::order::{parse_orders, OrderRequest};
use crate::domain::{NewEvent, Source, Topic};
use crate::error::{BadOrder, InputError};
use crate::store::{OpenMode, Store};

/// Submit one order or many: assigns each a processId, publishes
/// `salesorder/request` and delivers it
///
/// An order is `{"customer": "...", "reservations": [{"id": 1, "reserved": "..."}]}`.
/// The input holds one order, a JSON array of orders, or JSON Lines. Nothing
/// is written unless every order in the input is valid.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The order file; `-` reads standard input
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: String,
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let (source_name, text) = read_input(&args.file)?;
    let orders = parse_orders(&text).map_err(|error| BadOrder { source_name, error })?;
    let mut store = ctx.open(OpenMode::ReadWrite)?;
    let processes: Vec<Uuid> = orders.iter().map(|_| Uuid::new_v4()).collect();
    let now = ctx.now;
    let log = store.transaction(&mut |tx| {
        let mut log = Vec::new();
        for (order, process_id) in orders.iter().zip(&processes) {
            log.push("web: received sales order request".to_string());
            log.push(format!("     assigned processId {process_id}"));
            log.push("     publishing sales order request event".to_string());
            publish(tx, request_event(order, *process_id, now), &mut log)?;
        }
        Ok(log)
    })?;
    ctx.log(&log)?;
    ctx.settle(&mut store)?;
    for process_id in processes {
        let order = store.sales_order_by_process(process_id)?;
        let reservations = store.reservations_of(process_id)?;
        if ctx.json {
            ctx.json_line(&serde_json::json!({
                "processId": process_id,
                "salesorder": order,
                "reservations": reservations,
            }))?;
            continue;
        }
        let mut text = format!("process      {process_id}\n");
        match &order {
            Some(o) => {
                text += &format!(
                    "sales order  {}  {}  {}\n",
                    o.id,
                    o.object.customer.as_deref().unwrap_or("?"),
                    o.object.status
                )
            }
            None => text += "sales order  (not made yet: the request is held)\n",
        }
        let width = reservations
            .iter()
            .map(|r| r.object.reserved.chars().count())
            .max()
            .unwrap_or(0);
        for r in &reservations {
            text += &format!(
                "reservation  {}  {:<width$}  {}\n",
                r.id, r.object.reserved, r.object.status
            );
        }
        writeln!(ctx.out, "{text}")?;
    }
    Ok(())
}

fn request_event(order: &OrderRequest, process_id: Uuid, now: i64) -> NewEvent {
    let payload = SalesOrderRequested {
        process_id,
        salesorder: order.clone(),
    };
    NewEvent {
        id: Uuid::new_v4(),
        topic: Topic::SalesOrderRequest,
        process_id,
        causation_id: None,
        source: Source::Web,
        time: now,
        payload: serde_json::to_value(payload).expect("a payload always serializes"),
    }
}

/// Reads a whole input named on the command line (`-` is stdin), returning
/// the name to use in messages and the text.
pub fn read_input(name: &str) -> Result<(String, String), InputError> {
    let mut bytes = Vec::new();
    let source_name = if name == "-" {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| InputError(format!("cannot read standard input: {e}")))?;
        "<stdin>".to_string()
    } else {
        bytes = std::fs::read(name).map_err(|e| InputError(format!("cannot read {name}: {e}")))?;
        name.to_string()
    };
    let text = String::from_utf8(bytes)
        .map_err(|e| InputError(format!("{source_name} is not UTF-8 text: {e}")))?;
    Ok((source_name, text))
}
