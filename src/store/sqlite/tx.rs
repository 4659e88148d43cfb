//! One unit of work on SQLite: the [`Tx`] the dispatcher and the commands
//! write through, with the write-count hooks the fault tests use.

use super::*;
use std::collections::HashMap;

pub(super) struct SqliteTx<'a> {
    conn: &'a Connection,
    /// The first seq of the command this transaction is appending.
    command: Option<u64>,
    /// What this transaction knows without asking the database again.
    known: Known,
    /// Deliveries created in this transaction and not written yet.
    fresh: Fresh,
    /// The statements it runs for every event, delivery and document, once
    /// prepared (see [`Hot`]).
    hot: [Option<rusqlite::CachedStatement<'a>>; HOT],
}

/// The statements a unit of work runs for every event, delivery and
/// document it writes or reads. A transaction keeps each out of rusqlite's
/// statement cache from its first use to its end: taken from the cache and
/// given back at every use, each hashed its SQL text twice and moved in the
/// cache's LRU list, 5% of a bulk confirm's instructions.
#[derive(Clone, Copy)]
enum Hot {
    Append,
    AppendNew,
    DeliveryDone,
    SalesOrder,
    Reservations,
    Reservation,
    SaveSalesOrder,
    SaveReservation,
}

const HOT: usize = Hot::SaveReservation as usize + 1;

/// Counters this transaction reads once and then keeps itself: it holds the
/// write lock, so nobody else moves them.
#[derive(Default)]
struct Known {
    last_seq: Option<u64>,
    next_key: Option<i64>,
    next_handled: Option<i64>,
}

/// Deliveries created in this transaction and not written yet, by event and
/// component. Most are handled in the very transaction that created them (a
/// command delivers what it published): such a delivery is written once, as
/// it ended, instead of inserted as pending, read back and updated, which
/// cost each delivery two more statements and a pending-index entry made
/// only to be removed. The rest are written as pending before anything
/// reads the deliveries table, and at the latest before the transaction
/// commits ([`SqliteTx::flush`]).
#[derive(Default)]
struct Fresh {
    deliveries: HashMap<(u64, Component), FreshDelivery>,
    /// The event appended last, the one `add_delivery` is almost always
    /// given: what a delivery needs of it.
    appended: Option<(u64, Topic, Uuid)>,
}

struct FreshDelivery {
    /// Given when it was created, so that it keeps its place in FIFO order.
    key: i64,
    topic: Topic,
    process_id: Uuid,
}

/// The next number of a counter that `first` reads from the database the
/// first time and `known` keeps from then on.
fn next(conn: &Connection, known: &mut Option<i64>, first: &str) -> Result<i64, StoreError> {
    let next = match *known {
        Some(next) => next,
        None => conn.prepare_cached(first)?.query_row([], |r| r.get(0))?,
    };
    *known = Some(next + 1);
    Ok(next)
}

/// How many deliveries wait in memory at most (a few MiB); beyond it, a new
/// one is written as pending at once, so that memory stays bounded however
/// many events one command appends.
const FRESH_HELD: usize = 1 << 16;

impl<'a> SqliteTx<'a> {
    pub(super) fn new(conn: &'a Connection) -> Self {
        SqliteTx {
            conn,
            command: None,
            known: Known::default(),
            fresh: Fresh::default(),
            hot: Default::default(),
        }
    }

