//! `pi7 submit`: a customer's order enters the system as `salesorder/request`.

use std::io::{Read, Write};
use std::path::PathBuf;

use super::Context;
use crate::app::{self, Access, App, EventFilter};
use crate::domain::order::parse_orders;
use crate::domain::Topic;
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
    #[arg(long, value_name = "ID", add = super::completions::pending_orders())]
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
            let start = app.last_seq()?;
            report_on_interrupt(ctx.db_path()?, start);
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
                    render::clip(o.object.customer.as_deref().unwrap_or("?"), 16),
                    o.object.status
                )
            }
            None => text += "sales order  (not made yet: the request is held)\n",
        }
        let width = one
            .reservations
            .iter()
            .map(|r| render::width(&render::clip(&r.object.reserved, 16)))
            .max()
            .unwrap_or(0);
        for r in &one.reservations {
            // Padded by display width: `format!`'s `{:<width$}` counts chars.
            let reserved = render::clip(&r.object.reserved, 16);
            let pad = " ".repeat(width - render::width(&reserved));
            text += &format!(
                "reservation  {}  {reserved}{pad}  {}\n",
                r.id, r.object.status
            );
        }
        writeln!(ctx.out, "{text}")?;
    }
    Ok(())
}

/// The processes of the orders this submit records: what a Ctrl-C says.
/// On Ctrl-C, says what was recorded and how to finish, then exits 130. A
/// bulk submit writes its orders in one transaction, then delivers them;
/// stopped in between, the orders are there with their deliveries pending,
/// and an interrupted transaction is rolled back whole. What was recorded is
/// read from the log: the requests after `start`, the last seq before the
/// submit began.
fn report_on_interrupt(db: PathBuf, start: u64) {
    // Only one handler per process; a second call changes nothing.
    let _ = ctrlc::set_handler(move || {
        // Another connection sees what stays: the transaction this exit
        // interrupts is rolled back.
        let mut processes = Vec::new();
        let mut pending = None;
        // Holding the write lock until exit lets the transaction in flight
        // commit first and no other after it, so what is counted is what
        // stays.
        let _lock = app::hold_writes(&db);
        if let Ok(app) = App::open(&db, Access::Read, app::Options::default()) {
            let requests = EventFilter {
                since: start,
                topic: Some(Topic::SalesOrderRequest),
                ..EventFilter::default()
            };
            let _ = app.for_each_event(&requests, &mut |e| {
                processes.push(e.process_id);
                Ok(())
            });
            pending = app.deliveries(false, None, None).ok().map(|d| d.len());
        }
        let mut err = std::io::stderr().lock();
        if processes.is_empty() {
            let _ = writeln!(
                err,
                "pi7: interrupted before the orders were recorded: nothing was written"
            );
        } else {
            for process_id in &processes {
                let _ = writeln!(err, "process      {process_id}");
            }
            let _ = writeln!(
                err,
                "pi7: interrupted: {} recorded (processIds above); {} deliveries pending; \
                 `pi7 dispatch` delivers them",
                render::count(processes.len(), "order"),
                pending.map_or("some".to_string(), |n| n.to_string())
            );
        }
        std::process::exit(i32::from(crate::error::INTERRUPTED));
    });
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
    let mut text = String::from_utf8(bytes)
        .map_err(|e| InputError(format!("{source_name} is not UTF-8 text: {e}")))?;
    // Windows editors start UTF-8 files with a byte-order mark; it is not
    // part of the JSON.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok((source_name, text))
}
