//! The reads commands make on PostgreSQL, the log as steps for the verified
//! replay, and the wake-up channel of workers.
//!
//! Whatever reads more than one statement's worth runs in one
//! `REPEATABLE READ` read-only transaction, so it sees one moment of the
//! system while other processes write; since `seq` is given in commit
//! order (see `tx.rs`), that moment is always a prefix of the log.

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, Row, Transaction};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

use super::super::sqlite::{parse_document, parse_uuid};
use super::super::{Delivery, DeliveryFilter, DeliveryStatus, Handling, StoreError};
use super::tx::{delivery_from_row, envelope_from_row, DELIVERY_COLUMNS, ENVELOPE_COLUMNS};
use super::{connect, describe, Conn, PgStore, CHANNEL};
use crate::domain::{Component, Envelope, ReservationDoc, SalesOrderDoc, Topic};
use crate::replay::{LogSource, Recorded, Step, StepWriter};
use crate::store::{DocumentKind, Found};

/// How many rows a streaming read fetches at a time.
const BATCH: i32 = 1000;

impl PgStore {
    pub(super) fn rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let conn = &mut *self.conn.borrow_mut();
        let statement = match conn.statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = conn.client.prepare(sql)?;
                conn.statements.insert(sql.to_string(), s.clone());
                s
            }
        };
        Ok(conn.client.query(&statement, params)?)
    }

    /// Runs `sql` a page at a time: its parameters are `params` and then
    /// the key (column `key` of its rows) to start after, and it returns at
    /// most 1000 rows in key order. The connection is free while `each`
    /// runs, so `each` may read too. `seq` is given in commit order, so
    /// paging the log by it never skips an event that commits meanwhile.
    fn paged(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        key: usize,
        mut after: i64,
        each: &mut dyn FnMut(&Row) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        loop {
            let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
            all.push(&after);
            let rows = self.rows(sql, &all)?;
            for row in &rows {
                each(row)?;
            }
            match rows.last() {
                Some(last) if rows.len() == BATCH as usize => after = last.get(key),
                _ => return Ok(()),
            }
        }
    }

    /// Runs `read` in one read-only snapshot.
    fn snapshot<T>(
        &self,
        read: impl FnOnce(&mut Transaction) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let conn: &mut Conn = &mut self.conn.borrow_mut();
        let mut tx = conn
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(StoreError::from)?;
        let value = read(&mut tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    pub fn sales_order_by_id(&self, id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.document("SELECT document FROM salesorders WHERE id = $1", id)
    }

    pub fn sales_order_by_process(
        &self,
        process_id: Uuid,
    ) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.document(
            "SELECT document FROM salesorders WHERE process_id = $1",
            process_id,
        )
    }

    pub fn reservation_by_id(&self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        self.document("SELECT document FROM reservations WHERE id = $1", id)
    }

    pub fn known_reservations(
        &self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        self.rows("SELECT id FROM reservations WHERE id = ANY($1)", &[&ids])?
            .iter()
            .map(|r| parse_uuid(r.get::<_, &str>(0)))
            .collect()
    }

    fn document<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        key: Uuid,
    ) -> Result<Option<T>, StoreError> {
        self.rows(sql, &[&key.to_string()])?
            .first()
            .map(|r| parse_document(r.get::<_, &str>(0)))
            .transpose()
    }

    pub fn reservations_of(&self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        self.rows(
            "SELECT document FROM reservations WHERE process_id = $1 ORDER BY row",
            &[&process_id.to_string()],
        )?
        .iter()
        .map(|r| parse_document(r.get::<_, &str>(0)))
        .collect()
    }

    pub fn for_each_sales_order(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(SalesOrderDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let process = process_id.map(|p| p.to_string());
        self.paged(
            "SELECT document, row FROM salesorders
             WHERE ($1::text IS NULL OR status = $1)
               AND ($2::text IS NULL OR process_id = $2)
               AND ($3::text IS NULL OR customer = $3)
               AND row > $4
             ORDER BY row LIMIT 1000",
            &[&status, &process, &customer],
            1,
            0,
            &mut |row| each(parse_document(row.get::<_, &str>(0))?),
        )
    }

    pub fn for_each_reservation(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(ReservationDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let process = process_id.map(|p| p.to_string());
        self.paged(
            "SELECT r.document, r.row FROM reservations r
             WHERE ($1::text IS NULL OR r.status = $1)
               AND ($2::text IS NULL OR r.process_id = $2)
               AND ($3::text IS NULL OR r.process_id IN
                    (SELECT process_id FROM salesorders WHERE customer = $3))
               AND r.row > $4
             ORDER BY r.row LIMIT 1000",
            &[&status, &process, &customer],
            1,
            0,
            &mut |row| each(parse_document(row.get::<_, &str>(0))?),
        )
    }

    /// Everything of `kinds` whose id starts with `prefix`; at most `limit`
    /// of each kind.
    pub fn find(
        &self,
        prefix: &str,
        kinds: &[DocumentKind],
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let upper = format!("{prefix}~");
        let queries: [(DocumentKind, &str); 3] = [
            (
                DocumentKind::SalesOrder,
                "SELECT id, process_id FROM salesorders WHERE id >= $1 AND id < $2 LIMIT $3",
            ),
            (
                DocumentKind::Reservation,
                "SELECT id, process_id FROM reservations WHERE id >= $1 AND id < $2 LIMIT $3",
            ),
            (
                DocumentKind::Process,
                "SELECT DISTINCT process_id, process_id FROM events
                 WHERE process_id >= $1 AND process_id < $2 LIMIT $3",
            ),
        ];
        let mut found = Vec::new();
        for (kind, sql) in queries.into_iter().filter(|(k, _)| kinds.contains(k)) {
            for row in self.rows(sql, &[&prefix, &upper, &(limit as i64)])? {
                found.push(Found {
                    kind,
                    id: parse_uuid(row.get::<_, &str>(0))?,
                    process_id: parse_uuid(row.get::<_, &str>(1))?,
                });
            }
        }
        Ok(found)
    }

    /// Calls `each` for every event after `since`, in `seq` order, narrowed
    /// by process and topic; returns the last seq seen.
    pub fn for_each_event(
        &self,
        since: u64,
        process_id: Option<Uuid>,
        topic: Option<Topic>,
        each: &mut dyn FnMut(Envelope) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let process = process_id.map(|p| p.to_string());
        let topic = topic.map(|t| t.as_str());
        let mut last = since as u64;
        self.paged(
            &format!(
                "{ENVELOPE_COLUMNS}
                 WHERE ($1::text IS NULL OR process_id = $1)
                   AND ($2::text IS NULL OR topic = $2)
                   AND seq > $3
                 ORDER BY seq LIMIT 1000"
            ),
            &[&process, &topic],
            0,
            since,
            &mut |row| {
                let event = envelope_from_row(row)?;
                last = event.seq;
                each(event)
            },
        )?;
        Ok(last)
    }

    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.event_count()?.1)
    }

    pub fn processes_since(
        &self,
        since: u64,
        topic: Topic,
        limit: usize,
    ) -> Result<Vec<(u64, Uuid)>, StoreError> {
        let rows = self.rows(
            "SELECT seq, process_id FROM events
             WHERE topic = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[
                &topic.as_str(),
                &i64::try_from(since).unwrap_or(i64::MAX),
                &i64::try_from(limit).unwrap_or(i64::MAX),
            ],
        )?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.get::<_, i64>(0) as u64,
                    parse_uuid(&row.get::<_, String>(1))?,
                ))
            })
            .collect()
    }

    /// (number of events, highest seq).
    pub fn event_count(&self) -> Result<(u64, u64), StoreError> {
        let rows = self.rows("SELECT count(*), coalesce(max(seq), 0) FROM events", &[])?;
        Ok((
            rows[0].get::<_, i64>(0) as u64,
            rows[0].get::<_, i64>(1) as u64,
        ))
    }

    pub fn event_by_id(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        self.rows(
            &format!("{ENVELOPE_COLUMNS} WHERE id = $1"),
            &[&id.to_string()],
        )?
        .first()
        .map(envelope_from_row)
        .transpose()
    }

    /// Deliveries with `status`, first first, narrowed by `filter`.
    pub fn deliveries(
        &self,
        status: DeliveryStatus,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>, StoreError> {
        Ok(self
            .rows(
                &format!(
                    "{DELIVERY_COLUMNS}
                     WHERE d.status = $1
                       AND ($2::text IS NULL OR d.component = $2)
                       AND ($3::text IS NULL OR e.process_id = $3)
                     ORDER BY d.key"
                ),
                &[
                    &status.as_str(),
                    &filter.component.map(|c| c.as_str()),
                    &filter.process_id.map(|p| p.to_string()),
                ],
            )?
            .iter()
            .map(delivery_from_row)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|d| !filter.exclude.contains(&d.key))
            .collect())
    }

    /// Every delivery (of one process, when given) with where it was
    /// handled (`None` while not handled), in handling order, unhandled
    /// ones last.
    pub fn deliveries_by_handling(
        &self,
        process_id: Option<Uuid>,
    ) -> Result<Vec<(Delivery, Option<Handling>)>, StoreError> {
        // Two statements, so that one process's deliveries are found through
        // its events' index rather than by reading every delivery.
        let filter = if process_id.is_some() {
            "WHERE e.process_id = $1"
        } else {
            "WHERE $1::text IS NULL"
        };
        let sql = format!(
            "SELECT d.key, d.seq, e.topic, d.component, e.process_id, d.status, d.attempts,
                    d.error, d.handled, d.log_seq
             FROM deliveries d JOIN events e ON e.seq = d.seq
             {filter}
             ORDER BY d.handled IS NULL, d.handled, d.key"
        );
        self.rows(&sql, &[&process_id.map(|p| p.to_string())])?
            .iter()
            .map(|row| {
                let order: Option<i64> = row.get(8);
                let position: Option<i64> = row.get(9);
                let handling = order.zip(position).map(|(order, position)| Handling {
                    order: order as u64,
                    position: position as u64,
                });
                Ok((delivery_from_row(row)?, handling))
            })
            .collect()
    }

    /// Every row whose filter columns disagree with its document.
    pub fn column_mismatches(&self) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for row in self.rows(
            "SELECT id, process_id, customer, status, document FROM salesorders ORDER BY row",
            &[],
        )? {
            let id: String = row.get(0);
            let doc: SalesOrderDoc = parse_document(row.get::<_, &str>(4))?;
            let columns = (
                row.get::<_, String>(1),
                row.get::<_, Option<String>>(2),
                row.get::<_, String>(3),
            );
            let documented = (
                doc.process_id.to_string(),
                doc.object.customer.clone(),
                doc.object.status.as_str().to_string(),
            );
            if id != doc.id.to_string() || columns != documented {
                found.push(format!(
                    "sales order {id}: its columns say process {}, customer {:?}, status {} but its document says process {}, customer {:?}, status {}",
                    columns.0, columns.1, columns.2, documented.0, documented.1, documented.2
                ));
            }
        }
        for row in self.rows(
            "SELECT id, process_id, status, document FROM reservations ORDER BY row",
            &[],
        )? {
            let id: String = row.get(0);
            let doc: ReservationDoc = parse_document(row.get::<_, &str>(3))?;
            let columns = (row.get::<_, String>(1), row.get::<_, String>(2));
            let documented = (
                doc.process_id.to_string(),
                doc.object.status.as_str().to_string(),
            );
            if id != doc.id.to_string() || columns != documented {
                found.push(format!(
                    "reservation {id}: its columns say process {}, status {} but its document says process {}, status {}",
                    columns.0, columns.1, documented.0, documented.1
                ));
            }
        }
        Ok(found)
    }

    pub fn neighbours(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let queries = [
            "SELECT max(id) FROM salesorders WHERE id < $1",
            "SELECT min(id) FROM salesorders WHERE id > $1",
            "SELECT max(id) FROM reservations WHERE id < $1",
            "SELECT min(id) FROM reservations WHERE id > $1",
            "SELECT max(process_id) FROM events WHERE process_id < $1",
            "SELECT min(process_id) FROM events WHERE process_id > $1",
        ];
        let mut found = Vec::new();
        for sql in queries {
            if let Some(neighbour) = self.rows(sql, &[&id])?[0].get::<_, Option<String>>(0) {
                found.push(neighbour);
            }
        }
        Ok(found)
    }

    pub fn sharing_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
        let upper = format!("{prefix}~"); // '~' sorts after every id character
        let count = self.rows(
            "SELECT (SELECT count(*) FROM
                       (SELECT 1 FROM salesorders WHERE id >= $1 AND id < $2 LIMIT 2) s)
                  + (SELECT count(*) FROM
                       (SELECT 1 FROM reservations WHERE id >= $1 AND id < $2 LIMIT 2) r)
                  + (SELECT CASE WHEN lowest IS NULL THEN 0 WHEN lowest = highest THEN 1 ELSE 2 END
                     FROM (SELECT
                       -- One index probe each, however many events a process has.
                       (SELECT min(process_id) FROM events
                        WHERE process_id >= $1 AND process_id < $2) AS lowest,
                       (SELECT max(process_id) FROM events
                        WHERE process_id >= $1 AND process_id < $2) AS highest) p)",
            &[&prefix, &upper],
        )?[0]
            .get::<_, i64>(0);
        Ok(count as u64)
    }

    /// The schema version (PostgreSQL's, see `PG_SCHEMA_VERSION`) and the
    /// row counts `pi7 info` shows.
    pub fn counts(&self) -> Result<(i64, std::collections::BTreeMap<String, u64>), StoreError> {
        let version =
            self.rows("SELECT coalesce(max(version), 0) FROM pi7_schema", &[])?[0].get::<_, i64>(0);
        let mut counts = std::collections::BTreeMap::new();
        for row in self.rows(
            "SELECT 'events', count(*) FROM events
             UNION ALL SELECT 'deliveries ' || status, count(*) FROM deliveries GROUP BY status
             UNION ALL SELECT 'salesorders ' || status, count(*) FROM salesorders GROUP BY status
             UNION ALL SELECT 'reservations ' || status, count(*) FROM reservations GROUP BY status",
            &[],
        )? {
            counts.insert(row.get::<_, String>(0), row.get::<_, i64>(1) as u64);
        }
        Ok((version, counts))
    }

    /// The server checks its own pages; there is no whole-database check
    /// to run from a client.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        Ok(vec!["ok".into()])
    }

    /// A connection that waits for new deliveries (`LISTEN`).
    pub fn notifications(&self) -> Result<Notifications, StoreError> {
        let mut client = connect(&self.url, &self.shown, self.schema.as_deref())?;
        client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        Ok(Notifications { client })
    }
}

