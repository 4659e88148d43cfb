//! What `pi7 rebuild` changes, whichever the store: the stored documents
//! compared with those the log makes, and the deletions and writes that
//! make them equal. Each store reads its rows and carries the plan out in
//! its own transaction.

use std::collections::BTreeMap;
use uuid::Uuid;

use super::{DocumentKind, StoreError};
use crate::domain::{ReservationDoc, SalesOrderDoc};
use crate::replay::Rebuilt;

/// How a stored document differed from a rebuild of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Stored, but not as the log makes it (document or filter columns).
    Changed,
    /// The log makes it but it was not stored.
    Missing,
    /// Stored, but the log does not make it.
    Extra,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::Missing => "missing",
            Change::Extra => "extra",
        }
    }
}

/// One document that `replace_documents` found different from the
/// rebuild, and replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentChange {
    /// [`DocumentKind::SalesOrder`] or [`DocumentKind::Reservation`].
    pub kind: DocumentKind,
    /// As stored (which may not be an id at all) or as rebuilt.
    pub id: String,
    pub process_id: String,
    pub change: Change,
    /// The stored document (a JSON string of the stored text when that is
    /// not JSON), if one was stored.
    pub stored: Option<serde_json::Value>,
    /// The rebuilt document, if the log makes one.
    pub rebuilt: Option<serde_json::Value>,
    /// Filter columns that did not say what the document says.
    pub columns: Vec<String>,
}

/// A stored document row, as `replace_documents` reads it.
pub(super) struct StoredRow {
    /// Its place: SQLite's rowid, PostgreSQL's `row`.
    pub rowid: i64,
    pub id: String,
    pub process_id: String,
    /// Sales orders only.
    pub customer: Option<String>,
    pub status: String,
    pub document: String,
}

impl StoredRow {
    fn document_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.document)
            .unwrap_or_else(|_| serde_json::Value::String(self.document.clone()))
    }
}

/// What makes the stored documents exactly the rebuilt ones: delete these
/// rows, then write these documents in this order (an upsert by id). What
/// is already right is left alone, so it keeps its place in listings;
/// added documents come after, in the order their processes began.
pub(super) struct Replacement<'a> {
    pub delete_orders: Vec<i64>,
    pub delete_reservations: Vec<i64>,
    pub orders: Vec<&'a SalesOrderDoc>,
    pub reservations: Vec<&'a ReservationDoc>,
    pub changes: Vec<DocumentChange>,
}

impl<'a> Replacement<'a> {
    /// `first_seq` gives the seq of a process's first event.
    pub fn plan(
        stored_orders: &[StoredRow],
        stored_reservations: &[StoredRow],
        rebuilt: &'a Rebuilt,
        first_seq: &mut dyn FnMut(Uuid) -> Result<u64, StoreError>,
    ) -> Result<Self, StoreError> {
        let mut orders = compare(stored_orders, &rebuilt.sales_orders);
        let mut reservations = compare(stored_reservations, &rebuilt.reservations);

        // What the log makes but is not stored comes last, in the order
        // the processes began, reservations in the order of their lines.
        let mut first_seqs = std::collections::HashMap::new();
        for process_id in orders
            .missing
            .iter()
            .map(|d| d.process_id)
            .chain(reservations.missing.iter().map(|d| d.process_id))
        {
            if let std::collections::hash_map::Entry::Vacant(entry) = first_seqs.entry(process_id) {
                entry.insert(first_seq(process_id)?);
            }
        }
        let line_index = |doc: &ReservationDoc| {
            rebuilt
                .sales_orders
                .get(&doc.process_id)
                .and_then(|o| {
                    o.object
                        .reservations
                        .iter()
                        .position(|l| l.reservation_id == doc.id)
                })
                .unwrap_or(usize::MAX)
        };
        orders
            .missing
            .sort_by_key(|d| (first_seqs[&d.process_id], d.id));
        reservations
            .missing
            .sort_by_key(|d| (first_seqs[&d.process_id], line_index(d), d.object.id, d.id));

        let mut changes = orders.changes.clone();
        changes.extend(orders.missing.iter().map(|d| missing(*d)));
        changes.extend(reservations.changes.iter().cloned());
        changes.extend(reservations.missing.iter().map(|d| missing(*d)));
        Ok(Replacement {
            orders: orders.written().collect(),
            reservations: reservations.written().collect(),
            delete_orders: orders.delete,
            delete_reservations: reservations.delete,
            changes,
        })
    }
}

/// A document as it is compared with its stored row.
trait StoredDocument: serde::Serialize {
    const KIND: DocumentKind;
    /// The key of the rebuilt collection that `row` stands for.
    fn key_of(row: &StoredRow) -> Option<Uuid>;
    fn id(&self) -> Uuid;
    fn process_id(&self) -> Uuid;
    /// The filter columns of `row` that do not say what `self` says.
    fn wrong_columns(&self, row: &StoredRow) -> Vec<String>;
    /// Whether `row` can be rewritten in place (else deleted and re-added).
    fn fits(&self, row: &StoredRow) -> bool;
}

