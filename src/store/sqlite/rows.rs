//! Rows to values: deliveries, events and documents as stored.

use super::*;

pub(super) const DELIVERY_COLUMNS: &str =
    "SELECT d.key, d.seq, e.topic, d.component, e.process_id, d.status, d.attempts, d.error
     FROM deliveries d JOIN events e ON e.seq = d.seq";

pub(super) const DELIVERY_COLUMNS_HANDLED: &str =
    "SELECT d.key, d.seq, e.topic, d.component, e.process_id, d.status, d.attempts, d.error,
            d.handled, d.log_seq
     FROM deliveries d JOIN events e ON e.seq = d.seq";

/// The event with this id, if the log has it: for the store's own reads
/// and for a unit of work's alike.
pub(super) fn event_by_id(conn: &Connection, id: Uuid) -> Result<Option<Envelope>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, topic, process_id, causation_id, source, time, payload
         FROM events WHERE id = ?1",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    match rows.next()? {
        Some(row) => Ok(Some(envelope_from_row(row)?)),
        None => Ok(None),
    }
}

pub(super) fn select_deliveries(
    conn: &Connection,
    status: DeliveryStatus,
    filter: &DeliveryFilter,
    order: Pick,
    limit: Option<usize>,
) -> Result<Vec<Delivery>, StoreError> {
    let direction = match order {
        Pick::First => "ASC",
        Pick::Last => "DESC",
    };
    // The status is written into the statement, not bound: only a literal
    // `status = 'pending'` lets SQLite use the partial indexes
    // (`deliveries_pending`, `deliveries_failed`); with a bound parameter it
    // scans every delivery ever made to find the next pending one.
    // Deliveries excluded by the caller are few (those that failed in this
    // run), so they are skipped here rather than in SQL.
    let sql = format!(
        "{DELIVERY_COLUMNS}
         WHERE d.status = '{status}'
           AND (?1 IS NULL OR d.component = ?1)
           AND (?2 IS NULL OR e.process_id = ?2)
         ORDER BY d.key {direction}",
        status = status.as_str(),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        filter.component.map(|c| c.as_str()),
        filter.process_id.map(|p| p.to_string()),
    ])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        let delivery = delivery_from_row(row)?;
        if filter.exclude.contains(&delivery.key) {
            continue;
        }
        found.push(delivery);
        if limit.is_some_and(|l| found.len() >= l) {
            break;
        }
    }
    Ok(found)
}

pub(super) fn delivery_from_row(row: &Row) -> Result<Delivery, StoreError> {
    let status: String = row.get(5)?;
    Ok(Delivery {
        key: row.get(0)?,
        seq: row.get::<_, i64>(1)? as u64,
        topic: parse_text(&row.get::<_, String>(2)?)?,
        component: parse_text(&row.get::<_, String>(3)?)?,
        process_id: parse_uuid(&row.get::<_, String>(4)?)?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status '{status}'")))?,
        attempts: row.get(6)?,
        error: row.get(7)?,
    })
}

pub(in crate::store) fn envelope_from_row(row: &Row) -> Result<Envelope, StoreError> {
    let causation: Option<String> = row.get(4)?;
    let payload: String = row.get(7)?;
    Ok(Envelope {
        seq: row.get::<_, i64>(0)? as u64,
        id: parse_uuid(&row.get::<_, String>(1)?)?,
        topic: parse_text(&row.get::<_, String>(2)?)?,
        process_id: parse_uuid(&row.get::<_, String>(3)?)?,
        causation_id: causation.as_deref().map(parse_uuid).transpose()?,
        source: parse_text::<Source>(&row.get::<_, String>(5)?)?,
        time: row.get(6)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
    })
}

pub(in crate::store) fn parse_text<T: FromStr<Err = String>>(text: &str) -> Result<T, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

pub(in crate::store) fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("id '{text}': {e}")))
}

pub(in crate::store) fn parse_document<T: serde::de::DeserializeOwned>(
    json: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("document: {e}")))
}

pub(in crate::store) fn to_json<T: serde::Serialize>(doc: &T) -> String {
    serde_json::to_string(doc).expect("documents always serialize")
}
