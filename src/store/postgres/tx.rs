//! One unit of work on PostgreSQL: the [`Tx`] the dispatcher and the
//! commands write through, with the locks that make many writers safe.
//!
//! Two kinds of transaction-level advisory locks, both released at commit:
//!
//! - **A process lock** (one per processId) before anything of a process is
//!   read for changing or written: its documents, its events, a delivery of
//!   it. Everything that changes one order is thereby serial, so no update
//!   is lost, and a handler sees the process as the log says it is.
//! - **The append lock** (one for the whole log) from the first event a
//!   transaction appends, or the first delivery it records as handled,
//!   until it commits. `seq` is `max(seq) + 1` under it,
//!   so positions are gap-free and in commit order, the events of one
//!   command or one handling are contiguous, and the events a handling
//!   publishes come right after the position it records: what the verified
//!   replay needs to carry the log out again. It covers only the tail of a
//!   transaction (appends to commit); reading, deciding and claiming run in
//!   parallel.
//!
//! Before either, every unit of work takes **the writers' gate** shared, as
//! its first statement; `pi7 rebuild` takes it exclusively, so it waits for
//! the writers in flight and holds off new ones while it replaces the
//! documents. (Locking the tables instead deadlocked with writers that held
//! one table and wanted another, and the server then ended the rebuild.)
//!
//! Deadlocks are avoided by order rather than detected: a transaction waits
//! for a lock only while it holds no other advisory lock but its shared
//! pass through the gate (only a rebuild, which holds nothing else, waits
//! against that), and takes the append lock last; otherwise it only tries,
//! and a failed try is [`StoreError::Contended`], which the store retries
//! whole.

use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use super::super::sqlite::{parse_document, parse_text, parse_uuid, to_json};
use super::super::{Delivery, DeliveryFilter, DeliveryStatus, Finished, Pick, StoreError, Tx};
use crate::domain::{Component, Envelope, NewEvent, ReservationDoc, SalesOrderDoc, Source};

/// The two-key advisory lock of the log (two-key locks do not overlap with
/// the one-key process locks).
const APPEND_LOCK: (i32, i32) = (0x0070_6937, 1);

/// The writers' gate: shared by every unit of work, exclusive for a rebuild.
const WRITERS_GATE: (i32, i32) = (0x0070_6937, 2);

pub(super) const ENVELOPE_COLUMNS: &str =
    "SELECT seq, id, topic, process_id, causation_id, source, time, payload FROM events";

pub(super) const DELIVERY_COLUMNS: &str =
    "SELECT d.key, d.seq, e.topic, d.component, e.process_id, d.status, d.attempts, d.error
     FROM deliveries d JOIN events e ON e.seq = d.seq";

pub(super) type Statements = HashMap<String, Statement>;

pub(super) struct PgTx<'a> {
    pub(super) tx: Transaction<'a>,
    statements: &'a mut Statements,
    /// The first seq of the command this transaction is appending.
    command: Option<u64>,
    /// Process locks held (by key).
    locked: HashSet<i64>,
    /// Processes this transaction brings into the log (see `append`): no
    /// other transaction can see or change them until it commits, so they
    /// need no lock.
    fresh: HashSet<Uuid>,
    /// The next seq, once the append lock is held.
    next_seq: Option<u64>,
    /// When the append lock was taken after the last `last_seq()`: the log's
    /// end at that moment, which is where the handling that asked really
    /// happens (whatever was appended meanwhile belongs to other processes).
    position_at_lock: Option<u64>,
    /// Whether workers should be woken when this commits.
    pub(super) added_deliveries: bool,
}

/// How many process locks a transaction takes before it looks for new
/// processes that need none (see `append`); PostgreSQL's default lock table
/// holds 64 per connection.
const LOCKS_BEFORE_FRESH: usize = 256;

/// The advisory lock key of a process.
pub(super) fn process_key(process_id: Uuid) -> i64 {
    let bytes = process_id.as_bytes();
    i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"))
        ^ i64::from_be_bytes(bytes[8..].try_into().expect("8 bytes"))
}

