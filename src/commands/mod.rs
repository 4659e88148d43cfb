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
pub mod info;
pub mod input;
pub mod list;
pub mod pending;
pub mod progress;
pub mod rebuild;
pub mod redeliver;
pub mod relay;
pub mod serve;
pub mod show;
pub mod submit;
pub mod verify;
pub mod worker;

use std::io::Write;
use std::path::PathBuf;

use crate::app::{self, Access, App, Diagnostic, Report};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::{DeliveryFailed, InputError};
use crate::render;

/// Runs one parsed command line.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> app::Result<()> {
    if cli.global.hold_typed && !cli.command.delivers() {
        return Err(InputError(format!(
            "--hold does nothing for `pi7 {}`: only submit, confirm, reject, cancel, expire, \
             redeliver and import deliver what they publish",
            cli.command.name()
        ))
        .into());
    }
    let mut ctx = Context::new(cli.global, now_from_env()?, out, err);
    // `check` (an in-memory world of its own) and `completions` are not use
    // cases of `app` and speak anyhow; their errors get a kind here.
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
        Command::Dispatch(args) => dispatch::run(&mut ctx, args),
        Command::Redeliver(args) => redeliver::run(&mut ctx, args),
        Command::Check(args) => Ok(check::run(&mut ctx, args)?),
        Command::Verify(args) => verify::run(&mut ctx, args),
        Command::Rebuild(args) => rebuild::run(&mut ctx, args),
        Command::Export(args) => export::run(&mut ctx, args),
        Command::Import(args) => import::run(&mut ctx, args),
        Command::Serve(args) => serve::run(&mut ctx, args),
        Command::Relay(args) => relay::run(&mut ctx, args),
        Command::Completions(args) => Ok(completions::run(&mut ctx, args)?),
        Command::Info(args) => info::run(&mut ctx, args),
        Command::Worker(args) => worker::run(&mut ctx, args),
    }
}

/// The error of a command that did its work but saw `failed` deliveries
/// fail: exit 5.
pub fn deliveries_failed(failed: usize) -> anyhow::Result<()> {
    if failed == 0 {
        return Ok(());
    }
    Err(DeliveryFailed(format!(
        "{} failed; `pi7 pending --failed` lists those parked, `pi7 dispatch` retries the others",
        render::count(failed, "delivery")
    ))
    .into())
}

/// `PI7_NOW`: the current time in unix seconds, for reproducible scripts
/// and tests. An environment variable only, not an option: it is no part of
/// the command line a person types (or completes).
fn now_from_env() -> Result<Option<i64>, InputError> {
    match std::env::var("PI7_NOW") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            InputError(format!(
                "PI7_NOW must be unix seconds, like 1543269956, not '{text}'"
            ))
        }),
        Err(std::env::VarError::NotUnicode(text)) => Err(InputError(format!(
            "PI7_NOW must be unix seconds, not '{}'",
            text.to_string_lossy()
        ))),
    }
}

/// What every command gets: the global options, the clock, and where to write.
pub struct Context<'a> {
    pub db: Option<PathBuf>,
    /// `--db` was typed, rather than taken from `PI7_DB`.
    pub db_typed: bool,
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
    fn new(
        global: GlobalArgs,
        now: Option<i64>,
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
    ) -> Self {
        let fixed_now = now;
        let now = now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
        Context {
            db: global.db,
            db_typed: global.db_typed,
            json: global.json,
            verbose: global.verbose,
            hold: global.hold,
            now,
            fixed_now,
            out,
            err,
        }
    }

    pub fn db_path(&self) -> anyhow::Result<PathBuf> {
        app::db_path(self.db.as_deref()).map_err(app::Error::into_source)
    }

    /// Whether the database is there: an SQLite file that exists, or any
    /// PostgreSQL URL (the server holds it; opening says when it cannot).
    pub fn db_exists(&self) -> anyhow::Result<bool> {
        let path = self.db_path()?;
        Ok(app::database_exists(&path))
    }

    fn options(&self) -> app::Options {
        app::Options {
            now: Some(self.now),
            hold: self.hold,
            log: self.verbose,
        }
    }

    /// The use cases over the database, as the global options ask. Reading
    /// a path that holds no database shows an empty one, and says so: a
    /// mistyped `--db` must not pass for a healthy, empty database.
    pub fn app(&mut self, access: Access) -> app::Result<App> {
        let app = App::open(&self.db_path()?, access, self.options())?;
        if !app.on_disk() {
            self.no_database_yet()?;
        }
        Ok(app)
    }

    fn no_database_yet(&mut self) -> anyhow::Result<()> {
        let (what, writing) = not_a_database_yet(&self.db_path()?);
        self.note(&format!("{what} (writing commands {writing})"))?;
        Ok(())
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

    /// How wide tables may be: 80 columns, or the terminal's width when it
    /// is narrower (`COLUMNS` when set, as shells set it; never under 40,
    /// where the ids alone would not fit).
    pub fn width(&self) -> usize {
        use std::io::IsTerminal;
        let terminal = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .or_else(|| {
                std::io::stdout()
                    .is_terminal()
                    .then(terminal_size::terminal_size)
                    .flatten()
                    .map(|(w, _)| usize::from(w.0))
            });
        terminal.map_or(80, |w| w.clamp(40, 80))
    }

    /// Prints workflow log lines on stderr when `-v` asked for them.
    pub fn log(&mut self, lines: &[impl std::fmt::Display]) -> std::io::Result<()> {
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

    /// Says on stderr which deliveries failed; returns how many.
    pub fn report_failures(&mut self, reports: &[Report]) -> std::io::Result<usize> {
        let notes = app::failure_notes(reports);
        for note in &notes {
            self.note(note)?;
        }
        Ok(notes.len())
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

/// What stands at `path` where a database was expected, and what a writing
/// command will do about it. An existing empty file is named as one: "no
/// database there" would send the user looking for a mistyped path.
fn not_a_database_yet(path: &std::path::Path) -> (String, &'static str) {
    if path.exists() {
        (
            format!("{} is empty, not a pi7 database yet", path.display()),
            "make it one",
        )
    } else {
        (
            format!("there is no database at {} yet", path.display()),
            "create it",
        )
    }
}
