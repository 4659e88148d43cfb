//! `pi7 info`: which database is in use, and what it holds.

use std::collections::BTreeMap;

use super::Context;
use crate::app::{self, Access};
use crate::render;

/// Show which database is in use (and why that one), its schema version,
/// its size on disk and what it holds
///
/// The question `gh config path` and `atuin info` answer: which file a
/// command would read and write. Reads nothing but counts.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &mut Context, _args: Args) -> app::Result<()> {
    let path = ctx.db_path()?;
    let chosen_by = match (&ctx.db, ctx.db_typed) {
        (None, _) => "default",
        (Some(_), true) => "--db",
        (Some(_), false) => "PI7_DB",
    };
    let mut info = app::Info::of(&path, chosen_by);
    let (exists, supported) = (info.exists, info.supported_schema_version);
    if exists {
        let app = ctx.app(Access::Read)?;
        app.count_into(&mut info)?;
    }
    if ctx.json {
        return Ok(ctx.json_line(&info)?);
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
