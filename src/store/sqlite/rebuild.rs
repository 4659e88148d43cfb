//! `pi7 rebuild` on SQLite: the documents replaced by those the log makes,
//! under the write lock.

use super::*;

impl SqliteStore {
    /// Runs `work` inside one writing transaction (`BEGIN IMMEDIATE`) on
    /// this store, so that everything it reads and writes through the
    /// store's methods is one consistent unit: committed when it returns
    /// `Ok`, rolled back when it returns an error. `work` runs once; only
    /// taking the write lock is retried while the database is busy.
    pub fn write_locked<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.begin_immediate()?;
        let result = work(self).and_then(|value| {
            self.conn
                .execute_batch("COMMIT")
                .map_err(StoreError::from)?;
            Ok(value)
        });
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        match result {
            Err(e) if is_read_only(&e) => Err(StoreError::ReadOnly {
                path: self.display_path(),
            }
            .into()),
            other => other,
        }
    }

    /// Makes the stored sales orders and reservations exactly the rebuilt
    /// ones, in one transaction (the caller's, inside
    /// [`write_locked`](Self::write_locked), or its own): removes what the
    /// rebuild does not have, adds what it has that is not stored, and
    /// rewrites (with the filter columns) what differs. Documents that are
    /// already right are left alone, so they keep their place in listings;
    /// added ones come after them, in the order their processes began.
    /// Returns what it changed.
    pub fn replace_documents(&mut self, rebuilt: &Rebuilt) -> anyhow::Result<Vec<DocumentChange>> {
        if self.conn.is_autocommit() {
            return self.write_locked(|store| store.replace_documents(rebuilt));
        }
        let orders = self.stored_rows(
            "SELECT rowid, id, process_id, customer, status, document
             FROM salesorders ORDER BY rowid",
        )?;
        let reservations = self.stored_rows(
            "SELECT rowid, id, process_id, NULL, status, document
             FROM reservations ORDER BY rowid",
        )?;
        let plan = Replacement::plan(&orders, &reservations, rebuilt, &mut |process_id| {
            self.first_seq_of(process_id)
        })?;
        // Deletions first, so that what is re-added never meets a stale row.
        for rowid in &plan.delete_orders {
            self.conn
                .prepare_cached("DELETE FROM salesorders WHERE rowid = ?1")?
                .execute([rowid])?;
        }
        for rowid in &plan.delete_reservations {
            self.conn
                .prepare_cached("DELETE FROM reservations WHERE rowid = ?1")?
                .execute([rowid])?;
        }
        let mut tx = SqliteTx::new(&self.conn);
        for doc in &plan.orders {
            tx.save_sales_order(doc)?;
        }
        for doc in &plan.reservations {
            tx.save_reservation(doc)?;
        }
        Ok(plan.changes)
    }

    /// The event with this id, if the log has it.
    pub fn event_by_id(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        event_by_id(&self.conn, id)
    }

    fn stored_rows(&self, sql: &str) -> Result<Vec<StoredRow>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredRow {
                rowid: r.get(0)?,
                id: r.get(1)?,
                process_id: r.get(2)?,
                customer: r.get(3)?,
                status: r.get(4)?,
                document: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The seq of the first event of a process (`u64::MAX` when it has none).
    fn first_seq_of(&self, process_id: Uuid) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .prepare_cached("SELECT min(seq) FROM events WHERE process_id = ?1")?
            .query_row([process_id.to_string()], |r| r.get(0))?;
        Ok(seq.map_or(u64::MAX, |s| s as u64))
    }
}
