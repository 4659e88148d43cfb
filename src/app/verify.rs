//! The audit `pi7 verify` runs: integrity, log, deliveries, the saga's
//! invariants, and the documents against a replay of the log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use uuid::Uuid;

use super::Result;
use crate::dispatch::subscribers;
use crate::domain::{invariants, OrderStatus, ReservationStatus, Topic};
use crate::replay::{rebuild, LogSource};
use crate::store::{AnyStore, DeliveryStatus, OpenMode, Queries, StoreError};

/// What `verify` found, in the database it names.
#[derive(Debug)]
pub struct Verified {
    pub audit: Audit,
    /// The database as messages may show it.
    pub database: String,
}

/// Audits the database at `path`. A missing or empty one is an error, not
/// an empty audit: "ok" would pass a mistyped or truncated path for a
/// healthy database. `progress` is told as [`audit`] tells it.
pub fn verify(path: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<Verified> {
    let cannot = |detail: &str| StoreError::CannotOpen {
        path: path.display().to_string(),
        detail: detail.into(),
    };
    if !super::database_exists(path) {
        return Err(cannot("there is no database there, so nothing to verify").into());
    }
    let store = AnyStore::open(path, OpenMode::ReadOnly)?;
    if !store.on_disk() {
        return Err(cannot("it is an empty file, not a pi7 database, so nothing to verify").into());
    }
    Ok(Verified {
        audit: audit(&store, progress)?,
        database: store.name(),
    })
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

/// Audits `store`. `progress` is told the log's last seq from the start,
/// then the seq of each event the replay has gone through: the replay is
/// most of the work (two thirds of it on a log of 30,000 events, in a
/// debug build), the checks before it are quick passes over the same rows.
pub fn audit(
    store: &(impl Queries + LogSource),
    progress: &mut dyn FnMut(u64, u64),
) -> anyhow::Result<Audit> {
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
    progress(0, max_seq);
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
        // A confirmation the saga learns after a withdrawal leaves a
        // cancelled order whose lines are all confirmed, until the releases
        // that the cancellation caused reach it.
        let releasing = o.status == OrderStatus::Cancelled && in_flight.contains(&order.process_id);
        if all_confirmed != confirmed && !releasing {
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

    match rebuild(store, u64::MAX, &mut |seq| progress(seq, max_seq)) {
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
