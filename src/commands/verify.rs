//! `pi7 verify`: audit a database.

use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

use super::Context;
use crate::dispatch::subscribers;
use crate::domain::{invariants, OrderStatus, ReservationStatus, Topic};
use crate::error::Violations;
use crate::render;
use crate::replay::{rebuild, LogSource};
use crate::store::{AnyStore, DeliveryStatus, OpenMode, Queries, StoreError};

/// Audit a database: integrity, log, deliveries, the saga's invariants, and
/// the documents against a replay of the log
///
/// Checks SQLite's integrity, that `seq` has no gaps, that every event has
/// the deliveries its topic routes to, that each order was confirmed or
/// cancelled exactly once as its lines say, that a cancelled order's
/// reservations are all rejected or released, and that the documents equal a
/// replay of the log.
///
/// The replay is the one `pi7 import` runs: a log that import would refuse
/// (an event pi7 would not have published there) is a violation. So are a
/// parked delivery, and a column that commands filter on (status, process,
/// customer) that disagrees with its document.
///
/// Prints what it checked, or one line per violation and exits 1.
/// Processes with deliveries still pending are in flight: their documents
/// are compared with the replay but not held to the saga's end-state
/// invariants.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &mut Context, _args: Args) -> anyhow::Result<()> {
    let path = ctx.db_path()?;
    if !ctx.db_exists()? {
        return Err(StoreError::CannotOpen {
            path: path.display().to_string(),
            detail: "there is no database there, so nothing to verify".into(),
        }
        .into());
    }
    let store = AnyStore::open(&path, OpenMode::ReadOnly)?;
    if !store.on_disk() {
        // An empty file is no more a database than a missing one: "ok"
        // would pass a mistyped or truncated --db for a healthy database.
        return Err(StoreError::CannotOpen {
            path: path.display().to_string(),
            detail: "it is an empty file, not a pi7 database, so nothing to verify".into(),
        }
        .into());
    }
    let report = audit(&store)?;
    if ctx.json {
        ctx.json_line(&serde_json::json!({
            "events": report.events,
            "deliveries": report.deliveries,
            "pending": report.pending,
            "failed": report.failed,
            "salesorders": report.orders,
            "reservations": report.reservations,
            "violations": report.violations,
        }))?;
    } else {
        writeln!(
            ctx.out,
            "{}, {} ({} pending, {} failed), {}, {}",
            render::count(report.events as usize, "event"),
            render::count(report.deliveries, "delivery"),
            report.pending,
            report.failed,
            render::count(report.orders, "sales order"),
            render::count(report.reservations, "reservation")
        )?;
        if report.violations.is_empty() {
            writeln!(
                ctx.out,
                "ok: integrity, log, deliveries, saga invariants and replay all check out"
            )?;
        }
        // A violation can quote whole documents; `--json` has them whole.
        for violation in &report.violations {
            let line = format!("violation: {violation}");
            writeln!(ctx.out, "{}", render::wrap(&line, 80, 2))?;
        }
    }
    if report.violations.is_empty() {
        Ok(())
    } else {
        Err(Violations(format!(
            "{} violation{} found in {}",
            report.violations.len(),
            if report.violations.len() == 1 {
                ""
            } else {
                "s"
            },
            store.name()
        ))
        .into())
    }
}

#[derive(Debug, Default)]
pub struct Audit {
    pub events: u64,
    pub deliveries: usize,
    pub pending: usize,
    pub failed: usize,
    pub orders: usize,
    pub reservations: usize,
    pub violations: Vec<String>,
}