impl<'a> PgTx<'a> {
    pub(super) fn new(tx: Transaction<'a>, statements: &'a mut Statements) -> Self {
        PgTx {
            tx,
            statements,
            command: None,
            locked: HashSet::new(),
            fresh: HashSet::new(),
            next_seq: None,
            position_at_lock: None,
            added_deliveries: false,
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    pub(super) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query(&statement, params)?)
    }

    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query_opt(&statement, params)?)
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.execute(&statement, params)?)
    }

    /// Passes the writers' gate: the first thing a unit of work does, while
    /// it holds no other lock. `exclusive` (a rebuild) waits until no other
    /// writer is in a transaction, and keeps them all out until it commits.
    pub(super) fn pass_gate(&mut self, exclusive: bool) -> Result<(), StoreError> {
        let sql = if exclusive {
            "SELECT pg_advisory_xact_lock($1, $2)"
        } else {
            "SELECT pg_advisory_xact_lock_shared($1, $2)"
        };
        self.execute(sql, &[&WRITERS_GATE.0, &WRITERS_GATE.1])?;
        Ok(())
    }

    /// Takes the lock of `process_id` for the rest of the transaction:
    /// waits for it when nothing else is held, else only tries.
    pub(super) fn lock_process(&mut self, process_id: Uuid) -> Result<bool, StoreError> {
        let key = process_key(process_id);
        if self.locked.contains(&key) {
            return Ok(true);
        }
        if self.locked.is_empty() && self.next_seq.is_none() {
            self.execute("SELECT pg_advisory_xact_lock($1)", &[&key])?;
        } else {
            let row = self
                .query_opt("SELECT pg_try_advisory_xact_lock($1)", &[&key])?
                .expect("SELECT returns a row");
            if !row.get::<_, bool>(0) {
                return Ok(false);
            }
        }
        self.locked.insert(key);
        Ok(true)
    }

    fn lock_or_retry(&mut self, process_id: Uuid) -> Result<(), StoreError> {
        if self.fresh.contains(&process_id) || self.lock_process(process_id)? {
            Ok(())
        } else {
            Err(StoreError::Contended)
        }
    }

    /// The next seq to append at, taking the append lock first.
    fn next_seq(&mut self) -> Result<u64, StoreError> {
        if let Some(seq) = self.next_seq {
            return Ok(seq);
        }
        self.execute(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&APPEND_LOCK.0, &APPEND_LOCK.1],
        )?;
        let last = self.max_seq()?;
        self.position_at_lock = Some(last);
        self.next_seq = Some(last + 1);
        Ok(last + 1)
    }

    fn max_seq(&mut self) -> Result<u64, StoreError> {
        let row = self
            .query_opt("SELECT coalesce(max(seq), 0) FROM events", &[])?
            .expect("an aggregate returns a row");
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn envelopes(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Envelope>, StoreError> {
        self.query(sql, params)?
            .iter()
            .map(envelope_from_row)
            .collect()
    }

    fn document<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        self.query_opt(sql, &[&key])?
            .map(|row| parse_document(row.get::<_, &str>(0)))
            .transpose()
    }
}

