//! `pi7 rebuild` on PostgreSQL: the documents replaced by those the log
//! makes, while no other pi7 writes.

use postgres::Transaction;
use uuid::Uuid;

use super::super::comparison::{DocumentChange, Replacement, StoredRow};
use super::super::sqlite::{backoff, MAX_ATTEMPTS};
use super::super::StoreError;
use super::tx::PgTx;
use super::{is_retryable, Conn, PgStore};
use crate::replay::{LogSource, Rebuilt};

impl PgStore {
    /// Replays the log with `replay` (given the log and its last seq) and
    /// makes the stored documents exactly what it made, in one transaction.
    ///
    /// A second connection passes the writers' gate exclusively (see
    /// `tx.rs`) before anything is read, so no command or worker can commit
    /// between the replay and the replacement; this connection then reads
    /// the log in a snapshot taken behind the gate, and the gated one writes
    /// and commits. Writers wait meanwhile, as they wait for SQLite's write
    /// lock; readers go on. Should the server still end it (a deadlock it
    /// detected), it runs again.
    pub fn rebuild_documents(
        &mut self,
        replay: &mut dyn FnMut(&dyn LogSource, u64) -> anyhow::Result<Rebuilt>,
    ) -> anyhow::Result<(Rebuilt, Vec<DocumentChange>)> {
        let mut attempt = 1;
        loop {
            match self.rebuild_once(replay) {
                Err(e) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn rebuild_once(
        &mut self,
        replay: &mut dyn FnMut(&dyn LogSource, u64) -> anyhow::Result<Rebuilt>,
    ) -> anyhow::Result<(Rebuilt, Vec<DocumentChange>)> {
        let mut writer = self.reconnect()?;
        let Conn { client, statements } = writer.conn.get_mut();
        let tx = client.transaction().map_err(StoreError::from)?;
        let mut pg = PgTx::new(tx, statements);
        pg.pass_gate(true)?;
        let (_, last) = self.event_count()?;
        let rebuilt = replay(self, last)?;

        let orders = stored_rows(
            &mut pg.tx,
            "SELECT row, id, process_id, customer, status, document
             FROM salesorders ORDER BY row",
        )?;
        let reservations = stored_rows(
            &mut pg.tx,
            "SELECT row, id, process_id, NULL, status, document
             FROM reservations ORDER BY row",
        )?;
        let plan = Replacement::plan(&orders, &reservations, &rebuilt, &mut |process_id| {
            first_seq_of(&mut pg.tx, process_id)
        })?;
        // Deletions first, so that what is re-added never meets a stale row.
        for row in &plan.delete_orders {
            pg.tx
                .execute("DELETE FROM salesorders WHERE row = $1", &[row])
                .map_err(StoreError::from)?;
        }
        for row in &plan.delete_reservations {
            pg.tx
                .execute("DELETE FROM reservations WHERE row = $1", &[row])
                .map_err(StoreError::from)?;
        }
        for doc in &plan.orders {
            pg.upsert_sales_order(doc)?;
        }
        for doc in &plan.reservations {
            pg.upsert_reservation(doc)?;
        }
        pg.tx.commit().map_err(StoreError::from)?;
        let changes = plan.changes;
        Ok((rebuilt, changes))
    }
}

fn stored_rows(tx: &mut Transaction, sql: &str) -> Result<Vec<StoredRow>, StoreError> {
    Ok(tx
        .query(sql, &[])?
        .iter()
        .map(|r| StoredRow {
            rowid: r.get(0),
            id: r.get(1),
            process_id: r.get(2),
            customer: r.get(3),
            status: r.get(4),
            document: r.get(5),
        })
        .collect())
}

/// The seq of the first event of a process (`u64::MAX` when it has none).
fn first_seq_of(tx: &mut Transaction, process_id: Uuid) -> Result<u64, StoreError> {
    let seq: Option<i64> = tx
        .query_one(
            "SELECT min(seq) FROM events WHERE process_id = $1",
            &[&process_id.to_string()],
        )?
        .get(0);
    Ok(seq.map_or(u64::MAX, |s| s as u64))
}
