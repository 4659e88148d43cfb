//! `pi7 rebuild`: recompute every document from the log and put the stored
//! ones right.

use serde_json::{json, Value};

use super::progress::Progress;
use super::Context;
use crate::app::{Access, Change, DocumentChange, DocumentKind};

/// How many differing fields a line names before it says "and N more".
const MAX_FIELDS: usize = 4;
/// How much of a value a line shows.
const MAX_VALUE: usize = 60;

/// Recompute every document from the log and replace the stored ones by them
///
/// Sales orders and reservations are recomputed from the event log and the
/// record of which deliveries were handled when, alone. Prints one line per document that differed (changed, missing or not
/// made by the log), then a summary; with `--json`, one JSON line
/// `{events, salesorders, reservations, differences}`. A difference is
/// fixed, not an error: the exit status is 0 either way. When the log
/// cannot be replayed (events are missing, say) it exits 1 and writes
/// nothing. All of it is one transaction.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &mut Context, _args: Args) -> crate::app::Result<()> {
    let mut app = ctx.app(Access::Write)?;
    let mut progress = Progress::new("replaying", "events");
    let rebuilt = app.rebuild(&mut |seq, last| progress.show(seq, last));
    drop(progress);
    let (rebuilt, changes) = rebuilt?;
    let (events, orders, reservations) = (
        rebuilt.events,
        rebuilt.sales_orders.len(),
        rebuilt.reservations.len(),
    );

    if ctx.json {
        let differences: Vec<Value> = changes
            .iter()
            .map(|c| {
                json!({
                    "kind": kind_name(c.kind),
                    "_id": c.id,
                    "processId": c.process_id,
                    "change": c.change.as_str(),
                    "detail": detail(c),
                    "stored": c.stored,
                    "rebuilt": c.rebuilt,
                })
            })
            .collect();
        ctx.json_line(&json!({
            "events": events,
            "salesorders": orders,
            "reservations": reservations,
            "differences": differences,
        }))?;
        return Ok(());
    }
    for change in &changes {
        writeln!(
            ctx.out,
            "{} {}: {}",
            change.kind.as_str(),
            change.id,
            detail(change)
        )?;
    }
    let outcome = match changes.len() {
        0 => "no differences".to_string(),
        1 => "1 difference (now fixed)".to_string(),
        n => format!("{n} differences (now fixed)"),
    };
    writeln!(
        ctx.out,
        "rebuilt {orders} sales order{} and {reservations} reservation{} from {events} event{}: {outcome}",
        plural(orders),
        plural(reservations),
        plural(events as usize),
    )?;
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn kind_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::SalesOrder => "salesorder",
        DocumentKind::Reservation => "reservation",
        DocumentKind::Process => "process",
    }
}

/// What differed, in one line.
fn detail(change: &DocumentChange) -> String {
    match change.change {
        Change::Missing => format!(
            "missing (process {}): the log makes it; added",
            change.process_id
        ),
        Change::Extra => format!(
            "stored (process {}) but the log does not make it; removed",
            change.process_id
        ),
        Change::Changed => {
            let mut fields = Vec::new();
            if let (Some(stored), Some(rebuilt)) = (&change.stored, &change.rebuilt) {
                diff(&mut String::new(), stored, rebuilt, &mut fields);
            }
            let shown = fields.len().min(MAX_FIELDS);
            let mut parts: Vec<String> = fields.drain(..shown).collect();
            if !fields.is_empty() {
                parts.push(format!("and {} more", fields.len()));
            }
            parts.extend(change.columns.iter().cloned());
            format!("differs from the log: {}; replaced", parts.join("; "))
        }
    }
}

/// The paths (`/object/status`) where `stored` and `rebuilt` differ, with
/// both values.
fn diff(path: &mut String, stored: &Value, rebuilt: &Value, found: &mut Vec<String>) {
    match (stored, rebuilt) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            for key in keys {
                let len = path.len();
                path.push('/');
                path.push_str(key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff(path, x, y, found),
                    (x, y) => found.push(field(path, x, y)),
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("/{index}"));
                diff(path, x, y, found);
                path.truncate(len);
            }
        }
        (a, b) if a != b => found.push(field(path, Some(a), Some(b))),
        _ => {}
    }
}

fn field(path: &str, stored: Option<&Value>, rebuilt: Option<&Value>) -> String {
    let show = |v: Option<&Value>| match v {
        None => "nothing".to_string(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > MAX_VALUE {
                format!("{}…", text.chars().take(MAX_VALUE).collect::<String>())
            } else {
                text
            }
        }
    };
    let path = if path.is_empty() { "/" } else { path };
    format!(
        "{path} is {} but the log makes {}",
        show(stored),
        show(rebuilt)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_differing_field_with_both_values() {
        let stored =
            json!({"_id": "a", "object": {"status": "confirmed", "history": [1, 2], "x": 1}});
        let rebuilt = json!({"_id": "a", "object": {"status": "unconfirmed", "history": [1]}});
        let mut found = Vec::new();
        diff(&mut String::new(), &stored, &rebuilt, &mut found);
        assert_eq!(
            found,
            [
                "/object/status is \"confirmed\" but the log makes \"unconfirmed\"",
                "/object/history is [1,2] but the log makes [1]",
                "/object/x is 1 but the log makes nothing",
            ]
        );
    }
}
