//! The command-line definition. The committed completion scripts in
//! `completions/` are generated from this, so help text lives here and in
//! each command's `Args`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::commands::{
    cancel, check, completions, confirm, dispatch, events, expire, list, pending, redeliver, serve,
    show, submit, verify,
};

/// pi7: sales orders, reservations and a saga that confirms an order once
/// every reservation is confirmed, whatever order the events arrive in.
///
/// Every command appends to and reads from one SQLite file; writing commands
/// then deliver every pending event to its components before they return.
#[derive(Debug, Parser)]
#[command(name = "pi7", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// The database file [default: pi7.db in the platform data directory,
    /// e.g. ~/.local/share/pi7/pi7.db]
    #[arg(long, global = true, env = "PI7_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Print machine-readable JSON on stdout instead of tables
    #[arg(long, global = true)]
    pub json: bool,

    /// Print the workflow log on stderr, in the original PI 7's style
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Append events and their deliveries but deliver nothing (`pi7 dispatch`
    /// delivers them later)
    #[arg(
        long,
        global = true,
        env = "PI7_HOLD",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub hold: bool,

    /// Whether `--db` was typed (not taken from `PI7_DB`), for `pi7 info`.
    #[arg(skip)]
    pub db_typed: bool,

    /// Whether `--hold` was typed (not taken from `PI7_HOLD`): typed on a
    /// command that delivers nothing, it is refused.
    #[arg(skip)]
    pub hold_typed: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Submit(submit::Args),
    List(list::Args),
    Confirm(confirm::Args),
    Reject(confirm::reject::Args),
    Cancel(cancel::Args),
    Expire(expire::Args),
    Show(show::Args),
    Events(events::Args),
    Pending(pending::Args),
    Dispatch(dispatch::Args),
    Redeliver(redeliver::Args),
    Check(check::Args),
    Verify(verify::Args),
    Rebuild(crate::commands::rebuild::Args),
    Export(crate::commands::export::Args),
    Import(crate::commands::import::Args),
    Serve(serve::Args),
    Completions(completions::Args),
    Info(crate::commands::info::Args),
    Relay(crate::commands::relay::Args),
    Worker(crate::commands::worker::Args),
}

impl Command {
    /// The name the user typed, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Submit(_) => "submit",
            Command::List(_) => "list",
            Command::Confirm(_) => "confirm",
            Command::Reject(_) => "reject",
            Command::Cancel(_) => "cancel",
            Command::Expire(_) => "expire",
            Command::Show(_) => "show",
            Command::Events(_) => "events",
            Command::Pending(_) => "pending",
            Command::Dispatch(_) => "dispatch",
            Command::Redeliver(_) => "redeliver",
            Command::Check(_) => "check",
            Command::Verify(_) => "verify",
            Command::Rebuild(_) => "rebuild",
            Command::Export(_) => "export",
            Command::Import(_) => "import",
            Command::Completions(_) => "completions",
            Command::Info(_) => "info",
            Command::Relay(_) => "relay",
            Command::Serve(_) => "serve",
            Command::Worker(_) => "worker",
        }
    }

    /// Whether the command delivers what it publishes, which `--hold` stops.
    pub fn delivers(&self) -> bool {
        match self {
            Command::Submit(_)
            | Command::Confirm(_)
            | Command::Reject(_)
            | Command::Cancel(_)
            | Command::Expire(_)
            | Command::Redeliver(_)
            | Command::Import(_)
            | Command::Serve(_)
            | Command::Relay(_) => true,
            Command::List(_)
            | Command::Show(_)
            | Command::Events(_)
            | Command::Pending(_)
            | Command::Dispatch(_)
            | Command::Check(_)
            | Command::Verify(_)
            | Command::Rebuild(_)
            | Command::Export(_)
            | Command::Completions(_)
            | Command::Info(_)
            | Command::Worker(_) => false,
        }
    }
}
