//! `pi7 confirm`: a person confirms reservations. The same machinery serves
//! `pi7 reject` and `pi7 expire`.

use std::collections::BTreeSet;
use std::io::BufRead;
use uuid::Uuid;

use super::lookup::resolve;
use super::Context;
use crate::error::InputError;
use crate::operations;
use crate::render;
use crate::store::{DocumentKind, OpenMode, SqliteStore, Store, StoreError};

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

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let texts = expand_stdin(args.ids)?;
    let mut store = ctx.open(OpenMode::ReadWrite)?;
    let ids = resolve_reservations(&store, &texts)?;
    decide(ctx, &mut store, &ids, &Decision::Confirm)
}

/// What a person decides about a reservation.
pub enum Decision {
    Confirm,
    Reject { reason: String },
}

impl Decision {
    fn past_tense(&self) -> &'static str {
        match self {
            Decision::Confirm => "confirmed",
            Decision::Reject { .. } => "rejected",
        }
    }
}

/// The reservations `texts` name, each once, in the order first named.
pub fn resolve_reservations(store: &SqliteStore, texts: &[String]) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = texts
        .iter()
        .map(|text| Ok(resolve(store, text, &[DocumentKind::Reservation])?.id))
        .collect::<anyhow::Result<Vec<Uuid>>>()?;
    // The same reservation named twice (by its id and a prefix, say) is
    // decided once; otherwise its second naming would find it decided and
    // report that nothing changed.
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(*id));
    Ok(ids)
}

/// Confirms or rejects `ids` in one transaction, delivers what that
/// publishes, and prints the reservations and the state of their orders.
pub fn decide(
    ctx: &mut Context,
    store: &mut SqliteStore,
    ids: &[Uuid],
    decision: &Decision,
) -> anyhow::Result<()> {
    let now = ctx.now;
    let (log, unchanged) = store.transaction(&mut |tx| {
        let mut log = Vec::new();
        let mut unchanged = Vec::new();
        for id in ids {
            let acted = match decision {
                Decision::Confirm => operations::confirm(tx, *id, Uuid::new_v4(), now)?,
                Decision::Reject { reason } => {
                    operations::reject(tx, *id, reason, Uuid::new_v4(), now)?
                }
            };
            log.extend(acted.log);
            if !acted.changed {
                unchanged.push(*id);
            }
        }
        Ok((log, unchanged))
    })?;
    ctx.log(&log)?;
    for id in &unchanged {
        if let Some(doc) = store.reservation_by_id(*id)? {
            ctx.note(&format!(
                "reservation {id} is already {}; nothing changed",
                doc.object.status
            ))?;
        }
    }
    ctx.settle(store)?;

    let mut processes = BTreeSet::new();
    for id in ids {
        let doc = store
            .reservation_by_id(*id)?
            .ok_or_else(|| StoreError::Corrupt(format!("reservation {id} vanished")))?;
        if ctx.json {
            ctx.json_line(&doc)?;
        } else if !unchanged.contains(id) {
            writeln!(
                ctx.out,
                "{:<12} {}  {}",
                decision.past_tense(),
                doc.id,
                render::clean(&doc.object.reserved)
            )?;
        }
        processes.insert(doc.process_id);
    }
    if !ctx.json {
        for process_id in processes {
            if let Some(order) = store.sales_order_by_process(process_id)? {
                writeln!(ctx.out, "{}", render::order_summary(&order))?;
            }
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

    pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
        let texts = expand_stdin(args.ids)?;
        let mut store = ctx.open(OpenMode::ReadWrite)?;
        let ids = resolve_reservations(&store, &texts)?;
        decide(
            ctx,
            &mut store,
            &ids,
            &Decision::Reject {
                reason: args.reason,
            },
        )
    }
}
