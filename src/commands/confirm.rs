//! `pi7 confirm`: a person confirms reservations. The same rendering serves
//! `pi7 reject` and `pi7 expire`.

use std::io::BufRead;

use super::Context;
use crate::app::{self, Access, Decided, Decision};
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
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let texts = expand_stdin(args.ids)?;
    decide(ctx, &texts, &Decision::Confirm)
}

fn decide(ctx: &mut Context, texts: &[String], decision: &Decision) -> app::Result<()> {
    let mut app = ctx.app(Access::Write)?;
    let decided = app.decide(texts, decision);
    ctx.diagnose(&mut app)?;
    print_decided(ctx, &decided?, decision)
}

/// Prints the reservations decided about and the state of their orders.
pub fn print_decided(ctx: &mut Context, decided: &Decided, decision: &Decision) -> app::Result<()> {
    for doc in &decided.reservations {
        if ctx.json {
            ctx.json_line(doc)?;
        } else if !decided.unchanged.contains(&doc.id) {
            writeln!(
                ctx.out,
                "{:<12} {}  {}",
                decision.past_tense(),
                doc.id,
                render::clean(&doc.object.reserved)
            )?;
        }
    }
    if !ctx.json {
        for order in &decided.orders {
            writeln!(ctx.out, "{}", render::order_summary(order))?;
        }
    }
    Ok(())
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
        #[arg(required = true, value_name = "ID")]
        pub ids: Vec<String>,

        /// Why, as the order and the reservation will say
        #[arg(long, default_value = "no reason given")]
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