    /// The statement `which`, prepared from `sql` at its first use.
    fn hot(
        &mut self,
        which: Hot,
        sql: &str,
    ) -> Result<&mut rusqlite::CachedStatement<'a>, StoreError> {
        let slot = &mut self.hot[which as usize];
        if slot.is_none() {
            *slot = Some(self.conn.prepare_cached(sql)?);
        }
        Ok(slot.as_mut().expect("prepared above"))
    }

    /// The one document `sql` selects by `key`, if there is one.
    fn document<T: serde::de::DeserializeOwned>(
        &mut self,
        which: Hot,
        sql: &str,
        key: Uuid,
    ) -> Result<Option<T>, StoreError> {
        self.hot(which, sql)?
            .query_row([key.to_string()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|json| parse_document(&json))
            .transpose()
    }

    /// Writes, as pending, the deliveries created here and not handled
    /// yet, in the order they were created. Every read of the deliveries
    /// table calls it first, and the transaction before it commits.
    pub(super) fn flush(&mut self) -> Result<(), StoreError> {
        if self.fresh.deliveries.is_empty() {
            return Ok(());
        }
        let mut pending: Vec<_> = self.fresh.deliveries.drain().collect();
        pending.sort_unstable_by_key(|(_, fresh)| fresh.key);
        for ((seq, component), fresh) in pending {
            self.insert_pending(fresh.key, seq, component)?;
        }
        Ok(())
    }

    fn insert_pending(&self, key: i64, seq: u64, component: Component) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT INTO deliveries (key, seq, component) VALUES (?1, ?2, ?3)")?
            .execute(params![key, seq as i64, component.as_str()])?;
        Ok(())
    }

    fn next_key(&mut self) -> Result<i64, StoreError> {
        next(
            self.conn,
            &mut self.known.next_key,
            "SELECT coalesce(max(key), 0) + 1 FROM deliveries",
        )
    }

    fn next_handled(&mut self) -> Result<i64, StoreError> {
        next(
            self.conn,
            &mut self.known.next_handled,
            "SELECT coalesce(max(handled), 0) + 1 FROM deliveries",
        )
    }

    /// Counts a write, and fails the one `PI7_FAIL_AT_WRITE` names (the
    /// Nth of this process), as a full disk would: the fault-injection
    /// tests run a command failing at each of its writes in turn. Before
    /// the one `PI7_PAUSE_AT_WRITE` names, says so on stderr and stops for
    /// good, inside its transaction: the kill tests kill pi7 there, at a
    /// point they choose rather than one a timer happens to hit.
    fn write(&self) -> Result<(), StoreError> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::OnceLock;
        static AT: OnceLock<(Option<usize>, Option<usize>)> = OnceLock::new();
        static WRITES: AtomicUsize = AtomicUsize::new(0);
        let at = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
        let (fail_at, pause_at) =
            *AT.get_or_init(|| (at("PI7_FAIL_AT_WRITE"), at("PI7_PAUSE_AT_WRITE")));
        if fail_at.is_none() && pause_at.is_none() {
            return Ok(());
        }
        let write = WRITES.fetch_add(1, Ordering::Relaxed) + 1;
        if Some(write) == pause_at {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "pi7: paused before write {write} (PI7_PAUSE_AT_WRITE)"
            );
            loop {
                std::thread::park();
            }
        }
        if Some(write) == fail_at {
            return Err(StoreError::Injected(write));
        }
        Ok(())
    }
}

impl SqliteTx<'_> {
    /// Appends `event`; with `unless_known`, only when no event has its id
    /// (`None` then), otherwise failing on it.
    fn insert_event(
        &mut self,
        event: NewEvent,
        unless_known: bool,
    ) -> Result<Option<Envelope>, StoreError> {
        self.write()?;
        // The write lock is held, so nobody else takes the next seq.
        let seq = self.last_seq()? + 1;
        let command = match (event.causation_id, self.command) {
            (Some(_), _) => None,
            (None, Some(first)) => Some(first),
            (None, None) => Some(seq),
        };
        let (which, sql) = if unless_known {
            (
                Hot::AppendNew,
                "INSERT INTO events
                   (seq, id, topic, process_id, causation_id, source, time, payload, command)
                 VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO NOTHING",
            )
        } else {
            (
                Hot::Append,
                "INSERT INTO events
                   (seq, id, topic, process_id, causation_id, source, time, payload, command)
                 VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
        };
        let inserted = self.hot(which, sql)?.execute(params![
            event.id.to_string(),
            event.topic.as_str(),
            event.process_id.to_string(),
            event.causation_id.map(|c| c.to_string()),
            event.source.as_str(),
            event.time,
            to_json(&event.payload),
            command.map(|c| c as i64),
            seq as i64,
        ])?;
        if inserted == 0 {
            return Ok(None);
        }
        self.known.last_seq = Some(seq);
        if event.causation_id.is_none() && self.command.is_none() {
            self.command = Some(seq);
        }
        self.fresh.appended = Some((seq, event.topic, event.process_id));
        Ok(Some(event.sequenced(seq)))
    }
}

