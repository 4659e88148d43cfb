//! `pi7 import`: take another log (as `pi7 export` writes it) into this
//! database, as a verified replay: every command is carried out again and
//! every event a handler published must come out again, exactly.

use super::input::Input;
use super::progress::{Progress, BYTES};
use super::Context;
use crate::app::{self, Access};
use crate::error::InputError;

/// Take an exported log into this database, checking every event
///
/// Reads what `pi7 export` writes (or `pi7 events --json`: envelopes alone)
/// and replays it here, in one transaction: each command event is carried
/// out again by the command's own code at that point of the log (its
/// reservation exists, belongs to the event's process and is still open;
/// an amendment is the next one), each delivery is handled where the file
/// says it was, and every event that a handler published must be exactly
/// what pi7's handler publishes there. Events this database already has
/// (the same id and contents) are skipped, so importing a file twice
/// appends nothing. Anything else (a forged or altered event, a log that
/// went another way than this database) is refused with its
/// file:line:column, and nothing is imported (exit 2).
///
/// An export keeps deliveries pending that were pending where it was
/// made. A file of envelopes alone has no record of where deliveries were
/// handled: each is handled where an event needs it, and what is left is
/// delivered at the end, unless --hold.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The JSON Lines file; `-` reads standard input
    #[arg(value_name = "FILE")]
    pub file: String,
}

pub fn run(ctx: &mut Context, args: Args) -> app::Result<()> {
    let input = Input::open(&args.file)?;
    let source_name = input.source_name().to_string();
    // The file is replayed as it is read, a chunk of whole lines at a
    // time: the bar counts the bytes read of its size (standard input and
    // pipes are copied to a file first, so they have one too).
    let chunks = Shown {
        size: input.size(),
        input,
        progress: Progress::new("importing", BYTES),
    };
    let mut log = app::Log::open(&source_name, Box::new(chunks))?;
    let path = ctx.db_path()?;
    let existed = ctx.db_exists()?;
    let mut app = ctx.app(Access::Write)?;
    let imported = app.import(&mut log);
    // The bar goes with the log.
    drop(log);
    let imported = match imported {
        Ok(imported) => imported,
        Err(e) => {
            // A refused import into a database that was not there leaves
            // nothing behind, not an empty database.
            if !existed {
                drop(app);
                app::remove_new_database(&path);
            }
            return Err(e);
        }
    };
    ctx.log(&imported.log)?;
    let mut failed = 0;
    if imported.exact {
        let pending = app.deliveries(false, None, None)?.len();
        if pending > 0 {
            ctx.note(&format!(
                "{pending} deliveries pending, as where the log was exported; `pi7 dispatch` delivers them"
            ))?;
        }
    } else {
        let settled = app.deliver_pending();
        ctx.diagnose(&mut app)?;
        failed = settled?;
    }
    let (appended, present) = (imported.appended, imported.present);
    if ctx.json {
        ctx.json_line(&serde_json::json!({
            "events": imported.events,
            "imported": appended,
            "alreadyPresent": present,
        }))?;
    } else {
        writeln!(
            ctx.out,
            "imported {appended} event{} ({present} already present)",
            if appended == 1 { "" } else { "s" }
        )?;
    }
    Ok(super::deliveries_failed(failed)?)
}

/// The input's chunks, with a bar of the bytes read so far.
struct Shown {
    input: Input,
    size: Option<u64>,
    progress: Progress,
}

impl app::Chunks for Shown {
    fn next_chunk(&mut self) -> Option<Result<(usize, String), InputError>> {
        let chunk = self.input.chunk().transpose();
        if let Some(size) = self.size {
            self.progress.show(self.input.bytes_read(), size);
        }
        chunk
    }

    fn rewind(&mut self) -> Result<(), InputError> {
        self.input.rewind()
    }
}