impl Tx for PgTx<'_> {
    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError> {
        // Each process lock is an entry of the server's lock table until
        // commit, which holds a few thousand in all: a command that brings
        // in many new processes (a bulk submit or import) would fill it. Once
        // it holds many, a process with no event in the log yet is taken as
        // new instead: under the append lock, held from the first append to
        // the commit, no other transaction can append to it, and it has no
        // documents or deliveries for anyone to change before this commits.
        let process = event.process_id;
        if self.locked.len() >= LOCKS_BEFORE_FRESH
            && self.next_seq.is_some()
            && !self.locked.contains(&process_key(process))
            && !self.fresh.contains(&process)
            && self
                .query_opt(
                    "SELECT 1 FROM events WHERE process_id = $1 LIMIT 1",
                    &[&process.to_string()],
                )?
                .is_none()
        {
            self.fresh.insert(process);
        }
        self.lock_or_retry(process)?;
        let seq = self.next_seq()?;
        let command = match event.causation_id {
            Some(_) => None,
            None => Some(*self.command.get_or_insert(seq)),
        };
        let inserted = self.execute(
            "INSERT INTO events
               (seq, id, topic, process_id, causation_id, source, time, payload, command)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO NOTHING",
            &[
                &(seq as i64),
                &event.id.to_string(),
                &event.topic.as_str(),
                &event.process_id.to_string(),
                &event.causation_id.map(|c| c.to_string()),
                &event.source.as_str(),
                &event.time,
                &to_json(&event.payload),
                &command.map(|c| c as i64),
            ],
        )?;
        if inserted == 0 {
            // As SQLite's UNIQUE constraint refuses it, without aborting the
            // transaction (a caller may go on and roll back itself).
            return Err(StoreError::Corrupt(format!(
                "event {} is already in the log",
                event.id
            )));
        }
        self.next_seq = Some(seq + 1);
        Ok(event.sequenced(seq))
    }

    fn start_command(&mut self) {
        self.command = None;
    }

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        self.position_at_lock = None;
        match self.next_seq {
            Some(next) => Ok(next - 1),
            None => self.max_seq(),
        }
    }

    fn event_by_id(&mut self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        Ok(self
            .envelopes(
                &format!("{ENVELOPE_COLUMNS} WHERE id = $1"),
                &[&id.to_string()],
            )?
            .pop())
    }

    fn events_of(&mut self, process_id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        self.lock_or_retry(process_id)?;
        self.envelopes(
            &format!("{ENVELOPE_COLUMNS} WHERE process_id = $1 ORDER BY seq"),
            &[&process_id.to_string()],
        )
    }

    fn add_delivery(&mut self, seq: u64, component: Component) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO deliveries (seq, component) VALUES ($1, $2)",
            &[&(seq as i64), &component.as_str()],
        )?;
        self.added_deliveries = true;
        Ok(())
    }

    fn event(&mut self, seq: u64) -> Result<Envelope, StoreError> {
        self.envelopes(
            &format!("{ENVELOPE_COLUMNS} WHERE seq = $1"),
            &[&(seq as i64)],
        )?
        .pop()
        .ok_or_else(|| StoreError::Corrupt(format!("no event with seq {seq}")))
    }

    fn has_process(&mut self, process_id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM events WHERE process_id = $1 LIMIT 1",
                &[&process_id.to_string()],
            )?
            .is_some())
    }

    fn has_event(&mut self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .query_opt("SELECT 1 FROM events WHERE id = $1", &[&id.to_string()])?
            .is_some())
    }

    /// Claims the first pending delivery that no other transaction holds
    /// (`FOR UPDATE SKIP LOCKED`) and takes its process's lock. When that
    /// lock is someone else's while this transaction already holds others,
    /// it ends the batch (`None`); the caller commits and asks again.
    fn next_pending(
        &mut self,
        order: Pick,
        filter: &DeliveryFilter,
    ) -> Result<Option<Delivery>, StoreError> {
        let Some(delivery) = self.claim(filter, order, Some(1))?.pop() else {
            return Ok(None);
        };
        if !self.lock_process(delivery.process_id)? {
            return Ok(None);
        }
        // Claimed while it was pending; a replay that does not claim may
        // have handled it while this waited for the process lock.
        Ok(self
            .delivery(delivery.seq, delivery.component)?
            .filter(|d| d.status == DeliveryStatus::Pending))
    }

    /// Claims every pending delivery that `filter` lets through and no other
    /// transaction holds, so that a random pick among them is never handled
    /// twice.
    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        self.claim(filter, Pick::First, None)
    }

    fn finish_delivery(&mut self, delivery: &Delivery, result: Finished) -> Result<(), StoreError> {
        let (status, error, position) = match result {
            Finished::Done { position } => {
                // Under the append lock, so that no handling that publishes
                // is in flight: one recorded at the same position but
                // ordered before this one would find this record between
                // itself and its events when the log is replayed.
                self.next_seq()?;
                let position = self.position_at_lock.take().unwrap_or(position);
                (DeliveryStatus::Done, None, Some(position as i64))
            }
            Finished::Failed { error, park: true } => (DeliveryStatus::Failed, Some(error), None),
            Finished::Failed { error, park: false } => (delivery.status, Some(error), None),
        };
        self.execute(
            "UPDATE deliveries SET status = $2, attempts = attempts + 1, error = $3,
               handled = CASE WHEN $2 = 'done' THEN nextval('handling_order') END,
               log_seq = $4
             WHERE key = $1",
            &[&delivery.key, &status.as_str(), &error, &position],
        )?;
        Ok(())
    }

    fn record_redelivery(
        &mut self,
        seq: u64,
        component: Component,
        time: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO redeliveries (seq, component, time, changed) VALUES ($1, $2, $3, $4)",
            &[&(seq as i64), &component.as_str(), &time, &changed],
        )?;
        Ok(())
    }

    fn delivery(&mut self, seq: u64, component: Component) -> Result<Option<Delivery>, StoreError> {
        let found = self
            .query(
                &format!("{DELIVERY_COLUMNS} WHERE d.seq = $1 AND d.component = $2"),
                &[&(seq as i64), &component.as_str()],
            )?
            .first()
            .map(delivery_from_row)
            .transpose()?;
        match found {
            // A process new in this transaction needs no lock (see
            // `append`): nobody else can see its deliveries yet.
            Some(delivery)
                if !self.locked.contains(&process_key(delivery.process_id))
                    && !self.fresh.contains(&delivery.process_id) =>
            {
                // Read again under the process lock: a worker may be
                // handling it right now.
                self.lock_or_retry(delivery.process_id)?;
                self.delivery(seq, component)
            }
            other => Ok(other),
        }
    }

    fn sales_order(&mut self, process_id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.lock_or_retry(process_id)?;
        self.document(
            "SELECT document FROM salesorders WHERE process_id = $1",
            &process_id.to_string(),
        )
    }

    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        self.lock_or_retry(process_id)?;
        self.query(
            "SELECT document FROM reservations WHERE process_id = $1 ORDER BY row",
            &[&process_id.to_string()],
        )?
        .iter()
        .map(|row| parse_document(row.get::<_, &str>(0)))
        .collect()
    }

    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        let sql = "SELECT document FROM reservations WHERE id = $1";
        let found: Option<ReservationDoc> = self.document(sql, &id.to_string())?;
        match found {
            Some(doc) if !self.locked.contains(&process_key(doc.process_id)) => {
                // Read again under the process lock, which it was not read under.
                self.lock_or_retry(doc.process_id)?;
                self.document(sql, &id.to_string())
            }
            other => Ok(other),
        }
    }

    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.lock_or_retry(doc.process_id)?;
        self.upsert_sales_order(doc)
    }

    fn save_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError> {
        self.lock_or_retry(doc.process_id)?;
        self.upsert_reservation(doc)
    }
}

