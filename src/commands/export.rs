//! `pi7 export`: the log as JSON Lines, for `pi7 import`: its events and
//! the records that let an import reproduce the database exactly.

use std::io::Write;
use std::path::PathBuf;

use super::Context;
use crate::app::lookup::process_of;
use crate::error::InputError;
use crate::replay::{Header, LogSource, Step};
use crate::store::OpenMode;

/// Write the log as JSON Lines, for `pi7 import`
///
/// The first line is `{"format":"pi7 export","version":2}`. Then every
/// event, one envelope a line in `seq` order, exactly as `pi7 events
/// --json` prints it, with two kinds of record between them:
/// `{"handled":{"event":ID,"component":C}}` where the delivery of that event
/// to that component was handled (the events it published follow), and
/// `{"command":{"events":N}}` before N events that one command appended
/// together. `pi7 import` reads it into another database and reproduces this
/// one exactly. Writes to standard output unless `--output` names a file.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the events of this process (any ID of the process, or a unique prefix)
    #[arg(long, value_name = "ID", add = super::completions::any_id())]
    pub process: Option<String>,

    /// Write to FILE instead of standard output; FILE is replaced only once
    /// the whole log is written, and pi7 then prints how many events it holds
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: Args) -> anyhow::Result<()> {
    let store = ctx.open(OpenMode::ReadOnly)?;
    let process = args
        .process
        .as_deref()
        .map(|text| process_of(&store, text))
        .transpose()?;
    let Some(output) = args.output else {
        let out = &mut *ctx.out;
        write_log(&store, process, out, &mut |_| {})?;
        return Ok(());
    };

    // Written beside FILE and renamed over it, so that FILE is never half
    // an export.
    let mut partial = output.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let cannot = |what: &str, e: std::io::Error| {
        InputError(format!("cannot {what} {}: {e}", output.display()))
    };
    let file = std::fs::File::create(&partial).map_err(|e| cannot("write", e))?;
    let mut writer = std::io::BufWriter::new(file);
    let mut count = 0u64;
    let written = write_log(&store, process, &mut writer, &mut |_| count += 1).and_then(|_| {
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        Ok(())
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e.context(format!("cannot write {}", output.display())));
    }
    std::fs::rename(&partial, &output).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        cannot("write", e)
    })?;
    if ctx.json {
        ctx.json_line(&serde_json::json!({
            "events": count,
            "output": output.display().to_string(),
        }))
    } else {
        writeln!(
            ctx.out,
            "exported {count} event{} to {}",
            if count == 1 { "" } else { "s" },
            output.display()
        )?;
        Ok(())
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
