//! `pi7 submit`: a customer's order enters the system as `salesorder/request`.

use std::io::Write;
use std::path::PathBuf;

use super::input::{read_input, Input};
use super::Context;
use crate::app::{self, Access, App, EventFilter};
use crate::domain::order::{parse_orders, OrderRequest};
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
    if let Some(id) = &args.process {
        return amend(ctx, id, &args.file);
    }
    let mut orders = OrderStream::new(Input::open(&args.file)?);
    let path = ctx.db_path()?;
    let existed = ctx.db_exists()?;
    let mut app = ctx.app(Access::Write)?;
    let start = app.last_seq()?;
    report_on_interrupt(path.clone(), start);
    let recorded = app.submit_all(&mut orders);
    ctx.diagnose(&mut app)?;
    let recorded = match recorded {
        Ok(recorded) => recorded,
        Err(e) if !existed && app.last_seq().is_ok_and(|seq| seq == 0) => {
            // The orders are read as they are written: a bad one found
            // after the database was made leaves nothing behind, as one
            // found before would have.
            drop(app);
            app::remove_new_database(&path);
            return Err(e);
        }
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
    };
    app.for_each_submitted(&recorded, &mut |one| show(ctx, &one))
}

/// `--process`: the file's one order becomes the lines of that process.
fn amend(ctx: &mut Context, id: &str, file: &str) -> app::Result<()> {
    let (source_name, text) = read_input(file)?;
    let orders = parse_orders(&text).map_err(|error| BadOrder {
        source_name: source_name.clone(),
        error,
    })?;
    let [order] = orders.as_slice() else {
        return Err(InputError(format!(
            "{source_name} holds {} orders; an amendment is one order",
            orders.len()
        ))
        .into());
    };
    let mut app = ctx.app(Access::Write)?;
    let amended = app.amend(id, order);
    ctx.diagnose(&mut app)?;
    show(ctx, &amended?)
}

/// Prints one submitted order: a JSON line, or its documents in columns.
fn show(ctx: &mut Context, one: &app::Submitted) -> app::Result<()> {
    if ctx.json {
        ctx.json_line(one)?;
        return Ok(());
    }
    use std::fmt::Write as _;
    // One string, written once: the lines of an order stay together, and a
    // bulk submit prints thousands of them.
    let mut text = String::with_capacity(128 * (2 + one.reservations.len()));
    let _ = writeln!(text, "process      {}", one.process_id);
    match &one.salesorder {
        Some(o) => {
            let _ = writeln!(
                text,
                "sales order  {}  {}  {}",
                o.id,
                render::clip(o.object.customer.as_deref().unwrap_or("?"), 16),
                o.object.status
            );
        }
        None => text.push_str("sales order  (not made yet: the request is held)\n"),
    }
    let reserved: Vec<(String, usize)> = one
        .reservations
        .iter()
        .map(|r| {
            let clipped = render::clip(&r.object.reserved, 16);
            let width = render::width(&clipped);
            (clipped, width)
        })
        .collect();
    let width = reserved.iter().map(|(_, w)| *w).max().unwrap_or(0);
    for (r, (clipped, w)) in one.reservations.iter().zip(&reserved) {
        // Padded by display width: `format!`'s `{:<width$}` counts chars.
        let _ = writeln!(
            text,
            "reservation  {}  {clipped}{:pad$}  {}",
            r.id,
            "",
            r.object.status,
            pad = width - w
        );
    }
    writeln!(ctx.out, "{text}")?;
    Ok(())
}

/// Orders read from an input one JSON value at a time, as
/// [`parse_orders`] reads a whole text, with errors that point where its
/// would. JSON Lines (or objects one after another, however many lines
/// each takes) never hold more than one order in memory; a JSON array is
/// one value, read whole.
struct OrderStream {
    input: Input,
    /// Orders parsed and not yet given out.
    ready: std::collections::VecDeque<OrderRequest>,
    /// Whether any order was found.
    found: bool,
    /// Whether the input is a JSON array (one value, read whole) rather
    /// than orders one after another: its first value decides.
    array: Option<bool>,
    done: bool,
}

impl OrderStream {
    fn new(input: Input) -> Self {
        OrderStream {
            input,
            ready: Default::default(),
            found: false,
            array: None,
            done: false,
        }
    }

    fn parse(&mut self) -> anyhow::Result<()> {
        let Some((first, chunk)) = self.input.chunk()? else {
            self.done = true;
            if !self.found {
                let error = crate::domain::order::OrderError {
                    location: crate::domain::order::Location { line: 1, column: 1 },
                    message: "no order in the input".into(),
                };
                return Err(self.bad(error).into());
            }
            return Ok(());
        };
        if self.found && chunk.trim().is_empty() {
            return Ok(());
        }
        // What the whole text's parser would say of a value after the
        // first that does not fit the input's form.
        let starts_array = chunk.trim_start().starts_with('[');
        match self.array {
            None => self.array = Some(starts_array),
            Some(true) => return Err(self.bad_at(first, &chunk, "trailing characters").into()),
            Some(false) if starts_array => {
                return Err(self
                    .bad_at(first, &chunk, "an order must be a JSON object")
                    .into())
            }
            Some(false) => {}
        }
        let orders = parse_orders(&chunk).map_err(|mut error| {
            // The chunk starts a line: only lines move.
            error.location.line += first - 1;
            self.bad(error)
        })?;
        self.found = true;
        self.ready.extend(orders);
        Ok(())
    }

    /// `message` about the first value of `chunk`, which starts line `first`.
    fn bad_at(&self, first: usize, chunk: &str, message: &str) -> BadOrder {
        let before = &chunk[..chunk.len() - chunk.trim_start().len()];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        self.bad(crate::domain::order::OrderError {
            location: crate::domain::order::Location {
                line: first + before.matches('\n').count(),
                column: before[line_start..].chars().count() + 1,
            },
            message: message.into(),
        })
    }

    fn bad(&self, error: crate::domain::order::OrderError) -> BadOrder {
        BadOrder {
            source_name: self.input.source_name().to_string(),
            error,
        }
    }
}

impl Iterator for OrderStream {
    type Item = anyhow::Result<OrderRequest>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.ready.is_empty() && !self.done {
            if let Err(e) = self.parse() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.ready.pop_front().map(Ok)
    }
}

/// The processes of the orders this submit records: what a Ctrl-C says.
/// On Ctrl-C, says what was recorded and how to finish, then exits 130. A
/// bulk submit writes and delivers its orders in one transaction, which an
/// interruption rolls back whole; stopped after it, while work an earlier
/// command held back is delivered, the orders are there, and what is left
/// is pending. What was recorded is
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