pub fn audit(store: &(impl Queries + LogSource)) -> anyhow::Result<Audit> {
    let mut audit = Audit::default();
    let violations = &mut audit.violations;

    let integrity = store.integrity_check()?;
    if integrity != ["ok"] {
        violations.extend(
            integrity
                .into_iter()
                .map(|line| format!("integrity: {line}")),
        );
    }

    let (count, max_seq) = store.event_count()?;
    audit.events = count;
    if count != max_seq {
        violations.push(format!(
            "the log has {count} events but its highest seq is {max_seq}: events are missing"
        ));
    }
    let mut events = Vec::with_capacity(count as usize);
    store.for_each_event(0, None, None, &mut |e| {
        events.push(e);
        Ok(())
    })?;

    let deliveries = store.deliveries_by_handling(None)?;
    audit.deliveries = deliveries.len();
    let mut in_flight: BTreeSet<Uuid> = BTreeSet::new();
    let mut routed: BTreeMap<u64, Vec<_>> = BTreeMap::new();
    for (d, handled) in &deliveries {
        routed.entry(d.seq).or_default().push(d.component);
        match d.status {
            DeliveryStatus::Pending => audit.pending += 1,
            DeliveryStatus::Failed => audit.failed += 1,
            DeliveryStatus::Done => {}
        }
        match d.status {
            DeliveryStatus::Pending => {
                in_flight.insert(d.process_id);
            }
            // Parked work is not in flight: nothing will deliver it unless
            // someone acts, so its process is held to every invariant, and
            // the parked delivery itself is reported.
            DeliveryStatus::Failed => violations.push(format!(
                "delivery of event {} ({}) to {} is parked after {} attempts: {}; `pi7 redeliver {} --to {}` retries it",
                d.seq,
                d.topic,
                d.component,
                d.attempts,
                d.error.as_deref().unwrap_or("no error recorded"),
                d.seq,
                d.component
            )),
            DeliveryStatus::Done => {}
        }
        if (d.status == DeliveryStatus::Done) != handled.is_some() {
            violations.push(format!(
                "delivery of event {} to {} is {} but {}recorded as handled",
                d.seq,
                d.component,
                d.status.as_str(),
                if handled.is_some() { "" } else { "not " }
            ));
        }
    }
    for event in &events {
        let mut expected = subscribers(event.topic).to_vec();
        let mut actual = routed.remove(&event.seq).unwrap_or_default();
        expected.sort();
        actual.sort();
        if expected != actual {
            violations.push(format!(
                "event {} ({}) has deliveries to {actual:?}; its topic routes to {expected:?}",
                event.seq, event.topic
            ));
        }
    }

    violations.extend(store.column_mismatches()?);
    let orders = store.list_sales_orders(None, None, None)?;
    let reservations = store.list_reservations(None, None, None)?;
    audit.orders = orders.len();
    audit.reservations = reservations.len();
    let reservation_status: BTreeMap<Uuid, ReservationStatus> = reservations
        .iter()
        .map(|r| (r.id, r.object.status))
        .collect();
    // How often each once-per-process fact was published, by process.
    let mut published: BTreeMap<(Uuid, Topic), usize> = BTreeMap::new();
    for event in &events {
        if matches!(
            event.topic,
            Topic::SalesOrderConfirm | Topic::SalesOrderCancel
        ) {
            *published
                .entry((event.process_id, event.topic))
                .or_default() += 1;
        }
    }
    for order in &orders {
        let o = &order.object;
        let all_confirmed = invariants::is_complete(o);
        let confirmed = o.status == OrderStatus::Confirmed;
        if all_confirmed != confirmed {
            violations.push(format!(
                "sales order {} is {} but {} of its lines are confirmed",
                order.id,
                o.status,
                if all_confirmed { "all" } else { "not all" }
            ));
        }
        for (topic, expected) in [
            (Topic::SalesOrderConfirm, OrderStatus::Confirmed),
            (Topic::SalesOrderCancel, OrderStatus::Cancelled),
        ] {
            let times = published.remove(&(order.process_id, topic)).unwrap_or(0);
            if times != usize::from(o.status == expected) {
                violations.push(format!(
                    "sales order {} is {} and {topic} was published {times} times for it",
                    order.id, o.status
                ));
            }
        }
        if in_flight.contains(&order.process_id) {
            continue;
        }
        for line in &o.reservations {
            let status = reservation_status.get(&line.reservation_id);
            if status != Some(&line.status) {
                violations.push(format!(
                    "line {} of sales order {} is {} but its reservation is {}",
                    line.id,
                    order.id,
                    line.status,
                    status.map_or("missing".to_string(), |s| s.to_string())
                ));
            }
        }
        if o.status == OrderStatus::Cancelled {
            let open = reservations
                .iter()
                .find(|r| r.process_id == order.process_id && invariants::is_open(r.object.status));
            if let Some(r) = open {
                violations.push(format!(
                    "sales order {} is cancelled but its reservation {} is still {}",
                    order.id, r.id, r.object.status
                ));
            }
        }
    }
    for ((process_id, topic), times) in published {
        violations.push(format!(
            "{topic} was published {times} times for process {process_id}, which has no sales order"
        ));
    }

    match rebuild(store, u64::MAX, &mut |_| {}) {
        Err(e) => violations.push(format!("replay: {e}")),
        Ok(rebuilt) => {
            let stored_orders: BTreeMap<Uuid, _> =
                orders.into_iter().map(|o| (o.process_id, o)).collect();
            let stored_reservations: BTreeMap<Uuid, _> =
                reservations.into_iter().map(|r| (r.id, r)).collect();
            compare(
                "sales order",
                &stored_orders,
                &rebuilt.sales_orders,
                violations,
            );
            compare(
                "reservation",
                &stored_reservations,
                &rebuilt.reservations,
                violations,
            );
        }
    }
    Ok(audit)
}

fn compare<T: PartialEq + serde::Serialize>(
    what: &str,
    stored: &BTreeMap<Uuid, T>,
    rebuilt: &BTreeMap<Uuid, T>,
    violations: &mut Vec<String>,
) {
    for (key, doc) in stored {
        match rebuilt.get(key) {
            None => violations.push(format!(
                "{what} {key} is stored but replaying the log does not make it"
            )),
            Some(replayed) if replayed != doc => violations.push(format!(
                "{what} {key} differs from its replay: stored {}, replayed {}",
                serde_json::to_string(doc).unwrap_or_default(),
                serde_json::to_string(replayed).unwrap_or_default()
            )),
            Some(_) => {}
        }
    }
    for key in rebuilt.keys().filter(|k| !stored.contains_key(k)) {
        violations.push(format!(
            "{what} {key} is missing: replaying the log makes it"
        ));
    }
}
