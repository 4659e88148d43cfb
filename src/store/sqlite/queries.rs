//! The reads the command line makes, and the log as steps for the
//! verified replay.

use super::*;

impl SqliteStore {
    /// Starts a read transaction that lasts until the returned guard is
    /// dropped: every read meanwhile sees one state of the database, and
    /// the file's locks are taken once rather than for every statement.
    /// `None` when a transaction is open already (or cannot be begun): the
    /// reads then run as they would have.
    pub fn begin_read(&self) -> Option<ReadSnapshot<'_>> {
        if !self.conn.is_autocommit() {
            return None;
        }
        self.conn
            .prepare_cached("BEGIN")
            .and_then(|mut begin| begin.execute([]))
            .ok()?;
        Some(ReadSnapshot(&self.conn))
    }

    // ---- reads the command line makes ----

    pub fn sales_order_by_id(&self, id: Uuid) -> Result<Option<SalesOrderDoc>, StoreError> {
        self.conn
            .prepare_cached("SELECT document FROM salesorders WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|json| parse_document(&json))
            .transpose()
    }

    pub fn sales_order_by_process(
        &self,
        process_id: Uuid,
    ) -> Result<Option<SalesOrderDoc>, StoreError> {
        SqliteTx::new(&self.conn).sales_order(process_id)
    }

    pub fn reservation_by_id(&self, id: Uuid) -> Result<Option<ReservationDoc>, StoreError> {
        SqliteTx::new(&self.conn).reservation(id)
    }

    pub fn reservations_of(&self, process_id: Uuid) -> Result<Vec<ReservationDoc>, StoreError> {
        SqliteTx::new(&self.conn).reservations(process_id)
    }

    pub fn known_reservations(
        &self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM reservations WHERE id = ?1")?;
        let mut known = std::collections::HashSet::with_capacity(ids.len());
        for id in ids {
            if stmt.exists([id.to_string()])? {
                known.insert(*id);
            }
        }
        Ok(known)
    }

    /// Sales orders in the order they were created, narrowed by the
    /// filters, one document at a time.
    pub fn for_each_sales_order(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(SalesOrderDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT document FROM salesorders
             WHERE (?1 IS NULL OR status = ?1)
               AND (?2 IS NULL OR process_id = ?2)
               AND (?3 IS NULL OR customer = ?3)
             ORDER BY rowid",
        )?;
        let mut rows = stmt.query(params![status, process_id.map(|p| p.to_string()), customer])?;
        while let Some(row) = rows.next()? {
            each(parse_document(&row.get::<_, String>(0)?)?)?;
        }
        Ok(())
    }

    /// Reservations in the order they were made, narrowed by the filters
    /// (`customer`: that of their sales order), one document at a time.
    pub fn for_each_reservation(
        &self,
        status: Option<&str>,
        process_id: Option<Uuid>,
        customer: Option<&str>,
        each: &mut dyn FnMut(ReservationDoc) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.document FROM reservations r
             WHERE (?1 IS NULL OR r.status = ?1)
               AND (?2 IS NULL OR r.process_id = ?2)
               AND (?3 IS NULL OR r.process_id IN
                    (SELECT process_id FROM salesorders WHERE customer = ?3))
             ORDER BY r.rowid",
        )?;
        let mut rows = stmt.query(params![status, process_id.map(|p| p.to_string()), customer])?;
        while let Some(row) = rows.next()? {
            each(parse_document(&row.get::<_, String>(0)?)?)?;
        }
        Ok(())
    }

    /// Everything of `kinds` whose id starts with `prefix` (lowercase hex and
    /// dashes). At most `limit` of each kind.
    /// The ids just before and just after `id` among sales orders,
    /// reservations and processes: what the shortest unique prefix of `id`
    /// must tell it apart from. Six index seeks.
    pub fn neighbours(&self, id: &str) -> Result<Vec<String>, StoreError> {
        // One statement, not six: short ids are computed for every line of
        // output, and each statement costs more than its two index probes.
        let mut stmt = self.conn.prepare_cached(
            "SELECT (SELECT max(id) FROM salesorders WHERE id < ?1),
                    (SELECT min(id) FROM salesorders WHERE id > ?1),
                    (SELECT max(id) FROM reservations WHERE id < ?1),
                    (SELECT min(id) FROM reservations WHERE id > ?1),
                    (SELECT max(process_id) FROM events WHERE process_id < ?1),
                    (SELECT min(process_id) FROM events WHERE process_id > ?1)",
        )?;
        Ok(stmt
            .query_row(params![id], |r| {
                (0..6)
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<Result<Vec<_>, _>>()
            })?
            .into_iter()
            .flatten()
            .collect())
    }

    pub fn sharing_prefix(&self, prefix: &str) -> Result<u64, StoreError> {
        let upper = format!("{prefix}~"); // '~' sorts after every id character
        Ok(self
            .conn
            .prepare_cached(
                "SELECT (SELECT count(*) FROM
                           (SELECT 1 FROM salesorders WHERE id >= ?1 AND id < ?2 LIMIT 2))
                      + (SELECT count(*) FROM
                           (SELECT 1 FROM reservations WHERE id >= ?1 AND id < ?2 LIMIT 2))
                      + (SELECT CASE WHEN lowest IS NULL THEN 0 WHEN lowest = highest THEN 1 ELSE 2 END
                         FROM (SELECT
                           -- One seek each, however many events a process has.
                           (SELECT min(process_id) FROM events
                            WHERE process_id >= ?1 AND process_id < ?2) AS lowest,
                           (SELECT max(process_id) FROM events
                            WHERE process_id >= ?1 AND process_id < ?2) AS highest))",
            )?
            .query_row(params![prefix, upper], |r| r.get::<_, i64>(0))? as u64)
    }

    pub fn find(
        &self,
        prefix: &str,
        kinds: &[DocumentKind],
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let upper = format!("{prefix}~"); // '~' sorts after every id character
        let mut found = Vec::new();
        let queries: [(DocumentKind, &str); 3] = [
            (
                DocumentKind::SalesOrder,
                "SELECT id, process_id FROM salesorders WHERE id >= ?1 AND id < ?2 LIMIT ?3",
            ),
            (
                DocumentKind::Reservation,
                "SELECT id, process_id FROM reservations WHERE id >= ?1 AND id < ?2 LIMIT ?3",
            ),
            (
                DocumentKind::Process,
                "SELECT DISTINCT process_id, process_id FROM events
                 WHERE process_id >= ?1 AND process_id < ?2 LIMIT ?3",
            ),
        ];
        for (kind, sql) in queries.into_iter().filter(|(k, _)| kinds.contains(k)) {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![prefix, upper, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (id, process_id) = row?;
                found.push(Found {
                    kind,
                    id: parse_uuid(&id)?,
                    process_id: parse_uuid(&process_id)?,
                });
            }
        }
        Ok(found)
    }

    pub fn processes_since(
        &self,
        since: u64,
        topic: Topic,
        limit: usize,
    ) -> Result<Vec<(u64, Uuid)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, process_id FROM events
             WHERE topic = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![
                topic.as_str(),
                i64::try_from(since).unwrap_or(i64::MAX),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?)),
        )?;
        rows.map(|row| {
            let (seq, process) = row?;
            Ok((seq, parse_uuid(&process)?))
        })
        .collect()
    }

    /// Calls `each` for every event after `since`, in `seq` order, narrowed by
    /// process and topic, without holding more than one event in memory.
    pub fn for_each_event(
        &self,
        since: u64,
        process_id: Option<Uuid>,
        topic: Option<Topic>,
        each: &mut dyn FnMut(Envelope) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        // One statement per combination of filters, so that each can use its
        // index (`events_by_process`, `events_by_topic`): given `?2 IS NULL OR
        // process_id = ?2`, SQLite cannot, and scans the whole log. Every
        // statement names ?1, ?2 and ?3, so that all take the same parameters.
        let sql = match (process_id.is_some(), topic.is_some()) {
            (false, false) => {
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events
                 WHERE seq > ?1 AND ?2 IS NULL AND ?3 IS NULL
                 ORDER BY seq"
            }
            (true, _) => {
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events
                 WHERE process_id = ?2 AND seq > ?1 AND (?3 IS NULL OR topic = ?3)
                 ORDER BY seq"
            }
            (false, true) => {
                "SELECT seq, id, topic, process_id, causation_id, source, time, payload
                 FROM events
                 WHERE topic = ?3 AND seq > ?1 AND ?2 IS NULL
                 ORDER BY seq"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![
            // A seq past i64::MAX is past every event, not a negative one.
            i64::try_from(since).unwrap_or(i64::MAX),
            process_id.map(|p| p.to_string()),
            topic.map(|t| t.as_str())
        ])?;
        let mut last = since;
        while let Some(row) = rows.next()? {
            let event = envelope_from_row(row)?;
            last = event.seq;
            each(event)?;
        }
        Ok(last)
    }

    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Every row whose filter columns (those `list`, `expire` and lookups
    /// search by) disagree with its document, as one line each.
    pub fn column_mismatches(&self) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT id, process_id, customer, status, document FROM salesorders")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let doc: SalesOrderDoc = parse_document(&row.get::<_, String>(4)?)?;
            let columns = (
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
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
        let mut stmt = self
            .conn
            .prepare("SELECT id, process_id, status, document FROM reservations")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let doc: ReservationDoc = parse_document(&row.get::<_, String>(3)?)?;
            let columns = (row.get::<_, String>(1)?, row.get::<_, String>(2)?);
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

    /// `PRAGMA integrity_check`: `["ok"]` or what SQLite found wrong.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The schema version, and how many rows each table holds, by status
    /// where it has one: what `pi7 info` shows. Counts, no documents read.
    pub fn counts(&self) -> Result<(i64, BTreeMap<String, u64>), StoreError> {
        let version = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
        let mut counts = BTreeMap::new();
        let mut stmt = self.conn.prepare(
            "SELECT 'events', count(*) FROM events
             UNION ALL SELECT 'deliveries ' || status, count(*) FROM deliveries GROUP BY status
             UNION ALL SELECT 'salesorders ' || status, count(*) FROM salesorders GROUP BY status
             UNION ALL SELECT 'reservations ' || status, count(*) FROM reservations GROUP BY status",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (what, n) = row?;
            counts.insert(what, n as u64);
        }
        Ok((version, counts))
    }

    /// (number of events, highest seq).
    pub fn event_count(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(max(seq), 0) FROM events",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
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
            "WHERE e.process_id = ?1"
        } else {
            "WHERE ?1 IS NULL"
        };
        let sql = format!(
            "{DELIVERY_COLUMNS_HANDLED} {filter} ORDER BY d.handled IS NULL, d.handled, d.key"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([process_id.map(|p| p.to_string())])?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let order: Option<i64> = row.get(8)?;
            let after_seq: Option<i64> = row.get(9)?;
            let handling = order.zip(after_seq).map(|(order, position)| Handling {
                order: order as u64,
                position: position as u64,
            });
            found.push((delivery_from_row(row)?, handling));
        }
        Ok(found)
    }

    /// Deliveries with `status`, first first, narrowed by `filter`.
    pub fn deliveries(
        &self,
        status: DeliveryStatus,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>, StoreError> {
        select_deliveries(&self.conn, status, filter, Pick::First, None)
    }
}

impl LogSource for SqliteStore {
    fn for_each_step(
        &self,
        process_id: Option<Uuid>,
        each: &mut dyn FnMut(Step) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let process = process_id.map(|p| p.to_string());
        let mut handled = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT d.log_seq, d.handled, e.id, d.component
                 FROM deliveries d JOIN events e ON e.seq = d.seq
                 WHERE d.status = 'done' AND (?1 IS NULL OR e.process_id = ?1)",
            )?;
            let mut rows = stmt.query([&process])?;
            while let Some(row) = rows.next()? {
                let component: String = row.get(3)?;
                handled.push(Recorded {
                    position: row.get::<_, i64>(0)? as u64,
                    order: row.get::<_, i64>(1)? as u64,
                    event: parse_uuid(&row.get::<_, String>(2)?)?,
                    component: Component::from_str(&component).map_err(StoreError::Corrupt)?,
                });
            }
        }
        let mut sizes = std::collections::HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT command, count(*) FROM events
                 WHERE command IS NOT NULL AND (?1 IS NULL OR process_id = ?1)
                 GROUP BY command HAVING count(*) > 1",
            )?;
            let mut rows = stmt.query([&process])?;
            while let Some(row) = rows.next()? {
                sizes.insert(row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as usize);
            }
        }
        let mut writer = StepWriter::new(handled, sizes);
        // Two statements, so that a process's events are found by their index.
        let sql = if process.is_some() {
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload, command
             FROM events WHERE process_id = ?1 ORDER BY seq"
        } else {
            "SELECT seq, id, topic, process_id, causation_id, source, time, payload, command
             FROM events WHERE ?1 IS NULL ORDER BY seq"
        };
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query([&process])?;
        while let Some(row) = rows.next()? {
            let event = envelope_from_row(row)?;
            let command = row.get::<_, Option<i64>>(8)?.map(|c| c as u64);
            writer.event(event, command, each)?;
        }
        writer.finish(each)
    }
}
