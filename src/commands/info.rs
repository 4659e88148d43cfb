//! `pi7 info`: which database is in use, and what it holds.

use serde::Serialize;
use std::collections::BTreeMap;

use super::Context;
use crate::domain::{OrderStatus, ReservationStatus};
use crate::render;
use crate::store::{
    is_postgres_url, redact, DeliveryStatus, OpenMode, Queries, PG_SCHEMA_VERSION, SCHEMA_VERSION,
};

/// Show which database is in use (and why that one), its schema version,
/// its size on disk and what it holds
///
/// The question `gh config path` and `atuin info` answer: which file a
/// command would read and write. Reads nothing but counts.
#[derive(Debug, clap::Args)]
pub struct Args {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    path: String,
    /// `--db`, `PI7_DB` or `default`.
    chosen_by: &'static str,
    exists: bool,
    schema_version: Option<i64>,
    supported_schema_version: i64,
    /// The file with its -wal and -shm.
    bytes: u64,
    events: u64,
    deliveries: BTreeMap<String, u64>,
    salesorders: BTreeMap<String, u64>,
    reservations: BTreeMap<String, u64>,
}

pub fn run(ctx: &mut Context, _args: Args) -> anyhow::Result<()> {
    let path = ctx.db_path()?;
    let chosen_by = match (&ctx.db, ctx.db_typed) {
        (None, _) => "default",
        (Some(_), true) => "--db",
        (Some(_), false) => "PI7_DB",
    };
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
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            std::fs::metadata(file).ok().map(|m| m.len())
        })
        .sum();
    let mut info = Info {
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
    };
    if exists {
        let store = ctx.open(OpenMode::ReadOnly)?;
        let (version, counts) = store.counts()?;
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
    }
    if ctx.json {
        return ctx.json_line(&info);
    }
    let source = match chosen_by {
        "default" => "the default, in the platform data directory",
        "--db" => "given with --db",
        _ => "given by PI7_DB",
    };
    writeln!(ctx.out, "database      {} ({source})", info.path)?;
    if !exists {
        writeln!(
            ctx.out,
            "              not there yet: the first writing command creates it"
        )?;
        return Ok(());
    }
    let version = info.schema_version.unwrap_or_default();
    writeln!(
        ctx.out,
        "schema        version {version}{}",
        if version == supported {
            String::new()
        } else {
            format!(" (this pi7 writes version {supported})")
        }
    )?;
    writeln!(ctx.out, "size          {}", size(info.bytes))?;
    writeln!(
        ctx.out,
        "events        {}",
        render::count(info.events as usize, "event")
    )?;
    writeln!(ctx.out, "deliveries    {}", breakdown(&info.deliveries))?;
    writeln!(ctx.out, "sales orders  {}", breakdown(&info.salesorders))?;
    writeln!(ctx.out, "reservations  {}", breakdown(&info.reservations))?;
    Ok(())
}

/// Every status at zero, so that `--json` always has the same keys.
fn by_status<'a>(statuses: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    statuses.map(|s| (s.to_string(), 0)).collect()
}

/// `3 (1 pending, 2 confirmed)`: the total, then each status that has any.
fn breakdown(counts: &BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(status, n)| format!("{n} {status}"))
        .collect();
    if parts.is_empty() {
        return total.to_string();
    }
    format!("{total} ({})", parts.join(", "))
}

/// Bytes as people read them: `812 bytes`, `4.0 KiB`, `1.2 MiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
