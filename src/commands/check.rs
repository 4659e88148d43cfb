//! `pi7 check`: explore every interleaving of an order in memory.

use super::input::read_input;
use super::Context;
use crate::check::{check, Options, Scenario};
use crate::crash::enumerate_crashes;
use crate::dispatch::{dispatch, Handlers, Plan};
use crate::domain::order::{parse_orders, OrderRequest};
use crate::error::{BadOrder, InputError, Violations};
use crate::operations::{self, Refused};
use crate::store::{MemoryStore, Store};
use uuid::Uuid;

/// The original's order, checked when no FILE is given.
const DEFAULT_ORDER: &str = include_str!("../../examples/order.json");

/// Explore every order in which an order's events can be delivered, and
/// check that every one ends the same, correct way
///
/// Runs the real components and dispatcher over an in-memory store (the
/// database is not touched) and explores every interleaving of: each pending
/// delivery, the confirmation of each reservation once it exists, and with
/// `--duplicates` one redelivery of each handled event. In every final
/// state: the documents are the same as in every other; `salesorder/confirm`
/// was published exactly once, and only when every line is confirmed; each
/// reservation's status equals its line's; nothing is pending and no
/// confirmation is lost. A violation prints a shortest schedule that causes
/// it, step by step, and exits 1.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The order(s) to check [default: the original's two-line order]
    #[arg(value_name = "FILE")]
    pub file: Option<String>,

    /// Also deliver every handled event a second time, in every position
    #[arg(long)]
    pub duplicates: bool,

    /// Also crash the walkthrough at every write in turn, recover, and check
    /// that every effect still happened exactly once
    #[arg(long)]
    pub crashes: bool,

    /// Reject this line's reservation instead of confirming it
    #[arg(long, value_name = "LINE")]
    pub reject: Option<i64>,

    /// The customer also withdraws the order, at every moment it can
    #[arg(long)]
    pub cancel: bool,

    /// The customer also amends the order to the one in this file, at every
    /// moment it can
    #[arg(long, value_name = "FILE")]
    pub amend: Option<String>,

    /// Refuse (exit 2) an order whose state space is estimated larger than
    /// this, and stop there if the estimate was short; about 500 MB per
    /// million states
    #[arg(long, value_name = "N", default_value_t = crate::check::DEFAULT_MAX_STATES)]
    pub max_states: usize,

    /// Explore every state, without treating interchangeable lines as one
    /// (slower; for comparing with the reduced search)
    #[arg(long)]
    pub full: bool,
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let (source_name, text) = match &args.file {
        Some(file) => read_input(file)?,
        None => (
            "the original's order".to_string(),
            DEFAULT_ORDER.to_string(),
        ),
    };
    let orders = parse_orders(&text).map_err(|error| BadOrder { source_name, error })?;
    let amend = match &args.amend {
        None => None,
        Some(file) => {
            let (source_name, text) = read_input(file)?;
            let mut amended =
                parse_orders(&text).map_err(|error| BadOrder { source_name, error })?;
            if amended.len() != 1 {
                return Err(InputError(format!("{file} must hold exactly one order")).into());
            }
            Some(amended.remove(0))
        }
    };
    for order in &orders {
        refuse_what_the_scenario_cannot_do(order, args.reject, amend.as_ref())?;
    }
    let options = Options {
        reduce: !args.full,
        max_states: args.max_states,
        ..Options::new(
            Scenario {
                reject: args.reject,
                withdraw: args.cancel,
                amend,
            },
            args.duplicates,
        )
    };
    let mut failed = 0;
    for order in &orders {
        let started = std::time::Instant::now();
        let result = check(order, &options).map_err(|e| InputError(e.to_string()))?;
        let seconds = started.elapsed().as_secs_f64();
        let lines = order.reservations.len();
        let crashes = args.crashes.then(|| enumerate_crashes(order));
        if ctx.json {
            let (summary, violation) = match &result {
                Ok(summary) => (Some(summary), None),
                Err(violation) => (None, Some(violation)),
            };
            ctx.json_line(&serde_json::json!({
                "customer": order.customer,
                "lines": lines,
                "duplicates": args.duplicates,
                "summary": summary,
                "violation": violation,
                "crashes": crashes.as_ref().map(|c| match c {
                    Ok(summary) => serde_json::json!({ "crashPoints": summary.crash_points }),
                    Err(message) => serde_json::json!({ "violation": message }),
                }),
            }))?;
            failed += usize::from(violation.is_some() || matches!(crashes, Some(Err(_))));
            continue;
        }
        let duplicates = if args.duplicates {
            "with one duplicate of every delivery"
        } else {
            "without duplicate deliveries"
        };
        writeln!(
            ctx.out,
            "order of {} ({lines} lines), {duplicates}:",
            order.customer
        )?;
        match result {
            Ok(summary) => {
                writeln!(
                    ctx.out,
                    "  explored {} schedules through {} distinct states in {seconds:.2}s",
                    summary.schedules, summary.states
                )?;
                writeln!(
                    ctx.out,
                    "  every schedule that gives the same commands ends in the same documents\n  \
                     ({}, {})",
                    crate::render::count(summary.final_states, "final state"),
                    crate::render::count(summary.outcomes, "outcome"),
                )?;
                writeln!(
                    ctx.out,
                    "  ok: salesorder/confirm or salesorder/cancel exactly once, never both;\n      \
                     confirmed iff every line is; a cancelled order's reservations all\n      \
                     rejected or released; reservations match their lines;\n      \
                     nothing pending, nothing lost"
                )?;
            }
            Err(violation) => {
                failed += 1;
                writeln!(ctx.out, "  VIOLATION: {}", violation.message)?;
                writeln!(
                    ctx.out,
                    "  shortest schedule that shows it ({} steps):",
                    violation.schedule.len()
                )?;
                for (number, step) in violation.schedule.iter().enumerate() {
                    writeln!(ctx.out, "  {:>4}. {step}", number + 1)?;
                }
            }
        }
        match crashes {
            None => {}
            Some(Ok(summary)) => writeln!(
                ctx.out,
                "  crashed the walkthrough at each of its {} writes: after recovery, every effect happened exactly once",
                summary.crash_points
            )?,
            Some(Err(message)) => {
                failed += 1;
                writeln!(ctx.out, "  VIOLATION after a crash: {message}")?;
            }
        }
    }
    if failed > 0 {
        return Err(Violations(format!(
            "{failed} of {} orders violate an invariant",
            orders.len()
        ))
        .into());
    }
    Ok(())
}