impl StoredDocument for SalesOrderDoc {
    const KIND: DocumentKind = DocumentKind::SalesOrder;
    fn key_of(row: &StoredRow) -> Option<Uuid> {
        Uuid::parse_str(&row.process_id).ok()
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn process_id(&self) -> Uuid {
        self.process_id
    }
    fn wrong_columns(&self, row: &StoredRow) -> Vec<String> {
        let mut columns = Vec::new();
        column_check(
            &mut columns,
            "id",
            Some(&row.id),
            Some(&self.id.to_string()),
        );
        column_check(
            &mut columns,
            "customer",
            row.customer.as_deref(),
            self.object.customer.as_deref(),
        );
        column_check(
            &mut columns,
            "status",
            Some(&row.status),
            Some(self.object.status.as_str()),
        );
        columns
    }
    fn fits(&self, row: &StoredRow) -> bool {
        row.id == self.id.to_string()
    }
}

impl StoredDocument for ReservationDoc {
    const KIND: DocumentKind = DocumentKind::Reservation;
    fn key_of(row: &StoredRow) -> Option<Uuid> {
        Uuid::parse_str(&row.id).ok()
    }
    fn id(&self) -> Uuid {
        self.id
    }
    fn process_id(&self) -> Uuid {
        self.process_id
    }
    fn wrong_columns(&self, row: &StoredRow) -> Vec<String> {
        let mut columns = Vec::new();
        column_check(
            &mut columns,
            "process_id",
            Some(&row.process_id),
            Some(&self.process_id.to_string()),
        );
        column_check(
            &mut columns,
            "status",
            Some(&row.status),
            Some(self.object.status.as_str()),
        );
        columns
    }
    fn fits(&self, row: &StoredRow) -> bool {
        row.process_id == self.process_id.to_string()
    }
}

/// How one stored collection differs from its rebuild.
struct Comparison<'a, D> {
    delete: Vec<i64>,
    /// Rewritten in place.
    save: Vec<&'a D>,
    /// Re-added after their stale row is deleted.
    add: Vec<&'a D>,
    /// Made by the log, not stored at all.
    missing: Vec<&'a D>,
    changes: Vec<DocumentChange>,
}

impl<'a, D> Comparison<'a, D> {
    fn written(&self) -> impl Iterator<Item = &'a D> + '_ {
        self.save
            .iter()
            .chain(&self.add)
            .chain(&self.missing)
            .copied()
    }
}

fn compare<'a, D: StoredDocument>(
    rows: &[StoredRow],
    rebuilt: &'a BTreeMap<Uuid, D>,
) -> Comparison<'a, D> {
    let mut comparison = Comparison {
        delete: Vec::new(),
        save: Vec::new(),
        add: Vec::new(),
        missing: Vec::new(),
        changes: Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let doc = D::key_of(row).and_then(|key| rebuilt.get(&key).filter(|_| seen.insert(key)));
        let Some(doc) = doc else {
            comparison.delete.push(row.rowid);
            comparison.changes.push(DocumentChange {
                kind: D::KIND,
                id: row.id.clone(),
                process_id: row.process_id.clone(),
                change: Change::Extra,
                stored: Some(row.document_value()),
                rebuilt: None,
                columns: Vec::new(),
            });
            continue;
        };
        let expected = serde_json::to_value(doc).expect("documents always serialize");
        let columns = doc.wrong_columns(row);
        let stored = row.document_value();
        if stored == expected && columns.is_empty() {
            continue;
        }
        if doc.fits(row) {
            comparison.save.push(doc);
        } else {
            comparison.delete.push(row.rowid);
            comparison.add.push(doc);
        }
        comparison.changes.push(DocumentChange {
            kind: D::KIND,
            id: doc.id().to_string(),
            process_id: doc.process_id().to_string(),
            change: Change::Changed,
            stored: Some(stored),
            rebuilt: Some(expected),
            columns,
        });
    }
    comparison.missing = rebuilt
        .iter()
        .filter(|(key, _)| !seen.contains(*key))
        .map(|(_, doc)| doc)
        .collect();
    comparison
}

/// The change that adds a document the log makes but the store lacks.
fn missing<D: StoredDocument>(doc: &D) -> DocumentChange {
    DocumentChange {
        kind: D::KIND,
        id: doc.id().to_string(),
        process_id: doc.process_id().to_string(),
        change: Change::Missing,
        stored: None,
        rebuilt: Some(serde_json::to_value(doc).expect("documents always serialize")),
        columns: Vec::new(),
    }
}

/// Notes a filter column that does not say what the document says.
fn column_check(
    found: &mut Vec<String>,
    column: &str,
    stored: Option<&str>,
    expected: Option<&str>,
) {
    if stored != expected {
        let show = |v: Option<&str>| v.map_or("NULL".to_string(), |v| format!("'{v}'"));
        found.push(format!(
            "column {column} is {} but should be {}",
            show(stored),
            show(expected)
        ));
    }
}
