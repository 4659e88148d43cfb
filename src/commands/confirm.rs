//! `pi7 confirm`: a person confirms reservations. The same rendering serves
//! `pi7 reject` and `pi7 expire`.

use std::io::BufRead;

use super::progress::Progress;
use super::Context;
use crate::app::{self, Access, App, Decided, Decision};
use crate::error::InputError;
use crate::render;

/// Confirm reservations: each publishes `reservation/confirm`, and the sales
/// order is confirmed once all its lines are
///
/// A reservation that is not unconfirmed any more (already confirmed,
/// rejected or released) changes nothing, and that is said on stderr. Every
/// ID is looked up before anything is written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reservation IDs, or unique prefixes of at least 4 characters; `-`
    /// reads IDs from standard input, one a line
    #[arg(required = true, value_name = "ID", add = crate::commands::completions::undecided())]
    pub ids: Vec<String>,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let texts = expand_stdin(args.ids)?;
    decide(ctx, &texts, &Decision::Confirm)
}

fn decide(ctx: &mut Context, texts: &[String], decision: &Decision) -> app::Result<()> {
    let mut app = ctx.app(Access::Write)?;
    let doing = match decision {
        Decision::Confirm => "confirming",
        Decision::Reject { .. } => "rejecting",
    };
    let mut progress = Progress::new(doing, "reservations");
    let decided = app.decide_with_progress(texts, decision, &mut |done, total| {
        progress.show(done, total)
    });
    drop(progress);
    ctx.diagnose(&mut app)?;
    let decided = print_recorded(ctx, decision, decided)?;
    print_decided(ctx, &app, &decided, decision)
}

/// After a failure, the reservations the command decided all the same (its
/// error says "ids on stdout"), one a line, so that nobody has to guess
/// which decisions stand.
pub fn print_recorded(
    ctx: &mut Context,
    decision: &Decision,
    decided: app::Result<Decided>,
) -> app::Result<Decided> {
    let e = match decided {
        Ok(decided) => return Ok(decided),
        Err(e) => e,
    };
    for id in &e.recorded {
        if ctx.json {
            ctx.json_line(&serde_json::json!({ "_id": id, "recorded": true }))?;
        } else {
            writeln!(
                ctx.out,
                "{:<12} {id}  (recorded, not delivered)",
                decision.past_tense()
            )?;
        }
    }
    Err(e)
}

/// Prints the reservations decided about and the state of their orders.
pub fn print_decided(
    ctx: &mut Context,
    app: &App,
    decided: &Decided,
    decision: &Decision,
) -> app::Result<()> {
    // Looked up by id: thousands of decisions must not cost millions of
    // comparisons.
    let unchanged: std::collections::HashSet<_> = decided.unchanged.iter().collect();
    let orders: std::collections::HashMap<_, _> =
        decided.orders.iter().map(|o| (o.process_id, o)).collect();
    for doc in &decided.reservations {
        if ctx.json {
            let order = orders.get(&doc.process_id).copied();
            ctx.json_line(&decided_json(doc, !unchanged.contains(&doc.id), order)?)?;
        } else if !unchanged.contains(&doc.id) {
            writeln!(
                ctx.out,
                "{:<12} {}  {}",
                decision.past_tense(),
                doc.id,
                render::clip(&doc.object.reserved, 16)
            )?;
        }
    }
    if !ctx.json {
        let ids = app.short_ids(decided.orders.iter().map(|o| o.id))?;
        for order in &decided.orders {
            writeln!(ctx.out, "{}", render::order_summary(order, &ids))?;
        }
    }
    Ok(())
}

/// A decided reservation as `--json` prints it: its document, whether this
/// command changed it, and its order's status as the human output shows it.
fn decided_json(
    doc: &crate::domain::ReservationDoc,
    changed: bool,
    order: Option<&crate::domain::SalesOrderDoc>,
) -> anyhow::Result<serde_json::Value> {
    let mut value = serde_json::to_value(doc)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("changed".into(), changed.into());
        object.insert(
            "salesorder".into(),
            order.map_or(serde_json::Value::Null, |o| {
                let lines = &o.object.reservations;
                serde_json::json!({
                    "_id": o.id,
                    "status": o.object.status,
                    "linesConfirmed": render::confirmed_count(lines),
                    "lines": lines.len(),
                })
            }),
        );
    }
    Ok(value)
}

/// A `--reason`: some words, not nothing (which would leave the order
/// saying "rejected: ").
pub fn reason(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("give a reason, or leave --reason out".into());
    }
    Ok(text.to_string())
}

/// Replaces a `-` argument by the IDs on standard input, one a line.
fn expand_stdin(args: Vec<String>) -> Result<Vec<String>, InputError> {
    let mut ids = Vec::with_capacity(args.len());
    for arg in args {
        if arg != "-" {
            ids.push(arg);
            continue;
        }
        for (number, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| {
                InputError(format!(
                    "cannot read standard input line {}: {e}",
                    number + 1
                ))
            })?;
            let id = line.trim();
            if !id.is_empty() {
                ids.push(id.to_string());
            }
        }
    }
    if ids.is_empty() {
        return Err(InputError("no reservation IDs given".into()));
    }
    Ok(ids)
}

/// `pi7 reject`'s arguments.
pub mod reject {
    use super::*;

    /// Reject reservations: each becomes `rejected` and publishes
    /// `reservation/reject`; the saga cancels the order and every other
    /// reservation of it is released
    ///
    /// Only an unconfirmed reservation can be rejected; any other changes
    /// nothing, and that is said on stderr.
    #[derive(Debug, clap::Args)]
    pub struct Args {
        /// Reservation IDs, or unique prefixes of at least 4 characters; `-`
        /// reads IDs from standard input, one a line
        #[arg(required = true, value_name = "ID", add = crate::commands::completions::undecided())]
        pub ids: Vec<String>,

        /// Why, as the order and the reservation will say
        #[arg(long, default_value = "no reason given", value_parser = super::reason)]
        pub reason: String,
    }

    pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
        let texts = expand_stdin(args.ids)?;
        let reason = Decision::Reject {
            reason: args.reason,
        };
        decide(ctx, &texts, &reason)
    }
}