impl PgTx<'_> {
    /// Writes a sales order by id, taking no lock: the caller holds the
    /// process lock, or (a rebuild) keeps every writer out.
    pub(super) fn upsert_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO salesorders (id, process_id, customer, status, document)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET
               customer = excluded.customer, status = excluded.status,
               document = excluded.document",
            &[
                &doc.id.to_string(),
                &doc.process_id.to_string(),
                &doc.object.customer,
                &doc.object.status.as_str(),
                &to_json(doc),
            ],
        )?;
        Ok(())
    }

    pub(super) fn upsert_reservation(&mut self, doc: &ReservationDoc) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO reservations (id, process_id, status, document)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET
               status = excluded.status, document = excluded.document",
            &[
                &doc.id.to_string(),
                &doc.process_id.to_string(),
                &doc.object.status.as_str(),
                &to_json(doc),
            ],
        )?;
        Ok(())
    }
}

impl PgTx<'_> {
    /// Pending deliveries through `filter`, locked for this transaction;
    /// those another transaction holds are skipped.
    fn claim(
        &mut self,
        filter: &DeliveryFilter,
        order: Pick,
        limit: Option<i64>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let direction = match order {
            Pick::First => "ASC",
            Pick::Last => "DESC",
        };
        let sql = format!(
            "{DELIVERY_COLUMNS}
             WHERE d.status = 'pending'
               AND ($1::text IS NULL OR d.component = $1)
               AND ($2::text IS NULL OR e.process_id = $2)
               AND NOT (d.key = ANY($3))
             ORDER BY d.key {direction}
             LIMIT $4
             FOR UPDATE OF d SKIP LOCKED"
        );
        self.query(
            &sql,
            &[
                &filter.component.map(|c| c.as_str()),
                &filter.process_id.map(|p| p.to_string()),
                &filter.exclude,
                &limit,
            ],
        )?
        .iter()
        .map(delivery_from_row)
        .collect()
    }
}

pub(super) fn delivery_from_row(row: &Row) -> Result<Delivery, StoreError> {
    let status: &str = row.get(5);
    Ok(Delivery {
        key: row.get(0),
        seq: row.get::<_, i64>(1) as u64,
        topic: parse_text(row.get::<_, &str>(2))?,
        component: parse_text(row.get::<_, &str>(3))?,
        process_id: parse_uuid(row.get::<_, &str>(4))?,
        status: DeliveryStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status '{status}'")))?,
        attempts: row.get::<_, i32>(6) as u32,
        error: row.get(7),
    })
}

pub(super) fn envelope_from_row(row: &Row) -> Result<Envelope, StoreError> {
    let causation: Option<&str> = row.get(4);
    Ok(Envelope {
        seq: row.get::<_, i64>(0) as u64,
        id: parse_uuid(row.get::<_, &str>(1))?,
        topic: parse_text(row.get::<_, &str>(2))?,
        process_id: parse_uuid(row.get::<_, &str>(3))?,
        causation_id: causation.map(parse_uuid).transpose()?,
        source: parse_text::<Source>(row.get::<_, &str>(5))?,
        time: row.get(6),
        payload: serde_json::from_str(row.get::<_, &str>(7))
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
    })
}
