//! `pi7 submit`: a customer's order enters the system as `salesorder/request`.

use std::io::Read;

use super::Context;
use crate::app::{self, Access};
use crate::domain::order::parse_orders;
use crate::error::{BadOrder, InputError};
use crate::render;

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

    /// Amend the pending order of this process instead (any ID of the
    /// process, or a unique prefix): its lines become the file's one order's
    /// lines, merged by line id; confirmed lines stay confirmed, new lines
    /// get reservations, removed lines' reservations are released
    #[arg(long, value_name = "ID")]
    pub process: Option<String>,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let (source_name, text) = read_input(&args.file)?;
    let orders = parse_orders(&text).map_err(|error| BadOrder {
        source_name: source_name.clone(),
        error,
    })?;
    let mut app = ctx.app(Access::Write)?;
    let submitted = match &args.process {
        Some(id) => {
            let [order] = orders.as_slice() else {
                return Err(InputError(format!(
                    "{source_name} holds {} orders; an amendment is one order",
                    orders.len()
                ))
                .into());
            };
            let amended = app.amend(id, order);
            ctx.diagnose(&mut app)?;
            vec![amended?]
        }
        None => {
            let submitted = app.submit(&orders);
            ctx.diagnose(&mut app)?;
            match submitted {
                Ok(submitted) => submitted,
                Err(e) => {
                    for process_id in &e.recorded {
                        if ctx.json {
                            ctx.json_line(&serde_json::json!({ "processId": process_id }))?;
                        } else {
                            writeln!(
                                ctx.out,
                                "process      {process_id}  (recorded, not delivered)"
                            )?;
                        }
                    }
                    return Err(e);
                }
            }
        }
    };
    for one in submitted {
        if ctx.json {
            ctx.json_line(&one)?;
            continue;
        }
        let mut text = format!("process      {}\n", one.process_id);
        match &one.salesorder {
            Some(o) => {
                text += &format!(
                    "sales order  {}  {}  {}\n",
                    o.id,
                    render::clean(o.object.customer.as_deref().unwrap_or("?")),
                    o.object.status
                )
            }
            None => text += "sales order  (not made yet: the request is held)\n",
        }
        let width = one
            .reservations
            .iter()
            .map(|r| render::clip(&r.object.reserved, 16).chars().count())
            .max()
            .unwrap_or(0);
        for r in &one.reservations {
            text += &format!(
                "reservation  {}  {:<width$}  {}\n",
                r.id,
                render::clip(&r.object.reserved, 16),
                r.object.status
            );
        }
        writeln!(ctx.out, "{text}")?;
    }
    Ok(())
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
