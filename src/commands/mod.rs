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
pub mod lookup;
pub mod pending;
pub mod progress;
pub mod rebuild;
pub mod redeliver;
pub mod show;
pub mod submit;
pub mod verify;

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::dispatch::{self as dispatcher, Handled, Plan, Report};
use crate::render;
use crate::store::{OpenMode, SqliteStore, StoreError};

/// Runs one parsed command line.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<()> {
    let mut ctx = Context::new(cli.global, out, err);
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
        Command::Check(args) => check::run(&mut ctx, args),
        Command::Verify(args) => verify::run(&mut ctx, args),
        Command::Rebuild(args) => rebuild::run(&mut ctx, args),
        Command::Export(args) => export::run(&mut ctx, args),
        Command::Import(args) => import::run(&mut ctx, args),
        Command::Completions(args) => completions::run(&mut ctx, args),
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
            out,
            err,
        }
    }

    pub fn db_path(&self) -> Result<PathBuf, StoreError> {
        if let Some(path) = &self.db {
            return Ok(path.clone());
        }
        directories::ProjectDirs::from("", "", "pi7")
            .map(|dirs| dirs.data_dir().join("pi7.db"))
            .ok_or_else(|| StoreError::CannotOpen {
                path: "pi7.db".into(),
                detail: "no home directory to keep it in; pass --db PATH or set PI7_DB".into(),
            })
    }

    pub fn open(&self, mode: OpenMode) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&self.db_path()?, mode)
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
        if self.hold {
            let pending = store
                .deliveries(crate::store::DeliveryStatus::Pending, &Default::default())?
                .len();
            return Ok(self.note(&format!(
                "held: {pending} deliveries pending; `pi7 dispatch` delivers them"
            ))?);
        }
        // Only what will be printed is kept: a drain of a million
        // deliveries must not hold a million reports.
        let verbose = self.verbose;
        let mut reports = Vec::new();
        dispatcher::dispatch(store, &Plan::drain(), &mut |r| {
            if verbose || matches!(r.result, Handled::Failed { .. }) {
                reports.push(r.clone());
            }
        })?;
        self.report_failures(&reports)?;
        for report in &reports {
            self.log(&report.log)?;
        }
        Ok(())
    }

    pub fn report_failures(&mut self, reports: &[Report]) -> std::io::Result<()> {
        for report in reports {
            if let Handled::Failed { error, parked } = &report.result {
                let d = &report.delivery;
                let what = if *parked {
                    "parked it; `pi7 pending --failed` lists it"
                } else {
                    "will retry"
                };
                self.note(&format!(
                    "delivering event {} to {} failed ({what}): {error}",
                    d.seq, d.component
                ))?;
            }
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
