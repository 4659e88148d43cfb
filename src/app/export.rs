//! `export`: the log as JSON Lines, with the records that let an import
//! reproduce the database exactly.

use std::io::Write;

use super::{App, Result};
use crate::replay::{Header, LogSource, Step};

impl App {
    /// Writes the log (only `process`'s events, when given) to `out` in
    /// the export format, calling `event` for each event written.
    pub fn export(
        &self,
        process: Option<uuid::Uuid>,
        out: &mut dyn Write,
        event: &mut dyn FnMut(),
    ) -> Result<()> {
        Ok(write_log(&self.store, process, out, &mut |_| event())?)
    }
}

/// Writes the header and every step, calling `event` for each event.
pub fn write_log(
    log: &dyn LogSource,
    process: Option<uuid::Uuid>,
    out: &mut dyn Write,
    event: &mut dyn FnMut(&Step),
) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, &Header::current())?;
    writeln!(out)?;
    log.for_each_step(process, &mut |step| {
        if matches!(step, Step::Event(_)) {
            event(&step);
        }
        step.write(&mut *out)?;
        writeln!(out)?;
        Ok(())
    })
}