impl Tx for SqliteTx<'_> {
    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError> {
        // Without `unless_known`, a known id fails the insert instead.
        self.insert_event(event, false)?
            .ok_or_else(|| StoreError::Corrupt("an event was not appended".into()))
    }

    // One statement instead of a look-up by id and then an insert.
    fn append_new(&mut self, event: NewEvent) -> Result<Option<Envelope>, StoreError> {
        self.insert_event(event, true)
    }

    fn start_command(&mut self) {
        self.command = None;
    }

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        if let Some(seq) = self.known.last_seq {
            return Ok(seq);
        }
        let seq = self
            .conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM events")?
            .query_row([], |r| r.get::<_, i64>(0))? as u64;
        self.known.last_seq = Some(seq);
        Ok(seq)
    }

    fn events_of(&mut self, process_id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload
             FROM events WHERE process_id = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([process_id.to_string()])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(envelope_from_row(row)?);
        }
        Ok(events)
    }

    fn event_by_id(&mut self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        event_by_id(self.conn, id)
    }

    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError> {
        self.write()?;
        let key = self.next_key()?;
        let fresh = &mut self.fresh;
        match fresh.appended {
            Some((appended, topic, process_id))
                if appended == seq
                    && fresh.deliveries.len() < FRESH_HELD
                    && !fresh.deliveries.contains_key(&(seq, component)) =>
            {
                let delivery = FreshDelivery {
                    key,
                    topic,
                    process_id,
                };
                fresh.deliveries.insert((seq, component), delivery);
                Ok(())
            }
            _ => {
                // A second delivery of the same pair fails here, on the
                // table's unique key, not later when the first is written.
                if fresh.deliveries.contains_key(&(seq, component)) {
                    self.flush()?;
                }
                self.insert_pending(key, seq, component)
            }
        }
    }

    fn event(&mut self, seq: u64) -> Result<Envelope, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events WHERE seq = ?1",
            )?
            .query_row([seq as i64], |row| Ok(envelope_from_row(row)))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("no event with seq {seq}")))?
    }

    fn has_event(&mut self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1")?
            .exists([id.to_string()])?)
    }

    fn has_process(&mut self, process_id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE process_id = ?1 LIMIT 1")?
            .exists([process_id.to_string()])?)
    }

    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError> {
        self.flush()?;
        Ok(select_deliveries(self.conn, DeliveryStatus::Pending, filter, order, Some(1))?.pop())
    }

    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        self.flush()?;
        select_deliveries(
            self.conn,
            DeliveryStatus::Pending,
            filter,
            Pick::First,
            None,
        )
    }

    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError> {
        self.write()?;
        let (status, error, position) = match result {
            Finished::Done { position } => (DeliveryStatus::Done, None, Some(position as i64)),
            Finished::Failed { error, park: true } => (DeliveryStatus::Failed, Some(error), None),
            Finished::Failed { error, park: false } => (delivery.status, Some(error), None),
        };
        let handled = match status {
            DeliveryStatus::Done => Some(self.next_handled()?),
            _ => None,
        };
        if let Some(fresh) = self
            .fresh
            .deliveries
            .remove(&(delivery.seq, delivery.component))
        {
            self.hot(
                Hot::DeliveryDone,
                "INSERT INTO deliveries
                   (key, seq, component, status, attempts, error, handled, log_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                fresh.key,
                delivery.seq as i64,
                delivery.component.as_str(),
                status.as_str(),
                delivery.attempts + 1,
                error,
                handled,
                position
            ])?;
            return Ok(());
        }
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET status = ?2, attempts = attempts + 1, error = ?3,
                   handled = ?5, log_seq = ?4
                 WHERE key = ?1",
            )?
            .execute(params![
                delivery.key,
                status.as_str(),
                error,
                position,
                handled
            ])?;
        Ok(())
    }

    fn record_redelivery(
        &mut self,
        seq: u64,
        component: Component,
        time: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO redeliveries (seq, component, time, changed) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![seq as i64, component.as_str(), time, changed])?;
        Ok(())
    }

    fn delivery(&mut self, seq: u64, component: Component) -> Result<Option<Delivery>, StoreError> {
        if let Some(fresh) = self.fresh.deliveries.get(&(seq, component)) {
            return Ok(Some(Delivery {
                key: fresh.key,
                seq,
                topic: fresh.topic,
                component,
                process_id: fresh.process_id,
                status: DeliveryStatus::Pending,
                attempts: 0,
                error: None,
            }));
        }
        let mut stmt = self.conn.prepare_cached(&format!(
            "{DELIVERY_COLUMNS} WHERE d.seq = ?1 AND d.component = ?2"
        ))?;
        let mut rows = stmt.query(params![seq as i64, component.as_str()])?;
        match rows.next()? {
            Some(row) => Ok(Some(delivery_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn sales_order(&mut self, process_id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.document(
            Hot::SalesOrder,
            "SELECT document FROM salesorders WHERE process_id = ?1",
            process_id,
        )
    }

    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        let stmt = self.hot(
            Hot::Reservations,
            "SELECT document FROM reservations WHERE process_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([process_id.to_string()], |r| r.get::<_, String>(0))?;
        rows.map(|json| parse_document(&json?)).collect()
    }

    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        self.document(
            Hot::Reservation,
            "SELECT document FROM reservations WHERE id = ?1",
            id,
        )
    }

    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.write()?;
        self.hot(
            Hot::SaveSalesOrder,
            "INSERT INTO salesorders (id, process_id, customer, status, document)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET
                   customer = excluded.customer, status = excluded.status,
                   document = excluded.document",
        )?
        .execute(params![
            doc.id.to_string(),
            doc.process_id.to_string(),
            doc.object.customer,
            doc.object.status.as_str(),
            to_json(doc),
        ])?;
        Ok(())
    }

    fn save_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError> {
        self.write()?;
        self.hot(
            Hot::SaveReservation,
            "INSERT INTO reservations (id, process_id, status, document)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET
                   status = excluded.status, document = excluded.document",
        )?
        .execute(params![
            doc.id.to_string(),
            doc.process_id.to_string(),
            doc.object.status.as_str(),
            to_json(doc),
        ])?;
        Ok(())
    }
}
