//! One module per subcommand: its `Args` (whose doc comments are the help
//! text) and its `run`. Commands write results to `ctx.out` and diagnostics
//! to `ctx.err`; they never print directly.

pub mod cancel;
pub mod check;
pub mod completions;
pub mod confirm;
pub mod dispatch;
pub mod events;
pub mod expire;
pub mod export;
pub mod import;
pub mod list;
pub mod pending;
pub mod progress;
pub mod rebuild;
pub mod redeliver;
pub mod serve;
pub mod show;
pub mod submit;
pub mod verify;

use std::io::Write;
use std::path::PathBuf;

use crate::app::{self, Access, App, Diagnostic};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::dispatch::Report;
use crate::render;
use crate::store::{OpenMode, SqliteStore};

/// Runs one parsed command line.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> app::Result<()> {
    let mut ctx = Context::new(cli.global, out, err);
    // The commands of the event log (dispatch, verify, import…) are not use
    // cases of `app` yet and speak anyhow; their errors get a kind here.
    match cli.command {
        Command::Submit(args) => submit::run(&mut ctx, args),
        Command::List(args) => list::run(&mut ctx, args),
        Command::Confirm(args) => confirm::run(&mut ctx, args),
        Command::Reject(args) => confirm::reject::run(&mut ctx, args),
        Command::Cancel(args) => cancel::run(&mut ctx, args),
        Command::Expire(args) => expire::run(&mut ctx, args),
        Command::Show(args) => show::run(&mut ctx, args),
        Command::Events(args) => events::run(&mut ctx, args),
        Command::Pending(args) => pending::run(&mut ctx, args),
        Command::Dispatch(args) => Ok(dispatch::run(&mut ctx, args)?),
        Command::Redeliver(args) => Ok(redeliver::run(&mut ctx, args)?),
        Command::Check(args) => Ok(check::run(&mut ctx, args)?),
        Command::Verify(args) => Ok(verify::run(&mut ctx, args)?),
        Command::Rebuild(args) => Ok(rebuild::run(&mut ctx, args)?),
        Command::Export(args) => Ok(export::run(&mut ctx, args)?),
        Command::Import(args) => Ok(import::run(&mut ctx, args)?),
        Command::Serve(args) => serve::run(&mut ctx, args),
        Command::Completions(args) => Ok(completions::run(&mut ctx, args)?),
    }
}

/// What every command gets: the global options, the clock, and where to write.
pub struct Context<'a> {
    pub db: Option<PathBuf>,
    pub json: bool,
    pub verbose: bool,
    pub hold: bool,
    /// Unix seconds: `PI7_NOW`, or the clock.
    pub now: i64,
    /// `PI7_NOW` when set: a server reads the clock for each request otherwise.
    pub fixed_now: Option<i64>,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl<'a> Context<'a> {
    fn new(global: GlobalArgs, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        let now = global.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
        Context {
            db: global.db,
            json: global.json,
            verbose: global.verbose,
            hold: global.hold,
            now,
            fixed_now: global.now,
            out,
            err,
        }
    }

    pub fn db_path(&self) -> anyhow::Result<PathBuf> {
        app::db_path(self.db.as_deref()).map_err(app::Error::into_source)
    }

    fn options(&self) -> app::Options {
        app::Options {
            now: Some(self.now),
            hold: self.hold,
            log: self.verbose,
        }
    }

    /// The use cases over the database, as the global options ask.
    pub fn app(&self, access: Access) -> app::Result<App> {
        App::open(&self.db_path()?, access, self.options())
    }

    /// The store itself, for the commands of the event log that are not use
    /// cases of `app` yet.
    pub fn open(&self, mode: OpenMode) -> anyhow::Result<SqliteStore> {
        Ok(SqliteStore::open(&self.db_path()?, mode)?)
    }

    /// Prints on stderr what the use cases run so far had to say.
    pub fn diagnose(&mut self, app: &mut App) -> std::io::Result<()> {
        self.print_diagnostics(app.take_diagnostics())
    }

    fn print_diagnostics(&mut self, diagnostics: Vec<Diagnostic>) -> std::io::Result<()> {
        for diagnostic in diagnostics {
            match diagnostic {
                Diagnostic::Log(line) => self.log(&[line])?,
                Diagnostic::Note(message) => self.note(&message)?,
            }
        }
        Ok(())
    }

    /// Prints workflow log lines on stderr when `-v` asked for them.
    pub fn log(&mut self, lines: &[String]) -> std::io::Result<()> {
        if self.verbose {
            let pid = std::process::id();
            for line in lines {
                writeln!(self.err, "{}", render::log_line(self.now, pid, line))?;
            }
        }
        Ok(())
    }

    /// A diagnostic line on stderr.
    pub fn note(&mut self, message: &str) -> std::io::Result<()> {
        writeln!(self.err, "pi7: {message}")
    }

    /// Delivers everything pending, as every writing command does before it
    /// returns, unless `--hold` asked to leave it pending.
    pub fn settle(&mut self, store: &mut SqliteStore) -> anyhow::Result<()> {
        let mut diagnostics = Vec::new();
        let settled = app::settle(store, &self.options(), &mut diagnostics);
        self.print_diagnostics(diagnostics)?;
        settled.map_err(app::Error::into_source)
    }

    pub fn report_failures(&mut self, reports: &[Report]) -> std::io::Result<()> {
        for note in app::failure_notes(reports) {
            self.note(&note)?;
        }
        Ok(())
    }

    /// Writes `value` as one line of JSON.
    pub fn json_line<T: serde::Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        serde_json::to_writer(&mut *self.out, value)?;
        writeln!(self.out)?;
        Ok(())
    }

    /// Writes `value` as indented JSON.
    pub fn json_pretty<T: serde::Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        serde_json::to_writer_pretty(&mut *self.out, value)?;
        writeln!(self.out)?;
        Ok(())
    }
}
