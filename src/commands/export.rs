//! `pi7 export`: the log as JSON Lines, for `pi7 import`: its events and
//! the records that let an import reproduce the database exactly.

use std::path::PathBuf;

use super::Context;
use crate::app::{self, Access};
use crate::error::InputError;

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

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let app = ctx.app(Access::Read)?;
    let process = args
        .process
        .as_deref()
        .map(|text| app.process_of(text))
        .transpose()?;
    let Some(output) = args.output else {
        return app.export(process, &mut *ctx.out, &mut || {});
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
    let written = app
        .export(process, &mut writer, &mut || count += 1)
        .map_err(app::Error::into_source)
        .and_then(|_| {
            writer
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
            Ok(())
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e
            .context(format!("cannot write {}", output.display()))
            .into());
    }
    std::fs::rename(&partial, &output).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        cannot("write", e)
    })?;
    if ctx.json {
        Ok(ctx.json_line(&serde_json::json!({
            "events": count,
            "output": output.display().to_string(),
        }))?)
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
