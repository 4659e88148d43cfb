//! `pi7 export`: the event log as JSON Lines, for `pi7 import`.

use std::io::Write;
use std::path::PathBuf;

use super::list::process_of;
use super::Context;
use crate::error::InputError;
use crate::store::OpenMode;

/// Write the event log as JSON Lines, for `pi7 import`
///
/// One envelope a line, in `seq` order, exactly as `pi7 events --json`
/// prints it. `pi7 import` reads it into another database. Writes to
/// standard output unless `--output` names a file.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the events of this process (any ID of the process, or a unique prefix)
    #[arg(long, value_name = "ID")]
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
        store.for_each_event(0, process, None, &mut |event| {
            serde_json::to_writer(&mut *out, &event)?;
            writeln!(out)?;
            Ok(())
        })?;
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
    let written = store
        .for_each_event(0, process, None, &mut |event| {
            serde_json::to_writer(&mut writer, &event)?;
            writeln!(writer)?;
            count += 1;
            Ok(())
        })
        .and_then(|_| {
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
