//! `pi7 confirm`: a person confirms reservations.

use std::collections::BTreeSet;
use std::io::BufRead;
use uuid::Uuid;

use super::lookup::resolve;
use super::Context;
use crate::dispatch::publish;
use crate::domain::reservation;
use crate::domain::ReservationStatus;
use crate::error::InputError;
use crate::render;
use crate::store::{DocumentKind, OpenMode, Store, StoreError};

/// Confirm reservations: each publishes `reservation/confirm`, and the sales
/// order is confirmed once all its lines are
///
/// Confirming a reservation that is already confirmed changes nothing and
/// says so on stderr. Every ID is looked up before anything is written.
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
    let mut ids = texts
        .iter()
        .map(|text| Ok(resolve(&store, text, &[DocumentKind::Reservation])?.id))
        .collect::<anyhow::Result<Vec<Uuid>>>()?;
    // The same reservation named twice (by its id and a prefix, say) is
    // confirmed once; otherwise its second naming would find it confirmed
    // and report that nothing changed.
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(*id));
    let now = ctx.now;
    let (log, already) = store.transaction(&mut |tx| {
        let mut log = Vec::new();
        let mut already = Vec::new();
        for id in &ids {
            let doc = tx.reservation(*id)?.ok_or_else(|| {
                StoreError::Corrupt(format!("reservation {id} vanished while confirming"))
            })?;
            let outcome = reservation::confirm(&doc, Uuid::new_v4(), now);
            log.extend(outcome.log);
            if outcome.changed.is_empty() {
                already.push(*id);
            }
            for changed in &outcome.changed {
                tx.save_reservation(changed)?;
            }
            for event in outcome.published {
                publish(tx, event, &mut log)?;
            }
        }
        Ok((log, already))
    })?;
    ctx.log(&log)?;
    for id in &already {
        ctx.note(&format!(
            "reservation {id} is already confirmed; nothing changed"
        ))?;
    }
    ctx.settle(&mut store)?;

    let mut processes = BTreeSet::new();
    for id in &ids {
        let doc = store
            .reservation_by_id(*id)?
            .ok_or_else(|| StoreError::Corrupt(format!("reservation {id} vanished")))?;
        if ctx.json {
            ctx.json_line(&doc)?;
        } else if !already.contains(id) && doc.object.status == ReservationStatus::Confirmed {
            writeln!(ctx.out, "confirmed    {}  {}", doc.id, doc.object.reserved)?;
        }
        processes.insert(doc.process_id);
    }
    if !ctx.json {
        for process_id in processes {
            if let Some(order) = store.sales_order_by_process(process_id)? {
                let lines = &order.object.reservations;
                let confirmed = lines
                    .iter()
                    .filter(|l| l.status == ReservationStatus::Confirmed)
                    .count();
                writeln!(
                    ctx.out,
                    "sales order  {}  {}  {} ({confirmed} of {} lines confirmed)",
                    render::short(&order.id),
                    order.object.customer.as_deref().unwrap_or("?"),
                    order.object.status,
                    lines.len()
                )?;
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