/// A listening connection: [`wait`](Self::wait) returns when a transaction
/// that added deliveries commits, or after the timeout.
pub struct Notifications {
    client: Client,
}

impl Notifications {
    /// Waits up to `timeout` for a wake-up; all that arrived are taken.
    pub fn wait(&mut self, timeout: Duration) -> Result<(), StoreError> {
        let mut notifications = self.client.notifications();
        notifications
            .timeout_iter(timeout)
            .next()
            .map_err(|e| StoreError::CannotOpen {
                path: CHANNEL.into(),
                detail: describe(&e),
            })?;
        let mut rest = notifications.iter();
        while rest.next()?.is_some() {}
        Ok(())
    }
}

impl LogSource for PgStore {
    fn for_each_step(
        &self,
        process_id: Option<Uuid>,
        each: &mut dyn FnMut(Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let process = process_id.map(|p| p.to_string());
        self.snapshot(|tx| {
            let mut handled = Vec::new();
            for row in tx.query(
                "SELECT d.log_seq, d.handled, e.id, d.component
                 FROM deliveries d JOIN events e ON e.seq = d.seq
                 WHERE d.status = 'done' AND ($1::text IS NULL OR e.process_id = $1)",
                &[&process],
            )? {
                handled.push(Recorded {
                    position: row.get::<_, i64>(0) as u64,
                    order: row.get::<_, i64>(1) as u64,
                    event: parse_uuid(row.get::<_, &str>(2))?,
                    component: Component::from_str(row.get::<_, &str>(3))
                        .map_err(StoreError::Corrupt)?,
                });
            }
            let mut sizes = std::collections::HashMap::new();
            for row in tx.query(
                "SELECT command, count(*) FROM events
                 WHERE command IS NOT NULL AND ($1::text IS NULL OR process_id = $1)
                 GROUP BY command HAVING count(*) > 1",
                &[&process],
            )? {
                sizes.insert(row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as usize);
            }
            let mut writer = StepWriter::new(handled, sizes);
            stream(
                tx,
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload, command
                 FROM events WHERE ($1::text IS NULL OR process_id = $1) ORDER BY seq",
                &[&process],
                &mut |row| {
                    let command = row.get::<_, Option<i64>>(8).map(|c| c as u64);
                    writer.event(envelope_from_row(row)?, command, each)
                },
            )?;
            writer.finish(each)
        })
    }
}

/// Runs `sql` as a portal and calls `each` for every row, a batch at a time.
fn stream(
    tx: &mut Transaction,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    each: &mut dyn FnMut(&Row) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let portal = tx.bind(sql, params).map_err(StoreError::from)?;
    loop {
        let rows = tx.query_portal(&portal, BATCH).map_err(StoreError::from)?;
        for row in &rows {
            each(row)?;
        }
        if rows.len() < BATCH as usize {
            return Ok(());
        }
    }
}
