//! One unit of work on SQLite: the [`Tx`] the dispatcher and the commands
//! write through, with the write-count hooks the fault tests use.

use super::*;

pub(super) struct SqliteTx<'a> {
    conn: &'a Connection,
    /// The first seq of the command this transaction is appending.
    command: Option<u64>,
}

impl<'a> SqliteTx<'a> {
    pub(super) fn new(conn: &'a Connection) -> Self {
        SqliteTx {
            conn,
            command: None,
        }
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

impl Tx for SqliteTx<'_> {
    fn append(&mut self, event: NewEvent) -> Result<Envelope, StoreError> {
        self.write()?;
        let command = match (event.causation_id, self.command) {
            (Some(_), _) => None,
            (None, Some(first)) => Some(first),
            // The write lock is held, so the next seq is the one SQLite
            // gives this row.
            (None, None) => Some(self.last_seq()? + 1),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO events
                   (id, topic, process_id, causation_id, source, time, payload, command)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                event.id.to_string(),
                event.topic.as_str(),
                event.process_id.to_string(),
                event.causation_id.map(|c| c.to_string()),
                event.source.as_str(),
                event.time,
                event.payload.to_string(),
                command.map(|c| c as i64),
            ])?;
        let seq = self.conn.last_insert_rowid() as u64;
        if event.causation_id.is_none() && self.command.is_none() {
            self.command = Some(seq);
        }
        Ok(event.sequenced(seq))
    }

    fn start_command(&mut self) {
        self.command = None;
    }

    fn last_seq(&mut self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM events")?
            .query_row([], |r| r.get::<_, i64>(0))? as u64)
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
        self.conn
            .prepare_cached("INSERT INTO deliveries (seq, component) VALUES (?1, ?2)")?
            .execute(params![seq as i64, component.as_str()])?;
        Ok(())
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
        Ok(select_deliveries(self.conn, DeliveryStatus::Pending, filter, order, Some(1))?.pop())
    }

    fn pending(&mut self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
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
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET status = ?2, attempts = attempts + 1, error = ?3,
                   handled = CASE WHEN ?2 = 'done'
                     THEN (SELECT coalesce(max(handled), 0) + 1 FROM deliveries)
                   END,
                   log_seq = ?4
                 WHERE key = ?1",
            )?
            .execute(params![delivery.key, status.as_str(), error, position])?;
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
        self.conn
            .prepare_cached("SELECT document FROM salesorders WHERE process_id = ?1")?
            .query_row([process_id.to_string()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|json| parse_document(&json))
            .transpose()
    }

    fn reservations(&mut self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT document FROM reservations WHERE process_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([process_id.to_string()], |r| r.get::<_, String>(0))?;
        rows.map(|json| parse_document(&json?)).collect()
    }

    fn reservation(&mut self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        self.conn
            .prepare_cached("SELECT document FROM reservations WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|json| parse_document(&json))
            .transpose()
    }

    fn save_sales_order(&mut self, doc: &SalesOrderDoc) -> Result<(), StoreError> {
        self.write()?;
        self.conn
            .prepare_cached(
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
        self.conn
            .prepare_cached(
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
