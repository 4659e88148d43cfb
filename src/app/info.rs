//! `info`: which database is in use, and what it holds.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

use super::{App, Result};
use crate::domain::{OrderStatus, ReservationStatus};
use crate::store::{
    is_postgres_url, redact, DeliveryStatus, Queries, PG_SCHEMA_VERSION, SCHEMA_VERSION,
};

/// Which database is in use and what it holds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub path: String,
    /// `--db`, `PI7_DB` or `default`.
    pub chosen_by: &'static str,
    pub exists: bool,
    pub schema_version: Option<i64>,
    pub supported_schema_version: i64,
    /// The file with its -wal and -shm.
    pub bytes: u64,
    pub events: u64,
    pub deliveries: BTreeMap<String, u64>,
    pub salesorders: BTreeMap<String, u64>,
    pub reservations: BTreeMap<String, u64>,
}

impl Info {
    /// What can be told of the database at `path` without opening it;
    /// `chosen_by` says why that one (`--db`, `PI7_DB` or `default`).
    pub fn of(path: &Path, chosen_by: &'static str) -> Info {
        // A PostgreSQL URL names a server, not a file: it is shown without its
        // password, and its schema has versions of its own.
        let postgres = path.to_str().is_some_and(is_postgres_url);
        let supported = if postgres {
            PG_SCHEMA_VERSION
        } else {
            SCHEMA_VERSION
        };
        let exists = postgres || path.exists();
        let bytes = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut file = path.to_path_buf().into_os_string();
                file.push(suffix);
                std::fs::metadata(file).ok().map(|m| m.len())
            })
            .sum();
        Info {
            path: match path.to_str().filter(|_| postgres) {
                Some(url) => redact(url),
                None => path.display().to_string(),
            },
            chosen_by,
            exists,
            schema_version: None,
            supported_schema_version: supported,
            bytes,
            events: 0,
            deliveries: by_status(
                [
                    DeliveryStatus::Pending,
                    DeliveryStatus::Done,
                    DeliveryStatus::Failed,
                ]
                .iter()
                .map(|s| s.as_str()),
            ),
            salesorders: by_status(OrderStatus::ALL.iter().map(|s| s.as_str())),
            reservations: by_status(ReservationStatus::ALL.iter().map(|s| s.as_str())),
        }
    }
}

impl App {
    /// Adds the open database's schema version and counts to `info`.
    pub fn count_into(&self, info: &mut Info) -> Result<()> {
        let (version, counts) = self.store.counts()?;
        info.schema_version = Some(version);
        for (what, n) in counts {
            let (table, status) = what.split_once(' ').unwrap_or((what.as_str(), ""));
            match table {
                "events" => info.events = n,
                "deliveries" => *info.deliveries.entry(status.into()).or_default() += n,
                "salesorders" => *info.salesorders.entry(status.into()).or_default() += n,
                "reservations" => *info.reservations.entry(status.into()).or_default() += n,
                _ => {}
            }
        }
        Ok(())
    }
}

/// Every status at zero, so that `--json` always has the same keys.
fn by_status<'a>(statuses: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    statuses.map(|s| (s.to_string(), 0)).collect()
}