/// A scenario the order cannot play is bad input, not a violation: a line to
/// reject that neither the order nor the amendment has, or an amendment the saga refuses
/// whenever it comes (one that changes what a line reserves). The
/// amendment is tried, by the real rule, on the order just submitted.
fn refuse_what_the_scenario_cannot_do(
    order: &OrderRequest,
    reject: Option<i64>,
    amend: Option<&OrderRequest>,
) -> anyhow::Result<()> {
    if let Some(line) = reject {
        // A line the amendment adds can be rejected once it is made.
        let mut lines: Vec<i64> = order.reservations.iter().map(|l| l.id).collect();
        lines.extend(
            amend
                .iter()
                .flat_map(|a| a.reservations.iter().map(|l| l.id)),
        );
        lines.sort();
        lines.dedup();
        if !lines.contains(&line) {
            let lines: Vec<String> = lines.iter().map(i64::to_string).collect();
            return Err(InputError(format!(
                "--reject {line}: the order of {} has no line {line} (its lines: {})",
                order.customer,
                lines.join(", ")
            ))
            .into());
        }
    }
    let Some(amended) = amend else {
        return Ok(());
    };
    let mut store = MemoryStore::new();
    let process_id = Uuid::from_u128(1);
    store.transaction(&mut |tx| {
        operations::submit(tx, order, process_id, Uuid::from_u128(2), 0)?;
        Ok(())
    })?;
    dispatch(&mut store, &Plan::drain(), &mut |_| {})?;
    let tried = store.transaction(&mut |tx| {
        operations::amend(
            tx,
            process_id,
            amended,
            Uuid::from_u128(3),
            0,
            &Handlers::REAL,
        )
    });
    match tried {
        Ok(_) => Ok(()),
        Err(e) => match e.downcast::<Refused>() {
            Ok(refused) => Err(InputError(format!(
                "--amend: the saga refuses this amendment of the order of {}: {refused}",
                order.customer
            ))
            .into()),
            Err(e) => Err(e),
        },
    }
}
